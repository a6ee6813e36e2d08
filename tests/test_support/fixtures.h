// The PyTorch fixtures the model and frontend tests share (tests/models/make_fixtures.py):
// where they are, what manifest.json says was exported (and what failed), and PyTorch's
// reference inputs and output for one of them.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/tensor_io.h"
#include "kiln/kiln.h"

namespace kiln::test_support {

std::filesystem::path fixtures_folder();  // tests/models/fixtures
std::filesystem::path fixture_path(const std::string& model, const std::string& file);
std::string read_file_bytes(const std::filesystem::path& path);

// One model in one stored dtype, as manifest.json lists it.
struct FixtureEntry {
  std::string model;        // folder under tests/models/fixtures
  std::string stored_type;  // "fp32" or "bf16": the dtype the model was saved in
  std::vector<std::string> inputs;
  std::vector<std::string> made;              // "onnx", "onnx_opset23", "pt2", "torchscript"
  std::map<std::string, std::string> failed;  // format → the exporter's message

  std::string stem() const { return model + "_" + stored_type; }  // "mlp_fp32"
  bool was_made(const std::string& format) const;
  // The exporter's message if `format` failed for this fixture, else "".
  std::string failure(const std::string& format) const;
};

// Every entry of manifest.json, in its order. Throws std::runtime_error naming a model whose
// export failed as a whole (it has no entry per dtype), so that it cannot go unnoticed.
std::vector<FixtureEntry> read_fixture_manifest();

struct FixtureReference {
  std::map<std::string, Tensor> inputs;
  Tensor output;

  // Reads <folder>/<stem>_inputs.safetensors and the "output_0" of _outputs.safetensors.
  static FixtureReference load(const std::filesystem::path& folder, const std::string& stem);

  // Loads (and optimizes) `model`, runs it with `precisions` and returns the normalized error
  // of its only output against PyTorch's, checking dims and dtype on the way.
  double error_of(const std::filesystem::path& model, const std::set<Precision>& precisions,
                  bool strongly_typed) const;
};

}  // namespace kiln::test_support
