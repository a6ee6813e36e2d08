// Shapes whose dims are either fixed sizes or named symbols ("batch", "seq"), and whose
// rank may be unknown until inference runs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace kiln::ir {

struct Dim {
  int64_t value = -1;  // >= 0 when static
  std::string symbol;  // non-empty when symbolic; both unset means "unknown"

  static Dim fixed(int64_t value) { return Dim{value, {}}; }
  static Dim named(std::string symbol) { return Dim{-1, std::move(symbol)}; }
  static Dim unknown() { return Dim{}; }
  bool is_static() const { return value >= 0; }
  bool is_symbolic() const { return value < 0 && !symbol.empty(); }
  bool operator==(const Dim& other) const = default;
  std::string to_string() const;  // "4", "batch" or "?"
};

// The sizes a symbolic dim may take, min..max inclusive; max < 0: no upper bound. An engine
// built with a range runs any size in it (`kiln build --dim batch=1:8:32`).
struct DimRange {
  int64_t min = 0;
  int64_t max = -1;
  bool contains(int64_t size) const { return size >= min && (max < 0 || size <= max); }
  std::string to_string() const;  // "1..32", "1.." without an upper bound
  bool operator==(const DimRange& other) const = default;
};

class Shape {
 public:
  Shape() = default;  // unknown rank
  explicit Shape(std::vector<Dim> dims) : dims_(std::move(dims)) {}
  static Shape from_dims(const Dims& dims);  // all static

  bool rank_known() const { return dims_.has_value(); }
  int64_t rank() const;  // throws if unknown
  const std::vector<Dim>& dims() const;
  const Dim& operator[](int64_t axis) const;  // negative axes count from the end
  bool is_static() const;
  // Every dim static or a named symbol (one symbol is one size throughout a graph), so two
  // equal known shapes are equal sizes at run time.
  bool is_known() const;
  Dims static_dims() const;  // throws Unsupported if any dim is not static
  bool operator==(const Shape& other) const = default;
  std::string to_string() const;  // "[batch, 3, 224, 224]" or "[?]" for unknown rank

 private:
  std::optional<std::vector<Dim>> dims_;
};

// Normalizes a possibly negative axis against rank; throws InvalidModel if out of range.
int64_t normalize_axis(int64_t axis, int64_t rank, const std::string& context);

}  // namespace kiln::ir
