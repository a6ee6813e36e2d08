#include "passes/storage_dtype.h"

#include "core/precision.h"
#include "ir/op_schema.h"

namespace kiln::passes {

DType storage_dtype(const ir::Value& value) {
  // Walks back along data inputs; each step reaches an earlier node, so it ends.
  const ir::Value* current = &value;
  while (true) {
    if (!is_float_storage(current->dtype)) return current->dtype;
    const ir::Node* producer = current->producer;
    if (producer == nullptr || producer->op == "Cast") return current->dtype;
    if (ir::is_float_compute(producer->op) && producer->precision) {
      return precision_storage_dtype(*producer->precision);
    }
    const ir::Value* data = data_input(*producer);
    if (data == nullptr) return current->dtype;
    current = data;
  }
}

const ir::Value* data_input(const ir::Node& node) {
  const ir::Value* first_float = nullptr;
  for (const ir::Value* input : node.inputs) {
    if (input == nullptr || !is_float_storage(input->dtype)) continue;
    if (!input->is_constant()) return input;
    if (first_float == nullptr) first_float = input;
  }
  return first_float;
}

}  // namespace kiln::passes
