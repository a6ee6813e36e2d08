// Prepared weights: a float weight read only by bf16 layers is stored once in bf16, mapped as
// such, and widened back in the graph (only when the CPU backend reads it) so that CPU
// outputs stay bit-identical; a weight shared with an fp32 layer, or one that is a graph
// output, stays as declared.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <random>

#include "engine/engine_file.h"
#include "ir/op_schema.h"
#include "kiln/kiln.h"
#include "kiln/summary.h"
#include "passes/passes.h"

namespace kiln::engine {
namespace {

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.dims() == b.dims() && a.nbytes() == b.nbytes() &&
         (a.nbytes() == 0 || std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0);
}

// Values with more mantissa bits than bf16 holds, so that rounding shows.
Tensor random_weight(Dims dims, uint32_t seed) {
  std::mt19937 generator(seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> values(static_cast<size_t>(element_count(dims)));
  for (float& value : values) value = normal(generator);
  return Tensor::from_vector<float>(std::move(dims), values);
}

struct TwoLayers {
  ir::Graph graph;
  Tensor w, v;
};

// x[4, 64] → mm1 = MatMul(x, w[64, 64]) → mm2 = MatMul(mm1, v[64, 64]); with `shared`, mm2
// reads w too.
TwoLayers two_layers(Precision first, Precision second, bool shared) {
  TwoLayers model{ir::Graph(), random_weight({64, 64}, 1), random_weight({64, 64}, 2)};
  ir::Graph& graph = model.graph;
  graph.name = "two_layers";
  ir::Value* x =
      graph.add_input("x", DType::Float32, ir::Shape({ir::Dim::fixed(4), ir::Dim::fixed(64)}));
  ir::Value* w = graph.add_constant("w", model.w);
  ir::Value* v = shared ? w : graph.add_constant("v", model.v);
  ir::Node* mm1 = graph.add_node("MatMul", "mm1", {x, w}, {"h"});
  ir::Node* mm2 = graph.add_node("MatMul", "mm2", {mm1->outputs[0], v}, {"y"});
  mm1->precision = first;
  mm2->precision = second;
  graph.add_output(mm2->outputs[0]);
  ir::infer_graph(graph);
  return model;
}

std::filesystem::path temp_engine(const std::string& stem) {
  return std::filesystem::temp_directory_path() /
         ("engine_prepared_" + stem + "_" + std::to_string(::getpid()) + ".kiln");
}

struct Written {
  LoadedEngine engine;
  uintmax_t file_size;
};

Written write_and_read(const ir::Graph& graph, const std::string& stem) {
  BuildConfig config;
  config.enabled_precisions = {Precision::FP32, Precision::BF16};
  std::filesystem::path path = temp_engine(stem);
  write_engine(path, graph, config);
  Written written{read_engine(path), std::filesystem::file_size(path)};
  std::filesystem::remove(path);
  return written;
}

std::map<std::string, Tensor> run_cpu(ir::Graph graph,
                                      const std::map<std::string, Tensor>& inputs) {
  CpuSession session(std::move(graph), {Precision::FP32, Precision::BF16}, false, true);
  return session.run(inputs);
}

TEST(EnginePreparedWeights, Bf16LayersWeightsAreStoredOnceInBf16) {
  TwoLayers model = two_layers(Precision::BF16, Precision::BF16, false);
  Written bf16 = write_and_read(model.graph, "bf16");
  Written fp32 = write_and_read(two_layers(Precision::FP32, Precision::FP32, false).graph, "fp32");
  EXPECT_TRUE(fp32.engine.prepared_weights.empty());
  // Two 16 KiB weights become two 8 KiB ones (give or take the manifest's 256-byte padding).
  ASSERT_LT(bf16.file_size, fp32.file_size);
  EXPECT_NEAR(double(fp32.file_size - bf16.file_size), 2 * 64 * 64 * 2, 256);

  const LoadedEngine& loaded = bf16.engine;
  ASSERT_EQ(loaded.prepared_weights.size(), 2u);
  for (const auto& [name, original] : {std::pair{"w", model.w}, std::pair{"v", model.v}}) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(loaded.prepared_weights.count(name));
    const Tensor& stored = loaded.prepared_weights.at(name);
    EXPECT_EQ(stored.dtype(), DType::BFloat16);
    EXPECT_TRUE(same_bytes(stored, original.to(DType::BFloat16)));
    EXPECT_EQ(reinterpret_cast<uintptr_t>(stored.raw()) % 256, 0u);  // mapped from the file
    const ir::Value* value = loaded.graph.find_value(name);
    ASSERT_NE(value, nullptr);
    EXPECT_EQ(value->dtype, DType::Float32);
    const Tensor widened = original.to(DType::BFloat16).to(DType::Float32);
    EXPECT_TRUE(same_bytes(*value->constant, widened));
    EXPECT_FALSE(same_bytes(*value->constant, original));  // rounding did happen
  }

  std::map<std::string, Tensor> inputs = make_random_inputs(model.graph, 11);
  std::map<std::string, Tensor> expected = run_cpu(std::move(model.graph), inputs);
  std::map<std::string, Tensor> actual = run_cpu(std::move(bf16.engine.graph), inputs);
  ASSERT_TRUE(actual.count("y"));
  EXPECT_TRUE(same_bytes(expected.at("y"), actual.at("y")));
}

// Reading an engine widens nothing: not the reader, not a summary (kiln inspect), not the
// shape specialization each GPU context makes (whose constants are still the engine's own).
// The CPU backend's first read widens, and its results equal an eagerly widened graph's.
TEST(EnginePreparedWeights, PreparedWeightIsWidenedOnlyWhenTheCpuBackendReadsIt) {
  TwoLayers model = two_layers(Precision::BF16, Precision::BF16, false);
  Written written = write_and_read(model.graph, "deferred");
  ir::Graph& graph = written.engine.graph;
  ASSERT_EQ(written.engine.prepared_weights.size(), 2u);
  std::map<std::string, Tensor> constants;  // copies share the engine's conversion
  for (const std::string name : {"w", "v"}) constants[name] = *graph.find_value(name)->constant;
  auto widened_any = [&] {
    for (const auto& [name, constant] : constants) {
      if (constant.materialized()) return true;
    }
    return false;
  };
  EXPECT_FALSE(widened_any()) << "read_engine widened a prepared weight";

  EXPECT_EQ(summarize_model(graph).constant_bytes, 2u * 64 * 64 * 4);
  ir::Graph specialized = passes::specialize_shapes(graph, {{"x", {4, 64}}});
  for (const auto& [name, constant] : constants) {
    EXPECT_TRUE(specialized.find_value(name)->constant->shares_bytes_with(constant)) << name;
  }
  EXPECT_FALSE(widened_any()) << "a summary or shape specialization widened a weight";

  ir::Graph eager = ir::copy_graph(graph);
  for (const auto& [name, constant] : constants) {
    eager.find_value(name)->constant = written.engine.prepared_weights.at(name).to(DType::Float32);
  }
  EXPECT_FALSE(widened_any());
  std::map<std::string, Tensor> inputs = make_random_inputs(model.graph, 13);
  std::map<std::string, Tensor> expected = run_cpu(std::move(eager), inputs);
  std::map<std::string, Tensor> actual = run_cpu(std::move(graph), inputs);
  for (const auto& [name, constant] : constants) EXPECT_TRUE(constant.materialized()) << name;
  EXPECT_TRUE(same_bytes(actual.at("y"), expected.at("y")));
  EXPECT_TRUE(same_bytes(actual.at("y"), run_cpu(std::move(model.graph), inputs).at("y")));
}

TEST(EnginePreparedWeights, WeightSharedWithAnFp32LayerStaysFp32) {
  TwoLayers model = two_layers(Precision::FP32, Precision::BF16, true);
  Written written = write_and_read(model.graph, "shared");
  EXPECT_TRUE(written.engine.prepared_weights.empty());
  const ir::Value* w = written.engine.graph.find_value("w");
  ASSERT_NE(w, nullptr);
  EXPECT_TRUE(same_bytes(*w->constant, model.w));

  std::map<std::string, Tensor> inputs = make_random_inputs(model.graph, 12);
  std::map<std::string, Tensor> expected = run_cpu(std::move(model.graph), inputs);
  std::map<std::string, Tensor> actual = run_cpu(std::move(written.engine.graph), inputs);
  EXPECT_TRUE(same_bytes(expected.at("y"), actual.at("y")));
}

TEST(EnginePreparedWeights, WeightSharedByBf16LayersIsPreparedOnce) {
  TwoLayers model = two_layers(Precision::BF16, Precision::BF16, true);
  Written written = write_and_read(model.graph, "shared_bf16");
  ASSERT_EQ(written.engine.prepared_weights.size(), 1u);
  EXPECT_TRUE(same_bytes(written.engine.prepared_weights.at("w"), model.w.to(DType::BFloat16)));
}

TEST(EnginePreparedWeights, GraphOutputWeightStaysAsDeclared) {
  TwoLayers model = two_layers(Precision::BF16, Precision::BF16, false);
  model.graph.add_output(model.graph.find_value("v"));
  Written written = write_and_read(model.graph, "output");
  EXPECT_EQ(written.engine.prepared_weights.count("v"), 0u);
  EXPECT_EQ(written.engine.prepared_weights.count("w"), 1u);
  EXPECT_TRUE(same_bytes(*written.engine.graph.find_value("v")->constant, model.v));
}

}  // namespace
}  // namespace kiln::engine
