// Schema of Resize: the output keeps X's dtype; each dim is its fixed size, or floor(dim *
// scale) (a symbolic dim whose scale is 1 stays itself).
#include "ir/resize_rules.h"
#include "ir/schema_rules.h"

namespace kiln::ir {
namespace {

void infer_resize(Node& node) {
  const Value& x = required_input(node, 0);
  const int64_t rank = x.shape.rank_known() ? x.shape.rank() : -1;
  const ResizeAttrs attrs = resize_attrs(node, rank);
  check(!attrs.linear || x.dtype == DType::Float32 || x.dtype == DType::Float64 ||
            x.dtype == DType::Float16 || x.dtype == DType::BFloat16,
        ErrorKind::Unsupported, node.describe(), ": linear mode needs a float input, not ",
        dtype_name(x.dtype));
  std::vector<Dim> result;
  for (size_t axis = 0; axis < attrs.sizes.size(); ++axis) {
    if (attrs.sizes[axis] >= 0) {
      result.push_back(Dim::fixed(attrs.sizes[axis]));
    } else if (rank >= 0 && x.shape[static_cast<int64_t>(axis)].is_static()) {
      result.push_back(
          Dim::fixed(resized_dim(attrs, axis, x.shape[static_cast<int64_t>(axis)].value)));
    } else if (rank >= 0 && attrs.scales[axis] == 1.0) {
      result.push_back(x.shape[static_cast<int64_t>(axis)]);
    } else {
      result.push_back(Dim::unknown());
    }
  }
  set_output(node, 0, x.dtype, Shape(std::move(result)));
}

}  // namespace

void add_resize_schemas(std::vector<OpSchema>& table) {
  table.push_back({"Resize", 1, 1, 1, 1, true, infer_resize});
}

}  // namespace kiln::ir
