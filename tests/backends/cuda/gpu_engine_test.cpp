// The GPU engine and its execution contexts, whole models rather than one op: the timed
// build, the engine file round trip on the GPU, several contexts on several threads, CUDA
// graph replay, caller-owned buffers, and engine files the GPU runtime must refuse.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

#include "backends/cuda/kernels/cuda_check.h"
#include "backends/cuda/runtime/execution_context.h"
#include "backends/cuda/runtime/layer_timer.h"
#include "core/tensor_io.h"
#include "cuda_test_util.h"
#include "engine/build_engine.h"
#include "fixture_util.h"
#include "ir/op_schema.h"
#include "kiln/kiln.h"
#include "passes/passes.h"

namespace kiln {
namespace {

using cuda_test::dims_of;
using cuda_test::fixture_folder;
using cuda_test::fixture_inputs;
using cuda_test::same_bits;

struct TempDir {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("kiln_gpu_engine_" + std::to_string(::getpid()));
  TempDir() { std::filesystem::create_directories(path); }
  ~TempDir() { std::filesystem::remove_all(path); }
};

// A timed {fp32, bf16} build of a fixture, as `kiln build` makes it.
engine::BuildResult timed_build(const std::string& name, const std::set<Precision>& enabled,
                                engine::TimingCache* cache = nullptr) {
  engine::BuildConfig config;
  config.enabled_precisions = enabled;
  config.tuned_input_dims = dims_of(fixture_inputs(name));
  cuda::GpuLayerTimer timer(config.workspace_bytes);
  return engine::build_engine(load_model(fixture_folder(name) / (name + "_fp32.onnx")), config,
                              &timer, cache);
}

class TimedBuildTest : public testing::TestWithParam<std::string> {};

// Every fixture, built with timing in {fp32, bf16}, written, loaded by the GPU runtime and
// run: within bf16's tolerance of PyTorch FP32, and bit-identical to the in-memory engine.
TEST_P(TimedBuildTest, BuildSaveLoadRunMatchesPyTorch) {
  KILN_REQUIRE_GPU();
  const std::string name = GetParam();
  std::map<std::string, Tensor> inputs = fixture_inputs(name);
  Tensor reference =
      read_safetensors(fixture_folder(name) / (name + "_fp32_outputs.safetensors")).at("output_0");
  engine::TimingCache cache;
  engine::BuildResult built = timed_build(name, {Precision::FP32, Precision::BF16}, &cache);
  EXPECT_GT(built.layers_timed, 0u) << "nothing was timed";
  EXPECT_EQ(built.header.gpu_architecture, cuda::architecture_name(cuda::compute_capability()));
  for (const auto& [layer, times] : built.layer_timings) {
    for (const auto& [precision, ms] : times) EXPECT_TRUE(ms > 0 && ms < 1e4) << layer << " " << ms;
  }
  TempDir dir;
  std::filesystem::path file = dir.path / (name + ".kiln");
  engine::write_engine(file, built.graph, built.config, built.header, built.layer_timings);

  auto loaded = cuda::Engine::load(file);
  cuda::ExecutionContext from_file(loaded, dims_of(inputs), {.poison_values = true});
  std::vector<Tensor> outputs = from_file.run(inputs);
  ASSERT_EQ(outputs.size(), 1u);
  double error = normalized_error(outputs[0], reference);
  EXPECT_LE(error, 2e-2) << name << ": normalized error against PyTorch FP32 " << error;
  EXPECT_TRUE(from_file.host_nodes().empty()) << from_file.host_nodes().front();

  auto in_memory = std::make_shared<cuda::Engine>(ir::copy_graph(built.graph));
  cuda::ExecutionContext direct(in_memory, dims_of(inputs));
  EXPECT_TRUE(same_bits(direct.run(inputs)[0], outputs[0])) << "engine file changed the results";

  // A second build with the cache times nothing.
  engine::BuildResult again = timed_build(name, {Precision::FP32, Precision::BF16}, &cache);
  EXPECT_EQ(again.layers_timed, 0u);
  EXPECT_EQ(again.timings_cached, built.layers_timed + built.timings_cached);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TimedBuildTest,
                         testing::Values("mlp", "resnet", "gpt2", "bert"));

// One engine, eight threads, each with its own context and stream, 1000 inferences each:
// every result identical to a single-threaded run.
TEST(ExecutionContextTest, EightThreadsShareOneEngine) {
  KILN_REQUIRE_GPU();
  std::map<std::string, Tensor> inputs = fixture_inputs("mlp");
  ir::Graph graph = load_model(fixture_folder("mlp") / "mlp_fp32.onnx");
  passes::assign_precisions(graph, {Precision::FP32, Precision::BF16}, false);
  auto engine = std::make_shared<cuda::Engine>(std::move(graph));
  Tensor expected = cuda::ExecutionContext(engine, dims_of(inputs)).run(inputs)[0];

  constexpr int kThreads = 8;
  constexpr int kInferences = 1000;
  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      try {
        cuda::ExecutionContext context(engine, dims_of(inputs));
        context.run(inputs);  // uploads the inputs
        cuda::Stream stream = cuda::create_stream();
        const cuda::DeviceTensor& out = context.output(context.output_names()[0]);
        Tensor host(out.dtype, out.dims);
        for (int i = 0; i < kInferences; ++i) {
          context.enqueue(stream.get());
          if (i % 100 != 99) continue;  // check every hundredth result
          KILN_CUDA_CHECK(cudaMemcpyAsync(host.raw_mutable(), out.data, host.nbytes(),
                                          cudaMemcpyDeviceToHost, stream.get()));
          KILN_CUDA_CHECK(cudaStreamSynchronize(stream.get()));
          if (!same_bits(host, expected)) ++mismatches[size_t(t)];
        }
      } catch (const std::exception& error) {
        errors[size_t(t)] = error.what();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(errors[size_t(t)], "") << "thread " << t;
    EXPECT_EQ(mismatches[size_t(t)], 0) << "thread " << t;
  }
}

// Replaying a captured CUDA graph gives the plain enqueue's results, also after the inputs
// change in place, and after binding caller-owned buffers (which re-captures).
TEST(ExecutionContextTest, CudaGraphReplayAndCallerBuffers) {
  KILN_REQUIRE_GPU();
  for (const std::string name : {"resnet", "gpt2"}) {
    std::map<std::string, Tensor> inputs = fixture_inputs(name);
    ir::Graph graph = load_model(fixture_folder(name) / (name + "_fp32.onnx"));
    passes::fuse_epilogues(graph);
    passes::assign_precisions(graph, {Precision::FP32, Precision::BF16}, false);
    auto engine = std::make_shared<cuda::Engine>(std::move(graph));
    cuda::ExecutionContext context(engine, dims_of(inputs));
    Tensor plain = context.run(inputs)[0];
    ASSERT_TRUE(context.host_nodes().empty()) << name << ": " << context.host_nodes().front();
    context.use_cuda_graph(true);
    EXPECT_TRUE(same_bits(context.run(inputs)[0], plain)) << name << ": first replay";
    EXPECT_TRUE(same_bits(context.run(inputs)[0], plain)) << name << ": second replay";

    const std::string output = context.output_names()[0];
    const cuda::DeviceTensor& planned = context.output(output);
    cuda::DeviceBuffer mine(planned.nbytes());
    void* own = planned.data;
    EXPECT_TRUE(context.can_bind(output));
    context.set_tensor_address(output, mine.data());
    EXPECT_EQ(context.output(output).data, mine.data());
    EXPECT_TRUE(same_bits(context.run(inputs)[0], plain)) << name << ": caller-owned output";
    // Null goes back to the context's own buffer (the Python module unbinds after each run).
    context.set_tensor_address(output, nullptr);
    EXPECT_EQ(context.output(output).data, own);
    // The graph captured with the own buffer is kept, and so is the caller buffer's.
    EXPECT_TRUE(context.replays_graph()) << name << ": own buffer's graph was dropped";
    EXPECT_TRUE(same_bits(context.run(inputs)[0], plain)) << name << ": own buffer again";
    context.set_tensor_address(output, mine.data());
    EXPECT_TRUE(context.replays_graph()) << name << ": caller buffer's graph was dropped";
    // Replayed with the caller's buffer: the output lands there, not in the own buffer.
    KILN_CUDA_CHECK(cudaMemset(own, 0xFF, planned.nbytes()));
    KILN_CUDA_CHECK(cudaMemset(mine.data(), 0xFF, planned.nbytes()));
    cuda::Stream stream = cuda::create_stream();
    context.enqueue(stream.get());
    KILN_CUDA_CHECK(cudaStreamSynchronize(stream.get()));
    Tensor landed(planned.dtype, planned.dims);
    KILN_CUDA_CHECK(
        cudaMemcpy(landed.raw_mutable(), mine.data(), landed.nbytes(), cudaMemcpyDeviceToHost));
    EXPECT_TRUE(same_bits(landed, plain)) << name << ": kept graph replayed with the caller buffer";
    // More address sets than the cache keeps: the oldest are captured again, still right.
    std::vector<cuda::DeviceBuffer> others;
    for (size_t i = 0; i <= cuda::kCapturedGraphs; ++i) {
      others.emplace_back(planned.nbytes());
      context.set_tensor_address(output, others.back().data());
      EXPECT_FALSE(context.replays_graph());
      context.enqueue(stream.get());
    }
    context.set_tensor_address(output, mine.data());
    EXPECT_FALSE(context.replays_graph()) << name << ": more graphs kept than kCapturedGraphs";
    context.set_tensor_address(output, nullptr);
    EXPECT_TRUE(same_bits(context.run(inputs)[0], plain)) << name << ": after evictions";
  }
}

TEST(ExecutionContextTest, WrongInputsAreClearErrors) {
  KILN_REQUIRE_GPU();
  std::map<std::string, Tensor> inputs = fixture_inputs("mlp");
  auto engine = std::make_shared<cuda::Engine>(load_model(fixture_folder("mlp") / "mlp_fp32.onnx"));
  cuda::ExecutionContext context(engine, dims_of(inputs));
  std::map<std::string, Tensor> wrong = inputs;
  Tensor& first = wrong.begin()->second;
  Dims dims = first.dims();
  dims[0] += 1;
  first = Tensor(first.dtype(), dims);
  EXPECT_THROW(context.run(wrong), Error);
  EXPECT_THROW(context.run({}), Error);
  EXPECT_THROW(context.input("no such input"), Error);
  EXPECT_THROW(context.set_tensor_address("no such tensor", nullptr), Error);
}

// q, k, v = qkv[0], qkv[1], qkv[-1]: a Gather of one index along axis 0 whose block starts
// 256-byte aligned is read in place (no step); an unaligned block is still copied. Outputs
// match the CPU reference, plain and replayed as a CUDA graph.
TEST(ExecutionContextTest, LeadingAxisSelectsAreViews) {
  KILN_REQUIRE_GPU();
  auto make = [] {
    ir::Graph graph;
    auto select = [&](ir::Value* from, int64_t index, const std::string& name) {
      ir::Value* i = graph.add_constant(name + "_index", Tensor::from_vector<int64_t>({}, {index}));
      ir::Value* picked = graph.add_node("Gather", name, {from, i}, {name + "_out"})->outputs[0];
      graph.add_output(graph.add_node("Relu", name + "_relu", {picked}, {name + "_y"})->outputs[0]);
    };
    ir::Value* x = graph.add_input("x", DType::Float32, ir::Shape::from_dims({3, 8, 64}));
    ir::Value* qkv = graph.add_node("Add", "qkv", {x, x}, {"qkv_out"})->outputs[0];
    select(qkv, 1, "k");  // 2048-byte blocks: views
    select(qkv, -1, "v");
    ir::Value* odd = graph.add_input("odd", DType::Float32, ir::Shape::from_dims({3, 5, 3}));
    ir::Value* odd_sum = graph.add_node("Add", "odd_sum", {odd, odd}, {"odd_sum_out"})->outputs[0];
    select(odd_sum, 2, "unaligned");  // 60-byte blocks: copied
    ir::infer_graph(graph);
    return graph;
  };
  std::map<std::string, Tensor> inputs = make_random_inputs(make(), 3);
  std::map<std::string, Tensor> expected = CpuSession(make(), {Precision::FP32}, false).run(inputs);
  auto engine = std::make_shared<cuda::Engine>(make());
  cuda::ExecutionContext context(engine, dims_of(inputs), {.poison_values = true});
  std::vector<std::string> launched;
  cuda::Stream stream = cuda::create_stream();
  for (const cuda::LayerTime& layer : context.profile_layers(stream.get(), 1))
    launched.push_back(layer.name);
  EXPECT_EQ(std::count(launched.begin(), launched.end(), "k"), 0);
  EXPECT_EQ(std::count(launched.begin(), launched.end(), "v"), 0);
  EXPECT_EQ(std::count(launched.begin(), launched.end(), "unaligned"), 1);
  for (bool graph_replay : {false, true, true}) {
    context.use_cuda_graph(graph_replay);
    std::vector<Tensor> outputs = context.run(inputs);
    std::vector<std::string> names = context.output_names();
    ASSERT_EQ(outputs.size(), names.size());
    for (size_t i = 0; i < names.size(); ++i) {
      EXPECT_TRUE(same_bits(outputs[i], expected.at(names[i])))
          << names[i] << (graph_replay ? " (CUDA graph)" : "");
    }
  }
}

// Files the GPU runtime must refuse: another architecture, truncated, corrupted.
TEST(GpuEngineFileTest, RefusesForeignTruncatedAndCorruptFiles) {
  KILN_REQUIRE_GPU();
  TempDir dir;
  ir::Graph graph = load_model(fixture_folder("mlp") / "mlp_fp32.onnx");
  passes::assign_precisions(graph, {Precision::FP32}, false);
  engine::BuildConfig config;
  engine::EngineHeader foreign;
  foreign.gpu_architecture = "sm_10";
  foreign.gpu_name = "a GPU from elsewhere";
  std::filesystem::path file = dir.path / "foreign.kiln";
  engine::write_engine(file, graph, config, foreign);
  try {
    cuda::Engine::load(file);
    ADD_FAILURE() << "an engine for sm_10 was accepted";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("sm_10"), std::string::npos) << error.what();
  }

  std::filesystem::path good = dir.path / "good.kiln";
  engine::write_engine(good, graph, config);
  std::string bytes;
  {
    std::ifstream in(good, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::filesystem::path truncated = dir.path / "truncated.kiln";
  std::ofstream(truncated, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size() / 2));
  EXPECT_THROW(cuda::Engine::load(truncated), Error);
  std::filesystem::path corrupt = dir.path / "corrupt.kiln";
  bytes[bytes.size() - 100] = char(bytes[bytes.size() - 100] ^ 0x5A);
  std::ofstream(corrupt, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
  EXPECT_THROW(cuda::Engine::load(corrupt), Error);
}

// The same model stored in fp32 and in bf16, built with {fp32, bf16}: the same layers get
// the same precisions (the storage dtype is an input, not a verdict), except where the
// graph input's own dtype makes a cast.
TEST(TimedBuildChoiceTest, StorageDtypeDoesNotDecide) {
  KILN_REQUIRE_GPU();
  std::map<std::string, Tensor> inputs = fixture_inputs("mlp");
  engine::BuildConfig config;
  config.enabled_precisions = {Precision::FP32, Precision::BF16};
  config.tuned_input_dims = dims_of(inputs);
  cuda::GpuLayerTimer timer(config.workspace_bytes);
  engine::TimingCache cache;  // shared, so both builds see the same measurements
  auto precisions = [&](const std::string& file) {
    engine::BuildResult built =
        engine::build_engine(load_model(fixture_folder("mlp") / file), config, &timer, &cache);
    std::map<std::string, std::string> chosen;
    for (const ir::Node* node : built.graph.nodes()) {
      // A layer reading the graph input itself may differ: an fp32 input costs a cast to
      // bf16 that a bf16 input does not. Every layer after it sees the same storage.
      bool reads_input = false;
      for (const ir::Value* input : node->inputs) {
        for (const ir::Value* graph_input : built.graph.inputs())
          reads_input |= input == graph_input;
      }
      if (node->precision && !reads_input && (node->op == "MatMul" || node->op == "Gemm")) {
        chosen[node->op + std::to_string(chosen.size())] =
            std::string(precision_name(*node->precision));
      }
    }
    return chosen;
  };
  EXPECT_EQ(precisions("mlp_fp32.onnx"), precisions("mlp_bf16.onnx"));
}

}  // namespace
}  // namespace kiln
