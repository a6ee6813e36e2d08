// The storage plan: walks the nodes in order, giving each value the buffer and dtype it is
// produced in, adding a cast step wherever a reader wants another dtype, turning views into
// aliases, folds a cast into the copy or the product before it and a crop into the padded
// product before it (fold_into_producers), then lays the arena out by the steps that write
// and read each tensor.
#include "backends/cuda/runtime/plan/storage_plan.h"

#include <algorithm>
#include <optional>

#include "backends/cuda/runtime/plan/arena_plan.h"
#include "core/error.h"
#include "core/precision.h"
#include "ir/op_schema.h"
#include "passes/fusion_groups.h"
#include "passes/storage_dtype.h"

namespace kiln::cuda {
namespace {

// Ops whose output is their input's bytes under other dims.
bool is_view_op(const std::string& op) {
  return op == "Reshape" || op == "Flatten" || op == "Squeeze" || op == "Unsqueeze" ||
         op == "Identity";
}

// Where `node`'s output (`view`) lies in the bytes of its first input (`source`), if it is a
// view of them: a reshape at 0; a Gather of one constant index along axis 0 (torchvision's
// attention takes q, k, v as qkv[0], qkv[1], qkv[2]) at that index's block, when the block
// is aligned.
std::optional<size_t> view_offset(const ir::Node& node, const PlannedTensor& source,
                                  const PlannedTensor& view) {
  if (is_view_op(node.op)) {
    if (view.nbytes() != source.nbytes()) return std::nullopt;
    return 0;
  }
  if (node.op != "Gather" || node.attr_int("axis", 0) != 0 || source.dims.empty() ||
      source.dims[0] <= 0 || node.inputs.size() != 2 || node.inputs[1] == nullptr ||
      !node.inputs[1]->is_constant() || node.inputs[1]->constant->rank() != 0) {
    return std::nullopt;
  }
  int64_t index = node.inputs[1]->constant->to(DType::Int64).data<int64_t>()[0];
  if (index < 0) index += source.dims[0];
  size_t block = source.nbytes() / size_t(source.dims[0]);
  if (index < 0 || index >= source.dims[0] || view.nbytes() != block ||
      block % kTensorAlignment != 0) {
    return std::nullopt;
  }
  return size_t(index) * block;
}

// Where a Slice (constant starts, ends, axes and steps) of a `from` tensor to `to` begins on
// the last axis, if it cuts that axis alone, with step 1, every other axis whole.
std::optional<int64_t> last_axis_block(const ir::Node& slice, const Dims& from, const Dims& to) {
  if (slice.op != "Slice" || from.size() != to.size() || from.empty() ||
      !std::equal(from.begin(), from.end() - 1, to.begin()) || slice.inputs.size() < 2 ||
      slice.inputs[1] == nullptr || !slice.inputs[1]->is_constant()) {
    return std::nullopt;
  }
  for (size_t i = 2; i < slice.inputs.size(); ++i) {
    if (slice.inputs[i] != nullptr && !slice.inputs[i]->is_constant()) return std::nullopt;
  }
  auto values = [&](size_t input) {
    return slice.input(input) != nullptr ? slice.inputs[input]->constant->to_int64_vector()
                                         : std::vector<int64_t>{};
  };
  std::vector<int64_t> starts = values(1), axes = values(3), steps = values(4);
  if (axes.empty()) {
    for (size_t axis = 0; axis < starts.size(); ++axis) axes.push_back(int64_t(axis));
  }
  if (starts.size() != axes.size()) return std::nullopt;
  const auto rank = int64_t(from.size());
  std::optional<int64_t> begin;
  for (size_t i = 0; i < axes.size(); ++i) {
    int64_t axis = axes[i] < 0 ? axes[i] + rank : axes[i];
    if (!steps.empty() && steps[i] != 1) return std::nullopt;
    if (axis == rank - 1) {
      int64_t first = starts[i] < 0 ? starts[i] + from.back() : starts[i];
      begin = std::clamp<int64_t>(first, 0, from.back());
    } else if (from[size_t(axis)] != to[size_t(axis)]) {
      return std::nullopt;
    }
  }
  return begin.value_or(0);
}

// Whether `crop` (a Slice) keeps the first columns of a `from` tensor as `to`: the last axis
// from 0, step 1, every other axis whole.
bool keeps_first_columns(const ir::Node& crop, const Dims& from, const Dims& to) {
  std::optional<int64_t> begin = last_axis_block(crop, from, to);
  return begin == 0 && to.back() < from.back();
}

// Whether a product's activation is all done by cuBLASLt's epilogue, in `dtype`: an exact
// GELU outside bfloat16 takes a pass over the whole product after it (matmul_cublaslt.cpp).
bool crop_finishes_activation(const ir::Node& product, DType dtype) {
  return product.attr_string("fused_activation", "") != "Gelu" || dtype == DType::BFloat16;
}

class Planner {
 public:
  Planner(const ir::Graph& graph, const PlanOptions& options) : graph_(graph) {
    if (!options.fuse_groups) return;
    for (passes::FusionGroup& group : passes::find_fusion_groups(graph, options.without_kernel)) {
      for (const ir::Node* node : group.nodes) group_of_[node] = fusion_groups_.size();
      fusion_groups_.push_back(std::move(group));
    }
  }

  StoragePlan run() {
    for (const ir::Value* input : graph_.inputs()) {
      if (input->is_constant()) continue;  // a default: uploaded like a weight
      int tensor = add(input, input->dtype, Placement::Own);
      slot_of_[{input, input->dtype}] = tensor;
      primary_[input] = tensor;
      plan_.inputs[input->name] = tensor;
    }
    for (const ir::Node* node : graph_.nodes()) plan_node(*node);
    plan_outputs();
    fold_casts_into_copies();
    fold_crops_into_products();
    fold_widening_casts_into_products();
    place_in_arena();
    return std::move(plan_);
  }

 private:
  int add(const ir::Value* value, DType dtype, Placement placement) {
    PlannedTensor tensor;
    tensor.value = value;
    tensor.dtype = dtype;
    tensor.dims = value->shape.static_dims();
    tensor.placement = placement;
    plan_.tensors.push_back(std::move(tensor));
    return int(plan_.tensors.size()) - 1;
  }

  // The tensor holding `value` in `dtype`: constants in any dtype the engine provides;
  // computed values get a cast step from where they were produced.
  int tensor_for(const ir::Value* value, DType dtype, Placement placement = Placement::Arena) {
    auto found = slot_of_.find({value, dtype});
    if (found != slot_of_.end()) return found->second;
    auto produced = primary_.find(value);
    if (produced == primary_.end()) {
      check(value->is_constant(), ErrorKind::Runtime, "value '", value->name, "' has no producer");
      int tensor = add(value, dtype, Placement::Constant);
      slot_of_[{value, dtype}] = tensor;
      return tensor;
    }
    int tensor = add(value, dtype, placement);
    slot_of_[{value, dtype}] = tensor;
    PlannedStep cast;
    cast.kind = PlannedStep::Kind::Cast;
    cast.label = "cast " + value->name + " to " + std::string(dtype_name(dtype));
    cast.inputs = {produced->second};
    cast.outputs = {tensor};
    plan_.steps.push_back(std::move(cast));
    plan_.computed.push_back(tensor);
    return tensor;
  }

  // The dtype `value` is held in where it was produced (a constant: its own).
  DType stored_dtype(const ir::Value* value) const {
    auto produced = primary_.find(value);
    return produced == primary_.end() ? value->dtype
                                      : plan_.tensors[size_t(produced->second)].dtype;
  }

  int stored_tensor(const ir::Value* value) {
    auto produced = primary_.find(value);
    if (produced != primary_.end()) return produced->second;
    return tensor_for(value, value->dtype);  // a constant in its own dtype
  }

  // Float inputs of a precision-carrying node are read in that precision's storage type;
  // data movement reads every float input in the storage of its data input
  // (passes::data_input: constants follow the computed values).
  DType wanted_dtype(const ir::Node& node, const ir::Value* input, DType data_storage) const {
    if (!is_float_storage(input->dtype)) return input->dtype;
    if (ir::is_float_compute(node.op) && node.precision)
      return precision_storage_dtype(*node.precision);
    if (data_storage != DType::Undefined) return data_storage;
    return stored_dtype(input);
  }

  // `view` (an alias of an earlier tensor) becomes where its value is held.
  void add_alias(PlannedTensor view) {
    const ir::Value* value = view.value;
    const DType dtype = view.dtype;
    plan_.tensors.push_back(std::move(view));
    const int tensor = int(plan_.tensors.size()) - 1;
    slot_of_[{value, dtype}] = tensor;
    primary_[value] = tensor;
    plan_.aliases.push_back(tensor);
  }

  // A Slice of the last axis read only as the query, key or value of 3-D attentions, in the
  // dtype its source is stored in, becomes an alias at its first column with the source's row
  // pitch: Q, K and V of one packed projection (passes::pack_projections), read in place.
  bool plan_column_block(const ir::Node& node) {
    if (node.op != "Slice" || node.outputs.size() != 1 || node.inputs.empty() ||
        node.inputs[0] == nullptr) {
      return false;
    }
    const ir::Value* output = node.outputs[0];
    if (graph_.is_graph_output(output) || !output->shape.rank_known() ||
        output->shape.rank() != 3 || !output->shape.is_static()) {
      return false;
    }
    const int source = stored_tensor(node.inputs[0]);
    const PlannedTensor& from = plan_.tensors[size_t(source)];
    const Dims to = output->shape.static_dims();
    std::optional<int64_t> begin = last_axis_block(node, from.dims, to);
    const size_t element = dtype_size(from.dtype);
    if (from.row_pitch != 0 || !is_float_storage(from.dtype) || !begin ||
        size_t(*begin) * element % kColumnBlockAlignment != 0 ||
        size_t(from.dims.back()) * element % kColumnBlockAlignment != 0) {
      return false;
    }
    std::vector<ir::Node*> readers = graph_.users(output);
    if (readers.empty()) return false;
    for (const ir::Node* reader : readers) {
      if (reader->op != "Attention" || group_of_.count(reader) > 0) return false;
      for (size_t i = 0; i < reader->inputs.size(); ++i) {
        if (reader->inputs[i] == output &&
            (i > 2 || wanted_dtype(*reader, output, from.dtype) != from.dtype)) {
          return false;
        }
      }
    }
    PlannedTensor block;
    block.value = output;
    block.dtype = from.dtype;
    block.dims = to;
    block.placement = Placement::Alias;
    block.alias_of = source;
    block.alias_offset = size_t(*begin) * element;
    block.row_pitch = from.dims.back();
    add_alias(std::move(block));
    return true;
  }

  // A node whose output is a view of its input's bytes (view_offset) and not delivered as a
  // graph output becomes an alias in the storage dtype the input already has: no step.
  bool plan_view(const ir::Node& node) {
    if (plan_column_block(node)) return true;
    if (node.outputs.size() != 1 || node.inputs.empty() || node.inputs[0] == nullptr) return false;
    const ir::Value* output = node.outputs[0];
    if (graph_.is_graph_output(output)) return false;
    int source = stored_tensor(node.inputs[0]);
    PlannedTensor view;
    view.value = output;
    view.dtype = plan_.tensors[size_t(source)].dtype;
    view.dims = output->shape.static_dims();
    view.placement = Placement::Alias;
    view.alias_of = source;
    std::optional<size_t> offset = view_offset(node, plan_.tensors[size_t(source)], view);
    if (!offset) return false;
    view.alias_offset = *offset;
    add_alias(std::move(view));
    return true;
  }

  static const ir::Node& first_reader(const passes::FusionGroup& group, const ir::Value* value) {
    for (const ir::Node* node : group.nodes) {
      if (std::find(node->inputs.begin(), node->inputs.end(), value) != node->inputs.end())
        return *node;
    }
    fail(ErrorKind::Runtime, "fusion group input '", value->name, "' has no reader in the group");
  }

  // A group is planned at its last node; its other nodes have no step of their own.
  void plan_group(size_t index) {
    const passes::FusionGroup& group = fusion_groups_[index];
    PlannedGroup planned{group.nodes, group.domain, group.inputs, group.outputs, group.reduction};
    PlannedStep step;
    step.kind = PlannedStep::Kind::Fused;
    step.node = group.nodes.back();
    step.group = int(plan_.groups.size());
    for (const ir::Node* node : group.nodes)
      step.label += (step.label.empty() ? "" : "+") + node->op;
    for (const ir::Value* input : group.inputs) {
      // A weight in the dtype its first reader's precision stores (the engine's converted
      // copy); a computed value as it is stored: the kernel converts in registers.
      step.inputs.push_back(
          input->is_constant()
              ? tensor_for(input, wanted_dtype(first_reader(group, input), input, DType::Undefined))
              : stored_tensor(input));
    }
    for (const ir::Value* output : group.outputs) step.outputs.push_back(add_computed(output));
    plan_.groups.push_back(std::move(planned));
    plan_.steps.push_back(std::move(step));
  }

  // The tensor `output` is produced into, in its storage dtype.
  int add_computed(const ir::Value* output) {
    DType dtype = passes::storage_dtype(*output);  // the rule the builder costs casts by
    // A graph output stays outside the arena only where it is delivered in this dtype.
    bool delivered = graph_.is_graph_output(output) && dtype == output->dtype;
    int tensor = add(output, dtype, delivered ? Placement::Own : Placement::Arena);
    slot_of_[{output, dtype}] = tensor;
    primary_[output] = tensor;
    plan_.computed.push_back(tensor);
    return tensor;
  }

  void plan_node(const ir::Node& node) {
    if (auto grouped = group_of_.find(&node); grouped != group_of_.end()) {
      if (fusion_groups_[grouped->second].nodes.back() == &node) plan_group(grouped->second);
      return;
    }
    if (plan_view(node)) return;
    const ir::Value* data = passes::data_input(node);
    DType data_storage = data != nullptr ? stored_dtype(data) : DType::Undefined;
    PlannedStep step;
    step.node = &node;
    for (const ir::Value* input : node.inputs) {
      step.inputs.push_back(
          input == nullptr ? -1 : tensor_for(input, wanted_dtype(node, input, data_storage)));
    }
    for (size_t i = 0; i < node.outputs.size(); ++i) {
      const ir::Value* output = node.outputs[i];
      if (i > 0 && graph_.users(output).empty() && !graph_.is_graph_output(output)) {
        step.outputs.push_back(-1);  // an optional output nobody reads (LayerNorm's Mean)
        continue;
      }
      step.outputs.push_back(add_computed(output));
    }
    plan_.steps.push_back(std::move(step));
  }

  // Graph outputs are delivered in their declared dtypes, in buffers of their own.
  void plan_outputs() {
    for (const ir::Value* output : graph_.outputs()) {
      int tensor = stored_tensor(output);
      DType declared = output->dtype;
      if (plan_.tensors[size_t(tensor)].dtype != declared && is_float_storage(declared)) {
        tensor = tensor_for(output, declared, Placement::Own);
      }
      plan_.outputs.emplace_back(output->name, tensor);
    }
  }

  // A copy (Transpose, Slice, Expand: one strided copy on the GPU) whose output only a cast
  // reads writes the cast's dtype itself: GPT-2's cropped logits, stored bf16 and delivered
  // float32, take one pass over memory instead of two.
  void fold_casts_into_copies() {
    fold_into_producers([](const PlannedStep& copy, const PlannedStep& cast) {
      return cast.kind == PlannedStep::Kind::Cast &&
             (copy.node->op == "Transpose" || copy.node->op == "Slice" ||
              copy.node->op == "Expand");
    });
  }

  // A MatMul whose padded output only a crop of its first columns reads (pad_matmul_columns:
  // GPT-2's LM head, 50264 columns kept to 50257) writes the crop's tensor itself, in the
  // crop's dtype: its kernel computes the product block by block into the workspace and copies
  // each block's kept columns into place (ops/cropped_product.h), so the padded product never
  // reaches memory.
  void fold_crops_into_products() {
    fold_into_producers([&](const PlannedStep& product, const PlannedStep& crop) {
      if (crop.kind != PlannedStep::Kind::Launch || crop.node->op != "Slice" ||
          product.node->op != "MatMul" || product.inputs.size() < 2 || product.inputs[1] < 0 ||
          plan_.tensors[size_t(product.inputs[1])].dims.size() != 2 ||
          (product.inputs.size() > 3 && product.inputs[3] >= 0)) {
        return false;
      }
      const PlannedTensor& from = plan_.tensors[size_t(crop.inputs[0])];
      const PlannedTensor& to = plan_.tensors[size_t(crop.outputs[0])];
      return keeps_first_columns(*crop.node, from.dims, to.dims) &&
             crop_finishes_activation(*product.node, from.dtype);
    });
  }

  // A product without bias or activation whose 16-bit output only a cast to float32 reads (a
  // bf16 LM head delivering float32 logits) writes float32 itself: cuBLASLt converts its
  // float32 accumulators on the way out, where the cast read 2 and wrote 4 more bytes per
  // element (1.4 ms for Llama's [8, 2048, 32000] logits on an H100).
  void fold_widening_casts_into_products() {
    fold_into_producers([&](const PlannedStep& product, const PlannedStep& cast) {
      if (cast.kind != PlannedStep::Kind::Cast || product.node->op != "MatMul" ||
          (product.inputs.size() > 2 && product.inputs[2] >= 0) ||
          (product.inputs.size() > 3 && product.inputs[3] >= 0) ||  // C is D's dtype
          !product.node->attr_string("fused_activation", "").empty())
        return false;
      DType from = plan_.tensors[size_t(cast.inputs[0])].dtype;
      DType to = plan_.tensors[size_t(cast.outputs[0])].dtype;
      return (from == DType::BFloat16 || from == DType::Float16) && to == DType::Float32;
    });
  }

  // Folds each step into the launch that makes its first input, where nothing else reads that
  // float arena tensor and `absorbs(maker, step)`: the maker then writes the step's output.
  template <typename Absorbs>
  void fold_into_producers(Absorbs&& absorbs) {
    std::map<int, int> readers = reader_counts();
    std::map<int, size_t> producer;
    for (size_t index = 0; index < plan_.steps.size(); ++index) {
      for (int tensor : plan_.steps[index].outputs) producer[tensor] = index;
    }
    std::vector<bool> folded(plan_.steps.size(), false);
    for (size_t index = 0; index < plan_.steps.size(); ++index) {
      PlannedStep& step = plan_.steps[index];
      if (step.kind == PlannedStep::Kind::Fused || step.inputs.empty() || step.inputs[0] < 0 ||
          step.outputs.size() != 1) {
        continue;
      }
      int input = step.inputs[0];
      auto made = producer.find(input);
      if (made == producer.end() || readers[input] != 1) continue;
      PlannedStep& maker = plan_.steps[made->second];
      const PlannedTensor& from = plan_.tensors[size_t(input)];
      const PlannedTensor& to = plan_.tensors[size_t(step.outputs[0])];
      if (maker.kind != PlannedStep::Kind::Launch || maker.outputs.size() != 1 ||
          from.placement != Placement::Arena || !is_float_storage(from.dtype) ||
          !is_float_storage(to.dtype) || !absorbs(maker, step)) {
        continue;
      }
      maker.outputs[0] = step.outputs[0];
      folded[index] = true;
      std::erase(plan_.computed, input);
    }
    std::vector<PlannedStep> kept;
    for (size_t index = 0; index < plan_.steps.size(); ++index) {
      if (!folded[index]) kept.push_back(std::move(plan_.steps[index]));
    }
    plan_.steps = std::move(kept);
  }

  // Every tensor's readers: steps, views and delivered outputs.
  std::map<int, int> reader_counts() const {
    std::map<int, int> readers;
    for (const PlannedStep& step : plan_.steps) {
      for (int tensor : step.inputs) ++readers[tensor];
    }
    for (int alias : plan_.aliases) ++readers[plan_.tensors[size_t(alias)].alias_of];
    for (const auto& [name, tensor] : plan_.outputs) ++readers[tensor];
    return readers;
  }

  int root_of(int tensor) const {
    while (tensor >= 0 && plan_.tensors[size_t(tensor)].placement == Placement::Alias)
      tensor = plan_.tensors[size_t(tensor)].alias_of;
    return tensor;
  }

  // Each arena tensor lives from the step that writes it to the last step that reads it (or
  // reads a view of it); tensors whose lifetimes are disjoint share bytes.
  void place_in_arena() {
    std::vector<int> arena_tensors;
    std::map<int, size_t> range_of;
    std::vector<LiveRange> ranges;
    for (size_t index = 0; index < plan_.steps.size(); ++index) {
      for (int tensor : plan_.steps[index].inputs) {
        auto found = range_of.find(root_of(tensor));
        if (found != range_of.end()) ranges[found->second].last = index;
      }
      for (int tensor : plan_.steps[index].outputs) {
        if (tensor < 0 || plan_.tensors[size_t(tensor)].placement != Placement::Arena) continue;
        range_of[tensor] = ranges.size();
        arena_tensors.push_back(tensor);
        ranges.push_back({plan_.tensors[size_t(tensor)].nbytes(), index, index});
      }
    }
    ArenaLayout layout = plan_arena(ranges, kTensorAlignment);
    plan_.arena_bytes = layout.arena_bytes;
    plan_.naive_arena_bytes = layout.naive_bytes;
    for (size_t i = 0; i < arena_tensors.size(); ++i) {
      plan_.tensors[size_t(arena_tensors[i])].arena_offset = layout.offsets[i];
    }
  }

  const ir::Graph& graph_;
  std::vector<passes::FusionGroup> fusion_groups_;
  std::map<const ir::Node*, size_t> group_of_;
  StoragePlan plan_;
  std::map<std::pair<const ir::Value*, DType>, int> slot_of_;
  std::map<const ir::Value*, int> primary_;  // the tensor a value is produced into
};

}  // namespace

StoragePlan plan_storage(const ir::Graph& graph, const PlanOptions& options) {
  return Planner(graph, options).run();
}

}  // namespace kiln::cuda
