// Lookups on pickled values, the allowlist of globals, and the storage class → dtype table.
#include "frontends/torchscript/pickle_value.h"

#include <map>

#include "core/error.h"

namespace kiln::torchscript {

const PickleValue* PickleValue::attribute(std::string_view name) const {
  for (const auto& [key, value] : entries) {
    if (key && key->kind == Kind::String && key->text == name) return value.get();
  }
  return nullptr;
}

std::string_view pickle_kind_name(PickleValue::Kind kind) {
  using Kind = PickleValue::Kind;
  switch (kind) {
    case Kind::None:
      return "None";
    case Kind::Bool:
      return "bool";
    case Kind::Int:
      return "int";
    case Kind::Float:
      return "float";
    case Kind::String:
      return "string";
    case Kind::Tuple:
      return "tuple";
    case Kind::List:
      return "list";
    case Kind::Dict:
      return "dict";
    case Kind::Global:
      return "global";
    case Kind::Object:
      return "object";
    case Kind::Storage:
      return "storage";
    case Kind::Tensor:
      return "tensor";
  }
  return "?";
}

bool is_allowed_global(std::string_view module, std::string_view name) {
  return module == "__torch__" || module.starts_with("__torch__.") ||
         (module == "torch._utils" &&
          (name == "_rebuild_tensor_v2" || name == "_rebuild_parameter")) ||
         (module == "torch" && name.ends_with("Storage")) ||
         (module == "collections" && name == "OrderedDict") ||
         (module == "torch.jit._pickle" && name == "restore_type_tag");
}

DType dtype_of_storage_class(std::string_view class_name, const std::string& where) {
  static const std::map<std::string_view, DType> kStorageTypes{
      {"BFloat16Storage", DType::BFloat16}, {"HalfStorage", DType::Float16},
      {"FloatStorage", DType::Float32},     {"DoubleStorage", DType::Float64},
      {"LongStorage", DType::Int64},        {"IntStorage", DType::Int32},
      {"ShortStorage", DType::Int16},       {"CharStorage", DType::Int8},
      {"ByteStorage", DType::UInt8},        {"BoolStorage", DType::Bool},
  };
  auto it = kStorageTypes.find(class_name);
  if (it == kStorageTypes.end()) {
    fail(ErrorKind::Unsupported, where, ": storage type torch.", class_name,
         " is not supported (Kiln reads BFloat16, Half, Float, Double, Long, Int, Short, Char, "
         "Byte and Bool storages)");
  }
  return it->second;
}

}  // namespace kiln::torchscript
