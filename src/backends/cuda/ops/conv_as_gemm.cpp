// Conv as im2col + GEMM (conv_as_gemm.h). The workspace holds, in order: the weights padded to
// the patch rows' length, one chunk of patch rows, and what is left for cuBLASLt. Chunks split
// the output pixels, which NHWC stores as the rows of a [pixels, O] matrix, so each chunk's
// product writes a contiguous block of Y (and reads the same block of the residual).
#include "backends/cuda/ops/conv_as_gemm.h"

#include <algorithm>

#include "backends/cuda/kernels/gemm_plan.h"
#include "backends/cuda/kernels/matrix_fill.h"
#include "backends/cuda/kernels/relu_in_place.h"
#include "backends/cuda/ops/node_launch.h"
#include "core/error.h"
#include "core/precision.h"

namespace kiln::cuda {
namespace {

constexpr int64_t kPixelGranule = 64;  // chunk sizes in whole tiles of rows
// Few enough input channels that cuDNN's tensor-core tiles run mostly empty.
constexpr int64_t kFewChannels = 16;

struct Layout {
  int64_t row_length = 0;
  size_t weight_bytes = 0;  // aligned
  size_t row_bytes = 0;     // one patch row
  int64_t chunk_pixels = 0;
};

// Where things go in the workspace; chunk_pixels 0 when not even a granule of rows fits.
Layout plan_layout(const Im2colShape& shape, int64_t out_channels, DType dtype,
                   size_t workspace_size, bool l2_chunks) {
  Layout layout;
  layout.row_length = im2col_row_length(dtype, shape);
  layout.row_bytes = size_t(layout.row_length) * dtype_size(dtype);
  layout.weight_bytes = staging_aligned(size_t(out_channels) * layout.row_bytes);
  if (workspace_size < layout.weight_bytes + kStagingGemmWorkspace) return layout;
  size_t budget = workspace_size - layout.weight_bytes - kStagingGemmWorkspace;
  if (l2_chunks) budget = std::min(budget, kL2BlockBytes);
  int64_t fit = int64_t(budget / layout.row_bytes);
  int64_t pixels = shape.pixels();
  if (fit >= pixels) {
    layout.chunk_pixels = pixels;
  } else if (fit >= kPixelGranule) {
    // As many chunks as needed, evened out so that the last one is not a sliver.
    int64_t chunks = (pixels + fit - 1) / fit;
    int64_t even = (pixels + chunks - 1) / chunks;
    layout.chunk_pixels =
        std::min(fit / kPixelGranule, (even + kPixelGranule - 1) / kPixelGranule) * kPixelGranule;
  }
  return layout;
}

GemmEpilogue epilogue(LoweredActivation activation, bool bias) {
  if (activation == LoweredActivation::Relu) {
    return bias ? GemmEpilogue::ReluBias : GemmEpilogue::Relu;
  }
  return bias ? GemmEpilogue::Bias : GemmEpilogue::None;
}

const void* offset_by(const void* base, size_t bytes) {
  return static_cast<const char*>(base) + bytes;
}

}  // namespace

bool conv_as_gemm_candidate(const Im2colShape& shape, int64_t pad_end_h, int64_t pad_end_w,
                            int64_t out_channels, DType dtype, size_t workspace_size) {
  if (shape.window() <= 1 || out_channels <= 0 || shape.pixels() <= 0) return false;
  bool patches = shape.kernel_h == shape.stride_h && shape.kernel_w == shape.stride_w &&
                 shape.pad_h == 0 && shape.pad_w == 0 && pad_end_h == 0 && pad_end_w == 0 &&
                 shape.dilation_h == 1 && shape.dilation_w == 1;
  if (shape.c > kFewChannels && !patches) return false;
  return plan_layout(shape, out_channels, dtype, workspace_size, false).chunk_pixels > 0;
}

void run_conv_as_gemm(LaunchContext& context, const ir::Node& node, const Im2colShape& shape,
                      bool l2_chunks, LoweredActivation activation, const DeviceTensor& x,
                      const DeviceTensor& w, const DeviceTensor* bias, const DeviceTensor* residual,
                      DeviceTensor& y) {
  const int64_t out_channels = w.dims[0];
  const DType dtype = x.dtype;
  const size_t element = dtype_size(dtype);
  Layout layout = plan_layout(shape, out_channels, dtype, context.workspace_size, l2_chunks);
  check(layout.chunk_pixels > 0, ErrorKind::Runtime, node.describe(),
        ": lowering to a matrix product needs ", layout.weight_bytes + kStagingGemmWorkspace,
        " bytes of workspace and more for its patch rows; the context has ",
        context.workspace_size);
  void* weights = context.workspace;
  void* rows = static_cast<char*>(context.workspace) + layout.weight_bytes;
  size_t rows_bytes = staging_aligned(size_t(layout.chunk_pixels) * layout.row_bytes);
  GemmResources resources = gemm_resources(context);
  resources.workspace = static_cast<char*>(rows) + rows_bytes;
  resources.workspace_size = context.workspace_size - layout.weight_bytes - rows_bytes;

  // Column-major, Yᵀ (O × pixels) = Wᵀ·patches: W's rows are cuBLASLt's transposed A,
  // the patch rows its B, each `row_length` long.
  GemmProblem problem;
  problem.m = out_channels;
  problem.k = layout.row_length;
  problem.trans_a = true;
  problem.lda = layout.row_length;
  problem.ldb = layout.row_length;
  problem.ldd = out_channels;
  problem.ab_dtype = dtype;
  problem.d_dtype = y.dtype;
  problem.compute = gemm_compute_type(node.precision.value_or(Precision::FP32), dtype);
  problem.epilogue = epilogue(activation, bias != nullptr);

  launch_for(node, [&] {
    pad_planes(element, w.data, 1, out_channels, shape.window(), weights, out_channels,
               layout.row_length, 0, 0, context.stream);
    const int64_t pixels = shape.pixels();
    for (int64_t first = 0; first < pixels; first += layout.chunk_pixels) {
      int64_t count = std::min(layout.chunk_pixels, pixels - first);
      launch_im2col_nhwc(dtype, shape, first, count, x.data, rows, layout.row_length,
                         context.stream);
      size_t out_offset = size_t(first * out_channels) * element;
      GemmProblem chunk = problem;
      chunk.n = count;
      GemmOperands operands;
      operands.a = weights;
      operands.b = rows;
      operands.d = static_cast<char*>(y.data) + out_offset;
      operands.bias = bias != nullptr ? bias->data : nullptr;
      if (residual != nullptr) {
        operands.c = offset_by(residual->data, out_offset);
        operands.beta = 1.f;
      }
      run_gemm(resources, chunk, operands);
    }
    if (activation == LoweredActivation::Silu) {
      silu_in_place(y.dtype, y.data, y.numel(), context.stream);
    }
  });
}

}  // namespace kiln::cuda
