// einsum as core ops (see einsum.h): sums over letters one operand holds alone, then one
// batched MatMul per pair of operands, with the Transposes and Reshapes around it.
#include "ir/einsum.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"

namespace kiln::ir {
namespace {

using Labels = std::vector<int>;

// A value with one label per dim.
struct Term {
  Value* value;
  Labels labels;
};

bool contains(const Labels& labels, int label) {
  return std::find(labels.begin(), labels.end(), label) != labels.end();
}

int64_t position(const Labels& labels, int label) {
  return std::find(labels.begin(), labels.end(), label) - labels.begin();
}

Value* emit(CoreOpBuilder& b, bool last, const std::string& op, std::vector<Value*> inputs,
            CompositeAttrs attrs = {}) {
  return last ? b.finish(op, std::move(inputs), std::move(attrs))
              : b.add(op, std::move(inputs), std::move(attrs));
}

Dim dim_of(const Value* x, int64_t axis) {
  return x->shape.rank_known() ? x->shape[axis] : Dim::unknown();
}

// Sums `term` over its labels that `keep` does not hold.
Term sum_out(CoreOpBuilder& b, Term term, const Labels& keep, bool last = false) {
  std::vector<int64_t> axes;
  Labels kept;
  for (size_t i = 0; i < term.labels.size(); ++i) {
    if (contains(keep, term.labels[i]))
      kept.push_back(term.labels[i]);
    else
      axes.push_back(static_cast<int64_t>(i));
  }
  if (axes.empty()) return term;
  Value* sum = emit(b, last, "ReduceSum", {term.value}, {{"axes", axes}, {"keepdims", int64_t{0}}});
  return {sum, kept};
}

// `term` with each repeated label taken once: the diagonal over the two dims that share it,
// both moved last, flattened to n * n, and every (n + 1)-th element gathered.
Term diagonals(CoreOpBuilder& b, Term term, const std::string& equation) {
  for (;;) {
    int64_t first = -1, second = -1;
    for (size_t i = 0; i < term.labels.size() && second < 0; ++i) {
      for (size_t j = i + 1; j < term.labels.size(); ++j) {
        if (term.labels[i] != term.labels[j]) continue;
        first = static_cast<int64_t>(i);
        second = static_cast<int64_t>(j);
        break;
      }
    }
    if (second < 0) return term;
    Dim a = dim_of(term.value, first), c = dim_of(term.value, second);
    check(a.is_static() && c.is_static() && a.value == c.value, ErrorKind::Unsupported,
          "einsum equation '", equation, "': a diagonal needs two dims of one known size, got ",
          a.to_string(), " and ", c.to_string());
    int64_t n = a.value;
    std::vector<int64_t> perm, shape;
    Labels labels;
    for (size_t i = 0; i < term.labels.size(); ++i) {
      if (static_cast<int64_t>(i) == first || static_cast<int64_t>(i) == second) continue;
      perm.push_back(static_cast<int64_t>(i));
      shape.push_back(0);  // Reshape's 0: this dim as it is
      labels.push_back(term.labels[i]);
    }
    perm.insert(perm.end(), {first, second});
    shape.push_back(n * n);
    labels.push_back(term.labels[static_cast<size_t>(first)]);
    std::vector<int64_t> positions;
    for (int64_t k = 0; k < n; ++k) positions.push_back(k * (n + 1));
    Value* moved = b.add("Transpose", {term.value}, {{"perm", perm}});
    Value* flat = b.add("Reshape", {moved, b.constant(Tensor::from_vector<int64_t>(
                                               {static_cast<int64_t>(shape.size())}, shape))});
    Value* index = b.constant(Tensor::from_vector<int64_t>({n}, positions));
    Value* diagonal =
        b.add("Gather", {flat, index}, {{"axis", static_cast<int64_t>(shape.size()) - 1}});
    term = {diagonal, labels};
  }
}

// `term` with its dims in the order of `order` (a permutation of its labels).
Term arrange(CoreOpBuilder& b, const Term& term, const Labels& order, bool last = false) {
  std::vector<int64_t> perm;
  for (int label : order) perm.push_back(position(term.labels, label));
  std::vector<int64_t> identity(perm.size());
  std::iota(identity.begin(), identity.end(), 0);
  if (perm == identity && !last) return {term.value, order};
  return {emit(b, last, "Transpose", {term.value}, {{"perm", perm}}), order};
}

// One entry of a Reshape target: 0 copies the input's dim at the same position; else the
// product of the dims `axes` of `source`.
struct TargetSize {
  bool copy = false;
  const Value* source = nullptr;
  std::vector<int64_t> axes;
};

// The entry's size when every dim in it is static, else -1.
int64_t static_size(const TargetSize& entry) {
  int64_t size = 1;
  for (int64_t axis : entry.axes) {
    Dim dim = dim_of(entry.source, axis);
    if (!dim.is_static()) return -1;
    size *= dim.value;
  }
  return size;
}

// The entry's size read at run time, as an int64 tensor of shape [1].
Value* runtime_size(CoreOpBuilder& b, const TargetSize& entry) {
  Value* shape = b.add("Shape", {const_cast<Value*>(entry.source)});
  Value* size = nullptr;
  for (int64_t axis : entry.axes) {
    Value* index = b.constant(Tensor::from_vector<int64_t>({1}, {axis}));
    Value* dim = b.add("Gather", {shape, index}, {{"axis", int64_t{0}}});
    size = size ? b.add("Mul", {size, dim}) : dim;
  }
  return size ? size : b.constant(Tensor::from_vector<int64_t>({1}, {1}));
}

// Reshape of x to `target`: a constant shape where at most one entry is unknown at import
// (it becomes -1), else one computed from Shape.
Value* reshape(CoreOpBuilder& b, Value* x, const std::vector<TargetSize>& target, bool last) {
  std::vector<int64_t> sizes;
  int64_t unknown = 0;
  for (const TargetSize& entry : target) {
    sizes.push_back(entry.copy ? 0 : static_size(entry));
    if (sizes.back() < 0) ++unknown;
  }
  int64_t count = static_cast<int64_t>(sizes.size());
  if (unknown <= 1) {
    Value* shape = b.constant(Tensor::from_vector<int64_t>({count}, sizes));
    return emit(b, last, "Reshape", {x, shape});
  }
  std::vector<Value*> pieces;
  for (size_t i = 0; i < target.size(); ++i) {
    pieces.push_back(sizes[i] >= 0 ? b.constant(Tensor::from_vector<int64_t>({1}, {sizes[i]}))
                                   : runtime_size(b, target[i]));
  }
  Value* shape = b.add("Concat", pieces, {{"axis", int64_t{0}}});
  return emit(b, last, "Reshape", {x, shape});
}

// Entries copying the first `batch` dims.
std::vector<TargetSize> batch_copies(size_t batch) {
  return std::vector<TargetSize>(batch, TargetSize{true, nullptr, {}});
}

std::vector<int64_t> axis_range(size_t from, size_t count) {
  std::vector<int64_t> axes(count);
  std::iota(axes.begin(), axes.end(), static_cast<int64_t>(from));
  return axes;
}

// x laid out [batch..., first..., second...] as [batch..., prod(first), prod(second)].
Value* merge_groups(CoreOpBuilder& b, Value* x, size_t batch, size_t first, size_t second) {
  if (first == 1 && second == 1) return x;
  std::vector<TargetSize> target = batch_copies(batch);
  target.push_back({false, x, axis_range(batch, first)});
  target.push_back({false, x, axis_range(batch + first, second)});
  return reshape(b, x, target, false);
}

// Where the labels of one contraction go.
struct PairPlan {
  Labels batch, contracted, left_free, right_free;
};

PairPlan plan_pair(const Labels& left, const Labels& right, const Labels& keep) {
  PairPlan plan;
  for (int label : left) {
    if (!contains(right, label))
      plan.left_free.push_back(label);
    else if (contains(keep, label))
      plan.batch.push_back(label);
    else
      plan.contracted.push_back(label);
  }
  for (int label : right) {
    if (!contains(left, label)) plan.right_free.push_back(label);
  }
  return plan;
}

Labels concat(Labels a, const Labels& b, const Labels& c) {
  a.insert(a.end(), b.begin(), b.end());
  a.insert(a.end(), c.begin(), c.end());
  return a;
}

// A contracted label of static size 1 on one side and more on the other (torch broadcasts
// it) is summed on the larger side first: sum_k a[k] * b[0] = (sum_k a[k]) * b[0].
Term sum_broadcast_contractions(CoreOpBuilder& b, Term term, const Term& other,
                                const Labels& contracted) {
  std::vector<int64_t> axes;
  for (int label : contracted) {
    Dim mine = dim_of(term.value, position(term.labels, label));
    Dim theirs = dim_of(other.value, position(other.labels, label));
    if (mine.is_static() && theirs.is_static() && mine.value != 1 && theirs.value == 1) {
      axes.push_back(position(term.labels, label));
    }
  }
  if (axes.empty()) return term;
  return {b.add("ReduceSum", {term.value}, {{"axes", axes}, {"keepdims", int64_t{1}}}),
          term.labels};
}

// The contraction of two terms keeping the labels in `keep`. The result's labels are
// [batch..., left free..., right free...]; with `output` (the last pair) it is transposed to
// those labels and its final node made by `finish`.
Term contract(CoreOpBuilder& b, Term left, Term right, const Labels& keep, const Labels* output) {
  left = sum_out(b, left, concat(keep, right.labels, {}));
  right = sum_out(b, right, concat(keep, left.labels, {}));
  PairPlan plan = plan_pair(left.labels, right.labels, keep);
  left = sum_broadcast_contractions(b, left, right, plan.contracted);
  right = sum_broadcast_contractions(b, right, left, plan.contracted);
  size_t nb = plan.batch.size(), nk = plan.contracted.size();
  size_t nm = plan.left_free.size(), nn = plan.right_free.size();
  Term a = arrange(b, left, concat(plan.batch, plan.left_free, plan.contracted));
  Term c = arrange(b, right, concat(plan.batch, plan.contracted, plan.right_free));
  Value* a_matrix = merge_groups(b, a.value, nb, nm, nk);
  Value* c_matrix = merge_groups(b, c.value, nb, nk, nn);
  Labels labels = concat(plan.batch, plan.left_free, plan.right_free);
  bool split = nm != 1 || nn != 1;
  bool transpose = output && *output != labels;
  bool last = output != nullptr;
  Value* product = emit(b, last && !split && !transpose, "MatMul", {a_matrix, c_matrix});
  if (split) {
    std::vector<TargetSize> target = batch_copies(nb);
    for (size_t i = 0; i < nm; ++i) target.push_back({false, a.value, {int64_t(nb + i)}});
    for (size_t i = 0; i < nn; ++i) target.push_back({false, c.value, {int64_t(nb + nk + i)}});
    product = reshape(b, product, target, last && !transpose);
  }
  Term result{product, labels};
  return transpose ? arrange(b, result, *output, true) : result;
}

}  // namespace

Value* einsum(CoreOpBuilder& b, const std::string& equation, const std::vector<Value*>& operands) {
  check(!operands.empty(), ErrorKind::InvalidModel, "einsum equation '", equation,
        "' has no operands");
  std::vector<int64_t> ranks;
  for (const Value* operand : operands) {
    ranks.push_back(operand->shape.rank_known() ? operand->shape.rank() : -1);
  }
  EinsumEquation parsed = parse_einsum(equation, ranks);
  std::vector<Value*> values;
  for (size_t i = 0; i < operands.size(); ++i) {
    Term unique = diagonals(b, {operands[i], parsed.inputs[i]}, equation);
    values.push_back(unique.value);
    parsed.inputs[i] = unique.labels;
  }
  Term result{values[0], parsed.inputs[0]};
  if (operands.size() == 1) {
    Labels remaining;
    for (int label : result.labels) {
      if (contains(parsed.output, label)) remaining.push_back(label);
    }
    bool ordered = remaining == parsed.output;
    bool summed = remaining.size() < result.labels.size();
    result = sum_out(b, result, parsed.output, ordered);
    return ordered && summed ? result.value : arrange(b, result, parsed.output, true).value;
  }
  for (size_t i = 1; i < operands.size(); ++i) {
    Labels keep = parsed.output;
    for (size_t j = i + 1; j < operands.size(); ++j) {
      keep = concat(keep, parsed.inputs[j], {});
    }
    bool last = i + 1 == operands.size();
    result =
        contract(b, result, {values[i], parsed.inputs[i]}, keep, last ? &parsed.output : nullptr);
  }
  return result.value;
}

}  // namespace kiln::ir
