// The probe calls behind docs/operators.md's ATen table. A call names every argument its
// family of converters reads; a converter ignores the others, so one call serves many targets.
// A converter that rejects a call (wrong kinds, ranks or dtypes) simply did not take it.
#include "aten_probes.h"

#include <algorithm>
#include <functional>
#include <optional>

#include "aten_probe_scope.h"
#include "core/error.h"
#include "frontends/torch/aten_ops.h"

namespace kiln::torch::probes {
namespace {

std::vector<ProbeCall> math_calls() {
  return {
      {"elementwise",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.f32("self", {2, 4, 6, 6}),
                                           s.f32("other", {2, 4, 6, 6}),
                                           s.f32("src", {2, 4, 6, 6}),
                                           s.tensor("condition", DType::Bool, {2, 4, 6, 6}),
                                           s.tensor("mask", DType::Bool, {2, 4, 6, 6}),
                                           value("exponent", 2.0),
                                           value("value", 0.5),
                                           value("min", -1.0),
                                           value("max", 1.0),
                                           value("dim", int64_t{1}),
                                           value("keepdim", false)};
       }},
      {"rounding",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{
             s.f32("self", {2, 4, 6, 6}), s.f32("other", {2, 4, 6, 6}),
             value("rounding_mode", std::string("floor")), value("decimals", int64_t{2})};
       }},
      {"reduction with indices",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.f32("self", {2, 4, 6}), value("dim", int64_t{1}),
                                           value("keepdim", false)};
       },
       {{Kind::Tensor, {"out"}}, {Kind::Tensor, {"indices"}}}},
      {"top k",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.f32("self", {2, 4, 6}), value("k", int64_t{3}),
                                           value("dim", int64_t{1})};
       },
       {{Kind::Tensor, {"out"}}, {Kind::Tensor, {"indices"}}}},
      {"scatter",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.f32("self", {4, 5}),
                                           value("dim", int64_t{1}),
                                           s.tensor("index", DType::Int64, {4, 3}),
                                           s.f32("src", {4, 3}),
                                           value("value", 2.0),
                                           value("reduce", std::string("add"))};
       }},
      {"scatter reduce",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.f32("self", {4, 5}), value("dim", int64_t{1}),
                                           s.tensor("index", DType::Int64, {4, 3}),
                                           s.f32("src", {4, 3}),
                                           value("reduce", std::string("amax"))};
       }},
      {"bool",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.tensor("self", DType::Bool, {2, 3}),
                                           s.tensor("other", DType::Bool, {2, 3})};
       },
       {{Kind::Tensor, {"out"}}},
       true},
      {"per-channel slope",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.f32("self", {2, 4, 6, 6}), s.f32("weight", {4})};
       }},
      {"class indices",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.tensor("self", DType::Int64, {2, 3}),
                                           value("num_classes", int64_t{5})};
       },
       {{Kind::Tensor, {"out"}}},
       true},
      {"linear 2-D",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.f32("input", {3, 4}), s.f32("weight", {5, 4}),
                                           s.f32("bias", {5})};
       }},
      {"linear 3-D",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.f32("input", {2, 3, 4}), s.f32("weight", {5, 4}),
                                           s.f32("bias", {5})};
       }},
      {"matrix",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.f32("self", {3, 4}), s.f32("mat2", {4, 5}),
                                           s.f32("other", {4, 5})};
       }},
      {"batched matrix",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.f32("self", {2, 3, 4}), s.f32("mat2", {2, 4, 5}),
                                           s.f32("other", {2, 4, 5})};
       }},
      {"addmm",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.f32("self", {5}), s.f32("mat1", {3, 4}),
                                           s.f32("mat2", {4, 5})};
       }},
      {"baddbmm",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.f32("self", {2, 3, 5}), s.f32("batch1", {2, 3, 4}),
                                           s.f32("batch2", {2, 4, 5})};
       }},
  };
}

std::vector<ProbeCall> nn_calls() {
  const std::vector<OutputSlot> with_statistics = {
      {Kind::Tensor, {"out"}}, {Kind::Tensor, {"unused_1"}}, {Kind::Tensor, {"unused_2"}}};
  return {
      {"multi-head attention",  // nn.MultiheadAttention's fused eval path (traced TorchScript)
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{
             s.f32("query", {2, 5, 8}),     s.f32("key", {2, 5, 8}),
             s.f32("value", {2, 5, 8}),     value("embed_dim", int64_t{8}),
             value("num_head", int64_t{2}), s.f32("qkv_weight", {24, 8}),
             s.f32("qkv_bias", {24}),       s.f32("proj_weight", {8, 8}),
             s.f32("proj_bias", {8}),       value("need_weights", false)};
       },
       {{Kind::Tensor, {"out"}}, {Kind::Tensor, {"unused_weights"}}}},
      {"convolution",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.f32("input", {2, 4, 6, 6}),
                                           s.f32("weight", {3, 4, 3, 3}),
                                           s.f32("bias", {3}),
                                           value("stride", Ints{1}),
                                           value("padding", Ints{1}),
                                           value("dilation", Ints{1}),
                                           value("groups", int64_t{1}),
                                           value("transposed", false),
                                           value("output_padding", Ints{0})};
       }},
      {"transposed convolution",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{
             s.f32("input", {2, 4, 5, 5}), s.f32("weight", {4, 3, 3, 3}),
             s.f32("bias", {3}),           value("stride", Ints{2}),
             value("padding", Ints{1}),    value("output_padding", Ints{1}),
             value("dilation", Ints{1}),   value("groups", int64_t{1}),
             value("transposed", true)};
       }},
      {"transposed convolution 1-D",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{
             s.f32("input", {2, 4, 7}),        s.f32("weight", {4, 3, 3}),
             value("stride", Ints{2}),         value("padding", Ints{0}),
             value("output_padding", Ints{0}), value("groups", int64_t{1}),
             value("dilation", Ints{1})};
       }},
      {"batch norm",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.f32("input", {2, 4, 6, 6}), s.f32("weight", {4}),
                                           s.f32("bias", {4}),           s.f32("running_mean", {4}),
                                           s.f32("running_var", {4}),    value("training", false),
                                           value("momentum", 0.1),       value("eps", 1e-5)};
       },
       with_statistics},
      {"layer norm",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.f32("input", {2, 4, 6, 6}),
                                           value("normalized_shape", Ints{6}), s.f32("weight", {6}),
                                           s.f32("bias", {6}), value("eps", 1e-5)};
       },
       with_statistics},
      {"group norm",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{
             s.f32("input", {2, 4, 6, 6}), value("num_groups", int64_t{2}), s.f32("weight", {4}),
             s.f32("bias", {4}),           value("N", int64_t{2}),          value("C", int64_t{4}),
             value("HxW", int64_t{36}),    value("group", int64_t{2}),      value("eps", 1e-5)};
       },
       with_statistics},
      {"weight norm",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.f32("v", {3, 4, 3, 3}), s.f32("g", {3, 1, 1, 1}),
                                           value("dim", int64_t{0})};
       }},
      {"attention",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.f32("query", {2, 2, 5, 8}), s.f32("key", {2, 2, 5, 8}),
                                           s.f32("value", {2, 2, 5, 8})};
       }},
      {"pooling",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{
             s.f32("self", {2, 4, 6, 6}),  value("kernel_size", Ints{2}), value("stride", Ints{2}),
             value("padding", Ints{0}),    value("dilation", Ints{1}),    value("ceil_mode", false),
             value("output_size", Ints{1})};
       },
       {{Kind::Tensor, {"out"}}, {Kind::Tensor, {"unused_indices"}}}},
      {"pooling 1-D",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{
             s.f32("self", {2, 4, 6}),  value("kernel_size", Ints{2}), value("stride", Ints{2}),
             value("padding", Ints{0}), value("dilation", Ints{1}),    value("ceil_mode", false)};
       },
       {{Kind::Tensor, {"out"}}, {Kind::Tensor, {"unused_indices"}}}},
      {"adaptive pooling 3x3",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.f32("self", {2, 4, 6, 6}),
                                           value("output_size", Ints{3})};
       }},
  };
}

std::vector<ProbeCall> shape_calls() {
  return {
      {"shape",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{
             s.f32("self", {2, 4, 6, 6}),        value("size", Ints{2, 4, 36}),
             value("shape", Ints{2, 4, 36}),     value("dims", Ints{0, 2, 3, 1}),
             value("dim0", int64_t{1}),          value("dim1", int64_t{2}),
             value("dim", int64_t{1}),           value("sizes", Ints{2, 2}),
             value("start_dim", int64_t{1}),     value("end_dim", int64_t{2}),
             value("index", int64_t{0}),         value("start", int64_t{0}),
             value("end", int64_t{2}),           value("step", int64_t{1}),
             value("shifts", Ints{1, 2, -1, 3}), value("repeats", Ints{1, 2, 1, 1})};
       }},
      {"squeeze",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.f32("self", {2, 1, 6}), value("dim", int64_t{1}),
                                           value("dims", Ints{1})};
       }},
      {"expand",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.f32("self", {4, 1}), value("size", Ints{4, 3}),
                                           s.f32("other", {4, 3})};
       }},
      {"split into a list",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{
             s.f32("self", {2, 6}),           value("dim", int64_t{0}),
             value("split_size", int64_t{1}), value("split_sizes", Ints{1, 1}),
             value("chunks", int64_t{2}),     value("sections", int64_t{2})};
       },
       {{Kind::TensorList, {"out0", "out1"}}}},
      {"concatenate",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.list("tensors", {{2, 3}, {2, 3}}),
                                           value("dim", int64_t{1})};
       }},
      {"meshgrid",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.list("tensors", {{3}, {4}}),
                                           value("indexing", std::string("ij"))};
       },
       {{Kind::TensorList, {"out0", "out1"}}}},
      {"repeat each element",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.f32("self", {2, 3}), value("repeats", int64_t{2}),
                                           value("dim", int64_t{1})};
       }},
      {"einsum",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.list("tensors", {{2, 3, 4}, {2, 4, 5}}),
                                           value("equation", std::string("bij,bjk->bik"))};
       }},
      {"pad 1-D",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.f32("self", {2, 3, 6}), value("pad", Ints{1, 2}),
                                           value("padding", Ints{1, 2})};
       }},
      {"pad 2-D",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.f32("self", {2, 3, 6, 6}),
                                           value("padding", Ints{1, 2, 0, 1})};
       }},
      {"pad 3-D",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.f32("self", {1, 2, 4, 4, 4}),
                                           value("padding", Ints{1, 1, 2, 0, 0, 1})};
       }},
      // Downsampling by whole factors, which adaptive pooling (it reads output_size too) takes
      // as a plain AveragePool or GlobalAveragePool.
      {"upsample 1-D",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.f32("self", {1, 2, 4}), s.f32("input", {1, 2, 4}),
                                           value("output_size", Ints{1}),
                                           value("align_corners", false)};
       }},
      {"upsample 2-D",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{
             s.f32("self", {1, 2, 4, 4}), s.f32("input", {1, 2, 4, 4}),
             value("output_size", Ints{2, 2}), value("align_corners", false)};
       }},
      {"upsample 3-D",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{
             s.f32("self", {1, 2, 2, 4, 4}), s.f32("input", {1, 2, 2, 4, 4}),
             value("output_size", Ints{1, 2, 2}), value("align_corners", false)};
       }},
      {"list item",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.list("a", {{2, 3}, {2, 3}}), value("b", int64_t{1})};
       }},
  };
}

// 3-D pools, pixel shuffles and im2col/col2im's windows.
std::vector<ProbeCall> window_calls() {
  return {
      {"pooling 3-D",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{
             s.f32("self", {1, 2, 4, 6, 6}), value("kernel_size", Ints{2}),
             value("stride", Ints{2}),       value("padding", Ints{0}),
             value("dilation", Ints{1}),     value("ceil_mode", false)};
       },
       {{Kind::Tensor, {"out"}}, {Kind::Tensor, {"unused_indices"}}}},
      {"pixel shuffles and folds",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.f32("self", {1, 8, 4, 4}),
                                           value("upscale_factor", int64_t{2}),
                                           value("downscale_factor", int64_t{2}),
                                           value("output_size", Ints{3, 3}),
                                           value("kernel_size", Ints{2}),
                                           value("dilation", Ints{1}),
                                           value("padding", Ints{0}),
                                           value("stride", Ints{1})};
       }},
      {"storage views",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.f32("self", {2, 3, 4}), value("size", Ints{2, 2, 3}),
                                           value("stride", Ints{12, 1, 4}),
                                           value("storage_offset", int64_t{1})};
       }},
      {"affine grid",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.f32("theta", {1, 2, 3}),
                                           value("size", Ints{1, 2, 4, 4}),
                                           value("align_corners", false)};
       }},
      {"grid sample",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{
             s.f32("input", {1, 2, 4, 4}), s.f32("grid", {1, 3, 3, 2}),
             value("interpolation_mode", int64_t{0}), value("padding_mode", int64_t{0}),
             value("align_corners", false)};
       }},
      {"fold",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{
             s.f32("self", {1, 8, 9}),      value("output_size", Ints{4, 4}),
             value("kernel_size", Ints{2}), value("dilation", Ints{1}),
             value("padding", Ints{0}),     value("stride", Ints{1})};
       }},
  };
}

// Indexing, addcmul / addcdiv's self + value * (tensor1 op tensor2), complex parts.
std::vector<ProbeCall> indexing_calls() {
  return {
      {"complex parts",  // real, imag, view_as_real of a complex pair (aten_fft.cpp)
       [](ProbeScope& s) {
         NamedArgument self = s.f32("self", {2, 4, 2});
         s.context.mark_complex(std::get<ir::Value*>(self.value));
         return std::vector<NamedArgument>{self};
       }},
      {"inverse real transform",  // _fft_c2r of a complex pair (aten_fft.cpp)
       [](ProbeScope& s) {
         NamedArgument self = s.f32("self", {2, 4, 2});
         s.context.mark_complex(std::get<ir::Value*>(self.value));
         return std::vector<NamedArgument>{self, value("dim", Ints{1}),
                                           value("normalization", int64_t{0}),
                                           value("last_dim_size", int64_t{6})};
       }},
      {"gather, scaled products",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.f32("self", {2, 4}),
                                           value("dim", int64_t{1}),
                                           s.tensor("index", DType::Int64, {2, 4}),
                                           s.f32("tensor1", {2, 4}),
                                           s.f32("tensor2", {2, 4}),
                                           value("value", 0.5)};
       }},
      {"index select",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.f32("self", {2, 4}), value("dim", int64_t{1}),
                                           s.tensor("index", DType::Int64, {3})};
       }},
      {"advanced index",
       [](ProbeScope& s) {
         ir::Value* rows = s.input("rows", DType::Int64, ir::Shape::from_dims({3}));
         return std::vector<NamedArgument>{s.f32("self", {5, 4}),
                                           value("indices", TensorList{rows})};
       }},
      {"index put",
       [](ProbeScope& s) {
         ir::Value* rows = s.input("rows", DType::Int64, ir::Shape::from_dims({3}));
         return std::vector<NamedArgument>{s.f32("self", {5, 4}),
                                           value("indices", TensorList{rows}),
                                           s.f32("values", {3, 4}), value("accumulate", true)};
       }},
      {"grouped product",  // mixture-of-experts rows by expert weights (aten_experts.cpp)
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.f32("input", {6, 4}), s.f32("weight", {3, 4, 5}),
                                           s.tensor("offs", DType::Int32, {3})};
       }},
      {"embedding",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.f32("weight", {10, 4}),
                                           s.tensor("indices", DType::Int64, {2, 3})};
       }},
      {"slice scatter",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.f32("self", {4, 5}),    s.f32("src", {4, 2}),
                                           value("dim", int64_t{1}), value("start", int64_t{1}),
                                           value("end", int64_t{3}), value("step", int64_t{1})};
       }},
      {"pair of reals",  // view_as_complex (aten_complex.cpp)
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.f32("self", {2, 4, 2})};
       }},
      {"complex from parts",  // complex, polar (aten_complex.cpp)
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.f32("real", {2, 4}), s.f32("imag", {2, 4}),
                                           s.f32("abs", {2, 4}), s.f32("angle", {2, 4})};
       }},
      {"select scatter",
       [](ProbeScope& s) {
         return std::vector<NamedArgument>{s.f32("self", {4, 5}), s.f32("src", {4}),
                                           value("dim", int64_t{1}), value("index", int64_t{2})};
       }},
  };
}

// nn.LSTM and nn.GRU: one layer, input 4, hidden 3 (LSTM: 4 gates, GRU: 3).
std::vector<ProbeCall> recurrent_calls() {
  auto call = [](int64_t gates, bool lstm) {
    return [gates, lstm](ProbeScope& s) {
      TensorList states = {s.input("h0", DType::Float32, ir::Shape::from_dims({1, 2, 3}))};
      if (lstm) states.push_back(s.input("c0", DType::Float32, ir::Shape::from_dims({1, 2, 3})));
      NamedArgument hx = lstm ? value("hx", states) : NamedArgument{"hx", states[0], "h0"};
      return std::vector<NamedArgument>{
          s.f32("input", {5, 2, 4}),
          hx,
          s.list("params", {{gates * 3, 4}, {gates * 3, 3}, {gates * 3}, {gates * 3}}),
          value("has_biases", true),
          value("num_layers", int64_t{1}),
          value("dropout", 0.0),
          value("train", false),
          value("bidirectional", false),
          value("batch_first", false)};
    };
  };
  return {{"lstm",
           call(4, true),
           {{Kind::Tensor, {"out"}}, {Kind::Tensor, {"unused_h"}}, {Kind::Tensor, {"unused_c"}}}},
          {"gru", call(3, false), {{Kind::Tensor, {"out"}}, {Kind::Tensor, {"unused_h"}}}}};
}

const std::vector<ProbeCall>& probe_calls() {
  static const std::vector<ProbeCall> calls = [] {
    std::vector<ProbeCall> all;
    for (auto family : {math_calls, nn_calls, window_calls, recurrent_calls, shape_calls,
                        indexing_calls, creation_calls, composite_calls}) {
      for (ProbeCall& call : family()) all.push_back(std::move(call));
    }
    std::stable_partition(all.begin(), all.end(), [](const ProbeCall& c) { return !c.fallback; });
    return all;
  }();
  return calls;
}

bool is_used(const std::string& name) { return !name.starts_with("unused"); }

// Runs one converter on one probe call; the ops it emitted, or nothing if it rejected it.
std::optional<std::vector<std::string>> run_probe(const AtenConverter& converter,
                                                  const std::string& target,
                                                  const ProbeCall& call) {
  ProbeScope scope;
  try {
    std::vector<NamedArgument> arguments = call.arguments(scope);
    for (const OutputSlot& slot : call.outputs) {
      for (const std::string& name : slot.names) {
        if (is_used(name)) scope.context.mark_used(name);
      }
    }
    AtenNode node(scope.context, target, "probe", "probe.py:1", std::move(arguments), call.outputs);
    converter(node);
    for (const OutputSlot& slot : call.outputs) {
      for (const std::string& name : slot.names) {
        bool bound = slot.kind == Kind::SymInt ? scope.context.find_sym_int(name) != nullptr
                                               : scope.context.find_tensor(name) != nullptr;
        if (is_used(name) && !bound) return std::nullopt;
      }
    }
  } catch (const std::exception&) {
    return std::nullopt;  // the converter does not take this call
  }
  std::vector<std::string> ops;
  for (const ir::Node* node : scope.graph.nodes()) ops.push_back(node->op);
  return ops;
}

}  // namespace

AtenTrace trace_aten_target(const std::string& target) {
  AtenTrace trace;
  const AtenConverter* converter = find_aten_converter(target);
  if (converter == nullptr) return trace;
  for (const ProbeCall& call : probe_calls()) {
    if (call.fallback && !trace.core_ops.empty()) continue;
    std::optional<std::vector<std::string>> ops = run_probe(*converter, target, call);
    if (!ops) continue;
    trace.probes_converted.push_back(call.name);
    for (const std::string& op : *ops) {
      if (std::find(trace.core_ops.begin(), trace.core_ops.end(), op) == trace.core_ops.end()) {
        trace.core_ops.push_back(op);
      }
    }
  }
  return trace;
}

}  // namespace kiln::torch::probes
