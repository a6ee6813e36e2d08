// .safetensors reading and writing: an 8-byte little-endian header length, a JSON header
// naming each tensor's dtype, shape and byte range, then the packed tensor bytes.
#include <algorithm>
#include <array>
#include <limits>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/file.h"
#include "core/tensor_io.h"

namespace kiln {
namespace {

using Json = nlohmann::json;

constexpr uint64_t kMaxHeaderBytes = 100u << 20;  // the format's own reader caps it likewise
constexpr std::string_view kMetadataKey = "__metadata__";

constexpr std::array<std::pair<std::string_view, DType>, 10> kSafetensorsTypes{
    {{"F32", DType::Float32},
     {"F16", DType::Float16},
     {"BF16", DType::BFloat16},
     {"F64", DType::Float64},
     {"I8", DType::Int8},
     {"I16", DType::Int16},
     {"I32", DType::Int32},
     {"I64", DType::Int64},
     {"U8", DType::UInt8},
     {"BOOL", DType::Bool}}};

struct Entry {
  std::string name;
  DType dtype;
  Dims dims;
  uint64_t begin;
  uint64_t end;
};

std::string_view safetensors_type_name(DType dtype) {
  for (const auto& [name, value] : kSafetensorsTypes) {
    if (value == dtype) return name;
  }
  fail(ErrorKind::Unsupported, "cannot write a ", dtype_name(dtype), " tensor as .safetensors");
}

// Reads a JSON number that must be a non-negative integer fitting in int64.
uint64_t json_size(const Json& value, const std::string& what, const std::string& source) {
  check(value.is_number_unsigned() &&
            value.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()),
        ErrorKind::InvalidArgument, "'", source, "': ", what,
        " must be a non-negative integer, got ", value.dump());
  return value.get<uint64_t>();
}

Entry parse_entry(const std::string& name, const Json& spec, const std::string& source) {
  std::string where = "tensor '" + name + "'";
  check(spec.is_object() && spec.contains("dtype") && spec.contains("shape") &&
            spec.contains("data_offsets"),
        ErrorKind::InvalidArgument, "'", source, "': ", where,
        " needs an object with dtype, shape and data_offsets");
  const Json& dtype = spec["dtype"];
  check(dtype.is_string(), ErrorKind::InvalidArgument, "'", source, "': ", where,
        " has a non-string dtype");
  Entry entry{name, DType::Undefined, {}, 0, 0};
  for (const auto& [type_name, value] : kSafetensorsTypes) {
    if (type_name == dtype.get<std::string>()) entry.dtype = value;
  }
  check(entry.dtype != DType::Undefined, ErrorKind::Unsupported, "'", source, "': ", where,
        " has dtype ", dtype.get<std::string>(),
        ", which Kiln does not read (supported: F32 F16 BF16 F64 I8 I16 I32 I64 U8 BOOL)");

  const Json& shape = spec["shape"];
  check(shape.is_array(), ErrorKind::InvalidArgument, "'", source, "': ", where,
        " has a shape that is not a list");
  for (const Json& dim : shape) {
    entry.dims.push_back(static_cast<int64_t>(json_size(dim, where + " dimension", source)));
  }
  const Json& offsets = spec["data_offsets"];
  check(offsets.is_array() && offsets.size() == 2, ErrorKind::InvalidArgument, "'", source,
        "': ", where, " needs data_offsets [begin, end]");
  entry.begin = json_size(offsets[0], where + " data_offsets", source);
  entry.end = json_size(offsets[1], where + " data_offsets", source);
  return entry;
}

// Checks that every tensor's range fits its dtype and shape, lies in the data, and that the
// ranges tile the data exactly (no overlaps, no holes), as the format requires.
void check_layout(std::vector<Entry>& entries, uint64_t data_size, const std::string& source) {
  for (const Entry& entry : entries) {
    uint64_t count = static_cast<uint64_t>(checked_element_count(entry.dims, source));
    uint64_t item = dtype_size(entry.dtype);
    check(entry.begin <= entry.end && entry.end <= data_size, ErrorKind::InvalidArgument, "'",
          source, "': tensor '", entry.name, "' has data_offsets [", entry.begin, ", ", entry.end,
          "] outside the ", data_size, " data bytes (truncated or corrupt)");
    check(count <= data_size / item && count * item == entry.end - entry.begin,
          ErrorKind::InvalidArgument, "'", source, "': tensor '", entry.name, "' of ",
          dtype_name(entry.dtype), " ", dims_to_string(entry.dims), " needs ", count, "x", item,
          " bytes but data_offsets span ", entry.end - entry.begin);
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin < b.begin || (a.begin == b.begin && a.end < b.end);
  });
  uint64_t covered = 0;
  for (const Entry& entry : entries) {
    check(entry.begin >= covered, ErrorKind::InvalidArgument, "'", source, "': tensor '",
          entry.name, "' overlaps another tensor's bytes");
    check(entry.begin == covered, ErrorKind::InvalidArgument, "'", source,
          "': bytes before tensor '", entry.name, "' belong to no tensor");
    covered = entry.end;
  }
  check(covered == data_size, ErrorKind::InvalidArgument, "'", source, "': the last ",
        data_size - covered, " data bytes belong to no tensor");
}

}  // namespace

std::map<std::string, Tensor> decode_safetensors(std::string_view bytes,
                                                 const std::string& source) {
  check(bytes.size() >= 8, ErrorKind::InvalidArgument, "'", source,
        "' is not a valid .safetensors file: shorter than its 8-byte header length");
  uint64_t header_size = 0;
  for (int i = 0; i < 8; ++i) {
    header_size |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[i])) << (8 * i);
  }
  check(header_size <= kMaxHeaderBytes && header_size <= bytes.size() - 8,
        ErrorKind::InvalidArgument, "'", source, "' is not a valid .safetensors file: header of ",
        header_size, " bytes does not fit in the file of ", bytes.size(), " bytes");
  Json header = Json::parse(bytes.substr(8, header_size), nullptr, /*allow_exceptions=*/false);
  check(!header.is_discarded() && header.is_object(), ErrorKind::InvalidArgument, "'", source,
        "' is not a valid .safetensors file: its header is not a JSON object");

  std::vector<Entry> entries;
  for (const auto& [name, spec] : header.items()) {
    if (name == kMetadataKey) continue;  // free-form string metadata; Kiln does not use it
    entries.push_back(parse_entry(name, spec, source));
  }
  std::string_view data = bytes.substr(8 + header_size);
  check_layout(entries, data.size(), source);

  std::map<std::string, Tensor> tensors;
  for (const Entry& entry : entries) {
    Tensor tensor = Tensor::from_bytes(entry.dtype, entry.dims, data.data() + entry.begin,
                                       entry.end - entry.begin);
    normalize_bool_bytes(tensor);
    tensors.emplace(entry.name, std::move(tensor));
  }
  return tensors;
}

std::string encode_safetensors(const std::map<std::string, Tensor>& tensors) {
  Json header = Json::object();
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    check(name != kMetadataKey, ErrorKind::InvalidArgument, "a tensor may not be named ",
          kMetadataKey, " in a .safetensors file");
    check(tensor.defined(), ErrorKind::InvalidArgument, "tensor '", name,
          "' is empty and cannot be written");
    header[name] = {{"dtype", std::string(safetensors_type_name(tensor.dtype()))},
                    {"shape", tensor.dims()},
                    {"data_offsets", {offset, offset + tensor.nbytes()}}};
    offset += tensor.nbytes();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned

  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((text.size() >> (8 * i)) & 0xff));
  out += text;
  // Same order as the offsets above: std::map iterates by name, and so does the JSON object.
  for (const auto& [name, tensor] : tensors) {
    out.append(static_cast<const char*>(tensor.raw()), tensor.nbytes());
  }
  return out;
}

std::map<std::string, Tensor> read_safetensors(const std::filesystem::path& path) {
  return decode_safetensors(read_file(path), path.string());
}

void write_safetensors(const std::filesystem::path& path,
                       const std::map<std::string, Tensor>& tensors) {
  std::string bytes = encode_safetensors(tensors);
  write_file(path, bytes.data(), bytes.size());
}

}  // namespace kiln
