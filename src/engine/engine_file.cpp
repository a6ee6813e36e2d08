// Writing and reading the engine file. Layout (little-endian):
//   prefix   magic "KILNENG\0", u32 format version, u32 zero, then u64 offset/size pairs of
//            the header JSON, the manifest JSON and the weight section
//   header   JSON: Kiln version, CUDA version, GPU architecture and name, build config,
//            layer timings, the GPU algorithms the build chose ("tuned_algorithms", absent
//            in engines built without a GPU or before they were stored)
//   manifest JSON: the graph (engine_manifest.cpp), prepared weights marked "stored_dtype"
//   weights  each tensor aligned to 256 bytes from the section start (itself 256-aligned),
//            then the compiled generated kernels (cubins), listed in the header by name,
//            offset and size (absent in engines written before kernels were stored)
//   checksum u64 FNV-1a over every byte before it
#include "engine/engine_file.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <fstream>

#include "core/error.h"
#include "core/file.h"
#include "core/fnv1a.h"
#include "engine/engine_manifest.h"
#include "ir/verifier.h"

namespace kiln::engine {
namespace {

using Json = nlohmann::json;

constexpr char kMagic[8] = {'K', 'I', 'L', 'N', 'E', 'N', 'G', '\0'};

struct Prefix {
  char magic[8];
  uint32_t format_version;
  uint32_t reserved;
  uint64_t header_offset, header_size;
  uint64_t manifest_offset, manifest_size;
  uint64_t weights_offset, weights_size;
};
static_assert(sizeof(Prefix) == 64);
static_assert(std::endian::native == std::endian::little, "the engine file is little-endian");

// Writes to a stream while hashing what was written.
class HashingWriter {
 public:
  explicit HashingWriter(const std::filesystem::path& path) : out_(path, std::ios::binary) {
    check(out_.good(), ErrorKind::InvalidArgument, "cannot write engine file '", path.string(),
          "' (check that the folder exists and is writable)");
  }
  void write(const void* bytes, size_t size) {
    out_.write(static_cast<const char*>(bytes), static_cast<std::streamsize>(size));
    hash_.add(bytes, size);
    written_ += size;
  }
  void pad_to(uint64_t position) {
    static const char zeros[kWeightAlignment] = {};
    while (written_ < position) write(zeros, std::min<uint64_t>(position - written_, sizeof zeros));
  }
  uint64_t written() const { return written_; }
  void finish(const std::filesystem::path& path) {
    uint64_t checksum = hash_.value();
    out_.write(reinterpret_cast<const char*>(&checksum), sizeof checksum);
    out_.close();
    check(!out_.fail(), ErrorKind::InvalidArgument, "writing engine file '", path.string(),
          "' failed (disk full?)");
  }

 private:
  std::ofstream out_;
  Fnv1a hash_;
  uint64_t written_ = 0;
};

Json config_to_json(const BuildConfig& config) {
  Json precisions = Json::array(), layers = Json::object();
  for (Precision precision : config.enabled_precisions)
    precisions.push_back(precision_name(precision));
  for (const auto& [key, precision] : config.layer_precisions)
    layers[key] = precision_name(precision);
  Json tuned_dims = Json::object();
  for (const auto& [input, dims] : config.tuned_input_dims) tuned_dims[input] = dims;
  return {{"enabled_precisions", precisions},
          {"strongly_typed", config.strongly_typed},
          {"layer_precisions", layers},
          {"workspace_bytes", config.workspace_bytes},
          {"channels_last", config.channels_last},
          {"tuned_input_dims", tuned_dims}};
}

Json timings_to_json(const LayerTimings& timings) {
  Json json = Json::object();
  for (const auto& [layer, by_precision] : timings) {
    Json layer_json = Json::object();
    for (const auto& [precision, ms] : by_precision) {
      // JSON has no NaN or infinity; a reader would take them for corruption.
      check(std::isfinite(ms) && ms >= 0, ErrorKind::InvalidArgument, "layer '", layer,
            "' has timing ", ms, " ms in ", precision_name(precision),
            "; a timing must be a finite, non-negative number");
      layer_json[std::string(precision_name(precision))] = ms;
    }
    json[layer] = layer_json;
  }
  return json;
}

Precision precision_from_json(const Json& json, const std::string& file) {
  std::optional<Precision> precision = precision_from_name(json.get<std::string>());
  check(precision.has_value(), ErrorKind::InvalidModel, "engine file '", file,
        "' names an unknown precision '", json.get<std::string>(), "'");
  return *precision;
}

BuildConfig config_from_json(const Json& json, const std::string& file) {
  BuildConfig config;
  config.enabled_precisions.clear();
  for (const Json& name : json.at("enabled_precisions")) {
    config.enabled_precisions.insert(precision_from_json(name, file));
  }
  config.strongly_typed = json.at("strongly_typed").get<bool>();
  for (const auto& [key, name] : json.at("layer_precisions").items()) {
    config.layer_precisions[key] = precision_from_json(name, file);
  }
  config.workspace_bytes = json.at("workspace_bytes").get<size_t>();
  config.channels_last = json.value("channels_last", false);  // engines before the option: NCHW
  for (const auto& [input, dims] : json.at("tuned_input_dims").items()) {
    config.tuned_input_dims[input] = dims.get<Dims>();
  }
  return config;
}

LayerTimings timings_from_json(const Json& json, const std::string& file) {
  LayerTimings timings;
  for (const auto& [layer, by_precision] : json.items()) {
    for (const auto& [name, ms] : by_precision.items()) {
      timings[layer][precision_from_json(name, file)] = ms.get<double>();
    }
  }
  return timings;
}

uint64_t align_up(uint64_t value) {
  return (value + kWeightAlignment - 1) / kWeightAlignment * kWeightAlignment;
}

[[noreturn]] void fail_corrupt(const std::string& file, const std::string& why) {
  fail(ErrorKind::InvalidModel, "engine file '", file, "' is corrupt or truncated: ", why,
       " (rebuild it with 'kiln build')");
}

// True if [offset, offset + size) lies within [0, limit).
bool section_fits(uint64_t offset, uint64_t size, uint64_t limit) {
  return offset <= limit && size <= limit - offset;
}

}  // namespace

std::string kiln_version() { return KILN_ENGINE_KILN_VERSION; }

void write_engine(const std::filesystem::path& path, const ir::Graph& graph,
                  const BuildConfig& config, const EngineHeader& header,
                  const LayerTimings& layer_timings,
                  const std::map<std::string, std::string>& kernels,
                  const std::string& tuned_algorithms) {
  check(!header.gpu_architecture.empty(), ErrorKind::InvalidArgument,
        "engine header: the GPU architecture is empty (use \"none\" for an engine built "
        "without CUDA)");
  Manifest manifest = graph_to_manifest(graph);
  // Kernels follow the weights in the blob section, each 256-byte aligned.
  Json kernel_list = Json::array();
  uint64_t blobs_size = manifest.weights_size;
  for (const auto& [name, cubin] : kernels) {
    blobs_size = align_up(blobs_size);
    kernel_list.push_back({{"name", name}, {"offset", blobs_size}, {"size", cubin.size()}});
    blobs_size += cubin.size();
  }
  blobs_size = align_up(blobs_size);
  Json header_json{{"kiln_version", kiln_version()},
                   {"cuda_version", header.cuda_version},
                   {"gpu_architecture", header.gpu_architecture},
                   {"gpu_name", header.gpu_name},
                   {"build_config", config_to_json(config)},
                   {"layer_timings", timings_to_json(layer_timings)},
                   {"kernels", kernel_list}};
  if (!tuned_algorithms.empty()) {
    try {
      header_json["tuned_algorithms"] = Json::parse(tuned_algorithms);
    } catch (const nlohmann::json::exception& error) {
      fail(ErrorKind::InvalidArgument, "the engine's tuned algorithms are not JSON (", error.what(),
           ")");
    }
  }
  std::string header_text = header_json.dump();
  std::string manifest_text = manifest.json.dump();

  Prefix prefix{};
  std::memcpy(prefix.magic, kMagic, sizeof kMagic);
  prefix.format_version = kEngineFormatVersion;
  prefix.header_offset = sizeof(Prefix);
  prefix.header_size = header_text.size();
  prefix.manifest_offset = prefix.header_offset + prefix.header_size;
  prefix.manifest_size = manifest_text.size();
  prefix.weights_offset = align_up(prefix.manifest_offset + prefix.manifest_size);
  prefix.weights_size = blobs_size;

  HashingWriter out(path);
  out.write(&prefix, sizeof prefix);
  out.write(header_text.data(), header_text.size());
  out.write(manifest_text.data(), manifest_text.size());
  for (const WeightBlob& blob : manifest.weights) {
    out.pad_to(prefix.weights_offset + blob.offset);
    out.write(blob.tensor.raw(), blob.tensor.nbytes());
  }
  // Where the header says each kernel is: the weight section starts 256-byte aligned, so
  // aligning the file position aligns the offset within the section alike.
  for (const auto& [name, cubin] : kernels) {
    out.pad_to(align_up(out.written()));
    out.write(cubin.data(), cubin.size());
  }
  out.pad_to(prefix.weights_offset + prefix.weights_size);
  out.finish(path);
}

bool is_engine_file(const std::filesystem::path& path) {
  if (path.extension() == ".kiln") return true;
  std::ifstream in(path, std::ios::binary);
  char magic[sizeof kMagic] = {};
  in.read(magic, sizeof magic);
  return in.gcount() == sizeof magic && std::memcmp(magic, kMagic, sizeof kMagic) == 0;
}

LoadedEngine read_engine(const std::filesystem::path& path) {
  const std::string file = path.string();
  std::shared_ptr<MappedFile> mapped = MappedFile::open(path);
  const uint8_t* bytes = mapped->data();
  const uint64_t size = mapped->size();

  Prefix prefix{};
  if (size < sizeof(Prefix) + sizeof(uint64_t) &&
      std::memcmp(bytes ? bytes : reinterpret_cast<const uint8_t*>(kMagic), kMagic,
                  std::min<size_t>(size, sizeof kMagic)) == 0) {
    fail_corrupt(file, "it is only " + std::to_string(size) + " bytes, shorter than its header");
  }
  if (std::memcmp(bytes, kMagic, sizeof kMagic) != 0) {
    fail(ErrorKind::InvalidModel, "'", file,
         "' is not a Kiln engine file (it does not start with \"KILNENG\"); build one with "
         "'kiln build MODEL -o FILE.kiln'");
  }
  std::memcpy(&prefix, bytes, sizeof prefix);
  if (prefix.format_version != kEngineFormatVersion) {
    fail(ErrorKind::Unsupported, "engine file '", file, "' has format version ",
         prefix.format_version, " but this Kiln (", kiln_version(), ") supports only version ",
         kEngineFormatVersion, "; rebuild it with this Kiln's 'kiln build'");
  }
  const uint64_t body = size - sizeof(uint64_t);  // everything before the checksum
  if (!section_fits(prefix.header_offset, prefix.header_size, body) ||
      !section_fits(prefix.manifest_offset, prefix.manifest_size, body) ||
      !section_fits(prefix.weights_offset, prefix.weights_size, body) ||
      prefix.weights_offset + prefix.weights_size != body) {
    fail_corrupt(file, "its sections do not fit its " + std::to_string(size) + " bytes");
  }
  Fnv1a hash;
  hash.add(bytes, body);
  uint64_t stored = 0;
  std::memcpy(&stored, bytes + body, sizeof stored);
  if (hash.value() != stored) fail_corrupt(file, "its checksum does not match its contents");

  LoadedEngine engine;
  try {
    Json header = Json::parse(bytes + prefix.header_offset,
                              bytes + prefix.header_offset + prefix.header_size);
    engine.header.format_version = prefix.format_version;
    engine.header.kiln_version = header.at("kiln_version").get<std::string>();
    engine.header.cuda_version = header.at("cuda_version").get<int>();
    engine.header.gpu_architecture = header.at("gpu_architecture").get<std::string>();
    engine.header.gpu_name = header.at("gpu_name").get<std::string>();
    engine.config = config_from_json(header.at("build_config"), file);
    engine.layer_timings = timings_from_json(header.at("layer_timings"), file);
    if (header.contains("tuned_algorithms"))
      engine.tuned_algorithms = header.at("tuned_algorithms").dump();
    for (const Json& kernel : header.value("kernels", Json::array())) {
      uint64_t offset = kernel.at("offset").get<uint64_t>(),
               bytes_size = kernel.at("size").get<uint64_t>();
      if (!section_fits(offset, bytes_size, prefix.weights_size))
        fail_corrupt(file,
                     "kernel '" + kernel.at("name").get<std::string>() + "' lies outside the file");
      const auto* start = reinterpret_cast<const char*>(bytes + prefix.weights_offset + offset);
      engine.kernels[kernel.at("name").get<std::string>()] = std::string(start, bytes_size);
    }
    Json manifest = Json::parse(bytes + prefix.manifest_offset,
                                bytes + prefix.manifest_offset + prefix.manifest_size);
    WeightSection weights{std::shared_ptr<const void>(mapped, bytes + prefix.weights_offset),
                          bytes + prefix.weights_offset, prefix.weights_size};
    ManifestGraph read = manifest_to_graph(manifest, weights, file);
    engine.graph = std::move(read.graph);
    engine.prepared_weights = std::move(read.prepared_weights);
  } catch (const nlohmann::json::exception& error) {
    fail_corrupt(file, std::string("its manifest is malformed (") + error.what() + ")");
  }
  ir::verify(engine.graph);
  return engine;
}

void check_engine_architecture(const EngineHeader& header, const std::string& file,
                               const std::string& gpu_architecture, const std::string& gpu_name) {
  if (header.gpu_architecture == "none" || header.gpu_architecture == gpu_architecture) return;
  fail(ErrorKind::Unsupported, "engine file '", file, "' was built for ", header.gpu_architecture,
       " (", header.gpu_name.empty() ? "unnamed GPU" : header.gpu_name, ", CUDA ",
       header.cuda_version, "); this GPU is ", gpu_architecture, " (", gpu_name,
       "): rebuild it here with `kiln build`");
}

}  // namespace kiln::engine
