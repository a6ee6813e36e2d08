// Row-reduction source generation: one warp per row of the domain's last dim; for a row
// shorter than a warp's loads (ConvNeXt's 96 channels are 12 lanes of 16-byte packs) the power
// of two of lanes that covers it, several rows to a warp; for a row longer than a warp holds in
// registers (a 4096-wide RMSNorm) the whole block of four warps, reducing through shared memory
// (row_lanes in generated_kernel.h). The row is held in registers between the two passes. Pass 1
// reads the operands, runs the pointwise members before the reduction (a residual add), writes
// those read outside, and keeps the reduction's input; then warp-shuffle statistics (mean and
// variance for LayerNormalization, max and sum of exponentials for Softmax) and pass 2: the
// normalized value, the members after the reduction, and the remaining outputs. The row length is
// part of the source (a model's hidden size is static), so the compiler unrolls both passes.
#include <sstream>

#include "backends/cuda/fusion/lane_code.h"
#include "backends/cuda/kernels/generated_kernel.h"
#include "core/error.h"
#include "passes/fusion_groups.h"

namespace kiln::cuda {
namespace {

using passes::is_row_sum;
using source::Access;

// The members by pass: `before` the reduction (pass 1, recomputed in pass 2 where read there),
// `per_row` (a ReduceMean/Sum/Max and the math on its one value per row), `after` (pass 2).
struct Phases {
  std::vector<const ir::Node*> before, per_row, after;
  std::set<size_t> inputs_before, inputs_after, outputs_before, outputs_per_row, outputs_after;
};

bool contains(const std::vector<const ir::Node*>& nodes, const ir::Node* node) {
  return std::find(nodes.begin(), nodes.end(), node) != nodes.end();
}

Phases split_phases(const GroupSpec& group) {
  Phases phases;
  bool seen = false;
  for (const ir::Node* node : group.nodes) {
    if (node == group.reduction) {
      seen = true;
      if (is_row_sum(*node)) phases.per_row.push_back(node);
    } else if (!seen) {
      phases.before.push_back(node);
    } else if (node->outputs[0]->shape.static_dims() != group.domain) {
      phases.per_row.push_back(node);
    } else {
      phases.after.push_back(node);
    }
  }
  const ir::Value* data = group.reduction->inputs[0];
  phases.inputs_before = lane::inputs_read_by(group, phases.before);
  for (size_t j = 0; j < group.inputs.size(); ++j) {
    if (group.inputs[j].value == data) phases.inputs_before.insert(j);
  }
  // Pass 2 reads what the later members and the reduction's parameters (scale, bias) read,
  // and what recomputing the earlier members needs (loads the compiler drops where unused).
  std::vector<const ir::Node*> pass2 = phases.before;
  pass2.insert(pass2.end(), phases.after.begin(), phases.after.end());
  if (!is_row_sum(*group.reduction)) pass2.push_back(group.reduction);
  phases.inputs_after = lane::inputs_read_by(group, pass2);
  for (size_t j = 0; j < group.inputs.size(); ++j) {
    if (group.inputs[j].value == data) phases.inputs_after.insert(j);
  }
  for (size_t k = 0; k < group.outputs.size(); ++k) {
    const ir::Node* producer = group.outputs[k].value->producer;
    if (contains(phases.before, producer)) {
      phases.outputs_before.insert(k);
    } else if (contains(phases.per_row, producer)) {
      phases.outputs_per_row.insert(k);
    } else {
      phases.outputs_after.insert(k);
    }
  }
  return phases;
}

// The loop over a thread's chunks of the row, `body` inside the lane loop.
void chunk_loop(std::ostringstream& out, const std::string& before_lanes, const std::string& lanes,
                const std::string& after_lanes) {
  out << "#pragma unroll\n  for (int c = 0; c < kChunks; ++c) {\n"
      << "    const int j0 = (c * kLanes + lane_id) * V;\n"
      << "    if (j0 >= kCols || !row_valid) continue;\n"
      << "    const long long base = row * kCols + j0;\n"
      << before_lanes << "#pragma unroll\n    for (int l = 0; l < V; ++l) {\n"
      << "      const long long i = base + l;\n      (void)i;\n"
      << lanes << "    }\n"
      << after_lanes << "  }\n";
}

// Sums (or maxes) `term` over the thread's valid elements, then over the warp.
std::string warp_reduce(const std::string& result, const std::string& term, bool max) {
  std::ostringstream out;
  out << "  float " << result << " = " << (max ? "-__int_as_float(0x7f800000)" : "0.f") << ";\n"
      << "#pragma unroll\n  for (int c = 0; c < kChunks; ++c) {\n"
      << "    if ((c * kLanes + lane_id) * V >= kCols || !row_valid) continue;\n"
      << "#pragma unroll\n    for (int l = 0; l < V; ++l) {\n"
      << "      const float k = keep[c * V + l];\n"
      << "      "
      << (max ? result + " = fmaxf(" + result + ", " + term + ")" : result + " += " + term)
      << ";\n    }\n  }\n"
      << "  " << result << " = "
      << (max ? "kiln_row_reduce<kLanes, true>(" : "kiln_row_reduce<kLanes, false>(") << result
      << ");\n";
  return out.str();
}

// The statistics after pass 1 and the reduction's per-element formula in pass 2.
std::pair<std::string, std::string> reduction_code(const GroupSpec& group,
                                                   const lane::Names& names) {
  const ir::Node& node = *group.reduction;
  if (node.op == "ReduceMax") return {warp_reduce("reduced", "k", true), ""};
  if (node.op == "ReduceSum") return {warp_reduce("reduced", "k", false), ""};
  if (node.op == "ReduceMean")
    return {warp_reduce("reduced", "k", false) + "  reduced /= (float)kCols;\n", ""};
  if (node.op == "Softmax") {
    return {warp_reduce("peak", "k", true) + warp_reduce("total", "expf(k - peak)", false),
            "expf(keep[c * V + l] - peak) / total"};
  }
  check(node.op == "LayerNormalization", ErrorKind::Unsupported, node.describe(),
        ": the row generator handles LayerNormalization and Softmax");
  float epsilon = float(node.attr_float("epsilon", 1e-5));
  std::string stats = warp_reduce("mean", "k", false) + "  mean /= (float)kCols;\n" +
                      warp_reduce("squares", "(k - mean) * (k - mean)", false) +
                      "  const float inv_std = rsqrtf(squares / (float)kCols + " +
                      source::float_literal(epsilon) + ");\n";
  std::string formula = "(keep[c * V + l] - mean) * inv_std * " + names.at(node.inputs[1]);
  if (node.input(2) != nullptr) formula += " + " + names.at(node.inputs[2]);
  return {stats, formula};
}

// Names of the reduction's scale and bias as pass 2 reads them (operands or literals).
void name_parameters(const GroupSpec& group, lane::Names& names) {
  for (size_t index = 1; index < group.reduction->inputs.size(); ++index) {
    const ir::Value* value = group.reduction->inputs[index];
    if (value != nullptr && !names.contains(value)) names[value] = source::scalar_literal(*value);
  }
}

// The reduction's value per row and the math on it, once per row; the per-row values read
// outside the group written by the row's first lane.
void per_row_math(std::ostringstream& out, const GroupSpec& group, const Phases& phases,
                  lane::Names& names) {
  if (!is_row_sum(*group.reduction)) return;
  lane::Names row_names;  // this scope's: the per-row values and scalar operands
  row_names[group.reduction->outputs[0]] = "reduced";
  std::vector<const ir::Node*> math(phases.per_row.begin() + 1, phases.per_row.end());
  for (size_t j : lane::inputs_read_by(group, math)) {  // scalars (fusion_groups.cpp)
    const FusedOperand& input = group.inputs[j];
    std::string name = "s" + std::to_string(j);
    out << "  const " << source::register_type(input.dtype) << " " << name << " = "
        << source::to_register(input.dtype, std::string("static_cast<const ") +
                                                source::storage_type(input.dtype) + "*>(a.in[" +
                                                std::to_string(j) + "])[0]")
        << ";\n";
    row_names[input.value] = name;
  }
  lane::compute(out, group, math, row_names);
  for (size_t k : phases.outputs_per_row) {
    const FusedOperand& output = group.outputs[k];
    out << "  if (lane_id == 0 && row_valid) static_cast<" << source::storage_type(output.dtype)
        << "*>(a.out[" << k
        << "])[row] = " << source::to_storage(output.dtype, row_names.at(output.value)) << ";\n";
  }
  for (const ir::Node* node : phases.per_row)
    names[node->outputs[0]] = row_names.at(node->outputs[0]);
}

std::string row_body(const GroupSpec& group, const GeneratedKernel& kernel) {
  Phases phases = split_phases(group);
  std::ostringstream body, before, lanes, after;
  body << "template <int V>\n__device__ __forceinline__ void kiln_rows(const KilnFusedArgs& a) {\n"
       << "  constexpr int kCols = " << kernel.row_length << ";\n"
       << "  constexpr int kLanes = V == 1 ? " << row_lanes(kernel.row_length, 1) << " : "
       << row_lanes(kernel.row_length, kernel.vector_width) << ";  // row_lanes\n"
       << "  constexpr int kChunks = (kCols + kLanes * V - 1) / (kLanes * V);\n"
       << "  const long long rows = a.count / kCols;\n"
       << "  // A row over the whole block (kLanes 128), or 32 / kLanes rows to a warp.\n"
       << "  const long long first = kLanes > 32 ? (long long)blockIdx.x\n"
       << "      : ((long long)blockIdx.x * 4 + threadIdx.x / 32) * (32 / kLanes);\n"
       << "  if (first >= rows) return;  // the whole warp or block: none of it reduces\n"
       << "  const long long row = kLanes > 32 ? first : first + (threadIdx.x % 32) / kLanes;\n"
       << "  const bool row_valid = row < rows;\n"
       << "  const int lane_id = threadIdx.x % kLanes;\n"
       << "  float keep[kChunks * V];\n";
  // Pass 1.
  lane::Names names;
  lane::load_packs(before, group, kernel, phases.inputs_before, "base");
  lane::declare_outputs(before, group, phases.outputs_before);
  lane::read_operands(lanes, group, kernel, phases.inputs_before, false, names);
  lane::compute(lanes, group, phases.before, names);
  lanes << "      keep[c * V + l] = " << names.at(group.reduction->inputs[0]) << ";\n";
  lane::set_outputs(lanes, group, phases.outputs_before, names);
  lane::store_outputs(after, group, phases.outputs_before, "base");
  chunk_loop(body, before.str(), lanes.str(), after.str());
  // Statistics, the per-row math, and pass 2.
  std::ostringstream before2, lanes2, after2;
  lane::Names names2;
  lane::load_packs(before2, group, kernel, phases.inputs_after, "base");
  lane::declare_outputs(before2, group, phases.outputs_after);
  lane::read_operands(lanes2, group, kernel, phases.inputs_after, false, names2);
  name_parameters(group, names2);
  auto [stats, formula] = reduction_code(group, names2);
  body << stats;
  per_row_math(body, group, phases, names2);
  lane::compute(lanes2, group, phases.before, names2);
  if (!formula.empty()) {
    size_t index = size_t(std::find(group.nodes.begin(), group.nodes.end(), group.reduction) -
                          group.nodes.begin());
    std::string reduced = "v" + std::to_string(index);
    lanes2 << "      const float " << reduced << " = " << formula << ";\n";
    names2[group.reduction->outputs[0]] = reduced;
  }
  lane::compute(lanes2, group, phases.after, names2);
  lane::set_outputs(lanes2, group, phases.outputs_after, names2);
  lane::store_outputs(after2, group, phases.outputs_after, "base");
  chunk_loop(body, before2.str(), lanes2.str(), after2.str());
  body << "}\n";
  return body.str();
}

}  // namespace

GeneratedKernel generate_row_kernel(GeneratedKernel kernel, const GroupSpec& group) {
  kernel.row_length = group.domain.empty() ? 1 : group.domain.back();
  kernel.vector_width = pack_width(group, kernel.input_access);
  while (kernel.row_length % kernel.vector_width != 0) kernel.vector_width /= 2;
  std::ostringstream text;
  text << source::kPrelude << row_body(group, kernel);
  text << "extern \"C\" __global__ void __launch_bounds__(128) KILN_ENTRY(const KilnFusedArgs a) "
          "{ kiln_rows<1>(a); }\n"
       << "extern \"C\" __global__ void __launch_bounds__(128) KILN_ENTRY_v(const KilnFusedArgs "
          "a) { kiln_rows<"
       << kernel.vector_width << ">(a); }\n";
  kernel.source = text.str();
  return kernel;
}

}  // namespace kiln::cuda
