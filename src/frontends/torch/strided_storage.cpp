// Strided PyTorch storages → contiguous Kiln tensors, with every offset checked.
#include "frontends/torch/strided_storage.h"

#include <cstring>

#include "core/error.h"
#include "core/tensor_io.h"

namespace kiln::torch {

Tensor materialize_strided(DType dtype, const Dims& sizes, const Dims& strides,
                           int64_t storage_offset, std::shared_ptr<const std::string> storage,
                           const std::string& what) {
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

void view_complex_as_real_pairs(Dims& sizes, Dims& strides, int64_t& storage_offset,
                                const std::string& what) {
  const int64_t offset = storage_offset;
  const Dims given = strides;
  bool overflow = __builtin_mul_overflow(offset, 2, &storage_offset);
  for (int64_t& stride : strides) overflow = overflow || __builtin_mul_overflow(stride, 2, &stride);
  if (overflow) {
    fail(ErrorKind::InvalidModel, what, ": complex tensor strides ", dims_to_string(given),
         " or storage_offset ", offset, " are out of range");
  }
  sizes.push_back(2);
  strides.push_back(1);
}

}  // namespace kiln::torch
