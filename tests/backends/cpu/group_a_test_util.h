// Test helpers for the CPU kernels of the elementwise, reduction, normalization, data
// movement and shape families: a hand-built node, a runner, and tensor builders/matchers.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "backends/cpu/kernel_registry.h"
#include "ir/graph.h"

namespace kiln::cpu::testing {

// Kernels of these families only (the five, Pad and Resize), so the tests do not depend on the
// others.
inline const KernelMap& group_a_kernels() {
  static const KernelMap map = [] {
    KernelMap kernels;
    register_elementwise_kernels(kernels);
    register_reduction_kernels(kernels);
    register_normalization_kernels(kernels);
    register_data_movement_kernels(kernels);
    register_shape_kernels(kernels);
    register_pad_kernels(kernels);
    register_resize_kernels(kernels);
    return kernels;
  }();
  return map;
}

// One node in its own graph; kernels read only op, name, attrs and the output count.
class TestNode {
 public:
  explicit TestNode(const std::string& op, size_t output_count = 1, const std::string& name = "") {
    std::vector<std::string> outputs(output_count);
    for (size_t i = 0; i < output_count; ++i) outputs[i] = "out" + std::to_string(i);
    node_ = graph_.add_node(op, name.empty() ? "my_" + op : name, {}, outputs);
  }
  TestNode& attr(const std::string& key, ir::AttrValue value) {
    node_->attrs[key] = std::move(value);
    return *this;
  }
  const ir::Node& node() const { return *node_; }

  std::vector<Tensor> run(const std::vector<Tensor>& inputs) const {
    auto it = group_a_kernels().find(node_->op);
    if (it == group_a_kernels().end()) throw std::runtime_error("no kernel for " + node_->op);
    return it->second(*node_, inputs);
  }
  Tensor run1(const std::vector<Tensor>& inputs) const {
    std::vector<Tensor> outputs = run(inputs);
    EXPECT_EQ(outputs.size(), 1u);
    return outputs.at(0);
  }

 private:
  ir::Graph graph_;
  ir::Node* node_ = nullptr;
};

inline Tensor f32(Dims dims, const std::vector<float>& values) {
  return Tensor::from_vector<float>(std::move(dims), values);
}
inline Tensor f64(Dims dims, const std::vector<double>& values) {
  return Tensor::from_vector<double>(std::move(dims), values);
}
inline Tensor i64(Dims dims, const std::vector<int64_t>& values) {
  return Tensor::from_vector<int64_t>(std::move(dims), values);
}
inline Tensor i32(Dims dims, const std::vector<int32_t>& values) {
  return Tensor::from_vector<int32_t>(std::move(dims), values);
}
inline Tensor boolean(Dims dims, const std::vector<bool>& values) {
  Tensor tensor(DType::Bool, std::move(dims));
  bool* data = tensor.data_mutable<bool>();
  for (size_t i = 0; i < values.size(); ++i) data[i] = values[i];
  return tensor;
}
// Deterministic, varied values in [-scale, scale] (no RNG state shared between tests).
inline std::vector<float> sample_values(int64_t count, float scale = 2.0f, int seed = 1) {
  std::vector<float> values(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    values[static_cast<size_t>(i)] =
        scale * static_cast<float>(std::sin(0.7 * double(i) + seed * 1.3));
  }
  return values;
}

// Checks dtype, dims and values (relative+absolute tolerance; NaN must match NaN).
inline void expect_tensor(const Tensor& actual, DType dtype, const Dims& dims,
                          const std::vector<double>& expected, double tolerance = 0.0) {
  ASSERT_EQ(actual.dtype(), dtype) << dtype_name(actual.dtype());
  ASSERT_EQ(actual.dims(), dims) << dims_to_string(actual.dims());
  std::vector<double> values = actual.to_double_vector();
  ASSERT_EQ(values.size(), expected.size());
  for (size_t i = 0; i < values.size(); ++i) {
    if (std::isnan(expected[i])) {
      EXPECT_TRUE(std::isnan(values[i])) << "element " << i;
    } else if (std::isinf(expected[i])) {
      EXPECT_EQ(values[i], expected[i]) << "element " << i;
    } else {
      EXPECT_NEAR(values[i], expected[i], tolerance * (1.0 + std::abs(expected[i])))
          << "element " << i;
    }
  }
}

// Runs `action`, expects a kiln::Error of `kind` whose message contains every fragment.
template <typename Action>
void expect_error(Action&& action, ErrorKind kind, const std::vector<std::string>& fragments) {
  try {
    action();
    ADD_FAILURE() << "expected an error";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), kind) << error.what();
    for (const std::string& fragment : fragments) {
      EXPECT_NE(std::string(error.what()).find(fragment), std::string::npos)
          << "message '" << error.what() << "' lacks '" << fragment << "'";
    }
  }
}

}  // namespace kiln::cpu::testing
