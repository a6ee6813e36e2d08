// The timing cache file: {"format": "kiln-timing-cache", "version": 2, "entries": {key: ms},
// "kernels": {toolchain: {kernel name: base64 cubin}}} where ms is null for a layer the GPU
// could not run in that precision. Version 1 files (no kernels) still load.
#include "engine/timing_cache.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/base64.h"
#include "core/error.h"
#include "ir/printer.h"

namespace kiln::engine {
namespace {

constexpr const char* kFormat = "kiln-timing-cache";
constexpr int kVersion = 2;
constexpr int kOldestVersion = 1;  // before cached kernels

}  // namespace

TimingCache TimingCache::load(const std::filesystem::path& path) {
  TimingCache cache;
  std::ifstream in(path);
  if (!in) return cache;
  try {
    nlohmann::json json = nlohmann::json::parse(in);
    check(json.value("format", "") == kFormat, ErrorKind::InvalidArgument,
          "not a Kiln timing cache");
    int version = json.value("version", 0);
    check(version >= kOldestVersion && version <= kVersion, ErrorKind::InvalidArgument,
          "timing cache version ", version, " (this Kiln reads ", kOldestVersion, " to ", kVersion,
          ")");
    for (const auto& [key, ms] : json.at("entries").items()) {
      cache.entries_[key] = ms.is_null() ? std::nullopt : std::optional<double>(ms.get<double>());
    }
    if (json.contains("kernels")) {
      for (const auto& [toolchain, cubins] : json.at("kernels").items()) {
        for (const auto& [name, text] : cubins.items())
          cache.kernels_[toolchain][name] = base64_decode(text.get<std::string>());
      }
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
  nlohmann::json kernels = nlohmann::json::object();
  for (const auto& [toolchain, cubins] : kernels_) {
    for (const auto& [name, cubin] : cubins) kernels[toolchain][name] = base64_encode(cubin);
  }
  nlohmann::json json = {
      {"format", kFormat}, {"version", kVersion}, {"entries", entries}, {"kernels", kernels}};
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

std::map<std::string, std::string> TimingCache::kernels(const std::string& toolchain) const {
  auto found = kernels_.find(toolchain);
  return found == kernels_.end() ? std::map<std::string, std::string>{} : found->second;
}

void TimingCache::insert_kernels(const std::string& toolchain,
                                 const std::map<std::string, std::string>& cubins) {
  if (!cubins.empty()) kernels_[toolchain].insert(cubins.begin(), cubins.end());
}

size_t TimingCache::kernel_count() const {
  size_t count = 0;
  for (const auto& [toolchain, cubins] : kernels_) count += cubins.size();
  return count;
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
