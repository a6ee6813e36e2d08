// The CudaExecutor on small graphs of several nodes, not one op: neighbours in different
// precisions (casts at the boundaries only), and the indexing kernels chained with no host
// fallback, each against the CPU executor.
#include "backends/cuda/runtime/cuda_executor.h"

#include "backends/cpu/executor.h"
#include "cuda_test_util.h"
#include "ir/op_schema.h"
#include "passes/passes.h"

namespace kiln::cuda_test {
namespace {

// A chain whose neighbours run in different precisions: casts at the boundary only, and
// a fp32 graph input read by a bf16 layer.
TEST(CudaExecutorTest, MixedPrecisionChainMatchesCpu) {
  KILN_REQUIRE_GPU();
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32,
                                 ir::Shape({ir::Dim::named("batch"), ir::Dim::fixed(40)}));
  ir::Node* add = graph.add_node("Add", "add", {x, x}, {"sum"});
  ir::Node* softmax = graph.add_node("Softmax", "softmax", {add->outputs[0]}, {"probabilities"});
  ir::Node* tanh = graph.add_node("Tanh", "tanh", {softmax->outputs[0]}, {"y"});
  graph.add_output(tanh->outputs[0]);
  ir::infer_graph(graph);
  add->precision = Precision::BF16;
  softmax->precision = Precision::FP32;
  tanh->precision = Precision::FP16;
  std::map<std::string, Tensor> inputs{{"x", random_tensor(DType::Float32, {3, 40}, -2, 2, 5)}};
  std::vector<Tensor> expected = cpu::Executor(graph).run(inputs);
  cuda::CudaExecutor executor(graph, {{"x", {3, 40}}}, {.poison_values = true});
  std::vector<Tensor> actual = executor.run(inputs);
  ASSERT_EQ(actual[0].dtype(), DType::Float32);
  EXPECT_LE(normalized_error(actual[0], expected[0]), tolerance_for(Precision::FP16));
  // Running twice gives the same answer (no state left from the first run).
  EXPECT_EQ(normalized_error(executor.run(inputs)[0], actual[0]), 0.0);
}

// Copies whose output the runtime stores in another float type convert on the way (the cast
// folded into them): a bf16/fp16 product cropped, transposed or expanded into float32 outputs,
// with rows not multiples of anything (GPT-2's logits are 50257 wide).
TEST(CudaExecutorTest, CopiesDeliverAnotherFloatTypeDirectly) {
  KILN_REQUIRE_GPU();
  for (Precision precision : {Precision::BF16, Precision::FP16}) {
    ir::Graph graph;
    ir::Value* x = graph.add_input("x", DType::Float32, ir::Shape::from_dims({2, 37, 24}));
    ir::Value* w = graph.add_constant("w", random_tensor(DType::Float32, {24, 104}, -1, 1, 3));
    ir::Node* product = graph.add_node("MatMul", "head", {x, w}, {"wide"});
    auto ints = [&](const std::string& name, std::vector<int64_t> values) {
      return graph.add_constant(name,
                                Tensor::from_vector<int64_t>({int64_t(values.size())}, values));
    };
    ir::Value* wide = product->outputs[0];
    graph.add_output(graph
                         .add_node("Slice", "crop",
                                   {wide, ints("s", {0}), ints("e", {101}), ints("a", {2})},
                                   {"cropped"})
                         ->outputs[0]);
    ir::Node* transpose = graph.add_node("Transpose", "swap", {wide}, {"swapped"});
    transpose->attrs["perm"] = std::vector<int64_t>{0, 2, 1};
    graph.add_output(transpose->outputs[0]);
    graph.add_output(
        graph.add_node("Expand", "grow", {wide, ints("shape", {3, 2, 37, 104})}, {"grown"})
            ->outputs[0]);
    ir::infer_graph(graph);
    product->precision = precision;
    std::map<std::string, Tensor> inputs{
        {"x", random_tensor(DType::Float32, {2, 37, 24}, -2, 2, 9)}};
    std::vector<Tensor> expected = cpu::Executor(graph).run(inputs);
    cuda::CudaExecutor executor(graph, {}, {.poison_values = true});
    std::vector<Tensor> actual = executor.run(inputs);
    ASSERT_EQ(actual.size(), 3u);
    for (size_t i = 0; i < actual.size(); ++i) {
      ASSERT_EQ(actual[i].dtype(), DType::Float32);
      // Exactly the CPU's: the product rounds to the storage type on both, copies are exact.
      EXPECT_LE(normalized_error(actual[i], expected[i]), tolerance_for(precision))
          << precision_name(precision) << " output " << i;
    }
  }
}

// A product with misaligned rows, padded by pad_matmul_columns and cropped: the storage plan
// folds the crop (and the float32 cast after it) into the product, which runs in blocks of
// 8192 columns by as many rows as 16 MB hold (cropped_product.cpp). 9001 columns and 1300
// rows make two column blocks, the second mostly padding, and two row blocks in bf16; with
// bias and ReLU in the epilogue, every block's slice of the bias must line up. An exact GELU
// finished in the bf16 product's epilogue is not applied again to the float32 output.
TEST(CudaExecutorTest, ACroppedProductRunsInBlocksAndMatchesTheCpu) {
  KILN_REQUIRE_GPU();
  for (auto [precision, activation] :
       {std::pair{Precision::BF16, "Relu"}, std::pair{Precision::FP32, "Relu"},
        std::pair{Precision::BF16, "Gelu"}}) {
    SCOPED_TRACE(std::string(precision_name(precision)) + " " + activation);
    ir::Graph graph;
    ir::Value* x = graph.add_input("x", DType::Float32, ir::Shape::from_dims({1300, 48}));
    ir::Value* w = graph.add_constant("w", random_tensor(DType::Float32, {48, 9001}, -1, 1, 30));
    ir::Value* bias = graph.add_constant("bias", random_tensor(DType::Float32, {9001}, -1, 1, 31));
    ir::Node* product = graph.add_node("MatMul", "head", {x, w, bias}, {"logits"});
    product->attrs["fused_activation"] = std::string(activation);
    graph.add_output(product->outputs[0]);
    ir::infer_graph(graph);
    ASSERT_EQ(passes::pad_matmul_columns(graph), 1);
    for (ir::Node* node : graph.nodes()) {
      if (node->op == "MatMul") node->precision = precision;
    }
    std::map<std::string, Tensor> inputs{
        {"x", random_tensor(DType::Float32, {1300, 48}, -2, 2, 32)}};
    std::vector<Tensor> expected = cpu::Executor(graph).run(inputs);
    cuda::CudaExecutor executor(graph, {}, {.poison_values = true});
    std::vector<Tensor> actual = executor.run(inputs);
    ASSERT_EQ(actual[0].dtype(), DType::Float32);
    ASSERT_EQ(actual[0].dims(), (Dims{1300, 9001}));
    double error = normalized_error(actual[0], expected[0]);
    EXPECT_LE(error, tolerance_for(precision)) << precision_name(precision);
  }
}

// Q, K and V projections packed into one product (passes::pack_projections) that the attention
// reads in place: its Slices are aliases with the packed row pitch (storage_plan.h), and every
// attention path reads the strides. Grouped KV heads make the blocks unequal; with a bias, causal
// and not, bf16 and fp32, against the CPU running the unpacked graph.
TEST(CudaExecutorTest, PackedProjectionsFeedTheAttentionInPlace) {
  KILN_REQUIRE_GPU();
  constexpr int64_t kBatch = 2, kSeq = 37, kModel = 64, kHeads = 4, kKvHeads = 2, kHead = 16;
  for (Precision precision : {Precision::BF16, Precision::FP32}) {
    for (int64_t causal : {0, 1}) {
      SCOPED_TRACE(std::string(precision_name(precision)) + (causal ? " causal" : ""));
      ir::Graph graph;
      ir::Value* x =
          graph.add_input("x", DType::Float32, ir::Shape::from_dims({kBatch, kSeq, kModel}));
      std::vector<ir::Value*> heads;
      int64_t widths[3] = {kHeads * kHead, kKvHeads * kHead, kKvHeads * kHead};
      for (int i = 0; i < 3; ++i) {
        std::string name = std::string("proj_") + "qkv"[i];
        ir::Value* w = graph.add_constant(
            name + ".w", random_tensor(DType::Float32, {kModel, widths[i]}, -0.3, 0.3, 40 + i));
        ir::Value* b = graph.add_constant(
            name + ".b", random_tensor(DType::Float32, {widths[i]}, -0.3, 0.3, 50 + i));
        ir::Value* product = graph.add_node("MatMul", name, {x, w}, {name + ".p"})->outputs[0];
        heads.push_back(
            graph.add_node("Add", name + ".bias", {product, b}, {name + ".out"})->outputs[0]);
      }
      ir::Node* attention = graph.add_node("Attention", "attention", heads, {"y"});
      attention->attrs = {
          {"q_num_heads", kHeads}, {"kv_num_heads", kKvHeads}, {"is_causal", causal}};
      graph.add_output(attention->outputs[0]);
      ir::infer_graph(graph);
      std::map<std::string, Tensor> inputs{
          {"x", random_tensor(DType::Float32, {kBatch, kSeq, kModel}, -1, 1, 60)}};
      std::vector<Tensor> expected = cpu::Executor(graph).run(inputs);
      passes::fuse_epilogues(graph, false);  // biases into the products, as the builder does
      ASSERT_EQ(passes::pack_projections(graph), 1);
      for (ir::Node* node : graph.nodes()) {
        if (ir::is_float_compute(node->op)) node->precision = precision;
      }
      cuda::CudaExecutor executor(graph, {}, {.poison_values = true});
      std::vector<Tensor> actual = executor.run(inputs);
      EXPECT_LE(normalized_error(actual[0], expected[0]), tolerance_for(precision));
    }
  }
}

// Attention layers reading one mask (BERT's padding mask in every layer): cuDNN's dense bias is
// written by the first and reused by the next in the same inference (AttentionBiasMemo), never
// across inferences. Four layers, the third causal (another bias): the second reuses the
// first's, the last writes its own, which the next run's first must not take. Two runs with
// different masks, rows without a key among them, against the CPU.
TEST(CudaExecutorTest, AttentionLayersShareTheirMasksBiasWithinAnInference) {
  KILN_REQUIRE_GPU();
  constexpr int64_t kBatch = 2, kHeads = 4, kSeq = 24, kHead = 32;
  const Dims qkv{kBatch, kHeads, kSeq, kHead};
  ir::Graph graph;
  ir::Value* mask =
      graph.add_input("mask", DType::Bool, ir::Shape::from_dims({kBatch, 1, kSeq, kSeq}));
  ir::Value* x = graph.add_input("x", DType::Float32, ir::Shape::from_dims(qkv));
  ir::Value* k = graph.add_input("k", DType::Float32, ir::Shape::from_dims(qkv));
  ir::Value* hidden = x;
  for (int layer = 0; layer < 4; ++layer) {
    std::string name = "attention_" + std::to_string(layer);
    ir::Node* attention =
        graph.add_node("Attention", name, {hidden, k, hidden, mask}, {name + ".y"});
    attention->attrs = {{"is_causal", int64_t(layer == 2)}};
    attention->precision = Precision::BF16;
    hidden = attention->outputs[0];
  }
  graph.add_output(hidden);
  ir::infer_graph(graph);
  cuda::CudaExecutor executor(graph, {}, {.poison_values = true});
  for (uint32_t run = 0; run < 2; ++run) {
    SCOPED_TRACE("run " + std::to_string(run));
    Tensor keys = random_tensor(DType::Float32, {kBatch, 1, kSeq, kSeq}, 0, 1, 90 + run);
    Tensor masks(DType::Bool, {kBatch, 1, kSeq, kSeq});
    for (int64_t i = 0; i < masks.numel(); ++i) {
      int64_t row = i / kSeq % kSeq;
      // Keep about half the keys; rows 3 and 4 + run keep none.
      masks.data_mutable<bool>()[i] =
          row != 3 && row != 4 + int64_t(run) && keys.data<float>()[i] < 0.5f;
    }
    std::map<std::string, Tensor> inputs{
        {"mask", masks},
        {"x", random_tensor(DType::Float32, qkv, -1, 1, 80 + run)},
        {"k", random_tensor(DType::Float32, qkv, -1, 1, 85 + run)}};
    std::vector<Tensor> expected = cpu::Executor(graph).run(inputs);
    std::vector<Tensor> actual = executor.run(inputs);
    EXPECT_LE(normalized_error(actual[0], expected[0]), tolerance_for(Precision::BF16));
  }
}

// The indexing kernels are in the executor's table: a graph of them runs with no host
// fallback, in each precision, and matches the CPU executor.
TEST(CudaIndexingTest, RunsInExecutorWithoutHostFallback) {
  KILN_REQUIRE_GPU();
  for (Precision precision : {Precision::FP32, Precision::FP16, Precision::BF16}) {
    ir::Graph graph;
    ir::Value* x = graph.add_input("x", DType::Float32, ir::Shape::from_dims({4, 70, 70}));
    ir::Value* indices = graph.add_input("indices", DType::Int64, ir::Shape::from_dims({4, 70, 9}));
    ir::Node* cumsum = graph.add_node("CumSum", "cumsum", {x}, {"sums"});
    cumsum->attrs = {{"axis", int64_t(1)}, {"reverse", int64_t(1)}};
    ir::Value* k = graph.add_constant("k", Tensor::scalar<int64_t>(-2));
    ir::Node* trilu = graph.add_node("Trilu", "trilu", {cumsum->outputs[0], k}, {"lower"});
    trilu->attrs = {{"upper", int64_t(0)}};
    ir::Node* gather =
        graph.add_node("GatherElements", "gather", {trilu->outputs[0], indices}, {"y"});
    gather->attrs = {{"axis", int64_t(2)}};
    graph.add_output(gather->outputs[0]);
    ir::infer_graph(graph);
    passes::assign_precisions(graph, {Precision::FP32, precision}, false);
    std::map<std::string, Tensor> inputs = {
        {"x", random_tensor(DType::Float32, {4, 70, 70}, -3, 3, 700)},
        {"indices", random_tensor(DType::Int64, {4, 70, 9}, -70, 70, 701)}};
    std::vector<Tensor> expected = cpu::Executor(graph).run(inputs);
    cuda::CudaExecutor executor(graph, {}, {.poison_values = true});
    std::vector<Tensor> actual = executor.run(inputs);
    EXPECT_TRUE(executor.host_nodes().empty()) << "ran on the host: " << executor.host_nodes()[0];
    ASSERT_EQ(actual.size(), 1u);
    double error = normalized_error(actual[0], expected[0]);
    EXPECT_LE(error, tolerance_for(precision))
        << precision_name(precision) << ": normalized error " << error;
  }
}

// A TopK with one output unread (sort's values alone, argsort's indices alone): that output
// has no storage, and the kernel writes only the other (it used to refuse the node).
TEST(CudaExecutorTest, TopKWithOneOutputUnread) {
  KILN_REQUIRE_GPU();
  for (size_t kept : {size_t{0}, size_t{1}}) {
    ir::Graph graph;
    ir::Value* x = graph.add_input("x", DType::Float32, ir::Shape::from_dims({4, 33}));
    ir::Node* top = graph.add_node("TopK", "sort", {x}, {"values", "indices"});
    top->attrs["k"] = int64_t{33};
    top->attrs["axis"] = int64_t{-1};
    graph.add_output(top->outputs[kept]);
    ir::infer_graph(graph);
    std::map<std::string, Tensor> inputs{{"x", random_tensor(DType::Float32, {4, 33}, -2, 2, 7)}};
    std::vector<Tensor> expected = cpu::Executor(graph).run(inputs);
    cuda::CudaExecutor executor(graph, {}, {.poison_values = true});
    std::vector<Tensor> actual = executor.run(inputs);
    ASSERT_EQ(actual.size(), 1u);
    EXPECT_EQ(actual[0].to_double_vector(), expected[0].to_double_vector()) << "output " << kept;
  }
}

}  // namespace
}  // namespace kiln::cuda_test
