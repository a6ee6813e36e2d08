// CPU reference kernel for ONNX (opset 23) Attention: softmax(softcap(Q·Kᵀ·scale) + mask)·V
// with 4-D (B, H, S, D) or 3-D (B, S, H·D) inputs, grouped KV heads, a bool or additive
// mask, upper-left causal masking (offset by any past keys) and a KV cache (past/present).
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "backends/cpu/float_types.h"
#include "backends/cpu/gemm.h"
#include "backends/cpu/index_map.h"
#include "backends/cpu/kernel_registry.h"
#include "core/parallel.h"

namespace kiln::cpu {
namespace {

// Sizes of one attention problem; kv_seq counts past and new keys.
struct AttentionShape {
  int64_t batch = 0, q_heads = 0, kv_heads = 0, q_seq = 0, new_kv_seq = 0, past_seq = 0;
  int64_t head_size = 0, v_head_size = 0;
  bool three_d = false;
  int64_t kv_seq() const { return past_seq + new_kv_seq; }
};

// Reads Q, K or V as (B, heads, S, D) whatever its layout, appending it to `dst` at
// sequence offset `seq_offset` of a (B, heads, dst_seq, D) buffer.
template <typename T>
void gather_heads(const Tensor& tensor, bool three_d, int64_t heads, int64_t head_size, T* dst,
                  int64_t dst_seq, int64_t seq_offset) {
  const T* src = tensor.data<T>();
  int64_t batch = tensor.dim(0);
  int64_t seq = three_d ? tensor.dim(1) : tensor.dim(2);
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t h = 0; h < heads; ++h) {
      for (int64_t s = 0; s < seq; ++s) {
        const T* row = three_d ? src + ((b * seq + s) * heads + h) * head_size
                               : src + ((b * heads + h) * seq + s) * head_size;
        std::copy(row, row + head_size,
                  dst + ((b * heads + h) * dst_seq + seq_offset + s) * head_size);
      }
    }
  }
}

AttentionShape attention_shape(const ir::Node& node, const std::vector<Tensor>& in) {
  const Tensor& q = in[0];
  const Tensor& k = in[1];
  const Tensor& v = in[2];
  check(q.rank() == k.rank() && q.rank() == v.rank() && (q.rank() == 3 || q.rank() == 4),
        ErrorKind::InvalidModel, node.describe(), ": Q, K, V must all be 3-D or all 4-D, got ",
        dims_to_string(q.dims()), ", ", dims_to_string(k.dims()), ", ", dims_to_string(v.dims()));
  AttentionShape s;
  s.three_d = q.rank() == 3;
  s.batch = q.dim(0);
  if (s.three_d) {
    s.q_heads = node.attr_int("q_num_heads", 0);
    s.kv_heads = node.attr_int("kv_num_heads", 0);
    check(s.q_heads > 0 && s.kv_heads > 0 && q.dim(2) % s.q_heads == 0 &&
              k.dim(2) % s.kv_heads == 0 && v.dim(2) % s.kv_heads == 0,
          ErrorKind::InvalidModel, node.describe(),
          ": 3-D inputs need q_num_heads and kv_num_heads dividing the hidden sizes");
    s.q_seq = q.dim(1);
    s.new_kv_seq = k.dim(1);
    s.head_size = q.dim(2) / s.q_heads;
    s.v_head_size = v.dim(2) / s.kv_heads;
    check(k.dim(2) / s.kv_heads == s.head_size && v.dim(1) == s.new_kv_seq, ErrorKind::InvalidModel,
          node.describe(), ": K ", dims_to_string(k.dims()), " or V ", dims_to_string(v.dims()),
          " does not match Q ", dims_to_string(q.dims()));
  } else {
    s.q_heads = q.dim(1);
    s.kv_heads = k.dim(1);
    s.q_seq = q.dim(2);
    s.new_kv_seq = k.dim(2);
    s.head_size = q.dim(3);
    s.v_head_size = v.dim(3);
    check(k.dim(3) == s.head_size && v.dim(1) == s.kv_heads && v.dim(2) == s.new_kv_seq,
          ErrorKind::InvalidModel, node.describe(), ": K ", dims_to_string(k.dims()), " or V ",
          dims_to_string(v.dims()), " does not match Q ", dims_to_string(q.dims()));
  }
  check(k.dim(0) == s.batch && v.dim(0) == s.batch && s.q_heads % s.kv_heads == 0,
        ErrorKind::InvalidModel, node.describe(), ": batch sizes differ or ", s.kv_heads,
        " KV heads do not divide ", s.q_heads, " query heads");
  bool has_past = in.size() > 4 && in[4].defined();
  check(has_past == (in.size() > 5 && in[5].defined()), ErrorKind::InvalidModel, node.describe(),
        ": past_key and past_value must be given together");
  if (has_past) {
    const Tensor& past_key = in[4];
    const Tensor& past_value = in[5];
    s.past_seq = past_key.rank() == 4 ? past_key.dim(2) : -1;
    check(past_key.dims() == Dims{s.batch, s.kv_heads, s.past_seq, s.head_size} &&
              past_value.dims() == Dims{s.batch, s.kv_heads, s.past_seq, s.v_head_size},
          ErrorKind::InvalidModel, node.describe(), ": past_key ", dims_to_string(past_key.dims()),
          " / past_value ", dims_to_string(past_value.dims()),
          " must be (B, kv_heads, past_seq, head_size)");
  }
  return s;
}

// The additive bias of each (b, h, i) row from attn_mask: bool false → -inf, float added.
// Keys beyond the mask's last dim are masked (ONNX pads a short mask with -inf).
template <typename T>
struct MaskBias {
  std::vector<T> values;  // (B, Hq, Sq, columns), broadcast out
  int64_t columns = 0;

  const T* row(int64_t b, int64_t h, int64_t i, const AttentionShape& s) const {
    return values.empty() ? nullptr : values.data() + ((b * s.q_heads + h) * s.q_seq + i) * columns;
  }
};

template <typename T>
MaskBias<T> mask_bias(const ir::Node& node, const Tensor& mask, const AttentionShape& s) {
  MaskBias<T> bias;
  if (!mask.defined()) return bias;
  check(mask.rank() >= 1 && mask.rank() <= 4 && mask.dim(-1) <= s.kv_seq(), ErrorKind::InvalidModel,
        node.describe(), ": attn_mask ", dims_to_string(mask.dims()),
        " must broadcast to (B, q_heads, q_seq, kv_seq) = (", s.batch, ", ", s.q_heads, ", ",
        s.q_seq, ", ", s.kv_seq(), ")");
  bias.columns = mask.dim(-1);
  std::vector<int64_t> source = broadcast_source_index(
      mask.dims(), {s.batch, s.q_heads, s.q_seq, bias.columns}, node.describe() + " attn_mask");
  bias.values.resize(source.size());
  if (mask.dtype() == DType::Bool) {
    const bool* keep = mask.data<bool>();
    for (size_t i = 0; i < source.size(); ++i) {
      bias.values[i] = keep[source[i]] ? T(0) : -std::numeric_limits<T>::infinity();
    }
  } else {
    check(is_floating(mask.dtype()), ErrorKind::InvalidModel, node.describe(),
          ": attn_mask must be bool or floating, got ", dtype_name(mask.dtype()));
    Tensor converted = mask.to(DTypeOf<T>::value);
    const T* add = converted.data<T>();
    for (size_t i = 0; i < source.size(); ++i) bias.values[i] = add[source[i]];
  }
  return bias;
}

// Turns one row of raw scores into attention weights in place.
template <typename T>
void scores_to_weights(T* scores, const T* mask_row, int64_t mask_columns, int64_t causal_limit,
                       int64_t kv_seq, T scale, T softcap) {
  constexpr T kNegInf = -std::numeric_limits<T>::infinity();
  bool any_key = false;  // a row whose bias masks every key outputs zeros (ONNX rule)
  T max = kNegInf;
  for (int64_t j = 0; j < kv_seq; ++j) {
    T bias = mask_row ? (j < mask_columns ? mask_row[j] : kNegInf) : T(0);
    if (j > causal_limit) bias = kNegInf;
    any_key = any_key || bias != kNegInf;
    T logit = scores[j] * scale;
    if (softcap > 0) logit = softcap * std::tanh(logit / softcap);  // before the mask
    scores[j] = logit + bias;
    max = std::max(max, scores[j]);
  }
  if (!any_key) {
    std::fill(scores, scores + kv_seq, T(0));
    return;
  }
  T sum = 0;
  for (int64_t j = 0; j < kv_seq; ++j) {
    scores[j] = std::exp(scores[j] - max);
    sum += scores[j];
  }
  for (int64_t j = 0; j < kv_seq; ++j) scores[j] /= sum;
}

template <typename T>
std::vector<Tensor> attention_typed(const ir::Node& node, const std::vector<Tensor>& in) {
  AttentionShape s = attention_shape(node, in);
  for (size_t i : {size_t{1}, size_t{2}, size_t{4}, size_t{5}}) {
    if (i < in.size() && in[i].defined() && in[i].dtype() != in[0].dtype()) {
      fail(ErrorKind::InvalidModel, node.describe(), ": input ", i, " is ",
           dtype_name(in[i].dtype()), " but Q is ", dtype_name(in[0].dtype()));
    }
  }
  int64_t kv_seq = s.kv_seq();
  // Q, K (with past), V (with past) as contiguous (B, heads, S, D) buffers.
  Tensor keys(DTypeOf<T>::value, {s.batch, s.kv_heads, kv_seq, s.head_size});
  Tensor values(DTypeOf<T>::value, {s.batch, s.kv_heads, kv_seq, s.v_head_size});
  if (s.past_seq > 0) {
    gather_heads(in[4], false, s.kv_heads, s.head_size, keys.data_mutable<T>(), kv_seq, 0);
    gather_heads(in[5], false, s.kv_heads, s.v_head_size, values.data_mutable<T>(), kv_seq, 0);
  }
  gather_heads(in[1], s.three_d, s.kv_heads, s.head_size, keys.data_mutable<T>(), kv_seq,
               s.past_seq);
  gather_heads(in[2], s.three_d, s.kv_heads, s.v_head_size, values.data_mutable<T>(), kv_seq,
               s.past_seq);
  std::vector<T> queries(static_cast<size_t>(s.batch * s.q_heads * s.q_seq * s.head_size));
  gather_heads(in[0], s.three_d, s.q_heads, s.head_size, queries.data(), s.q_seq, 0);
  // Kᵀ per KV head, so that Q·Kᵀ is a plain row-major product.
  std::vector<T> keys_t(static_cast<size_t>(keys.numel()));
  for (int64_t head = 0; head < s.batch * s.kv_heads; ++head) {
    transpose_matrix(keys.data<T>() + head * kv_seq * s.head_size,
                     keys_t.data() + head * kv_seq * s.head_size, kv_seq, s.head_size);
  }

  MaskBias<T> mask = mask_bias<T>(node, in.size() > 3 ? in[3] : Tensor(), s);
  bool causal = node.attr_int("is_causal", 0) != 0;
  T scale = static_cast<T>(node.attr_float("scale", 1.0 / std::sqrt(double(s.head_size))));
  T softcap = static_cast<T>(node.attr_float("softcap", 0.0));
  int64_t group = s.q_heads / s.kv_heads;  // query heads sharing one KV head

  Dims y_dims = s.three_d ? Dims{s.batch, s.q_seq, s.q_heads * s.v_head_size}
                          : Dims{s.batch, s.q_heads, s.q_seq, s.v_head_size};
  Tensor y(DTypeOf<T>::value, y_dims);
  T* y_data = y.data_mutable<T>();
  parallel_for(s.batch * s.q_heads, 1, [&](int64_t begin, int64_t end) {
    std::vector<T> weights(static_cast<size_t>(s.q_seq * kv_seq));
    std::vector<T> head_out(static_cast<size_t>(s.q_seq * s.v_head_size));
    for (int64_t bh = begin; bh < end; ++bh) {
      int64_t b = bh / s.q_heads, h = bh % s.q_heads;
      int64_t kv_head = b * s.kv_heads + h / group;
      gemm_serial(queries.data() + bh * s.q_seq * s.head_size,
                  keys_t.data() + kv_head * s.head_size * kv_seq, weights.data(), s.q_seq, kv_seq,
                  s.head_size);
      for (int64_t i = 0; i < s.q_seq; ++i) {
        int64_t causal_limit = causal ? i + s.past_seq : kv_seq;
        scores_to_weights(weights.data() + i * kv_seq, mask.row(b, h, i, s), mask.columns,
                          causal_limit, kv_seq, scale, softcap);
      }
      gemm_serial(weights.data(), values.data<T>() + kv_head * kv_seq * s.v_head_size,
                  head_out.data(), s.q_seq, s.v_head_size, kv_seq);
      for (int64_t i = 0; i < s.q_seq; ++i) {
        T* dst = s.three_d
                     ? y_data + (b * s.q_seq + i) * s.q_heads * s.v_head_size + h * s.v_head_size
                     : y_data + (bh * s.q_seq + i) * s.v_head_size;
        std::copy_n(head_out.data() + i * s.v_head_size, s.v_head_size, dst);
      }
    }
  });
  std::vector<Tensor> outputs{y, keys, values};
  outputs.resize(node.outputs.size());
  return outputs;
}

std::vector<Tensor> attention_kernel(const ir::Node& node, const std::vector<Tensor>& inputs) {
  check(inputs.size() >= 3 && inputs[0].defined() && inputs[1].defined() && inputs[2].defined(),
        ErrorKind::InvalidModel, node.describe(), ": needs inputs Q, K and V");
  check(inputs.size() <= 6 || !inputs[6].defined(), ErrorKind::Unsupported, node.describe(),
        ": input nonpad_kv_seqlen is not supported");
  check(node.outputs.size() >= 1 && node.outputs.size() <= 3, ErrorKind::Unsupported,
        node.describe(), ": output qk_matmul_output is not supported");
  return visit_float_type(node, inputs[0].dtype(),
                          [&](auto tag) { return attention_typed<decltype(tag)>(node, inputs); });
}

}  // namespace

void register_attention_kernels(KernelMap& map) { map["Attention"] = attention_kernel; }

}  // namespace kiln::cpu
