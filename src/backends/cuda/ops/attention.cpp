// ONNX Attention nodes on the GPU: softmax(softcap(Q·Kᵀ·scale) + mask)·V. Reads the layout
// (3-D or 4-D), heads, mask and attributes into AttentionParams, then runs tensor-core products
// over workspace-sized chunks (kernels/attention_gemm.h) where they fit, otherwise the fused
// SIMT kernel (kernels/attention.h).
#include "backends/cuda/kernels/attention.h"

#include <algorithm>
#include <cmath>

#include "backends/cuda/kernels/attention_gemm.h"
#include "backends/cuda/ops/attention_cudnn.h"
#include "backends/cuda/ops/cuda_ops.h"
#include "backends/cuda/ops/node_launch.h"
#include "core/precision.h"

namespace kiln::cuda {
namespace {

// (batch, head, seq) element strides of Q/K/V/Y, 4-D (B, H, S, D) or 3-D (B, S, H·D).
AttentionStrides strides_of(bool three_d, int64_t heads, int64_t seq, int64_t head_size) {
  if (three_d) return {seq * heads * head_size, head_size, heads * head_size};
  return {heads * seq * head_size, seq * head_size, head_size};
}

int mask_kind_of(const ir::Node& node, DType dtype) {
  switch (dtype) {
    case DType::Bool:
      return kMaskBool;
    case DType::Float32:
      return kMaskFloat32;
    case DType::Float16:
      return kMaskFloat16;
    case DType::BFloat16:
      return kMaskBFloat16;
    default:
      fail(ErrorKind::InvalidModel, node.describe(), ": attn_mask must be bool or floating, got ",
           dtype_name(dtype));
  }
}

// Element strides of the mask broadcast (aligned right) to (B, Hq, Sq, columns).
void set_mask(const ir::Node& node, const DeviceTensor& mask, AttentionParams& p) {
  int64_t rank = int64_t(mask.dims.size());
  check(rank >= 1 && rank <= 4 && mask.dims.back() <= p.kv_seq, ErrorKind::InvalidModel,
        node.describe(), ": attn_mask ", dims_to_string(mask.dims),
        " must broadcast to (B, q_heads, q_seq, kv_seq) = (", p.batch, ", ", p.q_heads, ", ",
        p.q_seq, ", ", p.kv_seq, ")");
  p.mask = mask.data;
  p.mask_kind = mask_kind_of(node, mask.dtype);
  p.mask_columns = mask.dims.back();
  int64_t target[4] = {p.batch, p.q_heads, p.q_seq, p.mask_columns};
  int64_t stride = 1;
  for (int64_t axis = 3; axis >= 0; --axis) {
    int64_t source = axis - (4 - rank);
    int64_t size = source >= 0 ? mask.dims[size_t(source)] : 1;
    check(size == 1 || size == target[axis], ErrorKind::InvalidModel, node.describe(),
          ": attn_mask ", dims_to_string(mask.dims), " does not broadcast to (", p.batch, ", ",
          p.q_heads, ", ", p.q_seq, ", ", p.mask_columns, ")");
    p.mask_strides[axis] = size == 1 ? 0 : stride;
    stride *= size;
  }
}

AttentionParams attention_params(const ir::Node& node, std::span<const DeviceTensor> in) {
  const DeviceTensor& q = in[0];
  const DeviceTensor& k = in[1];
  const DeviceTensor& v = in[2];
  size_t rank = q.dims.size();
  check(k.dims.size() == rank && v.dims.size() == rank && (rank == 3 || rank == 4),
        ErrorKind::InvalidModel, node.describe(), ": Q, K, V must all be 3-D or all 4-D, got ",
        dims_to_string(q.dims), ", ", dims_to_string(k.dims), ", ", dims_to_string(v.dims));
  check(k.dtype == q.dtype && v.dtype == q.dtype, ErrorKind::InvalidModel, node.describe(),
        ": Q, K and V must share one dtype, got ", dtype_name(q.dtype), ", ", dtype_name(k.dtype),
        ", ", dtype_name(v.dtype));
  AttentionParams p;
  bool three_d = rank == 3;
  p.batch = q.dims[0];
  if (three_d) {
    p.q_heads = node.attr_int("q_num_heads", 0);
    p.kv_heads = node.attr_int("kv_num_heads", 0);
    check(p.q_heads > 0 && p.kv_heads > 0 && q.dims[2] % p.q_heads == 0 &&
              k.dims[2] % p.kv_heads == 0 && v.dims[2] % p.kv_heads == 0,
          ErrorKind::InvalidModel, node.describe(),
          ": 3-D inputs need q_num_heads and kv_num_heads dividing the hidden sizes");
    p.q_seq = q.dims[1];
    p.kv_seq = k.dims[1];
    p.head_size = q.dims[2] / p.q_heads;
    p.v_head_size = v.dims[2] / p.kv_heads;
    check(k.dims[2] / p.kv_heads == p.head_size && v.dims[1] == p.kv_seq, ErrorKind::InvalidModel,
          node.describe(), ": K ", dims_to_string(k.dims), " or V ", dims_to_string(v.dims),
          " does not match Q ", dims_to_string(q.dims));
  } else {
    p.q_heads = q.dims[1];
    p.kv_heads = k.dims[1];
    p.q_seq = q.dims[2];
    p.kv_seq = k.dims[2];
    p.head_size = q.dims[3];
    p.v_head_size = v.dims[3];
    check(k.dims[3] == p.head_size && v.dims[1] == p.kv_heads && v.dims[2] == p.kv_seq,
          ErrorKind::InvalidModel, node.describe(), ": K ", dims_to_string(k.dims), " or V ",
          dims_to_string(v.dims), " does not match Q ", dims_to_string(q.dims));
  }
  check(k.dims[0] == p.batch && v.dims[0] == p.batch && p.q_heads % p.kv_heads == 0,
        ErrorKind::InvalidModel, node.describe(), ": batch sizes differ or ", p.kv_heads,
        " KV heads do not divide ", p.q_heads, " query heads");
  p.group = p.q_heads / p.kv_heads;
  p.q = strides_of(three_d, p.q_heads, p.q_seq, p.head_size);
  p.k = strides_of(three_d, p.kv_heads, p.kv_seq, p.head_size);
  p.v = strides_of(three_d, p.kv_heads, p.kv_seq, p.v_head_size);
  // A column block of a packed projection (DeviceTensor::row_pitch): its rows lie further apart.
  const std::pair<AttentionStrides*, const DeviceTensor*> read[3] = {
      {&p.q, &q}, {&p.k, &k}, {&p.v, &v}};
  for (auto [strides, tensor] : read) {
    if (tensor->row_pitch == 0) continue;
    check(three_d && tensor->row_pitch >= tensor->dims.back(), ErrorKind::InvalidModel,
          node.describe(), ": an input with rows ", tensor->row_pitch, " apart must be 3-D and ",
          "no wider than that, got ", dims_to_string(tensor->dims));
    strides->seq = tensor->row_pitch;
    strides->batch = tensor->dims[1] * tensor->row_pitch;
  }
  p.y = strides_of(three_d, p.q_heads, p.q_seq, p.v_head_size);
  p.causal = node.attr_int("is_causal", 0) != 0;
  p.scale = float(node.attr_float("scale", 1.0 / std::sqrt(double(p.head_size))));
  p.softcap = float(node.attr_float("softcap", 0.0));
  if (in.size() > 3 && in[3].defined()) set_mask(node, in[3], p);
  return p;
}

// 16-bit inputs run on tensor cores with FP32 accumulation whatever the precision; float32
// inputs follow the node's precision (as in matmul_cublaslt.cpp): TF32, or a down-converting
// 16-bit mode for a float32 layer asked to run in fp16/bf16.
cublasComputeType_t compute_type(const ir::Node& node, DType storage) {
  if (storage != DType::Float32) return CUBLAS_COMPUTE_32F;
  switch (node.precision.value_or(Precision::FP32)) {
    case Precision::FP32:
      return CUBLAS_COMPUTE_32F;
    case Precision::TF32:
      return CUBLAS_COMPUTE_32F_FAST_TF32;
    case Precision::FP16:
      return CUBLAS_COMPUTE_32F_FAST_16F;
    case Precision::BF16:
      return CUBLAS_COMPUTE_32F_FAST_16BF;
  }
  return CUBLAS_COMPUTE_32F;
}

void attention(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
               std::span<DeviceTensor> outputs) {
  check(inputs.size() >= 3 && inputs[0].defined() && inputs[1].defined() && inputs[2].defined(),
        ErrorKind::InvalidModel, node.describe(), ": needs inputs Q, K and V");
  bool has_past =
      (inputs.size() > 4 && inputs[4].defined()) || (inputs.size() > 5 && inputs[5].defined());
  check(!has_past, ErrorKind::Unsupported, node.describe(),
        ": past_key/past_value (KV cache) have no CUDA kernel yet (runs on the host)");
  check(inputs.size() <= 6 || !inputs[6].defined(), ErrorKind::Unsupported, node.describe(),
        ": input nonpad_kv_seqlen is not supported");
  check(outputs.size() == 1, ErrorKind::Unsupported, node.describe(),
        ": only output Y has a CUDA kernel (present_key/present_value/qk_matmul_output do not)");
  AttentionParams p = attention_params(node, inputs);
  DeviceTensor& y = outputs[0];
  check(y.dtype == inputs[0].dtype, ErrorKind::Unsupported, node.describe(), ": output is ",
        dtype_name(y.dtype), " but Q is ", dtype_name(inputs[0].dtype));
  if (y.numel() == 0) return;
  const void* q = inputs[0].data;
  const void* k = inputs[1].data;
  const void* v = inputs[2].data;
  if (node.attr_string("tactic", "") == kTacticMma &&
      mma_attention_fits(p, y.dtype, q, k, v, y.data)) {
    launch_for(node, [&] { launch_mma_attention(p, y.dtype, q, k, v, y.data, context.stream); });
    return;
  }
  if (attention_by_cudnn(context, node, p, y.dtype, q, k, v, y.data)) return;
  bool done = false;
  launch_for(node, [&] {
    done = attention_by_gemms(gemm_resources(context), compute_type(node, y.dtype), p, y.dtype, q,
                              k, v, y.data);
  });
  if (done) return;
  // The SIMT kernel: no cuBLASLt handle, or not one row of scores fits the workspace.
  int64_t widest = std::max(p.head_size, p.v_head_size);
  check(widest <= kMaxHeadSize, ErrorKind::Unsupported, node.describe(), ": head sizes ",
        p.head_size, "/", p.v_head_size, " exceed the SIMT attention kernel's ", kMaxHeadSize,
        " and the tensor-core path cannot run here (runs on the host instead)");
  require_float_storage(node, y.dtype);
  launch_for(node, [&] { launch_fused_attention(p, y.dtype, q, k, v, y.data, context.stream); });
}

}  // namespace

size_t attention_bias_bytes(const ir::Node& node, std::span<const DeviceTensor> inputs) {
  if (inputs.size() < 4 || !inputs[3].defined()) return 0;
  return cudnn_bias_bytes(attention_params(node, inputs), inputs[0].dtype);
}

std::vector<std::string> attention_node_tactics(LaunchContext& context, const ir::Node& node,
                                                std::span<const DeviceTensor> inputs) {
  bool has_past =
      (inputs.size() > 4 && inputs[4].defined()) || (inputs.size() > 5 && inputs[5].defined());
  if (inputs.size() < 3 || has_past || node.outputs.size() != 1) return {};
  const AttentionParams p = attention_params(node, inputs);
  std::vector<std::string> tactics = attention_tactics(context, node, p, inputs[0].dtype);
  // Data pointers are null here: only the layout decides; the arena aligns every tensor.
  if (mma_attention_fits(p, inputs[0].dtype, nullptr, nullptr, nullptr, nullptr)) {
    if (tactics.empty()) tactics.push_back(kTacticKiln);
    tactics.insert(tactics.begin() + 1, kTacticMma);
  }
  return tactics;
}

void register_attention_cuda_kernels(CudaKernelMap& map) { map["Attention"] = attention; }

}  // namespace kiln::cuda
