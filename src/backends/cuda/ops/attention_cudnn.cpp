// Attention through cuDNN's SDPA: the mask (any kind and broadcast) becomes a dense additive
// bias and a flag per row at the front of the workspace, cuDNN's own workspace follows; rows
// the mask leaves without a key are zeroed afterwards, as Kiln's other paths give them.
#include "backends/cuda/ops/attention_cudnn.h"

#include "backends/cuda/kernels/cudnn_sdpa.h"
#include "backends/cuda/ops/node_launch.h"
#include "core/log.h"

namespace kiln::cuda {
namespace {

constexpr size_t kWorkspaceAlignment = 256;

size_t aligned(size_t bytes) {
  return (bytes + kWorkspaceAlignment - 1) / kWorkspaceAlignment * kWorkspaceAlignment;
}

// The problem cuDNN would run for `p`, with the bias's batch and head extents (1 where the
// mask broadcasts over them).
SdpaProblem problem_of(const AttentionParams& p, DType dtype) {
  bool has_bias = p.mask_kind != kMaskNone;  // (a tactics query has dims, no data)
  int64_t bias_batch = has_bias && p.mask_strides[0] != 0 ? p.batch : 1;
  int64_t bias_heads = has_bias && p.mask_strides[1] != 0 ? p.q_heads : 1;
  return sdpa_problem(p, dtype, has_bias, bias_batch, bias_heads);
}

// The workspace in front of cuDNN's own: the bias, then one flag per bias row.
size_t bias_bytes(const SdpaProblem& problem) {
  if (!problem.has_bias) return 0;
  return aligned(size_t(problem.bias_batch * problem.bias_heads * problem.q_seq * problem.kv_seq) *
                 dtype_size(problem.dtype));
}

size_t flag_bytes(const SdpaProblem& problem) {
  if (!problem.has_bias) return 0;
  return aligned(size_t(problem.bias_batch * problem.bias_heads * problem.q_seq) * sizeof(int));
}

// Empty if cuDNN can run `p` in this context, else why not.
std::string refusal(LaunchContext& context, const AttentionParams& p, DType dtype,
                    size_t& workspace_bytes) {
  if (context.sdpa_plans == nullptr || context.cudnn == nullptr) return "no cuDNN plan cache";
  if (dtype != DType::BFloat16 && dtype != DType::Float16) return "cuDNN SDPA is bf16/fp16 only";
  if (p.softcap != 0.f) return "cuDNN SDPA has no softcap";
  SdpaProblem problem = problem_of(p, dtype);
  size_t cudnn_bytes = 0;
  std::string why = cudnn_sdpa_refusal(*context.sdpa_plans, context.cudnn, problem, cudnn_bytes);
  if (!why.empty()) return why;
  workspace_bytes = bias_bytes(problem) + flag_bytes(problem) + cudnn_bytes;
  if (workspace_bytes > context.workspace_size) {
    return "cuDNN SDPA needs " + std::to_string(workspace_bytes) +
           " bytes of workspace, the "
           "context has " +
           std::to_string(context.workspace_size);
  }
  return "";
}

// Where a layer's bias goes: the workspace's front, or the context's memo where it fits,
// already written there when the layer before read the same mask value the same way.
struct BiasPlace {
  std::byte* bias = nullptr;
  bool written = false;
};

BiasPlace bias_place(LaunchContext& context, const ir::Node& node, const AttentionParams& p,
                     const SdpaProblem& problem, std::byte* workspace) {
  AttentionBiasMemo* memo = context.attention_bias;
  const ir::Value* mask = node.input(3);
  size_t bytes = bias_bytes(problem) + flag_bytes(problem);
  if (!problem.has_bias || memo == nullptr || mask == nullptr || memo->capacity < bytes)
    return {workspace, false};
  std::vector<int64_t> key = {reinterpret_cast<int64_t>(p.mask),
                              p.mask_kind,
                              p.mask_strides[0],
                              p.mask_strides[1],
                              p.mask_strides[2],
                              p.mask_strides[3],
                              p.mask_columns,
                              p.causal ? 1 : 0,
                              p.batch,
                              p.q_heads,
                              p.q_seq,
                              p.kv_seq,
                              problem.bias_batch,
                              problem.bias_heads,
                              int64_t(problem.dtype)};
  auto* data = static_cast<std::byte*>(memo->data);
  if (memo->mask == mask && memo->key == key) return {data, true};
  memo->mask = mask;
  memo->key = std::move(key);
  return {data, false};
}

}  // namespace

size_t cudnn_bias_bytes(const AttentionParams& p, DType dtype) {
  if (p.mask_kind == kMaskNone || (dtype != DType::BFloat16 && dtype != DType::Float16)) return 0;
  SdpaProblem problem = problem_of(p, dtype);
  return bias_bytes(problem) + flag_bytes(problem);
}

bool attention_by_cudnn(LaunchContext& context, const ir::Node& node, const AttentionParams& p,
                        DType dtype, const void* q, const void* k, const void* v, void* y) {
  const std::string tactic = node.attr_string("tactic", "");
  if (tactic == kTacticKiln || tactic == kTacticMma) return false;
  size_t workspace_bytes = 0;
  std::string why = refusal(context, p, dtype, workspace_bytes);
  if (!why.empty()) {
    log_debug(node.describe(), ": Kiln's attention kernels, not cuDNN's: ", why);
    return false;
  }
  SdpaProblem problem = problem_of(p, dtype);
  auto* workspace = static_cast<std::byte*>(context.workspace);
  std::byte* cudnn_workspace = workspace + bias_bytes(problem) + flag_bytes(problem);
  BiasPlace place = bias_place(context, node, p, problem, workspace);
  void* bias = problem.has_bias ? place.bias : nullptr;
  auto* row_has_key = reinterpret_cast<int*>(place.bias + bias_bytes(problem));
  launch_for(node, [&] {
    if (bias != nullptr && !place.written) {
      write_attention_bias(p, problem.bias_batch, problem.bias_heads, dtype, bias, row_has_key,
                           context.stream);
    }
    run_cudnn_sdpa(*context.sdpa_plans, context.cudnn, problem, q, k, v, bias, y, cudnn_workspace);
    if (bias != nullptr) {
      zero_keyless_rows(p, problem.bias_batch, problem.bias_heads, row_has_key, dtype, y,
                        context.stream);
    }
  });
  return true;
}

std::vector<std::string> attention_tactics(LaunchContext& context, const ir::Node& node,
                                           const AttentionParams& p, DType dtype) {
  (void)node;
  size_t workspace_bytes = 0;
  if (!refusal(context, p, dtype, workspace_bytes).empty()) return {};
  return {kTacticCudnnSdpa, kTacticKiln};
}

}  // namespace kiln::cuda
