// A layout, not an op (the op harness's conv_pool_cases.cpp test the ops in NCHW): channels-
// last (NHWC) Conv and pools against the CPU reference run on the same data in NCHW, in each
// precision, and the ResNet fixture converted by passes::convert_to_channels_last against
// PyTorch's output, every node on the GPU.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "backends/cpu/channels_last.h"
#include "backends/cpu/executor.h"
#include "backends/cuda/kernels/cudnn_conv.h"
#include "backends/cuda/runtime/cuda_executor.h"
#include "core/tensor_io.h"
#include "cuda_test_util.h"
#include "ir/op_schema.h"
#include "kiln/kiln.h"
#include "passes/passes.h"

namespace kiln::cuda {
namespace {

using Attrs = std::map<std::string, ir::AttrValue>;

constexpr Precision kPrecisions[] = {Precision::FP32, Precision::FP16, Precision::BF16};

// One node over graph inputs in0, in1, ...: dims and values as given, output "out".
ir::Graph one_node_graph(const std::string& op, const std::vector<Tensor>& inputs,
                         const Attrs& attrs, Precision precision) {
  ir::Graph graph;
  std::vector<ir::Value*> values;
  for (size_t i = 0; i < inputs.size(); ++i) {
    values.push_back(graph.add_input("in" + std::to_string(i), inputs[i].dtype(),
                                     ir::Shape::from_dims(inputs[i].dims())));
  }
  ir::Node* node = graph.add_node(op, "test_" + op, values, {"out"});
  node->attrs = attrs;
  node->precision = precision;
  ir::infer_graph(graph);
  graph.add_output(node->outputs[0]);
  return graph;
}

std::map<std::string, Tensor> by_name(const std::vector<Tensor>& inputs) {
  std::map<std::string, Tensor> named;
  for (size_t i = 0; i < inputs.size(); ++i) named["in" + std::to_string(i)] = inputs[i];
  return named;
}

// `op` on random NCHW data (X, then W as KCRS, then a bias) by the CPU reference, and with
// channels_last=1 on the same data in NHWC (W as KRSC) by the CUDA kernel, its output
// poisoned first. Returns the normalized error of the GPU result.
double nhwc_error(const std::string& op, const std::vector<Dims>& nchw_dims, Attrs attrs,
                  Precision precision) {
  DType storage = precision_storage_dtype(precision);
  std::vector<Tensor> nchw, nhwc;
  for (size_t i = 0; i < nchw_dims.size(); ++i) {
    nchw.push_back(cuda_test::random_tensor(storage, nchw_dims[i], -1, 1, 7 + uint32_t(i)));
    nhwc.push_back(nchw_dims[i].size() == 4 ? cpu::to_channels_last(nchw.back()) : nchw.back());
  }
  ir::Graph reference = one_node_graph(op, nchw, attrs, precision);
  Tensor expected = cpu::to_channels_last(cpu::Executor(reference).run(by_name(nchw))[0]);

  attrs["channels_last"] = int64_t{1};
  ir::Graph graph = one_node_graph(op, nhwc, attrs, precision);
  std::map<std::string, Dims> dims;
  for (size_t i = 0; i < nhwc.size(); ++i) dims["in" + std::to_string(i)] = nhwc[i].dims();
  CudaExecutor executor(graph, dims, {.poison_values = true});
  std::vector<Tensor> outputs = executor.run(by_name(nhwc));
  EXPECT_TRUE(executor.host_nodes().empty()) << op << " ran on the host";
  EXPECT_EQ(outputs.at(0).dims(), expected.dims()) << op;
  if (outputs.at(0).dims() != expected.dims()) return NAN;
  return normalized_error(outputs[0], expected);
}

// Each precision; NaN never passes (!(NaN <= tolerance)).
void expect_all(const std::string& op, const std::vector<Dims>& nchw_dims, const Attrs& attrs) {
  for (Precision precision : kPrecisions) {
    double error = nhwc_error(op, nchw_dims, attrs, precision);
    std::printf("  %-18s NHWC %-5s normalized error %.3g\n", op.c_str(),
                std::string(precision_name(precision)).c_str(), error);
    EXPECT_TRUE(error <= cuda_test::tolerance_for(precision))
        << op << " NHWC in " << precision_name(precision) << ": normalized error " << error;
  }
}

Attrs conv_attrs(std::vector<int64_t> pads, std::vector<int64_t> strides,
                 std::vector<int64_t> dilations, int64_t group) {
  return {{"pads", pads}, {"strides", strides}, {"dilations", dilations}, {"group", group}};
}

TEST(CudaChannelsLast, ConvWithAndWithoutBias) {
  KILN_REQUIRE_GPU();
  expect_all("Conv", {{2, 8, 12, 12}, {16, 8, 3, 3}, {16}},
             conv_attrs({1, 1, 1, 1}, {1, 1}, {1, 1}, 1));
  expect_all("Conv", {{2, 8, 13, 11}, {6, 8, 3, 3}}, conv_attrs({1, 1, 1, 1}, {2, 2}, {1, 1}, 1));
  expect_all("Conv", {{2, 16, 9, 9}, {32, 16, 1, 1}, {32}},
             conv_attrs({0, 0, 0, 0}, {1, 1}, {1, 1}, 1));
}

TEST(CudaChannelsLast, ConvStemWithThreeChannels) {
  KILN_REQUIRE_GPU();
  expect_all("Conv", {{2, 3, 32, 32}, {8, 3, 7, 7}, {8}},
             conv_attrs({3, 3, 3, 3}, {2, 2}, {1, 1}, 1));
}

TEST(CudaChannelsLast, ConvGroupsAndDepthwise) {
  KILN_REQUIRE_GPU();
  expect_all("Conv", {{2, 8, 10, 10}, {12, 4, 3, 3}, {12}},
             conv_attrs({1, 1, 1, 1}, {1, 1}, {1, 1}, 2));
  expect_all("Conv", {{2, 8, 10, 10}, {8, 1, 3, 3}, {8}},
             conv_attrs({1, 1, 1, 1}, {2, 2}, {1, 1}, 8));
}

TEST(CudaChannelsLast, ConvStridesDilationsAndUnevenPads) {
  KILN_REQUIRE_GPU();
  expect_all("Conv", {{2, 4, 15, 13}, {6, 4, 3, 3}}, conv_attrs({0, 1, 2, 1}, {2, 2}, {1, 1}, 1));
  expect_all("Conv", {{1, 4, 16, 16}, {6, 4, 3, 3}, {6}},
             conv_attrs({2, 2, 2, 2}, {1, 1}, {2, 2}, 1));
  expect_all("Conv", {{1, 8, 14, 14}, {8, 8, 3, 3}, {8}},
             conv_attrs({0, 0, 1, 1}, {2, 2}, {1, 1}, 1));
}

TEST(CudaChannelsLast, ConvFusedRelu) {
  KILN_REQUIRE_GPU();
  Attrs attrs = conv_attrs({1, 1, 1, 1}, {1, 1}, {1, 1}, 1);
  attrs["fused_activation"] = std::string("Relu");
  expect_all("Conv", {{2, 8, 12, 12}, {16, 8, 3, 3}, {16}}, attrs);
  expect_all("Conv", {{2, 8, 12, 12}, {16, 8, 3, 3}}, attrs);
  Attrs uneven = conv_attrs({0, 1, 2, 1}, {2, 2}, {1, 1}, 1);
  uneven["fused_activation"] = std::string("Relu");
  expect_all("Conv", {{2, 4, 15, 13}, {6, 4, 3, 3}, {6}}, uneven);
  Attrs depthwise = conv_attrs({1, 1, 1, 1}, {1, 1}, {1, 1}, 8);
  depthwise["fused_activation"] = std::string("Relu");
  expect_all("Conv", {{2, 8, 10, 10}, {8, 1, 3, 3}, {8}}, depthwise);
}

// Conv with a residual Z (input 3, shaped like Y): the graph API's fused add, before the ReLU.
TEST(CudaChannelsLast, ConvFusedResidualAndRelu) {
  KILN_REQUIRE_GPU();
  Attrs attrs = conv_attrs({1, 1, 1, 1}, {1, 1}, {1, 1}, 1);
  expect_all("Conv", {{2, 8, 12, 12}, {16, 8, 3, 3}, {16}, {2, 16, 12, 12}}, attrs);
  attrs["fused_activation"] = std::string("Relu");
  expect_all("Conv", {{2, 8, 12, 12}, {16, 8, 3, 3}, {16}, {2, 16, 12, 12}}, attrs);
  Attrs pointwise = conv_attrs({0, 0, 0, 0}, {1, 1}, {1, 1}, 1);
  pointwise["fused_activation"] = std::string("Relu");
  expect_all("Conv", {{4, 64, 7, 7}, {256, 64, 1, 1}, {256}, {4, 256, 7, 7}}, pointwise);
  Attrs strided = conv_attrs({0, 1, 2, 1}, {2, 2}, {1, 1}, 1);
  strided["fused_activation"] = std::string("Relu");
  expect_all("Conv", {{2, 4, 15, 13}, {6, 4, 3, 3}, {6}, {2, 6, 8, 7}}, strided);
}

// SiLU (EfficientNet, MobileNet) in the convolution's graph; depthwise convs in the same test.
TEST(CudaChannelsLast, ConvFusedSilu) {
  KILN_REQUIRE_GPU();
  Attrs attrs = conv_attrs({1, 1, 1, 1}, {1, 1}, {1, 1}, 1);
  attrs["fused_activation"] = std::string("Silu");
  expect_all("Conv", {{2, 16, 12, 12}, {32, 16, 3, 3}, {32}}, attrs);
  Attrs depthwise = conv_attrs({1, 1, 1, 1}, {2, 2}, {1, 1}, 32);
  depthwise["fused_activation"] = std::string("Silu");
  expect_all("Conv", {{2, 32, 14, 14}, {32, 1, 3, 3}, {32}}, depthwise);
}

// Depthwise convolutions, which run through Kiln's own NHWC kernel (kernels/depthwise_conv.h):
// ConvNeXt's 7x7, EfficientNet's 5x5 stride 2 with SiLU, a residual with ReLU, channels that
// rule out 16-byte vectors in 16-bit types, dilation with uneven pads, and more than 64
// channels in a partial last tile.
TEST(CudaChannelsLast, DepthwiseKernelShapes) {
  KILN_REQUIRE_GPU();
  expect_all("Conv", {{2, 96, 14, 14}, {96, 1, 7, 7}, {96}},
             conv_attrs({3, 3, 3, 3}, {1, 1}, {1, 1}, 96));
  Attrs silu = conv_attrs({2, 2, 2, 2}, {2, 2}, {1, 1}, 40);
  silu["fused_activation"] = std::string("Silu");
  expect_all("Conv", {{2, 40, 15, 15}, {40, 1, 5, 5}, {40}}, silu);
  Attrs residual = conv_attrs({1, 1, 1, 1}, {1, 1}, {1, 1}, 64);
  residual["fused_activation"] = std::string("Relu");
  expect_all("Conv", {{2, 64, 9, 9}, {64, 1, 3, 3}, {64}, {2, 64, 9, 9}}, residual);
  expect_all("Conv", {{1, 12, 8, 8}, {12, 1, 3, 3}}, conv_attrs({1, 1, 1, 1}, {1, 1}, {1, 1}, 12));
  expect_all("Conv", {{1, 16, 11, 13}, {16, 1, 3, 3}, {16}},
             conv_attrs({0, 1, 2, 1}, {1, 1}, {2, 2}, 16));
  expect_all("Conv", {{1, 200, 6, 6}, {200, 1, 3, 3}, {200}},
             conv_attrs({1, 1, 1, 1}, {1, 1}, {1, 1}, 200));
}

// Every tactic the builder may choose for a depthwise layer (the tiled and direct kernels,
// cuDNN), forced through the node's "tactic" attribute: each kernel width and stride the tiled
// kernel instantiates, output widths that leave a partial tile (and one narrower than a tile),
// uneven pads, a taller kernel than wide, channel counts of 1 to 12 vectors, residual and SiLU.
TEST(CudaChannelsLast, DepthwiseTactics) {
  KILN_REQUIRE_GPU();
  struct Case {
    Dims x;
    int64_t kernel_h, kernel_w;
    std::vector<int64_t> pads;
    int64_t stride;
    const char* activation;
    bool residual;
  };
  const Case cases[] = {
      {{2, 96, 14, 14}, 7, 7, {3, 3, 3, 3}, 1, "", false},
      {{1, 64, 9, 11}, 7, 7, {3, 3, 3, 3}, 2, "Relu", false},
      {{2, 40, 15, 13}, 5, 5, {2, 2, 2, 2}, 1, "Silu", false},
      {{2, 24, 16, 17}, 5, 5, {1, 2, 2, 1}, 2, "Silu", false},
      {{2, 32, 10, 10}, 3, 3, {1, 1, 1, 1}, 1, "Relu", true},
      {{1, 8, 7, 3}, 3, 3, {1, 1, 1, 1}, 2, "", false},
      {{1, 16, 6, 2}, 5, 3, {2, 1, 2, 1}, 1, "", false},
      {{1, 72, 12, 12}, 3, 3, {1, 0, 1, 2}, 1, "Silu", true},
  };
  for (const char* tactic : {"kiln_depthwise_tiled", "kiln_depthwise", "cudnn"}) {
    for (const Case& c : cases) {
      SCOPED_TRACE(std::string(tactic) + " on " + dims_to_string(c.x));
      const int64_t channels = c.x[1];
      Attrs attrs = conv_attrs(c.pads, {c.stride, c.stride}, {1, 1}, channels);
      attrs["tactic"] = std::string(tactic);
      if (*c.activation != 0) attrs["fused_activation"] = std::string(c.activation);
      std::vector<Dims> dims{c.x, {channels, 1, c.kernel_h, c.kernel_w}, {channels}};
      if (c.residual) dims.push_back(c.x);  // stride 1 and "same" pads: Y is shaped like X
      expect_all("Conv", dims, attrs);
    }
  }
}

// NHWC vector projections (an SE block's 1x1 convolutions of pooled [N, 1, 1, C] vectors),
// through Kiln's kernel and, where the activation allows, cuDNN's.
TEST(CudaChannelsLast, VectorProjectionTactics) {
  KILN_REQUIRE_GPU();
  for (const char* tactic : {"kiln_vector", "cudnn"}) {
    SCOPED_TRACE(tactic);
    for (const char* activation : {"", "Relu", "Silu", "Sigmoid"}) {
      if (std::string(tactic) == "cudnn" && std::string(activation) == "Sigmoid") continue;
      Attrs attrs = conv_attrs({0, 0, 0, 0}, {1, 1}, {1, 1}, 1);
      attrs["tactic"] = std::string(tactic);
      if (*activation != 0) attrs["fused_activation"] = std::string(activation);
      expect_all("Conv", {{32, 96, 1, 1}, {24, 96, 1, 1}, {24}}, attrs);
      expect_all("Conv", {{2, 20, 1, 1}, {44, 20, 1, 1}}, attrs);
    }
  }
}

// Convolutions lowered to im2col + GEMM (ops/conv_as_gemm.h), forced through the node's
// "tactic": a ResNet stem (7x7 stride 2, 3 channels, bias and ReLU), a 3x3 with 4 channels, a
// residual and SiLU, uneven pads with dilation, patch embeddings (stride == kernel) with 3 and
// with 32 channels, and an input large enough that the L2-sized chunks split it unevenly.
TEST(CudaChannelsLast, Im2colGemmTactics) {
  KILN_REQUIRE_GPU();
  struct Case {
    Dims x, w;
    std::vector<int64_t> pads;
    int64_t stride, dilation;
    const char* activation;
    bool bias, residual;
  };
  const Case cases[] = {
      {{2, 3, 30, 30}, {16, 3, 7, 7}, {3, 3, 3, 3}, 2, 1, "Relu", true, false},
      {{2, 4, 13, 11}, {24, 4, 3, 3}, {1, 1, 1, 1}, 1, 1, "Silu", true, true},
      {{1, 3, 17, 19}, {8, 3, 3, 3}, {0, 1, 2, 1}, 1, 2, "", false, false},
      {{2, 3, 32, 32}, {40, 3, 4, 4}, {0, 0, 0, 0}, 4, 1, "", true, false},
      {{2, 32, 8, 8}, {48, 32, 2, 2}, {0, 0, 0, 0}, 2, 1, "Relu", true, true},
      {{4, 3, 260, 260}, {16, 3, 3, 3}, {1, 1, 1, 1}, 1, 1, "Relu", true, true},
  };
  for (const char* tactic : {"kiln_im2col_gemm", "kiln_im2col_gemm_l2"}) {
    for (const Case& c : cases) {
      SCOPED_TRACE(std::string(tactic) + " on " + dims_to_string(c.x) + " * " +
                   dims_to_string(c.w));
      Attrs attrs = conv_attrs(c.pads, {c.stride, c.stride}, {c.dilation, c.dilation}, 1);
      attrs["tactic"] = std::string(tactic);
      if (*c.activation != 0) attrs["fused_activation"] = std::string(c.activation);
      std::vector<Dims> dims{c.x, c.w};
      if (c.bias || c.residual) dims.push_back({c.w[0]});
      if (c.residual) {
        int64_t out_h = (c.x[2] + c.pads[0] + c.pads[2] - c.dilation * (c.w[2] - 1) - 1) / c.stride;
        int64_t out_w = (c.x[3] + c.pads[1] + c.pads[3] - c.dilation * (c.w[3] - 1) - 1) / c.stride;
        dims.push_back({c.x[0], c.w[0], out_h + 1, out_w + 1});
      }
      expect_all("Conv", dims, attrs);
    }
  }
}

// Sizes of ResNet-50's layers at batch 2, bf16 and fp16 through the fast NHWC engines.
TEST(CudaChannelsLast, ConvResNetShapes) {
  KILN_REQUIRE_GPU();
  Attrs relu = conv_attrs({1, 1, 1, 1}, {1, 1}, {1, 1}, 1);
  relu["fused_activation"] = std::string("Relu");
  expect_all("Conv", {{2, 64, 56, 56}, {64, 64, 3, 3}, {64}}, relu);
  Attrs stem = conv_attrs({3, 3, 3, 3}, {2, 2}, {1, 1}, 1);
  stem["fused_activation"] = std::string("Relu");
  expect_all("Conv", {{2, 3, 224, 224}, {64, 3, 7, 7}, {64}}, stem);
  Attrs down = conv_attrs({0, 0, 0, 0}, {2, 2}, {1, 1}, 1);
  expect_all("Conv", {{2, 512, 28, 28}, {1024, 512, 1, 1}, {1024}}, down);
  // These are the graph API's problems: none may have fallen back to the legacy path.
  int64_t before = cudnn_graph_conv_launches();
  for (Precision precision : {Precision::FP16, Precision::BF16}) {
    EXPECT_TRUE(nhwc_error("Conv", {{2, 64, 56, 56}, {64, 64, 3, 3}, {64}}, relu, precision) <=
                cuda_test::tolerance_for(precision));
  }
  EXPECT_GE(cudnn_graph_conv_launches() - before, 2) << "a 16-bit NHWC conv took the legacy path";
}

Attrs pool_attrs(std::vector<int64_t> kernel, std::vector<int64_t> pads,
                 std::vector<int64_t> strides) {
  return {{"kernel_shape", kernel}, {"pads", pads}, {"strides", strides}};
}

TEST(CudaChannelsLast, MaxPool) {
  KILN_REQUIRE_GPU();
  expect_all("MaxPool", {{2, 5, 13, 11}}, pool_attrs({3, 3}, {1, 1, 1, 1}, {2, 2}));
  Attrs ceil = pool_attrs({3, 3}, {0, 0, 1, 1}, {2, 2});
  ceil["ceil_mode"] = int64_t{1};
  expect_all("MaxPool", {{2, 37, 13, 11}}, ceil);
  // Channels in 16-byte vectors (the 2-D NHWC fast path): ResNet's stem pool, and ceil mode.
  expect_all("MaxPool", {{2, 64, 28, 28}}, pool_attrs({3, 3}, {1, 1, 1, 1}, {2, 2}));
  expect_all("MaxPool", {{1, 16, 13, 11}}, ceil);
}

TEST(CudaChannelsLast, AveragePool) {
  KILN_REQUIRE_GPU();
  Attrs attrs = pool_attrs({3, 3}, {1, 1, 1, 1}, {2, 2});
  expect_all("AveragePool", {{2, 5, 13, 11}}, attrs);
  expect_all("AveragePool", {{2, 32, 13, 11}}, attrs);  // the 2-D NHWC fast path
  attrs["count_include_pad"] = int64_t{1};
  expect_all("AveragePool", {{2, 40, 13, 11}}, attrs);
  Attrs uneven = pool_attrs({2, 3}, {0, 1, 1, 2}, {2, 1});
  uneven["count_include_pad"] = int64_t{1};
  expect_all("AveragePool", {{2, 24, 9, 10}}, uneven);
}

TEST(CudaChannelsLast, GlobalAveragePool) {
  KILN_REQUIRE_GPU();
  expect_all("GlobalAveragePool", {{3, 7, 9, 9}}, {});
  expect_all("GlobalAveragePool", {{2, 70, 50, 50}}, {});  // channels span three blocks
  expect_all("GlobalAveragePool", {{4, 64, 1, 1}}, {});
  // One image of many positions: split among blocks, partial sums through the workspace.
  expect_all("GlobalAveragePool", {{1, 32, 112, 112}}, {});
  expect_all("GlobalAveragePool", {{2, 1152, 7, 7}}, {});  // 144 vectors: lanes of 24
  expect_all("GlobalAveragePool", {{1, 37, 60, 61}}, {});  // scalar channels, split
}

constexpr double kFp32FixtureTolerance = 1e-4;
constexpr double kBf16FixtureTolerance = 2e-2;

// The engine builder's order: fold BN, fuse epilogues, then go channels-last.
TEST(CudaChannelsLast, ConvertedResNetFixtureMatchesPyTorchOnTheGpu) {
  KILN_REQUIRE_GPU();
  std::filesystem::path folder =
      std::filesystem::path(KILN_SOURCE_DIR) / "tests/models/fixtures/resnet";
  std::map<std::string, Tensor> inputs =
      read_safetensors(folder / "resnet_fp32_inputs.safetensors");
  Tensor reference = read_safetensors(folder / "resnet_fp32_outputs.safetensors").at("output_0");
  std::map<std::string, Dims> dims;
  for (const auto& [name, tensor] : inputs) dims[name] = tensor.dims();
  for (const std::set<Precision>& enabled :
       {std::set{Precision::FP32}, std::set{Precision::FP32, Precision::BF16}}) {
    ir::Graph graph = load_model(folder / "resnet_fp32.onnx");
    passes::fold_batch_norm(graph);
    passes::fuse_epilogues(graph);
    ASSERT_GT(passes::convert_to_channels_last(graph), 0);
    passes::assign_precisions(graph, enabled, false);
    CudaExecutor executor(graph, dims, {.poison_values = true});
    std::vector<Tensor> outputs = executor.run(inputs);
    ASSERT_EQ(outputs.size(), 1u);
    ASSERT_EQ(outputs[0].dims(), reference.dims());
    double error = normalized_error(outputs[0], reference);
    double tolerance =
        enabled.count(Precision::BF16) ? kBf16FixtureTolerance : kFp32FixtureTolerance;
    EXPECT_TRUE(error <= tolerance)
        << "resnet NHWC with " << precisions_to_string(enabled) << ": normalized error " << error;
    std::string host;
    for (const std::string& node : executor.host_nodes()) host += " " + node;
    EXPECT_TRUE(executor.host_nodes().empty()) << "nodes on the host:" << host;
  }
}

}  // namespace
}  // namespace kiln::cuda
