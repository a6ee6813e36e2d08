// torch.cond in torch.export archives (tests/models/cond, made by make_cond_fixtures.py with
// PyTorch's own outputs): both branches are inlined with a Where on the predicate; a constant
// predicate (a buffer flag) keeps only its branch; a predicate computed from the input picks
// per run. Every case matches PyTorch.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>

#include "core/tensor_io.h"
#include "frontends/pt2/pt2_importer.h"
#include "kiln/kiln.h"
#include "test_support/zip_entries.h"

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

// Damaged cond nodes are errors naming the problem, never a crash: a wrong argument count, a
// predicate that is no tensor, operands that are no list, branches that disagree with it.
TEST(Pt2Cond, DamagedCondNodesAreClearErrors) {
  using nlohmann::json;
  using test_support::ZipEntries;
  auto import_edited = [](const std::function<void(json&)>& edit) -> Error {
    ZipEntries archive = ZipEntries::read(cond_fixture("cond_data.pt2"));
    json program = archive.json("models/model.json");
    for (json& node : program["graph_module"]["graph"]["nodes"]) {
      if (node["target"] == "torch.ops.higher_order.cond") edit(node);
    }
    archive.set_json("models/model.json", program);
    try {
      pt2::import_pt2_bytes(archive.write(), "cond.pt2");
    } catch (const Error& error) {
      return error;
    }
    ADD_FAILURE() << "the damaged cond imported";
    return Error(ErrorKind::Runtime, "");
  };
  Error arity = import_edited([](json& node) { node["inputs"].erase(3); });
  EXPECT_EQ(arity.kind(), ErrorKind::InvalidModel);
  EXPECT_THAT(arity.what(), ::testing::HasSubstr("torch.cond with 3 arguments"));
  Error symbolic = import_edited([](json& node) {
    node["inputs"][0]["arg"] = {{"as_sym_bool", {{"as_name", "b0"}}}};
  });
  EXPECT_EQ(symbolic.kind(), ErrorKind::Unsupported);
  EXPECT_THAT(symbolic.what(), ::testing::HasSubstr("predicate of symbolic sizes"));
  Error operands = import_edited([](json& node) { node["inputs"][3]["arg"] = {{"as_int", 3}}; });
  EXPECT_EQ(operands.kind(), ErrorKind::InvalidModel);
  Error branch = import_edited([](json& node) {
    node["inputs"][1]["arg"]["as_graph"]["graph"]["outputs"].push_back(
        {{"as_tensor", {{"name", "x"}}}});
  });
  EXPECT_EQ(branch.kind(), ErrorKind::InvalidModel);
  EXPECT_THAT(branch.what(), ::testing::HasSubstr("its subgraph takes"));
}

}  // namespace
}  // namespace kiln
