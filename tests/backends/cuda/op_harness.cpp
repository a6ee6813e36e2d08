// The op harness's runner: builds a case's node, runs the CPU reference and the CUDA kernel
// (through KernelRunner: poisoned, guarded outputs), and compares; plus the family list.
#include "op_harness.h"

#include <algorithm>
#include <cstring>

#include "backends/cpu/executor.h"
#include "backends/cpu/kernel.h"
#include "backends/cuda/ops/cuda_ops.h"
#include "cuda_test_util.h"
#include "ir/op_schema.h"
#include "kernel_runner.h"

namespace kiln::cuda_test {

InputSpec floats(Dims dims, double low, double high) {
  return {std::move(dims), DType::Undefined, low, high, {}, false};
}
InputSpec typed(DType dtype, Dims dims, double low, double high) {
  return {std::move(dims), dtype, low, high, {}, false};
}
InputSpec data(DType dtype, Dims dims) {
  if (dtype == DType::Undefined) return floats(std::move(dims));
  return typed(dtype, std::move(dims), 0, dtype == DType::Bool ? 2 : 100);
}
InputSpec given(Tensor value) {
  return {value.dims(), value.dtype(), 0, 0, std::move(value), false};
}
InputSpec given_floats(Tensor value) {
  return {value.dims(), DType::Undefined, 0, 0, std::move(value), false};
}
InputSpec constant(Tensor value) {
  return {value.dims(), value.dtype(), 0, 0, std::move(value), true};
}
InputSpec constant_floats(Tensor value) {
  return {value.dims(), DType::Undefined, 0, 0, std::move(value), true};
}
InputSpec weight(Dims dims, double low, double high) {
  return {std::move(dims), DType::Undefined, low, high, {}, true};
}
InputSpec int64s(std::vector<int64_t> values) {
  return constant(Tensor::from_vector<int64_t>({int64_t(values.size())}, values));
}

std::vector<DataKind> data_kinds() {
  std::vector<DataKind> kinds = {{DType::Undefined, ""}};
  for (DType dtype : {DType::Int32, DType::Int64, DType::UInt8, DType::Bool}) {
    kinds.push_back({dtype, dtype_label(dtype)});
  }
  return kinds;
}

void add_for_each_data_kind(std::vector<OpCase>& cases,
                            const std::function<OpCase(DType data_dtype)>& make) {
  for (const DataKind& kind : data_kinds()) {
    OpCase op_case = make(kind.dtype);
    op_case.name += kind.label;
    op_case.exact = true;
    cases.push_back(std::move(op_case));
  }
}

std::string dtype_label(DType dtype) {
  switch (dtype) {
    case DType::Float32:
      return "Float32";
    case DType::Float16:
      return "Float16";
    case DType::BFloat16:
      return "BFloat16";
    case DType::Int8:
      return "Int8";
    case DType::Int32:
      return "Int32";
    case DType::Int64:
      return "Int64";
    case DType::UInt8:
      return "UInt8";
    case DType::Bool:
      return "Bool";
    default:
      return std::string(dtype_name(dtype));
  }
}

bool runs_in_tf32(const std::string& op) {
  return op == "MatMul" || op == "Gemm" || op == "Conv" || op == "Attention";
}

std::vector<Precision> precisions_of(const OpCase& op_case) {
  if (!op_case.precisions.empty()) return op_case.precisions;
  bool follows_precision =
      std::any_of(op_case.inputs.begin(), op_case.inputs.end(),
                  [](const InputSpec& spec) { return spec.dtype == DType::Undefined; });
  if (!follows_precision) return {Precision::FP32};
  if (runs_in_tf32(op_case.op)) {
    return {Precision::FP32, Precision::TF32, Precision::FP16, Precision::BF16};
  }
  return {Precision::FP32, Precision::FP16, Precision::BF16};
}

namespace {

// FNV-1a of the test's name: every run draws its own values, the same ones each time.
uint32_t seed_for(const OpCase& op_case, Precision precision) {
  uint32_t hash = 2166136261u;
  std::string key = op_case.op + "/" + op_case.name + "/" + std::string(precision_name(precision));
  for (char c : key) hash = (hash ^ uint8_t(c)) * 16777619u;
  return hash;
}

Tensor input_value(const InputSpec& spec, DType storage, uint32_t seed) {
  bool follows_precision = spec.dtype == DType::Undefined;
  if (spec.value) return follows_precision ? spec.value->to(storage) : *spec.value;
  return random_tensor(follows_precision ? storage : spec.dtype, spec.dims, spec.low, spec.high,
                       seed);
}

}  // namespace

int64_t first_differing_element(const Tensor& actual, const Tensor& expected) {
  size_t element = dtype_size(expected.dtype());
  const auto* a = static_cast<const std::byte*>(actual.raw());
  const auto* b = static_cast<const std::byte*>(expected.raw());
  for (int64_t i = 0; i < expected.numel(); ++i) {
    if (std::memcmp(a + size_t(i) * element, b + size_t(i) * element, element) != 0) return i;
  }
  return -1;
}

BuiltCase build_case(const OpCase& op_case, Precision precision) {
  BuiltCase built;
  built.seed = seed_for(op_case, precision);
  DType storage = precision_storage_dtype(precision);
  std::vector<ir::Value*> args;
  for (size_t i = 0; i < op_case.inputs.size(); ++i) {
    const InputSpec& spec = op_case.inputs[i];
    Tensor value = input_value(spec, storage, built.seed + uint32_t(i));
    std::string name = "in" + std::to_string(i);
    if (spec.constant) {
      args.push_back(built.graph.add_constant(name, value));
    } else {
      args.push_back(
          built.graph.add_input(name, value.dtype(), ir::Shape::from_dims(value.dims())));
      built.graph_inputs[name] = value;
    }
    built.input_values.push_back(value);
  }
  std::vector<std::string> outputs;
  for (size_t i = 0; i < op_case.outputs; ++i) outputs.push_back("out" + std::to_string(i));
  built.node = built.graph.add_node(op_case.op, op_case.op + "_" + op_case.name, args, outputs);
  built.node->attrs = op_case.attrs;
  if (!op_case.reference) ir::infer_graph(built.graph);
  // As assign_precisions gives it to a layer with float outputs: what the math runs in on the
  // GPU, and what the CPU reference rounds to.
  bool float_output = std::any_of(built.node->outputs.begin(), built.node->outputs.end(),
                                  [](const ir::Value* value) { return is_floating(value->dtype); });
  if (float_output) built.node->precision = precision;
  for (ir::Value* output : built.node->outputs) built.graph.add_output(output);
  return built;
}

std::vector<Tensor> reference_outputs(const OpCase& op_case, const BuiltCase& built) {
  if (op_case.reference) return op_case.reference(*built.node, built.input_values);
  return cpu::Executor(built.graph).run(built.graph_inputs);
}

void expect_outputs_match(const OpCase& op_case, Precision precision, const BuiltCase& built,
                          const std::vector<Tensor>& actual, const std::vector<Tensor>& expected) {
  std::string what = op_case.op + " " + op_case.name + " in " +
                     std::string(precision_name(precision)) + " (seed " +
                     std::to_string(built.seed) + ")";
  ASSERT_EQ(actual.size(), expected.size()) << what;
  double tolerance = op_case.tolerance.value_or(tolerance_for(precision));
  for (size_t i = 0; i < actual.size(); ++i) {
    std::string output = what + ", output " + std::to_string(i);
    ASSERT_EQ(actual[i].dtype(), expected[i].dtype()) << output;
    ASSERT_EQ(actual[i].dims(), expected[i].dims()) << output;
    if (op_case.exact || !is_floating(expected[i].dtype())) {
      int64_t at = first_differing_element(actual[i], expected[i]);
      if (at >= 0) {
        ADD_FAILURE() << output << ": element " << at << " is "
                      << actual[i].to_double_vector()[size_t(at)] << ", expected "
                      << expected[i].to_double_vector()[size_t(at)] << " (bit for bit)";
      }
    } else {
      double error = normalized_error(actual[i], expected[i]);
      EXPECT_LE(error, tolerance) << output << ": normalized error " << error;  // NaN fails too
    }
  }
  if (op_case.also_check) op_case.also_check(actual);
}

std::vector<Tensor> cpu_kernel_outputs(const ir::Node& node, const std::vector<Tensor>& inputs) {
  std::vector<Tensor> outputs = cpu::run_node(node, inputs);
  DType storage = inputs.empty() ? DType::Undefined : inputs[0].dtype();
  bool narrow = storage == DType::Float16 || storage == DType::BFloat16;
  for (Tensor& output : outputs) {
    if (narrow && output.dtype() == DType::Float32) output = output.to(storage);
  }
  return outputs;
}

std::vector<OpCase> concatenated(std::vector<std::vector<OpCase>> parts) {
  std::vector<OpCase> cases;
  for (std::vector<OpCase>& part : parts) {
    for (OpCase& op_case : part) cases.push_back(std::move(op_case));
  }
  return cases;
}

std::vector<OpRun> op_runs(const std::vector<OpCase>& cases) {
  std::vector<OpRun> runs;
  for (const OpCase& op_case : cases) {
    for (Precision precision : precisions_of(op_case)) runs.push_back({op_case, precision});
  }
  return runs;
}

std::string op_run_name(const testing::TestParamInfo<OpRun>& info) {
  const OpRun& run = info.param;
  return run.op_case.op + "_" + run.op_case.name + "_" + std::string(precision_name(run.precision));
}

void PrintTo(const OpRun& run, std::ostream* out) {
  *out << run.op_case.op << " " << run.op_case.name << " " << precision_name(run.precision);
}

TEST_P(CudaOpTest, MatchesCpuReference) {
  KILN_REQUIRE_GPU();
  const OpRun& run = GetParam();
  BuiltCase built = build_case(run.op_case, run.precision);
  std::vector<Tensor> expected = reference_outputs(run.op_case, built);
  KernelRunner runner;
  std::vector<cuda::DeviceTensor> inputs, outputs;
  for (const Tensor& value : built.input_values) inputs.push_back(runner.upload(value));
  for (const Tensor& value : expected) {
    outputs.push_back(runner.poisoned(value.dtype(), value.dims()));
  }
  runner.launch(*built.node, inputs, outputs);
  std::vector<Tensor> actual;
  for (const cuda::DeviceTensor& output : outputs) actual.push_back(runner.download(output));
  EXPECT_EQ(runner.overwritten_guards(), "") << built.node->describe();
  expect_outputs_match(run.op_case, run.precision, built, actual, expected);
}

const std::vector<CaseFamily>& case_families() {
  static const std::vector<CaseFamily> families = {
      {"elementwise_cases.cpp", elementwise_cases, cuda::register_elementwise_cuda_kernels},
      {"normalization_cases.cpp", normalization_cases, cuda::register_normalization_cuda_kernels},
      {"reduction_cases.cpp", reduction_cases, cuda::register_reduction_cuda_kernels},
      {"data_movement_cases.cpp", data_movement_cases, cuda::register_data_movement_cuda_kernels},
      {"indexing_cases.cpp", indexing_cases, cuda::register_indexing_cuda_kernels},
      {"shape_cases.cpp", shape_cases, cuda::register_shape_cuda_kernels},
      {"resize_pad_cases.cpp", resize_pad_cases, cuda::register_resize_pad_cuda_kernels},
      {"matmul_cases.cpp", matmul_cases, cuda::register_matmul_cuda_kernels},
      {"conv_pool_cases.cpp", conv_pool_cases, cuda::register_conv_pool_cuda_kernels},
      {"attention_cases.cpp", attention_cases, cuda::register_attention_cuda_kernels},
  };
  return families;
}

}  // namespace kiln::cuda_test
