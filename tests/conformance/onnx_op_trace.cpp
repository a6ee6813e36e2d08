// Imports ONNX models and records, per ONNX op type, the core ops its nodes became
// (docs/operators.md's ONNX table).
#include "onnx_op_trace.h"

#include <algorithm>
#include <fstream>

#include "core/error.h"
#include "frontends/onnx/onnx_importer.h"
#include "onnx/onnx.pb.h"

namespace kiln::onnx {
namespace {

// "model.onnx:node 'add_1' (Add)" → "Add" (the importer's OnnxNode::source form).
std::string onnx_op_of(const std::string& source) {
  size_t open = source.rfind(" (");
  if (open == std::string::npos || !source.ends_with(')')) return {};
  return source.substr(open + 2, source.size() - open - 3);
}

void add_unique(std::vector<std::string>& list, const std::string& item) {
  if (std::find(list.begin(), list.end(), item) == list.end()) list.push_back(item);
}

// The op types of the model's main graph (Kiln imports no subgraphs).
std::vector<std::string> op_types_of(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  ::onnx::ModelProto model;
  check(file && model.ParseFromIstream(&file), ErrorKind::InvalidModel, "cannot parse ",
        path.string());
  std::vector<std::string> ops;
  for (const ::onnx::NodeProto& node : model.graph().node()) {
    if (node.domain().empty() || node.domain() == "ai.onnx") ops.push_back(node.op_type());
  }
  return ops;
}

}  // namespace

std::vector<std::filesystem::path> onnx_files_under(
    const std::vector<std::filesystem::path>& folders) {
  std::vector<std::filesystem::path> files;
  for (const std::filesystem::path& folder : folders) {
    check(std::filesystem::is_directory(folder), ErrorKind::InvalidArgument, "no folder ",
          folder.string());
    for (const auto& entry : std::filesystem::recursive_directory_iterator(folder)) {
      if (entry.is_regular_file() && entry.path().extension() == ".onnx") {
        files.push_back(entry.path());
      }
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

OnnxTrace trace_onnx_models(const std::vector<std::filesystem::path>& models) {
  OnnxTrace trace;
  for (const std::filesystem::path& path : models) {
    ir::Graph graph;
    try {
      graph = import_onnx_file(path);
    } catch (const Error&) {
      continue;  // a form of an op Kiln rejects; other models show what it imports as
    }
    ++trace.models_imported;
    for (const std::string& op_type : op_types_of(path)) {
      trace.core_ops[op_type];  // seen, even if it leaves no node
    }
    for (const ir::Node* node : graph.nodes()) {
      std::string onnx_op = onnx_op_of(node->source);
      if (!onnx_op.empty()) add_unique(trace.core_ops[onnx_op], node->op);
    }
  }
  return trace;
}

}  // namespace kiln::onnx
