// Row-class products (row_class_product.h, kernels/row_classes.h). In cuBLASLt's column-major
// terms our output columns are its rows (m) and our rows its columns (n): class c is
// D(m = kept + shift, n = its rows) = Wᵀ-block(lead - shift ..) · rows(c, c + G, ...), with
// D's pitch G output rows and B's pitch G input rows.
#include "backends/cuda/ops/row_class_product.h"

#include "backends/cuda/kernels/gemm_plan.h"
#include "backends/cuda/kernels/row_classes.h"
#include "backends/cuda/ops/node_launch.h"
#include "core/error.h"

namespace kiln::cuda {
namespace {

GemmEpilogue activation_epilogue(const ir::Node& node) {
  std::string activation = node.attr_string("fused_activation", "");
  if (activation.empty()) return GemmEpilogue::None;
  if (activation == "Relu") return GemmEpilogue::Relu;
  if (activation == "Gelu_tanh" || activation == "Gelu") return GemmEpilogue::Gelu;
  fail(ErrorKind::Unsupported, node.describe(), ": fused_activation '", activation,
       "' is not supported (valid: Relu, Gelu, Gelu_tanh)");
}

}  // namespace

void run_row_class_product(LaunchContext& context, const ir::Node& node, const DeviceTensor& rows,
                           const DeviceTensor& weight, DeviceTensor& out) {
  const int64_t inner = rows.dims.back();
  const int64_t count = rows.numel() / inner;
  const int64_t kept = out.dims.back();
  const int64_t lead = weight.dims[0] - kept;
  check(weight.dims.size() == 2 && weight.dims[1] == inner && out.numel() == count * kept &&
            row_classes_fit(inner, dtype_size(rows.dtype), lead, kept, dtype_size(out.dtype)),
        ErrorKind::Runtime, node.describe(), ": rows ", dims_to_string(rows.dims), " by weight ",
        dims_to_string(weight.dims), " into ", dims_to_string(out.dims), " ", dtype_name(out.dtype),
        " do not fit a row-class product");
  const RowClasses classes = row_classes(kept, dtype_size(out.dtype));
  GemmProblem p;
  p.k = inner;
  p.trans_a = true;  // cuBLASLt's A is our weight, [lead + kept, inner] row-major
  p.lda = inner;
  p.ldb = classes.count * inner;
  p.ldd = classes.count * kept;
  p.ab_dtype = rows.dtype;
  p.d_dtype = out.dtype;
  p.compute = gemm_compute_type(node.precision.value_or(Precision::FP32), rows.dtype);
  p.epilogue = activation_epilogue(node);
  GemmResources resources = gemm_resources(context);
  for (int64_t c = classes.count - 1; c >= 0; --c) {  // see row_classes.h for why downwards
    const int64_t members = c < count ? (count - c + classes.count - 1) / classes.count : 0;
    if (members == 0) continue;
    const int64_t shift = classes.shift(c);
    GemmProblem part = p;
    part.m = kept + shift;
    part.n = members;
    GemmOperands ops;
    ops.a = bytes_at(weight.data, (lead - shift) * inner, weight.dtype);
    ops.b = bytes_at(rows.data, c * inner, rows.dtype);
    ops.d = const_cast<char*>(bytes_at(out.data, c * kept - shift, out.dtype));
    launch_for(node, [&] { run_gemm(resources, part, ops); });
  }
}

}  // namespace kiln::cuda
