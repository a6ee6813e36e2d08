// ONNX → IR. Reads .onnx files (with external data next to them) into a Kiln graph of
// core ops. Throws Error naming the file, node or tensor at fault.
#pragma once

#include <filesystem>
#include <string>

#include "ir/graph.h"

namespace kiln::onnx {

ir::Graph import_onnx_file(const std::filesystem::path& path);
// From bytes already in memory; external data is resolved against `base_folder` (empty
// forbids external data). Used by tests and fuzzing.
ir::Graph import_onnx_bytes(const std::string& bytes, const std::filesystem::path& base_folder);

}  // namespace kiln::onnx
