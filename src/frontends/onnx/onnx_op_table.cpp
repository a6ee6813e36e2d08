// The table of ONNX op importers: op type → import function, built once from each op
// family's file.
#include "onnx_import_context.h"
#include "onnx_importer.h"

namespace kiln::onnx {

namespace {

const OpTable& op_table() {
  static const OpTable table = [] {
    OpTable ops;
    add_math_ops(ops);
    add_nn_ops(ops);
    add_tensor_ops(ops);
    add_attention_ops(ops);
    add_recurrent_ops(ops);
    add_dft_ops(ops);
    add_composite_ops(ops);
    add_resize_ops(ops);
    add_layout_ops(ops);
    add_control_ops(ops);
    return ops;
  }();
  return table;
}

}  // namespace

const OpEntry* find_op_importer(std::string_view op_type) {
  auto it = op_table().find(op_type);
  return it == op_table().end() ? nullptr : &it->second;
}

bool is_default_domain(const std::string& domain) { return domain.empty() || domain == "ai.onnx"; }

const OpEntry* find_node_importer(const ::onnx::NodeProto& node) {
  return is_default_domain(node.domain()) ? find_op_importer(node.op_type()) : nullptr;
}

std::vector<std::string> supported_onnx_ops() {
  std::vector<std::string> names;
  for (const auto& [name, entry] : op_table()) names.push_back(name);
  return names;
}

}  // namespace kiln::onnx
