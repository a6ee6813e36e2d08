#include "passes/storage_dtype.h"

#include <cmath>

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

namespace {

// Whether a float constant may follow the data into any float storage: small (a token, a
// scale; checked element by element) and within float16's range, so that no stored copy of
// it overflows (a -1e9 mask fill stays where it leads, in its own dtype).
bool may_follow(const ir::Value& constant) {
  constexpr int64_t kMaxFollowing = int64_t(1) << 16;
  constexpr double kFloat16Max = 65504.0;
  if (constant.constant->numel() > kMaxFollowing) return false;
  for (double value : constant.constant->to_double_vector()) {
    if (!(std::abs(value) <= kFloat16Max)) return false;  // NaN and infinities too
  }
  return true;
}

}  // namespace

const ir::Value* data_input(const ir::Node& node) {
  const ir::Value* first_float = nullptr;
  const ir::Value* first_computed = nullptr;
  bool constants_follow = true;
  for (const ir::Value* input : node.inputs) {
    if (input == nullptr || !is_float_storage(input->dtype)) continue;
    if (first_float == nullptr) first_float = input;
    if (!input->is_constant()) {
      if (first_computed == nullptr) first_computed = input;
    } else {
      constants_follow = constants_follow && may_follow(*input);
    }
  }
  return first_computed != nullptr && constants_follow ? first_computed : first_float;
}

}  // namespace kiln::passes
