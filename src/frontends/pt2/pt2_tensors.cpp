// ScalarType codes, TensorMeta and weight payloads of torch.export archives.
#include "frontends/pt2/pt2_tensors.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>

#include "core/tensor_io.h"
#include "frontends/torch/strided_storage.h"

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

const char* complex_scalar_type_name(int64_t code) {
  return code >= 9 && code <= 11 ? unsupported_scalar_type_name(code) : nullptr;
}

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
  const int64_t code = int_value(member(meta, "dtype", where), path_of(where, "dtype"));
  result.complex = code == 10 || code == 11;  // complex64, complex128
  result.dtype = result.complex ? (code == 10 ? DType::Float32 : DType::Float64)
                                : dtype_from_scalar_type(code, path_of(where, "dtype"));
  const Json& sizes = array_member(meta, "sizes", where);
  for (size_t i = 0; i < sizes.size(); ++i) {
    result.sizes.push_back(dim_from_sym_int(sizes[i], path_of(path_of(where, "sizes"), i)));
  }
  // Strides and offset matter only to ops that address storage; symbolic ones leave them out.
  const Json* strides = optional_member(meta, "strides", where);
  const Json* offset = optional_member(meta, "storage_offset", where);
  auto fixed = [](const Json& sym_int) {
    return sym_int.is_object() && sym_int.contains("as_int") &&
           sym_int["as_int"].is_number_integer();
  };
  if (strides != nullptr && strides->is_array() && strides->size() == sizes.size() &&
      std::all_of(strides->begin(), strides->end(), fixed) &&
      (offset == nullptr || fixed(*offset))) {
    std::vector<int64_t> values;
    for (const Json& stride : *strides) values.push_back(stride["as_int"].get<int64_t>());
    result.strides = std::move(values);
    result.storage_offset = offset == nullptr ? 0 : (*offset)["as_int"].get<int64_t>();
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

Tensor PayloadReader::read(const std::string& fqn, bool* complex) const {
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
  if (info.complex) {  // (re, im) pairs: two reals per element, the pair's dim last
    torch::view_complex_as_real_pairs(sizes, strides, offset, where_ + ": weight '" + fqn + "'");
  }
  if (complex != nullptr) *complex = info.complex;
  auto storage = archive_.read(folder_ + path_name, "weight '" + fqn + "'");
  return torch::materialize_strided(info.dtype, sizes, strides, offset, std::move(storage),
                                    archive_.label() + ": weight '" + fqn + "'");
}

}  // namespace kiln::pt2
