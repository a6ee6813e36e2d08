// ScalarType codes, TensorMeta and weight payloads of torch.export archives.
#include "frontends/pt2/pt2_tensors.h"

#include <cctype>
#include <cstring>
#include <map>

#include "core/tensor_io.h"

namespace kiln::pt2 {
namespace {

// Codes from torch/_export/serde/schema.py (ScalarType); note they are not c10's numbers.
const std::map<int64_t, DType>& supported_scalar_types() {
  static const std::map<int64_t, DType> types{
      {1, DType::UInt8}, {2, DType::Int8},     {3, DType::Int16},   {4, DType::Int32},
      {5, DType::Int64}, {6, DType::Float16},  {7, DType::Float32}, {8, DType::Float64},
      {12, DType::Bool}, {13, DType::BFloat16}};
  return types;
}

const char* unsupported_scalar_type_name(int64_t code) {
  switch (code) {
    case 9:
      return "complex32";
    case 10:
      return "complex64";
    case 11:
      return "complex128";
    case 28:
      return "uint16";
    case 29:
      return "float8_e4m3fn";
    case 30:
      return "float8_e5m2";
    case 31:
      return "float8_e4m3fnuz";
    case 32:
      return "float8_e5m2fnuz";
    default:
      return nullptr;
  }
}

int64_t static_int(const Json& sym_int, const std::string& where) {
  auto [kind, value] = union_member(sym_int, where);
  if (kind != "as_int") malformed(where, "expected a fixed size, got '", kind, "'");
  return int_value(*value, path_of(where, kind));
}

}  // namespace

DType dtype_from_scalar_type(int64_t code, const std::string& where) {
  auto it = supported_scalar_types().find(code);
  if (it != supported_scalar_types().end()) return it->second;
  if (const char* name = unsupported_scalar_type_name(code)) {
    fail(ErrorKind::Unsupported, where, ": dtype ", name, " is not supported");
  }
  malformed(where, "unknown ScalarType code ", code);
}

std::string symbol_of(const std::string& expr) {
  constexpr std::string_view kPrefix = "Symbol('";
  if (expr.starts_with(kPrefix)) {
    size_t end = expr.find('\'', kPrefix.size());
    if (end == std::string::npos) return {};
    bool closed = expr.find(')', end) == expr.size() - 1;  // nothing but options after it
    return closed ? expr.substr(kPrefix.size(), end - kPrefix.size()) : std::string();
  }
  bool identifier = !expr.empty() && std::isalpha(static_cast<unsigned char>(expr[0]));
  for (char c : expr)
    identifier = identifier && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
  return identifier ? expr : std::string();
}

ir::Dim dim_from_sym_int(const Json& sym_int, const std::string& where) {
  auto [kind, value] = union_member(sym_int, where);
  if (kind == "as_int") {
    int64_t size = int_value(*value, path_of(where, kind));
    if (size < 0) malformed(where, "negative size ", size);
    return ir::Dim::fixed(size);
  }
  if (kind == "as_expr") {
    std::string expr = string_value(member(*value, "expr_str", path_of(where, kind)),
                                    path_of(path_of(where, kind), "expr_str"));
    std::string symbol = symbol_of(expr);
    return symbol.empty() ? ir::Dim::unknown() : ir::Dim::named(symbol);
  }
  malformed(where, "unknown size kind '", kind, "'");
}

TensorMeta read_tensor_meta(const Json& meta, const std::string& where) {
  TensorMeta result;
  result.dtype = dtype_from_scalar_type(
      int_value(member(meta, "dtype", where), path_of(where, "dtype")), path_of(where, "dtype"));
  const Json& sizes = array_member(meta, "sizes", where);
  for (size_t i = 0; i < sizes.size(); ++i) {
    result.sizes.push_back(dim_from_sym_int(sizes[i], path_of(path_of(where, "sizes"), i)));
  }
  return result;
}

PayloadReader::PayloadReader(const Pt2Archive& archive, const std::string& folder)
    : archive_(archive), folder_(folder + "/") {
  std::string config_name =
      folder == "data/weights" ? "model_weights_config.json" : "model_constants_config.json";
  std::string path = folder_ + config_name;
  where_ = archive.label() + ": " + path;
  if (!archive.contains(path)) {
    config_ = Json::object();  // archives without weights or constants omit it
    return;
  }
  Json parsed = parse_json(*archive.read(path, "payload list"), where_);
  config_ = object_member(parsed, "config", where_);
}

bool PayloadReader::has(const std::string& fqn) const { return config_.contains(fqn); }

Tensor PayloadReader::read(const std::string& fqn) const {
  std::string where = path_of(where_ + ": config", fqn);
  const Json& entry = member(config_, fqn, where_ + ": config");
  if (bool_value(member(entry, "use_pickle", where), path_of(where, "use_pickle"))) {
    fail(ErrorKind::Unsupported, where, ": '", fqn,
         "' is pickled (a tensor subclass or custom "
         "object); Kiln reads plain tensors only");
  }
  std::string path_name =
      string_value(member(entry, "path_name", where), path_of(where, "path_name"));
  if (path_name.empty() || path_name.find("..") != std::string::npos) {
    malformed(where, "bad path_name '", path_name, "'");
  }
  std::string meta_where = path_of(where, "tensor_meta");
  const Json& meta = member(entry, "tensor_meta", where);
  TensorMeta info = read_tensor_meta(meta, meta_where);
  Dims sizes, strides;
  for (const ir::Dim& dim : info.sizes) {
    if (!dim.is_static()) malformed(meta_where, "weight '", fqn, "' has a symbolic size");
    sizes.push_back(dim.value);
  }
  const Json& stride_list = array_member(meta, "strides", meta_where);
  for (size_t i = 0; i < stride_list.size(); ++i) {
    strides.push_back(static_int(stride_list[i], path_of(path_of(meta_where, "strides"), i)));
  }
  int64_t offset =
      static_int(member(meta, "storage_offset", meta_where), path_of(meta_where, "storage_offset"));
  auto storage = archive_.read(folder_ + path_name, "weight '" + fqn + "'");
  return materialize(info.dtype, sizes, strides, offset, std::move(storage),
                     archive_.label() + ": weight '" + fqn + "'");
}

Tensor materialize(DType dtype, const Dims& sizes, const Dims& strides, int64_t storage_offset,
                   std::shared_ptr<const std::string> storage, const std::string& what) {
  check(sizes.size() == strides.size(), ErrorKind::InvalidModel, what, ": ", sizes.size(),
        " sizes but ", strides.size(), " strides");
  int64_t count = 0;
  try {
    count = element_count(sizes);
  } catch (const Error&) {
    fail(ErrorKind::InvalidModel, what, ": bad sizes ", dims_to_string(sizes));
  }
  size_t element = dtype_size(dtype);
  int64_t available = static_cast<int64_t>(storage->size() / element);
  check(storage_offset >= 0, ErrorKind::InvalidModel, what, ": negative storage_offset ",
        storage_offset);
  if (count == 0) return Tensor(dtype, sizes);
  // The furthest element the view reaches must lie inside the stored bytes.
  int64_t last = storage_offset;
  bool overflow = false;
  for (size_t i = 0; i < sizes.size(); ++i) {
    check(strides[i] >= 0, ErrorKind::InvalidModel, what, ": negative stride ", strides[i]);
    int64_t reach = 0;
    overflow = overflow || __builtin_mul_overflow(sizes[i] - 1, strides[i], &reach) ||
               __builtin_add_overflow(last, reach, &last);
  }
  check(!overflow && last < available, ErrorKind::InvalidModel, what, ": sizes ",
        dims_to_string(sizes), ", strides ", dims_to_string(strides), " and storage_offset ",
        storage_offset, " reach past the stored data, which holds ", available, " elements");
  // Zero strides (expanded views) can ask for far more than is stored.
  constexpr int64_t kMaxExpandedBytes = int64_t{1} << 30;
  int64_t bytes_needed = 0;
  if (__builtin_mul_overflow(count, static_cast<int64_t>(element), &bytes_needed) ||
      (bytes_needed > static_cast<int64_t>(storage->size()) && bytes_needed > kMaxExpandedBytes)) {
    fail(ErrorKind::Unsupported, what, ": sizes ", dims_to_string(sizes), " with strides ",
         dims_to_string(strides), " expand ", storage->size(), " stored bytes past 1 GiB");
  }
  bool contiguous = true;
  int64_t expected = 1;
  for (size_t i = sizes.size(); i-- > 0;) {
    if (sizes[i] != 1 && strides[i] != expected) contiguous = false;
    expected *= sizes[i];
  }
  Tensor tensor;
  if (contiguous) {
    const char* begin = storage->data() + static_cast<size_t>(storage_offset) * element;
    size_t bytes = static_cast<size_t>(count) * element;
    tensor = Tensor::from_mapped(dtype, sizes, storage, begin, bytes);  // no copy
  } else {
    tensor = Tensor(dtype, sizes);
    char* out = static_cast<char*>(tensor.raw_mutable());
    Dims index(sizes.size(), 0);
    for (int64_t n = 0; n < count; ++n) {
      int64_t source = storage_offset;
      for (size_t i = 0; i < sizes.size(); ++i) source += index[i] * strides[i];
      std::memcpy(out + static_cast<size_t>(n) * element,
                  storage->data() + static_cast<size_t>(source) * element, element);
      for (size_t i = sizes.size(); i-- > 0;) {  // next index, last dim fastest
        if (++index[i] < sizes[i]) break;
        index[i] = 0;
      }
    }
  }
  if (dtype == DType::Bool) normalize_bool_bytes(tensor);
  return tensor;
}

}  // namespace kiln::pt2
