// torch.cond in torch.export archives (tests/models/cond, made by make_cond_fixtures.py with
// PyTorch's own outputs): both branches are inlined with a Where on the predicate; a constant
// predicate (a buffer flag) keeps only its branch; a predicate computed from the input picks
// per run. Every case matches PyTorch.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "core/tensor_io.h"
#include "kiln/kiln.h"

namespace kiln {
namespace {

std::filesystem::path cond_fixture(const std::string& name) {
  return std::filesystem::path(KILN_SOURCE_DIR) / "tests/models/cond" / name;
}

std::set<std::string> ops_of(const ir::Graph& graph) {
  std::set<std::string> ops;
  for (const ir::Node* node : graph.nodes()) ops.insert(node->op);
  return ops;
}

void expect_matches_pytorch(const std::string& name) {
  ir::Graph graph = load_model(cond_fixture(name + ".pt2"));
  std::map<std::string, Tensor> io = read_safetensors(cond_fixture(name + "_io.safetensors"));
  CpuSession session(ir::copy_graph(graph), {Precision::FP32}, false);
  for (const std::string case_name : {"positive", "negative"}) {
    Tensor y = session.run({{"x", io.at(case_name + "_x")}}).begin()->second;
    EXPECT_LE(normalized_error(y, io.at(case_name + "_y")), 1e-6) << name << " " << case_name;
  }
}

TEST(Pt2Cond, ConstantPredicateKeepsOneBranch) {
  ir::Graph taken = load_model(cond_fixture("cond_flag_true.pt2"));
  EXPECT_EQ(ops_of(taken), (std::set<std::string>{"Gemm", "Relu"}));
  ir::Graph other = load_model(cond_fixture("cond_flag_false.pt2"));
  EXPECT_EQ(ops_of(other), (std::set<std::string>{"Mul", "Sub"}));
  EXPECT_EQ(other.outputs().at(0)->name, "getitem") << "the output keeps its name";
  expect_matches_pytorch("cond_flag_true");
  expect_matches_pytorch("cond_flag_false");
}

TEST(Pt2Cond, DataDependentPredicateSelectsPerRun) {
  ir::Graph graph = load_model(cond_fixture("cond_data.pt2"));
  std::set<std::string> ops = ops_of(graph);
  EXPECT_TRUE(ops.contains("Where") && ops.contains("Sigmoid") && ops.contains("Tanh"))
      << "both branches and the selection";
  expect_matches_pytorch("cond_data");  // x.sum() > 0 for one case, < 0 for the other
}

}  // namespace
}  // namespace kiln
