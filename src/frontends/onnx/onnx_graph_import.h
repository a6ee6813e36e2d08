// Builds a Kiln graph from a parsed ONNX ModelProto: inputs, initializers, nodes through
// the op table, outputs, then ordering and shape inference.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "onnx/onnx.pb.h"
#include "onnx_importer.h"

namespace kiln::onnx {

// `model` stays alive as long as tensors share its raw_data. `base_folder` holds external
// data (empty forbids it); `label` names the model in messages and node sources.
ImportResult import_model_proto(std::shared_ptr<const ::onnx::ModelProto> model,
                                const std::filesystem::path& base_folder, const std::string& label,
                                const ImportOptions& options);

}  // namespace kiln::onnx
