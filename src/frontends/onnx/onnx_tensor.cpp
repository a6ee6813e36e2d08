// Reads ONNX TensorProtos: checks dtype and byte counts, decodes the typed fields, shares
// raw_data and external data files in place where alignment allows.
#include "onnx_tensor.h"

#include <bit>
#include <charconv>
#include <cstring>
#include <limits>

#include "core/error.h"

namespace kiln::onnx {
namespace {

static_assert(std::endian::native == std::endian::little,
              "ONNX raw data is little-endian; Kiln reads it in place");

using ::onnx::TensorProto;

struct DTypeCode {
  TensorProto::DataType code;
  DType dtype;
};
constexpr DTypeCode kDTypeCodes[] = {
    {TensorProto::FLOAT, DType::Float32},     {TensorProto::FLOAT16, DType::Float16},
    {TensorProto::BFLOAT16, DType::BFloat16}, {TensorProto::DOUBLE, DType::Float64},
    {TensorProto::INT8, DType::Int8},         {TensorProto::INT16, DType::Int16},
    {TensorProto::INT32, DType::Int32},       {TensorProto::INT64, DType::Int64},
    {TensorProto::UINT8, DType::UInt8},       {TensorProto::BOOL, DType::Bool},
};

int64_t checked_element_count(const Dims& dims, size_t element_size, const std::string& what) {
  int64_t count = 1;
  for (int64_t dim : dims) {
    check(dim >= 0, ErrorKind::InvalidModel, what, " has a negative dimension in ",
          dims_to_string(dims));
    check(dim == 0 || count <= std::numeric_limits<int64_t>::max() / dim, ErrorKind::InvalidModel,
          what, " has dims ", dims_to_string(dims), " whose element count overflows");
    count *= dim;
  }
  check(count <= std::numeric_limits<int64_t>::max() / static_cast<int64_t>(element_size),
        ErrorKind::InvalidModel, what, " has dims ", dims_to_string(dims),
        " whose byte size overflows");
  return count;
}

// Values of INT8/INT16/UINT8/BOOL/FLOAT16/BFLOAT16/INT32 in int32_data: one element per
// entry; 16-bit floats as their bit pattern in the low 16 bits.
template <typename T>
void fill_from_int32(const TensorProto& proto, Tensor& tensor) {
  T* out = tensor.data_mutable<T>();
  for (int i = 0; i < proto.int32_data_size(); ++i) {
    int32_t value = proto.int32_data(i);
    if constexpr (std::is_same_v<T, float16> || std::is_same_v<T, bfloat16>) {
      out[i] = T{static_cast<uint16_t>(static_cast<uint32_t>(value) & 0xffffu)};
    } else if constexpr (std::is_same_v<T, bool>) {
      out[i] = value != 0;
    } else {
      out[i] = static_cast<T>(value);
    }
  }
}

// The typed field ONNX uses for `dtype`, and how many values it holds.
struct TypedField {
  const char* name;
  int size;
};
TypedField typed_field_for(const TensorProto& proto, DType dtype) {
  switch (dtype) {
    case DType::Float32:
      return {"float_data", proto.float_data_size()};
    case DType::Float64:
      return {"double_data", proto.double_data_size()};
    case DType::Int64:
      return {"int64_data", proto.int64_data_size()};
    default:
      return {"int32_data", proto.int32_data_size()};
  }
}

Tensor from_typed_fields(const TensorProto& proto, DType dtype, const Dims& dims, int64_t count,
                         const std::string& what) {
  TypedField field = typed_field_for(proto, dtype);
  int total = proto.float_data_size() + proto.double_data_size() + proto.int64_data_size() +
              proto.int32_data_size() + proto.uint64_data_size() + proto.string_data_size();
  check(total == field.size, ErrorKind::InvalidModel, what, " of dtype ",
        onnx_dtype_name(proto.data_type()), " keeps values in a field other than ", field.name,
        ", where ONNX puts them");
  check(field.size == count, ErrorKind::InvalidModel, what, " has ", field.size, " values in ",
        field.name, " but its dims ", dims_to_string(dims), " need ", count);
  Tensor tensor(dtype, dims);
  if (count == 0) return tensor;
  switch (dtype) {
    case DType::Float32:
      std::memcpy(tensor.raw_mutable(), proto.float_data().data(), tensor.nbytes());
      break;
    case DType::Float64:
      std::memcpy(tensor.raw_mutable(), proto.double_data().data(), tensor.nbytes());
      break;
    case DType::Int64:
      std::memcpy(tensor.raw_mutable(), proto.int64_data().data(), tensor.nbytes());
      break;
    default:
      visit_dtype(dtype,
                  [&](auto type_tag) { fill_from_int32<decltype(type_tag)>(proto, tensor); });
  }
  return tensor;
}

uint64_t parse_external_number(const std::string& text, const std::string& key,
                               const std::string& what) {
  uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  check(error == std::errc() && end == text.data() + text.size() && !text.empty(),
        ErrorKind::InvalidModel, what, " has external data ", key, " '", text,
        "', which is not a non-negative integer");
  return value;
}

}  // namespace

std::optional<DType> dtype_from_onnx(int64_t code) {
  for (const DTypeCode& entry : kDTypeCodes) {
    if (entry.code == code) return entry.dtype;
  }
  return std::nullopt;
}

std::string onnx_dtype_name(int64_t code) {
  if (code >= std::numeric_limits<int>::min() && code <= std::numeric_limits<int>::max() &&
      TensorProto::DataType_IsValid(static_cast<int>(code))) {
    return TensorProto::DataType_Name(static_cast<TensorProto::DataType>(code));
  }
  return "code " + std::to_string(code);
}

std::string supported_onnx_dtypes() {
  std::string names;
  for (const DTypeCode& entry : kDTypeCodes) {
    names += (names.empty() ? "" : ", ") + TensorProto::DataType_Name(entry.code);
  }
  return names;
}

DType require_dtype(int64_t code, const std::string& what) {
  std::optional<DType> dtype = dtype_from_onnx(code);
  check(dtype.has_value(), ErrorKind::Unsupported, what, " has dtype ", onnx_dtype_name(code),
        "; Kiln supports ", supported_onnx_dtypes());
  return *dtype;
}

TensorReader::TensorReader(std::filesystem::path base_folder,
                           std::shared_ptr<const void> proto_owner)
    : base_folder_(std::move(base_folder)), proto_owner_(std::move(proto_owner)) {}

Tensor TensorReader::read(const TensorProto& proto, const std::string& what) {
  check(!proto.has_segment(), ErrorKind::Unsupported, what,
        " is a segmented tensor, which Kiln does not read; re-save the model without segments");
  DType dtype = require_dtype(proto.data_type(), what);
  Dims dims(proto.dims().begin(), proto.dims().end());
  int64_t count = checked_element_count(dims, dtype_size(dtype), what);
  size_t byte_count = static_cast<size_t>(count) * dtype_size(dtype);
  if (proto.data_location() == TensorProto::EXTERNAL) {
    return from_external(proto, dtype, dims, what);
  }
  if (proto.has_raw_data()) {
    const std::string& raw = proto.raw_data();
    check(raw.size() == byte_count, ErrorKind::InvalidModel, what, " has ", raw.size(),
          " bytes of raw_data but its dims ", dims_to_string(dims), " of ", dtype_name(dtype),
          " need ", byte_count);
    return from_bytes(dtype, dims, proto_owner_, raw.data(), raw.size());
  }
  return from_typed_fields(proto, dtype, dims, count, what);
}

Tensor TensorReader::from_external(const TensorProto& proto, DType dtype, const Dims& dims,
                                   const std::string& what) {
  check(!base_folder_.empty(), ErrorKind::InvalidArgument, what,
        " keeps its data in an external file, but the model was given as bytes without a "
        "folder; import it from its file instead");
  std::string location;
  std::optional<uint64_t> offset, length;
  for (const auto& entry : proto.external_data()) {
    if (entry.key() == "location") location = entry.value();
    if (entry.key() == "offset") offset = parse_external_number(entry.value(), "offset", what);
    if (entry.key() == "length") length = parse_external_number(entry.value(), "length", what);
  }
  check(!location.empty(), ErrorKind::InvalidModel, what,
        " is marked EXTERNAL but names no 'location'");
  std::filesystem::path relative(location);
  check(!relative.has_root_path(), ErrorKind::InvalidModel, what, " has external data at '",
        location, "', an absolute path; ONNX external data must be relative to the model's folder");
  std::filesystem::path full = base_folder_ / relative;
  check(path_is_inside(base_folder_, full), ErrorKind::InvalidModel, what,
        " has external data at '", location, "', which lies outside the model's folder '",
        base_folder_.string(), "'");

  size_t byte_count = static_cast<size_t>(element_count(dims)) * dtype_size(dtype);
  auto cached = mapped_files_.find(full);
  if (cached == mapped_files_.end()) {
    std::shared_ptr<MappedFile> file;
    try {
      file = MappedFile::open(full);
    } catch (const Error& error) {
      fail(ErrorKind::InvalidModel, what, ": cannot read its external data: ", error.what());
    }
    cached = mapped_files_.emplace(full, std::move(file)).first;
  }
  const MappedFile& file = *cached->second;
  uint64_t begin = offset.value_or(0);
  uint64_t size = length.value_or(byte_count);
  check(size == byte_count, ErrorKind::InvalidModel, what, " has external data length ", size,
        " but its dims ", dims_to_string(dims), " of ", dtype_name(dtype), " need ", byte_count);
  check(begin <= file.size() && size <= file.size() - begin, ErrorKind::InvalidModel, what,
        " reads ", size, " bytes at offset ", begin, " of '", location, "', which has only ",
        file.size(), " bytes");
  if (byte_count == 0) return Tensor(dtype, dims);
  return from_bytes(dtype, dims, cached->second, file.data() + begin, size);
}

Tensor TensorReader::from_bytes(DType dtype, const Dims& dims, std::shared_ptr<const void> owner,
                                const void* bytes, size_t byte_count) {
  if (dtype == DType::Bool) {
    // C++ bool must hold 0 or 1; files may store any non-zero byte for true.
    Tensor tensor(dtype, dims);
    const auto* in = static_cast<const uint8_t*>(bytes);
    bool* out = tensor.data_mutable<bool>();
    for (size_t i = 0; i < byte_count; ++i) out[i] = in[i] != 0;
    return tensor;
  }
  bool aligned = reinterpret_cast<uintptr_t>(bytes) % dtype_size(dtype) == 0;
  if (owner && aligned && byte_count > 0) {
    return Tensor::from_mapped(dtype, dims, std::move(owner), bytes, byte_count);
  }
  return Tensor::from_bytes(dtype, dims, bytes, byte_count);
}

}  // namespace kiln::onnx
