// make_random_inputs: deterministic random tensors for a graph's inputs. The generator is
// written out here (splitmix64 + Box–Muller) so that a seed means the same tensors on every
// platform and standard library.
#include <algorithm>
#include <cmath>
#include <numbers>
#include <optional>

#include "kiln/kiln.h"

namespace kiln {
namespace {

class RandomStream {
 public:
  explicit RandomStream(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1p-53; }  // [0, 1)
  double normal() {
    double u1 = 1.0 - uniform();  // (0, 1]: keeps log finite
    double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }
  int64_t below(int64_t bound) {  // [0, bound); bound is small, so the modulo bias is negligible
    return bound <= 1 ? 0 : static_cast<int64_t>(next() % static_cast<uint64_t>(bound));
  }

 private:
  uint64_t state_;
};

// Each input gets its own stream from the seed and its name, so adding an input to a model
// does not change the values the others get.
uint64_t stream_seed(uint64_t seed, const std::string& name) {
  uint64_t hash = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : name) hash = (hash ^ c) * 1099511628211ull;
  return seed ^ hash;
}

int64_t concrete_dim(const ir::Dim& dim, const DimSizes& dim_sizes) {
  if (dim.is_static()) return dim.value;
  if (dim.is_symbolic()) {
    auto found = dim_sizes.find(dim.symbol);
    if (found != dim_sizes.end()) return found->second;
  }
  return 1;
}

// Ops through which an integer tensor keeps its values (only moved or retyped), so that a
// Gather further down still bounds the input.
bool passes_values_through(const std::string& op) {
  return op == "Cast" || op == "Reshape" || op == "Unsqueeze" || op == "Squeeze" ||
         op == "Flatten" || op == "Expand" || op == "Slice" || op == "Concat" || op == "Transpose";
}

// The smallest gathered-axis size among the Gathers that `value` reaches as indices.
std::optional<int64_t> gather_bound(const ir::Graph& graph, const ir::Value* value,
                                    const DimSizes& dim_sizes, int depth) {
  std::optional<int64_t> bound;
  if (depth > 8) return bound;
  auto tighten = [&](std::optional<int64_t> candidate) {
    if (candidate && (!bound || *candidate < *bound)) bound = candidate;
  };
  for (const ir::Node* user : graph.users(value)) {
    if (user->op == "Gather" && user->input(1) == value && user->input(0) != nullptr) {
      const ir::Shape& data_shape = user->input(0)->shape;
      if (!data_shape.rank_known() || data_shape.rank() == 0) continue;
      int64_t axis = user->attr_int("axis", 0);
      if (axis < 0) axis += data_shape.rank();
      if (axis < 0 || axis >= data_shape.rank()) continue;
      const ir::Dim& dim = data_shape[axis];
      if (dim.is_static() || dim.is_symbolic()) tighten(concrete_dim(dim, dim_sizes));
    } else if (passes_values_through(user->op)) {
      for (const ir::Value* output : user->outputs) {
        if (output) tighten(gather_bound(graph, output, dim_sizes, depth + 1));
      }
    }
  }
  return bound;
}

Tensor random_tensor(DType dtype, const Dims& dims, RandomStream& stream, int64_t int_bound) {
  if (is_floating(dtype)) {
    Tensor values(DType::Float64, dims);
    for (double& v : std::span(values.data_mutable<double>(), size_t(values.numel()))) {
      v = stream.normal();
    }
    return values.to(dtype);
  }
  // Integers and bools: draw int64 values, then convert (bool from [0, 2) is a fair coin).
  int64_t bound = dtype == DType::Bool ? 2 : std::max<int64_t>(int_bound, 1);
  Tensor values(DType::Int64, dims);
  for (int64_t& v : std::span(values.data_mutable<int64_t>(), size_t(values.numel()))) {
    v = stream.below(bound);
  }
  return values.to(dtype);
}

}  // namespace

Dims concrete_input_dims(const ir::Value& input, const DimSizes& dim_sizes) {
  check(input.shape.rank_known(), ErrorKind::InvalidArgument, "input '", input.name,
        "' has an unknown rank; give it a tensor with --input");
  Dims dims;
  for (const ir::Dim& dim : input.shape.dims()) dims.push_back(concrete_dim(dim, dim_sizes));
  return dims;
}

Tensor make_random_input(const ir::Graph& graph, const ir::Value& input, uint64_t seed,
                         const DimSizes& dim_sizes) {
  check(input.dtype != DType::Undefined, ErrorKind::InvalidArgument, "input '", input.name,
        "' has no known element type; give it a tensor with --input");
  RandomStream stream(stream_seed(seed, input.name));
  int64_t int_bound = 2;  // [0, 2): safe for masks, flags and most small index inputs
  if (is_integral(input.dtype)) {
    if (auto bound = gather_bound(graph, &input, dim_sizes, 0)) int_bound = *bound;
  }
  return random_tensor(input.dtype, concrete_input_dims(input, dim_sizes), stream, int_bound);
}

std::map<std::string, Tensor> make_random_inputs(const ir::Graph& graph, uint64_t seed,
                                                 const DimSizes& dim_sizes) {
  std::map<std::string, Tensor> inputs;
  for (const ir::Value* input : graph.inputs()) {
    inputs.emplace(input->name, make_random_input(graph, *input, seed, dim_sizes));
  }
  return inputs;
}

}  // namespace kiln
