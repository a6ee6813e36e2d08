// plan_storage without a GPU: casts only where neighbours store differently, views as
// aliases, constants in the dtype each reader wants, outputs delivered in their declared
// dtypes, and an arena where no two tensors alive at once share a byte (brute force, on
// hand-built graphs and on the PyTorch fixtures with every layer in bf16 or mixed).
#include "backends/cuda/runtime/plan/storage_plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "core/error.h"
#include "ir/op_schema.h"
#include "kiln/kiln.h"
#include "passes/passes.h"

namespace kiln::cuda {
namespace {

ir::Shape shape(const Dims& dims) { return ir::Shape::from_dims(dims); }

// The labels of the plan's steps in order: a node's name, or a cast's label.
std::vector<std::string> step_labels(const StoragePlan& plan) {
  std::vector<std::string> labels;
  for (const PlannedStep& step : plan.steps)
    labels.push_back(step.kind == PlannedStep::Kind::Cast ? step.label : step.node->name);
  return labels;
}

const PlannedTensor& output_tensor(const StoragePlan& plan, const std::string& name) {
  for (const auto& [output, tensor] : plan.outputs) {
    if (output == name) return plan.tensors[size_t(tensor)];
  }
  throw std::runtime_error("no output " + name);
}

int root_of(const StoragePlan& plan, int tensor) {
  while (plan.tensors[size_t(tensor)].placement == Placement::Alias)
    tensor = plan.tensors[size_t(tensor)].alias_of;
  return tensor;
}

// Lifetimes derived here, independently of the planner: an arena tensor lives from the step
// that writes it to the last step that reads it or a view of it.
void expect_arena_never_overlaps_live_tensors(const StoragePlan& plan) {
  std::map<int, std::pair<size_t, size_t>> lives;
  for (size_t step = 0; step < plan.steps.size(); ++step) {
    for (int tensor : plan.steps[step].outputs) {
      if (tensor >= 0 && plan.tensors[size_t(tensor)].placement == Placement::Arena)
        lives.emplace(tensor, std::pair(step, step));
    }
    for (int tensor : plan.steps[step].inputs) {
      if (tensor < 0) continue;
      auto found = lives.find(root_of(plan, tensor));
      if (found != lives.end()) found->second.second = step;
    }
  }
  for (const auto& [a, life_a] : lives) {
    const PlannedTensor& ta = plan.tensors[size_t(a)];
    EXPECT_EQ(ta.arena_offset % kTensorAlignment, 0u);
    EXPECT_LE(ta.arena_offset + ta.nbytes(), plan.arena_bytes) << ta.value->name;
    for (const auto& [b, life_b] : lives) {
      const PlannedTensor& tb = plan.tensors[size_t(b)];
      if (a >= b || ta.nbytes() == 0 || tb.nbytes() == 0) continue;
      bool alive_together = life_a.first <= life_b.second && life_b.first <= life_a.second;
      bool share = ta.arena_offset < tb.arena_offset + tb.nbytes() &&
                   tb.arena_offset < ta.arena_offset + ta.nbytes();
      EXPECT_FALSE(alive_together && share) << ta.value->name << " and " << tb.value->name;
    }
  }
}

TEST(StoragePlan, MixedPrecisionChainCastsOnlyAtBoundaries) {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, shape({3, 40}));
  ir::Node* add = graph.add_node("Add", "add", {x, x}, {"sum"});
  ir::Node* softmax = graph.add_node("Softmax", "softmax", {add->outputs[0]}, {"probabilities"});
  ir::Node* relu = graph.add_node("Relu", "relu", {softmax->outputs[0]}, {"positive"});
  ir::Node* tanh = graph.add_node("Tanh", "tanh", {relu->outputs[0]}, {"y"});
  graph.add_output(tanh->outputs[0]);
  ir::infer_graph(graph);
  add->precision = Precision::BF16;
  softmax->precision = Precision::FP32;
  relu->precision = Precision::FP32;
  tanh->precision = Precision::FP16;
  // Node by node: fused, relu and tanh would be one step with the cast in registers
  // (fused_plan_test.cpp).
  StoragePlan plan = plan_storage(graph, PlanOptions{.fuse_groups = false});
  EXPECT_EQ(
      step_labels(plan),
      (std::vector<std::string>{"cast x to bfloat16", "add", "cast sum to float32", "softmax",
                                "relu", "cast positive to float16", "tanh", "cast y to float32"}));
  // x is read once in bf16 although Add reads it twice: one cast, one tensor.
  EXPECT_EQ(plan.steps[1].inputs[0], plan.steps[1].inputs[1]);
  EXPECT_EQ(plan.tensors[size_t(plan.inputs.at("x"))].placement, Placement::Own);
  const PlannedTensor& y = output_tensor(plan, "y");
  EXPECT_EQ(y.dtype, DType::Float32);  // delivered in its declared dtype, in its own buffer
  EXPECT_EQ(y.placement, Placement::Own);
  EXPECT_EQ(plan.computed.size(), 8u);  // every tensor a step writes
  expect_arena_never_overlaps_live_tensors(plan);
}

TEST(StoragePlan, ReshapesAreAliasesUnlessDelivered) {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, shape({4, 64}));
  ir::Value* a = graph.add_node("Relu", "relu", {x}, {"a"})->outputs[0];
  ir::Value* target = graph.add_constant("target", Tensor::from_vector<int64_t>({2}, {16, 16}));
  ir::Value* view = graph.add_node("Reshape", "view", {a, target}, {"a_view"})->outputs[0];
  ir::Value* b = graph.add_node("Neg", "neg", {view}, {"b"})->outputs[0];
  ir::Value* out = graph.add_node("Reshape", "out", {b, target}, {"b_out"})->outputs[0];
  graph.add_output(out);
  ir::infer_graph(graph);
  StoragePlan plan = plan_storage(graph);
  // The inner Reshape is no step; the delivered one copies into the output's own buffer.
  EXPECT_EQ(step_labels(plan), (std::vector<std::string>{"relu", "neg", "out"}));
  ASSERT_EQ(plan.aliases.size(), 1u);
  const PlannedTensor& alias = plan.tensors[size_t(plan.aliases[0])];
  EXPECT_EQ(alias.value, view);
  EXPECT_EQ(alias.alias_offset, 0u);
  EXPECT_EQ(plan.tensors[size_t(alias.alias_of)].value, a);
  EXPECT_EQ(plan.steps[1].inputs[0], plan.aliases[0]);
  EXPECT_EQ(output_tensor(plan, "b_out").placement, Placement::Own);
  // Reading the view keeps a's bytes alive through 'neg': a and b never share.
  const PlannedTensor& a_tensor = plan.tensors[size_t(alias.alias_of)];
  const PlannedTensor& b_tensor = plan.tensors[size_t(plan.steps[1].outputs[0])];
  EXPECT_NE(a_tensor.arena_offset, b_tensor.arena_offset);
  expect_arena_never_overlaps_live_tensors(plan);
}

// torchvision's attention takes q, k, v = qkv[0], qkv[1], qkv[2]: aligned blocks are views.
TEST(StoragePlan, GatherOfAnAlignedLeadingBlockIsAView) {
  for (int64_t width : {64, 5}) {  // 64 floats = 256 bytes per block; 5 floats are not aligned
    ir::Graph graph;
    ir::Value* x = graph.add_input("x", DType::Float32, shape({3, width}));
    ir::Value* qkv = graph.add_node("Relu", "relu", {x}, {"qkv"})->outputs[0];
    ir::Value* index = graph.add_constant("two", Tensor::scalar<int64_t>(-1));
    ir::Value* v = graph.add_node("Gather", "take_v", {qkv, index}, {"v"})->outputs[0];
    ir::Value* y = graph.add_node("Neg", "neg", {v}, {"y"})->outputs[0];
    graph.add_output(y);
    ir::infer_graph(graph);
    StoragePlan plan = plan_storage(graph);
    SCOPED_TRACE("width " + std::to_string(width));
    if (width == 64) {
      EXPECT_EQ(step_labels(plan), (std::vector<std::string>{"relu", "neg"}));
      ASSERT_EQ(plan.aliases.size(), 1u);
      EXPECT_EQ(plan.tensors[size_t(plan.aliases[0])].alias_offset, 2u * 64 * sizeof(float));
    } else {
      EXPECT_EQ(step_labels(plan), (std::vector<std::string>{"relu", "take_v", "neg"}));
      EXPECT_TRUE(plan.aliases.empty());
    }
  }
}

TEST(StoragePlan, ConstantsInTheDtypeEachReaderWants) {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, shape({2, 8}));
  ir::Value* w = graph.add_constant("w", Tensor(DType::Float32, {8, 8}));
  ir::Node* first = graph.add_node("MatMul", "first", {x, w}, {"h"});
  ir::Node* second = graph.add_node("MatMul", "second", {first->outputs[0], w}, {"y"});
  ir::Node* scale = graph.add_node("Mul", "scale", {w, w}, {"w2"});  // constant first input
  graph.add_output(second->outputs[0]);
  graph.add_output(scale->outputs[0]);
  ir::infer_graph(graph);
  first->precision = Precision::BF16;
  second->precision = Precision::FP16;
  scale->precision = Precision::BF16;
  StoragePlan plan = plan_storage(graph);
  std::map<DType, int> copies_of_w;
  for (const PlannedTensor& tensor : plan.tensors) {
    if (tensor.value == w) {
      EXPECT_EQ(tensor.placement, Placement::Constant);
      ++copies_of_w[tensor.dtype];
    }
  }
  // One copy per dtype read, and no float32 copy although w is float32: nothing reads it so.
  EXPECT_EQ(copies_of_w, (std::map<DType, int>{{DType::BFloat16, 1}, {DType::Float16, 1}}));
  EXPECT_EQ(output_tensor(plan, "y").dtype, DType::Float32);
  EXPECT_EQ(output_tensor(plan, "w2").dtype, DType::Float32);
}

// A bf16 product of x [4, 8] by w [8, 16] and a Slice of it ("crop", output "logits") from
// `start` to `end` by `step` along `axis`; inferred, the product in BF16.
ir::Node* add_sliced_product(ir::Graph& graph, int64_t start, int64_t end, int64_t axis,
                             int64_t step) {
  ir::Value* x = graph.add_input("x", DType::Float32, shape({4, 8}));
  ir::Value* w = graph.add_constant("w", Tensor(DType::Float32, {8, 16}));
  ir::Node* product = graph.add_node("MatMul", "head", {x, w}, {"wide"});
  auto ints = [&](const char* name, int64_t value) {
    return graph.add_constant(name, Tensor::from_vector<int64_t>({1}, {value}));
  };
  ir::Node* crop = graph.add_node(
      "Slice", "crop",
      {product->outputs[0], ints("s", start), ints("e", end), ints("a", axis), ints("p", step)},
      {"logits"});
  graph.add_output(crop->outputs[0]);
  product->precision = Precision::BF16;
  return crop;
}

// Only a crop of the first columns of a MatMul's product folds into it: a crop from another
// start, of another axis or with a step keeps its own step.
// A packed Q/K/V projection (passes::pack_projections): the three Slices of its last axis that
// only the attention reads are aliases at their first column with the product's row pitch, no
// step; where the attention wants another dtype (a cast would read the block as if its rows
// were contiguous), or a Slice has another reader, the Slices keep their steps.
TEST(StoragePlan, ColumnBlocksOnlyTheAttentionReadsAreStridedAliases) {
  for (int variant = 0; variant < 3; ++variant) {
    SCOPED_TRACE("variant " + std::to_string(variant));
    ir::Graph graph;
    ir::Value* x = graph.add_input("x", DType::Float32, shape({2, 5, 16}));
    ir::Value* w = graph.add_constant("w", Tensor(DType::Float32, {16, 3 * 16}));
    ir::Node* product = graph.add_node("MatMul", "qkv", {x, w}, {"packed"});
    std::vector<ir::Value*> blocks;
    for (int64_t i = 0; i < 3; ++i) {
      auto ints = [&](const std::string& name, int64_t value) {
        return graph.add_constant(name + std::to_string(i),
                                  Tensor::from_vector<int64_t>({1}, {value}));
      };
      std::string name = std::string("slice_") + "qkv"[i];
      blocks.push_back(graph
                           .add_node("Slice", name,
                                     {product->outputs[0], ints("s", 16 * i),
                                      ints("e", 16 * (i + 1)), ints("a", 2)},
                                     {name + ".out"})
                           ->outputs[0]);
    }
    ir::Node* attention = graph.add_node("Attention", "attention", blocks, {"y"});
    attention->attrs["q_num_heads"] = int64_t(2);
    attention->attrs["kv_num_heads"] = int64_t(2);
    graph.add_output(attention->outputs[0]);
    if (variant == 2) graph.add_output(blocks[2]);  // V delivered too
    ir::infer_graph(graph);
    product->precision = Precision::BF16;
    attention->precision = variant == 1 ? Precision::FP32 : Precision::BF16;
    StoragePlan plan = plan_storage(graph);
    std::vector<std::string> labels = step_labels(plan);
    auto has = [&](const std::string& label) {
      return std::find(labels.begin(), labels.end(), label) != labels.end();
    };
    if (variant == 0) {
      EXPECT_FALSE(has("slice_q") || has("slice_k") || has("slice_v"));
      ASSERT_EQ(plan.aliases.size(), 3u);
      for (int64_t i = 0; i < 3; ++i) {
        const PlannedTensor& block = plan.tensors[size_t(plan.aliases[size_t(i)])];
        EXPECT_EQ(block.row_pitch, 48);
        EXPECT_EQ(block.alias_offset, size_t(16 * i) * 2);  // bf16 columns
        EXPECT_EQ(block.dims, (Dims{2, 5, 16}));
      }
    } else {
      EXPECT_TRUE(has(variant == 1 ? "slice_q" : "slice_v"));
      for (int alias : plan.aliases) {
        if (variant == 1) EXPECT_EQ(plan.tensors[size_t(alias)].row_pitch, 0);
      }
    }
  }
}

TEST(StoragePlan, OtherSlicesOfAProductKeepTheirStep) {
  struct Case {
    int64_t start, end, axis, step;
  };
  for (Case c : {Case{1, 13, 1, 1}, Case{0, 2, 0, 1}, Case{0, 13, 1, 2}}) {
    ir::Graph graph;
    add_sliced_product(graph, c.start, c.end, c.axis, c.step);
    ir::infer_graph(graph);
    StoragePlan plan = plan_storage(graph);
    SCOPED_TRACE("slice from " + std::to_string(c.start) + " on axis " + std::to_string(c.axis));
    EXPECT_EQ(step_labels(plan), (std::vector<std::string>{"cast x to bfloat16", "head", "crop"}));
  }
}

// A bf16 LM head delivered float32 (Llama's): the product writes the float32 output itself,
// no cast step. With a bias (whose dtype the product's storage fixes) or another reader of the
// bf16 product, the cast stays.
TEST(StoragePlan, ABf16ProductOnlyAWideningCastReadsWritesFloat32) {
  for (int variant = 0; variant < 3; ++variant) {
    SCOPED_TRACE("variant " + std::to_string(variant));
    ir::Graph graph;
    ir::Value* x = graph.add_input("x", DType::Float32, shape({4, 8}));
    std::vector<ir::Value*> inputs = {x, graph.add_constant("w", Tensor(DType::Float32, {8, 16}))};
    if (variant == 1) inputs.push_back(graph.add_constant("b", Tensor(DType::Float32, {16})));
    ir::Node* product = graph.add_node("MatMul", "head", inputs, {"logits"});
    product->precision = Precision::BF16;
    graph.add_output(product->outputs[0]);
    if (variant == 2) {
      ir::Node* tanh = graph.add_node("Tanh", "tanh", {product->outputs[0]}, {"t"});
      tanh->precision = Precision::BF16;
      graph.add_output(tanh->outputs[0]);
    }
    ir::infer_graph(graph);
    StoragePlan plan = plan_storage(graph);
    const PlannedTensor& logits = output_tensor(plan, "logits");
    EXPECT_EQ(logits.dtype, DType::Float32);
    EXPECT_EQ(logits.placement, Placement::Own);
    bool cast = false;
    for (const PlannedStep& step : plan.steps) cast |= step.label == "cast logits to float32";
    EXPECT_EQ(cast, variant != 0);
    if (variant == 0) EXPECT_EQ(plan.steps.back().node, product);
  }
}

// GPT-2's padded LM head: a bf16 product cropped by a Slice and delivered float32. The crop
// writes float32 itself (no cast step), and the product writes the crop's tensor (no crop
// step: ops/cropped_product.h); a crop someone else reads too keeps its cast.
TEST(StoragePlan, APaddedProductOnlyACropReadsWritesTheCropsTensor) {
  for (bool read_elsewhere : {false, true}) {
    ir::Graph graph;
    ir::Node* crop = add_sliced_product(graph, 0, 13, 1, 1);
    const ir::Node* product = crop->inputs[0]->producer;
    if (read_elsewhere) {
      ir::Node* tanh = graph.add_node("Tanh", "tanh", {crop->outputs[0]}, {"t"});
      graph.add_output(tanh->outputs[0]);
      tanh->precision = Precision::BF16;
    }
    ir::infer_graph(graph);
    StoragePlan plan = plan_storage(graph);
    SCOPED_TRACE(read_elsewhere ? "read elsewhere" : "read by the cast alone");
    const PlannedTensor& logits = output_tensor(plan, "logits");
    EXPECT_EQ(logits.dtype, DType::Float32);
    EXPECT_EQ(logits.placement, Placement::Own);
    const PlannedStep& head = plan.steps[1];
    ASSERT_EQ(head.node, product);
    EXPECT_EQ(plan.tensors[size_t(head.outputs[0])].dims, (Dims{4, 13}));
    if (read_elsewhere) {
      EXPECT_EQ(step_labels(plan),
                (std::vector<std::string>{"cast x to bfloat16", "head", "tanh",
                                          "cast logits to float32", "cast t to float32"}));
      EXPECT_EQ(plan.tensors[size_t(head.outputs[0])].dtype, DType::BFloat16);
    } else {
      EXPECT_EQ(step_labels(plan), (std::vector<std::string>{"cast x to bfloat16", "head"}));
      EXPECT_EQ(head.outputs[0], plan.outputs[0].second);
    }
    for (int computed : plan.computed) {  // every computed tensor has a writer
      bool written = false;
      for (const PlannedStep& step : plan.steps)
        written |= std::count(step.outputs.begin(), step.outputs.end(), computed) > 0;
      EXPECT_TRUE(written) << plan.tensors[size_t(computed)].value->name;
    }
    expect_arena_never_overlaps_live_tensors(plan);
  }
}

TEST(StoragePlan, UnreadOptionalOutputsGetNoTensor) {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, shape({2, 16}));
  ir::Value* scale = graph.add_constant("scale", Tensor(DType::Float32, {16}));
  ir::Node* norm = graph.add_node("LayerNormalization", "norm", {x, scale}, {"y", "mean"});
  graph.add_output(norm->outputs[0]);
  ir::infer_graph(graph);
  // Node by node (fused, the norm is a generated row kernel that writes only Y).
  StoragePlan plan = plan_storage(graph, PlanOptions{.fuse_groups = false});
  ASSERT_EQ(plan.steps.size(), 1u);
  EXPECT_EQ(plan.steps[0].outputs.size(), 2u);
  EXPECT_GE(plan.steps[0].outputs[0], 0);
  EXPECT_EQ(plan.steps[0].outputs[1], -1);
}

TEST(StoragePlan, AValueWithoutProducerIsAnError) {
  ir::Graph broken;
  ir::Value* orphan = broken.add_constant("placeholder", Tensor(DType::Float32, {2}));
  orphan->constant.reset();  // neither produced nor constant
  ir::Node* neg = broken.add_node("Neg", "neg", {orphan}, {"y"});
  broken.add_output(neg->outputs[0]);
  try {
    plan_storage(broken);
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("'placeholder' has no producer"), std::string::npos)
        << error.what();
  }
}

// The PyTorch fixtures planned as the runtime would: every layer bf16, then mixed (matrix
// products bf16, the rest fp32), at batch 2.
class StoragePlanFixture : public testing::TestWithParam<std::string> {};

TEST_P(StoragePlanFixture, ArenaIsValidAndSmallerThanSeparateBuffers) {
  std::string model = std::string(KILN_SOURCE_DIR) + "/tests/models/fixtures/" + GetParam() + "/" +
                      GetParam() + "_fp32.onnx";
  ir::Graph loaded = load_model(model);
  std::map<std::string, Dims> input_dims;
  for (const ir::Value* input : loaded.inputs()) {
    Dims dims;
    for (const ir::Dim& dim : input->shape.dims()) dims.push_back(dim.is_static() ? dim.value : 2);
    input_dims[input->name] = dims;
  }
  for (bool mixed : {false, true}) {
    ir::Graph graph = passes::specialize_shapes(loaded, input_dims);
    passes::assign_precisions(graph, {Precision::FP32, Precision::BF16}, false);
    for (ir::Node* node : graph.nodes()) {
      if (mixed && node->precision && node->op != "MatMul" && node->op != "Gemm" &&
          node->op != "Conv")
        node->precision = Precision::FP32;
    }
    StoragePlan plan = plan_storage(graph);
    SCOPED_TRACE(mixed ? "mixed" : "bf16");
    expect_arena_never_overlaps_live_tensors(plan);
    EXPECT_GT(plan.arena_bytes, 0u);
    EXPECT_LE(plan.arena_bytes * 2, plan.naive_arena_bytes)
        << "arena " << plan.arena_bytes << ", separate " << plan.naive_arena_bytes;
    for (const auto& [name, tensor] : plan.outputs) {
      EXPECT_EQ(plan.tensors[size_t(tensor)].dtype, graph.find_value(name)->dtype) << name;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Models, StoragePlanFixture, testing::Values("resnet", "bert", "gpt2"));

// The Llama fixture exported by torch.export: each layer's rotary embeddings (q and k: two
// slices, a Neg, a Concat, two Muls by cos/sin tables broadcast over the heads, an Add) are
// planned as one generated kernel each, in every format.
TEST(StoragePlan, LlamaRotaryEmbeddingsAreOneFusedStepEach) {
  for (const char* format : {"pt2", "onnx"}) {
    ir::Graph loaded = load_model(std::string(KILN_SOURCE_DIR) +
                                  "/tests/models/fixtures/llama/llama_fp32." + format);
    std::map<std::string, Dims> input_dims;
    for (const ir::Value* input : loaded.inputs()) {
      Dims dims;
      for (const ir::Dim& dim : input->shape.dims())
        dims.push_back(dim.is_static() ? dim.value : 2);
      input_dims[input->name] = dims;
    }
    ir::Graph graph = passes::specialize_shapes(loaded, input_dims);
    passes::assign_precisions(graph, {Precision::FP32, Precision::BF16}, false);
    StoragePlan plan = plan_storage(graph);
    int rotary = 0, loose = 0;
    for (const PlannedStep& step : plan.steps) {
      bool fused = step.kind == PlannedStep::Kind::Fused;
      rotary += fused && step.label.find("Concat") != std::string::npos &&
                step.label.find("Slice") != std::string::npos &&
                step.label.find("Mul") != std::string::npos;
      loose +=
          !fused && step.node != nullptr && (step.node->op == "Concat" || step.node->op == "Neg");
    }
    SCOPED_TRACE(format);
    EXPECT_GE(rotary, 2);  // q and k of every layer
    EXPECT_EQ(rotary % 2, 0);
    EXPECT_EQ(loose, 0) << "a rotary Concat or Neg runs on its own";
  }
}

}  // namespace
}  // namespace kiln::cuda
