// check_input_dims: the one check of concrete input dims against a graph, shared by the CPU
// session and the GPU contexts: rank, fixed dims, one size per symbol, declared ranges.
#include "ir/input_dims.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "ir/shape_literals.h"  // tests/ir/shape_literals.h

namespace kiln::ir {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::shape;

struct TwoInputs {
  Graph graph;
  TwoInputs() {
    graph.add_input("ids", DType::Int64, shape({"batch", "seq"}));
    graph.add_input("x", DType::Float32, shape({"batch", 4}));
    graph.dim_ranges["batch"] = DimRange{1, 8};
    graph.dim_ranges["seq"] = DimRange{4, -1};  // no upper bound
  }
};

std::string message(const Graph& graph, const std::map<std::string, Dims>& dims) {
  try {
    check_input_dims(graph, dims);
    return "";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::InvalidArgument);
    return error.what();
  }
}

TEST(InputDims, SizesInRangeGiveEachSymbolsSize) {
  TwoInputs two;
  std::map<std::string, int64_t> sizes =
      check_input_dims(two.graph, {{"ids", {8, 100000}}, {"x", {8, 4}}});
  EXPECT_EQ(sizes, (std::map<std::string, int64_t>{{"batch", 8}, {"seq", 100000}}));
  EXPECT_EQ(message(two.graph, {{"ids", {1, 4}}}), "") << "inputs not named are not checked";
}

TEST(InputDims, SizeOutsideTheRangeNamesInputAxisDimRangeAndSize) {
  TwoInputs two;
  EXPECT_THAT(message(two.graph, {{"ids", {9, 16}}, {"x", {9, 4}}}),
              AllOf(HasSubstr("input 'ids' axis 0"), HasSubstr("dim 'batch' is 9"),
                    HasSubstr("outside its range 1..8"), HasSubstr("--dim batch=MIN:OPT:MAX")));
  EXPECT_THAT(message(two.graph, {{"ids", {2, 3}}}),
              AllOf(HasSubstr("dim 'seq' is 3"), HasSubstr("range 4..")));
  EXPECT_THAT(message(two.graph, {{"ids", {0, 4}}}), HasSubstr("outside its range 1..8"));
}

TEST(InputDims, RankFixedDimsAndDisagreeingSymbolsAreErrors) {
  TwoInputs two;
  EXPECT_THAT(message(two.graph, {{"ids", {2}}}), HasSubstr("input 'ids' has rank 2"));
  EXPECT_THAT(message(two.graph, {{"x", {2, 5}}}),
              AllOf(HasSubstr("input 'x' axis 1 is fixed at 4"), HasSubstr("given 5")));
  EXPECT_THAT(message(two.graph, {{"ids", {2, 4}}, {"x", {3, 4}}}),
              AllOf(HasSubstr("inputs disagree on dim 'batch'"), HasSubstr("2 in 'ids'"),
                    HasSubstr("3 in 'x'")));
}

TEST(InputDims, RangesPrintAndContain) {
  EXPECT_EQ((DimRange{1, 32}).to_string(), "1..32");
  EXPECT_EQ((DimRange{1, -1}).to_string(), "1..");
  EXPECT_TRUE((DimRange{1, -1}).contains(1 << 30));
  EXPECT_FALSE((DimRange{2, 4}).contains(1));
  Graph copy = copy_graph(TwoInputs().graph);
  EXPECT_EQ(copy.dim_ranges.at("batch"), (DimRange{1, 8})) << "copies keep the ranges";
}

}  // namespace
}  // namespace kiln::ir
