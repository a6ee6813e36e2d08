// aten.einsum.default as core ops (ir/einsum.h), run on the CPU reference against einsum
// computed by loops (test_support/einsum_reference.h): matrix products, maxvit's attention
// equations with spaces and capitals, sums, "...", implicit outputs, three operands,
// symbolic sizes, and the equations Kiln refuses.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "aten_harness.h"
#include "test_support/einsum_reference.h"

namespace kiln::torch {
namespace {

using test_support::einsum_operand;
using test_support::reference_einsum;
using testing::arg;
using testing::AtenHarness;
using ::testing::DoubleNear;
using ::testing::HasSubstr;
using ::testing::Pointwise;

struct EinsumCase {
  std::string equation;
  std::vector<Dims> dims;
  std::string reference;  // the same product written without "..." or an implicit output
};

// Converts `equation` over operands of `dims` and checks it against `reference` (loops).
void expect_matches_loops(const EinsumCase& c) {
  AtenHarness h;
  TensorList operands;
  std::vector<Tensor> values;
  std::map<std::string, Tensor> feeds;
  for (size_t i = 0; i < c.dims.size(); ++i) {
    std::string name = "x" + std::to_string(i);
    operands.push_back(h.input(name, DType::Float32, c.dims[i]));
    values.push_back(einsum_operand(c.dims[i], int(i)));
    feeds[name] = values.back();
  }
  ir::Value* out =
      h.convert("aten.einsum.default", {arg("equation", c.equation), arg("tensors", operands)});
  Tensor result = h.run_one(out, feeds);
  test_support::EinsumResult expected =
      reference_einsum(c.reference.empty() ? c.equation : c.reference, values);
  EXPECT_EQ(result.dims(), expected.dims) << c.equation;
  EXPECT_THAT(result.to_double_vector(), Pointwise(DoubleNear(1e-4), expected.values))
      << c.equation;
}

TEST(AtenEinsum, MatchesLoops) {
  const std::vector<EinsumCase> cases = {
      {"bij,bjk->bik", {{2, 2, 3}, {2, 3, 4}}, ""},
      // maxvit's attention: spaces and capitals as torchvision writes them.
      {"B G H I D, B G H J D -> B G H I J", {{1, 2, 1, 3, 4}, {1, 2, 1, 5, 4}}, ""},
      {"bghij, bghjd -> bghid", {{1, 2, 1, 3, 5}, {1, 2, 1, 5, 4}}, ""},
      {"ij->ji", {{2, 3}}, ""},
      {"ij->", {{2, 3}}, ""},
      {"ij->i", {{2, 3}}, ""},
      {"i,i->", {{4}, {4}}, ""},
      {"i,j->ij", {{3}, {4}}, ""},
      {"ij,jk", {{2, 3}, {3, 4}}, "ij,jk->ik"},
      {"ba,ca", {{2, 3}, {4, 3}}, "ba,ca->bc"},
      {"ij,jk,kl->il", {{2, 3}, {3, 4}, {4, 2}}, ""},
      {"ij,jk->ki", {{2, 3}, {3, 4}}, ""},
      {"abc,cd->dba", {{2, 3, 4}, {4, 2}}, ""},
      // A letter summed in one operand only (k), and one only in the output side (j).
      {"ik,j->ij", {{2, 3}, {4}}, ""},
      // "..." broadcasts: batch 1 against 3, and a missing leading dim against 5.
      {"...ij,...jk->...ik", {{1, 2, 3}, {3, 3, 2}}, "aij,ajk->aik"},
      {"...ij,...jk->...ik", {{4, 1, 2, 3}, {5, 3, 2}}, "abij,bjk->abik"},
      {"...ij,jk", {{2, 2, 3}, {3, 4}}, "aij,jk->aik"},
      // A contracted letter of size 1 on one side broadcasts (torch sums the other side).
      {"ij,jk->ik", {{2, 1}, {3, 4}}, ""},
      // Diagonals: a letter repeated within one operand.
      {"ii->i", {{3, 3}}, ""},
      {"ii", {{3, 3}}, "ii->"},
      {"bii->bi", {{2, 4, 4}}, ""},
      {"iji->j", {{3, 2, 3}}, ""},
      {"iij,jk->ik", {{3, 3, 2}, {2, 4}}, ""},
      {"iii->i", {{2, 2, 2}}, ""},
  };
  for (const EinsumCase& c : cases) expect_matches_loops(c);
}

// Two symbolic dims in one group read their sizes at run time (Shape), the batch keeps 0.
TEST(AtenEinsum, SymbolicSizes) {
  AtenHarness h;
  ir::Value* a = h.input("a", DType::Float32,
                         ir::Shape({ir::Dim::named("x"), ir::Dim::named("y"), ir::Dim::fixed(3)}));
  ir::Value* b = h.input("b", DType::Float32, Dims{3, 2});
  ir::Value* out = h.convert("aten.einsum.default", {arg("equation", std::string("xyk,kz->xyz")),
                                                     arg("tensors", TensorList{a, b})});
  Tensor left = einsum_operand({2, 4, 3}, 0), right = einsum_operand({3, 2}, 1);
  Tensor result = h.run_one(out, {{"a", left}, {"b", right}});
  test_support::EinsumResult expected = reference_einsum("xyk,kz->xyz", {left, right});
  EXPECT_EQ(result.dims(), expected.dims);
  EXPECT_THAT(result.to_double_vector(), Pointwise(DoubleNear(1e-4), expected.values));
  EXPECT_THAT(h.ops(), ::testing::Contains("Shape"));
}

// maxvit's q @ k^T needs no Reshape: one Transpose of k, one batched MatMul.
TEST(AtenEinsum, AttentionScoresAreOneMatMul) {
  AtenHarness h;
  ir::Value* q = h.input("q", DType::Float32, Dims{1, 2, 1, 3, 4});
  ir::Value* k = h.input("k", DType::Float32, Dims{1, 2, 1, 5, 4});
  h.convert("aten.einsum.default",
            {arg("equation", std::string("B G H I D, B G H J D -> B G H I J")),
             arg("tensors", TensorList{q, k})});
  EXPECT_EQ(h.ops(), (std::vector<std::string>{"Transpose", "MatMul"}));
}

TEST(AtenEinsum, RefusesRaggedDiagonalsAndMalformedEquations) {
  auto error = [](const std::string& equation, std::vector<Dims> dims) {
    AtenHarness h;
    TensorList operands;
    for (size_t i = 0; i < dims.size(); ++i) {
      operands.push_back(h.input("x" + std::to_string(i), DType::Float32, dims[i]));
    }
    try {
      h.convert("aten.einsum.default", {arg("equation", equation), arg("tensors", operands)});
    } catch (const Error& e) {
      return std::pair(e.kind(), std::string(e.what()));
    }
    return std::pair(ErrorKind::Runtime, std::string("no error"));
  };
  auto [diagonal_kind, diagonal] = error("ii->i", {{3, 4}});
  EXPECT_EQ(diagonal_kind, ErrorKind::Unsupported);
  EXPECT_THAT(diagonal, HasSubstr("einsum equation 'ii->i'"));
  EXPECT_THAT(diagonal, HasSubstr("diagonal"));
  for (const auto& [equation, dims, why] :
       std::vector<std::tuple<std::string, std::vector<Dims>, std::string>>{
           {"ij,jk->ik", {{2, 3}}, "2 input terms for 1 operands"},
           {"ij->k", {{2, 3}}, "'k' is in no input"},
           {"ij->ii", {{2, 3}}, "appears twice"},
           {"i.j->ij", {{2, 3}}, "outside an ellipsis"},
           {"ij->i->j", {{2, 3}}, "unexpected character '-'"},
           {"i1->i", {{2, 3}}, "unexpected character '1'"},
           {"ijk->i", {{2, 3}}, "3 subscripts but operand 0 has rank 2"}}) {
    auto [kind, message] = error(equation, dims);
    EXPECT_EQ(kind, ErrorKind::InvalidModel) << message;
    EXPECT_THAT(message, HasSubstr("einsum equation '" + equation + "'"));
    EXPECT_THAT(message, HasSubstr(why));
  }
}

}  // namespace
}  // namespace kiln::torch
