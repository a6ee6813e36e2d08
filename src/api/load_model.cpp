// open_model / load_model: picks the frontend for a model file from a table keyed by file
// extension, then runs the standard optimization pipeline.
#include <algorithm>
#include <array>
#include <cctype>

#include "frontends/onnx/onnx_importer.h"
#include "frontends/pt2/pt2_importer.h"
#include "frontends/torchscript/torchscript_importer.h"
#include "kiln/kiln.h"
#include "passes/passes.h"

namespace kiln {
namespace {

using ImportFunction = LoadedModel (*)(const std::filesystem::path&, const LoadOptions&);

LoadedModel import_onnx(const std::filesystem::path& path, const LoadOptions& options) {
  onnx::ImportOptions import_options;
  import_options.keep_unsupported = options.keep_unsupported;
  onnx::ImportResult result = onnx::import_onnx_model(path, import_options);
  LoadedModel model{std::move(result.graph), "", result.producer, result.opset, false, {}};
  for (onnx::UnsupportedOp& op : result.unsupported) {
    model.unsupported.push_back({op.op_type, std::move(op.node_names), std::move(op.reasons)});
  }
  return model;
}

LoadedModel import_pt2(const std::filesystem::path& path, const LoadOptions& options) {
  pt2::Pt2ImportOptions import_options;
  import_options.keep_unsupported = options.keep_unsupported;
  pt2::Pt2ImportResult result = pt2::import_pt2_model(path, import_options);
  LoadedModel model{
      std::move(result.graph), "", "pytorch " + result.info.torch_version, 0, false, {}};
  for (pt2::Pt2UnsupportedOp& op : result.unsupported) {
    model.unsupported.push_back({op.target, std::move(op.nodes), std::move(op.reasons)});
  }
  return model;
}

LoadedModel import_torchscript(const std::filesystem::path& path, const LoadOptions&) {
  return {torchscript::import_torchscript_file(path), "", "pytorch (TorchScript)", 0, false, {}};
}

struct Frontend {
  std::string_view extension;
  std::string_view description;
  ImportFunction import;  // null while the frontend is planned but not written
};

// New frontends drop in here: one row per file format.
constexpr std::array<Frontend, 3> kFrontends{{
    {".onnx", "ONNX (torch.onnx.export)", &import_onnx},
    {".pt2", "torch.export archive (torch.export.save)", &import_pt2},
    {".pt", "TorchScript archive (torch.jit.save)", &import_torchscript},
}};

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

}  // namespace

std::vector<ModelFormat> model_formats() {
  std::vector<ModelFormat> formats;
  for (const Frontend& frontend : kFrontends) {
    formats.push_back({std::string(frontend.extension), std::string(frontend.description),
                       frontend.import != nullptr});
  }
  return formats;
}

LoadedModel open_model(const std::filesystem::path& path, const LoadOptions& options) {
  std::string extension = lowercase(path.extension().string());
  auto frontend = std::find_if(kFrontends.begin(), kFrontends.end(),
                               [&](const Frontend& f) { return f.extension == extension; });
  if (frontend == kFrontends.end()) {
    fail(ErrorKind::Unsupported, "'", path.string(), "': unknown model format '", extension,
         "' (Kiln reads .onnx, .pt2 and .pt)");
  }
  if (frontend->import == nullptr) {
    fail(ErrorKind::Unsupported, "'", path.string(), "': ", frontend->description,
         " models are not supported yet (planned); export to ONNX meanwhile");
  }
  std::error_code error;
  check(std::filesystem::is_regular_file(path, error), ErrorKind::InvalidArgument, "model file '",
        path.string(), "' does not exist or is not a file");
  LoadedModel model = frontend->import(path, options);
  model.format = frontend->description;
  // Placeholder nodes for unsupported ops have no schema, so the passes cannot run.
  if (options.optimize && model.unsupported.empty()) {
    passes::optimize(model.graph);
    model.optimized = true;
  }
  return model;
}

ir::Graph load_model(const std::filesystem::path& path, const LoadOptions& options) {
  return open_model(path, options).graph;
}

}  // namespace kiln
