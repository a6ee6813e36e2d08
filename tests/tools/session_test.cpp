// load_model + CpuSession on the bundled example model (Linear → LayerNorm → Gelu → Softmax),
// checked against onnx.reference.ReferenceEvaluator's output.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kiln/kiln.h"

namespace kiln {
namespace {

const std::filesystem::path kExampleModel =
    std::filesystem::path(KILN_SOURCE_DIR) / "tests/models/example/example.onnx";

// x and the output made by onnx 1.23.2's ReferenceEvaluator(model).run(None, {"x": x}).
const std::vector<float> kInput{0.5f, -1.0f, 2.0f, 0.25f, 1.0f, 1.0f, -0.5f, -2.0f};
const std::vector<double> kExpected{0.594291151, 0.184917852, 0.220790997,
                                    0.64349997,  0.171779543, 0.184720457};

TEST(CpuSession, RunsTheExampleModelInFp32) {
  CpuSession session(load_model(kExampleModel), {Precision::FP32}, false);
  ASSERT_EQ(session.graph().inputs().size(), 1u);
  auto outputs = session.run({{"x", Tensor::from_vector<float>({2, 4}, kInput)}});
  ASSERT_EQ(outputs.count("softmax"), 1u);
  const Tensor& result = outputs.at("softmax");
  EXPECT_EQ(result.dtype(), DType::Float32);
  EXPECT_EQ(result.dims(), Dims({2, 3}));
  std::vector<double> values = result.to_double_vector();
  for (size_t i = 0; i < kExpected.size(); ++i) EXPECT_NEAR(values[i], kExpected[i], 2e-6) << i;
}

TEST(CpuSession, Bf16IsCloseToFp32ButRoundsDifferently) {
  auto inputs = make_random_inputs(load_model(kExampleModel), 1);
  CpuSession fp32(load_model(kExampleModel), {Precision::FP32}, false);
  CpuSession bf16(load_model(kExampleModel), {Precision::FP32, Precision::BF16}, false);
  Tensor reference = fp32.run(inputs).at("softmax");
  Tensor lowered = bf16.run(inputs).at("softmax");
  double error = normalized_error(lowered, reference);
  EXPECT_GT(error, 1e-6);  // bf16 really was used
  EXPECT_LT(error, 2e-2);  // and stays within bf16's tolerance
}

TEST(CpuSession, NamesMissingAndUnknownInputs) {
  CpuSession session(load_model(kExampleModel), {Precision::FP32}, false);
  try {
    session.run({});
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::InvalidArgument);
    EXPECT_THAT(error.what(), ::testing::HasSubstr("'x'"));
  }
  EXPECT_THROW(
      session.run({{"x", Tensor(DType::Float32, {2, 4})}, {"y", Tensor(DType::Float32, {1})}}),
      Error);
  EXPECT_THROW(CpuSession(load_model(kExampleModel), {}, false), Error);
}

TEST(OpenModel, ReportsTheFormatAndProducer) {
  LoadedModel model = open_model(kExampleModel);
  EXPECT_TRUE(model.optimized);
  EXPECT_EQ(model.opset, 20);
  EXPECT_THAT(model.format, ::testing::HasSubstr("ONNX"));
  EXPECT_TRUE(model.unsupported.empty());
}

}  // namespace
}  // namespace kiln
