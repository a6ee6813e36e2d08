// The GPU-vs-CPU op harness (in the spirit of ggml's test-backend-ops): a case is one node on
// fresh random inputs, run by the CPU reference executor and by its CUDA kernel straight from
// the kernel table, outputs poisoned first, compared in each precision the case runs in.
// The tables are split per op family (*_cases.cpp, listed in case_families()); the coverage
// test (op_coverage_test.cpp, no GPU needed) fails when an op in the kernel table has no case.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "backends/cuda/ops/cuda_kernel.h"
#include "core/precision.h"
#include "core/tensor.h"
#include "ir/graph.h"

namespace kiln::cuda_test {

using Attrs = std::map<std::string, ir::AttrValue>;

// One input of a case's node: random values or given ones, a graph input or a constant.
struct InputSpec {
  Dims dims;
  DType dtype = DType::Undefined;  // Undefined: the float storage type of the run's precision
  double low = -3;                 // random values in [low, high); integers rounded down
  double high = 3;
  std::optional<Tensor> value;  // these values instead (retyped as above where dtype is Undefined)
  bool constant = false;        // a graph constant (weights, Slice's starts), not a graph input
};

// Random floats in the run's storage type.
InputSpec floats(Dims dims, double low = -3, double high = 3);
// Random values of one dtype whatever the precision (integers, bools, a Cast's source).
InputSpec typed(DType dtype, Dims dims, double low, double high);
// Data that never holds the poison pattern: `dtype` Undefined gives floats in [-3, 3) of the
// run's storage type; integers lie in [0, 100) (never -1), bools are 0 or 1.
InputSpec data(DType dtype, Dims dims);
// A graph input holding `value` (its dtype kept), or retyped to the run's storage type.
InputSpec given(Tensor value);
InputSpec given_floats(Tensor value);
// A graph constant holding `value` (its dtype kept), or retyped to the run's storage type.
InputSpec constant(Tensor value);
InputSpec constant_floats(Tensor value);
// A constant of random floats in the run's storage type (a layer's weights).
InputSpec weight(Dims dims, double low = -1, double high = 1);
// A 1-D int64 constant (Slice's starts, Reshape's and Expand's shapes).
InputSpec int64s(std::vector<int64_t> values);

struct OpCase {
  std::string op;
  std::string name;  // unique for the op; the test is OP_NAME_PRECISION (letters, digits, _)
  std::vector<InputSpec> inputs;
  Attrs attrs;
  bool exact = false;  // bit for bit (data movement); integer and bool outputs always are
  // The precisions to run in; empty: fp32, fp16 and bf16 where an input follows the
  // precision (tf32 too for the matrix products), else fp32 alone.
  std::vector<Precision> precisions;
  std::optional<double> tolerance;  // normalized error allowed instead of tolerance_for()
  size_t outputs = 1;
  // The expected outputs where the CPU executor cannot give them: an op without a schema or
  // CPU kernel (Identity), or inputs the schema refuses but the kernel takes (GatherND's
  // int32 indices). The graph is then left uninferred.
  std::function<std::vector<Tensor>(const ir::Node& node, const std::vector<Tensor>& inputs)>
      reference;
  // A further check of the GPU's outputs (say, attention rows with every key masked are 0).
  std::function<void(const std::vector<Tensor>& outputs)> also_check;
};

// The storage dtypes data movement carries: floats (named by the precision they run in)
// first, then each integer type and bool. `label` is "" for floats, else the dtype's name.
struct DataKind {
  DType dtype;  // Undefined for floats
  std::string label;
};
std::vector<DataKind> data_kinds();  // floats, int32, int64, uint8, bool
// Appends `make(dtype)` once per data kind, its name suffixed with the kind's label,
// compared bit for bit (data movement carries bytes).
void add_for_each_data_kind(std::vector<OpCase>& cases,
                            const std::function<OpCase(DType data_dtype)>& make);
// A dtype as a test name spells it: Float32, BFloat16, Int64, UInt8, Bool, ...
std::string dtype_label(DType dtype);

// A reference for OpCase::reference: the op's CPU kernel alone, no schema, its float outputs
// in the storage type of the first input (float16 and bfloat16 are widened for the kernel).
std::vector<Tensor> cpu_kernel_outputs(const ir::Node& node, const std::vector<Tensor>& inputs);

// Ops that run in tf32 (tensor-core matrix products), as the CPU reference emulates it.
bool runs_in_tf32(const std::string& op);
std::vector<Precision> precisions_of(const OpCase& op_case);

// A case's node in a graph of its own, with its input values for one precision.
struct BuiltCase {
  ir::Graph graph;
  ir::Node* node = nullptr;
  std::vector<Tensor> input_values;            // per node input, constants included
  std::map<std::string, Tensor> graph_inputs;  // by name, for the executors
  uint32_t seed = 0;                           // of the random values, for messages
};
BuiltCase build_case(const OpCase& op_case, Precision precision);
// The CPU reference executor's outputs (or the case's own reference).
std::vector<Tensor> reference_outputs(const OpCase& op_case, const BuiltCase& built);
// Index of the first element whose bytes differ, or -1.
int64_t first_differing_element(const Tensor& actual, const Tensor& expected);
// Each output in dtype and dims, then bit for bit or within the tolerance (NaN never passes).
void expect_outputs_match(const OpCase& op_case, Precision precision, const BuiltCase& built,
                          const std::vector<Tensor>& actual, const std::vector<Tensor>& expected);

// One test instance: a case in one precision.
struct OpRun {
  OpCase op_case;
  Precision precision;
};
std::vector<OpRun> op_runs(const std::vector<OpCase>& cases);
std::string op_run_name(const testing::TestParamInfo<OpRun>& info);
void PrintTo(const OpRun& run, std::ostream* out);

// Each family file instantiates it: INSTANTIATE_TEST_SUITE_P(Family, CudaOpTest, ...).
class CudaOpTest : public testing::TestWithParam<OpRun> {};

// The parts of a family's table, one after the other.
std::vector<OpCase> concatenated(std::vector<std::vector<OpCase>> parts);

// The case tables, one per op family, each in the file named in case_families().
std::vector<OpCase> elementwise_cases();
std::vector<OpCase> normalization_cases();
std::vector<OpCase> reduction_cases();
std::vector<OpCase> data_movement_cases();
std::vector<OpCase> indexing_cases();
std::vector<OpCase> shape_cases();
std::vector<OpCase> resize_pad_cases();
std::vector<OpCase> matmul_cases();
std::vector<OpCase> conv_pool_cases();
std::vector<OpCase> attention_cases();

struct CaseFamily {
  const char* file;  // under tests/backends/cuda/
  std::vector<OpCase> (*cases)();
  void (*registers)(cuda::CudaKernelMap&);  // the kernel table's hook for the same ops
};
const std::vector<CaseFamily>& case_families();

}  // namespace kiln::cuda_test
