// Dim and Shape helpers.
#include "ir/shape.h"

#include <sstream>

#include "core/error.h"

namespace kiln::ir {

std::string DimRange::to_string() const {
  return std::to_string(min) + ".." + (max < 0 ? std::string() : std::to_string(max));
}

std::string Dim::to_string() const {
  if (is_static()) return std::to_string(value);
  return symbol.empty() ? "?" : symbol;
}

Shape Shape::from_dims(const Dims& dims) {
  std::vector<Dim> result;
  for (int64_t dim : dims) result.push_back(Dim::fixed(dim));
  return Shape(std::move(result));
}

int64_t Shape::rank() const {
  check(rank_known(), ErrorKind::Runtime, "rank of a shape of unknown rank");
  return static_cast<int64_t>(dims_->size());
}

const std::vector<Dim>& Shape::dims() const {
  check(rank_known(), ErrorKind::Runtime, "dims of a shape of unknown rank");
  return *dims_;
}

const Dim& Shape::operator[](int64_t axis) const {
  int64_t index = normalize_axis(axis, rank(), "shape " + to_string());
  return (*dims_)[static_cast<size_t>(index)];
}

bool Shape::is_known() const {
  if (!rank_known()) return false;
  for (const Dim& dim : *dims_) {
    if (!dim.is_static() && !dim.is_symbolic()) return false;
  }
  return true;
}

bool Shape::is_static() const {
  if (!rank_known()) return false;
  for (const Dim& dim : *dims_) {
    if (!dim.is_static()) return false;
  }
  return true;
}

Dims Shape::static_dims() const {
  check(is_static(), ErrorKind::Unsupported, "shape ", to_string(), " is not static");
  Dims result;
  for (const Dim& dim : *dims_) result.push_back(dim.value);
  return result;
}

std::string Shape::to_string() const {
  if (!rank_known()) return "[?]";
  std::ostringstream out;
  out << '[';
  for (size_t i = 0; i < dims_->size(); ++i) out << (i ? ", " : "") << (*dims_)[i].to_string();
  out << ']';
  return out.str();
}

int64_t normalize_axis(int64_t axis, int64_t rank, const std::string& context) {
  int64_t normalized = axis < 0 ? axis + rank : axis;
  check(normalized >= 0 && normalized < rank, ErrorKind::InvalidModel, "axis ", axis,
        " is out of range for rank ", rank, " in ", context);
  return normalized;
}

}  // namespace kiln::ir
