// Schemas of the matrix-product ops: MatMul (numpy rules), Gemm and Attention. MatMul and Gemm
// also carry the epilogue passes::fuse_epilogues gives them: MatMul an optional bias vector
// over the output's last dim (input 2), both the attribute "fused_activation"; MatMul an
// optional residual of the output's own shape and dtype (input 3, from
// passes::fuse_product_residual), added before the activation.
#include <string>

#include "core/error.h"
#include "ir/schema_rules.h"

namespace kiln::ir {
namespace {

// Contracted dims must agree where both are known.
void check_contraction(const Node& node, const Dim& left, const Dim& right) {
  check(!(left.is_static() && right.is_static()) || left.value == right.value,
        ErrorKind::InvalidModel, node.describe(), ": inner dims ", left.value, " and ", right.value,
        " do not match");
}

// "fused_activation" must name an epilogue that every backend applies: Relu, Gelu (exact; on
// the GPU cuBLASLt's tanh-form epilogue where the output is bfloat16, else a separate exact
// pass) or Gelu_tanh.
void check_fused_activation(const Node& node) {
  std::string activation = node.attr_string("fused_activation", "");
  check(activation.empty() || activation == "Relu" || activation == "Gelu" ||
            activation == "Gelu_tanh",
        ErrorKind::Unsupported, node.describe(), ": fused_activation '", activation,
        "' is not supported (valid: Relu, Gelu, Gelu_tanh)");
}

// MatMul's bias: one value per column of the result, i.e. a vector as long as B's last dim.
void check_matmul_bias(const Node& node, const Value& a, const Value& b, const Value& bias) {
  require_same_dtype(node, a, bias);
  if (!b.shape.rank_known() || !bias.shape.rank_known()) return;
  check(b.shape.rank() >= 2 && bias.shape.rank() == 1, ErrorKind::InvalidModel, node.describe(),
        ": bias '", bias.name, "' must be a vector over B's last dim; got bias ",
        bias.shape.to_string(), " with B ", b.shape.to_string());
  const Dim& n = b.shape[b.shape.rank() - 1];
  check(!(n.is_static() && bias.shape[0].is_static()) || n.value == bias.shape[0].value,
        ErrorKind::InvalidModel, node.describe(), ": bias '", bias.name, "' has ",
        bias.shape[0].value, " elements but the result has ", n.value, " columns");
}

void infer_matmul(Node& node) {
  const Value& a = required_input(node, 0);
  const Value& b = required_input(node, 1);
  require_same_dtype(node, a, b);
  require_numeric(node, a);
  check_fused_activation(node);
  if (const Value* bias = node.input(2)) check_matmul_bias(node, a, b, *bias);
  if (!a.shape.rank_known() || !b.shape.rank_known()) {
    const Value* residual = node.input(3);
    set_output(node, 0, a.dtype, residual != nullptr ? residual->shape : Shape());
    return;
  }
  check(a.shape.rank() >= 1 && b.shape.rank() >= 1, ErrorKind::InvalidModel, node.describe(),
        ": MatMul inputs must have rank >= 1, got ", a.shape.to_string(), " and ",
        b.shape.to_string());
  // 1-D operands are promoted to matrices ([K] → [1, K] on the left, [K, 1] on the right)
  // and the added dim is dropped from the result.
  std::vector<Dim> left = a.shape.dims();
  std::vector<Dim> right = b.shape.dims();
  bool left_vector = left.size() == 1, right_vector = right.size() == 1;
  if (left_vector) left.insert(left.begin(), Dim::fixed(1));
  if (right_vector) right.push_back(Dim::fixed(1));
  check_contraction(node, left.back(), right[right.size() - 2]);
  Shape batch = broadcast_shapes(Shape({left.begin(), left.end() - 2}),
                                 Shape({right.begin(), right.end() - 2}), node);
  std::vector<Dim> result = batch.dims();
  if (!left_vector) result.push_back(left[left.size() - 2]);
  if (!right_vector) result.push_back(right.back());
  Shape output(std::move(result));
  if (const Value* residual = node.input(3)) {
    require_same_dtype(node, a, *residual);
    // Equal where both are known: the residual never broadcasts, and it states sizes the
    // product's own inference may not (a reshaped A of unknown dims).
    check(!residual->shape.rank_known() || residual->shape.rank() == output.rank(),
          ErrorKind::InvalidModel, node.describe(), ": residual '", residual->name, "' ",
          residual->shape.to_string(), " must have the product's shape ", output.to_string());
    std::vector<Dim> dims = output.dims();
    for (size_t i = 0; residual->shape.rank_known() && i < dims.size(); ++i) {
      const Dim& given = residual->shape.dims()[i];
      check(!(given.is_static() && dims[i].is_static()) || given.value == dims[i].value,
            ErrorKind::InvalidModel, node.describe(), ": residual '", residual->name, "' ",
            residual->shape.to_string(), " must have the product's shape ", output.to_string());
      if (!dims[i].is_static() && !dims[i].is_symbolic()) dims[i] = given;
    }
    output = Shape(std::move(dims));
  }
  set_output(node, 0, a.dtype, std::move(output));
}

void infer_gemm(Node& node) {
  const Value& a = required_input(node, 0);
  const Value& b = required_input(node, 1);
  require_same_dtype(node, a, b);
  require_numeric(node, a);
  check_fused_activation(node);
  const Value* c = node.input(2);
  if (c != nullptr) require_same_dtype(node, a, *c);
  if (!a.shape.rank_known() || !b.shape.rank_known()) {
    set_output(node, 0, a.dtype, unknown_dims(2));
    return;
  }
  check(a.shape.rank() == 2 && b.shape.rank() == 2, ErrorKind::InvalidModel, node.describe(),
        ": Gemm inputs must be 2-D, got ", a.shape.to_string(), " and ", b.shape.to_string());
  bool trans_a = node.attr_int("transA", 0) != 0;
  bool trans_b = node.attr_int("transB", 0) != 0;
  Dim m = a.shape[trans_a ? 1 : 0], k_left = a.shape[trans_a ? 0 : 1];
  Dim k_right = b.shape[trans_b ? 1 : 0], n = b.shape[trans_b ? 0 : 1];
  check_contraction(node, k_left, k_right);
  Shape result({m, n});
  if (c != nullptr) {
    // C broadcasts one way, to (M, N): the result keeps (M, N) but mismatches are errors.
    Shape merged = broadcast_shapes(result, c->shape, node);
    check(!merged.rank_known() || merged.rank() == 2, ErrorKind::InvalidModel, node.describe(),
          ": bias '", c->name, "' of shape ", c->shape.to_string(),
          " does not broadcast to (M, N)");
  }
  set_output(node, 0, a.dtype, std::move(result));
}

// Output shape = Q's shape with the head size of V: 4-D (B, Hq, S, Dv), or 3-D (B, S, Hq·Dv)
// where the 3-D form splits hidden sizes by q_num_heads / kv_num_heads.
void infer_attention(Node& node) {
  const Value& q = required_input(node, 0);
  const Value& k = required_input(node, 1);
  const Value& v = required_input(node, 2);
  require_floating(node, q);
  require_same_dtype(node, q, k);
  require_same_dtype(node, q, v);
  if (!q.shape.rank_known() || !v.shape.rank_known()) {
    set_output(node, 0, q.dtype, q.shape.rank_known() ? unknown_dims(q.shape.rank()) : Shape());
    return;
  }
  int64_t rank = q.shape.rank();
  check(rank == 3 || rank == 4, ErrorKind::InvalidModel, node.describe(),
        ": Q must be 3-D (batch, seq, hidden) or 4-D (batch, heads, seq, head_size), got ",
        q.shape.to_string());
  check(v.shape.rank() == rank, ErrorKind::InvalidModel, node.describe(), ": V of shape ",
        v.shape.to_string(), " must have the rank of Q ", q.shape.to_string());
  std::vector<Dim> result = q.shape.dims();
  if (rank == 4) {
    result[3] = v.shape[3];
  } else {
    int64_t q_heads = node.attr_int("q_num_heads", 0);
    int64_t kv_heads = node.attr_int("kv_num_heads", 0);
    check(q_heads > 0 && kv_heads > 0, ErrorKind::InvalidModel, node.describe(),
          ": 3-D inputs need the attributes q_num_heads and kv_num_heads");
    const Dim& v_hidden = v.shape[2];
    if (v_hidden.is_static()) {
      check(v_hidden.value % kv_heads == 0, ErrorKind::InvalidModel, node.describe(),
            ": V's hidden size ", v_hidden.value, " is not divisible by kv_num_heads ", kv_heads);
      result[2] = Dim::fixed(v_hidden.value / kv_heads * q_heads);
    } else {
      result[2] = q_heads == kv_heads ? v_hidden : Dim::unknown();
    }
  }
  set_output(node, 0, q.dtype, Shape(std::move(result)));
}

}  // namespace

void add_matmul_schemas(std::vector<OpSchema>& table) {
  table.push_back({"MatMul", 2, 4, 1, 1, true, infer_matmul});
  table.push_back({"Gemm", 2, 3, 1, 1, true, infer_gemm});
  table.push_back({"Attention", 3, 6, 1, 1, true, infer_attention});
}

}  // namespace kiln::ir
