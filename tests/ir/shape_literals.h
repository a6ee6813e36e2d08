// Test helper: writes IR shapes as literals, e.g. shape({"batch", 3, 224, 224}); "?" is an
// unknown dim.
#pragma once

#include <initializer_list>
#include <string>
#include <vector>

#include "ir/shape.h"

namespace kiln::ir::testing {

struct DimLiteral {
  Dim dim;
  DimLiteral(int value) : dim(Dim::fixed(value)) {}
  DimLiteral(int64_t value) : dim(Dim::fixed(value)) {}
  DimLiteral(const char* symbol)
      : dim(std::string(symbol) == "?" ? Dim::unknown() : Dim::named(symbol)) {}
};

inline Shape shape(std::initializer_list<DimLiteral> dims) {
  std::vector<Dim> result;
  for (const DimLiteral& literal : dims) result.push_back(literal.dim);
  return Shape(std::move(result));
}

}  // namespace kiln::ir::testing
