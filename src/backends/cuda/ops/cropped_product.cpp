// The cropped product (cropped_product.h). Blocks walk the columns in the outer loop and the
// rows in the inner one, so a block of B's columns (inner x 8192: 12 MB for GPT-2's LM head in
// bf16) is read from memory once and from L2 for every other row block; each block's product
// (16 MB at most) is read back by the row copy from L2 too. Memory then sees A and B once and
// `out` written once, against the padded product written, read back and cropped before.
#include "backends/cuda/ops/cropped_product.h"

#include <algorithm>

#include "backends/cuda/kernels/data_movement.h"
#include "backends/cuda/kernels/strided_loop.h"
#include "backends/cuda/ops/node_launch.h"
#include "core/error.h"

namespace kiln::cuda {
namespace {

constexpr int64_t kBlockColumns = 8192;
constexpr int64_t kMinBlockRows = 8;

// Rows per block: as many as the block budget holds, evened out over the blocks.
int64_t block_rows(int64_t rows, int64_t columns, DType dtype, size_t budget) {
  int64_t fit = int64_t(budget / (size_t(columns) * dtype_size(dtype)));
  if (fit >= rows) return rows;
  int64_t blocks = (rows + fit - 1) / fit;
  return (rows + blocks - 1) / blocks;
}

}  // namespace

void run_cropped_product(LaunchContext& context, const ir::Node& node, const GemmProblem& problem,
                         const GemmOperands& operands, DType product_dtype, DeviceTensor& out) {
  // In cuBLASLt's column-major terms our columns are its rows (m) and our rows its columns (n).
  const int64_t padded = problem.m, rows = problem.n, inner = problem.k;
  const int64_t kept = out.dims.back();
  check(!problem.trans_a && !problem.trans_b && problem.batch == 1 && kept > 0 && kept < padded &&
            out.numel() == rows * kept,
        ErrorKind::Runtime, node.describe(), ": a cropped product needs one untransposed product ",
        "whose output keeps its first columns; got ", problem.to_string(), " into ",
        dims_to_string(out.dims));
  const int64_t columns = std::min(padded, kBlockColumns);
  size_t budget = context.workspace_size > kStagingGemmWorkspace + kStagingAlignment
                      ? std::min(kL2BlockBytes,
                                 context.workspace_size - kStagingGemmWorkspace - kStagingAlignment)
                      : 0;
  const int64_t block = block_rows(rows, columns, product_dtype, budget);
  check(block >= std::min(rows, kMinBlockRows), ErrorKind::Runtime, node.describe(),
        ": the cropped product needs ",
        kStagingGemmWorkspace + kStagingAlignment +
            size_t(kMinBlockRows * columns) * dtype_size(product_dtype),
        " bytes of workspace; the context has ", context.workspace_size);
  const size_t block_bytes = staging_aligned(size_t(block * columns) * dtype_size(product_dtype));
  void* staging = context.workspace;
  GemmResources resources = gemm_resources(context);
  resources.workspace = static_cast<char*>(context.workspace) + block_bytes;
  resources.workspace_size = context.workspace_size - block_bytes;
  for (int64_t c0 = 0; c0 < kept; c0 += columns) {
    const int64_t width = std::min(columns, padded - c0);
    const int64_t copied = std::min(width, kept - c0);
    for (int64_t r0 = 0; r0 < rows; r0 += block) {
      const int64_t height = std::min(block, rows - r0);
      GemmProblem part = problem;
      part.m = width;
      part.n = height;
      part.ldd = width;
      part.d_dtype = product_dtype;
      GemmOperands ops = operands;
      ops.a = bytes_at(operands.a, c0, problem.ab_dtype);          // our B's columns c0...
      ops.b = bytes_at(operands.b, r0 * inner, problem.ab_dtype);  // our A's rows r0...
      ops.d = staging;
      if (operands.bias != nullptr) ops.bias = bytes_at(operands.bias, c0, product_dtype);
      StridedLoop walk{{height, copied}, {{width, 1}, {kept, 1}}, {0, r0 * kept + c0}};
      launch_for(node, [&] {
        run_gemm(resources, part, ops);
        launch_strided_convert(product_dtype, staging, height * width, out.dtype, out.data,
                               out.numel(), walk, context.stream);
      });
    }
  }
}

}  // namespace kiln::cuda
