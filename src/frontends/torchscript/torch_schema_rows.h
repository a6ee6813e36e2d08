// The rows of the torch.* → ATen overload table (torch_schemas.h), in two files by op family:
// torch_schemas.cpp (the ops most models use) and torch_schema_rows_more.cpp (the ops Kiln
// writes as several core ops: special math, statistics, layout, matrices, index updates).
#pragma once

#include <span>

namespace kiln::torchscript {

// Function, target, arguments in schema order ("name:kind", kind T tensor, N number, D device,
// L list, S string; '|' ends the required ones).
struct SchemaRow {
  const char* function;
  const char* target;
  const char* arguments;
};

std::span<const SchemaRow> more_schema_rows();

}  // namespace kiln::torchscript
