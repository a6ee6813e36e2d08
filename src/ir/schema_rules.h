// Shared building blocks for the op schemas (schemas_*.cpp): broadcasting of symbolic
// shapes, dtype checks with messages naming the node, and reading constant inputs.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ir/op_schema.h"

namespace kiln::ir {

// Each op family file adds its schemas to the one table in op_schema.cpp.
void add_elementwise_schemas(std::vector<OpSchema>& table);
void add_matmul_schemas(std::vector<OpSchema>& table);
void add_conv_pool_schemas(std::vector<OpSchema>& table);
void add_normalization_schemas(std::vector<OpSchema>& table);
void add_tensor_schemas(std::vector<OpSchema>& table);    // reshaping
void add_indexing_schemas(std::vector<OpSchema>& table);  // Concat, Split, Slice, Gather
void add_shape_schemas(std::vector<OpSchema>& table);
void add_resize_schemas(std::vector<OpSchema>& table);  // Resize

// The present input at `index`; throws InvalidModel naming the node if it is absent.
const Value& required_input(const Node& node, size_t index);
// The tensor of input `index` when that input is present and constant, else null.
const Tensor* constant_input(const Node& node, size_t index);
// A constant integer input read as int64 values, or nullopt when not constant/absent.
std::optional<std::vector<int64_t>> constant_ints(const Node& node, size_t index);

void set_output(Node& node, size_t index, DType dtype, Shape shape);

// Numpy broadcasting of two dims / shapes. A symbolic dim against 1 stays symbolic, equal
// symbols stay, a static dim other than 1 wins over a symbol, anything else is unknown.
// Two different static sizes (neither 1) are an InvalidModel error naming the node.
Dim broadcast_dim(const Dim& a, const Dim& b, const Node& node);
Shape broadcast_shapes(const Shape& a, const Shape& b, const Node& node);

// The product of dims: static if all are static, else the symbolic product (ir/dim_products.h:
// "128*batch"), unknown where a dim is unknown.
Dim product_of(const std::vector<Dim>& dims);

// Dtype rules; each throws InvalidModel naming the node, the inputs and their dtypes.
void require_same_dtype(const Node& node, const Value& a, const Value& b);
void require_floating(const Node& node, const Value& value);
void require_dtype(const Node& node, const Value& value, DType expected);
void require_index_dtype(const Node& node, const Value& value);  // int32 or int64
void require_numeric(const Node& node, const Value& value);      // anything but bool

// Shape of rank `rank` with all dims unknown.
Shape unknown_dims(int64_t rank);
// Rank of `value`'s shape, or throws InvalidModel if the rank must be known and is not.
int64_t known_rank(const Node& node, const Value& value);

}  // namespace kiln::ir
