// Row-major strides: the one definition the CPU reference, the CUDA launchers and the kernel
// generator's index arithmetic share.
#pragma once

#include "core/tensor.h"

namespace kiln {

// The elements between neighbours along each axis of a contiguous row-major tensor of `dims`.
Dims row_major_strides(const Dims& dims);

}  // namespace kiln
