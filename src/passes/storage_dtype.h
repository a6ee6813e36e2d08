// Where a value lives on the GPU: the one rule the CUDA execution context plans its buffers
// by and the builder counts boundary casts by, so that the casts the builder pays for are
// the casts the runtime launches.
#pragma once

#include "core/dtype.h"
#include "ir/graph.h"

namespace kiln::passes {

// The storage dtype of `value`: a float value made by a layer with a precision is stored in
// that precision's storage dtype (bf16 for BF16, ...); other float values (data movement,
// elementwise without a precision) in the storage of their producer's data_input.
// Cast outputs, non-float values, graph inputs and constants keep their declared dtypes.
DType storage_dtype(const ir::Value& value);

// The input whose storage a node without a precision follows (its other float inputs are read
// in that dtype too): its first float input, except that small constants within float16's
// range follow the first computed float input instead of leading; null without float inputs.
// So a Concat of a learned token (float32) and bf16 activations moves bf16, the token
// converted once when the engine is loaded, instead of widening every activation; a -1e9
// fill or a large table still leads where it stands first.
const ir::Value* data_input(const ir::Node& node);

}  // namespace kiln::passes
