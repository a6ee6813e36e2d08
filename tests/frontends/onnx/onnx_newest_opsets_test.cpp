// Ops of ONNX opsets 26 to 28 (kMaxOpset): CumProd's axis input, Range's stash_type.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "frontends/onnx/onnx_importer.h"
#include "frontends/onnx/onnx_model_builder.h"

namespace kiln::onnx {
namespace {

using ::onnx::TensorProto;
using ::testing::HasSubstr;
using testing::ModelBuilder;

// CumProd (opset 26) imports as CumSum does: the axis input becomes an attribute. Opset 27's
// Range may name stash_type 1 (float32, what Kiln computes in); another type is refused.
TEST(OnnxOps, CumProdAndRangeOfTheNewestOpsets) {
  ModelBuilder builder(28);
  builder.input("x", TensorProto::FLOAT, {int64_t(2), int64_t(1), int64_t(6)});
  builder.initializer("axis", TensorProto::INT64, {}).add_int64_data(2);
  auto& cumprod = builder.node("CumProd", {"x", "axis"}, {"y"});
  testing::attr_int(cumprod, "exclusive", 1);
  builder.output("y");
  const ir::Graph graph = import_onnx_bytes(builder.bytes(), {});
  ASSERT_EQ(graph.node_count(), 1u);
  const ir::Node& node = *graph.nodes().at(0);
  EXPECT_EQ(node.op, "CumProd");
  EXPECT_EQ(node.attr_int("axis", 0), 2);
  EXPECT_EQ(node.attr_int("exclusive", 0), 1);

  for (int64_t stash : {int64_t(1), int64_t(10)}) {
    ModelBuilder range(27);
    range.input("n", TensorProto::FLOAT16, {});
    range.initializer("start", TensorProto::FLOAT16, {}).add_int32_data(0);       // 0.0
    range.initializer("delta", TensorProto::FLOAT16, {}).add_int32_data(0x3c00);  // 1.0
    testing::attr_int(range.node("Range", {"start", "n", "delta"}, {"r"}), "stash_type", stash);
    range.output("r");
    try {
      ir::Graph graph = import_onnx_bytes(range.bytes(), {});
      EXPECT_EQ(stash, 1);
      EXPECT_EQ(graph.nodes().at(0)->op, "Range");
    } catch (const Error& error) {
      EXPECT_EQ(stash, 10);
      EXPECT_EQ(error.kind(), ErrorKind::Unsupported);
      EXPECT_THAT(error.what(), HasSubstr("stash_type 10"));
    }
  }
}

}  // namespace
}  // namespace kiln::onnx
