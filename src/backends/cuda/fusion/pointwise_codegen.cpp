// Elementwise source generation, and the per-thread pieces both generators share
// (lane_code.h). Every thread handles V consecutive elements of the domain: operands the size
// of the domain (and biases over its last dims) are read as V-element packs (16-byte loads for
// bf16 with V = 8), other broadcasts element by element through (i / div) % mod, all math is
// in float32 (bool for masks), and each output is written once as a pack.
#include "backends/cuda/fusion/pointwise_codegen.h"

#include "backends/cuda/fusion/index_code.h"
#include "backends/cuda/fusion/lane_code.h"
#include "core/error.h"
#include "passes/fusion_groups.h"

namespace kiln::cuda {

static_assert(passes::kMaxGroupInputs == kMaxFusedInputs &&
                  passes::kMaxGroupOutputs == kMaxFusedOutputs,
              "fusion groups must fit a generated kernel's launch arguments");

using source::Access;

namespace lane {

std::string pointer(const FusedOperand& operand, const std::string& slot, bool output) {
  return std::string("static_cast<") + (output ? "" : "const ") +
         source::storage_type(operand.dtype) + "*>(a." + slot + ")";
}

namespace {

std::string pack_type(DType dtype) {
  return std::string("KilnPack<") + source::storage_type(dtype) + ", V>";
}

}  // namespace

std::string input_slot(size_t j) { return "in[" + std::to_string(j) + "]"; }

std::set<size_t> inputs_read_by(const GroupSpec& group, const std::vector<const ir::Node*>& nodes) {
  std::set<size_t> read;
  for (const ir::Node* node : nodes) {
    for (const ir::Value* value : node->inputs) {
      for (size_t j = 0; j < group.inputs.size(); ++j) {
        if (group.inputs[j].value == value) read.insert(j);
      }
    }
  }
  return read;
}

void load_packs(std::ostringstream& out, const GroupSpec& group, const GeneratedKernel& kernel,
                const std::set<size_t>& inputs, const std::string& base,
                const std::string& inner_base) {
  for (size_t j : inputs) {
    const FusedOperand& input = group.inputs[j];
    Access access = kernel.input_access[j];
    if (access != Access::Pack && access != Access::Inner) continue;
    std::string at = access == Access::Pack ? base
                     : inner_base.empty()   ? "(" + base + " % a.mod[" + std::to_string(j) + "])"
                                            : inner_base;
    out << "    const " << pack_type(input.dtype) << " p" << j << " = *reinterpret_cast<const "
        << pack_type(input.dtype) << "*>(" << pointer(input, input_slot(j), false) << " + " << at
        << ");\n";
  }
}

void read_operands(std::ostringstream& out, const GroupSpec& group, const GeneratedKernel& kernel,
                   const std::set<size_t>& inputs, bool narrow_index, Names& names) {
  for (size_t j : inputs) {
    const FusedOperand& input = group.inputs[j];
    std::string stored;
    switch (kernel.input_access[j]) {
      case Access::Pack:
      case Access::Inner:
        stored = "p" + std::to_string(j) + ".v[l]";
        break;
      case Access::Scalar:
        stored = pointer(input, input_slot(j), false) + "[0]";
        break;
      case Access::Block: {
        std::string cast = narrow_index ? "(unsigned int)" : "";
        stored = pointer(input, input_slot(j), false) + "[(i / " + cast + "a.div[" +
                 std::to_string(j) + "]) % " + cast + "a.mod[" + std::to_string(j) + "]]";
        break;
      }
      case Access::Strided:
        stored = pointer(input, input_slot(j), false) + "[" +
                 index_code::broadcast("i", group.domain, input.dims) + "]";
        break;
      case Access::Gather:
        continue;  // read by index members only (indexed_codegen.cpp)
    }
    std::string name = "x" + std::to_string(j);
    out << "      const " << source::register_type(input.dtype) << " " << name << " = "
        << source::to_register(input.dtype, stored) << ";\n";
    names[input.value] = name;
  }
}

void compute(std::ostringstream& out, const GroupSpec& group,
             const std::vector<const ir::Node*>& nodes, Names& names) {
  for (const ir::Node* node : nodes) {
    std::vector<std::string> args;
    for (const ir::Value* input : node->inputs) {
      if (input == nullptr) {
        args.emplace_back();
        continue;
      }
      if (auto found = names.find(input); found != names.end()) {
        args.push_back(found->second);
        continue;
      }
      check(passes::is_inlined_scalar(*input), ErrorKind::Runtime, node->describe(),
            ": fused input '", input->name, "' is neither an operand nor a scalar constant");
      args.push_back(source::scalar_literal(*input));
    }
    size_t index =
        size_t(std::find(group.nodes.begin(), group.nodes.end(), node) - group.nodes.begin());
    std::string name = "v" + std::to_string(index);
    out << "      const " << source::register_type(node->outputs[0]->dtype) << " " << name << " = "
        << source::emit_pointwise(*node, args) << ";\n";
    names[node->outputs[0]] = name;
  }
}

void declare_outputs(std::ostringstream& out, const GroupSpec& group,
                     const std::set<size_t>& outputs) {
  for (size_t k : outputs) out << "    " << pack_type(group.outputs[k].dtype) << " q" << k << ";\n";
}

void set_outputs(std::ostringstream& out, const GroupSpec& group, const std::set<size_t>& outputs,
                 const Names& names) {
  for (size_t k : outputs) {
    const FusedOperand& output = group.outputs[k];
    auto found = names.find(output.value);
    check(found != names.end(), ErrorKind::Runtime, "fused output '", output.value->name,
          "' is not computed by the group");
    out << "      q" << k << ".v[l] = " << source::to_storage(output.dtype, found->second) << ";\n";
  }
}

void store_outputs(std::ostringstream& out, const GroupSpec& group, const std::set<size_t>& outputs,
                   const std::string& base) {
  for (size_t k : outputs) {
    out << "    *reinterpret_cast<" << pack_type(group.outputs[k].dtype) << "*>("
        << pointer(group.outputs[k], "out[" + std::to_string(k) + "]", true) << " + " << base
        << ") = q" << k << ";\n";
  }
}

}  // namespace lane

namespace {

std::set<size_t> all_indices(size_t count) {
  std::set<size_t> indices;
  for (size_t i = 0; i < count; ++i) indices.insert(i);
  return indices;
}

}  // namespace

int pack_width(const GroupSpec& group, const std::vector<Access>& access) {
  size_t narrowest = 4;
  for (size_t j = 0; j < group.inputs.size(); ++j) {
    if (access[j] == Access::Pack || access[j] == Access::Inner)
      narrowest = std::min(narrowest, dtype_size(group.inputs[j].dtype));
  }
  for (const FusedOperand& operand : group.outputs)
    narrowest = std::min(narrowest, dtype_size(operand.dtype));
  return int(std::min<size_t>(8, 16 / narrowest));
}

namespace {

// kiln_body<V>: loads, the nodes' math per element, stores.
std::string elementwise_body(const GroupSpec& group, const GeneratedKernel& kernel,
                             bool narrow_index) {
  std::ostringstream body;
  lane::Names names;
  std::set<size_t> inputs = all_indices(group.inputs.size());
  std::set<size_t> outputs = all_indices(group.outputs.size());
  body << "template <int V>\n__device__ __forceinline__ void kiln_body(const KilnFusedArgs& a, "
          "long long base) {\n";
  lane::load_packs(body, group, kernel, inputs, "base");
  lane::declare_outputs(body, group, outputs);
  body << "#pragma unroll\n    for (int l = 0; l < V; ++l) {\n";
  body << (narrow_index ? "      const unsigned int i = (unsigned int)(base + l);\n"
                        : "      const long long i = base + l;\n")
       << "      (void)i;\n";
  lane::read_operands(body, group, kernel, inputs, narrow_index, names);
  lane::compute(body, group, group.nodes, names);
  lane::set_outputs(body, group, outputs, names);
  body << "    }\n";
  lane::store_outputs(body, group, outputs, "base");
  body << "}\n";
  return body.str();
}

GeneratedKernel generate_elementwise_kernel(GeneratedKernel kernel, const GroupSpec& group) {
  kernel.vector_width = pack_width(group, kernel.input_access);
  bool narrow_index = element_count(group.domain) + 64 < (int64_t(1) << 31);
  kernel.source = source::kPrelude + elementwise_body(group, kernel, narrow_index) +
                  lane::elementwise_entries(kernel.vector_width);
  return kernel;
}

}  // namespace

namespace lane {

std::string elementwise_entries(int vector_width) {
  std::ostringstream text;
  text << "extern \"C\" __global__ void __launch_bounds__(256) KILN_ENTRY(const KilnFusedArgs a) "
          "{\n  const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;\n"
          "  if (i < a.count) kiln_body<1>(a, i);\n}\n";
  text << "extern \"C\" __global__ void __launch_bounds__(256) KILN_ENTRY_v(const KilnFusedArgs "
          "a) {\n  const long long base = ((long long)blockIdx.x * blockDim.x + threadIdx.x) * "
       << vector_width << ";\n  if (base < a.count) kiln_body<" << vector_width
       << ">(a, base);\n}\n";
  return text.str();
}

}  // namespace lane

GeneratedKernel generate_kernel(const GroupSpec& group) {
  check(group.inputs.size() <= size_t(kMaxFusedInputs) &&
            group.outputs.size() <= size_t(kMaxFusedOutputs) && !group.outputs.empty(),
        ErrorKind::InvalidArgument, "a fused group reads ", group.inputs.size(), " and writes ",
        group.outputs.size(), " tensors; a generated kernel takes up to ", kMaxFusedInputs, " and ",
        kMaxFusedOutputs);
  GeneratedKernel kernel;
  for (const FusedOperand& input : group.inputs)
    kernel.input_access.push_back(source::access_of(input.dims, group.domain));
  for (const ir::Node* node : group.nodes)
    kernel.label += (kernel.label.empty() ? "" : "+") + node->op;
  kernel = group.reduction != nullptr ? generate_row_kernel(std::move(kernel), group)
           : is_index_group(group)    ? generate_indexed_kernel(std::move(kernel), group)
                                      : generate_elementwise_kernel(std::move(kernel), group);
  kernel.name = "kiln_fused_" + source::fnv1a_hex(kernel.source);
  kernel.source = source::name_entries(std::move(kernel.source), kernel.name);
  return kernel;
}

FusedArgs fused_args(const GroupSpec& group, const std::vector<const void*>& inputs,
                     const std::vector<void*>& outputs) {
  FusedArgs args;
  args.count = element_count(group.domain);
  for (size_t j = 0; j < group.inputs.size(); ++j) {
    args.inputs[j] = inputs[j];
    // Other reads index with literals (index_code.h).
    const Dims& dims = group.inputs[j].dims;
    source::BlockIndex index = passes::is_block_broadcast(dims, group.domain)
                                   ? source::block_index(dims, group.domain)
                                   : source::BlockIndex{1, 1};
    args.div[j] = index.div;
    args.mod[j] = index.mod;
  }
  for (size_t k = 0; k < group.outputs.size(); ++k) args.outputs[k] = outputs[k];
  return args;
}

}  // namespace kiln::cuda
