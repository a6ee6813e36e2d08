// The activation that passes::fuse_epilogues folds into MatMul, Gemm and Conv (node attribute
// "fused_activation"), applied by their CPU kernels after the bias, in the kernel's type; the
// executor then rounds the result like any layer output, as the GPU epilogues do.
#pragma once

#include <cmath>
#include <cstdint>
#include <numbers>
#include <string>
#include <type_traits>

#include "core/error.h"
#include "ir/graph.h"

namespace kiln::cpu {

enum class FusedActivation { None, Relu, Gelu, GeluTanh, Silu, Sigmoid };

// Reads the attribute: absent or "" is None, "Relu", "Silu" (x·sigmoid(x); Conv only, which
// the schema checks), "Sigmoid" (vector projection Convs only, ditto), "Gelu" (exact, erf) and
// "Gelu_tanh" where `gelu_allowed` (the GPU's cuDNN convolutions have no GELU). Anything else is
// Unsupported, naming the node.
inline FusedActivation fused_activation_of(const ir::Node& node, bool gelu_allowed) {
  std::string name = node.attr_string("fused_activation", "");
  if (name.empty()) return FusedActivation::None;
  if (name == "Relu") return FusedActivation::Relu;
  if (name == "Silu") return FusedActivation::Silu;
  if (name == "Sigmoid") return FusedActivation::Sigmoid;
  if (name == "Gelu" && gelu_allowed) return FusedActivation::Gelu;
  if (name == "Gelu_tanh" && gelu_allowed) return FusedActivation::GeluTanh;
  fail(ErrorKind::Unsupported, node.describe(), ": fused_activation '", name,
       "' is not supported (valid: Relu, Silu, Sigmoid", gelu_allowed ? ", Gelu, Gelu_tanh" : "",
       ")");
}

// Applies `activation` in place to `count` values. The formulas are those of the Relu, Gelu
// (both forms) and Sigmoid kernels in elementwise.cpp, so fusing changes no result beyond the
// rounding of the intermediate values it skips.
template <typename T>
void apply_fused_activation(const ir::Node& node, FusedActivation activation, T* data,
                            int64_t count) {
  if (activation == FusedActivation::None) return;
  if (activation == FusedActivation::Relu) {
    for (int64_t i = 0; i < count; ++i) data[i] = data[i] < T(0) ? T(0) : data[i];  // keeps NaN
    return;
  }
  if constexpr (std::is_floating_point_v<T>) {
    if (activation == FusedActivation::Silu) {
      for (int64_t i = 0; i < count; ++i) data[i] = data[i] / (T(1) + std::exp(-data[i]));
      return;
    }
    if (activation == FusedActivation::Sigmoid) {
      for (int64_t i = 0; i < count; ++i) data[i] = T(1) / (T(1) + std::exp(-data[i]));
      return;
    }
    if (activation == FusedActivation::Gelu) {
      for (int64_t i = 0; i < count; ++i) {
        data[i] = T(0.5) * data[i] * (T(1) + std::erf(data[i] / std::numbers::sqrt2_v<T>));
      }
      return;
    }
    const T k = std::sqrt(T(2) / std::numbers::pi_v<T>);
    for (int64_t i = 0; i < count; ++i) {
      T x = data[i];
      data[i] = T(0.5) * x * (T(1) + std::tanh(k * (x + T(0.044715) * x * x * x)));
    }
  } else {
    fail(ErrorKind::Unsupported, node.describe(), ": fused_activation ",
         node.attr_string("fused_activation", ""), " needs floating inputs, not integers");
  }
}

}  // namespace kiln::cpu
