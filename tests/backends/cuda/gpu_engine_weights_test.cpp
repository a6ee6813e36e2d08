// The GPU engine's weights from an engine file: bf16-prepared weights go to the device as
// stored and are never widened in host memory, and the engine knows a context's constant as
// its own by identity (Tensor::shares_bytes_with), not by value or by raw() pointer.
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <vector>

#include "backends/cuda/kernels/cuda_check.h"
#include "backends/cuda/runtime/execution_context.h"
#include "core/tensor_io.h"
#include "cuda_test_util.h"
#include "engine/build_engine.h"
#include "kiln/kiln.h"

namespace kiln {
namespace {

std::filesystem::path fixture(const std::string& name, const std::string& file) {
  return std::filesystem::path(KILN_SOURCE_DIR) / "tests/models/fixtures" / name / file;
}

// A heuristic {fp32, bf16} build of the GPT-2 fixture (no timing: its matrix products take
// bf16, so their weights are prepared), written to a file and read back.
struct Gpt2Engine {
  std::filesystem::path file = std::filesystem::temp_directory_path() /
                               ("kiln_gpu_weights_" + std::to_string(::getpid()) + ".kiln");
  std::map<std::string, Tensor> inputs =
      read_safetensors(fixture("gpt2", "gpt2_fp32_inputs.safetensors"));

  Gpt2Engine() {
    engine::BuildConfig config;
    config.enabled_precisions = {Precision::FP32, Precision::BF16};
    engine::BuildResult built = engine::build_engine(load_model(fixture("gpt2", "gpt2_fp32.onnx")),
                                                     config, nullptr, nullptr);
    engine::write_engine(file, built.graph, built.config, built.header);
  }
  ~Gpt2Engine() { std::filesystem::remove(file); }

  std::map<std::string, Dims> input_dims() const {
    std::map<std::string, Dims> dims;
    for (const auto& [name, tensor] : inputs) dims[name] = tensor.dims();
    return dims;
  }
};

TEST(GpuEngineWeights, PreparedWeightsAreUploadedNarrowAndNeverWidened) {
  KILN_REQUIRE_GPU();
  Gpt2Engine model;
  // The CPU reference from a reading of its own (the CPU backend widens what it reads).
  Tensor cpu_output =
      CpuSession(engine::read_engine(model.file).graph, {Precision::FP32, Precision::BF16}, false,
                 /*keep_precisions=*/true)
          .run(model.inputs)
          .begin()
          ->second;
  engine::LoadedEngine loaded = engine::read_engine(model.file);
  std::map<std::string, Tensor> prepared = loaded.prepared_weights;  // copies share the mapping
  ASSERT_FALSE(prepared.empty());
  std::map<std::string, Tensor> constants;  // copies share the deferred widening
  for (const auto& [name, stored] : prepared) {
    constants[name] = *loaded.graph.find_value(name)->constant;
  }
  auto engine = cuda::Engine::from_loaded(std::move(loaded), model.file.string());

  cuda::ExecutionContext context(engine, model.input_dims());
  std::vector<Tensor> outputs = context.run(model.inputs);
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_LE(normalized_error(outputs[0], cpu_output), cuda_test::tolerance_for(Precision::BF16));
  size_t prepared_bytes = 0;
  for (const auto& [name, constant] : constants) {
    EXPECT_FALSE(constant.materialized()) << name << " was widened in host memory";
    prepared_bytes += prepared.at(name).nbytes();
  }
  EXPECT_GE(engine->weight_bytes(), prepared_bytes);

  // The context's constant is the engine's: a copy (what each context's graph holds) finds the
  // one device copy, whose bytes are the stored bf16 ones.
  const std::string& name = prepared.begin()->first;
  const Tensor& stored = prepared.begin()->second;
  const cuda::DeviceTensor* shared =
      engine->shared_weight(name, constants.at(name), stored.dtype());
  ASSERT_NE(shared, nullptr);
  EXPECT_EQ(shared, engine->shared_weight(name, Tensor(constants.at(name)), stored.dtype()));
  EXPECT_EQ(shared->dtype, DType::BFloat16);
  std::vector<uint8_t> device_bytes(shared->nbytes());
  KILN_CUDA_CHECK(
      cudaMemcpy(device_bytes.data(), shared->data, device_bytes.size(), cudaMemcpyDeviceToHost));
  ASSERT_EQ(device_bytes.size(), stored.nbytes());
  EXPECT_EQ(std::memcmp(device_bytes.data(), stored.raw(), stored.nbytes()), 0);
  // Equal values in other bytes are a constant of the context's own, not the engine's.
  EXPECT_EQ(engine->shared_weight(name, stored.to(DType::Float32), stored.dtype()), nullptr);
  EXPECT_FALSE(constants.at(name).materialized());
}

}  // namespace
}  // namespace kiln
