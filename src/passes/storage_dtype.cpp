#include "passes/storage_dtype.h"

#include "core/precision.h"
#include "ir/op_schema.h"

namespace kiln::passes {

DType storage_dtype(const ir::Value& value) {
  // Walks back along first float inputs; each step reaches an earlier node, so it ends.
  const ir::Value* current = &value;
  while (true) {
    if (!is_float_storage(current->dtype)) return current->dtype;
    const ir::Node* producer = current->producer;
    if (producer == nullptr || producer->op == "Cast") return current->dtype;
    if (ir::is_float_compute(producer->op) && producer->precision) {
      return precision_storage_dtype(*producer->precision);
    }
    const ir::Value* first_float = nullptr;
    for (const ir::Value* input : producer->inputs) {
      if (input != nullptr && is_float_storage(input->dtype)) {
        first_float = input;
        break;
      }
    }
    if (first_float == nullptr) return current->dtype;
    current = first_float;
  }
}

}  // namespace kiln::passes
