// CPU reference kernels for MatMul (numpy semantics) and Gemm (alpha·A'·B' + beta·C). Both
// take the epilogue that passes::fuse_epilogues fuses in: MatMul an optional bias vector over
// the last dim (input 2), both an optional "fused_activation" applied after the bias. MatMul's
// optional input 3 (passes::fuse_product_residual) is a residual of the output's own shape,
// added after the bias and before the activation.
#include <algorithm>
#include <string>
#include <vector>

#include "backends/cpu/fused_activation.h"
#include "backends/cpu/gemm.h"
#include "backends/cpu/index_map.h"
#include "backends/cpu/kernel_registry.h"

namespace kiln::cpu {
namespace {

// Calls fn(T{}) for the element types the matrix products support.
template <typename Fn>
decltype(auto) visit_product_type(const ir::Node& node, DType dtype, Fn&& fn) {
  switch (dtype) {
    case DType::Float32:
      return fn(float{});
    case DType::Float64:
      return fn(double{});
    case DType::Int32:
      return fn(int32_t{});
    case DType::Int64:
      return fn(int64_t{});
    default:
      break;
  }
  fail(ErrorKind::Unsupported, node.describe(), ": the CPU backend has no ", node.op,
       " for element type ", dtype_name(dtype));
}

void check_same_dtype(const ir::Node& node, const Tensor& a, const Tensor& b) {
  check(a.dtype() == b.dtype(), ErrorKind::InvalidModel, node.describe(), ": inputs are ",
        dtype_name(a.dtype()), " and ", dtype_name(b.dtype()), "; they must match");
}

// Adds bias[j] to column j of every row of `out` (rows x n).
template <typename T>
void add_row_bias(const ir::Node& node, const Tensor& bias, T* out, int64_t rows, int64_t n) {
  check(bias.rank() == 1 && bias.numel() == n, ErrorKind::InvalidModel, node.describe(),
        ": bias must be a vector of ", n, " elements (the last dim of the output), got ",
        dims_to_string(bias.dims()));
  const T* bias_data = bias.data<T>();
  for (int64_t row = 0; row < rows; ++row) {
    for (int64_t j = 0; j < n; ++j) out[row * n + j] += bias_data[j];
  }
}

template <typename T>
Tensor matmul_typed(const ir::Node& node, const Tensor& a, const Tensor& b, const Tensor& bias,
                    const Tensor& residual) {
  check(a.rank() >= 1 && b.rank() >= 1, ErrorKind::InvalidModel, node.describe(),
        ": inputs must have rank >= 1, got ", dims_to_string(a.dims()), " and ",
        dims_to_string(b.dims()));
  // numpy: a 1-D A is a row (1, K), a 1-D B a column (K, 1); the added dim is dropped after.
  Dims a_dims = a.rank() == 1 ? Dims{1, a.dim(0)} : a.dims();
  Dims b_dims = b.rank() == 1 ? Dims{b.dim(0), 1} : b.dims();
  int64_t m = a_dims[a_dims.size() - 2];
  int64_t k = a_dims.back();
  int64_t n = b_dims.back();
  check(b_dims[b_dims.size() - 2] == k, ErrorKind::InvalidModel, node.describe(),
        ": inner dims differ: A is ", dims_to_string(a.dims()), ", B is ",
        dims_to_string(b.dims()));
  Dims a_batch(a_dims.begin(), a_dims.end() - 2);
  Dims b_batch(b_dims.begin(), b_dims.end() - 2);
  Dims out_batch = broadcast_dims(a_batch, b_batch, node.describe() + " batch dims");
  std::vector<int64_t> a_index = broadcast_source_index(a_batch, out_batch, node.describe());
  std::vector<int64_t> b_index = broadcast_source_index(b_batch, out_batch, node.describe());

  Dims out_dims = out_batch;
  if (a.rank() != 1) out_dims.push_back(m);
  if (b.rank() != 1) out_dims.push_back(n);
  Tensor out(DTypeOf<T>::value, out_dims);
  const T* a_data = a.data<T>();
  const T* b_data = b.data<T>();
  T* out_data = out.data_mutable<T>();
  std::vector<GemmOperands<T>> batch(a_index.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    batch[i] = {a_data + a_index[i] * m * k, b_data + b_index[i] * k * n,
                out_data + static_cast<int64_t>(i) * m * n};
  }
  gemm_batched(batch, m, n, k);
  if (bias.defined()) {
    check(b.rank() >= 2, ErrorKind::InvalidModel, node.describe(),
          ": a bias needs B of rank >= 2, got ", dims_to_string(b.dims()));
    add_row_bias(node, bias, out_data, out.numel() / std::max<int64_t>(n, 1), n);
  }
  if (residual.defined()) {
    check(residual.dims() == out.dims(), ErrorKind::InvalidModel, node.describe(),
          ": the residual input must have the output's dims ", dims_to_string(out.dims()), ", got ",
          dims_to_string(residual.dims()));
    const T* added = residual.data<T>();
    for (int64_t i = 0; i < out.numel(); ++i) out_data[i] += added[i];
  }
  apply_fused_activation(node, fused_activation_of(node, true), out_data, out.numel());
  return out;
}

std::vector<Tensor> matmul_kernel(const ir::Node& node, const std::vector<Tensor>& inputs) {
  check(inputs.size() >= 2 && inputs.size() <= 4 && inputs[0].defined() && inputs[1].defined(),
        ErrorKind::InvalidModel, node.describe(),
        ": needs inputs A and B (and an optional bias and residual)");
  check_same_dtype(node, inputs[0], inputs[1]);
  Tensor bias = inputs.size() > 2 ? inputs[2] : Tensor();
  Tensor residual = inputs.size() > 3 ? inputs[3] : Tensor();
  if (bias.defined()) check_same_dtype(node, inputs[0], bias);
  if (residual.defined()) check_same_dtype(node, inputs[0], residual);
  return {visit_product_type(node, inputs[0].dtype(), [&](auto tag) {
    using T = decltype(tag);
    return matmul_typed<T>(node, inputs[0], inputs[1], bias, residual);
  })};
}

// A 2-D operand in the row-major layout the product wants: the tensor's own data, or a
// transposed copy kept in `packed`.
template <typename T>
const T* operand_matrix(const Tensor& tensor, bool transposed, std::vector<T>& packed) {
  if (!transposed) return tensor.data<T>();
  packed.resize(static_cast<size_t>(tensor.numel()));
  transpose_matrix(tensor.data<T>(), packed.data(), tensor.dim(0), tensor.dim(1));
  return packed.data();
}

template <typename T>
Tensor gemm_typed(const ir::Node& node, const Tensor& a, const Tensor& b, const Tensor& c) {
  check(a.rank() == 2 && b.rank() == 2, ErrorKind::InvalidModel, node.describe(),
        ": A and B must be 2-D, got ", dims_to_string(a.dims()), " and ", dims_to_string(b.dims()));
  bool trans_a = node.attr_int("transA", 0) != 0;
  bool trans_b = node.attr_int("transB", 0) != 0;
  int64_t m = trans_a ? a.dim(1) : a.dim(0);
  int64_t k = trans_a ? a.dim(0) : a.dim(1);
  int64_t n = trans_b ? b.dim(0) : b.dim(1);
  int64_t b_k = trans_b ? b.dim(1) : b.dim(0);
  check(k == b_k, ErrorKind::InvalidModel, node.describe(), ": inner dims differ: A is ",
        dims_to_string(a.dims()), (trans_a ? " (transposed)" : ""), ", B is ",
        dims_to_string(b.dims()), (trans_b ? " (transposed)" : ""));
  std::vector<T> a_packed;
  std::vector<T> b_packed;
  const T* a_matrix = operand_matrix<T>(a, trans_a, a_packed);
  const T* b_matrix = operand_matrix<T>(b, trans_b, b_packed);
  Tensor out(DTypeOf<T>::value, {m, n});
  T* out_data = out.data_mutable<T>();
  gemm_batched<T>({{a_matrix, b_matrix, out_data}}, m, n, k);

  auto alpha = static_cast<T>(node.attr_float("alpha", 1.0));
  auto beta = static_cast<T>(node.attr_float("beta", 1.0));
  if (alpha != T(1)) {
    for (int64_t i = 0; i < m * n; ++i) out_data[i] *= alpha;
  }
  if (c.defined()) {
    check(c.dtype() == a.dtype(), ErrorKind::InvalidModel, node.describe(), ": C is ",
          dtype_name(c.dtype()), " but A is ", dtype_name(a.dtype()));
    std::vector<int64_t> c_index =
        broadcast_source_index(c.dims(), {m, n}, node.describe() + " input C");
    const T* c_data = c.data<T>();
    for (int64_t i = 0; i < m * n; ++i) out_data[i] += beta * c_data[c_index[size_t(i)]];
  }
  apply_fused_activation(node, fused_activation_of(node, true), out_data, m * n);
  return out;
}

std::vector<Tensor> gemm_kernel(const ir::Node& node, const std::vector<Tensor>& inputs) {
  check(inputs.size() >= 2 && inputs[0].defined() && inputs[1].defined(), ErrorKind::InvalidModel,
        node.describe(), ": needs inputs A and B");
  check_same_dtype(node, inputs[0], inputs[1]);
  Tensor c = inputs.size() > 2 ? inputs[2] : Tensor();
  return {visit_product_type(node, inputs[0].dtype(), [&](auto tag) {
    return gemm_typed<decltype(tag)>(node, inputs[0], inputs[1], c);
  })};
}

}  // namespace

void register_matmul_kernels(KernelMap& map) {
  map["MatMul"] = matmul_kernel;
  map["Gemm"] = gemm_kernel;
}

}  // namespace kiln::cpu
