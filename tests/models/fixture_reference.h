// A PyTorch fixture's saved inputs and reference output (tests/models/make_fixtures.py), and
// the normalized error of a model file run against them on the CPU; shared by the ONNX,
// .pt2 and TorchScript fixture tests.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>

#include "core/tensor_io.h"
#include "kiln/kiln.h"

namespace kiln {

struct FixtureReference {
  std::map<std::string, Tensor> inputs;
  Tensor output;

  // Reads <folder>/<stem>_inputs.safetensors and the "output_0" of _outputs.safetensors.
  static FixtureReference load(const std::filesystem::path& folder, const std::string& stem) {
    return {read_safetensors(folder / (stem + "_inputs.safetensors")),
            read_safetensors(folder / (stem + "_outputs.safetensors")).at("output_0")};
  }

  // Loads (and optimizes) `model`, runs it with `precisions` and returns the normalized error
  // of its only output against PyTorch's, checking dims and dtype on the way.
  double error_of(const std::filesystem::path& model, const std::set<Precision>& precisions,
                  bool strongly_typed) const {
    CpuSession session(load_model(model), precisions, strongly_typed);
    auto outputs = session.run(inputs);
    EXPECT_EQ(outputs.size(), 1u);
    const Tensor& result = outputs.begin()->second;
    EXPECT_EQ(result.dims(), output.dims());
    EXPECT_EQ(result.dtype(), output.dtype());
    return normalized_error(result, output);
  }
};

}  // namespace kiln
