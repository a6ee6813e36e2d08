// Moves 2-D convolutions and the layout-agnostic work around them (elementwise ops, pools,
// reductions that keep their rank, concats) to channels-last (NHWC):
// cuDNN's tensor-core convolutions want NHWC and pay internal transposes on NCHW tensors.
// Converted Conv/pool nodes get channels_last=1 (docs/core_ops.md); elementwise nodes between
// them simply compute on NHWC values. Transposes are inserted only where a region begins or
// ends, one per value crossing the border.
#include "backends/cpu/channels_last.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ir/op_schema.h"
#include "ir/verifier.h"
#include "passes/graph_rewrites.h"
#include "passes/passes.h"

namespace kiln::passes {
namespace {

const std::vector<int64_t> kToChannelsLast{0, 2, 3, 1};
const std::vector<int64_t> kToChannelsFirst{0, 3, 1, 2};

// Elementwise ops whose result does not depend on the layout when every input is either in
// the region's layout or broadcast from something layout-free.
const std::set<std::string> kElementwiseOps{
    "Relu", "Neg",        "Erf",       "Tanh", "Sigmoid",     "Exp",  "Log",
    "Sqrt", "Reciprocal", "HardSwish", "Gelu", "HardSigmoid", "Clip", "Cast",
    "Add",  "Sub",        "Mul",       "Div",  "Pow",         "Max",  "Min"};

bool has_rank(const ir::Value* value, int64_t rank) {
  return value != nullptr && value->shape.rank_known() && value->shape.rank() == rank;
}

bool is_scalar_like(const ir::Value& value) {
  return value.shape.rank_known() && value.shape.rank() <= 4 && value.shape.is_static() &&
         element_count(value.shape.static_dims()) == 1;
}

// How an input of an elementwise node can follow the region's layout: it is there already,
// it broadcasts the same either way (one element), it is a constant we can permute, or it is
// a 4-D value that a Transpose can bring in.
bool can_enter(const ir::Value* value, const std::set<const ir::Value*>& nhwc) {
  if (value == nullptr || nhwc.count(value) || is_scalar_like(*value)) return true;
  if (value->is_constant()) return value->constant->rank() <= 4;
  return has_rank(value, 4);
}

// A 2-D Conv with a constant weight; a residual Z (passes::fuse_conv_residual) must be 4-D
// like Y, whose layout it then follows.
bool convertible_conv(const ir::Node& node) {
  const ir::Value* weight = node.input(1);
  const ir::Value* residual = node.input(3);
  return node.op == "Conv" && node.outputs.size() == 1 && has_rank(node.input(0), 4) &&
         weight != nullptr && weight->is_constant() && weight->constant->rank() == 4 &&
         (residual == nullptr || has_rank(residual, 4));
}

// The inputs that hold NCHW data and so move to NHWC with the node: all of an elementwise
// node's; X of a pool; X and the residual Z of a Conv (its W is permuted apart, its bias and
// the pools' attributes need no change).
bool is_data_input(const ir::Node& node, size_t index) {
  if (node.op == "Conv") return index == 0 || index == 3;
  return index == 0 || node.op.find("Pool") == std::string::npos;
}

// Pools follow their input into the region; they never start one.
bool convertible_pool(const ir::Node& node, const std::set<const ir::Value*>& nhwc) {
  if (node.outputs.size() != 1 || !nhwc.count(node.input(0))) return false;
  if (node.op == "GlobalAveragePool") return true;
  return (node.op == "MaxPool" || node.op == "AveragePool") &&
         node.attr_ints("kernel_shape").size() == 2;
}

// A reduction keeping its 4-D rank works on NHWC data with its axes renamed.
bool convertible_reduction(const ir::Node& node, const std::set<const ir::Value*>& nhwc) {
  return (node.op == "ReduceMean" || node.op == "ReduceSum" || node.op == "ReduceMax" ||
          node.op == "ReduceMin") &&
         node.outputs.size() == 1 && node.inputs.size() == 1 && nhwc.count(node.input(0)) &&
         node.attr_int("keepdims", 1) != 0;
}

// NCHW axes → the same axes' positions in NHWC (C is last, H and W move up one).
std::vector<int64_t> channels_last_axes(std::vector<int64_t> axes) {
  constexpr int64_t kPosition[4] = {0, 3, 1, 2};
  for (int64_t& axis : axes) axis = kPosition[axis < 0 ? axis + 4 : axis];
  std::sort(axes.begin(), axes.end());
  return axes;
}

// Whether every input of `node` can follow it into the region (with `all_4d`, only as 4-D
// values) and one of them is there already: a region value, or the input of a to-NCHW
// Transpose (`sources`).
bool joins_region(const ir::Node& node, const std::set<const ir::Value*>& nhwc,
                  const std::map<ir::Value*, ir::Value*>& sources, bool all_4d) {
  bool reads_region = false;
  for (ir::Value* input : node.inputs) {
    if (!can_enter(input, nhwc) || (all_4d && !has_rank(input, 4))) return false;
    reads_region =
        reads_region || (input != nullptr && (nhwc.count(input) || sources.count(input)));
  }
  return reads_region;
}

// A Concat of 4-D values (DenseNet's and Inception's channel concats) joins like an
// elementwise node, its axis renamed.
bool convertible_concat(const ir::Node& node, const std::set<const ir::Value*>& nhwc,
                        const std::map<ir::Value*, ir::Value*>& sources) {
  return node.op == "Concat" && node.outputs.size() == 1 && has_rank(node.outputs[0], 4) &&
         node.has_attr("axis") && joins_region(node, nhwc, sources, /*all_4d=*/true);
}

// A Transpose from NHWC to NCHW (the model's own permute back, as ConvNeXt writes after its
// channels-last MLP): its input is the NHWC form of its output, free for the region to read.
bool to_channels_first(const ir::Node& node) {
  return node.op == "Transpose" && node.outputs.size() == 1 && has_rank(node.outputs[0], 4) &&
         node.input(0) != nullptr && node.attr_ints("perm") == kToChannelsFirst;
}

// An elementwise node joins the region when it reads a region value or the input of such a
// Transpose, and its other inputs can follow (scalars and constants included).
bool convertible_elementwise(const ir::Node& node, const std::set<const ir::Value*>& nhwc,
                             const std::map<ir::Value*, ir::Value*>& sources) {
  return kElementwiseOps.count(node.op) && node.outputs.size() == 1 &&
         has_rank(node.outputs[0], 4) && joins_region(node, nhwc, sources, /*all_4d=*/false);
}

// A constant operand of a converted elementwise node, permuted as its NCHW broadcast would
// be: padded to 4-D, transposed, then leading ones dropped down to its old rank again
// ([1, C, 1, 1] → [1, 1, 1, C]; [C, 1, 1] → [1, 1, C]).
Tensor permuted_constant(const Tensor& tensor) {
  Dims padded = tensor.dims();
  while (padded.size() < 4) padded.insert(padded.begin(), 1);
  Tensor result = cpu::to_channels_last(tensor.reshaped(padded));
  Dims dims = result.dims();
  while (int64_t(dims.size()) > tensor.rank() && dims.front() == 1) dims.erase(dims.begin());
  return result.reshaped(dims);
}

// An inference BatchNormalization that fold_batch_norm left (DenseNet's pre-activation BN after
// a Concat, a BN after a pool) becomes Mul and Add by per-channel [C, 1, 1] constants,
// s = scale / sqrt(var + epsilon) (passes::batch_norm_affine) and t = B − mean·s, computed in
// float64 and stored in X's dtype: elementwise ops the region then takes in, where
// BatchNormalization would leave it.
int lower_batch_norms(ir::Graph& graph) {
  int lowered = 0;
  for (ir::Node* node : graph.nodes()) {
    if (node->op != "BatchNormalization" || node->outputs.size() != 1) continue;
    ir::Value* x = node->input(0);
    ir::Value* y = node->outputs[0];
    if (!has_rank(x, 4) || !is_float_storage(x->dtype) || graph.is_graph_output(y)) continue;
    const int64_t channels = x->shape[1].is_static() ? x->shape[1].value : -1;
    std::optional<BatchNormAffine> affine =
        channels < 1 ? std::nullopt : batch_norm_affine(*node, channels);
    if (!affine) continue;
    const std::vector<double>& scale = affine->s;
    std::vector<double> shift(static_cast<size_t>(channels));
    for (size_t c = 0; c < size_t(channels); ++c) {
      shift[c] = affine->bias[c] - affine->mean[c] * scale[c];
    }
    auto constant = [&](const char* suffix, const std::vector<double>& data) {
      return graph.add_constant(graph.unique_name(node->name + suffix),
                                Tensor::from_vector<double>({channels, 1, 1}, data).to(x->dtype));
    };
    std::string mul_name = graph.unique_name(node->name + ".scale");
    ir::Node* mul =
        graph.insert_node_before(node, "Mul", mul_name, {x, constant(".scale", scale)}, {mul_name});
    std::string add_name = graph.unique_name(node->name + ".shift");
    ir::Node* add = graph.insert_node_before(
        node, "Add", add_name, {mul->outputs[0], constant(".shift", shift)}, {add_name});
    mul->source = add->source = node->source;
    graph.replace_all_uses(y, add->outputs[0]);
    graph.remove_node(node);
    ++lowered;
  }
  return lowered;
}

class Converter {
 public:
  explicit Converter(ir::Graph& graph) : graph_(graph) {}

  int run() {
    for (ir::Node* node : graph_.nodes()) {
      if (to_channels_first(*node)) sources_[node->outputs[0]] = node->inputs[0];
      if (convertible_conv(*node) || convertible_pool(*node, nhwc_) ||
          convertible_reduction(*node, nhwc_) || convertible_elementwise(*node, nhwc_, sources_) ||
          convertible_concat(*node, nhwc_, sources_)) {
        converted_.push_back(node);
        in_region_.insert(node);
        nhwc_.insert(node->outputs[0]);
      }
    }
    for (ir::Node* node : converted_) convert(*node);
    for (ir::Node* node : converted_) leave_region(node->outputs[0]);
    graph_.remove_unused_values();
    return static_cast<int>(converted_.size());
  }

 private:
  void convert(ir::Node& node) {
    bool windowed = node.op == "Conv" || node.op.find("Pool") != std::string::npos;
    if (windowed) node.attrs["channels_last"] = int64_t{1};
    if (node.op == "Conv") node.inputs[1] = permuted(node.inputs[1], cpu::to_channels_last);
    if (node.op.starts_with("Reduce") && node.has_attr("axes")) {
      node.attrs["axes"] = channels_last_axes(node.attr_ints("axes"));
    }
    if (node.op == "Concat") node.attrs["axis"] = channels_last_axes({node.attr_int("axis", 1)})[0];
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      ir::Value* input = node.inputs[i];
      if (input == nullptr || !is_data_input(node, i) || nhwc_.count(input) ||
          is_scalar_like(*input)) {
        continue;
      }
      if (auto source = sources_.find(input); source != sources_.end()) {
        node.inputs[i] = source->second;  // the model's NHWC value itself: no Transpose
        continue;
      }
      node.inputs[i] =
          input->is_constant() ? permuted(input, permuted_constant) : entry(input, node);
    }
  }

  // A constant replaced by its permuted copy, made once per constant (a 4-D constant permutes
  // the same way as a Conv weight and as an elementwise operand).
  ir::Value* permuted(ir::Value* constant, Tensor (*permute)(const Tensor&)) {
    auto [it, fresh] = permuted_.try_emplace(constant, nullptr);
    if (fresh) {
      it->second = graph_.add_constant(graph_.unique_name(constant->name + ".nhwc"),
                                       permute(*constant->constant));
    }
    return it->second;
  }

  // The NHWC copy of an NCHW value entering the region, made once, before its first reader.
  ir::Value* entry(ir::Value* value, const ir::Node& reader) {
    auto [it, fresh] = entries_.try_emplace(value, nullptr);
    if (fresh) it->second = transpose(value, kToChannelsLast, ".to_nhwc", &reader);
    return it->second;
  }

  // Readers outside the region, and graph outputs, get `value` back in NCHW. A graph output
  // keeps its name: the converted producer then writes a new NHWC value, and the Transpose
  // writes the original one.
  void leave_region(ir::Value* value) {
    std::vector<ir::Node*> outside;
    for (ir::Node* user : graph_.users(value)) {
      if (!in_region_.count(user)) outside.push_back(user);
    }
    const ir::Node* before = outside.empty() ? nullptr : outside.front();
    if (graph_.is_graph_output(value)) {
      ir::Node* producer = value->producer;
      ir::Value* inner = transpose(value, kToChannelsFirst, ".nhwc", before);
      ir::Node* back = inner->producer;
      // Swap the two values' places: producer → inner (NHWC) → back → value (NCHW).
      producer->outputs[0] = inner;
      inner->producer = producer;
      back->outputs[0] = value;
      value->producer = back;
      back->inputs[0] = inner;
      for (ir::Node* user : graph_.users(value)) {
        if (user == back || std::find(outside.begin(), outside.end(), user) != outside.end()) {
          continue;
        }
        for (ir::Value*& input : user->inputs) {
          if (input == value) input = inner;
        }
      }
      return;
    }
    if (outside.empty()) return;
    ir::Value* restored = transpose(value, kToChannelsFirst, ".to_nchw", before);
    for (ir::Node* user : outside) {
      for (ir::Value*& input : user->inputs) {
        if (input == value) input = restored;
      }
    }
  }

  ir::Value* transpose(ir::Value* value, const std::vector<int64_t>& perm, const char* suffix,
                       const ir::Node* before) {
    std::string name = graph_.unique_name(value->name + suffix);
    ir::Node* node = graph_.insert_node_before(before, "Transpose", name, {value}, {name});
    node->attrs["perm"] = perm;
    node->source = "convert_to_channels_last";
    return node->outputs[0];
  }

  ir::Graph& graph_;
  std::vector<ir::Node*> converted_;  // in node order
  std::set<const ir::Node*> in_region_;
  std::set<const ir::Value*> nhwc_;
  std::map<ir::Value*, ir::Value*> permuted_, entries_;
  std::map<ir::Value*, ir::Value*> sources_;  // NCHW output of a to-NCHW Transpose → its input
};

}  // namespace

int convert_to_channels_last(ir::Graph& graph) {
  ir::infer_graph(graph);
  if (lower_batch_norms(graph) > 0) ir::infer_graph(graph);
  int converted = Converter(graph).run();
  if (converted > 0) {
    ir::infer_graph(graph);
    ir::verify(graph);
  }
  return converted;
}

}  // namespace kiln::passes
