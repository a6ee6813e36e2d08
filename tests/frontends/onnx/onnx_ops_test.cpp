// Tests the per-op importers: the normalizations of docs/core_ops.md (axes and split inputs
// to attributes, Cast codes, CastLike, Constant, Identity/Dropout removal) and the forms
// Kiln rejects.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "core/error.h"
#include "frontends/onnx/onnx_importer.h"
#include "frontends/onnx/onnx_model_builder.h"
#include "ir/op_schema.h"

namespace kiln::onnx {
namespace {

using ::onnx::TensorProto;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::import_error_of;
using testing::ModelBuilder;

ir::Graph import(const ModelBuilder& builder) { return import_onnx_bytes(builder.bytes(), {}); }

const ir::Node& only_node(const ir::Graph& graph) {
  EXPECT_EQ(graph.node_count(), 1u);
  return *graph.nodes().at(0);
}

// x: float [2, 1, 6]
ModelBuilder with_input(int64_t opset = 18) {
  ModelBuilder builder(opset);
  builder.input("x", TensorProto::FLOAT, {int64_t(2), int64_t(1), int64_t(6)});
  return builder;
}

TEST(OnnxOps, SqueezeAndUnsqueezeAxesInputsBecomeAttributes) {
  ModelBuilder builder = with_input();
  builder.int64_initializer("axes", {1});
  builder.node("Squeeze", {"x", "axes"}, {"y"}, "sq");
  builder.output("y");
  ir::Graph graph = import(builder);
  const ir::Node& squeeze = only_node(graph);
  EXPECT_EQ(squeeze.op, "Squeeze");
  EXPECT_EQ(squeeze.inputs.size(), 1u);
  EXPECT_THAT(squeeze.attr_ints("axes"), ElementsAre(1));
  EXPECT_EQ(graph.outputs()[0]->shape, ir::Shape::from_dims({2, 6}));

  ModelBuilder all = with_input();
  all.node("Squeeze", {"x"}, {"y"});
  all.output("y");
  EXPECT_FALSE(only_node(import(all)).has_attr("axes"));

  ModelBuilder unsqueeze = with_input();
  unsqueeze.int64_initializer("axes", {0, -1});
  unsqueeze.node("Unsqueeze", {"x", "axes"}, {"y"});
  unsqueeze.output("y");
  ir::Graph unsqueezed = import(unsqueeze);
  EXPECT_THAT(only_node(unsqueezed).attr_ints("axes"), ElementsAre(0, -1));
  EXPECT_EQ(unsqueezed.outputs()[0]->shape, ir::Shape::from_dims({1, 2, 1, 6, 1}));
}

TEST(OnnxOps, AxesFromAConstantNodeWork) {
  ModelBuilder builder = with_input();
  auto& constant = builder.node("Constant", {}, {"axes"}, "axes_const");
  testing::attr_ints(constant, "value_ints", {1});
  builder.node("Squeeze", {"x", "axes"}, {"y"});
  builder.output("y");
  EXPECT_THAT(only_node(import(builder)).attr_ints("axes"), ElementsAre(1));
}

TEST(OnnxOps, SplitSizesInputBecomesAttributeAndNumOutputsIsSpelledOut) {
  ModelBuilder sizes = with_input();
  sizes.int64_initializer("split", {2, 4});
  auto& split = sizes.node("Split", {"x", "split"}, {"a", "b"}, "sp");
  testing::attr_int(split, "axis", -1);
  sizes.output("a");
  sizes.output("b");
  ir::Graph graph = import(sizes);
  const ir::Node& node = only_node(graph);
  EXPECT_EQ(node.inputs.size(), 1u);
  EXPECT_THAT(node.attr_ints("split"), ElementsAre(2, 4));
  EXPECT_EQ(node.attr_int("axis", 0), -1);
  EXPECT_EQ(graph.outputs()[1]->shape, ir::Shape::from_dims({2, 1, 4}));

  // num_outputs=4 over 7: chunks of ceil(7 / 4) = 2, the last one smaller (ONNX opset 18).
  ModelBuilder uneven(18);
  uneven.input("x", TensorProto::FLOAT, {int64_t(7)});
  auto& by_count = uneven.node("Split", {"x"}, {"a", "b", "c", "d"});
  testing::attr_int(by_count, "num_outputs", 4);
  for (const char* name : {"a", "b", "c", "d"}) uneven.output(name);
  EXPECT_THAT(only_node(import(uneven)).attr_ints("split"), ElementsAre(2, 2, 2, 1));

  ModelBuilder even = with_input();
  auto& halves = even.node("Split", {"x"}, {"a", "b"});
  testing::attr_int(halves, "axis", 0);
  testing::attr_int(halves, "num_outputs", 2);
  even.output("a");
  even.output("b");
  EXPECT_FALSE(only_node(import(even)).has_attr("split"));

  ModelBuilder wrong_count = with_input();
  auto& bad = wrong_count.node("Split", {"x"}, {"a", "b"}, "bad");
  testing::attr_int(bad, "num_outputs", 3);
  wrong_count.output("a");
  EXPECT_THAT(import_error_of(wrong_count).what(), HasSubstr("num_outputs is 3 but it has 2"));
}

TEST(OnnxOps, ReduceAxesFollowTheOpset) {
  // Opset 13: ReduceMean takes axes as an attribute, ReduceSum as an input.
  ModelBuilder v13 = with_input(13);
  auto& mean = v13.node("ReduceMean", {"x"}, {"m"}, "mean");
  testing::attr_ints(mean, "axes", {2});
  testing::attr_int(mean, "keepdims", 0);
  v13.int64_initializer("axes", {0});
  v13.node("ReduceSum", {"m", "axes"}, {"s"}, "sum");
  v13.output("s");
  ir::Graph graph = import(v13);
  ASSERT_EQ(graph.node_count(), 2u);
  EXPECT_THAT(graph.nodes()[0]->attr_ints("axes"), ElementsAre(2));
  EXPECT_EQ(graph.nodes()[0]->attr_int("keepdims", 1), 0);
  EXPECT_THAT(graph.nodes()[1]->attr_ints("axes"), ElementsAre(0));
  EXPECT_EQ(graph.nodes()[1]->inputs.size(), 1u);
  EXPECT_EQ(graph.outputs()[0]->shape, ir::Shape::from_dims({1, 1}));

  // Opset 18: ReduceMax takes axes as an input; an attribute is a broken model.
  ModelBuilder v18 = with_input(18);
  v18.int64_initializer("axes", {-1});
  v18.node("ReduceMax", {"x", "axes"}, {"y"});
  v18.output("y");
  EXPECT_THAT(only_node(import(v18)).attr_ints("axes"), ElementsAre(-1));

  ModelBuilder old_form = with_input(18);
  auto& max = old_form.node("ReduceMax", {"x"}, {"y"}, "max");
  testing::attr_ints(max, "axes", {1});
  old_form.output("y");
  Error error = import_error_of(old_form);
  EXPECT_EQ(error.kind(), ErrorKind::InvalidModel);
  EXPECT_THAT(error.what(), HasSubstr("node 'max' (ReduceMax): has attribute 'axes', which ONNX "
                                      "ReduceMax at opset 18 does not define"));
}

TEST(OnnxOps, ReduceMinAxesAndArgMaxArgMinAttributes) {
  // Opset 13: ReduceMin takes axes as an attribute; ArgMax/ArgMin map 1:1, output int64.
  ModelBuilder v13 = with_input(13);
  auto& min = v13.node("ReduceMin", {"x"}, {"m"}, "min");
  testing::attr_ints(min, "axes", {-1});
  auto& argmax = v13.node("ArgMax", {"x"}, {"i"}, "argmax");
  testing::attr_int(argmax, "axis", 2);
  testing::attr_int(argmax, "keepdims", 0);
  testing::attr_int(argmax, "select_last_index", 1);
  v13.node("ArgMin", {"x"}, {"j"}, "argmin");
  v13.output("m");
  v13.output("i", TensorProto::INT64);
  v13.output("j", TensorProto::INT64);
  ir::Graph graph = import(v13);
  ASSERT_EQ(graph.node_count(), 3u);
  EXPECT_THAT(graph.nodes()[0]->attr_ints("axes"), ElementsAre(-1));
  EXPECT_EQ(graph.outputs()[0]->shape, ir::Shape::from_dims({2, 1, 1}));
  const ir::Node& max_node = *graph.nodes()[1];
  EXPECT_EQ(max_node.op, "ArgMax");
  EXPECT_EQ(max_node.attr_int("axis", 0), 2);
  EXPECT_EQ(max_node.attr_int("select_last_index", 0), 1);
  EXPECT_EQ(graph.outputs()[1]->dtype, DType::Int64);
  EXPECT_EQ(graph.outputs()[1]->shape, ir::Shape::from_dims({2, 1}));
  EXPECT_EQ(graph.nodes()[2]->op, "ArgMin");
  EXPECT_EQ(graph.outputs()[2]->shape, ir::Shape::from_dims({1, 1, 6}));

  // Opset 18: ReduceMin takes axes as an input.
  ModelBuilder v18 = with_input(18);
  v18.int64_initializer("axes", {0, 2});
  v18.node("ReduceMin", {"x", "axes"}, {"y"});
  v18.output("y");
  ir::Graph reduced = import(v18);
  EXPECT_THAT(only_node(reduced).attr_ints("axes"), ElementsAre(0, 2));
  EXPECT_EQ(only_node(reduced).inputs.size(), 1u);

  // An axis past the rank is a broken model, named with its node.
  ModelBuilder bad = with_input(13);
  auto& bad_node = bad.node("ArgMin", {"x"}, {"j"}, "bad_argmin");
  testing::attr_int(bad_node, "axis", 3);
  bad.output("j", TensorProto::INT64);
  Error error = import_error_of(bad);
  EXPECT_EQ(error.kind(), ErrorKind::InvalidModel);
  EXPECT_THAT(error.what(), HasSubstr("axis 3 is out of range for rank 3 in ArgMin node "
                                      "'bad_argmin'"));
}

// x is [2, 1, 6]. pads and constant_value are inputs; opset 18 adds axes. Kiln holds pads for
// every axis and the value as attributes.
TEST(OnnxOps, PadInputsBecomeAttributesOverEveryAxis) {
  ModelBuilder v13 = with_input(13);
  v13.int64_initializer("pads", {0, 0, 1, 1, 2, -1});
  v13.float_initializer("value", {}, {2.5f});
  testing::attr_string(v13.node("Pad", {"x", "pads", "value"}, {"y"}, "pad"), "mode", "constant");
  v13.output("y");
  ir::Graph graph = import(v13);
  const ir::Node& pad = only_node(graph);
  EXPECT_EQ(pad.op, "Pad");
  EXPECT_EQ(pad.inputs.size(), 1u);
  EXPECT_THAT(pad.attr_ints("pads"), ElementsAre(0, 0, 1, 1, 2, -1));
  EXPECT_EQ(pad.attr_float("value", 0), 2.5);
  EXPECT_EQ(pad.attr_string("mode", ""), "constant");
  EXPECT_EQ(graph.outputs()[0]->shape, ir::Shape::from_dims({3, 3, 6}));

  ModelBuilder v18 = with_input(18);
  v18.int64_initializer("pads", {2, 1});
  v18.int64_initializer("axes", {-1});
  testing::attr_string(v18.node("Pad", {"x", "pads", "", "axes"}, {"y"}), "mode", "reflect");
  v18.output("y");
  ir::Graph over_axes = import(v18);
  EXPECT_THAT(only_node(over_axes).attr_ints("pads"), ElementsAre(0, 0, 2, 0, 0, 1));
  EXPECT_EQ(over_axes.outputs()[0]->shape, ir::Shape::from_dims({2, 1, 9}));
}

TEST(OnnxOps, PadErrorsNameTheNode) {
  // Reflecting 6 elements by 6 has nothing to mirror: a broken model.
  ModelBuilder too_far = with_input(13);
  too_far.int64_initializer("pads", {0, 0, 6, 0, 0, 0});
  testing::attr_string(too_far.node("Pad", {"x", "pads"}, {"y"}, "mirror"), "mode", "reflect");
  too_far.output("y");
  Error error = import_error_of(too_far);
  EXPECT_EQ(error.kind(), ErrorKind::InvalidModel);
  EXPECT_THAT(error.what(), HasSubstr("Pad node 'mirror'"));
  EXPECT_THAT(error.what(), HasSubstr("must each be less than its size 6"));

  // Pads computed at run time are unsupported; so is a run-time constant_value.
  ModelBuilder runtime = with_input(13);
  runtime.input("pads", TensorProto::INT64, {int64_t(6)});
  runtime.node("Pad", {"x", "pads"}, {"y"}, "dynamic");
  runtime.output("y");
  Error dynamic = import_error_of(runtime);
  EXPECT_EQ(dynamic.kind(), ErrorKind::Unsupported);
  EXPECT_THAT(dynamic.what(), HasSubstr("node 'dynamic' (Pad)"));
  EXPECT_THAT(dynamic.what(), HasSubstr("pads"));

  ModelBuilder axes = with_input(18);
  axes.int64_initializer("pads", {1, 1, 1});
  axes.int64_initializer("axes", {0});
  axes.node("Pad", {"x", "pads", "", "axes"}, {"y"}, "odd");
  axes.output("y");
  EXPECT_THAT(import_error_of(axes).what(), HasSubstr("has 3 pads for 1 axes"));
}

// x is [2, 1, 6]. scales (or sizes) are inputs that Kiln needs constant; they become sizes
// (-1: floor(dim * scale)) and scales over every axis, opset 18's axes spread over the rank.
TEST(OnnxOps, ResizeScalesOrSizesBecomeAttributesOverEveryAxis) {
  ModelBuilder v13 = with_input(13);
  v13.float_initializer("scales", {3}, {1.0f, 1.0f, 0.5f});
  ::onnx::NodeProto& by_scales = v13.node("Resize", {"x", "", "scales"}, {"y"}, "down");
  testing::attr_string(by_scales, "mode", "linear");
  testing::attr_string(by_scales, "coordinate_transformation_mode", "align_corners");
  v13.output("y");
  ir::Graph graph = import(v13);
  const ir::Node& resize = only_node(graph);
  EXPECT_EQ(resize.op, "Resize");
  EXPECT_EQ(resize.inputs.size(), 1u);
  EXPECT_THAT(resize.attr_ints("sizes"), ElementsAre(-1, -1, -1));
  EXPECT_THAT(resize.attr_floats("scales"), ElementsAre(1, 1, 0.5));
  EXPECT_EQ(resize.attr_string("mode", ""), "linear");
  EXPECT_EQ(graph.outputs()[0]->shape, ir::Shape::from_dims({2, 1, 3}));

  ModelBuilder v18 = with_input(18);
  v18.int64_initializer("sizes", {4, 9});
  testing::attr_ints(v18.node("Resize", {"x", "", "", "sizes"}, {"y"}), "axes", {0, -1});
  v18.output("y");
  ir::Graph over_axes = import(v18);
  EXPECT_THAT(only_node(over_axes).attr_ints("sizes"), ElementsAre(4, -1, 9));
  EXPECT_THAT(only_node(over_axes).attr_floats("scales"), ElementsAre(0, 1, 0));
  EXPECT_EQ(over_axes.outputs()[0]->shape, ir::Shape::from_dims({4, 1, 9}));
}

TEST(OnnxOps, ResizeUnsupportedFormsNameTheNode) {
  auto error_of = [](const std::string& attribute, const std::string& value) {
    ModelBuilder builder = with_input(13);
    builder.float_initializer("scales", {3}, {1.0f, 1.0f, 2.0f});
    auto& node = builder.node("Resize", {"x", "", "scales"}, {"y"}, "up");
    if (attribute == "antialias") {
      testing::attr_int(node, attribute, 1);
    } else {
      testing::attr_string(node, attribute, value);
    }
    builder.output("y");
    return import_error_of(builder);
  };
  // Cubic resizes are products with weight matrices; an unknown mode is an invalid model.
  Error lanczos = error_of("mode", "lanczos");
  EXPECT_EQ(lanczos.kind(), ErrorKind::InvalidModel);
  EXPECT_THAT(lanczos.what(), HasSubstr("node 'up' (Resize)"));
  EXPECT_THAT(lanczos.what(), HasSubstr("mode 'lanczos'"));
  EXPECT_THAT(error_of("coordinate_transformation_mode", "tf_crop_and_resize").what(),
              HasSubstr("'tf_crop_and_resize'"));
  // Antialiasing: linear, half_pixel, exclude_outside=1 only (what PyTorch exports).
  EXPECT_THAT(error_of("antialias", "").what(), HasSubstr("antialias with mode 'nearest'"));
  EXPECT_THAT(error_of("keep_aspect_ratio_policy", "not_larger").what(),
              HasSubstr("keep_aspect_ratio_policy 'not_larger'"));

  ModelBuilder runtime = with_input(13);
  runtime.input("scales", TensorProto::FLOAT, {int64_t(3)});
  runtime.node("Resize", {"x", "", "scales"}, {"y"}, "dynamic");
  runtime.output("y");
  Error dynamic = import_error_of(runtime);
  EXPECT_EQ(dynamic.kind(), ErrorKind::Unsupported);
  EXPECT_THAT(dynamic.what(), HasSubstr("node 'dynamic' (Resize)"));
  EXPECT_THAT(dynamic.what(), HasSubstr("(scales) is computed at run time"));

  ModelBuilder neither = with_input(13);
  neither.node("Resize", {"x"}, {"y"}, "bare");
  neither.output("y");
  EXPECT_THAT(import_error_of(neither).what(), HasSubstr("needs exactly one of scales and sizes"));
}

TEST(OnnxOps, RuntimeAxesAreUnsupportedNamingTheNode) {
  ModelBuilder builder = with_input();
  builder.input("axes", TensorProto::INT64, {int64_t(1)});
  builder.node("Unsqueeze", {"x", "axes"}, {"y"}, "unsq");
  builder.output("y");
  Error error = import_error_of(builder);
  EXPECT_EQ(error.kind(), ErrorKind::Unsupported);
  EXPECT_THAT(error.what(), HasSubstr("node 'unsq' (Unsqueeze): input 1 (axes) is computed at "
                                      "run time"));
}

TEST(OnnxOps, CastToBecomesAKilnDTypeCode) {
  ModelBuilder builder = with_input();
  auto& cast = builder.node("Cast", {"x"}, {"y"});
  testing::attr_int(cast, "to", TensorProto::BFLOAT16);
  builder.output("y", TensorProto::BFLOAT16);
  ir::Graph graph = import(builder);
  EXPECT_EQ(only_node(graph).attr_int("to", -1), static_cast<int64_t>(DType::BFloat16));
  EXPECT_EQ(graph.outputs()[0]->dtype, DType::BFloat16);

  ModelBuilder to_string = with_input();
  auto& bad = to_string.node("Cast", {"x"}, {"y"}, "c");
  testing::attr_int(bad, "to", TensorProto::STRING);
  to_string.output("y");
  Error error = import_error_of(to_string);
  EXPECT_EQ(error.kind(), ErrorKind::Unsupported);
  EXPECT_THAT(error.what(), HasSubstr("node 'c' (Cast): converts to STRING; Kiln supports"));
}

TEST(OnnxOps, CastLikeBecomesCastToTheTargetsType) {
  ModelBuilder builder = with_input();
  builder.input("like", TensorProto::FLOAT16, {int64_t(1)});
  builder.node("CastLike", {"x", "like"}, {"y"}, "cl");
  builder.output("y", TensorProto::FLOAT16);
  ir::Graph graph = import(builder);
  const ir::Node& cast = only_node(graph);
  EXPECT_EQ(cast.op, "Cast");
  EXPECT_EQ(cast.name, "cl");
  EXPECT_EQ(cast.inputs.size(), 1u);
  EXPECT_EQ(cast.attr_int("to", -1), static_cast<int64_t>(DType::Float16));
}

TEST(OnnxOps, ConstantNodesBecomeConstantValues) {
  ModelBuilder builder(18);
  auto& tensor_node = builder.node("Constant", {}, {"t"});
  auto& tensor = testing::attr_tensor(tensor_node, "value");
  tensor.set_data_type(TensorProto::INT32);
  tensor.add_dims(2);
  tensor.add_int32_data(7);
  tensor.add_int32_data(-7);
  testing::attr_float(builder.node("Constant", {}, {"f"}), "value_float", 0.5f);
  testing::attr_floats(builder.node("Constant", {}, {"fs"}), "value_floats", {1.5f, 2.5f});
  testing::attr_int(builder.node("Constant", {}, {"i"}), "value_int", 9);
  for (const char* name : {"t", "f", "fs", "i"}) builder.output(name);
  ir::Graph graph = import(builder);
  EXPECT_EQ(graph.node_count(), 0u);
  EXPECT_THAT(graph.find_value("t")->constant->to_int64_vector(), ElementsAre(7, -7));
  EXPECT_EQ(graph.find_value("t")->dtype, DType::Int32);
  EXPECT_EQ(graph.find_value("f")->constant->rank(), 0);
  EXPECT_THAT(graph.find_value("f")->constant->to_double_vector(), ElementsAre(0.5));
  EXPECT_THAT(graph.find_value("fs")->constant->to_double_vector(), ElementsAre(1.5, 2.5));
  EXPECT_EQ(graph.find_value("i")->dtype, DType::Int64);

  ModelBuilder strings(18);
  testing::attr_string(strings.node("Constant", {}, {"s"}, "str"), "value_string", "hi");
  strings.output("s");
  EXPECT_THAT(import_error_of(strings).what(), HasSubstr("Constant (node 'str')"));
}

TEST(OnnxOps, IdentityAndDropoutAreRemovedKeepingOutputNames) {
  ModelBuilder builder = with_input();
  builder.node("Relu", {"x"}, {"r"}, "relu");
  builder.node("Identity", {"r"}, {"i"}, "id");
  builder.node("Dropout", {"i"}, {"out"}, "drop");
  builder.output("out");
  ir::Graph graph = import(builder);
  const ir::Node& relu = only_node(graph);
  EXPECT_EQ(relu.op, "Relu");
  EXPECT_EQ(graph.outputs()[0], relu.outputs[0]);
  EXPECT_EQ(graph.outputs()[0]->name, "out");

  ModelBuilder mask_used = with_input();
  mask_used.node("Dropout", {"x"}, {"y", "mask"}, "drop");
  mask_used.output("mask", TensorProto::BOOL);
  Error error = import_error_of(mask_used);
  EXPECT_EQ(error.kind(), ErrorKind::Unsupported);
  EXPECT_THAT(error.what(), HasSubstr("node 'drop' (Dropout): its mask output is used"));

  ModelBuilder training = with_input();
  auto& flag = training.initializer("train", TensorProto::BOOL, {});
  flag.add_int32_data(1);
  training.node("Dropout", {"x", "", "train"}, {"y"}, "drop");
  training.output("y");
  EXPECT_THAT(import_error_of(training).what(), HasSubstr("training_mode is true"));
}

TEST(OnnxOps, TrainingOnlyFormsAreUnsupported) {
  ModelBuilder batch_norm(18);
  batch_norm.input("x", TensorProto::FLOAT, {int64_t(1), int64_t(2), int64_t(3)});
  for (const char* name : {"scale", "bias", "mean", "var"})
    batch_norm.float_initializer(name, {2}, {1, 1});
  auto& bn =
      batch_norm.node("BatchNormalization", {"x", "scale", "bias", "mean", "var"}, {"y"}, "bn");
  testing::attr_int(bn, "training_mode", 1);
  batch_norm.output("y");
  EXPECT_THAT(import_error_of(batch_norm).what(), HasSubstr("node 'bn' (BatchNormalization): "
                                                            "training_mode=1"));

  ModelBuilder max_pool(18);
  max_pool.input("x", TensorProto::FLOAT, {int64_t(1), int64_t(1), int64_t(4), int64_t(4)});
  auto& pool = max_pool.node("MaxPool", {"x"}, {"y", "idx"}, "pool");
  testing::attr_ints(pool, "kernel_shape", {2, 2});
  max_pool.output("y");
  max_pool.output("idx", TensorProto::INT64);
  EXPECT_THAT(import_error_of(max_pool).what(), HasSubstr("its Indices output is used"));

  ModelBuilder attention(23);
  for (const char* name : {"q", "k", "v", "past_k", "past_v"}) {
    attention.input(name, TensorProto::FLOAT, {int64_t(1), int64_t(2), int64_t(3), int64_t(4)});
  }
  attention.node("Attention", {"q", "k", "v", "", "past_k", "past_v"}, {"y"}, "attn");
  attention.output("y");
  EXPECT_THAT(import_error_of(attention).what(), HasSubstr("node 'attn' (Attention): it takes "
                                                           "past_key/past_value"));
}

TEST(OnnxOps, AttentionWithoutCacheImports) {
  ModelBuilder builder(23);
  for (const char* name : {"q", "k", "v"}) {
    builder.input(name, TensorProto::FLOAT, {int64_t(1), int64_t(2), int64_t(3), int64_t(4)});
  }
  auto& attention = builder.node("Attention", {"q", "k", "v"}, {"y", "", "", ""}, "attn");
  testing::attr_int(attention, "is_causal", 1);
  builder.output("y");
  ir::Graph graph = import(builder);
  const ir::Node& node = only_node(graph);
  EXPECT_EQ(node.outputs.size(), 1u);
  EXPECT_EQ(node.attr_int("is_causal", 0), 1);
  EXPECT_EQ(graph.outputs()[0]->shape, ir::Shape::from_dims({1, 2, 3, 4}));

  ModelBuilder too_old(22);
  for (const char* name : {"q", "k", "v"}) too_old.input(name, TensorProto::FLOAT, {int64_t(1)});
  too_old.node("Attention", {"q", "k", "v"}, {"y"}, "attn");
  too_old.output("y");
  EXPECT_THAT(import_error_of(too_old).what(), HasSubstr("from opset 23"));
}

TEST(OnnxOps, UnknownAttributesAreInvalidAndKernelShapeIsChecked) {
  ModelBuilder builder = with_input();
  testing::attr_float(builder.node("Relu", {"x"}, {"y"}, "r"), "alpha", 0.1f);
  builder.output("y");
  Error error = import_error_of(builder);
  EXPECT_EQ(error.kind(), ErrorKind::InvalidModel);
  EXPECT_THAT(error.what(), HasSubstr("node 'r' (Relu): has attribute 'alpha', which ONNX Relu "
                                      "at opset 18 does not define (it takes none)"));

  ModelBuilder conv(18);
  conv.input("x", TensorProto::FLOAT, {int64_t(1), int64_t(1), int64_t(5), int64_t(5)});
  conv.float_initializer("w", {2, 1, 3, 3}, std::vector<float>(18, 0.5f));
  auto& node = conv.node("Conv", {"x", "w"}, {"y"}, "conv");
  testing::attr_ints(node, "kernel_shape", {3, 3});
  testing::attr_ints(node, "pads", {1, 1, 1, 1});
  conv.output("y");
  ir::Graph graph = import(conv);
  EXPECT_FALSE(only_node(graph).has_attr("kernel_shape"));
  EXPECT_THAT(only_node(graph).attr_ints("pads"), ElementsAre(1, 1, 1, 1));
  EXPECT_EQ(graph.outputs()[0]->shape, ir::Shape::from_dims({1, 2, 5, 5}));

  conv.graph().mutable_node(0)->mutable_attribute(0)->set_ints(0, 2);
  EXPECT_THAT(import_error_of(conv).what(), HasSubstr("kernel_shape [2, 3] disagrees"));
}

TEST(OnnxOps, CumSumAxisInputBecomesAttribute) {
  ModelBuilder builder = with_input();
  auto& axis = builder.initializer("axis", TensorProto::INT32, {});
  axis.add_int32_data(-1);
  auto& cumsum = builder.node("CumSum", {"x", "axis"}, {"y"});
  testing::attr_int(cumsum, "reverse", 1);
  builder.output("y");
  const ir::Graph graph = import(builder);
  const ir::Node& node = only_node(graph);
  EXPECT_EQ(node.inputs.size(), 1u);
  EXPECT_EQ(node.attr_int("axis", 0), -1);
  EXPECT_EQ(node.attr_int("reverse", 0), 1);
}

// TopK's K input becomes the attribute k (a run-time K is refused as Pad's pads are, above).
TEST(OnnxOps, TopKConstantKBecomesAttribute) {
  ModelBuilder builder = with_input(13);
  builder.initializer("k", TensorProto::INT64, {int64_t(1)}).add_int64_data(4);
  builder.node("TopK", {"x", "k"}, {"values", "indices"});
  builder.output("values");
  builder.output("indices", TensorProto::INT64);
  const ir::Graph graph = import(builder);
  EXPECT_EQ(only_node(graph).attr_int("k", 0), 4);
  EXPECT_EQ(graph.outputs()[0]->shape, ir::Shape::from_dims({2, 1, 4}));
  EXPECT_EQ(graph.outputs()[1]->dtype, DType::Int64);
}

TEST(OnnxOps, VariadicMaxKeepsAllInputs) {
  ModelBuilder builder = with_input();
  builder.float_initializer("c", {6}, {0, 1, 2, 3, 4, 5});
  builder.node("Max", {"x", "c", "x"}, {"y"});
  builder.output("y");
  const ir::Graph graph = import(builder);
  EXPECT_EQ(only_node(graph).inputs.size(), 3u);
  EXPECT_EQ(graph.outputs()[0]->shape, ir::Shape::from_dims({2, 1, 6}));
}

// Every imported op maps onto the core op of the same name, except the four the importer
// rewrites (docs/core_ops.md); and the table covers the doc's ONNX list.
TEST(OnnxOps, TableMatchesTheCoreOps) {
  // Folded away by the importer, or expanded into core ops (RMSNormalization, Or and the
  // ops of onnx_ops_composite.cpp).
  // clang-format off
  const std::set<std::string> rewritten = {
      "CastLike", "Constant", "Identity", "Dropout", "RMSNormalization", "Or", "LessOrEqual",
      "GreaterOrEqual", "Xor", "Sum", "Mean", "Elu", "Celu", "Selu", "LeakyRelu", "PRelu",
      "ThresholdedRelu", "Shrink", "Softsign", "Softplus", "Mish", "LogSoftmax", "Hardmax",
      "LpNormalization", "ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSum",
      "ReduceLogSumExp", "OneHot", "Einsum", "InstanceNormalization", "LSTM", "GRU", "Tile",
      "DFT", "DepthToSpace", "SpaceToDepth", "EyeLike", "If", "SequenceConstruct",
      "SequenceEmpty", "SequenceAt", "SequenceLength", "SequenceInsert", "SequenceErase",
      "ConcatFromSequence", "SplitToSequence", "SequenceMap"};
  // clang-format on
  for (const std::string& op : supported_onnx_ops()) {
    if (rewritten.count(op)) continue;
    EXPECT_NE(ir::find_schema(op), nullptr) << op << " is imported but has no core op schema";
  }
  // Every core op is an ONNX op of the same name, so the importer covers them all, plus the
  // ops it rewrites away (the core op list comes from the schemas, not a copy here).
  std::vector<std::string> expected = ir::core_op_names();
  expected.insert(expected.end(), rewritten.begin(), rewritten.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(supported_onnx_ops(), expected);
}

// Found by fuzz_onnx: a Constant (or any node) without outputs crashed the importer.
TEST(OnnxOps, NodesWithoutOutputsAreInvalid) {
  ModelBuilder constant = with_input();
  testing::attr_int(constant.node("Constant", {}, {}, "c"), "value_int", 1);
  constant.node("Relu", {"x"}, {"y"});
  constant.output("y");
  Error error = import_error_of(constant);
  EXPECT_EQ(error.kind(), ErrorKind::InvalidModel);
  EXPECT_THAT(error.what(), HasSubstr("node 'c' (Constant): has no output 0"));

  ModelBuilder relu = with_input();
  relu.node("Relu", {"x"}, {}, "r");
  relu.node("Neg", {"x"}, {"y"});
  relu.output("y");
  EXPECT_THAT(import_error_of(relu).what(), HasSubstr("node 'r' (Relu): has no outputs"));
}

}  // namespace
}  // namespace kiln::onnx
