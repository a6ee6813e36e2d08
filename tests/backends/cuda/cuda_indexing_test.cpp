// The CUDA kernels of the indexing ops (GatherElements, GatherND, Trilu, CumSum) and the shape
// ops (Reshape family, Shape, Size, ConstantOfShape, Range), called directly on device tensors
// and compared with the CPU reference kernels on the same random inputs, in every storage
// dtype. Outputs are poisoned (0xFF bytes: NaN for floats, -1 for integers) before launch, and
// integer data is drawn from [0, 100) so that -1 is never an expected value; data movement
// must match bit for bit.
#include <cstring>

#include "backends/cpu/executor.h"
#include "backends/cpu/kernel.h"
#include "backends/cuda/kernels/cuda_check.h"
#include "backends/cuda/ops/cuda_kernel.h"
#include "backends/cuda/runtime/cuda_executor.h"
#include "cuda_test_util.h"
#include "ir/op_schema.h"
#include "passes/passes.h"

namespace kiln {
namespace {

using Attrs = std::map<std::string, ir::AttrValue>;

constexpr DType kDataDTypes[] = {DType::Float32, DType::Float16, DType::BFloat16, DType::Int32,
                                 DType::Int64,   DType::UInt8,   DType::Bool};
constexpr DType kNumericDTypes[] = {DType::Float32, DType::Float16, DType::BFloat16, DType::Int32,
                                    DType::Int64};
constexpr DType kIndexDTypes[] = {DType::Int32, DType::Int64};

Precision precision_of(DType storage) {
  if (storage == DType::Float16) return Precision::FP16;
  if (storage == DType::BFloat16) return Precision::BF16;
  return Precision::FP32;
}

// Never the poison pattern: floats in [-3, 3), integers in [0, 100), bools 0 or 1.
Tensor random_data(DType dtype, const Dims& dims, uint32_t seed) {
  if (is_floating(dtype)) return cuda_test::random_tensor(dtype, dims, -3, 3, seed);
  return cuda_test::random_tensor(dtype, dims, 0, dtype == DType::Bool ? 2 : 100, seed);
}

// Indices in [-bound, bound): negative ones exercise the wrap-around.
Tensor random_indices(DType dtype, const Dims& dims, int64_t bound, uint32_t seed) {
  return cuda_test::random_tensor(dtype, dims, double(-bound), double(bound), seed);
}

// One `op` node in `graph` reading fresh graph inputs shaped like `inputs`.
const ir::Node& add_op(ir::Graph& graph, const std::string& name, const std::string& op,
                       const std::vector<Tensor>& inputs, const Attrs& attrs) {
  std::vector<ir::Value*> args;
  for (size_t i = 0; i < inputs.size(); ++i) {
    args.push_back(graph.add_input(name + "_in" + std::to_string(i), inputs[i].dtype(),
                                   ir::Shape::from_dims(inputs[i].dims())));
  }
  ir::Node* node = graph.add_node(op, name, args, {name + "_out"});
  node->attrs = attrs;
  return *node;
}

// Device copies of test tensors and one stream to launch on; frees everything at the end.
class Harness {
 public:
  Harness() : stream_(cuda::create_stream()) { context_.stream = stream_.get(); }

  cuda::DeviceTensor upload(const Tensor& tensor) {
    cuda::DeviceTensor device = allocate(tensor.dtype(), tensor.dims());
    if (tensor.nbytes() > 0) {
      KILN_CUDA_CHECK(cudaMemcpyAsync(device.data, tensor.raw(), tensor.nbytes(),
                                      cudaMemcpyHostToDevice, context_.stream));
      KILN_CUDA_CHECK(cudaStreamSynchronize(context_.stream));  // `tensor` may go away now
    }
    return device;
  }
  // Filled with 0xFF bytes, so that an element the kernel leaves unwritten is caught.
  cuda::DeviceTensor poisoned(DType dtype, const Dims& dims) {
    cuda::DeviceTensor device = allocate(dtype, dims);
    if (device.nbytes() > 0) {
      KILN_CUDA_CHECK(cudaMemsetAsync(device.data, 0xFF, device.nbytes(), context_.stream));
    }
    return device;
  }
  // Queues the node's CUDA kernel on the stream; nothing waits for it.
  void launch(const ir::Node& node, const std::vector<cuda::DeviceTensor>& inputs,
              cuda::DeviceTensor& output) {
    cuda::CudaKernel kernel = cuda::find_cuda_kernel(node.op);
    check(kernel != nullptr, ErrorKind::Unsupported, node.describe(), ": no CUDA kernel");
    kernel(context_, node, inputs, std::span<cuda::DeviceTensor>(&output, 1));
  }
  Tensor download(const cuda::DeviceTensor& device) {
    KILN_CUDA_CHECK(cudaStreamSynchronize(context_.stream));
    Tensor host(device.dtype, device.dims);
    if (host.nbytes() > 0) {
      KILN_CUDA_CHECK(
          cudaMemcpy(host.raw_mutable(), device.data, host.nbytes(), cudaMemcpyDeviceToHost));
    }
    return host;
  }
  cudaStream_t stream() const { return context_.stream; }

 private:
  cuda::DeviceTensor allocate(DType dtype, const Dims& dims) {
    cuda::DeviceTensor device{dtype, dims, nullptr};
    buffers_.emplace_back(device.nbytes());
    device.data = buffers_.back().data();
    return device;
  }

  cuda::Stream stream_;
  cuda::LaunchContext context_;
  std::vector<cuda::DeviceBuffer> buffers_;
};

// The CPU reference's output, in the storage dtype the GPU writes (float16 and bfloat16
// inputs are widened for the CPU kernel; its float32 result is rounded back).
Tensor cpu_reference(const ir::Node& node, const std::vector<Tensor>& inputs) {
  Tensor expected = cpu::run_node(node, inputs).at(0);
  DType storage = inputs.empty() ? DType::Undefined : inputs[0].dtype();
  bool narrow = storage == DType::Float16 || storage == DType::BFloat16;
  return narrow && expected.dtype() == DType::Float32 ? expected.to(storage) : expected;
}

// Index of the first element whose bytes differ, or -1.
int64_t first_mismatch(const Tensor& actual, const Tensor& expected) {
  size_t element = dtype_size(expected.dtype());
  const auto* a = static_cast<const std::byte*>(actual.raw());
  const auto* b = static_cast<const std::byte*>(expected.raw());
  for (int64_t i = 0; i < expected.numel(); ++i) {
    if (std::memcmp(a + size_t(i) * element, b + size_t(i) * element, element) != 0) return i;
  }
  return -1;
}

// Bit for bit when `exact` (data movement, integer sums); otherwise within the tolerance of
// the storage dtype (NaN never passes).
void expect_same(const Tensor& actual, const Tensor& expected, bool exact,
                 const std::string& what) {
  ASSERT_EQ(actual.dtype(), expected.dtype()) << what;
  ASSERT_EQ(actual.dims(), expected.dims()) << what;
  if (exact) {
    EXPECT_EQ(first_mismatch(actual, expected), -1) << what << ": first element that differs";
  } else {
    double error = normalized_error(actual, expected);
    EXPECT_LE(error, cuda_test::tolerance_for(precision_of(expected.dtype())))
        << what << ": normalized error " << error;
  }
}

// Runs one `op` node through its CUDA kernel and through the CPU reference on `inputs`.
void expect_matches_cpu(const std::string& op, const std::vector<Tensor>& inputs,
                        const Attrs& attrs, bool exact, const std::string& what) {
  ir::Graph graph;
  const ir::Node& node = add_op(graph, op, op, inputs, attrs);
  Tensor expected = cpu_reference(node, inputs);
  Harness harness;
  std::vector<cuda::DeviceTensor> device_inputs;
  for (const Tensor& input : inputs) device_inputs.push_back(harness.upload(input));
  cuda::DeviceTensor output = harness.poisoned(expected.dtype(), expected.dims());
  harness.launch(node, device_inputs, output);
  expect_same(harness.download(output), expected, exact, what);
}

std::string describe(DType dtype, const std::string& detail) {
  return std::string(dtype_name(dtype)) + " " + detail;
}

TEST(CudaIndexingTest, GatherElementsMatchesCpu) {
  KILN_REQUIRE_GPU();
  uint32_t seed = 1;
  for (DType dtype : kDataDTypes) {
    for (DType index_dtype : kIndexDTypes) {
      Tensor data = random_data(dtype, {4, 5, 6}, seed++);
      for (int64_t axis : {0, 1, -1}) {
        size_t on_axis = size_t(axis < 0 ? axis + 3 : axis);
        Dims index_dims = {3, 5, 4};
        index_dims[on_axis] = 7;  // the gathered axis may be longer than the data's
        Tensor indices = random_indices(index_dtype, index_dims, data.dims()[on_axis], seed++);
        expect_matches_cpu("GatherElements", {data, indices}, {{"axis", axis}}, true,
                           describe(dtype, "axis " + std::to_string(axis)));
      }
    }
  }
}

TEST(CudaIndexingTest, GatherNdMatchesCpu) {
  KILN_REQUIRE_GPU();
  struct Shapes {
    Dims data;
    Dims indices;
    int64_t batch_dims;
    int64_t bound;  // the smallest addressed data dim
  };
  const Shapes shapes[] = {{{4, 5, 6}, {3, 2}, 0, 4},         // slices of 6
                           {{4, 5, 6}, {2, 3, 3}, 0, 4},      // single elements
                           {{4, 5, 6}, {4, 2, 1}, 1, 5},      // one lookup axis per batch
                           {{3, 4, 5, 2}, {3, 4, 2}, 2, 2}};  // two batch dims
  uint32_t seed = 100;
  for (DType dtype : kDataDTypes) {
    for (DType index_dtype : kIndexDTypes) {
      for (const Shapes& s : shapes) {
        Tensor data = random_data(dtype, s.data, seed++);
        Tensor indices = random_indices(index_dtype, s.indices, s.bound, seed++);
        expect_matches_cpu("GatherND", {data, indices}, {{"batch_dims", s.batch_dims}}, true,
                           describe(dtype, "data " + dims_to_string(s.data) + " indices " +
                                               dims_to_string(s.indices)));
      }
    }
  }
}

TEST(CudaIndexingTest, OutOfRangeIndicesGiveZeros) {
  KILN_REQUIRE_GPU();
  Tensor data = Tensor::from_vector<float>({2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
  Harness harness;
  {
    ir::Graph graph;
    Tensor indices = Tensor::from_vector<int64_t>({2, 3}, {0, 9, -1, -5, 3, 2});
    const ir::Node& node =
        add_op(graph, "elements", "GatherElements", {data, indices}, {{"axis", int64_t(1)}});
    cuda::DeviceTensor out = harness.poisoned(DType::Float32, {2, 3});
    harness.launch(node, {harness.upload(data), harness.upload(indices)}, out);
    expect_same(harness.download(out), Tensor::from_vector<float>({2, 3}, {1, 0, 4, 0, 8, 7}), true,
                "GatherElements");
  }
  {
    ir::Graph graph;
    Tensor indices = Tensor::from_vector<int32_t>({3, 1}, {1, 7, -3});
    const ir::Node& node = add_op(graph, "nd", "GatherND", {data, indices}, {});
    cuda::DeviceTensor out = harness.poisoned(DType::Float32, {3, 4});
    harness.launch(node, {harness.upload(data), harness.upload(indices)}, out);
    expect_same(harness.download(out),
                Tensor::from_vector<float>({3, 4}, {5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0}), true,
                "GatherND");
  }
}

TEST(CudaIndexingTest, TriluMatchesCpu) {
  KILN_REQUIRE_GPU();
  uint32_t seed = 200;
  for (DType dtype : kDataDTypes) {
    for (const Dims& dims : {Dims{2, 5, 7}, Dims{6, 3}}) {
      Tensor x = random_data(dtype, dims, seed++);
      for (int64_t upper : {0, 1}) {
        std::string detail = dims_to_string(dims) + " upper " + std::to_string(upper);
        expect_matches_cpu("Trilu", {x}, {{"upper", upper}}, true, describe(dtype, detail));
        for (int64_t k : {-1, 2, 10}) {
          expect_matches_cpu("Trilu", {x, Tensor::scalar<int64_t>(k)}, {{"upper", upper}}, true,
                             describe(dtype, detail + " k " + std::to_string(k)));
        }
      }
    }
  }
}

TEST(CudaIndexingTest, CumSumMatchesCpu) {
  KILN_REQUIRE_GPU();
  struct Shape {
    Dims dims;
    int64_t axis;
  };
  // Long rows (block scan, several chunks), short strided lines (one thread each), and long
  // strided lines (block scan with a stride).
  const Shape shapes[] = {
      {{3, 300}, 1}, {{1000}, 0}, {{2, 5, 7}, 1}, {{40, 3}, 0}, {{2, 130, 3}, -2}};
  uint32_t seed = 300;
  for (DType dtype : kNumericDTypes) {
    for (const Shape& s : shapes) {
      Tensor x = random_data(dtype, s.dims, seed++);
      for (int64_t exclusive : {0, 1}) {
        for (int64_t reverse : {0, 1}) {
          std::string detail = dims_to_string(s.dims) + " axis " + std::to_string(s.axis) +
                               " exclusive " + std::to_string(exclusive) + " reverse " +
                               std::to_string(reverse);
          expect_matches_cpu("CumSum", {x},
                             {{"axis", s.axis}, {"exclusive", exclusive}, {"reverse", reverse}},
                             !is_floating(dtype), describe(dtype, detail));
        }
      }
    }
  }
}

TEST(CudaShapeOpsTest, ReshapeFamilyCopies) {
  KILN_REQUIRE_GPU();
  uint32_t seed = 400;
  for (DType dtype : kDataDTypes) {
    Tensor x = random_data(dtype, {2, 3, 4}, seed++);
    expect_matches_cpu("Reshape", {x, Tensor::from_vector<int64_t>({2}, {6, -1})}, {}, true,
                       describe(dtype, "Reshape"));
    expect_matches_cpu("Flatten", {x}, {{"axis", int64_t(2)}}, true, describe(dtype, "Flatten"));
    expect_matches_cpu("Unsqueeze", {x}, {{"axes", std::vector<int64_t>{0, 4}}}, true,
                       describe(dtype, "Unsqueeze"));
    Tensor y = random_data(dtype, {2, 1, 3}, seed++);
    expect_matches_cpu("Squeeze", {y}, {{"axes", std::vector<int64_t>{1}}}, true,
                       describe(dtype, "Squeeze"));
  }
}

TEST(CudaShapeOpsTest, ShapeAndSizeMatchCpu) {
  KILN_REQUIRE_GPU();
  Tensor x = random_data(DType::Float16, {2, 3, 4, 5}, 500);
  const Attrs bounds[] = {{},
                          {{"start", int64_t(1)}},
                          {{"end", int64_t(-1)}},
                          {{"start", int64_t(-3)}, {"end", int64_t(3)}},
                          {{"start", int64_t(3)}, {"end", int64_t(1)}}};
  for (const Attrs& attrs : bounds)
    expect_matches_cpu("Shape", {x}, attrs, true, "Shape of [2, 3, 4, 5]");
  // More dims than one launch writes.
  Tensor tall = random_data(DType::Int32, {2, 1, 3, 1, 2, 1, 2, 1, 3, 2}, 501);
  expect_matches_cpu("Shape", {tall}, {}, true, "Shape of rank 10");
  expect_matches_cpu("Size", {x}, {}, true, "Size of [2, 3, 4, 5]");
  expect_matches_cpu("Size", {Tensor::scalar<float>(2.f)}, {}, true, "Size of a scalar");
}

TEST(CudaShapeOpsTest, ConstantOfShapeMatchesCpu) {
  KILN_REQUIRE_GPU();
  Tensor shape = Tensor::from_vector<int64_t>({3}, {3, 4, 5});
  const Tensor values[] = {Tensor::from_vector<float>({1}, {2.5f}),
                           Tensor::from_vector<float>({1}, {-1.75f}).to(DType::Float16),
                           Tensor::from_vector<float>({1}, {3.25f}).to(DType::BFloat16),
                           Tensor::from_vector<int32_t>({1}, {-3}),
                           Tensor::from_vector<int64_t>({1}, {7}),
                           Tensor::from_vector<bool>({1}, {true})};
  for (const Tensor& value : values) {
    expect_matches_cpu("ConstantOfShape", {shape}, {{"value", value}}, true,
                       describe(value.dtype(), "ConstantOfShape"));
  }
  expect_matches_cpu("ConstantOfShape", {shape}, {}, true, "ConstantOfShape without a value");
}

TEST(CudaShapeOpsTest, RangeMatchesCpu) {
  KILN_REQUIRE_GPU();
  for (DType dtype : {DType::Float32, DType::Float16, DType::BFloat16}) {
    auto scalar = [dtype](float value) { return Tensor::scalar<float>(value).to(dtype); };
    expect_matches_cpu("Range", {scalar(1.5f), scalar(90.f), scalar(0.75f)}, {}, false,
                       describe(dtype, "up"));
    expect_matches_cpu("Range", {scalar(4.f), scalar(-6.f), scalar(-0.5f)}, {}, false,
                       describe(dtype, "down"));
  }
  auto ints32 = [](int32_t value) { return Tensor::scalar<int32_t>(value); };
  expect_matches_cpu("Range", {ints32(-5), ints32(400), ints32(3)}, {}, true, "int32 up");
  auto ints64 = [](int64_t value) { return Tensor::scalar<int64_t>(value); };
  expect_matches_cpu("Range", {ints64(10), ints64(-800), ints64(-3)}, {}, true, "int64 down");
  expect_matches_cpu("Range", {ints64(3), ints64(3), ints64(1)}, {}, true, "int64 empty");
}

// No launch may wait for the host: the kernels are captured into a CUDA graph, which is
// then replayed, and the results must match the CPU reference.
TEST(CudaShapeOpsTest, KernelsCaptureIntoCudaGraph) {
  KILN_REQUIRE_GPU();
  struct Call {
    std::string op;
    std::vector<Tensor> inputs;
    Attrs attrs;
    bool exact;
  };
  const std::vector<Call> calls = {
      {"Shape", {random_data(DType::Float32, {2, 3, 4}, 600)}, {}, true},
      {"Size", {random_data(DType::Float32, {2, 3, 4}, 601)}, {}, true},
      {"Range",
       {Tensor::scalar<float>(0.5f), Tensor::scalar<float>(30.f), Tensor::scalar<float>(0.25f)},
       {},
       false},
      {"ConstantOfShape",
       {Tensor::from_vector<int64_t>({2}, {5, 6})},
       {{"value", Tensor::from_vector<int64_t>({1}, {9})}},
       true},
      {"Trilu",
       {random_data(DType::BFloat16, {3, 8, 8}, 602), Tensor::scalar<int64_t>(1)},
       {},
       true},
      {"CumSum", {random_data(DType::Float32, {2, 500}, 603)}, {{"axis", int64_t(1)}}, false},
      {"GatherND",
       {random_data(DType::Float16, {4, 5}, 604), random_indices(DType::Int64, {3, 2}, 4, 605)},
       {},
       true},
      {"GatherElements",
       {random_data(DType::Int64, {4, 5}, 606), random_indices(DType::Int32, {4, 3}, 5, 607)},
       {{"axis", int64_t(1)}},
       true},
  };
  ir::Graph graph;
  Harness harness;
  std::vector<const ir::Node*> nodes;
  std::vector<std::vector<cuda::DeviceTensor>> device_inputs;
  std::vector<cuda::DeviceTensor> outputs;
  std::vector<Tensor> expected;
  for (size_t i = 0; i < calls.size(); ++i) {
    nodes.push_back(
        &add_op(graph, "node" + std::to_string(i), calls[i].op, calls[i].inputs, calls[i].attrs));
    expected.push_back(cpu_reference(*nodes.back(), calls[i].inputs));
    device_inputs.emplace_back();
    for (const Tensor& input : calls[i].inputs)
      device_inputs.back().push_back(harness.upload(input));
    outputs.push_back(harness.poisoned(expected.back().dtype(), expected.back().dims()));
  }
  KILN_CUDA_CHECK(cudaStreamSynchronize(harness.stream()));
  cudaGraph_t captured = nullptr;
  KILN_CUDA_CHECK(cudaStreamBeginCapture(harness.stream(), cudaStreamCaptureModeThreadLocal));
  try {
    for (size_t i = 0; i < calls.size(); ++i)
      harness.launch(*nodes[i], device_inputs[i], outputs[i]);
  } catch (const Error& error) {
    (void)cudaStreamEndCapture(harness.stream(), &captured);
    if (captured != nullptr) cudaGraphDestroy(captured);
    FAIL() << "launch during capture failed: " << error.what();
  }
  KILN_CUDA_CHECK(cudaStreamEndCapture(harness.stream(), &captured));
  cudaGraphExec_t exec = nullptr;
  cudaError_t instantiated = cudaGraphInstantiate(&exec, captured, 0);
  cudaGraphDestroy(captured);
  KILN_CUDA_CHECK(instantiated);
  KILN_CUDA_CHECK(cudaGraphLaunch(exec, harness.stream()));
  KILN_CUDA_CHECK(cudaStreamSynchronize(harness.stream()));
  KILN_CUDA_CHECK(cudaGraphExecDestroy(exec));
  for (size_t i = 0; i < calls.size(); ++i) {
    expect_same(harness.download(outputs[i]), expected[i], calls[i].exact,
                calls[i].op + " replayed");
  }
}

// The kernels are in the executor's table: a graph of them runs with no host fallback, in
// each precision, and matches the CPU executor.
TEST(CudaIndexingTest, RunsInExecutorWithoutHostFallback) {
  KILN_REQUIRE_GPU();
  for (Precision precision : {Precision::FP32, Precision::FP16, Precision::BF16}) {
    ir::Graph graph;
    ir::Value* x = graph.add_input("x", DType::Float32, ir::Shape::from_dims({4, 70, 70}));
    ir::Value* indices = graph.add_input("indices", DType::Int64, ir::Shape::from_dims({4, 70, 9}));
    ir::Node* cumsum = graph.add_node("CumSum", "cumsum", {x}, {"sums"});
    cumsum->attrs = {{"axis", int64_t(1)}, {"reverse", int64_t(1)}};
    ir::Value* k = graph.add_constant("k", Tensor::scalar<int64_t>(-2));
    ir::Node* trilu = graph.add_node("Trilu", "trilu", {cumsum->outputs[0], k}, {"lower"});
    trilu->attrs = {{"upper", int64_t(0)}};
    ir::Node* gather =
        graph.add_node("GatherElements", "gather", {trilu->outputs[0], indices}, {"y"});
    gather->attrs = {{"axis", int64_t(2)}};
    graph.add_output(gather->outputs[0]);
    ir::infer_graph(graph);
    passes::assign_precisions(graph, {Precision::FP32, precision}, false);
    std::map<std::string, Tensor> inputs = {
        {"x", random_data(DType::Float32, {4, 70, 70}, 700)},
        {"indices", random_indices(DType::Int64, {4, 70, 9}, 70, 701)}};
    std::vector<Tensor> expected = cpu::Executor(graph).run(inputs);
    cuda::CudaExecutor executor(graph, {}, {.poison_values = true});
    std::vector<Tensor> actual = executor.run(inputs);
    EXPECT_TRUE(executor.host_nodes().empty()) << "ran on the host: " << executor.host_nodes()[0];
    ASSERT_EQ(actual.size(), 1u);
    double error = normalized_error(actual[0], expected[0]);
    EXPECT_LE(error, cuda_test::tolerance_for(precision))
        << precision_name(precision) << ": normalized error " << error;
  }
}

}  // namespace
}  // namespace kiln
