// The geometry of a 2-D channels_last convolution in the terms Kiln's own NHWC convolution
// kernels take (depthwise_conv.h, conv_im2col.h): input [n, h, w, c], output out_h x out_w.
#pragma once

#include <cstdint>

namespace kiln::cuda {

struct NhwcConvShape {
  int64_t n = 0, h = 0, w = 0, c = 0;
  int64_t out_h = 0, out_w = 0;
  int64_t kernel_h = 1, kernel_w = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;  // before; the window's end is clipped by out_h and out_w
  int64_t dilation_h = 1, dilation_w = 1;

  int64_t pixels() const { return n * out_h * out_w; }        // output positions
  int64_t window() const { return kernel_h * kernel_w * c; }  // inputs one output reads (groups 1)
};

}  // namespace kiln::cuda
