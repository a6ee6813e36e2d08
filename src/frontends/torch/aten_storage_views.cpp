// aten.as_strided: a view that addresses its input's storage directly (sizes, strides and an
// offset into the storage), as core-ATen graphs (run_decompositions) spell some views: ConvNeXt's
// and Swin's pooled [N, C, 1, 1] maps, unfold-like windows. Kiln's values have no storage, so the
// converter rebuilds it from the input's declared layout (the .pt2's tensor metadata; row-major
// from offset 0 where the file has none): the input's elements in storage order, flattened.
// The view is then a Slice and Reshape (a dense layout, in any order of its dims, through a
// Transpose), an Expand for stride-0 dims, or, for windows that overlap or skip elements, a
// Gather of constant indices.
#include <algorithm>
#include <numeric>
#include <vector>

#include "frontends/torch/aten_helpers.h"
#include "frontends/torch/aten_ops.h"

namespace kiln::torch {
namespace {

// The largest view a Gather of constant indices may spell (its index tensor: 8 bytes each).
constexpr int64_t kMaxGatheredElements = int64_t(1) << 22;

// Row-major strides with empty dims counted as 1 (unlike core's row_major_strides), so that an
// empty input still reads as dense storage.
std::vector<int64_t> row_major(const std::vector<int64_t>& sizes) {
  std::vector<int64_t> strides(sizes.size(), 1);
  for (size_t i = sizes.size(); i-- > 1;)
    strides[i - 1] = strides[i] * std::max<int64_t>(sizes[i], 1);
  return strides;
}

// The dims of `sizes` longer than 1, ordered by decreasing stride, if they tile a contiguous
// range of storage (each stride the product of the sizes after it, the last 1); else empty
// with `dense` false.
std::vector<int64_t> dense_order(const std::vector<int64_t>& sizes,
                                 const std::vector<int64_t>& strides, bool& dense) {
  std::vector<int64_t> order;
  for (size_t i = 0; i < sizes.size(); ++i)
    if (sizes[i] > 1) order.push_back(static_cast<int64_t>(i));
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return strides[a] > strides[b]; });
  int64_t expected = 1;
  dense = true;
  for (size_t k = order.size(); k-- > 0;) {
    dense = dense && strides[order[k]] == expected;
    expected *= sizes[order[k]];
  }
  return order;
}

// The input's elements in storage order, as a 1-D tensor.
ir::Value* storage_of(AtenNode& node, ir::Value* x, const std::vector<int64_t>& sizes,
                      const std::vector<int64_t>& strides) {
  bool dense = false;
  std::vector<int64_t> order = dense_order(sizes, strides, dense);
  if (!dense) {
    node.unsupported("as_strided of a tensor whose storage has gaps or overlaps (sizes ",
                     dims_to_string(sizes), ", strides ", dims_to_string(strides), ")");
  }
  std::vector<int64_t> perm;  // dims of size 0 or 1 first: where they go moves no element
  for (size_t i = 0; i < sizes.size(); ++i)
    if (sizes[i] <= 1) perm.push_back(static_cast<int64_t>(i));
  perm.insert(perm.end(), order.begin(), order.end());
  std::vector<int64_t> identity(perm.size());
  std::iota(identity.begin(), identity.end(), 0);
  if (perm != identity) x = node.add("Transpose", {x}, {{"perm", perm}});
  return node.add("Reshape", {x, int64_constant(node, {element_count(sizes)})});
}

// The view of `storage` (1-D) at `offset` with `sizes` and `strides`, none of them 0.
ir::Value* dense_view(AtenNode& node, ir::Value* storage, int64_t storage_size, int64_t offset,
                      const std::vector<int64_t>& sizes, const std::vector<int64_t>& strides) {
  bool dense = false;
  std::vector<int64_t> order = dense_order(sizes, strides, dense);
  const int64_t count = element_count(sizes);
  if (dense) {
    ir::Value* piece = offset == 0 && count == storage_size
                           ? storage
                           : slice_axis(node, storage, 0, offset, offset + count);
    std::vector<int64_t> ordered;
    for (int64_t axis : order) ordered.push_back(sizes[axis]);
    piece = node.add("Reshape", {piece, int64_constant(node, ordered)});
    std::vector<int64_t> back(order.size());  // ordered dims → their places in `sizes`
    std::iota(back.begin(), back.end(), 0);
    std::stable_sort(back.begin(), back.end(),
                     [&](int64_t a, int64_t b) { return order[a] < order[b]; });
    if (!std::is_sorted(order.begin(), order.end()))
      piece = node.add("Transpose", {piece}, {{"perm", back}});
    return node.add("Reshape", {piece, int64_constant(node, sizes)});
  }
  if (count > kMaxGatheredElements) {
    node.unsupported("as_strided with overlapping or gapped strides ", dims_to_string(strides),
                     " over ", count, " elements (at most ", kMaxGatheredElements,
                     " are gathered by constant indices)");
  }
  std::vector<int64_t> indices(static_cast<size_t>(count));
  std::vector<int64_t> index(sizes.size(), 0);
  for (int64_t flat = 0; flat < count; ++flat) {
    int64_t address = offset;
    for (size_t d = 0; d < sizes.size(); ++d) address += index[d] * strides[d];
    indices[flat] = address;
    for (size_t d = sizes.size(); d-- > 0;) {
      if (++index[d] < sizes[d]) break;
      index[d] = 0;
    }
  }
  ir::Value* positions = node.constant(Tensor::from_vector<int64_t>(Dims(sizes), indices));
  return node.add("Gather", {storage, positions}, {{"axis", int64_t{0}}});
}

void convert_as_strided(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  std::vector<int64_t> in_sizes;
  for (const SymInt& size : sizes_of(node, x)) {
    if (!size.is_static()) node.unsupported("as_strided of a tensor with a dynamic size");
    in_sizes.push_back(size.value);
  }
  std::vector<int64_t> sizes = node.ints("size"), strides = node.ints("stride");
  if (sizes.size() != strides.size())
    node.invalid("size ", dims_to_string(sizes), " and stride ", dims_to_string(strides),
                 " differ in length");
  StorageLayout layout = node.context()
                             .layout_of(node.tensor_name("self"))
                             .value_or(StorageLayout{row_major(in_sizes), 0});
  if (layout.strides.size() != in_sizes.size()) layout = {row_major(in_sizes), 0};
  const int64_t offset =
      node.int_arg("storage_offset", layout.offset) - layout.offset;  // from self's first element
  const int64_t storage_size = element_count(in_sizes);
  int64_t low = offset, high = offset;
  for (size_t d = 0; d < sizes.size(); ++d) {
    if (sizes[d] < 0 || strides[d] < 0)
      node.invalid("negative size or stride in ", dims_to_string(sizes), " / ",
                   dims_to_string(strides));
    if (sizes[d] > 0) high += (sizes[d] - 1) * strides[d];
  }
  if (element_count(sizes) > 0 && (low < 0 || high >= storage_size)) {
    node.unsupported("as_strided reads storage outside its input (elements ", low, " to ", high,
                     " of ", storage_size, "): a view into a larger base tensor");
  }
  ir::Value* storage = storage_of(node, x, in_sizes, layout.strides);
  std::vector<int64_t> core = sizes, core_strides = strides;  // stride-0 dims become size 1
  bool broadcast = false;
  for (size_t d = 0; d < sizes.size(); ++d) {
    if (strides[d] == 0 && sizes[d] > 1) {
      core[d] = 1;
      broadcast = true;
    }
    if (core[d] <= 1) core_strides[d] = 1;  // unused, and must not break density
  }
  ir::Value* view = dense_view(node, storage, storage_size, offset, core, core_strides);
  if (broadcast) view = node.add("Expand", {view, int64_constant(node, sizes)});
  node.set_output(0, view);
}

}  // namespace

void add_storage_view_ops(AtenTable& table) {
  table["aten.as_strided.default"] = convert_as_strided;
  table["aten.as_strided_copy.default"] = convert_as_strided;
}

}  // namespace kiln::torch
