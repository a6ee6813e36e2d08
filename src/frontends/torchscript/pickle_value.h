// Values read from TorchScript's pickles (data.pkl, constants.pkl): plain data, module
// objects as attribute holders, and tensors as references to storages. Nothing executable.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/dtype.h"
#include "core/tensor.h"

namespace kiln::torchscript {

struct PickleValue;
using PickleRef = std::shared_ptr<PickleValue>;

// A storage named by a persistent id: ('storage', torch.FloatStorage, '0', 'cpu', numel).
// A complex storage (torch.ComplexFloatStorage) has the real type of its parts as `dtype`
// and `complex` set; its numel, and the offsets and strides of views of it, count complex
// elements, each a pair of reals (re, im).
struct StorageRef {
  DType dtype = DType::Undefined;
  bool complex = false;
  std::string key;  // the entry data/<key>
  int64_t numel = 0;
};

// _rebuild_tensor_v2(storage, storage_offset, sizes, strides, ...): a view of a storage.
struct TensorRef {
  StorageRef storage;
  int64_t storage_offset = 0;
  Dims sizes;
  Dims strides;
};

struct PickleValue {
  enum class Kind {
    None,
    Bool,
    Int,
    Float,
    String,
    Tuple,
    List,
    Dict,
    Global,
    Object,
    Storage,
    Tensor
  };
  Kind kind = Kind::None;
  bool boolean = false;
  int64_t integer = 0;
  double number = 0;
  std::string text;              // String; Global and Object: "module name" ("__torch__.m Linear")
  std::vector<PickleRef> items;  // Tuple, List
  std::vector<std::pair<PickleRef, PickleRef>> entries;  // Dict; Object attributes
  StorageRef storage;                                    // Storage
  TensorRef tensor;                                      // Tensor
  int depth = 1;  // nesting depth, bounded so that hostile pickles cannot overflow the stack

  // An Object's or Dict's entry with a string key, or null.
  const PickleValue* attribute(std::string_view name) const;
};

std::string_view pickle_kind_name(PickleValue::Kind kind);

// The allowlist: tensor rebuilds, storage types, OrderedDict, the type tags of
// torch.jit._pickle, and __torch__ classes (attribute holders, never called).
bool is_allowed_global(std::string_view module, std::string_view name);

// What a storage class holds: "FloatStorage" → float32; "ComplexFloatStorage" → complex
// float32 pairs (complex64), "ComplexDoubleStorage" → complex float64 pairs (complex128).
// Unsupported for the others (complex32, quantized types), naming the class.
struct StorageType {
  DType dtype = DType::Undefined;
  bool complex = false;
};
StorageType storage_type_of_class(std::string_view class_name, const std::string& where);

// "float32", or "complex64" for a complex storage of float32 pairs: for messages.
std::string storage_type_name(const StorageRef& storage);

}  // namespace kiln::torchscript
