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

StorageType storage_type_of_class(std::string_view class_name, const std::string& where) {
  static const std::map<std::string_view, StorageType> kStorageTypes{
      {"BFloat16Storage", {DType::BFloat16}},
      {"HalfStorage", {DType::Float16}},
      {"FloatStorage", {DType::Float32}},
      {"DoubleStorage", {DType::Float64}},
      {"LongStorage", {DType::Int64}},
      {"IntStorage", {DType::Int32}},
      {"ShortStorage", {DType::Int16}},
      {"CharStorage", {DType::Int8}},
      {"ByteStorage", {DType::UInt8}},
      {"BoolStorage", {DType::Bool}},
      {"ComplexFloatStorage", {DType::Float32, true}},  // complex64: float32 (re, im) pairs
      {"ComplexDoubleStorage", {DType::Float64, true}},
  };
  if (class_name == "ComplexHalfStorage") {
    fail(ErrorKind::Unsupported, where,
         ": storage type torch.ComplexHalfStorage (complex32) is not supported; Kiln reads "
         "complex64 and complex128 tensors: convert the tensor to torch.complex64 before saving");
  }
  auto it = kStorageTypes.find(class_name);
  if (it == kStorageTypes.end()) {
    fail(ErrorKind::Unsupported, where, ": storage type torch.", class_name,
         " is not supported (Kiln reads BFloat16, Half, Float, Double, Long, Int, Short, Char, "
         "Byte, Bool, ComplexFloat and ComplexDouble storages)");
  }
  return it->second;
}

std::string storage_type_name(const StorageRef& storage) {
  if (!storage.complex) return std::string(dtype_name(storage.dtype));
  return storage.dtype == DType::Float64 ? "complex128" : "complex64";
}

}  // namespace kiln::torchscript
