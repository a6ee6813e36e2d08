// Normalized-error tolerances against PyTorch's outputs, stated once for all model tests.
#pragma once

namespace kiln {
inline constexpr double kFp32Tolerance = 1e-4;  // every layer in fp32
inline constexpr double kBf16Tolerance = 2e-2;  // bf16 enabled, or a model stored in bf16
}  // namespace kiln
