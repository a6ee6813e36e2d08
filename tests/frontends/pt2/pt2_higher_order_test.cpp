// Mode-only higher-order ops (what `@torch.no_grad()` and `torch.autocast` become in a
// training-IR export, as Hugging Face's rotary embeddings write them) are inlined: the mlp
// fixture with its GELU and second linear wrapped in wrap_with_set_grad_enabled, alone and
// nested in wrap_with_autocast, imports and computes exactly what the plain fixture does; a
// wrapper whose operands do not match its subgraph is a clear error; higher-order ops other
// than these and torch.cond (pt2_cond_test.cpp) stay unsupported, named.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "frontends/pt2/pt2_importer.h"
#include "kiln/kiln.h"
#include "test_support/fixtures.h"
#include "test_support/zip_entries.h"

namespace kiln::pt2 {
namespace {

using nlohmann::json;
using test_support::ZipEntries;
using ::testing::HasSubstr;

ZipEntries mlp() { return ZipEntries::read(test_support::fixture_path("mlp", "mlp_fp32.pt2")); }

json tensor_arg(const std::string& name) { return {{"as_tensor", {{"name", name}}}}; }

// The mlp program's last two nodes (gelu, linear_1) moved into a subgraph whose values have
// names of their own, wrapped in `target` with `leading` arguments before the subgraph.
json wrap_tail(json program, const std::string& target, const json& leading, int extra_operands) {
  json& graph = program["graph_module"]["graph"];
  json nodes = graph["nodes"];
  json tail = json::array({nodes[2], nodes[3]});
  // Inside: the GELU reads "inner_in" (bound to layer_norm) and the result is "inner_out".
  tail[0]["inputs"][0]["arg"] = tensor_arg("inner_in");
  tail[0]["outputs"][0] = tensor_arg("inner_gelu");
  tail[1]["inputs"][0]["arg"] = tensor_arg("inner_gelu");
  tail[1]["inputs"][1]["arg"] = tensor_arg("inner_w");
  tail[1]["inputs"][2]["arg"] = tensor_arg("inner_b");
  tail[1]["outputs"][0] = tensor_arg("inner_out");
  json values = graph["tensor_values"];
  json subgraph = {
      {"inputs", {tensor_arg("inner_in"), tensor_arg("inner_w"), tensor_arg("inner_b")}},
      {"outputs", {tensor_arg("inner_out")}},
      {"nodes", tail},
      {"tensor_values",
       {{"inner_in", values["layer_norm"]},
        {"inner_gelu", values["gelu"]},
        {"inner_w", values["p_fc2_weight"]},
        {"inner_b", values["p_fc2_bias"]},
        {"inner_out", values["linear_1"]}}}};
  json inputs = leading;
  inputs.push_back({{"name", ""},
                    {"arg", {{"as_graph", {{"name", "submod_1"}, {"graph", subgraph}}}}},
                    {"kind", 1}});
  std::vector<std::string> operands = {"layer_norm", "p_fc2_weight", "p_fc2_bias", "layer_norm"};
  for (int i = 0; i < 3 + extra_operands; ++i)
    inputs.push_back({{"name", ""}, {"arg", tensor_arg(operands[size_t(i)])}, {"kind", 1}});
  json wrapper = {{"target", target},
                  {"inputs", inputs},
                  {"outputs", {tensor_arg("linear_1")}},
                  {"metadata", json::object()}};
  graph["nodes"] = json::array({nodes[0], nodes[1], wrapper});
  graph["tensor_values"].erase("gelu");
  return program;
}

json bool_arg(bool value) { return {{"name", ""}, {"arg", {{"as_bool", value}}}, {"kind", 1}}; }

Tensor run(const ir::Graph& graph, const Tensor& x) {
  return CpuSession(ir::copy_graph(graph), {Precision::FP32}, false)
      .run({{"x", x}})
      .begin()
      ->second;
}

// `program`'s last node (a wrapper) moved into an autocast wrapper's subgraph: nesting.
json wrap_in_autocast(json program) {
  json& graph = program["graph_module"]["graph"];
  json inner = graph["nodes"].back();
  json outer_inputs = json::array({{{"name", ""}, {"arg", {{"as_string", "cuda"}}}, {"kind", 1}},
                                   {{"name", ""}, {"arg", {{"as_none", true}}}, {"kind", 1}},
                                   bool_arg(false),
                                   bool_arg(false)});
  json subgraph = {{"inputs", json::array()},
                   {"outputs", {tensor_arg("nested_out")}},
                   {"nodes", json::array()},
                   {"tensor_values", json::object()}};
  json operands = json::array();
  for (json& input : inner["inputs"]) {
    if (!input["arg"].contains("as_tensor")) continue;
    std::string outer_name = input["arg"]["as_tensor"]["name"];
    std::string parameter = "nested_" + outer_name;
    input["arg"] = tensor_arg(parameter);
    subgraph["inputs"].push_back(tensor_arg(parameter));
    operands.push_back({{"name", ""}, {"arg", tensor_arg(outer_name)}, {"kind", 1}});
  }
  inner["outputs"] = json::array({tensor_arg("nested_out")});
  subgraph["nodes"].push_back(inner);
  outer_inputs.push_back({{"name", ""},
                          {"arg", {{"as_graph", {{"name", "submod_0"}, {"graph", subgraph}}}}},
                          {"kind", 1}});
  for (const json& operand : operands) outer_inputs.push_back(operand);
  graph["nodes"].back() = {{"target", "torch.ops.higher_order.wrap_with_autocast"},
                           {"inputs", outer_inputs},
                           {"outputs", {tensor_arg("linear_1")}},
                           {"metadata", json::object()}};
  return program;
}

TEST(Pt2HigherOrder, ModeWrappersAreInlinedAndComputeTheSame) {
  ZipEntries plain = mlp();
  ir::Graph reference = import_pt2_bytes(plain.write(), "mlp.pt2");
  Tensor x = make_random_inputs(reference, 3).at("x");
  json grad = wrap_tail(plain.json("models/model.json"),
                        "torch.ops.higher_order.wrap_with_set_grad_enabled",
                        json::array({bool_arg(false)}), 0);
  for (const json& program : {grad, wrap_in_autocast(grad)}) {
    ZipEntries edited = mlp();
    edited.set_json("models/model.json", program);
    ir::Graph imported = import_pt2_bytes(edited.write(), "wrapped.pt2");
    EXPECT_EQ(normalized_error(run(imported, x), run(reference, x)), 0.0);
  }
}

TEST(Pt2HigherOrder, MismatchedOperandsAreAnError) {
  ZipEntries edited = mlp();
  edited.set_json("models/model.json",
                  wrap_tail(edited.json("models/model.json"),
                            "torch.ops.higher_order.wrap_with_set_grad_enabled",
                            json::array({bool_arg(false)}), 1));
  try {
    import_pt2_bytes(edited.write(), "wrapped.pt2");
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::InvalidModel);
    EXPECT_THAT(error.what(), HasSubstr("the node passes 4 tensors and returns 1, its "
                                        "subgraph takes 3 and returns 1"));
  }
}

TEST(Pt2HigherOrder, OtherHigherOrderOpsStayUnsupported) {
  ZipEntries edited = mlp();
  edited.set_json("models/model.json",
                  wrap_tail(edited.json("models/model.json"), "torch.ops.higher_order.map_impl",
                            json::array({bool_arg(true)}), 0));
  try {
    import_pt2_bytes(edited.write(), "wrapped.pt2");
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::Unsupported);
    EXPECT_THAT(error.what(), HasSubstr("higher_order.map_impl"));
  }
}

}  // namespace
}  // namespace kiln::pt2
