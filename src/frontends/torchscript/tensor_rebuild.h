// Tensors of a TorchScript archive: a pickled TensorRef names a storage entry
// (data/<key>, constants/<key>, traced_inputs/<key>); this reads it once and cuts the view.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "core/tensor.h"
#include "frontends/torchscript/pickle_value.h"
#include "frontends/torchscript/ts_archive.h"

namespace kiln::torchscript {

class StorageReader {
 public:
  // `folder` is where this pickle's storages live: "data/", "constants/", "traced_inputs/".
  StorageReader(const TsArchive& archive, std::string folder);
  // A contiguous tensor for `ref`; `what` names it in errors (bad key, short storage). A view
  // of a complex storage comes back as its reals with a last dim of 2 holding (re, im), as
  // torch.view_as_real gives it: complex64 [4, 8] → float32 [4, 8, 2].
  Tensor read(const TensorRef& ref, const std::string& what);

 private:
  const TsArchive& archive_;
  std::string folder_;
  std::map<std::string, std::shared_ptr<const std::string>> storages_;
};

}  // namespace kiln::torchscript
