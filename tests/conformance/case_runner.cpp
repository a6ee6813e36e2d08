// One case: import with the ONNX frontend, optimize, execute with the CPU reference (every
// layer in fp32: no precision is assigned), compare each output with the expected tensor.
#include "conformance/case_runner.h"

#include <map>
#include <set>
#include <vector>

#include "backends/cpu/executor.h"
#include "core/error.h"
#include "core/file.h"
#include "frontends/onnx/onnx_importer.h"
#include "ir/printer.h"
#include "onnx/onnx.pb.h"
#include "passes/passes.h"

namespace kiln::conformance {
namespace fs = std::filesystem;
namespace {

// An error message with the case's folder written as "<case>", so that the same cause reads
// the same in every case (the skip-reason histogram counts equal lines).
std::string without_folder(std::string text, const fs::path& folder) {
  const std::string path = folder.string();
  for (size_t at = text.find(path); at != std::string::npos; at = text.find(path, at)) {
    text.replace(at, path.size(), "<case>");
  }
  return text;
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

// The names of the model's runtime inputs (graph inputs that are not initializers), in the
// order input_J.pb files are numbered.
std::vector<std::string> runtime_input_names(const fs::path& model_path) {
  ::onnx::ModelProto model;
  std::string bytes = read_file(model_path);
  check(model.ParseFromString(bytes), ErrorKind::InvalidModel, model_path.string(),
        ": not a valid ONNX model");
  std::set<std::string> initializers;
  for (const auto& initializer : model.graph().initializer())
    initializers.insert(initializer.name());
  std::vector<std::string> names;
  for (const auto& input : model.graph().input()) {
    if (!initializers.count(input.name())) names.push_back(input.name());
  }
  return names;
}

std::vector<fs::path> data_set_folders(const fs::path& folder) {
  std::vector<fs::path> folders;
  for (int index = 0; fs::is_directory(folder / ("test_data_set_" + std::to_string(index)));
       ++index) {
    folders.push_back(folder / ("test_data_set_" + std::to_string(index)));
  }
  return folders;
}

std::vector<Tensor> read_numbered(const fs::path& folder, const std::string& prefix) {
  std::vector<Tensor> tensors;
  for (int index = 0;; ++index) {
    fs::path path = folder / (prefix + "_" + std::to_string(index) + ".pb");
    if (!fs::exists(path)) return tensors;
    tensors.push_back(onnx::read_onnx_tensor_file(path));
  }
}

// Runs one data set; returns the first mismatch, or "" when every output matches.
std::string check_data_set(const ir::Graph& graph, const std::vector<std::string>& input_names,
                           const fs::path& data_folder, const Tolerance& tolerance,
                           std::string& stage) {
  stage = "read";
  std::vector<Tensor> inputs = read_numbered(data_folder, "input");
  std::vector<Tensor> expected = read_numbered(data_folder, "output");
  check(inputs.size() == input_names.size(), ErrorKind::InvalidArgument, data_folder.string(), ": ",
        inputs.size(), " input files for ", input_names.size(), " model inputs");
  std::map<std::string, Tensor> feeds;
  for (size_t i = 0; i < inputs.size(); ++i) feeds[input_names[i]] = inputs[i];

  stage = "run";
  cpu::Executor executor(graph);
  std::vector<Tensor> outputs = executor.run(feeds);

  stage = "compare";
  const std::string where = data_folder.filename().string();
  if (outputs.size() != expected.size()) {
    return where + ": " + std::to_string(outputs.size()) + " outputs, expected " +
           std::to_string(expected.size());
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (auto mismatch = compare_tensors(outputs[i], expected[i], tolerance)) {
      std::string output_name = graph.outputs()[i] ? graph.outputs()[i]->name : "?";
      return where + " output " + std::to_string(i) + " '" + output_name + "' " + *mismatch;
    }
  }
  return "";
}

}  // namespace

std::string outcome_name(Outcome outcome) {
  switch (outcome) {
    case Outcome::Passed:
      return "passed";
    case Outcome::Failed:
      return "failed";
    case Outcome::Skipped:
      return "skipped";
  }
  return "?";
}

CaseResult run_case(const fs::path& folder, const Tolerance& tolerance, std::ostream* trace) {
  CaseResult result;
  result.name = folder.filename().string();
  std::string stage = "read";
  try {
    const fs::path model_path = folder / "model.onnx";
    std::vector<std::string> input_names = runtime_input_names(model_path);
    stage = "import";
    ir::Graph graph = onnx::import_onnx_file(model_path);
    if (trace) *trace << "imported:\n" << ir::print_graph(graph);
    stage = "optimize";
    passes::optimize(graph);
    if (trace) *trace << "optimized:\n" << ir::print_graph(graph);
    for (const fs::path& data_folder : data_set_folders(folder)) {
      std::string mismatch = check_data_set(graph, input_names, data_folder, tolerance, stage);
      if (!mismatch.empty()) {
        result.stage = stage;
        result.detail = mismatch;
        return result;
      }
    }
    result.outcome = Outcome::Passed;
    return result;
  } catch (const Error& error) {
    result.stage = stage;
    result.outcome = error.kind() == ErrorKind::Unsupported ? Outcome::Skipped : Outcome::Failed;
    result.message = without_folder(error.what(), folder);
    result.detail = first_line(result.message);
    if (result.outcome == Outcome::Failed) {
      result.detail = std::string(error_kind_name(error.kind())) + " error: " + result.detail;
    }
  } catch (const std::exception& error) {
    result.stage = stage;
    result.message = without_folder(error.what(), folder);
    result.detail = "exception: " + first_line(result.message);
  }
  return result;
}

}  // namespace kiln::conformance
