// Symbolic products of dims: canonical names, exact division, and names Kiln did not write.
#include "ir/dim_products.h"

#include <gtest/gtest.h>

namespace kiln::ir {
namespace {

std::string product_name(const std::vector<Dim>& dims) {
  std::optional<DimProduct> product = dim_product(dims);
  return product ? dim_of(*product).to_string() : "none";
}

TEST(DimProducts, CanonicalNamesWhateverTheOrder) {
  EXPECT_EQ(product_name({Dim::named("seq"), Dim::fixed(8), Dim::named("batch")}), "8*batch*seq");
  EXPECT_EQ(product_name({Dim::fixed(2), Dim::named("8*batch*seq")}), "16*batch*seq");
  EXPECT_EQ(product_name({Dim::fixed(2), Dim::fixed(3)}), "6");
  EXPECT_EQ(product_name({Dim::named("batch"), Dim::fixed(0)}), "0");
  EXPECT_EQ(product_name({Dim::named("batch"), Dim::named("batch")}), "batch*batch");
  EXPECT_EQ(product_name({Dim::named("batch"), Dim::unknown()}), "none");
  // Not a product Kiln wrote (an empty factor): one opaque symbol.
  EXPECT_EQ(product_name({Dim::fixed(2), Dim::named("a**b")}), "2*a**b");
  // A coefficient past int64 is no product.
  EXPECT_EQ(product_name({Dim::fixed(int64_t{1} << 40), Dim::fixed(int64_t{1} << 40)}), "none");
}

TEST(DimProducts, DivisionIsExactOrNothing) {
  DimProduct rows = *dim_product({Dim::fixed(8), Dim::named("batch"), Dim::fixed(32)});
  DimProduct others = *dim_product({Dim::fixed(8), Dim::fixed(32)});
  EXPECT_EQ(dim_of(*divide(rows, others)).to_string(), "batch");
  EXPECT_FALSE(divide(rows, *dim_product({Dim::fixed(3)})));      // 256 % 3
  EXPECT_FALSE(divide(rows, *dim_product({Dim::named("seq")})));  // no seq to cancel
  EXPECT_FALSE(divide(rows, *dim_product({Dim::fixed(0)})));      // by zero
  EXPECT_EQ(dim_of(*divide(rows, rows)).to_string(), "1");
}

}  // namespace
}  // namespace kiln::ir
