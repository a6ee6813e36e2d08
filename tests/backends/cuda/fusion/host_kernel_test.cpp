// The generator's elementwise and index kernels, compiled for the CPU (host_kernel.h) and run
// on the fusion chains the GPU tests use (fusion_chains.h), against the CPU reference: every
// broadcast kind, slice window and concatenated piece is computed by the generated source
// itself, on machines without a GPU. Both entries run (one element a thread, and the vector
// entry where its width divides the elements), the outputs poisoned before each run.
#include "host_kernel.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "../fusion_chains.h"
#include "backends/cpu/executor.h"
#include "kiln/summary.h"
#include "passes/fusion_groups.h"

namespace kiln::cuda {
namespace {

using fusion_chains::Chain;

// The one group of `graph`'s chain, every float operand stored as `storage`.
GroupSpec only_group(const ir::Graph& graph, DType storage) {
  std::vector<passes::FusionGroup> groups = passes::find_fusion_groups(graph);
  EXPECT_EQ(groups.size(), 1u) << "the chain should be one group";
  if (groups.empty()) return {};
  EXPECT_EQ(groups[0].nodes.size(), graph.nodes().size()) << "a node stayed outside the group";
  GroupSpec spec{groups[0].nodes, groups[0].domain, {}, {}, groups[0].reduction};
  auto stored = [&](const ir::Value* value) {
    return is_floating(value->dtype) ? storage : value->dtype;
  };
  for (const ir::Value* input : groups[0].inputs)
    spec.inputs.push_back({input, stored(input), input->shape.static_dims()});
  for (const ir::Value* output : groups[0].outputs)
    spec.outputs.push_back({output, stored(output), output->shape.static_dims()});
  return spec;
}

// A value in its planned storage: graph inputs and constants converted.
Tensor stored_value(const ir::Value* value, const std::map<std::string, Tensor>& inputs,
                    DType dtype) {
  const Tensor& tensor = value->is_constant() ? *value->constant : inputs.at(value->name);
  return tensor.to(dtype);
}

class HostKernelChain
    : public ::testing::TestWithParam<std::tuple<size_t, DType, std::vector<int64_t>>> {};

TEST_P(HostKernelChain, MatchesTheCpuReference) {
  const auto& [index, storage, dims] = GetParam();
  const Chain chain = fusion_chains::elementwise_chains()[index];
  const Precision precision = storage == DType::BFloat16 ? Precision::BF16 : Precision::FP32;
  ir::Graph graph = fusion_chains::make_graph(chain, dims, precision);
  GroupSpec group = only_group(graph, storage);
  ASSERT_FALSE(group.nodes.empty());
  GeneratedKernel kernel = generate_kernel(group);
  testing::HostKernel host(kernel, std::filesystem::path(KILN_BINARY_DIR) / "host_kernels");

  // The reference reads the inputs as the kernel does: rounded to the storage dtype.
  std::map<std::string, Tensor> inputs = fusion_chains::random_inputs(graph, 7);
  for (auto& [name, tensor] : inputs) {
    if (is_floating(tensor.dtype())) tensor = tensor.to(storage).to(DType::Float32);
  }
  std::vector<Tensor> reference = cpu::Executor(graph).run(inputs);
  std::vector<Tensor> operands;
  std::vector<const void*> in;
  for (const FusedOperand& operand : group.inputs) {
    operands.push_back(stored_value(operand.value, inputs, operand.dtype));
    in.push_back(operands.back().raw());
  }
  for (bool vector : {false, true}) {
    if (vector && element_count(group.domain) % kernel.vector_width != 0) continue;
    std::vector<Tensor> outputs;
    std::vector<void*> out;
    for (const FusedOperand& operand : group.outputs) {
      outputs.emplace_back(DType::Float32, operand.dims);
      float* poison = outputs.back().data_mutable<float>();
      for (int64_t i = 0; i < outputs.back().numel(); ++i)
        poison[i] = std::numeric_limits<float>::quiet_NaN();
      outputs.back() = outputs.back().to(operand.dtype);
      out.push_back(outputs.back().raw_mutable());
    }
    host.run(fused_args(group, in, out), vector);
    for (size_t k = 0; k < group.outputs.size(); ++k) {
      size_t position = 0;
      while (graph.outputs()[position] != group.outputs[k].value) ++position;
      TensorComparison comparison =
          compare_tensors(outputs[k].to(DType::Float32), reference[position].to(DType::Float32));
      SCOPED_TRACE(chain.name + (vector ? " vector" : " scalar") + " output " + std::to_string(k));
      EXPECT_FALSE(std::isnan(comparison.max_abs_diff)) << "NaN: an element was not written";
      EXPECT_LE(comparison.normalized_error, cuda_test::tolerance_for(precision));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Chains, HostKernelChain,
    ::testing::Combine(::testing::Range(size_t(0), fusion_chains::elementwise_chains().size()),
                       ::testing::Values(DType::Float32, DType::BFloat16),
                       // the vector entry (8 bf16 lanes divide the rows), and dims no pack
                       // divides (odd halves for the rotary chain)
                       ::testing::Values(std::vector<int64_t>{2, 3, 8, 64},
                                         std::vector<int64_t>{3, 5, 7, 9})),
    [](const auto& info) {
      return fusion_chains::elementwise_chains()[std::get<0>(info.param)].name + "_" +
             std::string(dtype_name(std::get<1>(info.param))) + "_" +
             std::to_string(element_count(std::get<2>(info.param)));
    });

}  // namespace
}  // namespace kiln::cuda
