// Storage entries → contiguous tensors, checking keys and sizes.
#include "frontends/torchscript/tensor_rebuild.h"

#include "core/error.h"
#include "frontends/torch/strided_storage.h"

namespace kiln::torchscript {
namespace {

// A view of a complex storage as the same view of its reals.
TensorRef as_real_pairs(const TensorRef& ref, const std::string& what) {
  TensorRef pairs = ref;
  torch::view_complex_as_real_pairs(pairs.sizes, pairs.strides, pairs.storage_offset, what);
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
