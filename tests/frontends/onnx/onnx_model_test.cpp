// Tests model-level import: malformed bytes, versions, graph inputs and outputs, node names
// and sources, node order, and the report of unsupported ops.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "frontends/onnx/onnx_importer.h"
#include "frontends/onnx/onnx_model_builder.h"

namespace kiln::onnx {
namespace {

using ::onnx::TensorProto;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::ModelBuilder;

Error import_error(const std::string& bytes, const ImportOptions& options = {}) {
  try {
    import_onnx_model_bytes(bytes, {}, options, "model.onnx");
  } catch (const Error& error) {
    return error;
  }
  ADD_FAILURE() << "import succeeded but should have failed";
  return Error(ErrorKind::Runtime, "no error");
}

// x[batch, 4] → Relu → y
ModelBuilder relu_model(int64_t opset = 18) {
  ModelBuilder builder(opset);
  builder.input("x", TensorProto::FLOAT, {std::string("batch"), int64_t(4)});
  builder.node("Relu", {"x"}, {"y"}, "relu1");
  builder.output("y");
  return builder;
}

TEST(OnnxModel, TruncatedGarbageAndEmptyBytesAreInvalidModel) {
  std::string good = relu_model().bytes();
  for (size_t cut : {good.size() - 1, good.size() / 2, size_t(3)}) {
    Error error = import_error(good.substr(0, cut));
    EXPECT_EQ(error.kind(), ErrorKind::InvalidModel) << cut;
    EXPECT_THAT(error.what(), HasSubstr("model.onnx")) << cut;
  }
  Error garbage = import_error("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff garbage");
  EXPECT_EQ(garbage.kind(), ErrorKind::InvalidModel);
  EXPECT_THAT(garbage.what(), HasSubstr("model.onnx is not a valid ONNX model"));
  Error empty = import_error("");
  EXPECT_EQ(empty.kind(), ErrorKind::InvalidModel);
  EXPECT_THAT(empty.what(), HasSubstr("no ir_version"));
}

TEST(OnnxModel, MissingFileNamesThePath) {
  try {
    import_onnx_file("/nonexistent/kiln/model.onnx");
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_THAT(error.what(), HasSubstr("/nonexistent/kiln/model.onnx"));
  }
}

TEST(OnnxModel, OpsetOutsideTheSupportedRangeIsUnsupported) {
  for (int64_t opset : {12, 29}) {
    Error error = import_error(relu_model(opset).bytes());
    EXPECT_EQ(error.kind(), ErrorKind::Unsupported);
    EXPECT_THAT(error.what(), HasSubstr("uses ONNX opset " + std::to_string(opset) +
                                        "; Kiln supports opsets 13 to 28"));
  }
  for (int64_t opset : {13, 23, 25, 28}) {
    EXPECT_NO_THROW(import_onnx_bytes(relu_model(opset).bytes(), {})) << opset;
  }
  ModelBuilder no_default = relu_model();
  no_default.model().mutable_opset_import(0)->set_domain("com.example");
  EXPECT_THAT(import_error(no_default.bytes()).what(), HasSubstr("no opset of the default"));
}

TEST(OnnxModel, InputDimsAreFixedSymbolicOrUnknown) {
  ModelBuilder builder;
  builder.input("x", TensorProto::BFLOAT16, {int64_t(2), std::string("seq"), int64_t(-1)});
  builder.node("Relu", {"x"}, {"y"});
  builder.output("y", TensorProto::BFLOAT16);
  ir::Graph graph = import_onnx_bytes(builder.bytes(), {});
  ASSERT_EQ(graph.inputs().size(), 1u);
  const ir::Value* x = graph.inputs()[0];
  EXPECT_EQ(x->dtype, DType::BFloat16);
  EXPECT_THAT(x->shape.dims(),
              ElementsAre(ir::Dim::fixed(2), ir::Dim::named("seq"), ir::Dim::unknown()));
  ASSERT_EQ(graph.outputs().size(), 1u);
  EXPECT_EQ(graph.outputs()[0]->name, "y");
  EXPECT_EQ(graph.outputs()[0]->dtype, DType::BFloat16);  // from inference
}

TEST(OnnxModel, InitializersListedAsInputsStayConstants) {
  ModelBuilder builder = relu_model();
  builder.float_initializer("b", {4}, {1, 2, 3, 4});
  builder.input("b", TensorProto::FLOAT, {int64_t(4)});
  builder.node("Add", {"y", "b"}, {"z"}, "add");
  builder.graph().mutable_output(0)->set_name("z");
  ir::Graph graph = import_onnx_bytes(builder.bytes(), {});
  ASSERT_EQ(graph.inputs().size(), 1u);
  EXPECT_EQ(graph.inputs()[0]->name, "x");
  EXPECT_TRUE(graph.find_value("b")->is_constant());
}

TEST(OnnxModel, NodesKeepNamesGetUniqueOnesAndCarryTheirSource) {
  ModelBuilder builder;
  builder.input("x", TensorProto::FLOAT, {int64_t(3)});
  builder.node("Relu", {"x"}, {"a"}, "act");
  builder.node("Neg", {"a"}, {"b"}, "act");  // duplicate name
  builder.node("Exp", {"b"}, {"c"}, "");     // no name
  builder.output("c");
  ir::Graph graph = import_onnx_model_bytes(builder.bytes(), {}, {}, "m.onnx").graph;
  std::vector<ir::Node*> nodes = graph.nodes();
  ASSERT_EQ(nodes.size(), 3u);
  EXPECT_EQ(nodes[0]->name, "act");
  EXPECT_EQ(nodes[1]->name, "act_1");
  EXPECT_EQ(nodes[2]->name, "Exp_2");
  EXPECT_EQ(nodes[0]->source, "m.onnx:node 'act' (Relu)");
  EXPECT_EQ(nodes[2]->source, "m.onnx:node 'Exp_2' (Exp)");
}

TEST(OnnxModel, UnsortedNodesAreOrderedAndCyclesRejected) {
  ModelBuilder builder;
  builder.input("x", TensorProto::FLOAT, {int64_t(3)});
  builder.node("Neg", {"a"}, {"b"}, "second");
  builder.node("Relu", {"x"}, {"a"}, "first");
  builder.output("b");
  ir::Graph graph = import_onnx_bytes(builder.bytes(), {});
  ASSERT_EQ(graph.node_count(), 2u);
  EXPECT_EQ(graph.nodes()[0]->name, "first");
  EXPECT_EQ(graph.nodes()[0]->op, "Relu");

  ModelBuilder cycle;
  cycle.input("x", TensorProto::FLOAT, {int64_t(3)});
  cycle.node("Add", {"x", "b"}, {"a"}, "n1");
  cycle.node("Neg", {"a"}, {"b"}, "n2");
  cycle.output("b");
  Error error = import_error(cycle.bytes());
  EXPECT_EQ(error.kind(), ErrorKind::InvalidModel);
  EXPECT_THAT(error.what(), HasSubstr("cycle"));

  ModelBuilder undefined = relu_model();
  undefined.node("Add", {"y", "nowhere"}, {"z"}, "adder");
  Error missing = import_error(undefined.bytes());
  EXPECT_THAT(missing.what(), HasSubstr("node 'adder' (Add): reads 'nowhere'"));

  ModelBuilder no_output = relu_model();
  no_output.graph().mutable_output(0)->set_name("ghost");
  EXPECT_THAT(import_error(no_output.bytes()).what(), HasSubstr("graph output 'ghost'"));
}

TEST(OnnxModel, TypeErrorsFromInferenceNameTheFile) {
  ModelBuilder builder;
  builder.input("x", TensorProto::FLOAT, {int64_t(3)});
  builder.input("n", TensorProto::INT64, {int64_t(3)});
  builder.node("Add", {"x", "n"}, {"y"}, "mixed");
  builder.output("y");
  Error error = import_error(builder.bytes());
  EXPECT_EQ(error.kind(), ErrorKind::InvalidModel);
  EXPECT_THAT(error.what(), HasSubstr("model.onnx: "));
  EXPECT_THAT(error.what(), HasSubstr("'mixed'"));
}

// Three unsupported nodes of two types plus one in another domain, around supported ones.
ModelBuilder model_with_unsupported_ops() {
  ModelBuilder builder;
  builder.input("x", TensorProto::FLOAT, {int64_t(1), int64_t(3), int64_t(8), int64_t(8)});
  builder.node("GridSample", {"x"}, {"r1"}, "up1");
  builder.node("Relu", {"r1"}, {"a"}, "act");
  builder.node("GridSample", {"a"}, {"r2"}, "up2");
  builder.node("NonZero", {"r2"}, {"nz_out"}, "nz");
  auto& custom = builder.node("FusedMatMul", {"nz_out"}, {"out"}, "fmm");
  custom.set_domain("com.microsoft");
  testing::attr_int(custom, "transA", 1);
  builder.output("out");
  return builder;
}

TEST(OnnxModel, AllUnsupportedOpsAreListedWithTheirNodes) {
  Error error = import_error(model_with_unsupported_ops().bytes());
  EXPECT_EQ(error.kind(), ErrorKind::Unsupported);
  EXPECT_STREQ(error.what(),
               "model.onnx uses 3 unsupported ops: GridSample (node 'up1', 'up2'), NonZero (node "
               "'nz'), com.microsoft.FusedMatMul (node 'fmm')");
}

TEST(OnnxModel, KeepUnsupportedImportsThemAsOnnxNodes) {
  ImportOptions options;
  options.keep_unsupported = true;
  ImportResult result =
      import_onnx_model_bytes(model_with_unsupported_ops().bytes(), {}, options, "model.onnx");
  EXPECT_THAT(unsupported_op_names(result),
              ElementsAre("GridSample", "NonZero", "com.microsoft.FusedMatMul"));
  EXPECT_THAT(result.unsupported[0].node_names, ElementsAre("up1", "up2"));
  std::vector<std::string> ops;
  for (const ir::Node* node : result.graph.nodes()) ops.push_back(node->op);
  EXPECT_THAT(ops, ElementsAre("onnx.GridSample", "Relu", "onnx.GridSample", "onnx.NonZero",
                               "onnx.com.microsoft.FusedMatMul"));
  EXPECT_EQ(result.graph.nodes()[4]->attr_int("transA", 0), 1);
  EXPECT_EQ(result.opset, 18);
  EXPECT_EQ(result.producer, "kiln-test");
}

TEST(OnnxModel, UnsupportedFormsOfKnownOpsAreListedWithReasons) {
  ModelBuilder builder;
  builder.input("x", TensorProto::FLOAT, {int64_t(1), int64_t(2), int64_t(4)});
  builder.input("axes", TensorProto::INT64, {int64_t(1)});
  builder.node("Squeeze", {"x", "axes"}, {"s"}, "sq");
  builder.node("Resize", {"s"}, {"y"}, "up");
  builder.output("y");
  Error error = import_error(builder.bytes());
  EXPECT_EQ(error.kind(), ErrorKind::Unsupported);
  EXPECT_THAT(error.what(), HasSubstr("uses 2 unsupported ops: Squeeze (node 'sq'), Resize "
                                      "(node 'up')"));
  EXPECT_THAT(error.what(), HasSubstr("\n  node 'sq' (Squeeze): input 1 (axes) is computed at "
                                      "run time; Kiln needs it to be a constant"));
}

// A fourth input is Kiln's fused residual, not ONNX's: an ONNX Conv with one is invalid.
TEST(OnnxModel, ConvWithAFourthInputIsInvalid) {
  ModelBuilder four(18);
  four.input("x", TensorProto::FLOAT, {int64_t(1), int64_t(1), int64_t(5), int64_t(5)});
  four.float_initializer("w", {1, 1, 3, 3}, std::vector<float>(9, 0.5f));
  four.float_initializer("b", {1}, std::vector<float>(1, 0.5f));
  four.node("Conv", {"x", "w", "b", "x"}, {"y"}, "conv");
  four.output("y");
  Error error = import_error(four.bytes());
  EXPECT_EQ(error.kind(), ErrorKind::InvalidModel);
  EXPECT_THAT(error.what(), HasSubstr("has 4 inputs; ONNX Conv takes X, W and an optional B"));
}

}  // namespace
}  // namespace kiln::onnx
