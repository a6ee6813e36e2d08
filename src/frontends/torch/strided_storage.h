// Turning a PyTorch storage (raw bytes) plus sizes, strides and offset into a Kiln tensor;
// shared by the .pt2 and TorchScript frontends, whose weights are such views.
#pragma once

#include <memory>
#include <string>

#include "core/tensor.h"

namespace kiln::torch {

// The elements of a strided view of `storage` as a contiguous tensor (no copy when the view
// is already contiguous). `what` names the tensor in errors: out-of-range offsets and strides
// are InvalidModel.
Tensor materialize_strided(DType dtype, const Dims& sizes, const Dims& strides,
                           int64_t storage_offset, std::shared_ptr<const std::string> storage,
                           const std::string& what);

// A view of complex elements as the same view of their reals: the offset and every stride
// double (one complex element is two reals) and a last dim of 2, stride 1, holds (re, im).
// Strides or an offset too large to double are InvalidModel naming `what`.
void view_complex_as_real_pairs(Dims& sizes, Dims& strides, int64_t& storage_offset,
                                const std::string& what);

}  // namespace kiln::torch
