// The ATen op → IR table shared by the PyTorch frontends: one small converter per ATen
// overload, grouped by family in aten_*.cpp.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "frontends/torch/aten_node.h"

namespace kiln::torch {

// Targets are written "aten.<op>.<overload>" ("aten.add.Tensor", "aten.linear.default");
// Python operators on sizes are "operator.<name>" ("operator.mul", "operator.getitem").
// Each frontend turns its own spelling into this one (see pt2 normalize_target).
using AtenConverter = std::function<void(AtenNode&)>;
using AtenTable = std::map<std::string, AtenConverter, std::less<>>;

void add_math_ops(AtenTable& table);      // elementwise arithmetic, comparisons, logic
void add_reduce_ops(AtenTable& table);    // reductions, scans, matrix products
void add_nn_ops(AtenTable& table);        // linear, conv, norms, attention, pooling, activations
void add_shape_ops(AtenTable& table);     // reshape, permute, squeeze, expand, cat, split
void add_arrange_ops(AtenTable& table);   // stack, meshgrid, repeat_interleave, reshape_as, x.T
void add_rnn_ops(AtenTable& table);       // lstm, gru, unrolled over their time steps
void add_sampling_ops(AtenTable& table);  // affine_grid_generator, grid_sampler
void add_indexing_ops(AtenTable& table);  // select, slice, index, gather, embedding
void add_creation_ops(AtenTable& table);  // arange, full, casts, sizes, identities
void add_pad_ops(AtenTable& table);       // constant_pad_nd, pad, reflection/replication pads
void add_resize_ops(AtenTable& table);
void add_composite_ops(AtenTable& table);  // le/ge, xor, log_softmax, elu family, norms, one_hot //
                                           // upsample_nearest/linear/bilinear/trilinear
void add_attention_ops(AtenTable& table);  // _native_multi_head_attention (traced nn.MHA)
void add_pointwise_ops(AtenTable& table);  // floor/round/trunc, sign, isinf, atan2, log1p, log2
void add_storage_view_ops(AtenTable& table);  // as_strided
void add_expert_ops(AtenTable& table);        // histc, grouped products (mixture-of-experts)
// Complex views and arithmetic, wrapping the real converters of view, mul, add, ...: last.
void add_complex_ops(AtenTable& table);
void add_fft_ops(AtenTable& table);  // torch.fft, real, imag, view_as_real (complex tensors)
void add_special_math_ops(AtenTable& table);  // erfc, logaddexp, nan_to_num, copysign, lerp, ...
void add_statistics_ops(AtenTable& table);    // var/std(_mean), all, median, cummax, logcumsumexp
void add_layout_ops(AtenTable& table);        // narrow, movedim, tile, hstack, rot90, unfold, ...
void add_matrix_ops(AtenTable& table);        // tril/triu, diagonal, eye, dot, kron, cdist, norms
void add_index_update_ops(
    AtenTable& table);                     // index_add/copy/fill, masked_scatter, isin, bucketize
void add_norm_pool_ops(AtenTable& table);  // rms_norm, adaptive max pooling
void add_special_function_ops(AtenTable& table);  // lgamma, digamma, polygamma, erfinv, i0, i1
// _to_copy / to with a complex dtype: converts it (true) or leaves it to the caller (false).
bool converts_to_complex(AtenNode& node);

// The converter for `target`, or null when Kiln has none.
const AtenConverter* find_aten_converter(std::string_view target);
// Every target the table knows, sorted (for coverage checks and `kiln inspect`).
std::vector<std::string> aten_targets();

}  // namespace kiln::torch
