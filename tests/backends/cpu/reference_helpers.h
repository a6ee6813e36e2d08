// Helpers for the CPU tests of matmul, conv/pool, attention and the executor: random data,
// single-node graphs, and running a kernel straight from its family's registration.
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backends/cpu/kernel_registry.h"
#include "core/tensor.h"
#include "ir/graph.h"

namespace kiln::cpu::testing {

inline Tensor random_tensor(const Dims& dims, uint32_t seed, float low = -1.f, float high = 1.f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(low, high);
  std::vector<float> values(static_cast<size_t>(element_count(dims)));
  for (float& v : values) v = dist(rng);
  return Tensor::from_vector<float>(dims, values);
}

// A graph holding one node of `op` with `outputs` outputs, for calling a kernel on tensors.
struct SingleNode {
  ir::Graph graph;
  ir::Node* node = nullptr;

  explicit SingleNode(const std::string& op, size_t outputs = 1) {
    node = graph.add_node(op, "test_" + op, {}, std::vector<std::string>(outputs, ""));
  }
  template <typename V>
  SingleNode& attr(const std::string& key, V value) {
    node->attrs[key] = ir::AttrValue(std::move(value));
    return *this;
  }
};

// Looks the kernel up in this group's registrations only (matmul, conv/pool, attention),
// so the tests do not depend on the other kernel families.
inline std::vector<Tensor> run_kernel(const ir::Node& node, const std::vector<Tensor>& inputs) {
  static const KernelMap kernels = [] {
    KernelMap map;
    register_matmul_kernels(map);
    register_conv_pool_kernels(map);
    register_attention_kernels(map);
    return map;
  }();
  return kernels.at(node.op)(node, inputs);
}

inline std::vector<double> values_of(const Tensor& tensor) { return tensor.to_double_vector(); }

// ||actual - expected|| / ||expected|| over float64 vectors.
inline double relative_error(const std::vector<double>& actual,
                             const std::vector<double>& expected) {
  double diff = 0, norm = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    diff += (actual[i] - expected[i]) * (actual[i] - expected[i]);
    norm += expected[i] * expected[i];
  }
  return norm == 0 ? std::sqrt(diff) : std::sqrt(diff / norm);
}

}  // namespace kiln::cpu::testing
