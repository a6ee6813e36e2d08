// Importer for ONNX Attention (opset 23+): scaled dot-product attention without KV cache.
#include "onnx_import_context.h"

namespace kiln::onnx {
namespace {

constexpr size_t kPastKey = 4, kPastValue = 5, kNonpadKvSeqlen = 6;

void import_attention(OnnxNode& node) {
  node.allow_attributes({"is_causal", "kv_num_heads", "q_num_heads", "qk_matmul_output_mode",
                         "scale", "softcap", "softmax_precision", "left_window_size",
                         "right_window_size"});
  // Sliding-window attention (opset 24+): -1, the default, means no window.
  for (const char* window : {"left_window_size", "right_window_size"}) {
    if (node.attr_int(window, -1) != -1) {
      node.unsupported("it sets ", window, " (sliding-window attention), which Kiln's ",
                       "Attention does not support");
    }
  }
  if (node.input(kPastKey) || node.input(kPastValue)) {
    node.unsupported(
        "it takes past_key/past_value (a KV cache), which Kiln's Attention does "
        "not support");
  }
  if (node.input(kNonpadKvSeqlen)) {
    node.unsupported("it takes nonpad_kv_seqlen, which Kiln's Attention does not support");
  }
  for (size_t output = 1; output < 4; ++output) {
    if (node.output_used(output)) {
      node.unsupported("output ", output, " (present_key, present_value or qk_matmul_output) ",
                       "is used; Kiln's Attention produces only its first output");
    }
  }
  // softmax_precision stays an ONNX TensorProto code (docs/core_ops.md); only float types
  // make sense for it.
  if (node.has_attr("softmax_precision")) {
    std::optional<DType> precision = dtype_from_onnx(node.attr_int("softmax_precision", 0));
    if (!precision || !is_floating(*precision)) {
      node.invalid("softmax_precision must be a float type, not ",
                   onnx_dtype_name(node.attr_int("softmax_precision", 0)));
    }
  }
  std::vector<ir::Value*> inputs = {node.required_input(0, "Q"), node.required_input(1, "K"),
                                    node.required_input(2, "V"), node.input(3)};
  node.emit("Attention", std::move(inputs),
            node.copied_attrs({"is_causal", "kv_num_heads", "q_num_heads", "qk_matmul_output_mode",
                               "scale", "softcap", "softmax_precision"}),
            1);
}

}  // namespace

void add_attention_ops(OpTable& table) { table["Attention"] = {import_attention, 23}; }

}  // namespace kiln::onnx
