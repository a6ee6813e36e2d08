// The timing cache file: {"format": "kiln-timing-cache", "version": 1, "entries": {key: ms}}
// where ms is null for a layer the GPU could not run in that precision.
#include "engine/timing_cache.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "ir/printer.h"

namespace kiln::engine {
namespace {

constexpr const char* kFormat = "kiln-timing-cache";
constexpr int kVersion = 1;

}  // namespace

TimingCache TimingCache::load(const std::filesystem::path& path) {
  TimingCache cache;
  std::ifstream in(path);
  if (!in) return cache;
  try {
    nlohmann::json json = nlohmann::json::parse(in);
    check(json.value("format", "") == kFormat, ErrorKind::InvalidArgument,
          "not a Kiln timing cache");
    check(json.value("version", 0) == kVersion, ErrorKind::InvalidArgument, "timing cache version ",
          json.value("version", 0), " (this Kiln writes ", kVersion, ")");
    for (const auto& [key, ms] : json.at("entries").items()) {
      cache.entries_[key] = ms.is_null() ? std::nullopt : std::optional<double>(ms.get<double>());
    }
  } catch (const nlohmann::json::exception& error) {
    fail(ErrorKind::InvalidArgument, "timing cache '", path.string(),
         "' is not valid: ", error.what(), " (delete it to start afresh)");
  } catch (const Error& error) {
    fail(ErrorKind::InvalidArgument, "timing cache '", path.string(), "': ", error.what(),
         " (delete it to start afresh)");
  }
  return cache;
}

void TimingCache::save(const std::filesystem::path& path) const {
  nlohmann::json entries = nlohmann::json::object();
  for (const auto& [key, ms] : entries_)
    entries[key] = ms ? nlohmann::json(*ms) : nlohmann::json(nullptr);
  nlohmann::json json = {{"format", kFormat}, {"version", kVersion}, {"entries", entries}};
  std::filesystem::path temporary = path;
  temporary += ".tmp";
  {
    std::ofstream out(temporary);
    check(static_cast<bool>(out), ErrorKind::InvalidArgument, "cannot write timing cache '",
          path.string(), "'");
    out << json.dump(1) << '\n';
  }
  std::filesystem::rename(temporary, path);  // readers never see half a file
}

std::optional<std::optional<double>> TimingCache::find(const std::string& key) const {
  auto found = entries_.find(key);
  if (found == entries_.end()) return std::nullopt;
  return found->second;
}

std::string layer_signature(const ir::Node& node, Precision precision,
                            const std::string& architecture) {
  std::ostringstream key;
  key << architecture << ' ' << node.op << ' ' << precision_name(precision) << " in";
  for (const ir::Value* input : node.inputs) {
    if (input == nullptr) {
      key << " -";
      continue;
    }
    // Float tensors are timed in the precision's storage dtype, whatever the model stores.
    DType timed =
        is_float_storage(input->dtype) ? precision_storage_dtype(precision) : input->dtype;
    key << ' ' << dtype_name(timed) << input->shape.to_string()
        << (input->is_constant() ? "c" : "");
  }
  for (const auto& [name, value] : node.attrs) {
    key << ' ';
    ir::print_attribute(key, node, name, value);
  }
  return key.str();
}

}  // namespace kiln::engine
