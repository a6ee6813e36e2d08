// Index arithmetic in generated kernels: C expressions that map a flat element index of one
// value's dims to the flat index of the element it reads in another's, with every size a
// literal (so that divisions by constants compile to multiplies). Used where a group member
// reads an operand that is not laid out like the domain: a broadcast over several blocks
// ([1, S, 1, D] onto [B, S, H, D]), a slice's source, a concatenated piece.
#pragma once

#include <string>

#include "core/tensor.h"
#include "passes/fusion_groups.h"

namespace kiln::cuda::index_code {

// The flat index into `in` dims (numpy-broadcast onto `out`) of element `e` of `out`.
std::string broadcast(const std::string& e, const Dims& out, const Dims& in);

// The flat index into a Slice's input (`in` dims, `window`) of element `e` of its output.
std::string slice(const std::string& e, const Dims& out, const Dims& in,
                  const passes::SliceWindow& window);

// The coordinate along `axis` of element `e` of `dims`.
std::string coordinate(const std::string& e, const Dims& dims, size_t axis);

// The flat index into a Concat's input piece (`piece` dims, starting at `offset` along `axis`)
// of element `e` of the output (`out` dims) whose coordinate along `axis` is `c`.
std::string concat_piece(const std::string& e, const std::string& c, const Dims& out,
                         const Dims& piece, size_t axis, int64_t offset);

}  // namespace kiln::cuda::index_code
