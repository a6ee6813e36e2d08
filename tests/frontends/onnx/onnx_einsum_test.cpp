// ONNX Einsum (opset 12; built here at 13, the oldest opset Kiln reads) as core ops
// (ir/einsum.h), run on the CPU reference against einsum computed by loops; each case ends in
// a different core op (MatMul, Reshape, Transpose, ReduceSum), which must carry the model's
// output name. Errors name the node and the equation.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "backends/cpu/executor.h"
#include "core/error.h"
#include "frontends/onnx/onnx_importer.h"
#include "frontends/onnx/onnx_model_builder.h"
#include "test_support/einsum_reference.h"

namespace kiln::onnx {
namespace {

using ::onnx::TensorProto;
using ::testing::DoubleNear;
using ::testing::HasSubstr;
using testing::ModelBuilder;
using ::testing::Pointwise;

// One Einsum node "e" over inputs x0, x1, ... of `dims`, output "y".
ModelBuilder einsum_model(const std::string& equation, const std::vector<Dims>& dims) {
  ModelBuilder builder(13);
  std::vector<std::string> names;
  for (size_t i = 0; i < dims.size(); ++i) {
    names.push_back("x" + std::to_string(i));
    builder.input(names.back(), TensorProto::FLOAT,
                  std::vector<testing::DimSpec>(dims[i].begin(), dims[i].end()));
  }
  builder.node("Einsum", names, {"y"}, "e");
  testing::attr_string(*builder.graph().mutable_node(0), "equation", equation);
  builder.output("y");
  return builder;
}

TEST(OnnxEinsum, MatchesLoops) {
  const std::vector<std::tuple<std::string, std::vector<Dims>, std::string>> cases = {
      {"ij,jk", {{2, 3}, {3, 4}}, "ij,jk->ik"},                        // ends in MatMul
      {"i,i->", {{4}, {4}}, ""},                                       // ends in Reshape
      {"ij,jk->ki", {{2, 3}, {3, 4}}, ""},                             // ends in Transpose
      {"ij->i", {{2, 3}}, ""},                                         // ends in ReduceSum
      {"ij->ij", {{2, 3}}, ""},                                        // an identity
      {"bghij,bghjd->bghid", {{1, 2, 1, 3, 5}, {1, 2, 1, 5, 4}}, ""},  // maxvit's attn @ v
      {"...ij,...jk->...ik", {{1, 2, 3}, {3, 3, 2}}, "aij,ajk->aik"},
      {"ij,jk,kl->il", {{2, 3}, {3, 4}, {4, 2}}, ""},
      {"->", {{}}, ""},  // a scalar (crashed: the repeat check read past an empty term)
      {",->", {{}, {}}, ""},
  };
  for (const auto& [equation, dims, reference] : cases) {
    std::vector<Tensor> values;
    std::map<std::string, Tensor> feeds;
    for (size_t i = 0; i < dims.size(); ++i) {
      values.push_back(test_support::einsum_operand(dims[i], int(i)));
      feeds["x" + std::to_string(i)] = values.back();
    }
    ir::Graph graph = import_onnx_bytes(einsum_model(equation, dims).bytes(), {});
    ASSERT_EQ(graph.outputs().size(), 1u);
    EXPECT_EQ(graph.outputs()[0]->name, "y") << equation;
    Tensor y = cpu::Executor(graph).run(feeds).at(0);
    test_support::EinsumResult expected =
        test_support::reference_einsum(reference.empty() ? equation : reference, values);
    EXPECT_EQ(y.dims(), expected.dims) << equation;
    EXPECT_THAT(y.to_double_vector(), Pointwise(DoubleNear(1e-4), expected.values)) << equation;
  }
}

TEST(OnnxEinsum, ErrorsNameTheNodeAndEquation) {
  auto message = [](const std::string& equation, std::vector<Dims> dims, ErrorKind kind) {
    try {
      import_onnx_model_bytes(einsum_model(equation, dims).bytes(), {}, {}, "model.onnx");
    } catch (const Error& error) {
      EXPECT_EQ(error.kind(), kind) << error.what();
      return std::string(error.what());
    }
    return std::string("no error");
  };
  std::string diagonal = message("ii->i", {{3, 4}}, ErrorKind::Unsupported);
  EXPECT_THAT(diagonal, HasSubstr("node 'e' (Einsum)"));
  EXPECT_THAT(diagonal, HasSubstr("einsum equation 'ii->i'"));
  std::string malformed = message("ij,jk->ik", {{2, 3}}, ErrorKind::InvalidModel);
  EXPECT_THAT(malformed, HasSubstr("einsum equation 'ij,jk->ik': has 2 input terms"));
}

}  // namespace
}  // namespace kiln::onnx
