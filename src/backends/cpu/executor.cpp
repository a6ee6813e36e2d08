// The CPU reference executor: runs a graph node by node and emulates each layer's precision
// (bf16/fp16 round every float input and output of float-compute ops, tf32 rounds the
// inputs of the matrix products), so that its results predict what the GPU computes.
#include "backends/cpu/executor.h"

#include <sstream>
#include <utility>

#include "backends/cpu/kernel.h"
#include "core/precision.h"
#include "ir/op_schema.h"

namespace kiln::cpu {
namespace {

std::string input_names(const ir::Graph& graph) {
  std::ostringstream names;
  for (size_t i = 0; i < graph.inputs().size(); ++i) {
    names << (i ? ", " : "") << "'" << graph.inputs()[i]->name << "'";
  }
  return names.str();
}

// Checks the caller's tensors against the graph inputs: every input given (unless it has a
// default constant), nothing unknown, dtypes equal, static dims equal, and each symbolic dim
// one size across all inputs that use it.
void check_inputs(const ir::Graph& graph, const std::map<std::string, Tensor>& inputs) {
  for (const auto& [name, tensor] : inputs) {
    const ir::Value* value = graph.find_value(name);
    check(value != nullptr && value->is_graph_input, ErrorKind::InvalidArgument, "unknown input '",
          name, "'; the graph's inputs are ", input_names(graph));
  }
  std::map<std::string, std::pair<int64_t, std::string>> symbol_sizes;  // size, first user
  for (const ir::Value* value : graph.inputs()) {
    auto it = inputs.find(value->name);
    if (it == inputs.end()) {
      check(value->is_constant(), ErrorKind::InvalidArgument, "input '", value->name, "' (",
            dtype_name(value->dtype), " ", value->shape.to_string(), ") is not given");
      continue;
    }
    const Tensor& tensor = it->second;
    check(value->dtype == DType::Undefined || tensor.dtype() == value->dtype,
          ErrorKind::InvalidArgument, "input '", value->name, "' must be ",
          dtype_name(value->dtype), ", got ", dtype_name(tensor.dtype()),
          "; convert it before running");
    if (!value->shape.rank_known()) continue;
    check(tensor.rank() == value->shape.rank(), ErrorKind::InvalidArgument, "input '", value->name,
          "' must have rank ", value->shape.rank(), " ", value->shape.to_string(), ", got ",
          dims_to_string(tensor.dims()));
    for (int64_t axis = 0; axis < tensor.rank(); ++axis) {
      const ir::Dim& dim = value->shape[axis];
      int64_t got = tensor.dim(axis);
      if (dim.is_static()) {
        check(got == dim.value, ErrorKind::InvalidArgument, "input '", value->name, "' axis ", axis,
              ": expected ", dim.value, ", got ", got, " (shape ", dims_to_string(tensor.dims()),
              ", graph expects ", value->shape.to_string(), ")");
      } else if (dim.is_symbolic()) {
        auto [known, inserted] = symbol_sizes.emplace(dim.symbol, std::pair{got, value->name});
        check(inserted || known->second.first == got, ErrorKind::InvalidArgument, "input '",
              value->name, "' axis ", axis, ": expected ", known->second.first, " for '",
              dim.symbol, "' (as in input '", known->second.second, "'), got ", got);
      }
    }
  }
}

bool is_half_type(DType dtype) { return dtype == DType::Float16 || dtype == DType::BFloat16; }

// A copy of `tensor` with every element rounded to `precision` (storage type unchanged).
Tensor rounded_to(const Tensor& tensor, Precision precision) {
  Tensor result = tensor.clone();
  if (result.dtype() == DType::Float32) {
    for (float& x : std::span(result.data_mutable<float>(), size_t(result.numel()))) {
      x = round_to_precision(x, precision);
    }
  } else if (result.dtype() == DType::Float64) {
    for (double& x : std::span(result.data_mutable<double>(), size_t(result.numel()))) {
      x = round_to_precision(static_cast<float>(x), precision);
    }
  }
  return result;
}

bool is_tensor_core_op(const std::string& op) {
  return op == "MatMul" || op == "Gemm" || op == "Conv" || op == "ConvTranspose" ||
         op == "Attention";
}

// A kernel's result must agree with the static dims inference promised: later layers (and
// the GPU memory plan) rely on them, so a mismatch is a bug worth stopping on.
void check_matches_inferred_shape(const ir::Node& node, size_t index, const Tensor& out) {
  const ir::Shape& shape = node.outputs[index]->shape;
  if (!out.defined() || !shape.rank_known()) return;
  bool agrees = shape.rank() == out.rank();
  for (int64_t d = 0; agrees && d < out.rank(); ++d) {
    const ir::Dim& dim = shape.dims()[static_cast<size_t>(d)];
    agrees = !dim.is_static() || dim.value == out.dims()[static_cast<size_t>(d)];
  }
  check(agrees, ErrorKind::Runtime, node.describe(), ": output '", node.outputs[index]->name,
        "' has dims ", dims_to_string(out.dims()), " but shape inference gave ", shape.to_string());
}

// Runs one node with its precision emulated; inputs are already widened to >= float32.
std::vector<Tensor> run_emulated(const ir::Node& node, std::vector<Tensor> args) {
  Kernel kernel = find_kernel(node.op);
  check(kernel != nullptr, ErrorKind::Unsupported, node.describe(),
        ": the CPU backend has no kernel for op '", node.op, "'");
  Precision precision = node.precision.value_or(Precision::FP32);
  bool float_compute = ir::is_float_compute(node.op);
  bool round_all = float_compute && (precision == Precision::BF16 || precision == Precision::FP16);
  bool round_inputs = round_all || (precision == Precision::TF32 && is_tensor_core_op(node.op));
  if (round_inputs) {
    for (size_t i = 0; i < args.size(); ++i) {
      Tensor& arg = args[i];
      // TF32 rounds what the tensor cores multiply; a Conv's residual Z is added after the
      // product in FP32, as cuDNN's epilogue (and an unfused FP32 Add) does.
      bool residual = node.op == "Conv" && i == 3 && !round_all;
      if (arg.defined() && is_floating(arg.dtype()) && !residual) arg = rounded_to(arg, precision);
    }
  }
  std::vector<Tensor> outputs = kernel(node, args);
  check(outputs.size() == node.outputs.size(), ErrorKind::Runtime, node.describe(),
        ": the kernel returned ", outputs.size(), " outputs, the node has ", node.outputs.size());
  for (size_t i = 0; i < outputs.size(); ++i) {
    Tensor& out = outputs[i];
    check_matches_inferred_shape(node, i, out);
    if (!out.defined() || !is_floating(out.dtype())) continue;
    if (round_all) out = rounded_to(out, precision);
    // 16-bit values are stored as such; a float32 value keeps float32 storage even when its
    // producer ran in bf16 (the rounding above already happened).
    DType declared = node.outputs[i]->dtype;
    if (is_half_type(declared) && out.dtype() != declared) out = out.to(declared);
  }
  return outputs;
}

// For each value read by a node, the index of the last node that reads it.
std::map<const ir::Value*, size_t> last_uses(const std::vector<ir::Node*>& nodes) {
  std::map<const ir::Value*, size_t> last_use;
  for (size_t index = 0; index < nodes.size(); ++index) {
    for (const ir::Value* input : nodes[index]->inputs) {
      if (input != nullptr) last_use[input] = index;
    }
  }
  return last_use;
}

}  // namespace

Executor::Executor(const ir::Graph& graph) : graph_(graph) {}

std::vector<Tensor> Executor::run(const std::map<std::string, Tensor>& inputs) const {
  check_inputs(graph_, inputs);
  std::map<const ir::Value*, Tensor> live;  // computed values and given inputs
  for (const ir::Value* value : graph_.inputs()) {
    auto it = inputs.find(value->name);
    if (it != inputs.end()) live[value] = it->second;
  }
  auto fetch = [&](const ir::Value* value, const std::string& reader) -> const Tensor& {
    auto it = live.find(value);
    if (it != live.end()) return it->second;
    check(value->is_constant(), ErrorKind::Runtime, reader, " reads '", value->name,
          "', which has no value (no producer ran before it)");
    return *value->constant;
  };
  auto keep = [&](const ir::Value* value) { return graph_.is_graph_output(value); };

  std::vector<ir::Node*> nodes = graph_.nodes();
  std::map<const ir::Value*, size_t> last_use = last_uses(nodes);
  for (size_t index = 0; index < nodes.size(); ++index) {
    const ir::Node& node = *nodes[index];
    std::vector<Tensor> args;
    args.reserve(node.inputs.size());
    for (const ir::Value* input : node.inputs) {
      if (input == nullptr) {
        args.emplace_back();
        continue;
      }
      const Tensor& tensor = fetch(input, node.describe());
      args.push_back(is_half_type(tensor.dtype()) ? tensor.to(DType::Float32) : tensor);
    }
    std::vector<Tensor> outputs = run_emulated(node, std::move(args));
    for (size_t i = 0; i < outputs.size(); ++i) {
      const ir::Value* value = node.outputs[i];
      if (keep(value) || last_use.count(value)) live[value] = std::move(outputs[i]);
    }
    for (const ir::Value* input : node.inputs) {
      if (input != nullptr && last_use[input] == index && !keep(input)) live.erase(input);
    }
  }

  std::vector<Tensor> results;
  for (const ir::Value* value : graph_.outputs()) {
    Tensor result = fetch(value, "graph output");
    if (value->dtype != DType::Undefined && value->dtype != result.dtype() &&
        is_floating(value->dtype) && is_floating(result.dtype())) {
      result = result.to(value->dtype);
    }
    results.push_back(std::move(result));
  }
  return results;
}

}  // namespace kiln::cpu
