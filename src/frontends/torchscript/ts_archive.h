// The zip container of a TorchScript archive: the shared PyTorch archive reader, keyed on
// the module pickle every .pt holds.
#pragma once

#include "frontends/torch/torch_archive.h"

namespace kiln::torchscript {

using TsArchive = torch::TorchArchive;
inline constexpr torch::ArchiveKind kTorchScriptArchive{
    "data.pkl", "a TorchScript archive (write one with torch.jit.save)"};

}  // namespace kiln::torchscript
