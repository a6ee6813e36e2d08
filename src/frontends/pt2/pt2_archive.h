// The zip container of a torch.export archive: the shared PyTorch archive reader, keyed on
// the entry every .pt2 holds.
#pragma once

#include "frontends/torch/torch_archive.h"

namespace kiln::pt2 {

using Pt2Archive = torch::TorchArchive;
inline constexpr torch::ArchiveKind kPt2Archive{
    "models/model.json", "a torch.export archive (write one with torch.export.save)"};

}  // namespace kiln::pt2
