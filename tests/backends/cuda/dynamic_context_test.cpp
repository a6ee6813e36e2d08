// cuda::DynamicContext: one context for every size in an engine's ranges (set_input_shape
// before enqueue), each set of sizes planned once and the recent ones kept, sizes outside a
// range refused naming the dim; results match the CPU reference at each size.
#include "backends/cuda/runtime/dynamic_context.h"

#include <cstring>

#include "backends/cuda/kernels/cuda_check.h"
#include "cuda_test_util.h"
#include "fixture_util.h"
#include "kiln/kiln.h"
#include "passes/passes.h"

namespace kiln {
namespace {

using cuda_test::fixture_folder;
using cuda_test::fixture_inputs;

// The fixture's rows repeated to `batch` rows.
Tensor rows(const Tensor& tensor, int64_t batch) {
  Dims dims = tensor.dims();
  size_t row_bytes = tensor.nbytes() / size_t(dims[0]);
  dims[0] = batch;
  Tensor out(tensor.dtype(), dims);
  auto* bytes = static_cast<std::byte*>(out.raw_mutable());
  const auto* source = static_cast<const std::byte*>(tensor.raw());
  for (int64_t row = 0; row < batch; ++row)
    std::memcpy(bytes + size_t(row) * row_bytes,
                source + size_t(row % tensor.dims()[0]) * row_bytes, row_bytes);
  return out;
}

TEST(DynamicContextTest, AnySizeInRangeOnePlanPerSizeOthersRefused) {
  KILN_REQUIRE_GPU();
  ir::Graph graph = load_model(fixture_folder("bert") / "bert_fp32.onnx");
  passes::assign_precisions(graph, {Precision::FP32}, false);
  graph.dim_ranges["batch"] = ir::DimRange{1, 8};
  CpuSession reference(ir::copy_graph(graph), {Precision::FP32}, false, true);
  auto engine = std::make_shared<cuda::Engine>(std::move(graph));
  cuda::DynamicContext dynamic(engine, /*cached_shapes=*/2);
  try {
    dynamic.current();
    ADD_FAILURE() << "a context was made without the inputs' dims";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("set_input_shape"), std::string::npos);
  }

  std::map<std::string, Tensor> fixture = fixture_inputs("bert");
  std::map<int64_t, cuda::ExecutionContext*> made;
  for (int64_t batch : {1, 3, 8, 3}) {
    std::map<std::string, Tensor> inputs;
    for (const auto& [name, tensor] : fixture) {
      inputs[name] = rows(tensor, batch);
      dynamic.set_input_shape(name, inputs[name].dims());
    }
    cuda::ExecutionContext& context = dynamic.current();
    if (batch == 3 && made.contains(3)) {
      EXPECT_EQ(&context, made[3]) << "a recent set of sizes was planned again";
    }
    made[batch] = &context;
    EXPECT_LE(dynamic.planned_shapes(), 2u);
    Tensor gpu = context.run(inputs).at(0);
    Tensor cpu = reference.run(inputs).begin()->second;
    EXPECT_EQ(gpu.dims()[0], batch);
    EXPECT_LE(normalized_error(gpu, cpu), 1e-4) << "batch " << batch;
  }

  // CUDA graphs apply to the cached contexts and new ones.
  dynamic.use_cuda_graph(true);
  cuda::Stream stream = cuda::create_stream();
  dynamic.enqueue(stream.get());
  dynamic.enqueue(stream.get());
  KILN_CUDA_CHECK(cudaStreamSynchronize(stream.get()));

  for (const auto& [name, tensor] : fixture) dynamic.set_input_shape(name, rows(tensor, 9).dims());
  try {
    dynamic.current();
    ADD_FAILURE() << "batch 9 was accepted outside 1..8";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::InvalidArgument);
    EXPECT_NE(std::string(error.what()).find("dim 'batch' is 9, outside its range 1..8"),
              std::string::npos)
        << error.what();
  }
  EXPECT_THROW(dynamic.set_input_shape("no such input", {1}), Error);
}

}  // namespace
}  // namespace kiln
