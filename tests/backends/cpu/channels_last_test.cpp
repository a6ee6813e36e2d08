// The CPU reference of channels_last Conv and pools (and their schemas' NHWC shapes): the
// same data in NHWC must give the NCHW result, transposed, exactly.
#include "backends/cpu/channels_last.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "backends/cpu/executor.h"
#include "backends/cpu/reference_helpers.h"  // tests/backends/cpu
#include "ir/op_schema.h"

namespace kiln::cpu {
namespace {

using Attrs = std::map<std::string, ir::AttrValue>;

using testing::random_tensor;

// Runs `op` on inputs in0, in1, ...; checks the output against the inferred shape.
Tensor run_node(const std::string& op, const std::vector<Tensor>& inputs, const Attrs& attrs) {
  ir::Graph graph;
  std::map<std::string, Tensor> named;
  std::vector<ir::Value*> values;
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::string name = "in" + std::to_string(i);
    values.push_back(
        graph.add_input(name, inputs[i].dtype(), ir::Shape::from_dims(inputs[i].dims())));
    named[name] = inputs[i];
  }
  ir::Node* node = graph.add_node(op, "node", values, {"out"});
  node->attrs = attrs;
  ir::infer_graph(graph);
  graph.add_output(node->outputs[0]);
  Tensor out = Executor(graph).run(named)[0];
  EXPECT_EQ(ir::Shape::from_dims(out.dims()), node->outputs[0]->shape);
  return out;
}

// X (and W) given NCHW (KCRS); the NHWC run gets them transposed, the bias as it is.
void expect_layouts_agree(const std::string& op, const std::vector<Dims>& nchw_dims, Attrs attrs) {
  std::vector<Tensor> nchw, nhwc;
  for (size_t i = 0; i < nchw_dims.size(); ++i) {
    nchw.push_back(random_tensor(nchw_dims[i], 3 + uint32_t(i)));
    nhwc.push_back(nchw_dims[i].size() == 4 ? to_channels_last(nchw.back()) : nchw.back());
  }
  Tensor expected = to_channels_last(run_node(op, nchw, attrs));
  attrs["channels_last"] = int64_t{1};
  Tensor actual = run_node(op, nhwc, attrs);
  ASSERT_EQ(actual.dims(), expected.dims()) << op;
  EXPECT_EQ(actual.to_double_vector(), expected.to_double_vector()) << op;
}

Attrs conv_attrs(std::vector<int64_t> pads, std::vector<int64_t> strides, int64_t group) {
  return {{"pads", pads}, {"strides", strides}, {"group", group}};
}

TEST(ChannelsLastReference, ConvMatchesNchw) {
  expect_layouts_agree("Conv", {{2, 6, 9, 7}, {4, 6, 3, 3}, {4}},
                       conv_attrs({1, 1, 1, 1}, {1, 1}, 1));
  expect_layouts_agree("Conv", {{1, 6, 11, 10}, {9, 2, 3, 2}}, conv_attrs({0, 1, 2, 1}, {2, 2}, 3));
  Attrs relu = conv_attrs({1, 1, 1, 1}, {2, 1}, 6);
  relu["fused_activation"] = std::string("Relu");
  expect_layouts_agree("Conv", {{2, 6, 8, 8}, {6, 1, 3, 3}, {6}}, relu);
}

TEST(ChannelsLastReference, PoolsMatchNchw) {
  Attrs max{{"kernel_shape", std::vector<int64_t>{3, 3}},
            {"strides", std::vector<int64_t>{2, 2}},
            {"pads", std::vector<int64_t>{1, 0, 1, 1}},
            {"ceil_mode", int64_t{1}}};
  expect_layouts_agree("MaxPool", {{2, 5, 11, 10}}, max);
  Attrs average = max;
  average["count_include_pad"] = int64_t{1};
  expect_layouts_agree("AveragePool", {{2, 5, 11, 10}}, average);
  expect_layouts_agree("GlobalAveragePool", {{3, 5, 4, 6}}, {});
}

TEST(ChannelsLastReference, SchemaRefusesOtherRanks) {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, ir::Shape::from_dims({2, 3, 20}));
  ir::Node* pool = graph.add_node("MaxPool", "pool", {x}, {"y"});
  pool->attrs["kernel_shape"] = std::vector<int64_t>{3};
  pool->attrs["channels_last"] = int64_t{1};
  EXPECT_THROW(ir::infer_graph(graph), Error);
}

}  // namespace
}  // namespace kiln::cpu
