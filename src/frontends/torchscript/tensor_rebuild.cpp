// Storage entries → contiguous tensors, checking keys and sizes.
#include "frontends/torchscript/tensor_rebuild.h"

#include "core/error.h"
#include "frontends/torch/strided_storage.h"

namespace kiln::torchscript {
namespace {

// A view of a complex storage as a view of its reals: every offset and stride doubles (one
// complex element is two reals) and a last dim of 2 with stride 1 holds (re, im).
TensorRef as_real_pairs(const TensorRef& ref, const std::string& what) {
  TensorRef pairs = ref;
  bool overflow = __builtin_mul_overflow(ref.storage_offset, 2, &pairs.storage_offset);
  for (int64_t& stride : pairs.strides)
    overflow = overflow || __builtin_mul_overflow(stride, 2, &stride);
  if (overflow) {
    fail(ErrorKind::InvalidModel, what, ": complex tensor strides ", dims_to_string(ref.strides),
         " or storage_offset ", ref.storage_offset, " are out of range");
  }
  pairs.sizes.push_back(2);
  pairs.strides.push_back(1);
  return pairs;
}

}  // namespace

StorageReader::StorageReader(const TsArchive& archive, std::string folder)
    : archive_(archive), folder_(std::move(folder)) {}

Tensor StorageReader::read(const TensorRef& ref, const std::string& what) {
  const std::string& key = ref.storage.key;
  bool plain_key =
      !key.empty() && key.find('/') == std::string::npos && key.find("..") == std::string::npos;
  if (!plain_key) {
    fail(ErrorKind::InvalidModel, archive_.label(), ": ", what, ": bad storage key '", key,
         "' (expected a plain entry name under ", folder_, ")");
  }
  auto it = storages_.find(key);
  if (it == storages_.end()) {
    if (!archive_.contains(folder_ + key)) {
      fail(ErrorKind::InvalidModel, archive_.label(), ": ", what, ": storage key '", key,
           "' has no entry ", folder_, key, " in the archive");
    }
    it = storages_.emplace(key, archive_.read(folder_ + key, what)).first;
  }
  size_t element = dtype_size(ref.storage.dtype) * (ref.storage.complex ? 2 : 1);
  if (it->second->size() / element < static_cast<uint64_t>(ref.storage.numel)) {
    fail(ErrorKind::InvalidModel, archive_.label(), ": ", what, ": storage ", folder_, key,
         " holds ", it->second->size(), " bytes but the pickle declares ", ref.storage.numel,
         " elements of ", storage_type_name(ref.storage), " (truncated?)");
  }
  std::string where = archive_.label() + ": " + what;
  const TensorRef view = ref.storage.complex ? as_real_pairs(ref, where) : ref;
  return torch::materialize_strided(view.storage.dtype, view.sizes, view.strides,
                                    view.storage_offset, it->second, where);
}

}  // namespace kiln::torchscript
