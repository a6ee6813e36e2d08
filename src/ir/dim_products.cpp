#include "ir/dim_products.h"

#include <algorithm>
#include <charconv>

namespace kiln::ir {
namespace {

// A symbol's factors: "128*batch" is 128 and {batch}; a name without '*' (or with an empty
// factor, not a product Kiln wrote) is itself.
bool multiply_by_symbol(DimProduct& product, const std::string& symbol) {
  std::vector<std::string> tokens;
  size_t start = 0;
  for (size_t star = symbol.find('*'); star != std::string::npos; star = symbol.find('*', start)) {
    tokens.push_back(symbol.substr(start, star - start));
    start = star + 1;
  }
  tokens.push_back(symbol.substr(start));
  if (std::any_of(tokens.begin(), tokens.end(), [](const std::string& t) { return t.empty(); })) {
    tokens = {symbol};
  }
  for (const std::string& token : tokens) {
    int64_t value = 0;
    auto [rest, error] = std::from_chars(token.data(), token.data() + token.size(), value);
    if (error == std::errc() && rest == token.data() + token.size() && value >= 0) {
      if (__builtin_mul_overflow(product.coefficient, value, &product.coefficient)) return false;
    } else {
      product.symbols.push_back(token);
    }
  }
  return true;
}

}  // namespace

std::optional<DimProduct> dim_product(const std::vector<Dim>& dims) {
  DimProduct product;
  for (const Dim& dim : dims) {
    if (dim.is_static()) {
      if (__builtin_mul_overflow(product.coefficient, dim.value, &product.coefficient)) {
        return std::nullopt;
      }
    } else if (!dim.is_symbolic() || !multiply_by_symbol(product, dim.symbol)) {
      return std::nullopt;
    }
  }
  std::sort(product.symbols.begin(), product.symbols.end());
  return product;
}

std::optional<DimProduct> divide(const DimProduct& numerator, const DimProduct& denominator) {
  if (denominator.coefficient == 0 || numerator.coefficient % denominator.coefficient != 0) {
    return std::nullopt;
  }
  DimProduct quotient;
  quotient.coefficient = numerator.coefficient / denominator.coefficient;
  // Both lists are sorted: take away each of the denominator's symbols once.
  std::vector<std::string> left = numerator.symbols;
  for (const std::string& symbol : denominator.symbols) {
    auto found = std::lower_bound(left.begin(), left.end(), symbol);
    if (found == left.end() || *found != symbol) return std::nullopt;
    left.erase(found);
  }
  quotient.symbols = std::move(left);
  return quotient;
}

Dim dim_of(const DimProduct& product) {
  if (product.symbols.empty() || product.coefficient == 0) return Dim::fixed(product.coefficient);
  std::string name = product.coefficient == 1 ? "" : std::to_string(product.coefficient);
  for (const std::string& symbol : product.symbols) name += (name.empty() ? "" : "*") + symbol;
  return Dim::named(name);
}

}  // namespace kiln::ir
