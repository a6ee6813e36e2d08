// Which core ops each ONNX op imports as, found by importing real ONNX models (the backend
// node-test cases and the model fixtures) and reading each IR node's source, which names the
// ONNX node it came from.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace kiln::onnx {

struct OnnxTrace {
  int models_imported = 0;  // models that imported without an error
  // ONNX op type → the core ops its nodes became, in first-seen order; an op type that
  // appears in an imported model but left no node (Constant, Identity) maps to an empty list.
  std::map<std::string, std::vector<std::string>> core_ops;
};

// Every .onnx file under `folders`, in sorted order.
std::vector<std::filesystem::path> onnx_files_under(
    const std::vector<std::filesystem::path>& folders);

// Imports each model; one Kiln rejects (a form of an op it lacks) is left out.
OnnxTrace trace_onnx_models(const std::vector<std::filesystem::path>& models);

}  // namespace kiln::onnx
