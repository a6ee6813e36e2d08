// Fusion groups as the generator sees them, and their compile at build time.
#include "backends/cuda/runtime/fused_groups.h"

#include <functional>

#include "backends/cuda/fusion/nvrtc_compiler.h"
#include "backends/cuda/ops/cuda_kernel.h"
#include "passes/passes.h"

namespace kiln::cuda {

PlanOptions cuda_plan_options(bool fuse_groups) {
  return {fuse_groups, [](const ir::Node& node) { return find_cuda_kernel(node.op) == nullptr; }};
}

std::vector<GroupSpec> group_specs(const StoragePlan& plan) {
  std::vector<GroupSpec> groups;
  for (const PlannedGroup& group : plan.groups)
    groups.push_back(GroupSpec{group.nodes, group.domain, {}, {}, group.reduction});
  for (const PlannedStep& step : plan.steps) {
    if (step.kind != PlannedStep::Kind::Fused) continue;
    GroupSpec& spec = groups[size_t(step.group)];
    const PlannedGroup& group = plan.groups[size_t(step.group)];
    for (size_t j = 0; j < step.inputs.size(); ++j) {
      const PlannedTensor& tensor = plan.tensors[size_t(step.inputs[j])];
      spec.inputs.push_back({group.inputs[j], tensor.dtype, tensor.dims});
    }
    for (size_t k = 0; k < step.outputs.size(); ++k) {
      const PlannedTensor& tensor = plan.tensors[size_t(step.outputs[k])];
      spec.outputs.push_back({group.outputs[k], tensor.dtype, tensor.dims});
    }
  }
  return groups;
}

namespace {

// Calls `visit` with each fusion group of `graph` specialized to `input_dims`, as an execution
// context plans it, and the group's generated kernel.
void for_each_generated_kernel(
    const ir::Graph& graph, const std::map<std::string, Dims>& input_dims,
    const std::function<void(const GroupSpec&, const GeneratedKernel&)>& visit) {
  ir::Graph specialized = passes::specialize_shapes(graph, input_dims);
  StoragePlan plan = plan_storage(specialized, cuda_plan_options());
  for (const GroupSpec& group : group_specs(plan)) visit(group, generate_kernel(group));
}

}  // namespace

std::vector<FusionGroupInfo> describe_fusion_groups(const ir::Graph& graph,
                                                    const std::map<std::string, Dims>& input_dims) {
  std::vector<FusionGroupInfo> groups;
  for_each_generated_kernel(
      graph, input_dims, [&](const GroupSpec& group, const GeneratedKernel& kernel) {
        FusionGroupInfo info{kernel.label, kernel.name, {}, kernel.row_length};
        for (const ir::Node* node : group.nodes) info.nodes.push_back(node->name);
        groups.push_back(std::move(info));
      });
  return groups;
}

std::map<std::string, std::string> compile_fusion_kernels(
    const ir::Graph& graph, const std::map<std::string, Dims>& input_dims, int compute_capability,
    const std::map<std::string, std::string>& known) {
  std::map<std::string, std::string> cubins;
  for_each_generated_kernel(
      graph, input_dims, [&](const GroupSpec&, const GeneratedKernel& kernel) {
        if (cubins.contains(kernel.name)) return;
        auto cached = known.find(kernel.name);
        cubins[kernel.name] = cached != known.end()
                                  ? cached->second
                                  : compile_cubin(kernel.source, kernel.what(), compute_capability);
      });
  return cubins;
}

}  // namespace kiln::cuda
