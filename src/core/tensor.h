// A dense, row-major tensor on the host. Its bytes are shared between copies and either
// owned (a heap buffer), mapped (a region of a model file kept alive by `keep_alive`), or
// converted from another tensor on first read (an engine's narrow-stored weights).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace kiln {

using Dims = std::vector<int64_t>;

int64_t element_count(const Dims& dims);       // throws InvalidArgument on negative dims/overflow
std::string dims_to_string(const Dims& dims);  // "[2, 3, 4]"

class Tensor {
 public:
  Tensor() = default;  // the empty tensor: dtype Undefined, marks an absent optional input
  // A zero-filled tensor that owns its bytes.
  Tensor(DType dtype, Dims dims);
  // Copies `byte_count` bytes (which must equal the tensor's size) into an owned buffer.
  static Tensor from_bytes(DType dtype, Dims dims, const void* bytes, size_t byte_count);
  // Wraps bytes that live elsewhere (e.g. an mmapped file); `keep_alive` owns them.
  static Tensor from_mapped(DType dtype, Dims dims, std::shared_ptr<const void> keep_alive,
                            const void* bytes, size_t byte_count);
  // A tensor equal to `source.to(dtype)` whose bytes are converted from `source` only when
  // something first reads them (raw(), data(), values(), clone(), to(), ...): once, shared by
  // every copy, and safe from any number of threads. Until then it holds no bytes of its own,
  // so a reader that never looks (the GPU runtime, which uploads `source` itself) pays no
  // host memory for the conversion. `source` is kept alive (mapped bytes stay mapped).
  static Tensor converted_on_first_read(Tensor source, DType dtype);
  template <typename T>
  static Tensor from_vector(Dims dims, const std::vector<T>& values);
  template <typename T>
  static Tensor scalar(T value) {
    return from_vector<T>({}, {value});
  }

  bool defined() const { return dtype_ != DType::Undefined; }
  DType dtype() const { return dtype_; }
  const Dims& dims() const { return dims_; }
  int64_t rank() const { return static_cast<int64_t>(dims_.size()); }
  int64_t dim(int64_t axis) const;  // negative axes count from the end
  int64_t numel() const { return numel_; }
  size_t nbytes() const { return static_cast<size_t>(numel_) * dtype_size(dtype_); }

  const void* raw() const { return conversion_ ? converted_bytes() : data_; }
  // False only for a converted_on_first_read tensor that nothing has read yet.
  bool materialized() const;
  // True if both read the very same bytes: copies and reshapes of one tensor, including of one
  // converted_on_first_read tensor, which this does not convert (unlike comparing raw()).
  bool shares_bytes_with(const Tensor& other) const;
  // Mutable access. Mapped tensors are copied into an owned buffer first (copy on write).
  void* raw_mutable();
  template <typename T>
  const T* data() const;
  template <typename T>
  T* data_mutable();
  template <typename T>
  std::span<const T> values() const {
    return {data<T>(), size_t(numel_)};
  }

  // Same bytes, other dims (element count must match).
  Tensor reshaped(Dims dims) const;
  // A deep copy that owns its bytes.
  Tensor clone() const;
  // Element-wise conversion; floats round to nearest even, float→int truncates toward zero
  // (as ONNX Cast does), anything→bool is `!= 0`.
  Tensor to(DType dtype) const;
  // Integer or bool tensor read as int64 (for shapes, axes, indices). Throws otherwise.
  std::vector<int64_t> to_int64_vector() const;
  // Any numeric tensor read as float64 (for passes, tests and comparisons). A
  // converted_on_first_read tensor nothing has read stays unconverted (it reads a conversion
  // of its own).
  std::vector<double> to_double_vector() const;

 private:
  struct DeferredConversion;  // tensor.cpp

  void check_type(DType requested) const;
  const void* converted_bytes() const;  // converts on the first call, once for every copy

  DType dtype_ = DType::Undefined;
  Dims dims_;
  int64_t numel_ = 0;
  std::shared_ptr<const void> storage_;  // owner of the bytes data_ points into
  const void* data_ = nullptr;
  bool owned_ = false;  // true when storage_ is our own heap buffer (writable)
  // Set for converted_on_first_read: data_ stays null and raw() asks this shared state.
  std::shared_ptr<DeferredConversion> conversion_;
};

template <typename T>
const T* Tensor::data() const {
  check_type(DTypeOf<T>::value);
  return static_cast<const T*>(raw());
}

template <typename T>
T* Tensor::data_mutable() {
  check_type(DTypeOf<T>::value);
  return static_cast<T*>(raw_mutable());
}

template <typename T>
Tensor Tensor::from_vector(Dims dims, const std::vector<T>& values) {
  Tensor tensor(DTypeOf<T>::value, std::move(dims));
  check(tensor.numel() == static_cast<int64_t>(values.size()), ErrorKind::InvalidArgument,
        "from_vector: ", values.size(), " values for dims ", dims_to_string(tensor.dims()));
  T* out = tensor.data_mutable<T>();
  for (size_t i = 0; i < values.size(); ++i) out[i] = values[i];
  return tensor;
}

// Normalized error ||actual - expected|| / ||expected|| in float64 (NaN in either gives NaN;
// if expected is all zeros, the absolute norm of the difference).
double normalized_error(const Tensor& actual, const Tensor& expected);

}  // namespace kiln
