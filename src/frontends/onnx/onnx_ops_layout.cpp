// Importers for ONNX ops that rearrange or build tensors from their shapes, as core ops:
// DepthToSpace / SpaceToDepth (PyTorch's pixel_shuffle / pixel_unshuffle export as them: a
// Reshape, a Transpose and a Reshape) and EyeLike (a Range compared with a shifted Range).
#include <array>

#include "onnx_import_context.h"
#include "onnx_tensor.h"

namespace kiln::onnx {
namespace {

ir::Value* int64s(OnnxNode& node, const std::vector<int64_t>& values) {
  OnnxOpBuilder builder(node);
  return builder.constant(Tensor::from_vector<int64_t>({int64_t(values.size())}, values));
}

// The fixed [C, H, W] of an [N, C, H, W] input (N may vary).
std::array<int64_t, 3> image_dims(OnnxNode& node, const ir::Value* x) {
  if (!x->shape.rank_known() || x->shape.rank() != 4) {
    node.unsupported("an input of shape ", x->shape.to_string(), " (expected [N, C, H, W])");
  }
  for (size_t axis = 1; axis < 4; ++axis) {
    if (!x->shape[axis].is_static()) node.unsupported("dim ", axis, " known only at run time");
  }
  return {x->shape[1].value, x->shape[2].value, x->shape[3].value};
}

// DepthToSpace (blocksize, mode DCR or CRD): [N, C, H, W] → [N, C / b², H b, W b].
void import_depth_to_space(OnnxNode& node) {
  node.allow_attributes({"blocksize", "mode"});
  ir::Value* x = node.required_input(0, "input");
  auto [c, h, w] = image_dims(node, x);
  int64_t b = node.attr_int("blocksize", 0);
  if (b <= 0 || c % (b * b) != 0) node.invalid("blocksize ", b, " for ", c, " channels");
  std::string mode = node.attr_string("mode", "DCR");
  if (mode != "DCR" && mode != "CRD") node.invalid("mode '", mode, "' (DCR or CRD)");
  bool dcr = mode == "DCR";
  std::vector<int64_t> split = dcr ? std::vector<int64_t>{0, b, b, c / (b * b), h, w}
                                   : std::vector<int64_t>{0, c / (b * b), b, b, h, w};
  std::vector<int64_t> perm =
      dcr ? std::vector<int64_t>{0, 3, 4, 1, 5, 2} : std::vector<int64_t>{0, 1, 4, 2, 5, 3};
  ir::Value* blocks = node.add("Reshape", {x, int64s(node, split)});
  ir::Value* moved = node.add("Transpose", {blocks}, {{"perm", perm}});
  node.emit("Reshape", {moved, int64s(node, {0, c / (b * b), h * b, w * b})});
}

// SpaceToDepth (blocksize, mode DCR or CRD in recent opsets): [N, C, H, W] → [N, C b², H / b,
// W / b], the block offsets before (DCR) or after (CRD) the channels.
void import_space_to_depth(OnnxNode& node) {
  node.allow_attributes({"blocksize", "mode"});
  ir::Value* x = node.required_input(0, "input");
  auto [c, h, w] = image_dims(node, x);
  int64_t b = node.attr_int("blocksize", 0);
  if (b <= 0 || h % b != 0 || w % b != 0) node.invalid("blocksize ", b, " for ", h, "x", w);
  ir::Value* blocks = node.add("Reshape", {x, int64s(node, {0, c, h / b, b, w / b, b})});
  std::string mode = node.attr_string("mode", "DCR");
  if (mode != "DCR" && mode != "CRD") node.invalid("mode '", mode, "' (DCR or CRD)");
  std::vector<int64_t> perm = mode == "DCR" ? std::vector<int64_t>{0, 3, 5, 1, 2, 4}
                                            : std::vector<int64_t>{0, 1, 3, 5, 2, 4};
  ir::Value* moved = node.add("Transpose", {blocks}, {{"perm", perm}});
  node.emit("Reshape", {moved, int64s(node, {0, c * b * b, h / b, w / b})});
}

// EyeLike (dtype, k): ones where column - row = k in a 2-D tensor of the input's shape.
void import_eye_like(OnnxNode& node) {
  node.allow_attributes({"dtype", "k"});
  ir::Value* x = node.required_input(0, "input");
  if (!x->shape.rank_known() || x->shape.rank() != 2) node.invalid("EyeLike takes a 2-D input");
  DType dtype = x->dtype;
  if (node.has_attr("dtype")) {
    std::optional<DType> given = dtype_from_onnx(node.attr_int("dtype", 0));
    if (!given) node.unsupported("dtype ", node.attr_int("dtype", 0));
    dtype = *given;
  }
  ir::Value* shape = node.add("Shape", {x});
  ir::Value* zero = node.scalar(0, DType::Int64);
  ir::Value* one = node.scalar(1, DType::Int64);
  auto length = [&](int64_t axis) {
    ir::Value* dim = node.add("Slice", {shape, int64s(node, {axis}), int64s(node, {axis + 1})});
    return node.add("Reshape", {dim, int64s(node, {})});
  };
  ir::Value* rows = node.add("Range", {zero, length(0), one});
  ir::Value* columns = node.add("Range", {zero, length(1), one});
  ir::Value* shifted =
      node.add("Add", {node.add("Unsqueeze", {rows}, {{"axes", std::vector<int64_t>{1}}}),
                       node.scalar(double(node.attr_int("k", 0)), DType::Int64)});
  node.emit("Cast", {node.add("Equal", {shifted, columns})}, {{"to", static_cast<int64_t>(dtype)}});
}

}  // namespace

void add_layout_ops(OpTable& table) {
  table["DepthToSpace"] = {import_depth_to_space, 1};
  table["SpaceToDepth"] = {import_space_to_depth, 1};
  table["EyeLike"] = {import_eye_like, 9};
}

}  // namespace kiln::onnx
