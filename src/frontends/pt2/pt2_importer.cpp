// The public entry points of the torch.export frontend; JSON library exceptions that slip
// past the checked readers become InvalidModel errors naming the file.
#include "frontends/pt2/pt2_importer.h"

#include <new>

#include "frontends/pt2/pt2_json.h"
#include "frontends/pt2/pt2_program.h"

namespace kiln::pt2 {
namespace {

template <typename Open>
Pt2ImportResult guarded_import(const std::string& label, const Pt2ImportOptions& options,
                               Open open) {
  try {
    return import_program(open(), options);
  } catch (const Json::exception& error) {
    fail(ErrorKind::InvalidModel, label, ": malformed program JSON (", error.what(), ")");
  } catch (const std::bad_alloc&) {
    fail(ErrorKind::Runtime, label, ": out of memory while importing");
  }
}

}  // namespace

Pt2ImportResult import_pt2_model(const std::filesystem::path& path,
                                 const Pt2ImportOptions& options) {
  return guarded_import(path.string(), options,
                        [&] { return Pt2Archive::open_file(path, kPt2Archive); });
}

Pt2ImportResult import_pt2_model_bytes(const std::string& bytes, const std::string& label,
                                       const Pt2ImportOptions& options) {
  return guarded_import(label, options,
                        [&] { return Pt2Archive::open_bytes(bytes, label, kPt2Archive); });
}

ir::Graph import_pt2_file(const std::filesystem::path& path) {
  return import_pt2_model(path).graph;
}

ir::Graph import_pt2_bytes(const std::string& bytes, const std::string& label) {
  return import_pt2_model_bytes(bytes, label).graph;
}

std::string normalize_target(std::string_view target) {
  constexpr std::string_view kTorchOps = "torch.ops.";
  constexpr std::string_view kOperator = "_operator.";
  if (target.starts_with(kTorchOps)) return std::string(target.substr(kTorchOps.size()));
  if (target.starts_with(kOperator))
    return "operator." + std::string(target.substr(kOperator.size()));
  constexpr std::string_view kBuiltin = "<built-in function ";
  if (target.starts_with(kBuiltin) && target.ends_with(">")) {
    return "operator." +
           std::string(target.substr(kBuiltin.size(), target.size() - kBuiltin.size() - 1));
  }
  return std::string(target);
}

}  // namespace kiln::pt2
