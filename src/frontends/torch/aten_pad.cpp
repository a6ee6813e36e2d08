// ATen padding (constant_pad_nd, pad, reflection_pad1d/2d/3d, replication_pad1d/2d/3d) as the
// core Pad op.
#include "frontends/torch/aten_helpers.h"
#include "frontends/torch/aten_ops.h"

namespace kiln::torch {
namespace {

// PyTorch's pad lists run from the last dim backwards ([left, right, top, bottom, ...]) and
// may cover only the last dims; Kiln's Pad takes every axis's begin, then every end.
std::vector<int64_t> kiln_pads(AtenNode& node, const std::vector<int64_t>& torch_pads,
                               int64_t rank) {
  const auto pairs = static_cast<int64_t>(torch_pads.size() / 2);
  if (torch_pads.size() % 2 != 0) {
    node.invalid("pad ", dims_to_string(torch_pads), " must hold a begin and an end per dim");
  }
  if (pairs > rank) {
    node.invalid("pad ", dims_to_string(torch_pads), " covers ", pairs,
                 " dims, but the input has rank ", rank);
  }
  std::vector<int64_t> pads(static_cast<size_t>(2 * rank), 0);
  for (int64_t i = 0; i < pairs; ++i) {
    const auto axis = static_cast<size_t>(rank - 1 - i);
    pads[axis] = torch_pads[static_cast<size_t>(2 * i)];
    pads[axis + static_cast<size_t>(rank)] = torch_pads[static_cast<size_t>(2 * i + 1)];
  }
  return pads;
}

void add_pad(AtenNode& node, const std::string& mode, const std::vector<int64_t>& torch_pads,
             double value) {
  ir::Value* x = node.tensor("self");
  std::vector<int64_t> pads = kiln_pads(node, torch_pads, rank_of(node, x));
  node.set_output(0, node.add("Pad", {x}, {{"mode", mode}, {"pads", pads}, {"value", value}}));
}

// constant_pad_nd(self, pad, value=0).
void convert_constant_pad_nd(AtenNode& node) {
  add_pad(node, "constant", node.ints("pad"), node.float_arg("value", 0.0));
}

// pad(self, pad, mode="constant", value=None): F.pad's modes under Kiln's names.
void convert_pad(AtenNode& node) {
  const std::string mode = node.string_arg("mode", "constant");
  const std::map<std::string, std::string> modes = {{"constant", "constant"},
                                                    {"reflect", "reflect"},
                                                    {"replicate", "edge"},
                                                    {"circular", "wrap"}};
  auto it = modes.find(mode);
  if (it == modes.end()) {
    node.unsupported("mode '", mode, "' (Kiln pads with constant, reflect, replicate, circular)");
  }
  if (mode != "constant" && node.has("value") && node.float_arg("value", 0.0) != 0.0) {
    node.invalid("a value of ", node.float_arg("value", 0.0), " applies only to mode 'constant'");
  }
  add_pad(node, it->second, node.ints("pad"), node.float_arg("value", 0.0));
}

// reflection_padNd / replication_padNd(self, padding): exactly N pairs, over the last N dims.
AtenConverter fixed_rank_pad(std::string mode, size_t dims) {
  return [mode, dims](AtenNode& node) {
    std::vector<int64_t> padding = node.ints("padding");
    if (padding.size() != 2 * dims) {
      node.invalid("padding ", dims_to_string(padding), " must hold ", 2 * dims, " values");
    }
    add_pad(node, mode, padding, 0.0);
  };
}

}  // namespace

void add_pad_ops(AtenTable& table) {
  table["aten.constant_pad_nd.default"] = convert_constant_pad_nd;
  table["aten.pad.default"] = convert_pad;
  for (size_t dims : {1, 2, 3}) {
    const std::string suffix = std::to_string(dims) + "d.default";
    table["aten.reflection_pad" + suffix] = fixed_rank_pad("reflect", dims);
    table["aten.replication_pad" + suffix] = fixed_rank_pad("edge", dims);
  }
}

}  // namespace kiln::torch
