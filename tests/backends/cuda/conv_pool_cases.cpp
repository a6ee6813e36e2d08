// Op harness cases of Conv (cuDNN; fp32, tf32, fp16, bf16: bias, groups, depthwise, strides,
// dilations, uneven pads, fused Relu, 1-D), ConvTranspose and the pools (max, average with and
// without the padding counted, ceil mode, global average). Channels-last layouts are
// channels_last_cuda_test.cpp's subject.
#include "op_harness.h"

namespace kiln::cuda_test {
namespace {

using Ints = std::vector<int64_t>;

// One node on random inputs in [-1, 1), one dims entry per input.
OpCase on_random(const char* op, const char* name, const std::vector<Dims>& dims, Attrs attrs) {
  OpCase op_case{.op = op, .name = name, .attrs = std::move(attrs)};
  for (const Dims& input : dims) op_case.inputs.push_back(floats(input, -1, 1));
  return op_case;
}

Attrs conv_attrs(Ints pads, Ints strides, Ints dilations, int64_t group,
                 const char* activation = nullptr) {
  Attrs attrs = {{"pads", pads}, {"strides", strides}, {"dilations", dilations}, {"group", group}};
  if (activation != nullptr) attrs["fused_activation"] = std::string(activation);
  return attrs;
}

std::vector<OpCase> conv_cases() {
  const Ints one = {1, 1}, pads1 = {1, 1, 1, 1}, uneven = {0, 1, 2, 1};
  return {
      on_random("Conv", "PlainBias", {{2, 8, 12, 12}, {16, 8, 3, 3}, {16}},
                conv_attrs(pads1, one, one, 1)),
      on_random("Conv", "TwoGroups", {{2, 8, 10, 10}, {12, 4, 3, 3}, {12}},
                conv_attrs(pads1, one, one, 2)),
      on_random("Conv", "Depthwise", {{2, 8, 10, 10}, {8, 1, 3, 3}, {8}},
                conv_attrs(pads1, one, one, 8)),
      on_random("Conv", "UnevenPadsStride2", {{2, 4, 15, 13}, {6, 4, 3, 3}},
                conv_attrs(uneven, {2, 2}, one, 1)),
      on_random("Conv", "Dilation2", {{1, 4, 16, 16}, {6, 4, 3, 3}, {6}},
                conv_attrs({2, 2, 2, 2}, {1, 2}, {2, 2}, 1)),
      // Fused Relu: with a bias (cuDNN's conv-bias-ReLU, or its fallback), without one (an
      // in-place ReLU after the convolution), and with uneven pads (explicitly padded input).
      on_random("Conv", "PlainBiasRelu", {{2, 8, 12, 12}, {16, 8, 3, 3}, {16}},
                conv_attrs(pads1, one, one, 1, "Relu")),
      on_random("Conv", "NoBiasRelu", {{2, 8, 12, 12}, {16, 8, 3, 3}},
                conv_attrs(pads1, one, one, 1, "Relu")),
      on_random("Conv", "UnevenPadsRelu", {{2, 4, 15, 13}, {6, 4, 3, 3}, {6}},
                conv_attrs(uneven, {2, 2}, one, 1, "Relu")),
      on_random("Conv", "DepthwiseRelu", {{2, 8, 10, 10}, {8, 1, 3, 3}, {8}},
                conv_attrs(pads1, one, one, 8, "Relu")),
      on_random("Conv", "OneD", {{2, 6, 30}, {8, 6, 5}, {8}}, conv_attrs({2, 2}, {2}, {1}, 1)),
      // Vector projections (1x1 kernels over 1x1 images: squeeze-excite), Kiln's own kernel:
      // 16-byte rows, odd rows, 1-D, and each activation it fuses.
      on_random("Conv", "VectorSigmoid", {{4, 48, 1, 1}, {40, 48, 1, 1}, {40}},
                conv_attrs({0, 0, 0, 0}, one, one, 1, "Sigmoid")),
      on_random("Conv", "VectorSilu", {{3, 37, 1, 1}, {9, 37, 1, 1}, {9}},
                conv_attrs({0, 0, 0, 0}, one, one, 1, "Silu")),
      on_random("Conv", "VectorRelu", {{2, 300, 1, 1}, {70, 300, 1, 1}},
                conv_attrs({0, 0, 0, 0}, one, one, 1, "Relu")),
      on_random("Conv", "VectorOneD", {{5, 16, 1}, {24, 16, 1}, {24}},
                conv_attrs({0, 0}, {1}, {1}, 1)),
  };
}

// ConvTranspose: W is [C_in, C_out / group, k...]; the U-Net upsample (k4 s2 p1), output
// padding, groups, dilation and 1-D (cuDNN's data gradient of a convolution).
std::vector<OpCase> conv_transpose_cases() {
  Attrs output_padding = conv_attrs({1, 1, 1, 1}, {2, 2}, {1, 1}, 1);
  output_padding["output_padding"] = Ints{1, 0};
  return {
      on_random("ConvTranspose", "UpsampleK4S2", {{2, 8, 6, 6}, {8, 4, 4, 4}, {4}},
                conv_attrs({1, 1, 1, 1}, {2, 2}, {1, 1}, 1)),
      on_random("ConvTranspose", "OutputPadding", {{2, 6, 5, 7}, {6, 3, 3, 3}, {3}},
                output_padding),
      on_random("ConvTranspose", "TwoGroupsNoBias", {{1, 8, 5, 5}, {8, 3, 3, 3}},
                conv_attrs({0, 0, 0, 0}, {1, 1}, {1, 1}, 2)),
      on_random("ConvTranspose", "Dilation2", {{1, 4, 6, 6}, {4, 5, 3, 3}, {5}},
                conv_attrs({2, 2, 2, 2}, {1, 1}, {2, 2}, 1)),
      on_random("ConvTranspose", "OneD", {{2, 6, 20}, {6, 4, 4}, {4}},
                conv_attrs({1, 1}, {2}, {1}, 1)),
  };
}

Attrs pool_attrs(Ints kernel, Ints pads, Ints strides) {
  return {{"kernel_shape", kernel}, {"pads", pads}, {"strides", strides}};
}

std::vector<OpCase> pool_cases() {
  Attrs ceil_dilated = pool_attrs({3, 3}, {0, 0, 1, 1}, {2, 2});
  ceil_dilated["ceil_mode"] = int64_t(1);
  ceil_dilated["dilations"] = Ints{1, 2};
  Attrs include_pad_ceil = pool_attrs({3, 3}, {1, 1, 1, 1}, {2, 2});
  include_pad_ceil["count_include_pad"] = int64_t(1);
  include_pad_ceil["ceil_mode"] = int64_t(1);
  return {
      on_random("MaxPool", "K3Pad1Stride2", {{2, 5, 13, 11}},
                pool_attrs({3, 3}, {1, 1, 1, 1}, {2, 2})),
      on_random("MaxPool", "CeilDilated", {{2, 5, 13, 11}}, ceil_dilated),
      on_random("AveragePool", "ExcludePad", {{2, 5, 13, 11}},
                pool_attrs({3, 3}, {1, 1, 1, 1}, {2, 2})),
      on_random("AveragePool", "IncludePadCeil", {{2, 5, 13, 11}}, include_pad_ceil),
      on_random("AveragePool", "OneD", {{2, 3, 20}}, pool_attrs({4}, {1, 2}, {3})),
      on_random("GlobalAveragePool", "Small", {{3, 7, 9, 9}}, {}),
      on_random("GlobalAveragePool", "Large", {{2, 4, 50, 50}}, {}),
  };
}

}  // namespace

std::vector<OpCase> conv_pool_cases() {
  return concatenated({conv_cases(), conv_transpose_cases(), pool_cases()});
}

INSTANTIATE_TEST_SUITE_P(ConvPool, CudaOpTest, testing::ValuesIn(op_runs(conv_pool_cases())),
                         op_run_name);

}  // namespace kiln::cuda_test
