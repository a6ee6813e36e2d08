// Tensor storage, conversions between element types, and the normalized error metric.
#include "core/tensor.h"

#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <sstream>

namespace kiln {
namespace {

std::shared_ptr<void> allocate_zeroed(size_t bytes) {
  // operator new[] of at least one byte so that empty tensors still have a valid pointer.
  return std::shared_ptr<void>(new uint8_t[std::max<size_t>(bytes, 1)](),
                               [](void* p) { delete[] static_cast<uint8_t*>(p); });
}

template <typename T>
double to_double(T value) {
  if constexpr (std::is_same_v<T, bfloat16> || std::is_same_v<T, float16>) {
    return to_float(value);
  } else {
    return static_cast<double>(value);
  }
}

template <typename T>
T from_double(double value) {
  if constexpr (std::is_same_v<T, bfloat16>) {
    return to_bfloat16(static_cast<float>(value));
  } else if constexpr (std::is_same_v<T, float16>) {
    return to_float16(static_cast<float>(value));
  } else if constexpr (std::is_same_v<T, bool>) {
    return value != 0.0;
  } else if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(value);
  } else {
    // ONNX Cast truncates toward zero; NaN and out-of-range values are undefined there, we
    // saturate to keep the result deterministic.
    if (std::isnan(value)) return T{0};
    double truncated = std::trunc(value);
    if (truncated <= static_cast<double>(std::numeric_limits<T>::lowest())) {
      return std::numeric_limits<T>::lowest();
    }
    if (truncated >= static_cast<double>(std::numeric_limits<T>::max())) {
      return std::numeric_limits<T>::max();
    }
    return static_cast<T>(truncated);
  }
}

// Converts between any two element types. Float↔float and int↔int go direct, everything
// else through double, which holds every int32 and float32 exactly.
template <typename From, typename To>
void convert(const From* in, To* out, int64_t count) {
  for (int64_t i = 0; i < count; ++i) {
    if constexpr (std::is_same_v<From, To>) {
      out[i] = in[i];
    } else if constexpr (std::is_integral_v<From> && std::is_integral_v<To> &&
                         !std::is_same_v<To, bool>) {
      out[i] = static_cast<To>(in[i]);  // wraps like a C cast, as ONNX Cast between ints
    } else if constexpr (std::is_same_v<From, float> && std::is_same_v<To, bfloat16>) {
      out[i] = to_bfloat16(in[i]);
    } else if constexpr (std::is_same_v<From, float> && std::is_same_v<To, float16>) {
      out[i] = to_float16(in[i]);
    } else {
      out[i] = from_double<To>(to_double(in[i]));
    }
  }
}

}  // namespace

int64_t element_count(const Dims& dims) {
  int64_t count = 1;
  for (int64_t dim : dims) {
    check(dim >= 0, ErrorKind::InvalidArgument, "negative dimension in ", dims_to_string(dims));
    check(dim == 0 || count <= std::numeric_limits<int64_t>::max() / dim,
          ErrorKind::InvalidArgument, "tensor of dims ", dims_to_string(dims), " is too large");
    count *= dim;
  }
  return count;
}

std::string dims_to_string(const Dims& dims) {
  std::ostringstream out;
  out << '[';
  for (size_t i = 0; i < dims.size(); ++i) out << (i ? ", " : "") << dims[i];
  out << ']';
  return out.str();
}

Tensor::Tensor(DType dtype, Dims dims) : dtype_(dtype), dims_(std::move(dims)) {
  check(dtype != DType::Undefined, ErrorKind::InvalidArgument, "tensor with undefined dtype");
  numel_ = element_count(dims_);
  check(static_cast<uint64_t>(numel_) < (uint64_t{1} << 40), ErrorKind::InvalidArgument,
        "tensor of dims ", dims_to_string(dims_), " is too large to allocate");
  auto buffer = allocate_zeroed(nbytes());
  data_ = buffer.get();
  storage_ = std::move(buffer);
  owned_ = true;
}

Tensor Tensor::from_bytes(DType dtype, Dims dims, const void* bytes, size_t byte_count) {
  Tensor tensor(dtype, std::move(dims));
  check(byte_count == tensor.nbytes(), ErrorKind::InvalidModel, "expected ", tensor.nbytes(),
        " bytes for a ", dtype_name(dtype), " tensor of dims ", dims_to_string(tensor.dims()),
        ", got ", byte_count);
  if (byte_count) std::memcpy(tensor.raw_mutable(), bytes, byte_count);
  return tensor;
}

Tensor Tensor::from_mapped(DType dtype, Dims dims, std::shared_ptr<const void> keep_alive,
                           const void* bytes, size_t byte_count) {
  Tensor tensor;
  tensor.dtype_ = dtype;
  tensor.dims_ = std::move(dims);
  tensor.numel_ = element_count(tensor.dims_);
  check(byte_count == tensor.nbytes(), ErrorKind::InvalidModel, "expected ", tensor.nbytes(),
        " bytes for a ", dtype_name(dtype), " tensor of dims ", dims_to_string(tensor.dims_),
        ", got ", byte_count);
  tensor.storage_ = std::move(keep_alive);
  tensor.data_ = bytes;
  tensor.owned_ = false;
  return tensor;
}

// What every copy of a converted_on_first_read tensor shares: the source, and the converted
// tensor once the first reader has made it.
struct Tensor::DeferredConversion {
  Tensor source;
  DType dtype;
  std::mutex mutex;  // held by the one reader that converts; the others wait for it
  Tensor converted;
  std::atomic<bool> done{false};  // set (release) once `converted` holds the bytes
};

Tensor Tensor::converted_on_first_read(Tensor source, DType dtype) {
  check(source.defined() && dtype != DType::Undefined, ErrorKind::InvalidArgument,
        "converted_on_first_read needs a defined tensor and dtype");
  if (source.dtype() == dtype) return source;
  Tensor tensor;
  tensor.dtype_ = dtype;
  tensor.dims_ = source.dims();
  tensor.numel_ = source.numel();
  tensor.conversion_ = std::make_shared<DeferredConversion>();
  tensor.conversion_->source = std::move(source);
  tensor.conversion_->dtype = dtype;
  return tensor;
}

const void* Tensor::converted_bytes() const {
  DeferredConversion& conversion = *conversion_;
  // Double-checked: after the first conversion a read is one atomic load. A conversion that
  // throws (out of memory) leaves `done` unset, so the next reader tries again.
  if (!conversion.done.load(std::memory_order_acquire)) {
    std::lock_guard<std::mutex> lock(conversion.mutex);
    if (!conversion.done.load(std::memory_order_relaxed)) {
      conversion.converted = conversion.source.to(conversion.dtype);
      conversion.done.store(true, std::memory_order_release);
    }
  }
  return conversion.converted.data_;
}

bool Tensor::materialized() const {
  return !conversion_ || conversion_->done.load(std::memory_order_acquire);
}

bool Tensor::shares_bytes_with(const Tensor& other) const {
  if (!defined() || !other.defined()) return false;
  if (conversion_ || other.conversion_) return conversion_ == other.conversion_;
  return data_ == other.data_;
}

int64_t Tensor::dim(int64_t axis) const {
  int64_t normalized = axis < 0 ? axis + rank() : axis;
  check(normalized >= 0 && normalized < rank(), ErrorKind::InvalidArgument, "axis ", axis,
        " out of range for rank ", rank());
  return dims_[static_cast<size_t>(normalized)];
}

void* Tensor::raw_mutable() {
  check(defined(), ErrorKind::InvalidArgument, "write to an empty tensor");
  if (conversion_ || !owned_ || storage_.use_count() > 1) {
    // Copy on write: mapped bytes are read-only, shared buffers and a deferred conversion's
    // result belong to other copies too.
    auto buffer = allocate_zeroed(nbytes());
    if (nbytes()) std::memcpy(buffer.get(), raw(), nbytes());
    data_ = buffer.get();
    storage_ = std::move(buffer);
    owned_ = true;
    conversion_.reset();
  }
  return const_cast<void*>(data_);
}

void Tensor::check_type(DType requested) const {
  check(requested == dtype_, ErrorKind::Runtime, "tensor holds ", dtype_name(dtype_),
        " but was read as ", dtype_name(requested));
}

Tensor Tensor::reshaped(Dims dims) const {
  check(element_count(dims) == numel_, ErrorKind::InvalidArgument, "cannot reshape ",
        dims_to_string(dims_), " to ", dims_to_string(dims));
  Tensor result = *this;
  result.dims_ = std::move(dims);
  return result;
}

Tensor Tensor::clone() const {
  if (!defined()) return {};
  return from_bytes(dtype_, dims_, raw(), nbytes());
}

Tensor Tensor::to(DType dtype) const {
  if (dtype == dtype_) return *this;
  Tensor result(dtype, dims_);
  visit_dtype(dtype_, [&](auto from_tag) {
    using From = decltype(from_tag);
    visit_dtype(dtype, [&](auto to_tag) {
      using To = decltype(to_tag);
      convert(static_cast<const From*>(raw()), static_cast<To*>(result.raw_mutable()), numel_);
    });
  });
  return result;
}

std::vector<int64_t> Tensor::to_int64_vector() const {
  check(is_integral(dtype_) || dtype_ == DType::Bool, ErrorKind::InvalidModel,
        "expected an integer tensor, got ", dtype_name(dtype_));
  Tensor wide = to(DType::Int64);
  auto span = wide.values<int64_t>();
  return {span.begin(), span.end()};
}

std::vector<double> Tensor::to_double_vector() const {
  // A pass peeking at a prepared weight (a scalar factor, say) reads it from a conversion of
  // its own, leaving the shared one untouched: host memory stays narrow where nobody computes.
  if (!materialized()) return conversion_->source.to(conversion_->dtype).to_double_vector();
  Tensor wide = to(DType::Float64);
  auto span = wide.values<double>();
  return {span.begin(), span.end()};
}

double normalized_error(const Tensor& actual, const Tensor& expected) {
  check(actual.numel() == expected.numel(), ErrorKind::InvalidArgument,
        "normalized_error: ", dims_to_string(actual.dims()), " vs ",
        dims_to_string(expected.dims()));
  std::vector<double> a = actual.to_double_vector();
  std::vector<double> b = expected.to_double_vector();
  double diff = 0.0, norm = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) || std::isnan(b[i])) return std::numeric_limits<double>::quiet_NaN();
    if (std::isinf(a[i]) || std::isinf(b[i])) {
      if (a[i] == b[i]) continue;  // matching infinities agree
      return std::numeric_limits<double>::infinity();
    }
    diff += (a[i] - b[i]) * (a[i] - b[i]);
    norm += b[i] * b[i];
  }
  return norm > 0.0 ? std::sqrt(diff / norm) : std::sqrt(diff);
}

}  // namespace kiln
