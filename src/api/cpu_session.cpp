// CpuSession: assigns precisions once, then runs the graph on the CPU reference executor.
#include <sstream>

#include "backends/cpu/executor.h"
#include "ir/input_dims.h"
#include "kiln/kiln.h"
#include "passes/passes.h"

namespace kiln {
namespace {

std::string input_names(const ir::Graph& graph) {
  std::ostringstream names;
  for (size_t i = 0; i < graph.inputs().size(); ++i) {
    names << (i ? ", " : "") << graph.inputs()[i]->name;
  }
  return graph.inputs().empty() ? "none" : names.str();
}

}  // namespace

CpuSession::CpuSession(ir::Graph graph, std::set<Precision> enabled, bool strongly_typed,
                       bool keep_precisions)
    : graph_(std::make_unique<ir::Graph>(std::move(graph))), enabled_(std::move(enabled)) {
  check(!enabled_.empty(), ErrorKind::InvalidArgument,
        "no precision enabled (valid: fp32, tf32, fp16, bf16)");
  if (!keep_precisions) passes::assign_precisions(*graph_, enabled_, strongly_typed);
  executor_ = std::make_unique<cpu::Executor>(*graph_);
}

CpuSession::~CpuSession() = default;
CpuSession::CpuSession(CpuSession&&) noexcept = default;
CpuSession& CpuSession::operator=(CpuSession&&) noexcept = default;

std::map<std::string, Tensor> CpuSession::run(const std::map<std::string, Tensor>& inputs) const {
  for (const auto& [name, tensor] : inputs) {
    const ir::Value* value = graph_->find_value(name);
    check(value != nullptr && value->is_graph_input, ErrorKind::InvalidArgument,
          "the model has no input named '", name, "' (its inputs: ", input_names(*graph_), ")");
  }
  for (const ir::Value* input : graph_->inputs()) {
    check(inputs.count(input->name) > 0, ErrorKind::InvalidArgument, "input '", input->name,
          "' was not given (the model's inputs: ", input_names(*graph_), ")");
  }
  std::map<std::string, Dims> dims;
  for (const auto& [name, tensor] : inputs) dims.emplace(name, tensor.dims());
  ir::check_input_dims(*graph_, dims);
  std::vector<Tensor> results = executor_->run(inputs);
  check(results.size() == graph_->outputs().size(), ErrorKind::Runtime, "the executor returned ",
        results.size(), " outputs for a graph with ", graph_->outputs().size());
  std::map<std::string, Tensor> outputs;
  for (size_t i = 0; i < results.size(); ++i) {
    outputs.emplace(graph_->outputs()[i]->name, std::move(results[i]));
  }
  return outputs;
}

}  // namespace kiln
