// The API functions behind the CLI: --input / --dim parsing, reading input files, tensor
// statistics and comparison, model summaries, and the frontend table.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "core/tensor_io.h"
#include "kiln/inputs.h"
#include "kiln/kiln.h"
#include "kiln/summary.h"

namespace kiln {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

template <typename Fn>
std::string error_message(ErrorKind kind, Fn&& fn) {
  try {
    fn();
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), kind) << error.what();
    return error.what();
  }
  ADD_FAILURE() << "expected a kiln::Error";
  return "";
}

// x: float32 [batch, 2]; ids: int64 [batch].
ir::Graph two_input_graph() {
  ir::Graph graph;
  ir::Value* x =
      graph.add_input("x", DType::Float32, ir::Shape({ir::Dim::named("batch"), ir::Dim::fixed(2)}));
  graph.add_input("ids", DType::Int64, ir::Shape({ir::Dim::named("batch")}));
  ir::Value* weight = graph.add_constant("w", Tensor(DType::Float32, {2, 2}));
  graph.add_constant("b", Tensor(DType::Float16, {3}));
  ir::Node* matmul = graph.add_node("MatMul", "mm", {x, weight}, {"y"});
  ir::Node* relu = graph.add_node("Relu", "relu", {matmul->outputs[0]}, {"out"});
  graph.add_node("Relu", "relu2", {relu->outputs[0]}, {"out2"});
  graph.add_output(relu->outputs[0]);
  return graph;
}

class TempFolder : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = std::filesystem::temp_directory_path() /
              ("kiln_cli_helpers_" +
               std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "_" +
               std::to_string(::getpid()));
    std::filesystem::create_directories(folder_);
  }
  void TearDown() override { std::filesystem::remove_all(folder_); }
  std::filesystem::path folder_;
};

TEST(InputSpecs, ParseNameFileAndBareFiles) {
  InputSpec named = parse_input_spec("x=data/in.npy");
  EXPECT_EQ(named.name, "x");
  EXPECT_EQ(named.file, "data/in.npy");
  InputSpec bare = parse_input_spec("all.safetensors");
  EXPECT_EQ(bare.name, "");
  EXPECT_EQ(bare.file, "all.safetensors");
  error_message(ErrorKind::InvalidArgument, [] { parse_input_spec("=x.npy"); });
  error_message(ErrorKind::InvalidArgument, [] { parse_input_spec("x="); });
  error_message(ErrorKind::InvalidArgument, [] { parse_input_spec(""); });
}

TEST(InputSpecs, ParseDimSizes) {
  EXPECT_EQ(parse_dim_size("batch=4"), (std::pair<std::string, int64_t>{"batch", 4}));
  EXPECT_EQ(parse_dim_size("s=0").second, 0);
  for (const char* bad :
       {"batch", "=4", "batch=", "batch=-1", "batch=4x", "batch=99999999999999999999"}) {
    EXPECT_THAT(error_message(ErrorKind::InvalidArgument, [&] { parse_dim_size(bad); }),
                HasSubstr("--dim"))
        << bad;
  }
}

TEST(InputSpecs, ParseDimSpecsWithRanges) {
  DimSpec spec = parse_dim_spec("batch=1:8:32");
  EXPECT_EQ(spec.name, "batch");
  EXPECT_EQ(spec.size, 8);
  ASSERT_TRUE(spec.range.has_value());
  EXPECT_EQ(*spec.range, (ir::DimRange{1, 32}));
  DimSpec plain = parse_dim_spec("seq=128");
  EXPECT_EQ(plain.size, 128);
  EXPECT_FALSE(plain.range.has_value());
  EXPECT_EQ(parse_dim_spec("n=4:4:4").range, (ir::DimRange{4, 4}));
  for (const char* bad : {"batch=1:8", "batch=8:1:32", "batch=1:64:32", "batch=1::32",
                          "batch=a:b:c", "batch=1:8:32:64", ":1:2:3"}) {
    EXPECT_THAT(error_message(ErrorKind::InvalidArgument, [&] { parse_dim_spec(bad); }),
                HasSubstr("--dim"))
        << bad;
  }
  // run and bench take one size: a range belongs to the build.
  EXPECT_THAT(error_message(ErrorKind::InvalidArgument, [&] { parse_dim_size("batch=1:2:3"); }),
              HasSubstr("kiln build"));
}

TEST_F(TempFolder, LoadInputFilesFromNpyAndSafetensors) {
  ir::Graph graph = two_input_graph();
  write_npy(folder_ / "x.npy",
            Tensor::from_vector<double>({1, 2}, {0.5, -1.25}));  // float64, as numpy saves
  write_safetensors(folder_ / "all.safetensors", {{"ids", Tensor::from_vector<int32_t>({1}, {3})},
                                                  {"x", Tensor::from_vector<float>({1, 2}, {1, 2})},
                                                  {"extra", Tensor::scalar<float>(0)}});

  auto from_npy = load_input_files({{"x", folder_ / "x.npy"}}, graph);
  EXPECT_EQ(from_npy.at("x").dtype(), DType::Float32);  // converted from float64
  EXPECT_THAT(from_npy.at("x").values<float>(), ElementsAre(0.5f, -1.25f));

  std::map<std::string, std::string> sources;
  auto all = load_input_files({{"", folder_ / "all.safetensors"}}, graph, &sources);
  EXPECT_EQ(all.size(), 2u);  // "extra" is not an input
  EXPECT_EQ(sources.at("ids"), (folder_ / "all.safetensors").string());
  EXPECT_EQ(all.at("ids").dtype(), DType::Int64);
  EXPECT_THAT(all.at("ids").to_int64_vector(), ElementsAre(3));

  auto one = load_input_files({{"x", folder_ / "all.safetensors"}}, graph);
  EXPECT_EQ(one.size(), 1u);
  EXPECT_THAT(one.at("x").values<float>(), ElementsAre(1.0f, 2.0f));

  EXPECT_THAT(error_message(ErrorKind::InvalidArgument,
                            [&] {
                              load_input_files({{"nope", folder_ / "x.npy"}}, graph);
                            }),
              HasSubstr("its inputs: x, ids"));
  EXPECT_THAT(error_message(ErrorKind::InvalidArgument,
                            [&] {
                              load_input_files({{"ids", folder_ / "x.npy"}}, graph);
                            }),
              HasSubstr("input 'ids' is int64"));
  error_message(ErrorKind::InvalidArgument, [&] {
    load_input_files({{"", folder_ / "x.npy"}}, graph);
  });
  error_message(ErrorKind::InvalidArgument, [&] {
    load_input_files({{"x", folder_ / "x.npy"}, {"", folder_ / "all.safetensors"}}, graph);
  });
}

TEST(InputSpecs, GivenInputsFixSymbolicDims) {
  ir::Graph graph = two_input_graph();
  std::map<std::string, Tensor> inputs{{"x", Tensor(DType::Float32, {5, 2})}};
  EXPECT_EQ(dim_sizes_from_inputs(graph, inputs), (DimSizes{{"batch", 5}}));
  inputs["ids"] = Tensor(DType::Int64, {4});
  EXPECT_THAT(
      error_message(ErrorKind::InvalidArgument, [&] { dim_sizes_from_inputs(graph, inputs); }),
      HasSubstr("'batch'"));
  std::map<std::string, Tensor> wrong_rank{{"x", Tensor(DType::Float32, {5})}};
  error_message(ErrorKind::InvalidArgument, [&] { dim_sizes_from_inputs(graph, wrong_rank); });
}

TEST(Summaries, TensorStatsByHand) {
  // Values 1, 2, 3, 6: mean 3, population variance (4 + 1 + 0 + 9) / 4 = 3.5.
  TensorStats stats = tensor_stats(Tensor::from_vector<float>({2, 2}, {1, 2, 3, 6}), 3);
  EXPECT_DOUBLE_EQ(stats.mean, 3.0);
  EXPECT_DOUBLE_EQ(stats.std, std::sqrt(3.5));
  EXPECT_EQ(stats.min, 1.0);
  EXPECT_EQ(stats.max, 6.0);
  EXPECT_THAT(stats.first_values, ElementsAre(1.0, 2.0, 3.0));
  float nan = std::numeric_limits<float>::quiet_NaN();
  float inf = std::numeric_limits<float>::infinity();
  TensorStats bad = tensor_stats(Tensor::from_vector<float>({4}, {nan, inf, -4, 2}));
  EXPECT_EQ(bad.nan_count, 1);
  EXPECT_EQ(bad.inf_count, 1);
  EXPECT_DOUBLE_EQ(bad.mean, -1.0);
  EXPECT_EQ(bad.min, -4.0);
  EXPECT_TRUE(std::isnan(tensor_stats(Tensor::from_vector<float>({1}, {nan})).mean));
}

TEST(Summaries, CompareTensors) {
  Tensor reference = Tensor::from_vector<float>({2}, {3, 4});
  Tensor actual = Tensor::from_vector<float>({2}, {3, 4.5f});
  TensorComparison result = compare_tensors(actual, reference);
  EXPECT_DOUBLE_EQ(result.normalized_error, 0.5 / 5.0);  // ||(0, .5)|| / ||(3, 4)||
  EXPECT_DOUBLE_EQ(result.max_abs_diff, 0.5);
  error_message(ErrorKind::InvalidArgument, [&] {
    compare_tensors(actual.reshaped({2, 1}), reference);
  });
  Tensor with_nan = Tensor::from_vector<float>({2}, {std::numeric_limits<float>::quiet_NaN(), 4});
  EXPECT_TRUE(std::isnan(compare_tensors(with_nan, reference).max_abs_diff));
}

TEST(Summaries, ModelSummaryCountsOpsAndWeights) {
  ir::Graph graph = two_input_graph();
  ModelSummary summary = summarize_model(graph);
  ASSERT_EQ(summary.inputs.size(), 2u);
  EXPECT_EQ(summary.inputs[0].name, "x");
  EXPECT_EQ(summary.inputs[0].dtype, "float32");
  EXPECT_EQ(summary.inputs[0].shape, "[batch, 2]");
  EXPECT_EQ(summary.outputs[0].name, "out");
  EXPECT_EQ(summary.op_counts, (std::map<std::string, int>{{"MatMul", 1}, {"Relu", 2}}));
  EXPECT_EQ(summary.node_count, 3);
  EXPECT_EQ(summary.constant_count, 2);
  EXPECT_EQ(summary.constant_bytes, 2 * 2 * 4 + 3 * 2);
}

TEST(LoadModel, FormatsComeFromATable) {
  auto formats = model_formats();
  ASSERT_GE(formats.size(), 3u);
  EXPECT_EQ(formats[0].extension, ".onnx");
  EXPECT_TRUE(formats[0].available);
  // Formats whose frontend is still planned say so (rows gain an importer as they land).
  for (const ModelFormat& format : formats) {
    if (format.available) continue;
    EXPECT_THAT(
        error_message(ErrorKind::Unsupported, [&] { load_model("model" + format.extension); }),
        HasSubstr("not supported yet (planned)"));
  }
  EXPECT_THAT(error_message(ErrorKind::Unsupported, [] { load_model("model.tflite"); }),
              HasSubstr("'.tflite'"));
  EXPECT_THAT(error_message(ErrorKind::InvalidArgument, [] { load_model("/no/such/model.onnx"); }),
              HasSubstr("/no/such/model.onnx"));
}

TEST(LoadModel, ReadsTorchExportArchivesByExtension) {
  ir::Graph graph =
      load_model(std::string(KILN_SOURCE_DIR) + "/tests/models/fixtures/mlp/mlp_fp32.pt2");
  ASSERT_EQ(graph.inputs().size(), 1u);
  EXPECT_EQ(graph.inputs()[0]->dtype, DType::Float32);
  EXPECT_EQ(graph.outputs().size(), 1u);
}

}  // namespace
}  // namespace kiln
