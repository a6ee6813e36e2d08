// Tests reading ONNX tensors: every supported dtype from raw_data and the typed fields,
// byte-count checks, unsupported dtypes, external data and tensor files.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "frontends/onnx/onnx_importer.h"
#include "frontends/onnx/onnx_model_builder.h"

namespace kiln::onnx {
namespace {

using ::onnx::TensorProto;
using ::testing::HasSubstr;
using testing::ModelBuilder;

// A model whose only output is the initializer "w" (no nodes).
ModelBuilder model_with_initializer(TensorProto** initializer, int elem_type,
                                    const std::vector<int64_t>& dims) {
  ModelBuilder builder;
  *initializer = &builder.initializer("w", elem_type, dims);
  builder.output("w", elem_type);
  return builder;
}

Tensor imported_w(const ModelBuilder& builder, const std::filesystem::path& folder = {}) {
  ir::Graph graph = import_onnx_bytes(builder.bytes(), folder);
  ir::Value* value = graph.find_value("w");
  EXPECT_NE(value, nullptr);
  EXPECT_TRUE(value->is_constant());
  return *value->constant;
}

Error import_error(const ModelBuilder& builder, const std::filesystem::path& folder = {}) {
  try {
    import_onnx_bytes(builder.bytes(), folder);
  } catch (const Error& error) {
    return error;
  }
  ADD_FAILURE() << "import succeeded but should have failed";
  return Error(ErrorKind::Runtime, "no error");
}

template <typename T>
void expect_raw_roundtrip(int elem_type, DType dtype, std::vector<T> values) {
  TensorProto* w;
  ModelBuilder builder = model_with_initializer(&w, elem_type, {int64_t(values.size())});
  testing::set_raw(*w, values.data(), values.size() * sizeof(T));
  Tensor tensor = imported_w(builder);
  ASSERT_EQ(tensor.dtype(), dtype);
  ASSERT_EQ(tensor.numel(), int64_t(values.size()));
  for (size_t i = 0; i < values.size(); ++i) EXPECT_EQ(tensor.data<T>()[i], values[i]) << i;
}

TEST(OnnxTensor, RawDataOfEveryIntegerAndFloatType) {
  expect_raw_roundtrip<float>(TensorProto::FLOAT, DType::Float32, {1.5f, -2.25f, 3e8f});
  expect_raw_roundtrip<double>(TensorProto::DOUBLE, DType::Float64, {1e-300, -7.0});
  expect_raw_roundtrip<int8_t>(TensorProto::INT8, DType::Int8, {-128, 0, 127});
  expect_raw_roundtrip<int16_t>(TensorProto::INT16, DType::Int16, {-32768, 5, 32767});
  expect_raw_roundtrip<int32_t>(TensorProto::INT32, DType::Int32, {-2147483647 - 1, 42});
  expect_raw_roundtrip<int64_t>(TensorProto::INT64, DType::Int64, {int64_t(1) << 40, -3});
  expect_raw_roundtrip<uint8_t>(TensorProto::UINT8, DType::UInt8, {0, 200, 255});
}

TEST(OnnxTensor, Float16AndBFloat16FromRawData) {
  // Bit patterns by hand: fp16 1.0 = 0x3C00, -2.0 = 0xC000, 65504 = 0x7BFF;
  // bf16 1.0 = 0x3F80, 0.5 = 0x3F00, 3.140625 = 0x4049.
  std::vector<uint16_t> half_bits = {0x3C00, 0xC000, 0x7BFF};
  TensorProto* w;
  ModelBuilder half = model_with_initializer(&w, TensorProto::FLOAT16, {3});
  testing::set_raw(*w, half_bits.data(), 6);
  EXPECT_THAT(imported_w(half).to_double_vector(), ::testing::ElementsAre(1.0, -2.0, 65504.0));

  std::vector<uint16_t> bf16_bits = {0x3F80, 0x3F00, 0x4049};
  ModelBuilder bf16 = model_with_initializer(&w, TensorProto::BFLOAT16, {3});
  testing::set_raw(*w, bf16_bits.data(), 6);
  Tensor tensor = imported_w(bf16);
  EXPECT_EQ(tensor.dtype(), DType::BFloat16);
  EXPECT_THAT(tensor.to_double_vector(), ::testing::ElementsAre(1.0, 0.5, 3.140625));
}

TEST(OnnxTensor, BFloat16AndFloat16FromInt32DataLowBits) {
  TensorProto* w;
  ModelBuilder bf16 = model_with_initializer(&w, TensorProto::BFLOAT16, {2, 2});
  // 0xC000 is bf16 -2.0; the last entry is -16448 = 0xFFFFBFC0 sign-extended: only the low
  // 16 bits (0xBFC0 = bf16 -1.5) count.
  for (int32_t bits : {0x3F80, 0xC000, 0x4049, -16448}) w->add_int32_data(bits);
  Tensor tensor = imported_w(bf16);
  ASSERT_EQ(tensor.dtype(), DType::BFloat16);
  EXPECT_EQ(tensor.dims(), (Dims{2, 2}));
  EXPECT_THAT(tensor.to_double_vector(), ::testing::ElementsAre(1.0, -2.0, 3.140625, -1.5));

  ModelBuilder half = model_with_initializer(&w, TensorProto::FLOAT16, {2});
  for (int32_t bits : {0x3800, 0xBC00}) w->add_int32_data(bits);  // 0.5, -1.0
  EXPECT_THAT(imported_w(half).to_double_vector(), ::testing::ElementsAre(0.5, -1.0));
}

TEST(OnnxTensor, TypedFieldsOfEveryType) {
  TensorProto* w;
  ModelBuilder floats = model_with_initializer(&w, TensorProto::FLOAT, {2});
  w->add_float_data(0.25f);
  w->add_float_data(-8.0f);
  EXPECT_THAT(imported_w(floats).to_double_vector(), ::testing::ElementsAre(0.25, -8.0));

  ModelBuilder doubles = model_with_initializer(&w, TensorProto::DOUBLE, {1});
  w->add_double_data(1.0 / 3.0);
  EXPECT_EQ(imported_w(doubles).data<double>()[0], 1.0 / 3.0);

  ModelBuilder longs = model_with_initializer(&w, TensorProto::INT64, {2});
  w->add_int64_data(int64_t(1) << 50);
  w->add_int64_data(-1);
  EXPECT_THAT(imported_w(longs).to_int64_vector(), ::testing::ElementsAre(int64_t(1) << 50, -1));

  struct Case {
    int elem_type;
    DType dtype;
    std::vector<int32_t> stored;
    std::vector<int64_t> read;
  };
  for (const Case& c :
       std::vector<Case>{{TensorProto::INT32, DType::Int32, {-5, 70000}, {-5, 70000}},
                         {TensorProto::INT16, DType::Int16, {-300, 300}, {-300, 300}},
                         {TensorProto::INT8, DType::Int8, {-100, 100}, {-100, 100}},
                         {TensorProto::UINT8, DType::UInt8, {0, 255}, {0, 255}},
                         {TensorProto::BOOL, DType::Bool, {0, 1}, {0, 1}}}) {
    ModelBuilder builder = model_with_initializer(&w, c.elem_type, {2});
    for (int32_t value : c.stored) w->add_int32_data(value);
    Tensor tensor = imported_w(builder);
    EXPECT_EQ(tensor.dtype(), c.dtype);
    EXPECT_EQ(tensor.to_int64_vector(), c.read) << dtype_name(c.dtype);
  }
}

TEST(OnnxTensor, BoolRawBytesAreNormalized) {
  TensorProto* w;
  ModelBuilder builder = model_with_initializer(&w, TensorProto::BOOL, {3});
  w->set_raw_data(std::string("\x00\x01\x07", 3));
  EXPECT_THAT(imported_w(builder).to_int64_vector(), ::testing::ElementsAre(0, 1, 1));
}

TEST(OnnxTensor, ByteAndValueCountsMustMatchDims) {
  TensorProto* w;
  ModelBuilder raw = model_with_initializer(&w, TensorProto::FLOAT, {2, 3});
  w->set_raw_data(std::string(20, '\0'));  // 24 needed
  Error error = import_error(raw);
  EXPECT_EQ(error.kind(), ErrorKind::InvalidModel);
  EXPECT_THAT(error.what(), HasSubstr("initializer 'w' has 20 bytes of raw_data"));
  EXPECT_THAT(error.what(), HasSubstr("need 24"));

  ModelBuilder typed = model_with_initializer(&w, TensorProto::INT64, {3});
  w->add_int64_data(1);
  EXPECT_THAT(import_error(typed).what(), HasSubstr("has 1 values in int64_data"));

  ModelBuilder wrong_field = model_with_initializer(&w, TensorProto::INT64, {1});
  w->add_float_data(1);
  EXPECT_EQ(import_error(wrong_field).kind(), ErrorKind::InvalidModel);

  ModelBuilder negative = model_with_initializer(&w, TensorProto::FLOAT, {-1});
  EXPECT_THAT(import_error(negative).what(), HasSubstr("negative dimension"));

  ModelBuilder overflow =
      model_with_initializer(&w, TensorProto::FLOAT, {int64_t(1) << 40, int64_t(1) << 40});
  EXPECT_THAT(import_error(overflow).what(), HasSubstr("overflows"));
}

TEST(OnnxTensor, UnsupportedDtypeNamesTensorAndType) {
  TensorProto* w;
  ModelBuilder builder = model_with_initializer(&w, TensorProto::STRING, {1});
  w->add_string_data("hello");
  Error error = import_error(builder);
  EXPECT_EQ(error.kind(), ErrorKind::Unsupported);
  EXPECT_THAT(error.what(), HasSubstr("initializer 'w' has dtype STRING; Kiln supports FLOAT, "
                                      "FLOAT16, BFLOAT16, DOUBLE, INT8, INT16, INT32, INT64, "
                                      "UINT8, BOOL"));
  ModelBuilder fp8 = model_with_initializer(&w, TensorProto::FLOAT8E4M3FN, {1});
  EXPECT_THAT(import_error(fp8).what(), HasSubstr("has dtype FLOAT8E4M3FN"));
}

// A folder with a model and its external data file, removed afterwards.
class OnnxExternalData : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = std::filesystem::temp_directory_path() /
              ("kiln_onnx_external_" + std::to_string(::getpid()));
    std::filesystem::create_directories(folder_ / "model");
    std::vector<float> values = {9.0f, 1.0f, 2.0f, 3.0f, 4.0f};  // 4 bytes of padding first
    std::ofstream(folder_ / "model" / "weights.bin", std::ios::binary)
        .write(reinterpret_cast<const char*>(values.data()), 20);
    std::ofstream(folder_ / "secret.bin", std::ios::binary).write("0123456789abcdef", 16);
  }
  void TearDown() override { std::filesystem::remove_all(folder_); }

  ModelBuilder external_model(const std::string& location, const std::string& offset,
                              const std::string& length) {
    TensorProto* w;
    ModelBuilder builder = model_with_initializer(&w, TensorProto::FLOAT, {2, 2});
    w->set_data_location(TensorProto::EXTERNAL);
    auto add_entry = [&](const std::string& key, const std::string& value) {
      auto* entry = w->add_external_data();
      entry->set_key(key);
      entry->set_value(value);
    };
    add_entry("location", location);
    if (!offset.empty()) add_entry("offset", offset);
    if (!length.empty()) add_entry("length", length);
    return builder;
  }

  std::filesystem::path folder_;
};

TEST_F(OnnxExternalData, ReadsMappedBytesAtOffset) {
  ModelBuilder builder = external_model("weights.bin", "4", "16");
  Tensor tensor = imported_w(builder, folder_ / "model");
  EXPECT_THAT(tensor.to_double_vector(), ::testing::ElementsAre(1.0, 2.0, 3.0, 4.0));
  // Also through a real file next to the data.
  std::string bytes = builder.bytes();
  std::ofstream(folder_ / "model" / "m.onnx", std::ios::binary).write(bytes.data(), bytes.size());
  ir::Graph graph = import_onnx_file(folder_ / "model" / "m.onnx");
  EXPECT_THAT(graph.find_value("w")->constant->to_double_vector(),
              ::testing::ElementsAre(1.0, 2.0, 3.0, 4.0));
}

TEST_F(OnnxExternalData, RejectsPathsOutsideTheModelFolder) {
  Error escaping = import_error(external_model("../secret.bin", "", "16"), folder_ / "model");
  EXPECT_EQ(escaping.kind(), ErrorKind::InvalidModel);
  EXPECT_THAT(escaping.what(), HasSubstr("'../secret.bin', which lies outside the model's folder"));

  std::string absolute = (folder_ / "secret.bin").string();
  Error absolute_error = import_error(external_model(absolute, "", "16"), folder_ / "model");
  EXPECT_THAT(absolute_error.what(), HasSubstr("an absolute path"));
}

TEST_F(OnnxExternalData, RejectsRangesBeyondTheFileAndBadNumbers) {
  Error past_end = import_error(external_model("weights.bin", "8", "16"), folder_ / "model");
  EXPECT_EQ(past_end.kind(), ErrorKind::InvalidModel);
  EXPECT_THAT(past_end.what(),
              HasSubstr("reads 16 bytes at offset 8 of 'weights.bin', which has only 20"));
  EXPECT_THAT(
      import_error(external_model("weights.bin", "18446744073709551615", "16"), folder_ / "model")
          .what(),
      HasSubstr("which has only 20"));
  EXPECT_THAT(import_error(external_model("weights.bin", "0", "12"), folder_ / "model").what(),
              HasSubstr("length 12"));
  EXPECT_THAT(import_error(external_model("weights.bin", "-4", "16"), folder_ / "model").what(),
              HasSubstr("not a non-negative integer"));
  EXPECT_THAT(import_error(external_model("missing.bin", "", ""), folder_ / "model").what(),
              HasSubstr("cannot read its external data"));
}

TEST_F(OnnxExternalData, BytesWithoutFolderForbidExternalData) {
  Error error = import_error(external_model("weights.bin", "4", "16"));
  EXPECT_EQ(error.kind(), ErrorKind::InvalidArgument);
  EXPECT_THAT(error.what(), HasSubstr("without a folder"));
}

TEST_F(OnnxExternalData, TensorFileReadsTensorProto) {
  TensorProto proto;
  proto.set_name("input_0");
  proto.set_data_type(TensorProto::BFLOAT16);
  proto.add_dims(2);
  proto.add_int32_data(0x3F80);
  proto.add_int32_data(0xC000);
  std::string bytes = proto.SerializeAsString();
  std::ofstream(folder_ / "input_0.pb", std::ios::binary).write(bytes.data(), bytes.size());
  Tensor tensor = read_onnx_tensor_file(folder_ / "input_0.pb");
  EXPECT_EQ(tensor.dtype(), DType::BFloat16);
  EXPECT_THAT(tensor.to_double_vector(), ::testing::ElementsAre(1.0, -2.0));

  std::ofstream(folder_ / "broken.pb", std::ios::binary).write(bytes.data(), 5);
  EXPECT_THROW(read_onnx_tensor_file(folder_ / "broken.pb"), Error);
}

}  // namespace
}  // namespace kiln::onnx
