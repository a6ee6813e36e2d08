// Layouts, not ops (the op harness's *_cases.cpp test the ops): the fast paths of the
// elementwise and data-movement kernels (scalar and bias operands in 16-byte packs, merged
// axes with 32-bit offsets, rows copied in wide words, Pow by multiply and sqrt) and their
// fallbacks (misaligned pointers, rows that are no whole packs), each called directly on
// device tensors (KernelRunner: outputs poisoned with 0xFF bytes and guarded; integer data
// lies in [0, 100)) and compared with the CPU reference per element. Data movement and the
// single-rounding ops must match bit for bit; Div and Pow within the storage precision's
// tolerance.
#include <cmath>
#include <cstring>

#include "backends/cpu/executor.h"
#include "backends/cpu/kernel.h"
#include "backends/cuda/runtime/cuda_executor.h"
#include "cuda_test_util.h"
#include "ir/op_schema.h"
#include "kernel_runner.h"

namespace kiln {
namespace {

using Attrs = std::map<std::string, ir::AttrValue>;

constexpr DType kFloatDTypes[] = {DType::Float32, DType::Float16, DType::BFloat16};
constexpr DType kMovedDTypes[] = {DType::Float32, DType::Float16, DType::BFloat16, DType::Int64};

// Never the poison pattern: floats in [low, high), integers in [0, 100), bools 0 or 1.
Tensor random_data(DType dtype, const Dims& dims, uint32_t seed, double low = -3, double high = 3) {
  if (is_floating(dtype)) return cuda_test::random_tensor(dtype, dims, low, high, seed);
  return cuda_test::random_tensor(dtype, dims, 0, dtype == DType::Bool ? 2 : 100, seed);
}

Tensor int64s(const std::vector<int64_t>& values) {
  return Tensor::from_vector<int64_t>({int64_t(values.size())}, values);
}

// One node; inputs from `constants_from` on are graph constants (Slice's starts, ends, ...).
struct Call {
  std::string op;
  std::vector<Tensor> inputs;
  Attrs attrs;
  size_t outputs = 1;
  std::vector<int64_t> shifts;  // per input: elements its device copy starts into its buffer
  int64_t output_shift = 0;     // likewise for every output (1: not aligned to any pack)
  size_t constants_from = size_t(-1);
};

// Per element: bit for bit, or within the relative tolerance of the storage precision
// (matching infinities agree; NaN never passes).
void expect_same(const Tensor& actual, const Tensor& expected, bool exact,
                 const std::string& what) {
  ASSERT_EQ(actual.dtype(), expected.dtype()) << what;
  ASSERT_EQ(actual.dims(), expected.dims()) << what;
  size_t element = dtype_size(expected.dtype());
  const auto* a = static_cast<const std::byte*>(actual.raw());
  const auto* b = static_cast<const std::byte*>(expected.raw());
  std::vector<double> x = actual.to_double_vector();
  std::vector<double> y = expected.to_double_vector();
  double tolerance = cuda_test::tolerance_for(cuda_test::precision_of(expected.dtype()));
  for (int64_t i = 0; i < expected.numel(); ++i) {
    size_t k = size_t(i);
    bool same = exact ? std::memcmp(a + k * element, b + k * element, element) == 0
                      : (x[k] == y[k] ||
                         std::abs(x[k] - y[k]) <= tolerance * std::max(std::abs(y[k]), 1e-3));
    if (!same) {
      ADD_FAILURE() << what << ": element " << i << " is " << x[k] << ", expected " << y[k];
      return;
    }
  }
}

std::string describe(const Call& call) {
  std::string text = call.op + " " + std::string(dtype_name(call.inputs.at(0).dtype()));
  for (const Tensor& input : call.inputs) text += " " + dims_to_string(input.dims());
  for (int64_t shift : call.shifts) text += " shift " + std::to_string(shift);
  if (call.output_shift != 0) text += " output shift " + std::to_string(call.output_shift);
  return text;
}

void expect_matches_cpu(const Call& call, bool exact) {
  ir::Graph graph;
  std::vector<ir::Value*> args;
  for (size_t i = 0; i < call.inputs.size(); ++i) {
    std::string name = "in" + std::to_string(i);
    const Tensor& input = call.inputs[i];
    args.push_back(i >= call.constants_from
                       ? graph.add_constant(name, input)
                       : graph.add_input(name, input.dtype(), ir::Shape::from_dims(input.dims())));
  }
  std::vector<std::string> names;
  for (size_t i = 0; i < call.outputs; ++i) names.push_back("out" + std::to_string(i));
  ir::Node* node = graph.add_node(call.op, call.op, args, names);
  node->attrs = call.attrs;
  ir::infer_graph(graph);
  std::vector<Tensor> expected = cpu::run_node(*node, call.inputs);
  cuda_test::KernelRunner runner;
  std::vector<cuda::DeviceTensor> inputs, outputs;
  for (size_t i = 0; i < call.inputs.size(); ++i) {
    inputs.push_back(runner.upload(call.inputs[i], i < call.shifts.size() ? call.shifts[i] : 0));
  }
  for (Tensor& output : expected) {
    bool narrow =
        call.inputs[0].dtype() == DType::Float16 || call.inputs[0].dtype() == DType::BFloat16;
    if (narrow && output.dtype() == DType::Float32) output = output.to(call.inputs[0].dtype());
    outputs.push_back(runner.poisoned(output.dtype(), output.dims(), call.output_shift));
  }
  runner.launch(*node, inputs, outputs);
  std::string what = describe(call);
  for (size_t i = 0; i < outputs.size(); ++i) {
    expect_same(runner.download(outputs[i]), expected[i], exact,
                what + " output " + std::to_string(i));
  }
  EXPECT_EQ(runner.overwritten_guards(), "") << what;
}

// Operand shapes for each binary path: scalar right and left (rank 0 and all-1 dims), same
// shape with a tail, bias on either side (whole packs, and rows of 67: no whole packs), a
// bias over the two last axes, and general broadcasts that merge axes.
const std::vector<std::pair<Dims, Dims>> kBinaryShapes = {
    {{4, 37, 24}, {}},           {{1, 1, 1}, {4, 37, 24}}, {{3, 37, 5}, {3, 37, 5}},
    {{6, 5, 64}, {64}},          {{64}, {6, 5, 64}},       {{6, 5, 64}, {1, 1, 64}},
    {{6, 5, 67}, {67}},          {{67}, {6, 5, 67}},       {{4, 3, 5, 16}, {5, 16}},
    {{2, 3, 1, 17}, {4, 1}},     {{5, 1, 8}, {1, 7, 1}},   {{2, 3, 4, 5}, {2, 1, 4, 5}},
    {{7, 1, 1, 9}, {7, 3, 2, 9}}};

TEST(CudaFastPathTest, BinaryOpsOnEveryLayout) {
  KILN_REQUIRE_GPU();
  uint32_t seed = 1;
  for (const auto& [left, right] : kBinaryShapes) {
    for (DType dtype : kFloatDTypes) {
      for (const char* op : {"Add", "Sub", "Mul", "Max", "Less"}) {
        expect_matches_cpu(
            {op, {random_data(dtype, left, seed), random_data(dtype, right, seed + 1)}}, true);
      }
      expect_matches_cpu(
          {"Div", {random_data(dtype, left, seed), random_data(dtype, right, seed + 1, 0.5, 3)}},
          false);
      seed += 2;
    }
    for (DType dtype : {DType::Int32, DType::Int64}) {
      for (const char* op : {"Add", "Mul", "Equal"}) {
        expect_matches_cpu(
            {op, {random_data(dtype, left, seed), random_data(dtype, right, seed + 1)}}, true);
      }
      seed += 2;
    }
  }
}

// A pointer one element into its buffer cannot be read in packs: the kernels fall back.
TEST(CudaFastPathTest, BinaryOpsOnMisalignedPointers) {
  KILN_REQUIRE_GPU();
  const std::pair<Dims, Dims> shapes[] = {
      {{4, 37, 24}, {4, 37, 24}}, {{6, 5, 64}, {64}}, {{4, 37, 24}, {}}};
  uint32_t seed = 100;
  for (const auto& [left, right] : shapes) {
    for (DType dtype : {DType::Float32, DType::BFloat16, DType::Int64}) {
      for (const std::vector<int64_t>& shifts : {std::vector<int64_t>{1, 0}, {0, 1}, {0, 0}}) {
        Call call{"Sub", {random_data(dtype, left, seed), random_data(dtype, right, seed + 1)}};
        call.shifts = shifts;
        call.output_shift = shifts == std::vector<int64_t>{0, 0} ? 1 : 0;
        expect_matches_cpu(call, true);
        seed += 2;
      }
    }
  }
}

TEST(CudaFastPathTest, PowByConstantExponents) {
  KILN_REQUIRE_GPU();
  uint32_t seed = 200;
  for (DType dtype : kFloatDTypes) {
    for (float exponent : {2.f, 3.f, 0.5f, 2.5f, 1.f}) {
      Tensor power = Tensor::scalar<float>(exponent).to(dtype);
      expect_matches_cpu({"Pow", {random_data(dtype, {4, 37, 24}, seed++, 0.1, 3), power}}, false);
      expect_matches_cpu({"Pow", {random_data(dtype, {3, 7}, seed++, 0.1, 3), power}},
                         false);  // tail only
    }
    // A tensor exponent, and one whose elements take every special case (divergent branches).
    expect_matches_cpu({"Pow",
                        {random_data(dtype, {4, 37, 24}, seed++, 0.1, 3),
                         random_data(dtype, {37, 24}, seed++, 0.5, 2)}},
                       false);
    std::vector<float> mixed;
    for (int i = 0; i < 24; ++i)
      mixed.push_back(std::vector<float>{2.f, 3.f, 0.5f, 2.5f}[size_t(i % 4)]);
    expect_matches_cpu({"Pow",
                        {random_data(dtype, {5, 24}, seed++, 0.1, 3),
                         Tensor::from_vector<float>({24}, mixed).to(dtype)}},
                       false);
  }
}

// Signed zeros and infinities come out as powf gives them (values chosen so every power is exact).
TEST(CudaFastPathTest, PowSpecialValuesMatchStdPow) {
  KILN_REQUIRE_GPU();
  const float infinity = std::numeric_limits<float>::infinity();
  Tensor base =
      Tensor::from_vector<float>({8}, {-0.f, -infinity, infinity, 4.f, 0.25f, 0.f, 9.f, 2.25f});
  for (float exponent : {2.f, 3.f, 0.5f}) {
    expect_matches_cpu({"Pow", {base, Tensor::scalar<float>(exponent)}}, true);
  }
}

TEST(CudaFastPathTest, WhereOnEveryLayout) {
  KILN_REQUIRE_GPU();
  struct Shapes {
    Dims cond, x, y;
  };
  const Shapes shapes[] = {{{1, 1, 8, 16}, {2, 3, 8, 16}, {}},          // attention mask: packed
                           {{2, 3, 8, 16}, {}, {2, 3, 8, 16}},          // scalar x
                           {{1, 1, 8, 5}, {2, 3, 8, 5}, {}},            // rows of 5: general
                           {{2, 1, 4, 5}, {2, 3, 4, 5}, {1, 3, 1, 1}},  // merged axes
                           {{3, 1}, {3, 10}, {10}}};
  uint32_t seed = 300;
  for (const Shapes& s : shapes) {
    for (DType dtype :
         {DType::Float32, DType::Float16, DType::BFloat16, DType::Int64, DType::Bool}) {
      for (int64_t shift : {0, 1}) {
        Call call{"Where",
                  {random_data(DType::Bool, s.cond, seed), random_data(dtype, s.x, seed + 1),
                   random_data(dtype, s.y, seed + 2)}};
        call.shifts = {shift, 0, 0};
        expect_matches_cpu(call, true);
        seed += 3;
      }
    }
  }
}

TEST(CudaFastPathTest, TransposesMatchCpu) {
  KILN_REQUIRE_GPU();
  struct Case {
    Dims dims;
    std::vector<int64_t> perm;
  };
  const Case cases[] = {{{2, 5, 3, 8}, {0, 2, 1, 3}},    // attention heads: rows of 8 move whole
                        {{2, 5, 3, 6}, {0, 2, 1, 3}},    // rows of 6: narrower words
                        {{2, 5, 3, 3}, {0, 2, 1, 3}},    // rows of 3: element by element
                        {{3, 4, 5}, {2, 0, 1}},          // the innermost axis moves
                        {{2, 40, 33}, {0, 2, 1}},        // a batched matrix transpose: tiles
                        {{3, 48, 20}, {0, 2, 1}},        // tiles, partial along one side
                        {{64, 9}, {}},                   // tiles, 2-D
                        {{2, 9, 3, 40}, {0, 2, 3, 1}},   // tiles with two batch axes (keys^T)
                        {{6, 7}, {}},                    // default perm: reversed
                        {{2, 3, 4, 5}, {2, 3, 0, 1}},    // merges into a 2-D transpose
                        {{1, 4, 1, 6}, {2, 1, 0, 3}},    // size-1 axes dropped
                        {{2, 3, 12, 11}, {0, 2, 3, 1}},  // NCHW to NHWC, 3 channels: narrow
                        {{2, 7, 9, 60}, {0, 2, 3, 1}},   // narrow, 7 channels, 540 rows: 2 blocks
                        {{3, 5, 70}, {0, 2, 1}}};        // narrow rows of 5
  uint32_t seed = 400;
  for (const Case& c : cases) {
    for (DType dtype : kMovedDTypes) {
      for (int64_t shift : {0, 1}) {
        Attrs attrs;
        if (!c.perm.empty()) attrs["perm"] = c.perm;
        Call call{"Transpose", {random_data(dtype, c.dims, seed++)}, attrs};
        call.shifts = {shift};
        expect_matches_cpu(call, true);
      }
    }
  }
}

TEST(CudaFastPathTest, SlicesMatchCpu) {
  KILN_REQUIRE_GPU();
  struct Case {
    std::vector<int64_t> starts, ends, axes, steps;
  };
  const Case cases[] = {{{2}, {7}, {0}, {1}},       // outer axis: one contiguous run
                        {{1}, {5}, {1}, {1}},       // middle axis: contiguous rows of 40
                        {{4}, {10}, {2}, {1}},      // rows of 6 at an offset of 4
                        {{1}, {9}, {2}, {2}},       // a step on the innermost axis
                        {{-1}, {-100}, {1}, {-2}},  // reversed
                        {{1, 0}, {7, 8}, {0, 2}, {3, 1}}};
  uint32_t seed = 500;
  for (const Case& c : cases) {
    for (DType dtype : kMovedDTypes) {
      for (int64_t shift : {0, 1}) {
        Call call{"Slice",
                  {random_data(dtype, {8, 6, 10}, seed++), int64s(c.starts), int64s(c.ends),
                   int64s(c.axes), int64s(c.steps)}};
        call.constants_from = 1;
        call.shifts = {shift};
        expect_matches_cpu(call, true);
      }
    }
  }
}

TEST(CudaFastPathTest, SplitsAndConcatsMatchCpu) {
  KILN_REQUIRE_GPU();
  struct Case {
    int64_t axis;
    std::vector<int64_t> pieces;  // along `axis` of [6, 4, 16]
  };
  const Case cases[] = {{0, {2, 1, 3}}, {1, {1, 3}}, {2, {8, 8}}, {2, {3, 5, 8}}, {-1, {4, 4, 8}}};
  uint32_t seed = 600;
  for (const Case& c : cases) {
    size_t axis = size_t(c.axis < 0 ? c.axis + 3 : c.axis);
    for (DType dtype : kMovedDTypes) {
      for (int64_t shift : {0, 1}) {
        Call split{"Split",
                   {random_data(dtype, {6, 4, 16}, seed++)},
                   {{"axis", c.axis}, {"split", c.pieces}}};
        split.outputs = c.pieces.size();
        split.shifts = {shift};
        split.output_shift = shift;
        expect_matches_cpu(split, true);
        Call concat{"Concat", {}, {{"axis", c.axis}}};
        for (int64_t piece : c.pieces) {
          Dims dims = {6, 4, 16};
          dims[axis] = piece;
          concat.inputs.push_back(random_data(dtype, dims, seed++));
          concat.shifts.push_back(shift);
        }
        expect_matches_cpu(concat, true);
      }
    }
  }
}

TEST(CudaFastPathTest, ExpandsMatchCpu) {
  KILN_REQUIRE_GPU();
  const std::pair<Dims, Dims> cases[] = {
      {{1, 1, 16}, {3, 4, 16}}, {{3, 1}, {2, 3, 4}}, {{4, 1, 6}, {4, 5, 6}}};
  uint32_t seed = 700;
  for (const auto& [from, to] : cases) {
    for (DType dtype : kMovedDTypes) {
      Call call{"Expand", {random_data(dtype, from, seed++), int64s(to)}};
      call.constants_from = 1;
      expect_matches_cpu(call, true);
    }
  }
}

// A crop of the last dim whose output only a cast reads (GPT-2's padded logits, stored bf16,
// delivered float32): the plan folds the cast into the copy, which runs one block per row
// for rows of 1024 and more (and the general strided kernel below that), storing 16-byte
// words between each output row's unaligned head and tail (1030 and 1031 floats a row put
// every row start at a different alignment). Exact: bf16 widens to float32 without rounding.
TEST(CopyFastPaths, ARowCropConvertingToItsOutputDtypeMatchesTheCpu) {
  KILN_REQUIRE_GPU();
  for (int64_t cols : {int64_t(1030), int64_t(1031), int64_t(300)}) {
    ir::Graph graph;
    ir::Value* x = graph.add_input("x", DType::Float32, ir::Shape::from_dims({5, cols + 9}));
    ir::Node* relu = graph.add_node("Relu", "relu", {x}, {"r"});
    relu->precision = Precision::BF16;
    auto ints = [&](int64_t value) {
      return graph.add_constant(graph.unique_name("c"), Tensor::from_vector<int64_t>({1}, {value}));
    };
    ir::Node* crop =
        graph.add_node("Slice", "crop", {relu->outputs[0], ints(0), ints(cols), ints(1)}, {"y"});
    graph.add_output(crop->outputs[0]);
    ir::infer_graph(graph);
    std::map<std::string, Tensor> inputs = {{"x", random_data(DType::Float32, {5, cols + 9}, 3)}};
    Tensor expected = cpu::Executor(graph).run(inputs)[0];
    cuda::CudaExecutor executor(graph, {}, {.poison_values = true});
    Tensor actual = executor.run(inputs)[0];
    expect_same(actual, expected, /*exact=*/true, "crop of " + std::to_string(cols));
  }
}

// A network's float32 NCHW input entering a bf16 channels-last region: the cast folds into
// the Transpose, which converts on the way through the narrow-row kernel (3 channels).
TEST(CopyFastPaths, ANarrowTransposeConvertingToItsReadersDtypeMatchesTheCpu) {
  KILN_REQUIRE_GPU();
  const Dims dims{2, 3, 40, 36};
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, ir::Shape::from_dims(dims));
  ir::Node* to_nhwc = graph.add_node("Transpose", "to_nhwc", {x}, {"nhwc"});
  to_nhwc->attrs["perm"] = std::vector<int64_t>{0, 2, 3, 1};
  ir::Node* relu = graph.add_node("Relu", "relu", {to_nhwc->outputs[0]}, {"y"});
  relu->precision = Precision::BF16;
  graph.add_output(relu->outputs[0]);
  ir::infer_graph(graph);
  std::map<std::string, Tensor> inputs = {{"x", random_data(DType::Float32, dims, 5)}};
  Tensor expected = cpu::Executor(graph).run(inputs)[0];
  cuda::CudaExecutor executor(graph, {}, {.poison_values = true});
  Tensor actual = executor.run(inputs)[0];
  expect_same(actual, expected, /*exact=*/true, "narrow converting transpose");
}

}  // namespace
}  // namespace kiln
