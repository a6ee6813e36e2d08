// The pointwise, index and row chains the generated-kernel tests run: small graphs whose
// nodes a fusion group takes, built over any domain dims. The GPU tests
// (fused_kernels_test.cpp) run them fused and unfused against the CPU reference; the
// generator's host tests (fusion/host_kernel_test.cpp) run their elementwise kernels compiled
// for the CPU.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "cuda_test_util.h"
#include "ir/graph.h"
#include "ir/op_schema.h"

namespace kiln::fusion_chains {

inline ir::Shape shape(const Dims& dims) { return ir::Shape::from_dims(dims); }

inline ir::Value* constant(ir::Graph& graph, const std::string& name, const Dims& dims,
                           uint32_t seed, double low = -1, double high = 1) {
  return graph.add_constant(name, cuda_test::random_tensor(DType::Float32, dims, low, high, seed));
}

inline ir::Value* scalar(ir::Graph& graph, const std::string& name, float value) {
  return graph.add_constant(name, Tensor::from_vector<float>({}, {value}));
}

inline ir::Value* node(ir::Graph& graph, const std::string& op, std::vector<ir::Value*> inputs) {
  return graph.add_node(op, graph.unique_name(op), std::move(inputs), {""})->outputs[0];
}

inline ir::Value* slice(ir::Graph& graph, ir::Value* x, int64_t start, int64_t end, int64_t axis,
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

inline std::vector<Chain> pointwise_chains() {
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
inline std::vector<Chain> index_chains() {
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

inline std::vector<Chain> row_chains() {
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

// The chains without a row reduction: one elementwise or index kernel each.
inline std::vector<Chain> elementwise_chains() {
  std::vector<Chain> all = pointwise_chains();
  for (Chain& chain : index_chains()) all.push_back(std::move(chain));
  return all;
}

inline std::vector<Chain> chains() {
  std::vector<Chain> all = pointwise_chains();
  for (Chain& chain : index_chains()) all.push_back(std::move(chain));
  for (Chain& chain : row_chains()) all.push_back(std::move(chain));
  return all;
}

// Casts with a `to` attribute; every float-computing node in `precision`.
inline ir::Graph make_graph(const Chain& chain, const Dims& dims, Precision precision) {
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

inline std::map<std::string, Tensor> random_inputs(const ir::Graph& graph, uint32_t seed) {
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

}  // namespace kiln::fusion_chains
