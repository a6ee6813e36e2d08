// Fusion groups in the storage plan: one step per group at its last node, inputs read in the
// dtype they are stored in (no cast steps), only values read outside the group written, and
// the unfused plan when fusion is off.
#include <gtest/gtest.h>

#include "backends/cuda/runtime/plan/storage_plan.h"
#include "ir/op_schema.h"

namespace kiln::cuda {
namespace {

ir::Shape shape(const Dims& dims) { return ir::Shape::from_dims(dims); }

// x[bf16 MatMul out] → Add(bias) → Gelu → Mul(0.5) → y (graph output, float32) and the Add's
// output also read by a second MatMul.
struct Model {
  ir::Graph graph;
  ir::Node *matmul, *add, *gelu, *mul, *reader;
  Model() {
    ir::Value* x = graph.add_input("x", DType::Float32, shape({8, 16}));
    ir::Value* w = graph.add_constant("w", Tensor(DType::Float32, {16, 16}));
    matmul = graph.add_node("MatMul", "matmul", {x, w}, {"m"});
    matmul->precision = Precision::BF16;
    add = graph.add_node(
        "Add", "add", {matmul->outputs[0], graph.add_constant("b", Tensor(DType::Float32, {16}))},
        {"a"});
    gelu = graph.add_node("Gelu", "gelu", {add->outputs[0]}, {"g"});
    mul = graph.add_node(
        "Mul", "mul",
        {gelu->outputs[0], graph.add_constant("half", Tensor::from_vector<float>({}, {0.5f}))},
        {"y"});
    reader = graph.add_node("MatMul", "reader", {add->outputs[0], w}, {"r"});
    for (ir::Node* node : {add, gelu, mul}) node->precision = Precision::BF16;
    reader->precision = Precision::BF16;
    graph.set_outputs({mul->outputs[0], reader->outputs[0]});
    ir::infer_graph(graph);
  }
};

TEST(FusedPlan, AGroupIsOneStepThatWritesOnlyWhatIsReadOutside) {
  Model model;
  StoragePlan plan = plan_storage(model.graph);
  ASSERT_EQ(plan.groups.size(), 1u);
  const PlannedGroup& group = plan.groups[0];
  EXPECT_EQ(group.nodes.size(), 3u);
  // The group reads m (bf16, as the MatMul stored it) and the bias; 0.5 is a literal.
  ASSERT_EQ(group.inputs.size(), 2u);
  EXPECT_EQ(group.inputs[0]->name, "m");
  EXPECT_EQ(group.inputs[1]->name, "b");
  // It writes a (read by `reader`) and y (a graph output); g never reaches memory.
  ASSERT_EQ(group.outputs.size(), 2u);
  EXPECT_EQ(group.outputs[0]->name, "a");
  EXPECT_EQ(group.outputs[1]->name, "y");
  std::vector<PlannedStep::Kind> kinds;
  for (const PlannedStep& step : plan.steps) kinds.push_back(step.kind);
  // x's cast for the bf16 matmul, matmul, the group, reader (which writes r as float32
  // itself), then y's cast to its declared float32.
  using Kind = PlannedStep::Kind;
  EXPECT_EQ(kinds,
            (std::vector<Kind>{Kind::Cast, Kind::Launch, Kind::Fused, Kind::Launch, Kind::Cast}));
  const PlannedStep& fused = plan.steps[2];
  EXPECT_EQ(fused.label, "Add+Gelu+Mul");
  EXPECT_EQ(plan.tensors[size_t(fused.inputs[0])].dtype, DType::BFloat16);
  EXPECT_EQ(plan.tensors[size_t(fused.inputs[1])].dtype, DType::BFloat16);  // bf16 weight copy
  EXPECT_EQ(plan.tensors[size_t(fused.outputs[0])].dtype, DType::BFloat16);
  for (const PlannedTensor& tensor : plan.tensors) EXPECT_NE(tensor.value->name, "g");
}

TEST(FusedPlan, WithoutFusionEveryNodeIsAStep) {
  Model model;
  StoragePlan plan = plan_storage(model.graph, PlanOptions{false});
  EXPECT_TRUE(plan.groups.empty());
  int launches = 0;
  for (const PlannedStep& step : plan.steps) launches += step.kind == PlannedStep::Kind::Launch;
  EXPECT_EQ(launches, 5);
}

}  // namespace
}  // namespace kiln::cuda
