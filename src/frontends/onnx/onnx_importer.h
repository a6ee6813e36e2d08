// ONNX → IR. Reads .onnx files (with external data next to them) into a Kiln graph of
// core ops. Throws Error naming the file, node or tensor at fault.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "ir/graph.h"

namespace kiln::onnx {

ir::Graph import_onnx_file(const std::filesystem::path& path);
// From bytes already in memory; external data is resolved against `base_folder` (empty
// forbids external data). Used by tests and fuzzing.
ir::Graph import_onnx_bytes(const std::string& bytes, const std::filesystem::path& base_folder);

// The lowest and highest default-domain opsets Kiln imports.
inline constexpr int64_t kMinOpset = 13;
inline constexpr int64_t kMaxOpset = 28;

struct ImportOptions {
  // Import ops Kiln cannot run as nodes named "onnx.<OpType>" (no schema, not runnable)
  // instead of failing; for `kiln inspect`, which shows a model Kiln cannot build yet.
  bool keep_unsupported = false;
};

// One ONNX op type that Kiln does not support, with every node that uses it. `reasons`
// holds the specific causes where the op is known but the node's form is not (e.g.
// "training_mode=1"), as "node 'bn': ...".
struct UnsupportedOp {
  std::string op_type;  // "Resize", or "com.microsoft.FusedMatMul" outside the ONNX domain
  std::vector<std::string> node_names;
  std::vector<std::string> reasons;
};

struct ImportResult {
  ir::Graph graph;
  int64_t ir_version = 0;
  int64_t opset = 0;                       // of the default ONNX domain
  std::string producer;                    // "pytorch 2.11.0", when the model says
  std::vector<UnsupportedOp> unsupported;  // filled only with keep_unsupported
};

ImportResult import_onnx_model(const std::filesystem::path& path, const ImportOptions& options);
// `label` names the bytes in messages (a file name, or "model bytes").
ImportResult import_onnx_model_bytes(const std::string& bytes,
                                     const std::filesystem::path& base_folder,
                                     const ImportOptions& options,
                                     const std::string& label = "model bytes");

// The ONNX op types (default domain) Kiln imports, sorted.
std::vector<std::string> supported_onnx_ops();

// The unsupported op types of a result, in the order they first appear.
std::vector<std::string> unsupported_op_names(const ImportResult& result);
// "model.onnx uses 2 unsupported ops: Resize (node 'up1', 'up2'), NonZero (node 'nz')",
// followed by the specific reasons, if any.
std::string describe_unsupported(const std::string& label, const std::vector<UnsupportedOp>& ops);

// Reads a serialized TensorProto (the input_N.pb / output_N.pb files of ONNX test data).
// External data is resolved against the file's folder.
Tensor read_onnx_tensor_file(const std::filesystem::path& path);

}  // namespace kiln::onnx
