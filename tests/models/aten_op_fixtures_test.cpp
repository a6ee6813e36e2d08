// One small model per ATen op form that Kiln writes as several core ops, made by real PyTorch
// (tests/models/aten_ops/make_aten_op_fixtures.py) as torch.export (.pt2, both dialects), a
// TorchScript trace (.pt) and ONNX: each loads (with the optimizing passes), runs on the CPU
// reference and matches PyTorch's outputs, float outputs within the case's normalized-error
// tolerance (NaN where PyTorch has NaN, nowhere else), integer and bool outputs exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/tensor_io.h"
#include "kiln/kiln.h"

namespace kiln {
namespace {

std::filesystem::path cases_folder() {
  return std::filesystem::path(KILN_SOURCE_DIR) / "tests/models/aten_ops";
}

struct OpCase {
  std::string name;
  std::string format;  // "pt2", "pt2_core" (after run_decompositions), "torchscript", "onnx"
  int inputs = 0;
  int outputs = 0;
  std::optional<double> tolerance;  // none: exact (integer and bool outputs)
  std::string skip_reason;          // the exporter's failure for this format
  std::string known_gap;            // why Kiln cannot import it yet (known_gaps.txt)
};

void PrintTo(const OpCase& op, std::ostream* out) { *out << op.name << "_" << op.format; }

// known_gaps.txt: "<case>_<format>  # reason" per line.
std::map<std::string, std::string> known_gaps() {
  std::map<std::string, std::string> gaps;
  std::ifstream file(cases_folder() / "known_gaps.txt");
  for (std::string line; std::getline(file, line);) {
    if (line.empty() || line[0] == '#') continue;
    size_t hash = line.find('#');
    std::string name = line.substr(0, line.find_first_of(" #"));
    gaps[name] = hash == std::string::npos ? "" : line.substr(hash + 2);
  }
  return gaps;
}

std::vector<OpCase> all_cases() {
  std::map<std::string, std::string> gaps = known_gaps();
  std::ifstream file(cases_folder() / "manifest.json");
  std::stringstream text;
  text << file.rdbuf();
  nlohmann::json manifest = nlohmann::json::parse(text.str());
  std::vector<OpCase> cases;
  for (const nlohmann::json& entry : manifest.at("cases")) {
    for (const char* format : {"pt2", "pt2_core", "torchscript", "onnx"}) {
      OpCase op{entry.at("name"), format, entry.at("inputs"), entry.at("outputs"), {}, {}};
      if (!entry.at("tolerance").is_null()) op.tolerance = entry.at("tolerance").get<double>();
      if (entry.at("failed").contains(format)) op.skip_reason = entry.at("failed").at(format);
      auto gap = gaps.find(op.name + "_" + format);
      if (gap != gaps.end()) op.known_gap = gap->second;
      cases.push_back(op);
    }
  }
  return cases;
}

std::string case_name(const testing::TestParamInfo<OpCase>& info) {
  return info.param.name + "_" + info.param.format;
}

const char* extension(const std::string& format) {
  if (format == "pt2") return ".pt2";
  if (format == "pt2_core") return ".core.pt2";
  if (format == "torchscript") return ".pt";
  return ".onnx";
}

// Where NaN sits in a float tensor (as float64 values).
std::vector<bool> nan_positions(const Tensor& tensor) {
  std::vector<bool> positions;
  for (double value : tensor.to_double_vector()) positions.push_back(std::isnan(value));
  return positions;
}

// A tensor with its NaNs (at the same places in both) zeroed, so the norm compares the rest.
Tensor without_nans(const Tensor& tensor) {
  std::vector<double> values = tensor.to_double_vector();
  for (double& value : values) {
    if (std::isnan(value)) value = 0;
  }
  return Tensor::from_vector<double>(tensor.dims(), values);
}

class AtenOpFixtureTest : public testing::TestWithParam<OpCase> {};

TEST_P(AtenOpFixtureTest, MatchesPyTorchOnTheCpuReference) {
  const OpCase& op = GetParam();
  if (!op.skip_reason.empty()) GTEST_SKIP() << "PyTorch's exporter failed: " << op.skip_reason;
  std::map<std::string, Tensor> reference =
      read_safetensors(cases_folder() / (op.name + ".safetensors"));
  std::filesystem::path model = cases_folder() / (op.name + extension(op.format));
  if (!op.known_gap.empty()) {
    try {
      load_model(model);
    } catch (const Error& error) {
      if (error.kind() == ErrorKind::Unsupported) GTEST_SKIP() << "known gap: " << op.known_gap;
      throw;
    }
    FAIL() << "listed in known_gaps.txt but imports now: remove it there";
  }
  CpuSession session(load_model(model), {Precision::FP32}, false);
  const ir::Graph& graph = session.graph();
  ASSERT_EQ(graph.inputs().size(), static_cast<size_t>(op.inputs));
  std::map<std::string, Tensor> inputs;
  for (int i = 0; i < op.inputs; ++i) {
    inputs[graph.inputs()[static_cast<size_t>(i)]->name] =
        reference.at("input_" + std::to_string(i));
  }
  std::map<std::string, Tensor> outputs = session.run(inputs);
  ASSERT_EQ(graph.outputs().size(), static_cast<size_t>(op.outputs));
  for (int i = 0; i < op.outputs; ++i) {
    SCOPED_TRACE("output " + std::to_string(i));
    const Tensor& expected = reference.at("output_" + std::to_string(i));
    const Tensor& actual = outputs.at(graph.outputs()[static_cast<size_t>(i)]->name);
    ASSERT_EQ(actual.dims(), expected.dims());
    if (!op.tolerance || !is_floating(expected.dtype())) {
      // Index and mask outputs: the same values (dtypes of one kind: int64 beside int32 is fine).
      EXPECT_EQ(is_floating(actual.dtype()), is_floating(expected.dtype()));
      EXPECT_EQ(actual.to_double_vector(), expected.to_double_vector());
      continue;
    }
    EXPECT_EQ(actual.dtype(), expected.dtype());
    ASSERT_EQ(nan_positions(actual), nan_positions(expected));
    Tensor finite_actual = without_nans(actual), finite_expected = without_nans(expected);
    std::vector<double> a = finite_actual.to_double_vector(),
                        e = finite_expected.to_double_vector();
    for (size_t k = 0; k < a.size(); ++k) {
      if (std::isinf(e[k]) || std::isinf(a[k])) {
        EXPECT_EQ(a[k], e[k]) << "element " << k;
        a[k] = e[k] = 0;
      }
    }
    double error = normalized_error(Tensor::from_vector<double>(expected.dims(), a),
                                    Tensor::from_vector<double>(expected.dims(), e));
    EXPECT_LE(error, *op.tolerance) << "normalized error against PyTorch";
  }
}

INSTANTIATE_TEST_SUITE_P(AtenOps, AtenOpFixtureTest, testing::ValuesIn(all_cases()), case_name);

}  // namespace
}  // namespace kiln
