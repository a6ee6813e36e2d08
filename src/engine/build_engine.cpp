// The builder: heuristic precisions and the user's constraints first, then (with a GPU)
// each timed layer moved to its fastest enabled precision, casts at its boundaries counted.
#include "engine/build_engine.h"

#include <algorithm>

#include "core/error.h"
#include "core/log.h"
#include "ir/op_schema.h"
#include "passes/passes.h"
#include "passes/storage_dtype.h"

namespace kiln::engine {
namespace {

// Layers whose speed depends on the precision's arithmetic, not only on bytes moved.
bool is_timed_op(const std::string& op) {
  return op == "MatMul" || op == "Gemm" || op == "Conv" || op == "Attention";
}

bool is_constrained(const ir::Node& node, const BuildConfig& config) {
  return config.layer_precisions.count(node.name) > 0 || config.layer_precisions.count(node.op) > 0;
}

// The precisions worth timing for `node`: TF32 is a mode of matrix products only, and
// equals FP32 elsewhere.
std::vector<Precision> candidates(const ir::Node& node, const std::set<Precision>& enabled) {
  std::vector<Precision> result;
  for (Precision precision : enabled) {
    if (precision == Precision::TF32 && node.op == "Attention" && enabled.count(Precision::FP32))
      continue;
    result.push_back(precision);
  }
  if (result.empty()) result.push_back(Precision::FP32);
  return result;
}

// The casts `node` would cost in storage `storage`: float activations arriving in another
// storage, and outputs read by layers that store differently.
double boundary_cast_ms(const ir::Graph& graph, const ir::Node& node, DType storage,
                        LayerTimer& timer) {
  double total = 0;
  for (const ir::Value* input : node.inputs) {
    if (input == nullptr || input->is_constant() || !is_float_storage(input->dtype)) continue;
    DType from = passes::storage_dtype(*input);
    if (from != storage)
      total += timer.cast_ms(element_count(input->shape.static_dims()), from, storage);
  }
  for (const ir::Value* output : node.outputs) {
    if (!is_float_storage(output->dtype)) continue;
    for (const ir::Node* user : graph.users(output)) {
      if (!ir::is_float_compute(user->op) || !user->precision) continue;
      DType wanted = precision_storage_dtype(*user->precision);
      if (wanted != storage)
        total += timer.cast_ms(element_count(output->shape.static_dims()), storage, wanted);
    }
  }
  return total;
}

struct TimingPass {
  const BuildConfig& config;
  LayerTimer& timer;
  TimingCache* cache;
  const BuildProgress& progress;
  BuildResult& result;
  std::string architecture;

  std::optional<double> time(const ir::Node& node, Precision precision) {
    std::string key = layer_signature(node, precision, architecture);
    if (cache != nullptr) {
      if (auto known = cache->find(key)) {
        ++result.timings_cached;
        return *known;
      }
    }
    std::optional<double> ms = timer.time_layer(node, precision);
    ++result.layers_timed;
    if (cache != nullptr) cache->insert(key, ms);
    return ms;
  }

  // `node` set to run through `tactic` ("" for a layer with one implementation).
  static void set_tactic(ir::Node& node, const std::string& tactic) {
    if (tactic.empty()) {
      node.attrs.erase(kTacticAttribute);
    } else {
      node.attrs[kTacticAttribute] = tactic;
    }
  }

  // Chooses on `specialized` (static shapes), in node order, so that each choice sees its
  // producers' final storage: every enabled precision, through each of its tactics.
  void run(ir::Graph& specialized) {
    std::set<std::string> pinned = passes::rounding_sensitive_layers(
        specialized, config.enabled_precisions, config.strongly_typed);
    std::vector<ir::Node*> timed;
    for (ir::Node* node : specialized.nodes()) {
      if (node->precision && is_timed_op(node->op) && !is_constrained(*node, config) &&
          !pinned.count(node->name)) {
        timed.push_back(node);
      }
    }
    for (size_t index = 0; index < timed.size(); ++index) {
      ir::Node& node = *timed[index];
      if (progress) progress("timing layers", index, timed.size());
      std::optional<Precision> best;
      std::string best_tactic;
      double best_cost = 0;
      for (Precision precision : candidates(node, config.enabled_precisions)) {
        std::vector<std::string> tactics = timer.tactics(node, precision);
        if (tactics.empty()) tactics.push_back("");
        DType storage = precision_storage_dtype(precision);
        double casts = boundary_cast_ms(specialized, node, storage, timer);
        for (const std::string& tactic : tactics) {
          set_tactic(node, tactic);
          std::optional<double> ms = time(node, precision);
          if (!ms) continue;
          auto [recorded, fresh] = result.layer_timings[node.name].emplace(precision, *ms);
          if (!fresh) recorded->second = std::min(recorded->second, *ms);
          double cost = *ms + casts;
          // Ties go to the wider precision (earlier in the enum) and the earlier tactic: same
          // speed, more accuracy or the preferred implementation.
          if (!best || cost < best_cost * 0.98) {
            best = precision;
            best_tactic = tactic;
            best_cost = cost;
          }
        }
      }
      set_tactic(node, best ? best_tactic : "");
      if (best) node.precision = *best;
    }
    if (progress) progress("timing layers", timed.size(), timed.size());
  }
};

bool graph_has_dtype(const ir::Graph& graph, DType dtype) {
  for (const ir::Value* value : graph.values()) {
    if (value->dtype == dtype) return true;
  }
  return false;
}

}  // namespace

void assign_engine_precisions(ir::Graph& graph, const BuildConfig& config) {
  check(!config.enabled_precisions.empty(), ErrorKind::InvalidArgument,
        "no precision enabled (valid: fp32, tf32, fp16, bf16)");
  passes::assign_precisions(graph, config.enabled_precisions, config.strongly_typed);
  std::map<std::string, int> matches;
  for (ir::Node* node : graph.nodes()) {
    if (!node->precision) continue;  // not a float-computing layer: it has no precision
    auto by_name = config.layer_precisions.find(node->name);
    auto by_op = config.layer_precisions.find(node->op);
    auto chosen = by_name != config.layer_precisions.end() ? by_name : by_op;
    if (chosen == config.layer_precisions.end()) continue;
    node->precision = chosen->second;
    ++matches[chosen->first];
  }
  for (const auto& [key, precision] : config.layer_precisions) {
    check(matches.count(key) > 0, ErrorKind::InvalidArgument, "--layer-precision ", key, "=",
          precision_name(precision),
          ": no float-computing layer has that name or op (see 'kiln inspect' for the layers)");
  }
}

BuildConfig fit_config_to_gpu(const ir::Graph& graph, BuildConfig config, int compute_capability,
                              const std::string& gpu_name, std::vector<std::string>& warnings) {
  if (compute_capability >= 80 || config.enabled_precisions.count(Precision::BF16) == 0)
    return config;
  std::string gpu = gpu_name + " (sm_" + std::to_string(compute_capability) + ")";
  bool pinned = false;
  for (const auto& [key, precision] : config.layer_precisions)
    pinned |= precision == Precision::BF16;
  bool only = config.enabled_precisions.size() == 1;
  bool typed = config.strongly_typed && graph_has_dtype(graph, DType::BFloat16);
  check(!(pinned || only || typed), ErrorKind::Unsupported,
        "bf16 needs a GPU of compute capability 8.0 ", "or newer (Ampere); this GPU is ", gpu, ". ",
        typed ? "Convert the model's bfloat16 tensors to float16 or float32, or build it without "
                "--strongly-typed"
              : "Build with --precision fp16 (or fp32) instead",
        pinned ? " and drop the bf16 --layer-precision" : "", ".");
  config.enabled_precisions.erase(Precision::BF16);
  warnings.push_back("bf16 is enabled but " + gpu +
                     " has no bf16 arithmetic (it needs compute "
                     "capability 8.0): building with " +
                     precisions_to_string(config.enabled_precisions));
  return config;
}

BuildResult build_engine(ir::Graph graph, BuildConfig config, LayerTimer* timer, TimingCache* cache,
                         const BuildProgress& progress) {
  BuildResult result;
  if (timer != nullptr) {
    result.header = timer->gpu();
    config = fit_config_to_gpu(graph, config, timer->compute_capability(), result.header.gpu_name,
                               result.warnings);
  }
  passes::fold_batch_norm(graph);
  passes::recognize_gelu(graph);
  // A fused QKV product read in blocks becomes one product per block here, once, its weights
  // sliced into the engine: an execution context's re-optimization must not slice (and so
  // widen and copy) the engine's shared weights.
  if (passes::split_sliced_products(graph) > 0) passes::fold_constants(graph);
  // SiLU joins convolutions where they run as cuDNN graphs (channels-last); through the legacy
  // API it would be one more pass over memory, as the Sigmoid·Mul fusion group is anyway.
  passes::fuse_epilogues(graph, /*conv_silu=*/config.channels_last);
  // Q, K and V products of one input (their biases fused just above) become one, three times
  // as wide, whose column blocks the attention reads in place (after the split above, which
  // cuts GPT-2's fused c_attn the same way for every other reader of blocks).
  passes::pack_projections(graph);
  // Aligned rows for wide products: GPT-2's 50257-wide LM head, padded to 50264 and cropped.
  passes::pad_matmul_columns(graph);
  // A residual add joins the linear layer it follows (cuBLASLt's beta·C): a transformer's
  // attention output and MLP projections, leaving the LayerNorm after them one input.
  passes::fuse_product_residual(graph);
  // With config.channels_last (the default; kiln build --conv-layout nchw turns it off), 2-D
  // convolutions and the work between them go channels-last (NHWC): the layout of cuDNN's fast
  // tensor-core engines, which the CUDA backend runs through the graph API with the bias, the
  // residual add and the activation fused, and depthwise ones through Kiln's own kernel
  // (ops/conv_cudnn.cpp). Measured faster than NCHW on every benchmark network (H100,
  // bench/results/2026-12-06-h100-conv).
  if (config.channels_last && passes::convert_to_channels_last(graph) > 0) {
    // A region's exit Transpose next to the model's own permute (ConvNeXt's NCHW↔NHWC around
    // its LayerNorm) composes into one, or into none.
    passes::simplify_shape_ops(graph);
    passes::eliminate_dead_code(graph);
    // A residual add (and the ReLU after it) joins the convolution it follows: one cuDNN graph.
    passes::fuse_conv_residual(graph);
  }
  assign_engine_precisions(graph, config);
  if (timer != nullptr && !config.strongly_typed) {
    ir::Graph specialized = passes::specialize_shapes(graph, config.tuned_input_dims);
    TimingPass pass{config, *timer, cache, progress, result, result.header.gpu_architecture};
    pass.run(specialized);
    for (ir::Node* node : graph.nodes()) {
      const ir::Value* output =
          node->outputs.empty() ? nullptr : specialized.find_value(node->outputs[0]->name);
      if (output != nullptr && output->producer != nullptr && output->producer->precision &&
          node->precision) {
        node->precision = output->producer->precision;
        const ir::Node& timed = *output->producer;
        if (timed.has_attr(kTacticAttribute)) {
          node->attrs[kTacticAttribute] = timed.attrs.at(kTacticAttribute);
        }
      }
    }
  }
  // Residuals the timing found faster as an Add after their product go back into the graph,
  // where the fusion groups join them to the LayerNorm that follows.
  passes::separate_timed_residuals(graph);
  if (timer == nullptr) config.tuned_input_dims.clear();
  result.graph = std::move(graph);
  result.config = std::move(config);
  return result;
}

}  // namespace kiln::engine
