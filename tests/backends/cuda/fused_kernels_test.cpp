// Generated fusion-group kernels on the GPU, whole graphs rather than one op: pointwise
// chains with bias, per-channel, per-batch, multi-block and scalar broadcasts, masks and
// casts, index groups (a rotary embedding's slices and concat, a strided slice), each run
// fused (poisoned outputs) and compared with the CPU reference and with the unfused GPU run,
// in fp32 and bf16, at sizes that take the vector and the scalar kernel; and the cubins an
// engine file stores, loaded instead of compiled.
#include <filesystem>
#include <functional>
#include <iostream>

#include "backends/cpu/executor.h"
#include "backends/cuda/runtime/cuda_executor.h"
#include "backends/cuda/runtime/fused_groups.h"
#include "backends/cuda/runtime/fusion_timing.h"
#include "cuda_test_util.h"
#include "engine/engine_file.h"
#include "ir/op_schema.h"
#include "kiln/summary.h"
#include "passes/fusion_groups.h"

namespace kiln {
namespace {

ir::Shape shape(const Dims& dims) { return ir::Shape::from_dims(dims); }

ir::Value* constant(ir::Graph& graph, const std::string& name, const Dims& dims, uint32_t seed,
                    double low = -1, double high = 1) {
  return graph.add_constant(name, cuda_test::random_tensor(DType::Float32, dims, low, high, seed));
}

ir::Value* scalar(ir::Graph& graph, const std::string& name, float value) {
  return graph.add_constant(name, Tensor::from_vector<float>({}, {value}));
}

ir::Value* node(ir::Graph& graph, const std::string& op, std::vector<ir::Value*> inputs) {
  return graph.add_node(op, graph.unique_name(op), std::move(inputs), {""})->outputs[0];
}

ir::Value* slice(ir::Graph& graph, ir::Value* x, int64_t start, int64_t end, int64_t axis,
                 int64_t step) {
  auto ints = [&](int64_t value) {
    return graph.add_constant(graph.unique_name("i"), Tensor::from_vector<int64_t>({1}, {value}));
  };
  return node(graph, "Slice", {x, ints(start), ints(end), ints(axis), ints(step)});
}

// A graph builder: given the graph and the domain dims, adds inputs, nodes and outputs.
using Build = std::function<void(ir::Graph&, const Dims&)>;

struct Chain {
  std::string name;
  Build build;
};

std::vector<Chain> pointwise_chains() {
  return {
      {"bias_gelu_scale",
       [](ir::Graph& g, const Dims& d) {
         ir::Value* x = g.add_input("x", DType::Float32, shape(d));
         ir::Value* a = node(g, "Add", {x, constant(g, "b", {d.back()}, 1)});
         ir::Value* gelu = node(g, "Gelu", {a});
         g.add_output(node(g, "Mul", {gelu, scalar(g, "half", 0.5f)}));
       }},
      {"residual_affine_relu_two_outputs",
       [](ir::Graph& g, const Dims& d) {
         ir::Value* x = g.add_input("x", DType::Float32, shape(d));
         ir::Value* y = g.add_input("y", DType::Float32, shape(d));
         ir::Value* sum = node(g, "Add", {x, y});
         ir::Value* scaled = node(g, "Mul", {sum, constant(g, "w", {d.back()}, 2)});
         ir::Value* shifted = node(g, "Add", {scaled, constant(g, "b", {d.back()}, 3)});
         g.set_outputs({sum, node(g, "Relu", {shifted})});
       }},
      {"per_channel_hardswish_clip",
       [](ir::Graph& g, const Dims& d) {
         ir::Value* x = g.add_input("x", DType::Float32, shape(d));
         Dims channel(d.size() - 1, 1);
         channel[0] = d[1];  // [C, 1, ...]: per channel of [N, C, ...]
         ir::Value* scaled = node(g, "Mul", {x, constant(g, "scale", channel, 4)});
         ir::Value* shifted = node(g, "Add", {scaled, constant(g, "shift", channel, 5)});
         ir::Value* swish = node(g, "HardSwish", {shifted});
         g.add_output(node(g, "Clip", {swish, scalar(g, "lo", 0.f), scalar(g, "hi", 0.4f)}));
       }},
      {"per_batch_mask_where",
       [](ir::Graph& g, const Dims& d) {
         ir::Value* x = g.add_input("x", DType::Float32, shape(d));
         Dims batch(d.size(), 1);
         batch[0] = d[0];
         ir::Value* keep = g.add_input("keep", DType::Bool, shape(batch));
         ir::Value* negative = node(g, "Less", {x, scalar(g, "zero", 0.f)});
         ir::Value* both = node(g, "And", {negative, keep});
         ir::Value* tanh = node(g, "Tanh", {x});
         ir::Value* where = node(g, "Where", {both, tanh, node(g, "Sigmoid", {x})});
         ir::Value* finite = node(g, "And", {both, node(g, "Not", {node(g, "IsNaN", {x})})});
         ir::Value* as_float = g.add_node("Cast", "cast", {finite}, {"kf"})->outputs[0];
         g.add_output(node(g, "Add", {where, node(g, "Neg", {as_float})}));
       }},
      {"abs_then_neg",  // two unary ops that each have a hand-written kernel: fused anyway
       [](ir::Graph& g, const Dims& d) {
         ir::Value* abs = node(g, "Abs", {g.add_input("x", DType::Float32, shape(d))});
         g.add_output(node(g, "Neg", {abs}));
       }},
      {"silu_times_up",
       [](ir::Graph& g, const Dims& d) {
         ir::Value* gate = g.add_input("gate", DType::Float32, shape(d));
         ir::Value* up = g.add_input("up", DType::Float32, shape(d));
         ir::Value* silu = node(g, "Mul", {gate, node(g, "Sigmoid", {gate})});
         g.add_output(node(g, "Mul", {silu, up}));
       }},
      {"positive_math",
       [](ir::Graph& g, const Dims& d) {
         ir::Value* x = g.add_input("x", DType::Float32, shape(d));
         // Every value stays within a few units: bf16 rounding of a large argument would make
         // Sin ill-conditioned, and the unfused run rounds every intermediate to bf16.
         ir::Value* p = node(g, "Add", {node(g, "Mul", {x, x}), scalar(g, "one", 1.f)});  // [1, 10]
         ir::Value* root =
             node(g, "Div", {node(g, "Sqrt", {p}), node(g, "Pow", {p, scalar(g, "three", 3.f)})});
         ir::Value* mixed = node(
             g, "Max",
             {node(g, "Log", {p}), node(g, "Reciprocal", {p}), node(g, "Erf", {x})});  // [-1, 2.3]
         ir::Value* waves = node(g, "Min", {node(g, "Sin", {mixed}), node(g, "Cos", {x})});
         ir::Value* sum = node(g, "Add", {node(g, "Exp", {waves}), root});
         ir::Value* bf16 = g.add_node("Cast", "round", {sum}, {"r"})->outputs[0];
         ir::Value* back = g.add_node("Cast", "back", {bf16}, {"rb"})->outputs[0];  // float32
         g.add_output(node(g, "Sub", {back, node(g, "HardSigmoid", {x})}));
       }},
  };
}

// Index groups: slices and concatenations evaluated at the element their reader needs, and
// broadcasts over several blocks of the domain.
std::vector<Chain> index_chains() {
  return {
      {"rotary_half",  // q * cos + cat(-q[.., h:], q[.., :h]) * sin, tables [1, S, 1, D]
       [](ir::Graph& g, const Dims& d) {
         ir::Value* q = g.add_input("q", DType::Float32, shape(d));
         const int64_t half = d.back() / 2, rank = int64_t(d.size());
         Dims table = {1, d[1], 1, d[3]};
         ir::Value* first = slice(g, q, 0, half, rank - 1, 1);
         ir::Value* second = slice(g, q, half, d.back(), rank - 1, 1);
         ir::Node* cat = g.add_node("Concat", "cat", {node(g, "Neg", {second}), first}, {"r"});
         cat->attrs["axis"] = int64_t(-1);
         ir::Value* straight = node(g, "Mul", {q, constant(g, "cos", table, 11)});
         ir::Value* rotated = node(g, "Mul", {cat->outputs[0], constant(g, "sin", table, 12)});
         g.add_output(node(g, "Add", {straight, rotated}));
       }},
      {"mask_over_two_blocks",  // a [N, 1, 1, W] mask and a [C, 1, W] scale on [N, C, H, W]
       [](ir::Graph& g, const Dims& d) {
         ir::Value* x = g.add_input("x", DType::Float32, shape(d));
         ir::Value* keep = g.add_input("keep", DType::Bool, shape({d[0], 1, 1, d[3]}));
         ir::Value* scale = constant(g, "scale", {d[1], 1, d[3]}, 13);
         ir::Value* scaled = node(g, "Mul", {x, scale});
         g.add_output(node(g, "Where", {keep, scaled, node(g, "Neg", {x})}));
       }},
      {"concat_of_a_strided_slice",  // cat(tanh(x), sigmoid(x[:, 1::2])) on axis 1, scaled
       [](ir::Graph& g, const Dims& d) {
         ir::Value* x = g.add_input("x", DType::Float32, shape(d));
         ir::Value* odd = slice(g, x, 1, d[1], 1, 2);
         ir::Node* cat =
             g.add_node("Concat", "cat", {node(g, "Tanh", {x}), node(g, "Sigmoid", {odd})}, {"c"});
         cat->attrs["axis"] = int64_t(1);
         g.add_output(node(g, "Mul", {cat->outputs[0], scalar(g, "three", 3.f)}));
       }},
  };
}

std::vector<Chain> row_chains() {
  return {
      {"residual_layernorm_gelu",
       [](ir::Graph& g, const Dims& d) {
         ir::Value* x = g.add_input("x", DType::Float32, shape(d));
         ir::Value* y = g.add_input("y", DType::Float32, shape(d));
         ir::Value* sum = node(g, "Add", {x, y});
         ir::Value* norm =
             node(g, "LayerNormalization",
                  {sum, constant(g, "gamma", {d.back()}, 6), constant(g, "beta", {d.back()}, 7)});
         g.set_outputs({sum, node(g, "Gelu", {norm})});
       }},
      {"layernorm_alone",
       [](ir::Graph& g, const Dims& d) {
         ir::Value* x = g.add_input("x", DType::Float32, shape(d));
         g.add_output(node(g, "LayerNormalization", {x, constant(g, "gamma", {d.back()}, 8)}));
       }},
      {"scaled_softmax",
       [](ir::Graph& g, const Dims& d) {
         ir::Value* x = g.add_input("x", DType::Float32, shape(d));
         ir::Value* scaled = node(g, "Mul", {x, scalar(g, "scale", 0.125f)});
         ir::Value* masked = node(g, "Add", {scaled, constant(g, "bias", {d.back()}, 9, -4, 0)});
         g.add_output(node(g, "Mul", {node(g, "Softmax", {masked}), scalar(g, "two", 2.f)}));
       }},
      {"residual_rmsnorm_spelled_out",
       [](ir::Graph& g, const Dims& d) {
         ir::Value* x = g.add_input("x", DType::Float32, shape(d));
         ir::Value* r = g.add_input("r", DType::Float32, shape(d));
         ir::Value* h = node(g, "Add", {x, r});
         ir::Node* mean =
             g.add_node("ReduceMean", "mean", {node(g, "Pow", {h, scalar(g, "two", 2.f)})}, {"ms"});
         mean->attrs["axes"] = std::vector<int64_t>{-1};
         ir::Value* rms =
             node(g, "Sqrt", {node(g, "Add", {mean->outputs[0], scalar(g, "eps", 1e-6f)})});
         ir::Value* normed = node(g, "Mul", {h, node(g, "Reciprocal", {rms})});
         g.set_outputs({h, node(g, "Mul", {normed, constant(g, "w", {d.back()}, 10)}), rms});
       }},
      {"softmax_times_its_input",
       [](ir::Graph& g, const Dims& d) {
         ir::Value* x = g.add_input("x", DType::Float32, shape(d));
         ir::Value* shifted = node(g, "Sub", {x, scalar(g, "one", 1.f)});
         g.add_output(node(g, "Mul", {node(g, "Softmax", {shifted}), shifted}));
       }},
  };
}

std::vector<Chain> chains() {
  std::vector<Chain> all = pointwise_chains();
  for (Chain& chain : index_chains()) all.push_back(std::move(chain));
  for (Chain& chain : row_chains()) all.push_back(std::move(chain));
  return all;
}

// Casts with a `to` attribute; every float-computing node in `precision`.
ir::Graph make_graph(const Chain& chain, const Dims& dims, Precision precision) {
  ir::Graph graph;
  chain.build(graph, dims);
  for (ir::Node* n : graph.nodes()) {
    if (n->op == "Cast")
      n->attrs["to"] = int64_t(n->name == "round" ? DType::BFloat16 : DType::Float32);
    if (ir::is_float_compute(n->op)) n->precision = precision;
  }
  ir::infer_graph(graph);
  return graph;
}

std::map<std::string, Tensor> random_inputs(const ir::Graph& graph, uint32_t seed) {
  std::map<std::string, Tensor> inputs;
  for (const ir::Value* input : graph.inputs()) {
    if (input->is_constant()) continue;
    Dims dims = input->shape.static_dims();
    inputs[input->name] = input->dtype == DType::Bool
                              ? cuda_test::random_tensor(DType::Bool, dims, 0, 2, seed++)
                              : cuda_test::random_tensor(input->dtype, dims, -3, 3, seed++);
  }
  return inputs;
}

int fused_steps(cuda::ExecutionContext& context) {
  int fused = 0;
  cudaStream_t stream = nullptr;
  for (const cuda::LayerTime& layer : context.profile_layers(stream, 1))
    fused += layer.op == "Fused";
  return fused;
}

class FusedChainTest
    : public testing::TestWithParam<std::tuple<size_t, Precision, std::vector<int64_t>>> {};

TEST_P(FusedChainTest, MatchesTheCpuReferenceAndTheUnfusedRun) {
  KILN_REQUIRE_GPU();
  const auto& [index, precision, dims] = GetParam();
  const Chain chain = chains()[index];
  ir::Graph graph = make_graph(chain, dims, precision);
  std::map<std::string, Tensor> inputs = random_inputs(graph, 7);
  std::vector<Tensor> reference = cpu::Executor(graph).run(inputs);
  cuda::CudaExecutor fused(graph, {}, {.poison_values = true});
  cuda::CudaExecutor unfused(graph, {}, {.poison_values = true, .fuse_groups = false});
  std::vector<Tensor> fused_out = fused.run(inputs);
  std::vector<Tensor> unfused_out = unfused.run(inputs);
  EXPECT_GE(fused_steps(fused.context()), 1) << chain.name << ": nothing was fused";
  EXPECT_EQ(fused_steps(unfused.context()), 0);
  double tolerance = cuda_test::tolerance_for(precision);
  ASSERT_EQ(fused_out.size(), reference.size());
  for (size_t i = 0; i < reference.size(); ++i) {
    TensorComparison cpu =
        compare_tensors(fused_out[i].to(DType::Float32), reference[i].to(DType::Float32));
    TensorComparison gpu =
        compare_tensors(fused_out[i].to(DType::Float32), unfused_out[i].to(DType::Float32));
    EXPECT_LE(cpu.normalized_error, tolerance) << chain.name << " output " << i << " vs CPU";
    EXPECT_LE(gpu.normalized_error, tolerance) << chain.name << " output " << i << " vs unfused";
    EXPECT_FALSE(std::isnan(cpu.max_abs_diff)) << chain.name << " output " << i << " has NaN";
  }
}

INSTANTIATE_TEST_SUITE_P(
    Chains, FusedChainTest,
    testing::Combine(testing::Range(size_t(0), chains().size()),
                     testing::Values(Precision::FP32, Precision::BF16),
                     // 2*3*8*64: the vector kernel, rows of 8 lanes in bf16; 3*5*7*9: scalar
                     // (no pack divides it), rows of 16 lanes, the last warp's half idle;
                     // 2*5*3*96: ConvNeXt's rows, 12 of 16 lanes; 1*3*1*1000: chunks of a warp
                     testing::Values(std::vector<int64_t>{2, 3, 8, 64},
                                     std::vector<int64_t>{3, 5, 7, 9},
                                     std::vector<int64_t>{2, 5, 3, 96},
                                     std::vector<int64_t>{1, 3, 1, 1000})),
    [](const auto& info) {
      return chains()[std::get<0>(info.param)].name + "_" +
             std::string(precision_name(std::get<1>(info.param))) + "_" +
             std::to_string(element_count(std::get<2>(info.param)));
    });

// An engine file keeps the build's cubins: a context of the loaded engine compiles nothing,
// and its outputs equal those of an engine that compiled its kernels itself.
TEST(FusedKernels, EngineFileCubinsAreLoadedNotCompiled) {
  KILN_REQUIRE_GPU();
  Dims dims = {2, 3, 8, 64};
  ir::Graph graph = make_graph(chains()[0], dims, Precision::BF16);
  std::map<std::string, std::string> cubins =
      cuda::compile_fusion_kernels(graph, {}, cuda::compute_capability());
  ASSERT_EQ(cubins.size(), 1u);
  std::filesystem::path file = std::filesystem::temp_directory_path() /
                               ("kiln_fused_" + std::to_string(::getpid()) + ".kiln");
  engine::BuildConfig config;
  config.enabled_precisions = {Precision::FP32, Precision::BF16};
  engine::write_engine(file, graph, config, {}, {}, cubins);
  engine::LoadedEngine loaded = engine::read_engine(file);
  EXPECT_EQ(loaded.kernels, cubins);
  auto from_file = cuda::Engine::from_loaded(std::move(loaded), file.string());
  std::filesystem::remove(file);
  cuda::ExecutionContext context(from_file, {});
  EXPECT_EQ(from_file->fused_kernels().compiled_count(), 0u);
  std::map<std::string, Tensor> inputs = random_inputs(graph, 3);
  std::vector<Tensor> stored = context.run(inputs);
  cuda::CudaExecutor compiled(graph, {});
  std::vector<Tensor> fresh = compiled.run(inputs);
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(std::memcmp(stored[0].raw(), fresh[0].raw(), stored[0].nbytes()), 0);
}

}  // namespace
}  // namespace kiln

namespace kiln {
namespace {

// The builder's choice: each group timed fused and node by node; the nodes of a group that
// was not faster fused carry fusion="off" and run node by node from then on.
TEST(FusedKernels, TheBuilderTimesEachGroupAndMarksTheSlowerOnes) {
  KILN_REQUIRE_GPU();
  ir::Graph graph = make_graph(row_chains()[0], {16, 128, 768}, Precision::BF16);
  std::vector<cuda::FusionTiming> timings =
      cuda::choose_fusion_by_timing(graph, {}, size_t(64) << 20);
  ASSERT_EQ(timings.size(), 1u);
  const cuda::FusionTiming& timing = timings[0];
  EXPECT_EQ(timing.label, "Add+LayerNormalization+Gelu");
  EXPECT_GT(timing.fused_ms, 0);
  EXPECT_GT(timing.unfused_ms, 0);
  EXPECT_EQ(timing.kept, timing.fused_ms < timing.unfused_ms);
  for (const ir::Node* n : graph.nodes()) {
    EXPECT_EQ(n->attr_string(passes::kFusionAttribute, "") == "off", !timing.kept) << n->name;
  }
  cuda::CudaExecutor executor(graph, {});
  EXPECT_EQ(fused_steps(executor.context()), timing.kept ? 1 : 0);
  std::cout << "fused " << timing.fused_ms << " ms, node by node " << timing.unfused_ms << " ms\n";
}

}  // namespace
}  // namespace kiln
