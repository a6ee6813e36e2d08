// The one-op PyTorch exports of tests/models/aten_ops (make_aten_op_fixtures.py): which cases
// and formats exist, which to skip and why, and the comparison with PyTorch's outputs that
// both the CPU-reference test (tests/models) and the GPU test (tests/backends/cuda) apply.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace kiln::test_support {

struct OpCase {
  std::string name;
  std::string format;  // "pt2", "pt2_core" (after run_decompositions), "torchscript", "onnx"
  int inputs = 0;
  int outputs = 0;
  std::optional<double> tolerance;  // none: exact (integer and bool outputs)
  std::string skip_reason;          // the exporter's failure for this format
  std::string known_gap;            // why Kiln cannot import it yet (known_gaps.txt)

  std::filesystem::path model_path() const;
  // input_<i> and output_<i> as PyTorch gave them.
  std::map<std::string, Tensor> reference() const;
};

inline void PrintTo(const OpCase& op, std::ostream* out) { *out << op.name << "_" << op.format; }

std::filesystem::path op_cases_folder();  // tests/models/aten_ops
// Every case in every format, from manifest.json and known_gaps.txt.
std::vector<OpCase> all_op_cases();

// Compares output `index` with PyTorch's through gtest expectations: same dims; floats with
// NaN and infinities where PyTorch has them and a normalized error within `tolerance` over the
// rest; integers and bools exactly (int64 beside int32 is fine).
void expect_matches_pytorch(const Tensor& actual, const Tensor& expected,
                            std::optional<double> tolerance);

}  // namespace kiln::test_support
