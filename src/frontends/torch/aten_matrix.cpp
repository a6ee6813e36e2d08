// ATen matrix and vector ops written as core ops: tril / triu, diagonal / diag / diag_embed /
// trace, eye, linspace / logspace, tril_indices / triu_indices, the products dot, outer, addmv,
// addr, addbmm, kron and bilinear, the distances cdist / pdist / pairwise_distance /
// cosine_similarity, the norms linalg_norm / frobenius_norm / renorm (any p), and cross.
#include <cmath>
#include <limits>

#include "frontends/torch/aten_helpers.h"
#include "frontends/torch/aten_ops.h"
#include "ir/composite_ops.h"

namespace kiln::torch {
namespace {

// tril / triu (self, diagonal): Trilu with k; elements above (below) the k-th diagonal are 0.
AtenConverter triangle(bool upper) {
  return [upper](AtenNode& node) {
    ir::Value* k =
        scalar_constant(node, static_cast<double>(node.int_arg("diagonal", 0)), DType::Int64);
    node.set_output(
        0, node.add("Trilu", {node.tensor("self"), k}, {{"upper", int64_t{upper ? 1 : 0}}}));
  };
}

// The diagonal at `offset` of dims a and b of x, as a last dim (the others keep their order):
// both dims moved last, flattened to n * m, and the diagonal's positions gathered.
ir::Value* diagonal_of(AtenNode& node, ir::Value* x, int64_t offset, int64_t a, int64_t b) {
  int64_t rank = rank_of(node, x);
  if (a == b) node.invalid("diagonal dims must differ");
  std::vector<int64_t> perm;
  std::vector<SymInt> sizes = sizes_of(node, x);
  std::vector<SymInt> flat;
  for (int64_t i = 0; i < rank; ++i) {
    if (i == a || i == b) continue;
    perm.push_back(i);
    flat.push_back(sizes[static_cast<size_t>(i)]);
  }
  perm.insert(perm.end(), {a, b});
  if (!x->shape[a].is_static() || !x->shape[b].is_static()) {
    node.unsupported("a diagonal of dims known only at run time");
  }
  int64_t n = x->shape[a].value, m = x->shape[b].value;
  int64_t length = offset >= 0 ? std::min(n, m - offset) : std::min(n + offset, m);
  if (length <= 0) node.unsupported("an empty diagonal (offset ", offset, ")");
  std::vector<int64_t> positions;
  for (int64_t i = 0; i < length; ++i) {
    positions.push_back(offset >= 0 ? i * (m + 1) + offset : (i - offset) * m + i);
  }
  flat.push_back(SymInt::fixed(n * m));
  ir::Value* moved = node.add("Transpose", {x}, {{"perm", perm}});
  ir::Value* rows = reshape_to(node, moved, flat);
  return node.add("Gather", {rows, int64_constant(node, positions)}, {{"axis", rank - 2}});
}

void convert_diagonal(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  int64_t rank = rank_of(node, x);
  node.set_output(0, diagonal_of(node, x, node.int_arg("offset", 0),
                                 normalize_dim(node, node.int_arg("dim1", 0), rank),
                                 normalize_dim(node, node.int_arg("dim2", 1), rank)));
}

// x's last dim (size n) spread on the `offset` diagonal of new [n + |offset|]² last dims.
ir::Value* embed_diagonal(AtenNode& node, ir::Value* x, int64_t offset) {
  int64_t rank = rank_of(node, x);
  const ir::Dim& dim = x->shape[rank - 1];
  if (!dim.is_static()) node.unsupported("a diagonal of a size known only at run time");
  int64_t n = dim.value;
  int64_t size = n + std::abs(offset);
  std::vector<int64_t> source;
  Tensor on_diagonal(DType::Bool, Dims{size, size});
  bool* cells = on_diagonal.data_mutable<bool>();
  for (int64_t i = 0; i < size; ++i) {
    for (int64_t j = 0; j < size; ++j) {
      cells[i * size + j] = j - i == offset;
      source.push_back(std::min(offset >= 0 ? i : j, n - 1));
    }
  }
  ir::Value* index = node.constant(Tensor::from_vector<int64_t>(Dims{size, size}, source));
  ir::Value* spread = node.add("Gather", {x, index}, {{"axis", rank - 1}});
  ir::Value* zero = scalar_constant(node, 0, dtype_of(node, x));
  return node.add("Where", {node.constant(std::move(on_diagonal)), spread, zero});
}

// diag(self, diagonal): a 1-D tensor becomes a matrix with it on the diagonal; a matrix gives
// its diagonal.
void convert_diag(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  int64_t offset = node.int_arg("diagonal", 0);
  int64_t rank = rank_of(node, x);
  if (rank == 1) return node.set_output(0, embed_diagonal(node, x, offset));
  if (rank != 2) node.invalid("diag takes a 1-D or 2-D tensor, got ", rank, "-D");
  node.set_output(0, diagonal_of(node, x, offset, 0, 1));
}

// diag_embed(self, offset, dim1=-2, dim2=-1): the last dim on a diagonal of new dims dim1, dim2.
void convert_diag_embed(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  int64_t out_rank = rank_of(node, x) + 1;
  int64_t a = normalize_dim(node, node.int_arg("dim1", -2), out_rank);
  int64_t b = normalize_dim(node, node.int_arg("dim2", -1), out_rank);
  if (a == b) node.invalid("diag_embed dims must differ");
  ir::Value* result = embed_diagonal(node, x, node.int_arg("offset", 0));
  // The new dims sit last as (rows, columns); put rows at a and columns at b.
  std::vector<int64_t> perm(static_cast<size_t>(out_rank), -1);
  perm[static_cast<size_t>(a)] = out_rank - 2;
  perm[static_cast<size_t>(b)] = out_rank - 1;
  int64_t next = 0;
  for (int64_t& slot : perm) {
    if (slot == -1) slot = next++;
  }
  node.set_output(0, node.add("Transpose", {result}, {{"perm", perm}}));
}

void convert_trace(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  if (rank_of(node, x) != 2) node.invalid("trace takes a matrix");
  if (!is_floating(dtype_of(node, x))) x = cast_to(node, x, DType::Int64);
  ir::Value* diagonal = diagonal_of(node, x, 0, 0, 1);
  node.set_output(0, node.add("ReduceSum", {diagonal},
                              {{"axes", std::vector<int64_t>{}}, {"keepdims", int64_t{0}}}));
}

// A constant of `dtype` from double values.
ir::Value* folded(AtenNode& node, Dims dims, const std::vector<double>& values, DType dtype) {
  return node.constant(Tensor::from_vector<double>(std::move(dims), values).to(dtype));
}

// eye(n[, m], dtype): a constant identity.
void convert_eye(AtenNode& node) {
  int64_t n = node.int_arg("n");
  int64_t m = node.has("m") ? node.int_arg("m") : n;
  folded_count(node, Dims{n, m});
  std::vector<double> values(static_cast<size_t>(n * m), 0.0);
  for (int64_t i = 0; i < std::min(n, m); ++i) values[static_cast<size_t>(i * m + i)] = 1.0;
  node.set_output(
      0, folded(node, Dims{n, m}, values, node.scalar_type("dtype").value_or(DType::Float32)));
}

// linspace / logspace (start, end, steps[, base]): constants computed as PyTorch does, from
// both ends toward the middle (float32 arithmetic for float32 results).
AtenConverter spaced(bool logarithmic) {
  return [logarithmic](AtenNode& node) {
    int64_t steps = node.int_arg("steps");
    if (steps < 0) node.invalid("steps ", steps, " is negative");
    folded_count(node, Dims{steps});
    double start = node.float_arg("start", 0.0), end = node.float_arg("end", 0.0);
    DType dtype = node.scalar_type("dtype").value_or(DType::Float32);
    std::vector<double> values;
    for (int64_t i = 0; i < steps; ++i) {
      double value;
      if (dtype == DType::Float32 || logarithmic) {
        float step =
            steps > 1 ? static_cast<float>((end - start) / static_cast<double>(steps - 1)) : 0.f;
        value = i < steps / 2 ? static_cast<float>(start) + step * static_cast<float>(i)
                              : static_cast<float>(end) - step * static_cast<float>(steps - i - 1);
      } else {
        double step = steps > 1 ? (end - start) / static_cast<double>(steps - 1) : 0.0;
        value = i < steps / 2 ? start + step * static_cast<double>(i)
                              : end - step * static_cast<double>(steps - i - 1);
      }
      if (logarithmic) value = std::pow(node.float_arg("base", 10.0), value);
      values.push_back(value);
    }
    node.set_output(0, folded(node, Dims{steps}, values, dtype));
  };
}

// tril_indices / triu_indices (row, col, offset): the [2, N] coordinates of the triangle, row
// by row.
AtenConverter triangle_indices(bool upper) {
  return [upper](AtenNode& node) {
    int64_t rows = node.int_arg("row"), cols = node.int_arg("col"),
            offset = node.int_arg("offset", 0);
    folded_count(node, Dims{rows, cols});
    std::vector<double> is, js;
    for (int64_t i = 0; i < rows; ++i) {
      for (int64_t j = 0; j < cols; ++j) {
        if (upper ? j - i >= offset : j - i <= offset) {
          is.push_back(static_cast<double>(i));
          js.push_back(static_cast<double>(j));
        }
      }
    }
    int64_t count = static_cast<int64_t>(is.size());
    is.insert(is.end(), js.begin(), js.end());
    node.set_output(
        0, folded(node, Dims{2, count}, is, node.scalar_type("dtype").value_or(DType::Int64)));
  };
}

// ---- products ----

// beta * self + alpha * product; self is ignored when beta is 0 (NaN in it does not spread).
ir::Value* scaled_sum(AtenNode& node, ir::Value* product) {
  DType type = dtype_of(node, product);
  double alpha = node.float_arg("alpha", 1.0), beta = node.float_arg("beta", 1.0);
  if (alpha != 1.0) product = node.add("Mul", {product, scalar_constant(node, alpha, type)});
  if (beta == 0.0) return product;
  ir::Value* self = cast_to(node, node.tensor("self"), type);
  if (beta != 1.0) self = node.add("Mul", {self, scalar_constant(node, beta, type)});
  return node.add("Add", {self, product});
}

ir::Value* outer_of(AtenNode& node, ir::Value* a, ir::Value* b) {
  return node.add("Mul", {unsqueezed(node, a, {1}), b});
}

// dot / vdot (real) of vectors: the sum of the products, 0-D.
AtenConverter dot(const char* right) {
  return [right](AtenNode& node) {
    DType type = result_type(node, {"self", right});
    ir::Value* product = node.add("Mul", {operand(node, "self", type), operand(node, right, type)});
    node.set_output(0, node.add("ReduceSum", {product},
                                {{"axes", std::vector<int64_t>{}}, {"keepdims", int64_t{0}}}));
  };
}

void convert_outer(AtenNode& node) {
  DType type = result_type(node, {"self", "vec2"});
  node.set_output(0, outer_of(node, operand(node, "self", type), operand(node, "vec2", type)));
}

void convert_addmv(AtenNode& node) {
  ir::Value* column = unsqueezed(node, node.tensor("vec"), {1});
  ir::Value* product = node.add("MatMul", {node.tensor("mat"), column});
  node.set_output(0, scaled_sum(node, squeezed(node, product, {1})));
}

void convert_addr(AtenNode& node) {
  node.set_output(0, scaled_sum(node, outer_of(node, node.tensor("vec1"), node.tensor("vec2"))));
}

void convert_addbmm(AtenNode& node) {
  ir::Value* products = node.add("MatMul", {node.tensor("batch1"), node.tensor("batch2")});
  ir::Value* sum = node.add("ReduceSum", {products},
                            {{"axes", std::vector<int64_t>{0}}, {"keepdims", int64_t{0}}});
  node.set_output(0, scaled_sum(node, sum));
}

// kron(self, other): [a0, 1, a1, 1, ...] * [1, b0, 1, b1, ...] reshaped to [a0 b0, a1 b1, ...].
void convert_kron(AtenNode& node) {
  DType type = result_type(node, {"self", "other"});
  ir::Value* a = operand(node, "self", type);
  ir::Value* b = operand(node, "other", type);
  int64_t rank = std::max(rank_of(node, a), rank_of(node, b));
  auto padded = [&](ir::Value* t) {
    int64_t missing = rank - rank_of(node, t);
    if (missing == 0) return t;
    std::vector<int64_t> axes;
    for (int64_t i = 0; i < missing; ++i) axes.push_back(i);
    return unsqueezed(node, t, axes);
  };
  a = padded(a);
  b = padded(b);
  if (!a->shape.is_static() || !b->shape.is_static()) node.unsupported("kron of run-time sizes");
  std::vector<int64_t> odd, even;
  std::vector<SymInt> sizes;
  for (int64_t i = 0; i < rank; ++i) {
    odd.push_back(2 * i + 1);
    even.push_back(2 * i);
    sizes.push_back(SymInt::fixed(a->shape[i].value * b->shape[i].value));
  }
  ir::Value* product = node.add("Mul", {unsqueezed(node, a, odd), unsqueezed(node, b, even)});
  node.set_output(0, reshape_to(node, product, sizes));
}

// bilinear(input1, input2, weight [o, i1, i2], bias): x1 W_o x2 + b_o per output o, as one
// MatMul of x1 with W laid out [i1, o * i2], then a product with x2 summed over i2.
void convert_bilinear(AtenNode& node) {
  ir::Value* x1 = node.tensor("input1");
  ir::Value* x2 = node.tensor("input2");
  ir::Value* weight = node.tensor("weight");
  if (rank_of(node, weight) != 3 || !weight->shape.is_static()) {
    node.unsupported("a bilinear weight that is not a fixed [out, in1, in2] tensor");
  }
  int64_t outs = weight->shape[0].value, in1 = weight->shape[1].value, in2 = weight->shape[2].value;
  ir::Value* laid = node.add("Transpose", {weight}, {{"perm", std::vector<int64_t>{1, 0, 2}}});
  laid = node.add("Reshape", {laid, int64_constant(node, {in1, outs * in2})});
  ir::Value* partial = node.add("MatMul", {x1, laid});
  std::vector<SymInt> sizes = sizes_of(node, x1);
  sizes.back() = SymInt::fixed(outs);
  sizes.push_back(SymInt::fixed(in2));
  partial = reshape_to(node, partial, sizes);
  int64_t last = static_cast<int64_t>(sizes.size()) - 1;
  ir::Value* x2_row = unsqueezed(node, x2, {last - 1});
  ir::Value* result = node.add("ReduceSum", {node.add("Mul", {partial, x2_row})},
                               {{"axes", std::vector<int64_t>{last}}, {"keepdims", int64_t{0}}});
  if (ir::Value* bias = node.optional_tensor("bias")) result = node.add("Add", {result, bias});
  node.set_output(0, result);
}

// _trilinear(i1, i2, i3, expand1, expand2, expand3, sumdim, unroll_dim) (the core dialect's
// bilinear): each input with unit dims inserted at its expand list, the three multiplied, and
// the product summed over sumdim.
void convert_trilinear(AtenNode& node) {
  ir::Value* product = nullptr;
  for (int i = 1; i <= 3; ++i) {
    std::string index = std::to_string(i);
    ir::Value* input = node.tensor("i" + index);
    std::vector<int64_t> expand = node.ints("expand" + index, {});
    if (!expand.empty()) input = unsqueezed(node, input, expand);
    product = product ? node.add("Mul", {product, input}) : input;
  }
  std::vector<int64_t> sum = node.ints("sumdim", {});
  if (sum.empty()) return node.set_output(0, product);
  node.set_output(0, node.add("ReduceSum", {product}, reduction_attrs(sum, false)));
}

}  // namespace

// The p-norm of x over `axes` (empty: all): 2 and 1 as ir's composites, inf / -inf as the
// largest / smallest |x|, 0 as the count of nonzeros, any other p as (sum |x|^p)^(1/p).
ir::Value* vector_norm_of(AtenNode& node, ir::Value* x, double p, const std::vector<int64_t>& axes,
                          bool keepdims) {
  ir::CompositeAttrs attrs = {{"axes", axes}, {"keepdims", int64_t{keepdims ? 1 : 0}}};
  AtenOpBuilder builder(node);
  DType type = dtype_of(node, x);
  if (p == 2.0) return ir::reduce_l2(builder, x, attrs);
  if (p == 1.0) return ir::reduce_l1(builder, x, attrs);
  ir::Value* magnitude = node.add("Abs", {x});
  if (p == kInfinity) return node.add("ReduceMax", {magnitude}, attrs);
  if (p == -kInfinity) return node.add("ReduceMin", {magnitude}, attrs);
  if (p == 0.0) {
    ir::Value* nonzero = node.add("Not", {node.add("Equal", {x, scalar_constant(node, 0, type)})});
    return node.add("ReduceSum", {cast_to(node, nonzero, type)}, attrs);
  }
  ir::Value* powered = node.add("Pow", {magnitude, scalar_constant(node, p, type)});
  ir::Value* sum = node.add("ReduceSum", {powered}, attrs);
  return node.add("Pow", {sum, scalar_constant(node, 1.0 / p, type)});
}

namespace {

// cdist(x1 [.., P, M], x2 [.., R, M], p, compute_mode): for p = 2 with P or R above 25 (or
// compute_mode 1), PyTorch's matrix-product form sqrt(max(|a|² - 2 a·b + |b|², 0)); else each
// difference's p-norm directly.
void convert_cdist(AtenNode& node) {
  ir::Value* a = as_float(node, node.tensor("x1"));
  ir::Value* b = as_float(node, node.tensor("x2"));
  double p = node.float_arg("p", 2.0);
  int64_t rank = rank_of(node, a);
  if (rank < 2 || rank_of(node, b) != rank) node.unsupported("cdist of tensors of unequal rank");
  int64_t mode = node.has("compute_mode") ? node.int_arg("compute_mode") : 0;
  const ir::Dim& rows_a = a->shape[rank - 2];
  const ir::Dim& rows_b = b->shape[rank - 2];
  bool large = !rows_a.is_static() || !rows_b.is_static() || rows_a.value > 25 || rows_b.value > 25;
  if (p == 2.0 && (mode == 1 || (mode == 0 && large))) {
    DType type = dtype_of(node, a);
    ir::CompositeAttrs keep = {{"axes", std::vector<int64_t>{-1}}, {"keepdims", int64_t{1}}};
    AtenOpBuilder builder(node);
    ir::Value* a_norm = ir::reduce_sum_square(builder, a, keep);
    ir::Value* b_norm = ir::reduce_sum_square(builder, b, keep);
    std::vector<int64_t> swap;
    for (int64_t i = 0; i < rank; ++i) swap.push_back(i);
    std::swap(swap[static_cast<size_t>(rank - 2)], swap[static_cast<size_t>(rank - 1)]);
    ir::Value* cross = node.add("MatMul", {node.add("Mul", {a, scalar_constant(node, -2, type)}),
                                           node.add("Transpose", {b}, {{"perm", swap}})});
    ir::Value* sum = node.add("Add", {node.add("Add", {cross, a_norm}),
                                      node.add("Transpose", {b_norm}, {{"perm", swap}})});
    ir::Value* clamped = node.add("Max", {sum, scalar_constant(node, 0, type)});
    return node.set_output(0, node.add("Sqrt", {clamped}));
  }
  ir::Value* difference =
      node.add("Sub", {unsqueezed(node, a, {rank - 1}), unsqueezed(node, b, {rank - 2})});
  node.set_output(0, vector_norm_of(node, difference, p, {rank}, false));
}

// pdist(self [N, M], p): the p-norm of each row pair i < j, in row-major pair order.
void convert_pdist(AtenNode& node) {
  ir::Value* x = as_float(node, node.tensor("self"));
  if (rank_of(node, x) != 2 || !x->shape[0].is_static()) {
    node.unsupported("pdist of anything but a matrix with a fixed row count");
  }
  int64_t rows = x->shape[0].value;
  std::vector<int64_t> first, second;
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = i + 1; j < rows; ++j) {
      first.push_back(i);
      second.push_back(j);
    }
  }
  if (first.empty()) node.unsupported("pdist of fewer than 2 rows (an empty result)");
  ir::Value* difference = node.add(
      "Sub", {node.add("Gather", {x, int64_constant(node, first)}, {{"axis", int64_t{0}}}),
              node.add("Gather", {x, int64_constant(node, second)}, {{"axis", int64_t{0}}})});
  node.set_output(0, vector_norm_of(node, difference, node.float_arg("p", 2.0), {1}, false));
}

// cosine_similarity(x1, x2, dim=1, eps): sum((x1 / max(|x1|, eps)) * (x2 / max(|x2|, eps))), as
// PyTorch normalizes each side first.
void convert_cosine_similarity(AtenNode& node) {
  DType type = result_type(node, {"x1", "x2"});
  if (!is_floating(type)) type = DType::Float32;
  ir::Value* a = operand(node, "x1", type);
  ir::Value* b = operand(node, "x2", type);
  int64_t rank = std::max(rank_of(node, a), rank_of(node, b));
  int64_t axis = normalize_dim(node, node.int_arg("dim", 1), rank);
  ir::Value* eps = scalar_constant(node, node.float_arg("eps", 1e-8), type);
  auto unit = [&](ir::Value* v) {
    int64_t shift = rank - rank_of(node, v);
    if (axis - shift < 0) return v;  // broadcast along the dim: its norm is |v| itself
    ir::Value* norm = vector_norm_of(node, v, 2.0, {axis - shift}, true);
    return node.add("Div", {v, node.add("Max", {norm, eps})});
  };
  ir::Value* product = node.add("Mul", {unit(a), unit(b)});
  node.set_output(0, node.add("ReduceSum", {product},
                              {{"axes", std::vector<int64_t>{axis}}, {"keepdims", int64_t{0}}}));
}

// pairwise_distance(x1, x2, p, eps, keepdim): the p-norm of x1 - x2 + eps over the last dim.
void convert_pairwise_distance(AtenNode& node) {
  DType type = result_type(node, {"x1", "x2"});
  if (!is_floating(type)) type = DType::Float32;
  ir::Value* difference = node.add("Sub", {operand(node, "x1", type), operand(node, "x2", type)});
  difference =
      node.add("Add", {difference, scalar_constant(node, node.float_arg("eps", 1e-6), type)});
  int64_t last = rank_of(node, difference) - 1;
  node.set_output(0, vector_norm_of(node, difference, node.float_arg("p", 2.0),
                                    {std::max<int64_t>(last, 0)}, node.bool_arg("keepdim", false)));
}

// linalg_norm(self, ord, dim, keepdim, dtype): vector norms over one dim (or the flattened
// tensor when both ord and dim are None); over two dims the Frobenius norm and the matrix
// 1 / inf norms (largest column / row sum of |x|). Norms from singular values are refused.
void convert_linalg_norm(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  if (auto dtype = node.scalar_type("dtype")) x = cast_to(node, x, *dtype);
  x = as_float(node, x);
  int64_t rank = rank_of(node, x);
  bool keep = node.bool_arg("keepdim", false);
  std::vector<int64_t> axes = reduced_axes(node, x);
  const Argument* ord = node.find("ord");
  bool named = ord && std::holds_alternative<std::string>(*ord);
  bool has_ord = node.has("ord");
  if (axes.empty() && has_ord) {
    for (int64_t i = 0; i < rank; ++i) axes.push_back(i);
    if (rank > 2) node.invalid("linalg.norm with ord over ", rank, " dims: pass dim");
  }
  if (!has_ord || (axes.size() == 1 && !named)) {
    double p = has_ord ? node.float_arg("ord", 2.0) : 2.0;
    return node.set_output(0, vector_norm_of(node, x, p, axes, keep));
  }
  if (axes.size() != 2) node.invalid("linalg.norm over ", axes.size(), " dims");
  std::string name = named ? std::get<std::string>(*ord) : "";
  if (name == "fro") return node.set_output(0, vector_norm_of(node, x, 2.0, axes, keep));
  double p = named ? std::nan("") : node.float_arg("ord", 2.0);
  if (std::abs(p) != 1.0 && std::abs(p) != kInfinity) {
    node.unsupported("the matrix norm ord=", named ? name : std::to_string(p),
                     " (it needs singular values)");
  }
  // ord ±1: the extreme column sum (summing over rows, axes[0]); ±inf: the extreme row sum.
  int64_t summed = std::abs(p) == 1.0 ? axes[0] : axes[1];
  int64_t other = summed == axes[0] ? axes[1] : axes[0];
  ir::Value* sums = node.add("ReduceSum", {node.add("Abs", {x})},
                             {{"axes", std::vector<int64_t>{summed}}, {"keepdims", int64_t{1}}});
  ir::Value* extreme = node.add(p > 0 ? "ReduceMax" : "ReduceMin", {sums},
                                {{"axes", std::vector<int64_t>{other}}, {"keepdims", int64_t{1}}});
  if (!keep) extreme = squeezed(node, extreme, {std::min(summed, other), std::max(summed, other)});
  node.set_output(0, extreme);
}

void convert_frobenius_norm(AtenNode& node) {
  ir::Value* x = as_float(node, node.tensor("self"));
  node.set_output(
      0, vector_norm_of(node, x, 2.0, reduced_axes(node, x), node.bool_arg("keepdim", false)));
}

// renorm(self, p, dim, maxnorm): each slice along dim whose p-norm exceeds maxnorm scaled to
// maxnorm (by maxnorm / (norm + 1e-7), as PyTorch).
void convert_renorm(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  DType type = dtype_of(node, x);
  int64_t rank = rank_of(node, x);
  int64_t axis = normalize_dim(node, node.int_arg("dim"), rank);
  std::vector<int64_t> others;
  for (int64_t i = 0; i < rank; ++i) {
    if (i != axis) others.push_back(i);
  }
  double limit = node.float_arg("maxnorm", 0.0);
  ir::Value* norm = vector_norm_of(node, x, node.float_arg("p", 2.0), others, true);
  ir::Value* max_norm = scalar_constant(node, limit, type);
  ir::Value* scale =
      node.add("Div", {max_norm, node.add("Add", {norm, scalar_constant(node, 1e-7, type)})});
  ir::Value* factor = node.add(
      "Where", {node.add("Greater", {norm, max_norm}), scale, scalar_constant(node, 1, type)});
  node.set_output(0, node.add("Mul", {x, factor}));
}

// linalg_cross / cross (self, other, dim): the cross product of 3-vectors along dim, from
// the rotated components a[(1, 2, 0)] b[(2, 0, 1)] - a[(2, 0, 1)] b[(1, 2, 0)].
void convert_cross(AtenNode& node) {
  DType type = result_type(node, {"self", "other"});
  ir::Value* a = operand(node, "self", type);
  ir::Value* b = operand(node, "other", type);
  int64_t rank = std::max(rank_of(node, a), rank_of(node, b));
  int64_t axis = -1;
  if (node.has("dim")) {
    axis = normalize_dim(node, node.int_arg("dim"), rank);
  } else {
    for (int64_t i = 0; i < rank && axis < 0; ++i) {
      int64_t shift = rank - rank_of(node, a);
      if (i >= shift && a->shape[i - shift].is_static() && a->shape[i - shift].value == 3) axis = i;
    }
    if (axis < 0) node.invalid("no dim of size 3 for the cross product");
  }
  auto rotated = [&](ir::Value* v, std::vector<int64_t> order) {
    int64_t local = axis - (rank - rank_of(node, v));
    if (local < 0 || !v->shape[local].is_static() || v->shape[local].value != 3) {
      node.invalid("the cross product's dim must have size 3 in both operands");
    }
    return node.add("Gather", {v, int64_constant(node, order)}, {{"axis", local}});
  };
  ir::Value* first = node.add("Mul", {rotated(a, {1, 2, 0}), rotated(b, {2, 0, 1})});
  ir::Value* second = node.add("Mul", {rotated(a, {2, 0, 1}), rotated(b, {1, 2, 0})});
  node.set_output(0, node.add("Sub", {first, second}));
}

}  // namespace

void add_matrix_ops(AtenTable& table) {
  table["aten.tril.default"] = triangle(false);
  table["aten.triu.default"] = triangle(true);
  table["aten.diagonal.default"] = convert_diagonal;
  table["aten.diag.default"] = convert_diag;
  table["aten.diag_embed.default"] = convert_diag_embed;
  table["aten.trace.default"] = convert_trace;
  table["aten.eye.default"] = convert_eye;
  table["aten.eye.m"] = convert_eye;
  table["aten.linspace.default"] = spaced(false);
  table["aten.logspace.default"] = spaced(true);
  table["aten.tril_indices.default"] = triangle_indices(false);
  table["aten.triu_indices.default"] = triangle_indices(true);
  table["aten.dot.default"] = dot("tensor");
  table["aten.vdot.default"] = dot("other");
  table["aten.outer.default"] = convert_outer;
  table["aten.ger.default"] = convert_outer;
  table["aten.addmv.default"] = convert_addmv;
  table["aten.addr.default"] = convert_addr;
  table["aten.addbmm.default"] = convert_addbmm;
  table["aten.kron.default"] = convert_kron;
  table["aten.bilinear.default"] = convert_bilinear;
  table["aten._trilinear.default"] = convert_trilinear;
  table["aten.cdist.default"] = convert_cdist;
  table["aten._cdist_forward.default"] = convert_cdist;
  table["aten.pdist.default"] = convert_pdist;
  table["aten._pdist_forward.default"] = convert_pdist;
  table["aten.cosine_similarity.default"] = convert_cosine_similarity;
  table["aten.pairwise_distance.default"] = convert_pairwise_distance;
  table["aten.linalg_norm.default"] = convert_linalg_norm;
  table["aten.linalg_norm.ord_str"] = convert_linalg_norm;
  table["aten.frobenius_norm.dim"] = convert_frobenius_norm;
  table["aten.renorm.default"] = convert_renorm;
  table["aten.linalg_cross.default"] = convert_cross;
  table["aten.cross.default"] = convert_cross;
}

}  // namespace kiln::torch
