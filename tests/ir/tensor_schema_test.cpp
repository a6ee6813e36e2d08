// Shape inference of reshaping, indexing and shape ops, with constant and non-constant
// shape inputs.
#include <gtest/gtest.h>

#include "core/error.h"
#include "ir/op_schema.h"
#include "ir/shape_literals.h"  // tests/ir/shape_literals.h

namespace kiln::ir {
namespace {

using testing::shape;

Value* ints(Graph& graph, const std::string& name, std::vector<int64_t> values) {
  return graph.add_constant(name, Tensor::from_vector<int64_t>({int64_t(values.size())}, values));
}

std::string output_shape(Node* node, size_t index = 0) {
  infer_node(*node);
  return node->outputs[index]->shape.to_string();
}

TEST(ReshapeSchema, ConstantShapeUsesZeroAndMinusOneRules) {
  Graph graph;
  Value* x = graph.add_input("x", DType::Float32, shape({"batch", 4, 8}));
  Value* y = graph.add_input("y", DType::Float32, shape({2, 3, 4}));
  EXPECT_EQ(output_shape(graph.add_node("Reshape", "r1", {x, ints(graph, "s1", {0, -1})}, {"o1"})),
            "[batch, 32]");
  EXPECT_EQ(output_shape(graph.add_node("Reshape", "r2", {y, ints(graph, "s2", {-1, 6})}, {"o2"})),
            "[4, 6]");
  // -1 absorbing the symbolic batch: 32·batch / 32.
  EXPECT_EQ(output_shape(graph.add_node("Reshape", "r3", {x, ints(graph, "s3", {-1, 32})}, {"o3"})),
            "[batch, 32]");
  // -1 that cannot be solved (batch split across dims) is unknown.
  EXPECT_EQ(output_shape(graph.add_node("Reshape", "r4", {x, ints(graph, "s4", {64, -1})}, {"o4"})),
            "[64, ?]");
  EXPECT_THROW(
      output_shape(graph.add_node("Reshape", "r5", {y, ints(graph, "s5", {5, -1})}, {"o5"})),
      Error);  // 24 elements are not a multiple of 5
}

TEST(ReshapeSchema, NonConstantShapeGivesRankFromItsLength) {
  Graph graph;
  Value* x = graph.add_input("x", DType::Float32, shape({"batch", 4, 8}));
  Value* target = graph.add_input("target", DType::Int64, shape({3}));
  EXPECT_EQ(output_shape(graph.add_node("Reshape", "r", {x, target}, {"o"})), "[?, ?, ?]");
}

// Rows flattened from a symbolic batch and viewed back: the product cancels.
TEST(ReshapeSchema, SymbolicProductsRoundTrip) {
  Graph graph;
  Value* x = graph.add_input("x", DType::Float32, shape({"batch", 8, 32}));
  Node* rows = graph.add_node("Reshape", "rows", {x, ints(graph, "s1", {-1, 32})}, {"rows"});
  EXPECT_EQ(output_shape(rows), "[8*batch, 32]");
  Node* back =
      graph.add_node("Reshape", "back", {rows->outputs[0], ints(graph, "s2", {-1, 8, 32})}, {"b"});
  EXPECT_EQ(output_shape(back), "[batch, 8, 32]");
  // Heads split off the rows: 8*batch·32 / (4·8·4) leaves 2*batch.
  Node* heads = graph.add_node("Reshape", "heads",
                               {rows->outputs[0], ints(graph, "s3", {4, -1, 8, 4})}, {"h"});
  EXPECT_EQ(output_shape(heads), "[4, 2*batch, 8, 4]");
  // A product that does not divide stays unknown.
  Node* odd = graph.add_node("Reshape", "odd", {x, ints(graph, "s4", {3, -1})}, {"o"});
  EXPECT_EQ(output_shape(odd), "[3, ?]");
}

// A node with attributes whose output shape is inferred at once: the next node reads it.
Value* shape_op(Graph& graph, const std::string& op, const std::string& name,
                std::vector<Value*> inputs, std::map<std::string, AttrValue> attrs = {}) {
  Node* node = graph.add_node(op, name, std::move(inputs), {name});
  for (auto& [key, value] : attrs) node->attrs[key] = value;
  infer_node(*node);
  return node->outputs[0];
}

// torch.export's x.view(x.size(0), -1, heads, head_dim): a target concatenated from the
// input's own dims (Shape, Gather, Unsqueeze) and constants keeps its sizes.
TEST(ReshapeSchema, TargetBuiltFromInputDimsKeepsTheirSizes) {
  Graph graph;
  Value* x = graph.add_input("x", DType::Float32, shape({"batch", 128, 768}));
  Value* size0 =
      shape_op(graph, "Shape", "size0", {x}, {{"start", int64_t{0}}, {"end", int64_t{1}}});
  Value* target = shape_op(graph, "Concat", "target", {size0, ints(graph, "rest", {-1, 12, 64})},
                           {{"axis", int64_t{0}}});
  EXPECT_EQ(output_shape(graph.add_node("Reshape", "view", {x, target}, {"view"})),
            "[batch, 128, 12, 64]");

  // The same size picked by Gather from the whole shape, made a one-entry vector.
  Value* whole = shape_op(graph, "Shape", "whole", {x});
  Value* zero = graph.add_constant("zero", Tensor::from_vector<int64_t>({}, {0}));
  Value* picked = shape_op(graph, "Gather", "picked", {whole, zero});
  Value* vector =
      shape_op(graph, "Unsqueeze", "vector", {picked}, {{"axes", std::vector<int64_t>{0}}});
  Value* target2 = shape_op(graph, "Concat", "target2", {vector, ints(graph, "wide", {-1})},
                            {{"axis", int64_t{0}}});
  EXPECT_EQ(output_shape(graph.add_node("Reshape", "flat", {x, target2}, {"flat"})),
            "[batch, 98304]");

  // A size the graph computes (here an input) leaves its entry unknown, the rank known.
  Value* computed = graph.add_input("computed", DType::Int64, shape({1}));
  Value* target3 = shape_op(graph, "Concat", "target3", {computed, ints(graph, "tail", {768})},
                            {{"axis", int64_t{0}}});
  EXPECT_EQ(output_shape(graph.add_node("Reshape", "r3", {x, target3}, {"o3"})), "[?, ?]");
}

// arange over a size the graph states (HF's masks count the batch with Shape, Squeeze,
// Range), and a Slice of a shape.
TEST(RangeSchema, LengthFromAStatedSize) {
  Graph graph;
  Value* x = graph.add_input("x", DType::Float32, shape({"batch", 8}));
  Value* whole = shape_op(graph, "Shape", "whole", {x});
  Value* first =
      shape_op(graph, "Slice", "first", {whole, ints(graph, "b", {0}), ints(graph, "e", {1})});
  Value* size = shape_op(graph, "Squeeze", "size", {first}, {{"axes", std::vector<int64_t>{0}}});
  Value* zero = graph.add_constant("zero", Tensor::from_vector<int64_t>({}, {0}));
  Value* one = graph.add_constant("one", Tensor::from_vector<int64_t>({}, {1}));
  EXPECT_EQ(output_shape(graph.add_node("Range", "arange", {zero, size, one}, {"r"})), "[batch]");
  // Another start or step: unknown.
  EXPECT_EQ(output_shape(graph.add_node("Range", "odd", {one, size, one}, {"r2"})), "[?]");
}

// Expand to sizes taken from another tensor's dims.
TEST(ExpandSchema, TargetBuiltFromDimsKeepsTheirSizes) {
  Graph graph;
  Value* x = graph.add_input("x", DType::Float32, shape({1, 1, 8}));
  Value* ids = graph.add_input("ids", DType::Int64, shape({"batch", 8}));
  Value* size0 =
      shape_op(graph, "Shape", "size0", {ids}, {{"start", int64_t{0}}, {"end", int64_t{1}}});
  Value* target = shape_op(graph, "Concat", "target", {size0, ints(graph, "rest", {4, 8})},
                           {{"axis", int64_t{0}}});
  EXPECT_EQ(output_shape(graph.add_node("Expand", "e", {x, target}, {"e"})), "[batch, 4, 8]");
}

TEST(SliceSchema, ConstantBoundsGiveStaticDims) {
  Graph graph;
  Value* x = graph.add_input("x", DType::Float32, shape({"batch", 10, 6}));
  Node* node = graph.add_node("Slice", "s",
                              {x, ints(graph, "starts", {1, -1}), ints(graph, "ends", {8, -7}),
                               ints(graph, "axes", {1, 2}), ints(graph, "steps", {3, -2})},
                              {"o"});
  // axis 1: 1, 4, 7 → 3; axis 2: start 5, end clamps to -1, step -2: 5, 3, 1 → 3.
  EXPECT_EQ(output_shape(node), "[batch, 3, 3]");
  Node* whole = graph.add_node(
      "Slice", "s2",
      {x, ints(graph, "z", {0}), ints(graph, "big", {INT64_MAX}), ints(graph, "ax0", {0})}, {"o2"});
  EXPECT_EQ(output_shape(whole), "[batch, 10, 6]");
}

TEST(SliceSchema, NonConstantBoundsKeepRank) {
  Graph graph;
  Value* x = graph.add_input("x", DType::Float32, shape({"batch", 10, 6}));
  Value* start = graph.add_input("start", DType::Int64, shape({1}));
  Node* node =
      graph.add_node("Slice", "s", {x, start, ints(graph, "e", {5}), ints(graph, "a", {2})}, {"o"});
  EXPECT_EQ(output_shape(node), "[batch, 10, ?]");
  Node* no_axes = graph.add_node(
      "Slice", "s2", {x, start, start, graph.add_input("axes", DType::Int64, shape({1}))}, {"o2"});
  EXPECT_EQ(output_shape(no_axes), "[?, ?, ?]");
}

TEST(IndexingSchema, GatherSplitConcat) {
  Graph graph;
  Value* x = graph.add_input("x", DType::Float32, shape({"batch", 10, 6}));
  Value* indices = graph.add_input("i", DType::Int64, shape({2, 3}));
  Node* gather = graph.add_node("Gather", "g", {x, indices}, {"g_out"});
  gather->attrs["axis"] = int64_t{1};
  EXPECT_EQ(output_shape(gather), "[batch, 2, 3, 6]");

  Node* split = graph.add_node("Split", "sp", {x}, {"p0", "p1", "p2"});
  split->attrs["axis"] = int64_t{1};
  EXPECT_EQ(output_shape(split, 0), "[batch, 4, 6]");  // 10 in 3: ceil = 4, 4, last 2
  EXPECT_EQ(split->outputs[2]->shape.to_string(), "[batch, 2, 6]");
  split->attrs["split"] = std::vector<int64_t>{5, 3, 2};
  EXPECT_EQ(output_shape(split, 1), "[batch, 3, 6]");
  split->attrs["split"] = std::vector<int64_t>{5, 3, 3};
  EXPECT_THROW(infer_node(*split), Error);

  Value* y = graph.add_input("y", DType::Float32, shape({1, 10, 2}));
  Node* concat = graph.add_node("Concat", "c", {x, y}, {"c_out"});
  concat->attrs["axis"] = int64_t{-1};
  EXPECT_EQ(output_shape(concat), "[1, 10, 8]");  // batch must equal y's 1

  Node* elements =
      graph.add_node("GatherElements", "ge",
                     {x, graph.add_input("ei", DType::Int64, shape({"batch", 2, 6}))}, {"ge_out"});
  EXPECT_EQ(output_shape(elements), "[batch, 2, 6]");
  Node* nd = graph.add_node("GatherND", "gnd",
                            {x, graph.add_input("ni", DType::Int64, shape({4, 2}))}, {"nd_out"});
  EXPECT_EQ(output_shape(nd), "[4, 6]");
}

TEST(TensorSchema, SqueezeUnsqueezeFlattenTranspose) {
  Graph graph;
  Value* x = graph.add_input("x", DType::Float32, shape({"batch", 1, 3, 1}));
  Node* squeeze = graph.add_node("Squeeze", "sq", {x}, {"sq_out"});
  squeeze->attrs["axes"] = std::vector<int64_t>{-1, 1};
  EXPECT_EQ(output_shape(squeeze), "[batch, 3]");
  squeeze->attrs["axes"] = std::vector<int64_t>{2};
  EXPECT_THROW(infer_node(*squeeze), Error);  // axis 2 has size 3

  Node* unsqueeze = graph.add_node("Unsqueeze", "unsq", {x}, {"unsq_out"});
  unsqueeze->attrs["axes"] = std::vector<int64_t>{0, -1};
  EXPECT_EQ(output_shape(unsqueeze), "[1, batch, 1, 3, 1, 1]");

  Node* flatten = graph.add_node("Flatten", "flat", {x}, {"flat_out"});
  EXPECT_EQ(output_shape(flatten), "[batch, 3]");
  flatten->attrs["axis"] = int64_t{2};
  EXPECT_EQ(output_shape(flatten), "[batch, 3]");
  Node* flatten_all = graph.add_node("Flatten", "flat0", {x}, {"flat0_out"});
  flatten_all->attrs["axis"] = int64_t{0};
  EXPECT_EQ(output_shape(flatten_all), "[1, 3*batch]");  // a symbolic product

  Node* transpose = graph.add_node("Transpose", "t", {x}, {"t_out"});
  transpose->attrs["perm"] = std::vector<int64_t>{2, 0, 3, 1};
  EXPECT_EQ(output_shape(transpose), "[3, batch, 1, 1]");
  Node* reverse = graph.add_node("Transpose", "t2", {x}, {"t2_out"});
  EXPECT_EQ(output_shape(reverse), "[1, 3, 1, batch]");
}

TEST(ShapeOpsSchema, ExpandRangeConstantOfShapeShapeSize) {
  Graph graph;
  Value* x = graph.add_input("x", DType::Float32, shape({"batch", 1}));
  EXPECT_EQ(
      output_shape(graph.add_node("Expand", "e", {x, ints(graph, "to", {2, 1, 5})}, {"e_out"})),
      "[2, batch, 5]");
  Node* range = graph.add_node("Range", "r",
                               {graph.add_constant("start", Tensor::scalar<int64_t>(2)),
                                graph.add_constant("limit", Tensor::scalar<int64_t>(11)),
                                graph.add_constant("delta", Tensor::scalar<int64_t>(3))},
                               {"r_out"});
  EXPECT_EQ(output_shape(range), "[3]");  // 2, 5, 8
  Node* float_range = graph.add_node("Range", "fr",
                                     {graph.add_constant("fs", Tensor::scalar<float>(1.0f)),
                                      graph.add_constant("fl", Tensor::scalar<float>(0.0f)),
                                      graph.add_constant("fd", Tensor::scalar<float>(-0.25f))},
                                     {"fr_out"});
  EXPECT_EQ(output_shape(float_range), "[4]");  // 1, 0.75, 0.5, 0.25
  EXPECT_EQ(float_range->outputs[0]->dtype, DType::Float32);

  Node* fill =
      graph.add_node("ConstantOfShape", "fill", {ints(graph, "dims", {2, 3})}, {"fill_out"});
  fill->attrs["value"] = Tensor::from_vector<int32_t>({1}, {7});
  EXPECT_EQ(output_shape(fill), "[2, 3]");
  EXPECT_EQ(fill->outputs[0]->dtype, DType::Int32);

  Node* shape_node = graph.add_node("Shape", "shape", {x}, {"shape_out"});
  shape_node->attrs["start"] = int64_t{-1};
  EXPECT_EQ(output_shape(shape_node), "[1]");
  EXPECT_EQ(shape_node->outputs[0]->dtype, DType::Int64);
  Node* size = graph.add_node("Size", "size", {x}, {"size_out"});
  EXPECT_EQ(output_shape(size), "[]");
  EXPECT_EQ(size->outputs[0]->dtype, DType::Int64);
  Node* trilu = graph.add_node("Trilu", "tri", {x}, {"tri_out"});
  EXPECT_EQ(output_shape(trilu), "[batch, 1]");
}

TEST(PadSchema, StaticDimsGrowAndSymbolicDimsStayWhenTheirPadsCancel) {
  Graph graph;
  Value* x = graph.add_input("x", DType::Int32, shape({"batch", "seq", 4, 5}));
  Node* pad = graph.add_node("Pad", "pad", {x}, {"y"});
  pad->attrs["pads"] = std::vector<int64_t>{0, 1, 2, -1, 1, -1, 3, -2};
  EXPECT_EQ(output_shape(pad), "[?, seq, 9, 2]");
  EXPECT_EQ(pad->outputs[0]->dtype, DType::Int32);
  Value* unranked = graph.add_input("u", DType::Float32, Shape());
  Node* of_unranked = graph.add_node("Pad", "pad_u", {unranked}, {"u_out"});
  of_unranked->attrs["pads"] = std::vector<int64_t>{1, 1};
  EXPECT_EQ(output_shape(of_unranked), "[?]");

  auto error_of = [&](std::vector<int64_t> pads, std::string mode) -> std::string {
    Node* node =
        graph.add_node("Pad", "bad_pad", {x}, {"bad_" + std::to_string(graph.node_count())});
    node->attrs["pads"] = std::move(pads);
    node->attrs["mode"] = std::move(mode);
    try {
      infer_node(*node);
    } catch (const Error& error) {
      EXPECT_EQ(error.kind(), ErrorKind::InvalidModel);
      return error.what();
    }
    return "no error";
  };
  EXPECT_NE(error_of({0, 0, 4, 0, 0, 0, 0, 0}, "reflect").find("must each be less than its size 4"),
            std::string::npos);
  EXPECT_NE(error_of({0, 0, 0, 0, 0, 0, -5, 0}, "constant").find("crop more than the 4 elements"),
            std::string::npos);
  EXPECT_NE(error_of({1, 1}, "edge").find("an input of rank 4 needs 8"), std::string::npos);
  EXPECT_NE(error_of({0, 0, 0, 0, 0, 0, 0, 0}, "symmetric").find("'bad_pad'"), std::string::npos);
}

// Resize: a fixed size wins; -1 is floor(dim * scale), and a symbolic dim stays itself when
// its scale is 1.
TEST(ResizeSchema, SizesScalesAndSymbolicDims) {
  Graph graph;
  Value* x = graph.add_input("x", DType::Float32, shape({"batch", 3, 5, 7}));
  Node* resize = graph.add_node("Resize", "resize", {x}, {"y"});
  resize->attrs["mode"] = std::string("linear");
  resize->attrs["sizes"] = std::vector<int64_t>{-1, 4, -1, -1};
  resize->attrs["scales"] = std::vector<double>{1, 0, 2, 0.5};
  EXPECT_EQ(output_shape(resize), "[batch, 4, 10, 3]");
  EXPECT_EQ(resize->outputs[0]->dtype, DType::Float32);
  Node* growing = graph.add_node("Resize", "grow", {x}, {"g"});
  growing->attrs["sizes"] = std::vector<int64_t>{-1, 3, 5, 7};
  growing->attrs["scales"] = std::vector<double>{2, 0, 0, 0};
  EXPECT_EQ(output_shape(growing), "[?, 3, 5, 7]");

  auto error_of = [&](std::vector<int64_t> sizes, std::string mode, ErrorKind kind) {
    Node* node =
        graph.add_node("Resize", "bad_resize", {x}, {"bad_" + std::to_string(graph.node_count())});
    node->attrs["sizes"] = std::move(sizes);
    node->attrs["mode"] = std::move(mode);
    try {
      infer_node(*node);
    } catch (const Error& error) {
      EXPECT_EQ(error.kind(), kind);
      return std::string(error.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error_of({1, 2}, "nearest", ErrorKind::InvalidModel).find("an input of rank 4 needs 4"),
            std::string::npos);
  EXPECT_NE(error_of({1, 3, 5, 7}, "cubic", ErrorKind::Unsupported).find("'bad_resize'"),
            std::string::npos);
  EXPECT_NE(error_of({1, -1, 5, 7}, "nearest", ErrorKind::InvalidModel).find("neither a size"),
            std::string::npos);
}

}  // namespace
}  // namespace kiln::ir
