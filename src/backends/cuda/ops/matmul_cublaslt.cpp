// MatMul (numpy semantics, batched with broadcast batch dims) and Gemm through cuBLASLt.
// Kiln's tensors are row-major and cuBLASLt's column-major: a row-major D = A·B is the
// column-major Dᵀ = Bᵀ·Aᵀ, so every product is issued with the operands swapped.
//
// Epilogues (set by passes::fuse_epilogues): MatMul's optional input 2 is a bias vector over
// the output's last dim, added by cuBLASLt's bias epilogue (in the swapped column-major
// problem our columns are cuBLASLt's rows, one bias value each), as Gemm's row-vector C is.
// MatMul's optional input 3 (passes::fuse_product_residual) is a residual of the output's
// shape, cuBLASLt's C with beta 1.
// Node attribute "fused_activation" (string; absent by default):
//   "Relu"      – D = relu(product [+ bias])
//   "Gelu_tanh" – D = gelu_tanh(product [+ bias])  (cuBLASLt's GELU is the tanh form)
//   "Gelu"      – D = gelu(product [+ bias]), exact (erf)
// applied as cuBLASLt's epilogue after alpha·A·B + beta·C and the bias. cuBLASLt has no exact
// GELU: where D is bfloat16 its tanh form stands in, since the two differ by at most 4.7e-4
// (absolute, near |x| = 2), under bfloat16's own rounding of the result (half a unit in the
// last place is 3.9e-3 of the value); float32 and float16 results get the exact GELU as a
// second pass over D instead.
#include <string>
#include <vector>

#include "backends/cpu/index_map.h"
#include "backends/cuda/kernels/elementwise_binary.h"
#include "backends/cuda/kernels/elementwise_unary.h"
#include "backends/cuda/kernels/gemm_plan.h"
#include "backends/cuda/kernels/matrix_fill.h"
#include "backends/cuda/kernels/sm90_product.h"
#include "backends/cuda/ops/cropped_product.h"
#include "backends/cuda/ops/cuda_kernel.h"
#include "backends/cuda/ops/cuda_ops.h"
#include "backends/cuda/ops/node_launch.h"
#include "core/error.h"
#include "passes/passes.h"
#include "passes/storage_dtype.h"

namespace kiln::cuda {
namespace {

// The compute type for the node's precision and the storage of its A and B.
cublasComputeType_t compute_type(const ir::Node& node, DType ab_dtype) {
  return gemm_compute_type(node.precision.value_or(Precision::FP32), ab_dtype);
}

// A 16-bit storage type must match a 16-bit precision: fp16 bits cannot be read as bf16.
void check_storage(const ir::Node& node, DType ab_dtype) {
  Precision precision = node.precision.value_or(Precision::FP32);
  bool mismatch = (ab_dtype == DType::Float16 && precision == Precision::BF16) ||
                  (ab_dtype == DType::BFloat16 && precision == Precision::FP16);
  check(!mismatch, ErrorKind::Unsupported, node.describe(), ": inputs stored as ",
        dtype_name(ab_dtype), " cannot run in ", precision_name(precision),
        "; insert a Cast to the precision's type");
}

// Whether the node's exact GELU runs as a pass after the product (see the top of the file).
bool exact_gelu_after(const ir::Node& node, DType d_dtype) {
  return node.attr_string("fused_activation", "") == "Gelu" && d_dtype != DType::BFloat16;
}

GemmEpilogue epilogue_for(const ir::Node& node, bool bias, DType d_dtype) {
  std::string activation = node.attr_string("fused_activation", "");
  if (activation.empty() || exact_gelu_after(node, d_dtype)) {
    return bias ? GemmEpilogue::Bias : GemmEpilogue::None;
  }
  if (activation == "Relu") return bias ? GemmEpilogue::ReluBias : GemmEpilogue::Relu;
  if (activation == "Gelu_tanh" || activation == "Gelu") {
    return bias ? GemmEpilogue::GeluBias : GemmEpilogue::Gelu;
  }
  fail(ErrorKind::Unsupported, node.describe(), ": fused_activation '", activation,
       "' is not supported (valid: Relu, Gelu, Gelu_tanh)");
}

// The exact GELU that epilogue_for left out, in place over D.
void finish_activation(LaunchContext& context, const ir::Node& node, DeviceTensor& out) {
  if (!exact_gelu_after(node, out.dtype) || out.numel() == 0) return;
  launch_for(node, [&] {
    launch_unary(out.dtype, out.data, out.data, out.numel(), UnaryParams{UnaryOp::Gelu},
                 context.stream);
  });
}

// The column-major problem for row-major D(rows×cols) = op(A)·op(B), A's and B's row
// lengths given: cuBLASLt's A is our B and its B our A.
GemmProblem row_major_problem(const ir::Node& node, int64_t rows, int64_t cols, int64_t inner,
                              bool trans_a, bool trans_b, DType ab_dtype, DType d_dtype) {
  GemmProblem p;
  p.m = cols;
  p.n = rows;
  p.k = inner;
  p.trans_a = trans_b;
  p.trans_b = trans_a;
  p.lda = trans_b ? inner : cols;  // row length of our B
  p.ldb = trans_a ? rows : inner;  // row length of our A
  p.ldd = cols;
  p.ab_dtype = ab_dtype;
  p.d_dtype = d_dtype;
  p.compute = compute_type(node, ab_dtype);
  return p;
}

// Operands in the same swapped order: cuBLASLt's A is our B.
GemmOperands row_major_operands(const void* a, const void* b, void* d, float alpha) {
  return GemmOperands{b, a, nullptr, d, nullptr, alpha, 0.f};
}

void check_inputs(const ir::Node& node, std::span<const DeviceTensor> inputs, size_t required) {
  check(inputs.size() >= required && inputs[0].defined() && inputs[1].defined(),
        ErrorKind::InvalidModel, node.describe(), ": needs inputs A and B");
  check(inputs[0].dtype == inputs[1].dtype, ErrorKind::InvalidModel, node.describe(), ": A is ",
        dtype_name(inputs[0].dtype), " but B is ", dtype_name(inputs[1].dtype));
  check_storage(node, inputs[0].dtype);
}

// The tactic that runs a plain product (2-D B; no bias, residual or activation) through the
// Hopper CUTLASS kernel instead of cuBLASLt, where the builder times it faster.
constexpr const char* kTacticCutlass = "cutlass_sm90";

// Row-major D[rows, n] = A[rows, k] · B[k, n] for CUTLASS, B's rows `ldb` long.
RowMajorProduct row_major_product(const DeviceTensor& a, const DeviceTensor& b,
                                  const DeviceTensor& out, int64_t rows, int64_t n, int64_t k,
                                  int64_t ldb) {
  RowMajorProduct product;
  product.m = rows;
  product.n = n;
  product.k = k;
  product.lda = k;
  product.ldb = ldb;
  product.ldd = n;
  product.ab_dtype = a.dtype;
  product.d_dtype = out.dtype;
  product.a = a.data;
  product.b = b.data;
  product.d = out.data;
  return product;
}

// A plain product: a 2-D B and no bias, residual or activation.
bool plain_product(const ir::Node& node, std::span<const DeviceTensor> inputs) {
  return node.op == "MatMul" && inputs.size() >= 2 && inputs[1].dims.size() == 2 &&
         !inputs[0].dims.empty() && (inputs.size() < 3 || !inputs[2].defined()) &&
         (inputs.size() < 4 || !inputs[3].defined()) && !node.has_attr("fused_activation");
}

// A product whose output keeps only its first columns (the storage plan folded a crop, and
// any cast after it, into it): computed in the product's own storage dtype, the one the
// uncropped product would have (so the bits are the same), and cropped on the way.
void run_cropped(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
                 DeviceTensor& out, int64_t rows, int64_t cols, int64_t inner) {
  const DeviceTensor& a = inputs[0];
  const DType product = passes::storage_dtype(*node.outputs[0]);
  const DeviceTensor* bias = inputs.size() > 2 && inputs[2].defined() ? &inputs[2] : nullptr;
  check(bias == nullptr || (bias->dtype == product && bias->numel() == cols),
        ErrorKind::InvalidModel, node.describe(), ": bias ",
        bias != nullptr ? dims_to_string(bias->dims) : "", " must be a ", dtype_name(product),
        " vector of ", cols, " elements (B's last dim)");
  check(!exact_gelu_after(node, product), ErrorKind::Runtime, node.describe(),
        ": a cropped product cannot finish an exact GELU in ", dtype_name(product));
  GemmProblem p = row_major_problem(node, rows, cols, inner, false, false, a.dtype, product);
  p.epilogue = epilogue_for(node, bias != nullptr, product);
  GemmOperands ops = row_major_operands(a.data, inputs[1].data, nullptr, 1.f);
  ops.bias = bias != nullptr ? bias->data : nullptr;
  run_cropped_product(context, node, p, ops, product, out);
}

// MatMul's residual (input 3, passes::fuse_product_residual), checked against the output
// it is added to; null when absent.
const DeviceTensor* residual_input(const ir::Node& node, std::span<const DeviceTensor> inputs,
                                   const DeviceTensor& out) {
  if (inputs.size() < 4 || !inputs[3].defined()) return nullptr;
  const DeviceTensor& residual = inputs[3];
  check(residual.dtype == out.dtype && residual.numel() == out.numel(), ErrorKind::InvalidModel,
        node.describe(), ": the residual input must be ", dtype_name(out.dtype), " ",
        dims_to_string(out.dims), " like the output, got ", dtype_name(residual.dtype), " ",
        dims_to_string(residual.dims));
  return &residual;
}

// Returns false where the output is a cropped product, whose activation is complete already
// (computed for the product's own dtype, not the output's).
bool run_matmul(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
                std::span<DeviceTensor> outputs) {
  check_inputs(node, inputs, 2);
  const DeviceTensor& a = inputs[0];
  const DeviceTensor& b = inputs[1];
  DeviceTensor& out = outputs[0];
  // numpy: a 1-D A is a row (1, K), a 1-D B a column (K, 1); memory is the same either way.
  Dims a_dims = a.dims.size() == 1 ? Dims{1, a.dims[0]} : a.dims;
  Dims b_dims = b.dims.size() == 1 ? Dims{b.dims[0], 1} : b.dims;
  int64_t m = a_dims[a_dims.size() - 2], k = a_dims.back(), n = b_dims.back();
  check(b_dims[b_dims.size() - 2] == k, ErrorKind::InvalidModel, node.describe(),
        ": inner dims differ: A is ", dims_to_string(a.dims), ", B is ", dims_to_string(b.dims));
  Dims a_batch(a_dims.begin(), a_dims.end() - 2), b_batch(b_dims.begin(), b_dims.end() - 2);
  Dims out_batch = cpu::broadcast_dims(a_batch, b_batch, node.describe() + " batch dims");
  int64_t a_count = element_count(a_batch), b_count = element_count(b_batch);
  int64_t out_count = element_count(out_batch);
  if (b_count == 1 && !out.dims.empty() && out.dims.back() < n && b.dims.size() == 2 &&
      out.numel() == a_count * m * out.dims.back()) {
    check(inputs.size() < 4 || !inputs[3].defined(), ErrorKind::Runtime, node.describe(),
          ": a cropped product cannot add a residual input");
    run_cropped(context, node, inputs, out, a_count * m, n, k);
    return false;
  }
  check(out.numel() == out_count * m * n, ErrorKind::InvalidArgument, node.describe(),
        ": output has dims ", dims_to_string(out.dims), ", expected ", out_count * m * n,
        " elements");
  if (out.numel() == 0) return true;
  const DeviceTensor* bias = inputs.size() > 2 && inputs[2].defined() ? &inputs[2] : nullptr;
  if (bias != nullptr) {
    check(bias->dtype == out.dtype && bias->numel() == n && b.dims.size() >= 2,
          ErrorKind::InvalidModel, node.describe(), ": bias ", dims_to_string(bias->dims), " ",
          dtype_name(bias->dtype), " must be a ", dtype_name(out.dtype), " vector of ", n,
          " elements (B's last dim)");
  }
  GemmEpilogue epilogue = epilogue_for(node, bias != nullptr, out.dtype);
  GemmOperands ops = row_major_operands(a.data, b.data, out.data, 1.f);
  ops.bias = bias != nullptr ? bias->data : nullptr;
  const DeviceTensor* residual = residual_input(node, inputs, out);
  // The builder's timing may find the residual faster as an Add after the product (and then
  // separates it in the graph: passes::separate_timed_residuals); only without an activation.
  const bool add_after = residual != nullptr && !node.has_attr("fused_activation") &&
                         node.attr_string("tactic", "") == passes::kResidualAfterTactic;
  if (residual != nullptr) {
    check(b_count == 1, ErrorKind::InvalidModel, node.describe(),
          ": a residual input needs a 2-D B, got B ", dims_to_string(b.dims));
    if (!add_after) {
      ops.c = residual->data;  // cuBLASLt adds beta·C in the epilogue, before the activation
      ops.beta = 1.f;
    }
  }
  if (b_count == 1 && node.attr_string("tactic", "") == kTacticCutlass &&
      plain_product(node, inputs)) {
    RowMajorProduct product = row_major_product(a, b, out, a_count * m, n, k, n);
    // Only aligned output rows here: the GPU-tested TMA-store epilogue.
    if (sm90_product_output_aligned(product) &&
        sm90_product_unsupported(product, context.compute_capability).empty()) {
      launch_for(node, [&] {
        run_sm90_product(product, context.workspace, context.workspace_size, context.stream);
      });
      return true;
    }
  }
  if (b_count == 1) {
    // One B for every batch: the batch folds into the rows of a single product.
    GemmProblem p = row_major_problem(node, a_count * m, n, k, false, false, a.dtype, out.dtype);
    p.epilogue = epilogue;
    launch_for(node, [&] {
      run_gemm(gemm_resources(context), p, ops);
      if (add_after) {
        launch_binary(BinaryOp::Add, out.dtype, out.data, out.dims, residual->data, out.dims,
                      out.data, out.dims, context.stream);
      }
    });
    return true;
  }
  GemmProblem p = row_major_problem(node, m, n, k, false, false, a.dtype, out.dtype);
  p.epilogue = epilogue;
  if ((a_count == out_count || a_count == 1) && b_count == out_count) {
    // Same batch layout (or one shared A): a strided batch, stride 0 for a shared A.
    p.batch = out_count;
    p.stride_a = k * n;                     // cuBLASLt's A is our B
    p.stride_b = a_count == 1 ? 0 : m * k;  // and its B our A
    p.stride_d = m * n;
    launch_for(node, [&] { run_gemm(gemm_resources(context), p, ops); });
    return true;
  }
  // Mixed broadcasting (e.g. [2,1] against [1,3]): one product per output batch entry.
  std::vector<int64_t> a_index = cpu::broadcast_source_index(a_batch, out_batch, node.describe());
  std::vector<int64_t> b_index = cpu::broadcast_source_index(b_batch, out_batch, node.describe());
  for (int64_t i = 0; i < out_count; ++i) {
    GemmOperands item =
        row_major_operands(bytes_at(a.data, a_index[size_t(i)] * m * k, a.dtype),
                           bytes_at(b.data, b_index[size_t(i)] * k * n, b.dtype),
                           const_cast<char*>(bytes_at(out.data, i * m * n, out.dtype)), 1.f);
    item.bias = ops.bias;
    launch_for(node, [&] { run_gemm(gemm_resources(context), p, item); });
  }
  return true;
}

void run_gemm_node(LaunchContext& context, const ir::Node& node,
                   std::span<const DeviceTensor> inputs, std::span<DeviceTensor> outputs) {
  check_inputs(node, inputs, 2);
  const DeviceTensor& a = inputs[0];
  const DeviceTensor& b = inputs[1];
  DeviceTensor& out = outputs[0];
  bool trans_a = node.attr_int("transA", 0) != 0;
  bool trans_b = node.attr_int("transB", 0) != 0;
  check(a.dims.size() == 2 && b.dims.size() == 2, ErrorKind::InvalidModel, node.describe(),
        ": A and B must be 2-D, got ", dims_to_string(a.dims), " and ", dims_to_string(b.dims));
  int64_t m = trans_a ? a.dims[1] : a.dims[0], k = trans_a ? a.dims[0] : a.dims[1];
  int64_t n = trans_b ? b.dims[0] : b.dims[1];
  check((trans_b ? b.dims[1] : b.dims[0]) == k, ErrorKind::InvalidModel, node.describe(),
        ": inner dims differ: A is ", dims_to_string(a.dims), ", B is ", dims_to_string(b.dims));
  check(out.numel() == m * n, ErrorKind::InvalidArgument, node.describe(), ": output has dims ",
        dims_to_string(out.dims), ", expected [", m, ", ", n, "]");
  if (out.numel() == 0) return;
  auto alpha = static_cast<float>(node.attr_float("alpha", 1.0));
  auto beta = static_cast<float>(node.attr_float("beta", 1.0));
  GemmOperands ops = row_major_operands(a.data, b.data, out.data, alpha);
  std::function<void()> fill_c;

  const DeviceTensor* c = inputs.size() > 2 && inputs[2].defined() ? &inputs[2] : nullptr;
  bool bias = false;
  if (c != nullptr) {
    check(c->dtype == out.dtype, ErrorKind::InvalidModel, node.describe(), ": C is ",
          dtype_name(c->dtype), " but the output is ", dtype_name(out.dtype));
    check(c->dims.size() <= 2, ErrorKind::InvalidModel, node.describe(), ": C ",
          dims_to_string(c->dims), " must have rank <= 2");
    int64_t c_rows = c->dims.size() == 2 ? c->dims[0] : 1;
    int64_t c_cols = c->dims.empty() ? 1 : c->dims.back();
    check((c_rows == 1 || c_rows == m) && (c_cols == 1 || c_cols == n), ErrorKind::InvalidModel,
          node.describe(), ": C ", dims_to_string(c->dims), " does not broadcast to [", m, ", ", n,
          "]");
    if (c_rows == 1 && c_cols == n && beta == 1.f) {
      bias = true;  // a row vector: cuBLASLt's bias epilogue adds it for free
      ops.bias = c->data;
    } else if (c_rows == m && c_cols == n) {
      ops.c = c->data;
      ops.beta = beta;
    } else {
      // Any other broadcast: spread C over D just before the product accumulates onto it.
      ops.c = out.data;
      ops.beta = beta;
      const void* c_data = c->data;
      fill_c = [&context, &out, c_data, c_rows, c_cols, m, n] {
        broadcast_matrix(out.dtype, c_data, c_rows, c_cols, out.data, m, n, context.stream);
      };
    }
  }
  GemmProblem p = row_major_problem(node, m, n, k, trans_a, trans_b, a.dtype, out.dtype);
  p.epilogue = epilogue_for(node, bias, out.dtype);
  launch_for(node, [&] { run_gemm(gemm_resources(context), p, ops, fill_c); });
}

void matmul_kernel(LaunchContext& context, const ir::Node& node,
                   std::span<const DeviceTensor> inputs, std::span<DeviceTensor> outputs) {
  if (run_matmul(context, node, inputs, outputs)) finish_activation(context, node, outputs[0]);
}

void gemm_kernel(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
                 std::span<DeviceTensor> outputs) {
  run_gemm_node(context, node, inputs, outputs);
  finish_activation(context, node, outputs[0]);
}

}  // namespace

std::vector<std::string> matmul_node_tactics(LaunchContext& context, const ir::Node& node,
                                             std::span<const DeviceTensor> inputs) {
  if (node.op != "MatMul" || inputs.size() < 2 || node.has_attr("fused_activation")) return {};
  if (inputs.size() >= 4 && inputs[3].defined()) {
    return {"residual_epilogue", passes::kResidualAfterTactic};
  }
  if (!plain_product(node, inputs) || node.outputs.size() != 1) return {};
  // Data pointers are null here: only the layout decides; the arena aligns every tensor.
  const DeviceTensor& a = inputs[0];
  const int64_t k = a.dims.back(), n = inputs[1].dims[1];
  const DType d_dtype = passes::storage_dtype(*node.outputs[0]);
  DeviceTensor out{d_dtype, {}, nullptr};
  RowMajorProduct product =
      row_major_product(a, inputs[1], out, a.numel() / std::max<int64_t>(k, 1), n, k, n);
  if (!sm90_product_unsupported(product, context.compute_capability).empty()) return {};
  return {"cublaslt", kTacticCutlass};
}

void register_matmul_cuda_kernels(CudaKernelMap& map) {
  map["MatMul"] = matmul_kernel;
  map["Gemm"] = gemm_kernel;
}

}  // namespace kiln::cuda
