// The torch.* → ATen overload table. Each row: function, target, arguments in schema order
// ("name:kind", kind T tensor, N number, D device, L list, S string; '|' ends the required ones).
// In-place variants (relu_, add_) map to their functional overload; the importer rebinds.
#include "frontends/torchscript/torch_schemas.h"

#include <map>
#include <sstream>

namespace kiln::torchscript {
namespace {

struct Row {
  const char* function;
  const char* target;
  const char* arguments;
};

constexpr Row kRows[] = {
    {"linear", "aten.linear.default", "input:T weight:T | bias"},
    {"layer_norm", "aten.layer_norm.default",
     "input:T normalized_shape | weight bias eps cudnn_enable"},
    {"batch_norm", "aten.batch_norm.default",
     "input:T weight bias running_mean running_var training momentum eps cudnn_enabled"},
    {"_convolution", "aten.convolution.default",
     "input:T weight:T bias stride padding dilation transposed output_padding groups | "
     "benchmark deterministic cudnn_enabled allow_tf32"},
    {"conv1d", "aten.conv1d.padding", "input:T weight:T bias stride padding:S | dilation groups"},
    {"conv2d", "aten.conv2d.padding", "input:T weight:T bias stride padding:S | dilation groups"},
    {"conv2d", "aten.conv2d.default", "input:T weight:T | bias stride padding dilation groups"},
    {"conv1d", "aten.conv1d.default", "input:T weight:T | bias stride padding dilation groups"},
    {"conv3d", "aten.conv3d.default", "input:T weight:T | bias stride padding dilation groups"},
    {"group_norm", "aten.group_norm.default", "input:T num_groups | weight bias eps cudnn_enabled"},
    {"_weight_norm", "aten._weight_norm.default", "v:T g:T | dim"},
    {"conv_transpose1d", "aten.conv_transpose1d.default",
     "input:T weight:T | bias stride padding output_padding groups dilation"},
    {"conv_transpose2d", "aten.conv_transpose2d.input",
     "input:T weight:T | bias stride padding output_padding groups dilation"},
    {"conv_transpose3d", "aten.conv_transpose3d.input",
     "input:T weight:T | bias stride padding output_padding groups dilation"},
    {"gelu", "aten.gelu.default", "self:T | approximate"},
    {"relu", "aten.relu.default", "self:T"},
    {"relu_", "aten.relu.default", "self:T"},
    {"hardswish", "aten.hardswish.default", "self:T"},
    {"hardswish_", "aten.hardswish.default", "self:T"},
    {"hardsigmoid", "aten.hardsigmoid.default", "self:T"},
    {"hardsigmoid_", "aten.hardsigmoid.default", "self:T"},
    {"hardtanh", "aten.hardtanh.default", "self:T | min_val max_val"},
    {"hardtanh_", "aten.hardtanh.default", "self:T | min_val max_val"},
    {"sigmoid", "aten.sigmoid.default", "self:T"},
    {"sin", "aten.sin.default", "self:T"},
    {"exp", "aten.exp.default", "self:T"},
    {"log", "aten.log.default", "self:T"},
    {"sqrt", "aten.sqrt.default", "self:T"},
    {"erf", "aten.erf.default", "self:T"},
    {"reciprocal", "aten.reciprocal.default", "self:T"},
    {"cos", "aten.cos.default", "self:T"},
    {"silu", "aten.silu.default", "self:T"},
    {"silu_", "aten.silu.default", "self:T"},
    {"tanh", "aten.tanh.default", "self:T"},
    {"neg", "aten.neg.default", "self:T"},
    {"abs", "aten.abs.default", "self:T"},
    {"rsqrt", "aten.rsqrt.default", "self:T"},
    {"dropout", "aten.dropout.default", "input:T p train"},
    {"dropout_", "aten.dropout.default", "input:T p train"},
    {"feature_dropout", "aten.feature_dropout.default", "input:T p train"},
    {"softmax", "aten.softmax.int", "self:T dim | dtype"},
    {"log_softmax", "aten.log_softmax.int", "self:T dim | dtype"},
    {"logsumexp", "aten.logsumexp.default", "self:T dim | keepdim"},
    {"elu", "aten.elu.default", "self:T | alpha scale input_scale"},
    {"elu_", "aten.elu.default", "self:T | alpha scale input_scale"},
    {"celu", "aten.celu.default", "self:T | alpha"},
    {"celu_", "aten.celu.default", "self:T | alpha"},
    {"selu", "aten.selu.default", "self:T"},
    {"selu_", "aten.selu.default", "self:T"},
    {"leaky_relu", "aten.leaky_relu.default", "self:T | negative_slope"},
    {"leaky_relu_", "aten.leaky_relu.default", "self:T | negative_slope"},
    {"prelu", "aten.prelu.default", "self:T weight:T"},
    {"softplus", "aten.softplus.default", "self:T | beta threshold"},
    {"mish", "aten.mish.default", "self:T"},
    {"hardshrink", "aten.hardshrink.default", "self:T | lambd"},
    {"softshrink", "aten.softshrink.default", "self:T | lambd"},
    {"threshold", "aten.threshold.default", "self:T threshold value"},
    {"threshold_", "aten.threshold.default", "self:T threshold value"},
    {"linalg_vector_norm", "aten.linalg_vector_norm.default", "self:T | ord dim keepdim dtype"},
    {"norm", "aten.norm.ScalarOpt_dim", "self:T p dim | keepdim"},
    {"one_hot", "aten.one_hot.default", "self:T | num_classes"},
    {"einsum", "aten.einsum.default", "equation tensors:L | path"},
    {"logical_xor", "aten.logical_xor.default", "self:T other:T"},
    {"bitwise_xor", "aten.bitwise_xor.Tensor", "self:T other:T"},
    {"__xor__", "aten.__xor__.Tensor", "self:T other:T"},
    {"add", "aten.add.Tensor", "self:T other:T | alpha"},
    {"add", "aten.add.Scalar", "self:T other:N | alpha"},
    {"add_", "aten.add.Tensor", "self:T other:T | alpha"},
    {"add_", "aten.add.Scalar", "self:T other:N | alpha"},
    {"sub", "aten.sub.Tensor", "self:T other:T | alpha"},
    {"sub", "aten.sub.Scalar", "self:T other:N | alpha"},
    {"remainder", "aten.remainder.Tensor", "self:T other:T"},
    {"remainder", "aten.remainder.Scalar", "self:T other:N"},
    {"fmod", "aten.fmod.Tensor", "self:T other:T"},
    {"fmod", "aten.fmod.Scalar", "self:T other:N"},
    {"mul", "aten.mul.Tensor", "self:T other:T"},
    {"mul", "aten.mul.Scalar", "self:T other:N"},
    {"mul_", "aten.mul.Tensor", "self:T other:T"},
    {"div", "aten.div.Tensor_mode", "self:T other:T rounding_mode"},
    {"div", "aten.div.Tensor", "self:T other:T"},
    {"div", "aten.div.Scalar", "self:T other:N"},
    {"pow", "aten.pow.Tensor_Tensor", "self:T exponent:T"},
    {"pow", "aten.pow.Tensor_Scalar", "self:T exponent:N"},
    {"pow", "aten.pow.Scalar", "self:N exponent:T"},
    {"eq", "aten.eq.Tensor", "self:T other:T"},
    {"eq", "aten.eq.Scalar", "self:T other:N"},
    {"ne", "aten.ne.Tensor", "self:T other:T"},
    {"ne", "aten.ne.Scalar", "self:T other:N"},
    {"lt", "aten.lt.Tensor", "self:T other:T"},
    {"lt", "aten.lt.Scalar", "self:T other:N"},
    {"gt", "aten.gt.Tensor", "self:T other:T"},
    {"gt", "aten.gt.Scalar", "self:T other:N"},
    {"le", "aten.le.Tensor", "self:T other:T"},
    {"le", "aten.le.Scalar", "self:T other:N"},
    {"ge", "aten.ge.Tensor", "self:T other:T"},
    {"ge", "aten.ge.Scalar", "self:T other:N"},
    {"__and__", "aten.__and__.Tensor", "self:T other:T"},
    {"__and__", "aten.__and__.Scalar", "self:T other:N"},
    {"__or__", "aten.__or__.Tensor", "self:T other:T"},
    {"__or__", "aten.__or__.Scalar", "self:T other:N"},
    {"bitwise_and", "aten.bitwise_and.Tensor", "self:T other:T"},
    {"bitwise_and", "aten.bitwise_and.Scalar", "self:T other:N"},
    {"bitwise_or", "aten.bitwise_or.Tensor", "self:T other:T"},
    {"bitwise_or", "aten.bitwise_or.Scalar", "self:T other:N"},
    {"bitwise_not", "aten.bitwise_not.default", "self:T"},
    {"logical_and", "aten.logical_and.default", "self:T other:T"},
    {"logical_or", "aten.logical_or.default", "self:T other:T"},
    {"logical_not", "aten.logical_not.default", "self:T"},
    {"any", "aten.any.dim", "self:T dim:N | keepdim"},
    {"any", "aten.any.dims", "self:T dim:L | keepdim"},
    {"any", "aten.any.default", "self:T"},
    {"rsub", "aten.rsub.Tensor", "self:T other:T | alpha"},
    {"rsub", "aten.rsub.Scalar", "self:T other:N | alpha"},
    {"masked_fill", "aten.masked_fill.Tensor", "self:T mask:T value:T"},
    {"masked_fill", "aten.masked_fill.Scalar", "self:T mask:T value:N"},
    {"where", "aten.where.self", "condition:T self:T other:T"},
    {"where", "aten.where.ScalarOther", "condition:T self:T other:N"},
    {"where", "aten.where.ScalarSelf", "condition:T self:N other:T"},
    {"where", "aten.where.Scalar", "condition:T self:N other:N"},
    {"addmm", "aten.addmm.default", "self:T mat1:T mat2:T | beta alpha"},
    {"matmul", "aten.matmul.default", "self:T other:T"},
    {"bmm", "aten.bmm.default", "self:T mat2:T"},
    {"mm", "aten.mm.default", "self:T mat2:T"},
    {"adaptive_avg_pool1d", "aten.adaptive_avg_pool1d.default", "self:T output_size"},
    {"adaptive_avg_pool2d", "aten.adaptive_avg_pool2d.default", "self:T output_size"},
    {"max_pool2d", "aten.max_pool2d.default",
     "self:T kernel_size | stride padding dilation ceil_mode"},
    {"avg_pool2d", "aten.avg_pool2d.default",
     "self:T kernel_size | stride padding ceil_mode count_include_pad divisor_override"},
    {"mean", "aten.mean.dim", "self:T dim:L | keepdim dtype"},
    {"mean", "aten.mean.default", "self:T | dtype"},
    {"sum", "aten.sum.dim_IntList", "self:T dim:L | keepdim dtype"},
    {"sum", "aten.sum.default", "self:T | dtype"},
    {"prod", "aten.prod.dim_int", "self:T dim | keepdim dtype"},
    {"prod", "aten.prod.default", "self:T | dtype"},
    {"cumsum", "aten.cumsum.default", "self:T dim | dtype"},
    {"cumprod", "aten.cumprod.default", "self:T dim | dtype"},
    {"diff", "aten.diff.default", "self:T | n dim prepend append"},
    {"transpose", "aten.transpose.int", "self:T dim0 dim1"},
    {"swapaxes", "aten.swapaxes.default", "self:T axis0 axis1"},
    {"swapdims", "aten.swapdims.default", "self:T dim0 dim1"},
    {"roll", "aten.roll.default", "self:T shifts | dims"},
    {"t", "aten.t.default", "self:T"},
    {"unsqueeze", "aten.unsqueeze.default", "self:T dim"},
    {"squeeze", "aten.squeeze.dim", "self:T dim:N"},
    {"squeeze", "aten.squeeze.dims", "self:T dim:L"},
    {"squeeze", "aten.squeeze.default", "self:T"},
    {"view", "aten.view.default", "self:T size"},
    {"reshape", "aten.reshape.default", "self:T shape"},
    {"permute", "aten.permute.default", "self:T dims"},
    {"flatten", "aten.flatten.using_ints", "self:T | start_dim end_dim"},
    {"unflatten", "aten.unflatten.int", "self:T dim sizes"},
    {"expand", "aten.expand.default", "self:T size | implicit"},
    {"expand_as", "aten.expand_as.default", "self:T other:T"},
    {"slice", "aten.slice.Tensor", "self:T | dim start end step"},
    {"select", "aten.select.int", "self:T dim index"},
    {"split", "aten.split_with_sizes.default", "self:T split_sizes:L | dim"},
    {"split", "aten.split.Tensor", "self:T split_size | dim"},
    {"chunk", "aten.chunk.default", "self:T chunks | dim"},
    {"unbind", "aten.unbind.int", "self:T | dim"},
    {"cat", "aten.cat.default", "tensors:L | dim"},
    {"concat", "aten.concat.default", "tensors:L | dim"},
    {"index", "aten.index.Tensor", "self:T indices:L"},
    {"index_select", "aten.index_select.default", "self:T dim index:T"},
    {"gather", "aten.gather.default", "self:T dim index:T | sparse_grad"},
    {"scatter", "aten.scatter.reduce", "self:T dim index:T src:T reduce"},
    {"scatter", "aten.scatter.src", "self:T dim index:T src:T"},
    {"scatter", "aten.scatter.value", "self:T dim index:T value:N"},
    {"scatter_add", "aten.scatter_add.default", "self:T dim index:T src:T"},
    {"scatter_reduce", "aten.scatter_reduce.two", "self:T dim index:T src:T reduce | include_self"},
    {"embedding", "aten.embedding.default",
     "weight:T indices:T | padding_idx scale_grad_by_freq sparse"},
    {"scaled_dot_product_attention", "aten.scaled_dot_product_attention.default",
     "query:T key:T value:T | attn_mask dropout_p is_causal scale enable_gqa"},
    {"arange", "aten.arange.start_step", "start:N end:N step:N | dtype layout device pin_memory"},
    {"arange", "aten.arange.start", "start:N end:N | dtype layout device pin_memory"},
    {"arange", "aten.arange.default", "end:N | dtype layout device pin_memory"},
    {"to", "aten.to.device", "self:T device:D dtype | non_blocking copy memory_format"},
    {"to", "aten.to.dtype", "self:T dtype:N | non_blocking copy memory_format"},
    {"to", "aten.to.dtype_layout",
     "self:T | dtype layout device pin_memory non_blocking copy memory_format"},
    {"type_as", "aten.type_as.default", "self:T other:T"},
    {"new_ones", "aten.new_ones.default", "self:T size | dtype layout device pin_memory"},
    {"new_zeros", "aten.new_zeros.default", "self:T size | dtype layout device pin_memory"},
    {"new_full", "aten.new_full.default",
     "self:T size fill_value | dtype layout device pin_memory"},
    {"zeros", "aten.zeros.default", "size:L | dtype layout device pin_memory"},
    {"ones", "aten.ones.default", "size:L | dtype layout device pin_memory"},
    {"full", "aten.full.default", "size:L fill_value | dtype layout device pin_memory"},
    {"full_like", "aten.full_like.default",
     "self:T fill_value | dtype layout device pin_memory memory_format"},
    {"fill_", "aten.fill.Tensor", "self:T value:T"},
    {"fill_", "aten.fill.Scalar", "self:T value:N"},
    {"zero_", "aten.zero.default", "self:T"},
    {"copy_", "aten.copy.default", "self:T src:T | non_blocking"},
    {"zeros_like", "aten.zeros_like.default",
     "self:T | dtype layout device pin_memory memory_format"},
    {"ones_like", "aten.ones_like.default",
     "self:T | dtype layout device pin_memory memory_format"},
    {"clamp", "aten.clamp.Tensor", "self:T min:T | max"},
    {"clamp", "aten.clamp.default", "self:T | min max"},
    {"clamp_min", "aten.clamp_min.default", "self:T min"},
    {"clamp_max", "aten.clamp_max.default", "self:T max"},
    {"amax", "aten.amax.default", "self:T | dim keepdim"},
    {"amin", "aten.amin.default", "self:T | dim keepdim"},
    {"max", "aten.max.other", "self:T other:T"},
    {"max", "aten.max.dim", "self:T dim:N | keepdim"},
    {"topk", "aten.topk.default", "self:T k | dim largest sorted"},
    {"max", "aten.max.default", "self:T"},
    {"min", "aten.min.other", "self:T other:T"},
    {"min", "aten.min.dim", "self:T dim:N | keepdim"},
    {"min", "aten.min.default", "self:T"},
    {"argmax", "aten.argmax.default", "self:T | dim keepdim"},
    {"argmin", "aten.argmin.default", "self:T | dim keepdim"},
    {"maximum", "aten.maximum.default", "self:T other:T"},
    {"minimum", "aten.minimum.default", "self:T other:T"},
    {"constant_pad_nd", "aten.constant_pad_nd.default", "self:T pad:L | value"},
    {"pad", "aten.pad.default", "self:T pad:L | mode value"},
    {"reflection_pad1d", "aten.reflection_pad1d.default", "self:T padding:L"},
    {"reflection_pad2d", "aten.reflection_pad2d.default", "self:T padding:L"},
    {"reflection_pad3d", "aten.reflection_pad3d.default", "self:T padding:L"},
    {"replication_pad1d", "aten.replication_pad1d.default", "self:T padding:L"},
    {"replication_pad2d", "aten.replication_pad2d.default", "self:T padding:L"},
    {"replication_pad3d", "aten.replication_pad3d.default", "self:T padding:L"},
    {"upsample_nearest1d", "aten.upsample_nearest1d.vec", "input:T output_size scale_factors"},
    {"upsample_nearest1d", "aten.upsample_nearest1d.default", "self:T output_size:L | scales"},
    {"_upsample_nearest_exact1d", "aten._upsample_nearest_exact1d.vec",
     "input:T output_size scale_factors"},
    {"_upsample_nearest_exact1d", "aten._upsample_nearest_exact1d.default",
     "self:T output_size:L | scales"},
    {"upsample_linear1d", "aten.upsample_linear1d.vec",
     "input:T output_size align_corners scale_factors"},
    {"upsample_linear1d", "aten.upsample_linear1d.default",
     "self:T output_size:L align_corners | scales"},
    {"upsample_nearest2d", "aten.upsample_nearest2d.vec", "input:T output_size scale_factors"},
    {"upsample_nearest2d", "aten.upsample_nearest2d.default",
     "self:T output_size:L | scales_h scales_w"},
    {"_upsample_nearest_exact2d", "aten._upsample_nearest_exact2d.vec",
     "input:T output_size scale_factors"},
    {"_upsample_nearest_exact2d", "aten._upsample_nearest_exact2d.default",
     "self:T output_size:L | scales_h scales_w"},
    {"upsample_bilinear2d", "aten.upsample_bilinear2d.vec",
     "input:T output_size align_corners scale_factors"},
    {"upsample_bilinear2d", "aten.upsample_bilinear2d.default",
     "self:T output_size:L align_corners | scales_h scales_w"},
    {"upsample_nearest3d", "aten.upsample_nearest3d.vec", "input:T output_size scale_factors"},
    {"upsample_nearest3d", "aten.upsample_nearest3d.default",
     "self:T output_size:L | scales_d scales_h scales_w"},
    {"_upsample_nearest_exact3d", "aten._upsample_nearest_exact3d.vec",
     "input:T output_size scale_factors"},
    {"_upsample_nearest_exact3d", "aten._upsample_nearest_exact3d.default",
     "self:T output_size:L | scales_d scales_h scales_w"},
    {"upsample_trilinear3d", "aten.upsample_trilinear3d.vec",
     "input:T output_size align_corners scale_factors"},
    {"upsample_trilinear3d", "aten.upsample_trilinear3d.default",
     "self:T output_size:L align_corners | scales_d scales_h scales_w"},
};

ArgKind kind_of(std::string_view code) {
  if (code == "T") return ArgKind::Tensor;
  if (code == "N") return ArgKind::Number;
  if (code == "D") return ArgKind::Device;
  if (code == "L") return ArgKind::List;
  if (code == "S") return ArgKind::String;
  return ArgKind::Any;
}

std::map<std::string, std::vector<TorchOverload>, std::less<>> build_table() {
  std::map<std::string, std::vector<TorchOverload>, std::less<>> table;
  for (const Row& row : kRows) {
    TorchOverload overload{row.target, {}, 0};
    std::istringstream words(row.arguments);
    bool optional = false;
    for (std::string word; words >> word;) {
      if (word == "|") {
        optional = true;
        continue;
      }
      size_t colon = word.find(':');
      overload.arguments.push_back({word.substr(0, colon), colon == std::string::npos
                                                               ? ArgKind::Any
                                                               : kind_of(word.substr(colon + 1))});
      if (!optional) overload.required = overload.arguments.size();
    }
    table[row.function].push_back(std::move(overload));
  }
  return table;
}

const std::map<std::string, std::vector<TorchOverload>, std::less<>>& table() {
  static const auto instance = build_table();
  return instance;
}

}  // namespace

const std::vector<TorchOverload>* find_torch_overloads(std::string_view function) {
  auto it = table().find(function);
  return it == table().end() ? nullptr : &it->second;
}

std::vector<std::string> torch_functions() {
  std::vector<std::string> names;
  for (const auto& [name, overloads] : table()) names.push_back(name);
  return names;
}

}  // namespace kiln::torchscript
