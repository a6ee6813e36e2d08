// Engine files round-trip real models exactly: same ops, attributes, precisions and
// constants (prepared weights as the rounded values), bit-identical CPU outputs, and the
// header; per-layer precision constraints are honoured.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>

#include "engine/build_engine.h"
#include "engine/engine_file.h"
#include "kiln/kiln.h"

namespace kiln::engine {
namespace {

using ::testing::HasSubstr;

std::filesystem::path fixture(const std::string& name) {
  std::string folder = name.substr(0, name.find('_'));
  return std::filesystem::path(KILN_SOURCE_DIR) / "tests/models/fixtures" / folder / name;
}

std::filesystem::path temp_engine(const std::string& stem) {
  return std::filesystem::temp_directory_path() /
         (stem + "_" + std::to_string(::getpid()) + ".kiln");
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.dims() == b.dims() && a.nbytes() == b.nbytes() &&
         (a.nbytes() == 0 || std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0);
}

bool same_attr(const ir::AttrValue& a, const ir::AttrValue& b) {
  if (a.index() != b.index()) return false;
  if (const auto* tensor = std::get_if<Tensor>(&a)) return same_bytes(*tensor, std::get<Tensor>(b));
  if (const auto* real = std::get_if<double>(&a)) {
    return std::memcmp(real, &std::get<double>(b), sizeof(double)) == 0;  // NaN-safe
  }
  if (const auto* reals = std::get_if<std::vector<double>>(&a)) {
    const auto& other = std::get<std::vector<double>>(b);
    return reals->size() == other.size() &&
           (reals->empty() ||
            std::memcmp(reals->data(), other.data(), reals->size() * sizeof(double)) == 0);
  }
  if (const auto* integer = std::get_if<int64_t>(&a)) return *integer == std::get<int64_t>(b);
  if (const auto* text = std::get_if<std::string>(&a)) return *text == std::get<std::string>(b);
  return std::get<std::vector<int64_t>>(a) == std::get<std::vector<int64_t>>(b);
}

std::vector<std::string> names(const std::vector<ir::Value*>& values) {
  std::vector<std::string> result;
  for (const ir::Value* value : values) result.push_back(value ? value->name : "<absent>");
  return result;
}

// Mapped from the file: each blob starts on a 256-byte boundary of a page-aligned map.
bool mapped_aligned(const Tensor& tensor) {
  return reinterpret_cast<uintptr_t>(tensor.raw()) % 256 == 0;
}

void expect_same_graph(const ir::Graph& expected, const LoadedEngine& loaded) {
  const ir::Graph& actual = loaded.graph;
  EXPECT_EQ(names(expected.inputs()), names(actual.inputs()));
  EXPECT_EQ(names(expected.outputs()), names(actual.outputs()));
  std::vector<ir::Node*> a = expected.nodes(), b = actual.nodes();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    SCOPED_TRACE(a[i]->describe());
    EXPECT_EQ(a[i]->op, b[i]->op);
    EXPECT_EQ(a[i]->name, b[i]->name);
    EXPECT_EQ(a[i]->precision, b[i]->precision);
    EXPECT_EQ(a[i]->source, b[i]->source);
    EXPECT_EQ(names(a[i]->inputs), names(b[i]->inputs));
    EXPECT_EQ(names(a[i]->outputs), names(b[i]->outputs));
    ASSERT_EQ(a[i]->attrs.size(), b[i]->attrs.size());
    for (const auto& [key, value] : a[i]->attrs) {
      ASSERT_TRUE(b[i]->has_attr(key)) << key;
      EXPECT_TRUE(same_attr(value, b[i]->attrs.at(key))) << key;
    }
    for (size_t k = 0; k < a[i]->outputs.size(); ++k) {
      EXPECT_EQ(a[i]->outputs[k]->dtype, b[i]->outputs[k]->dtype);
      EXPECT_EQ(a[i]->outputs[k]->shape, b[i]->outputs[k]->shape);
    }
  }
  int constants = 0;
  for (const ir::Value* value : expected.values()) {
    if (!value->is_constant()) continue;
    const ir::Value* read = actual.find_value(value->name);
    ASSERT_NE(read, nullptr) << value->name;
    ASSERT_TRUE(read->is_constant()) << value->name;
    auto prepared = loaded.prepared_weights.find(value->name);
    if (prepared == loaded.prepared_weights.end()) {
      EXPECT_TRUE(same_bytes(*value->constant, *read->constant)) << value->name;
      EXPECT_TRUE(mapped_aligned(*read->constant)) << value->name;
    } else {
      // Stored narrower, widened back: the original rounded to the stored dtype.
      const Tensor& stored = prepared->second;
      EXPECT_TRUE(same_bytes(value->constant->to(stored.dtype()), stored)) << value->name;
      EXPECT_TRUE(same_bytes(stored.to(value->dtype), *read->constant)) << value->name;
      EXPECT_TRUE(mapped_aligned(stored)) << value->name;
    }
    ++constants;
  }
  EXPECT_GT(constants, 0);
}

class EngineRoundTrip : public ::testing::TestWithParam<std::string> {};

TEST_P(EngineRoundTrip, SameGraphAndBitIdenticalOutputs) {
  BuildConfig config;
  config.enabled_precisions = {Precision::FP32, Precision::BF16};
  ir::Graph graph = load_model(fixture(GetParam()));
  assign_engine_precisions(graph, config);
  std::filesystem::path path = temp_engine("round_trip_" + GetParam());
  write_engine(path, graph, config);
  LoadedEngine loaded = read_engine(path);
  std::filesystem::remove(path);  // the mapping stays valid after unlinking

  EXPECT_EQ(loaded.header.format_version, kEngineFormatVersion);
  EXPECT_EQ(loaded.header.kiln_version, kiln_version());
  EXPECT_EQ(loaded.header.cuda_version, 0);
  EXPECT_EQ(loaded.header.gpu_architecture, "none");
  EXPECT_EQ(loaded.config.enabled_precisions, config.enabled_precisions);
  EXPECT_FALSE(loaded.config.strongly_typed);
  expect_same_graph(graph, loaded);
  // The fp32 models run their matrix products in bf16: those weights are stored bf16.
  if (GetParam().find("fp32") != std::string::npos) {
    EXPECT_FALSE(loaded.prepared_weights.empty());
  }
  for (const auto& [name, weight] : loaded.prepared_weights) {
    EXPECT_EQ(weight.dtype(), DType::BFloat16) << name;
  }

  std::map<std::string, Tensor> inputs = make_random_inputs(graph, 7);
  CpuSession original(std::move(graph), config.enabled_precisions, false, true);
  CpuSession reloaded(std::move(loaded.graph), config.enabled_precisions, false, true);
  std::map<std::string, Tensor> expected = original.run(inputs), actual = reloaded.run(inputs);
  ASSERT_EQ(expected.size(), actual.size());
  for (const auto& [name, tensor] : expected) {
    ASSERT_TRUE(actual.count(name)) << name;
    EXPECT_TRUE(same_bytes(tensor, actual.at(name))) << name;
  }
}

TEST(EngineHeaderRoundTrip, BuildConfigHeaderAndTimingsComeBack) {
  BuildConfig config;
  config.enabled_precisions = {Precision::FP32, Precision::TF32, Precision::BF16};
  config.workspace_bytes = size_t(3) << 30;  // beyond 32 bits
  config.tuned_input_dims = {{"input", {8, 3, 224, 224}}, {"mask", {8, 1}}};
  EngineHeader header;
  header.format_version = 99;     // the writer fills in its own
  header.kiln_version = "0.0.0";  // likewise
  header.cuda_version = 13000;
  header.gpu_architecture = "sm_90";
  header.gpu_name = "NVIDIA H100 80GB HBM3";
  LayerTimings timings = {{"conv1", {{Precision::FP32, 0.1}, {Precision::BF16, 0.0312499}}},
                          {"fc", {{Precision::TF32, 1e-4}}}};
  ir::Graph graph = load_model(fixture("resnet_fp32.onnx"));
  assign_engine_precisions(graph, config);
  std::filesystem::path path = temp_engine("header");
  write_engine(path, graph, config, header, timings);
  LoadedEngine loaded = read_engine(path);  // built for sm_90, still readable here
  std::filesystem::remove(path);

  EXPECT_EQ(loaded.header.format_version, kEngineFormatVersion);
  EXPECT_EQ(loaded.header.kiln_version, kiln_version());
  EXPECT_EQ(loaded.header.cuda_version, 13000);
  EXPECT_EQ(loaded.header.gpu_architecture, "sm_90");
  EXPECT_EQ(loaded.header.gpu_name, "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(loaded.config.enabled_precisions, config.enabled_precisions);
  EXPECT_EQ(loaded.config.workspace_bytes, config.workspace_bytes);
  EXPECT_EQ(loaded.config.tuned_input_dims, config.tuned_input_dims);
  EXPECT_EQ(loaded.layer_timings, timings);  // doubles exactly
}

TEST(EngineHeaderRoundTrip, DefaultsDescribeACpuBuild) {
  BuildConfig config;
  ir::Graph graph = load_model(fixture("resnet_fp32.onnx"));
  assign_engine_precisions(graph, config);
  std::filesystem::path path = temp_engine("defaults");
  write_engine(path, graph, config);
  LoadedEngine loaded = read_engine(path);
  std::filesystem::remove(path);
  EXPECT_EQ(loaded.header.gpu_architecture, "none");
  EXPECT_EQ(loaded.header.gpu_name, "");
  EXPECT_EQ(loaded.config.workspace_bytes, BuildConfig{}.workspace_bytes);
  EXPECT_TRUE(loaded.config.tuned_input_dims.empty());
  EXPECT_TRUE(loaded.layer_timings.empty());
  EXPECT_TRUE(loaded.prepared_weights.empty());  // fp32 layers keep fp32 weights
}

TEST(EngineHeaderRoundTrip, NonFiniteTimingIsRefusedWhenWriting) {
  ir::Graph graph = load_model(fixture("resnet_fp32.onnx"));
  LayerTimings timings = {{"conv1", {{Precision::FP32, std::nan("")}}}};
  std::filesystem::path path = temp_engine("nan_timing");
  try {
    write_engine(path, graph, BuildConfig{}, EngineHeader{}, timings);
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::InvalidArgument);
    EXPECT_THAT(error.what(), HasSubstr("conv1"));
  }
  std::filesystem::remove(path);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, EngineRoundTrip,
                         ::testing::Values("resnet_fp32.onnx", "encoder_fp32.onnx",
                                           "encoder_bf16.onnx"),
                         [](const auto& info) {
                           return info.param.substr(0, info.param.find('.'));
                         });

int count_precision(const ir::Graph& graph, const std::string& op, Precision precision) {
  int count = 0;
  for (const ir::Node* node : graph.nodes()) {
    count += node->op == op && node->precision == precision;
  }
  return count;
}

TEST(EngineLayerPrecision, ByOpKindPinsEveryNodeOfThatOp) {
  BuildConfig config;
  config.enabled_precisions = {Precision::FP32, Precision::BF16};
  ir::Graph automatic = load_model(fixture("encoder_fp32.onnx"));
  assign_engine_precisions(automatic, config);
  ASSERT_GT(count_precision(automatic, "MatMul", Precision::BF16), 0);

  config.layer_precisions = {{"MatMul", Precision::FP32}};
  ir::Graph graph = load_model(fixture("encoder_fp32.onnx"));
  assign_engine_precisions(graph, config);
  EXPECT_EQ(count_precision(graph, "MatMul", Precision::BF16), 0);
  EXPECT_EQ(count_precision(graph, "MatMul", Precision::FP32),
            count_precision(automatic, "MatMul", Precision::BF16) +
                count_precision(automatic, "MatMul", Precision::FP32));
  // Other ops keep the automatic choice.
  std::vector<ir::Node*> before = automatic.nodes(), after = graph.nodes();
  ASSERT_EQ(before.size(), after.size());
  for (size_t i = 0; i < after.size(); ++i) {
    if (after[i]->op != "MatMul") {
      EXPECT_EQ(after[i]->precision, before[i]->precision) << after[i]->name;
    }
  }

  std::filesystem::path path = temp_engine("by_op");
  write_engine(path, graph, config);
  LoadedEngine loaded = read_engine(path);
  std::filesystem::remove(path);
  EXPECT_EQ(loaded.config.layer_precisions, config.layer_precisions);
  EXPECT_EQ(count_precision(loaded.graph, "MatMul", Precision::BF16), 0);
}

TEST(EngineLayerPrecision, ByNamePinsOnlyThatNode) {
  BuildConfig config;
  config.enabled_precisions = {Precision::FP32, Precision::BF16};
  ir::Graph automatic = load_model(fixture("resnet_fp32.onnx"));
  assign_engine_precisions(automatic, config);
  const ir::Node* target = nullptr;
  for (const ir::Node* node : automatic.nodes()) {
    if (node->precision == Precision::BF16) {
      target = node;
      break;
    }
  }
  ASSERT_NE(target, nullptr);

  config.layer_precisions = {{target->name, Precision::FP32}};
  ir::Graph graph = load_model(fixture("resnet_fp32.onnx"));
  assign_engine_precisions(graph, config);
  std::vector<ir::Node*> before = automatic.nodes(), after = graph.nodes();
  ASSERT_EQ(before.size(), after.size());
  int changed = 0;
  for (size_t i = 0; i < after.size(); ++i) {
    if (after[i]->name == target->name) {
      EXPECT_EQ(after[i]->precision, Precision::FP32);
    } else {
      EXPECT_EQ(after[i]->precision, before[i]->precision) << after[i]->name;
    }
    changed += after[i]->precision != before[i]->precision;
  }
  EXPECT_EQ(changed, 1);
}

TEST(EngineLayerPrecision, UnmatchedConstraintIsAnError) {
  BuildConfig config;
  config.layer_precisions = {{"no_such_layer", Precision::FP32}};
  ir::Graph graph = load_model(fixture("resnet_fp32.onnx"));
  try {
    assign_engine_precisions(graph, config);
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::InvalidArgument);
    EXPECT_THAT(error.what(), HasSubstr("no_such_layer"));
  }
}

}  // namespace
}  // namespace kiln::engine
