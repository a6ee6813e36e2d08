// TorchScript archives (.pt, written by torch.jit.trace(...).save or torch.jit.save) →
// Kiln IR, in C++ with no Python: the pickles through Kiln's own reader that executes
// nothing, forward's straight-line source inlined into one graph through the shared ATen
// table. Throws Error naming the file, class, line or tensor at fault.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "ir/graph.h"

namespace kiln::torchscript {

// The archive format versions (.data/version) Kiln reads; PyTorch 2.11 writes 10.
inline constexpr int64_t kMinArchiveVersion = 3;
inline constexpr int64_t kMaxArchiveVersion = 10;

// The dtype and static shape of one forward argument.
struct InputSpec {
  DType dtype = DType::Float32;
  Dims dims;
};

// Input shapes come from the archive's traced_inputs.pkl (what torch.jit.trace was given).
ir::Graph import_torchscript_file(const std::filesystem::path& path);
// For archives without traced inputs (scripted modules): one spec per forward argument.
ir::Graph import_torchscript_file(const std::filesystem::path& path,
                                  const std::vector<InputSpec>& inputs);
// From archive bytes in memory; `label` names them in messages. For tests and fuzzing.
ir::Graph import_torchscript_bytes(const std::string& bytes, const std::string& label = "pt bytes");

}  // namespace kiln::torchscript
