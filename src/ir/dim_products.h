// Products of dims, symbolic ones included: flattening [batch, 128, 768] to rows gives the dim
// "128*batch", and viewing those rows as [-1, 128, 768] again gives "batch". A product is a
// static coefficient times named symbols, written canonically (coefficient first, symbols
// sorted, joined by '*') as the name of a symbolic Dim, so that equal products are equal dims
// wherever shapes are compared. Sizes are only ever bound to the symbols of graph inputs; a
// product's size follows from them whenever shapes are inferred again with concrete inputs.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ir/shape.h"

namespace kiln::ir {

struct DimProduct {
  int64_t coefficient = 1;
  std::vector<std::string> symbols;  // sorted; repeats allowed
};

// The product of `dims`; nullopt where one is unknown or the coefficient would overflow.
std::optional<DimProduct> dim_product(const std::vector<Dim>& dims);

// `numerator` / `denominator` where it divides exactly (every symbol of the denominator in
// the numerator, the coefficients evenly); nullopt otherwise, and where the denominator is 0.
std::optional<DimProduct> divide(const DimProduct& numerator, const DimProduct& denominator);

// The dim a product stands for: static without symbols, else the canonical symbolic name.
Dim dim_of(const DimProduct& product);

}  // namespace kiln::ir
