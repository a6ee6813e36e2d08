// See aten_op_cases.h.
#include "test_support/aten_op_cases.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/tensor_io.h"

namespace kiln::test_support {
namespace {

const char* extension(const std::string& format) {
  if (format == "pt2") return ".pt2";
  if (format == "pt2_core") return ".core.pt2";
  if (format == "torchscript") return ".pt";
  return ".onnx";
}

// known_gaps.txt: "<case>_<format>  # reason" per line.
std::map<std::string, std::string> known_gaps() {
  std::map<std::string, std::string> gaps;
  std::ifstream file(op_cases_folder() / "known_gaps.txt");
  for (std::string line; std::getline(file, line);) {
    if (line.empty() || line[0] == '#') continue;
    size_t hash = line.find('#');
    std::string name = line.substr(0, line.find_first_of(" #"));
    gaps[name] = hash == std::string::npos ? "" : line.substr(hash + 2);
  }
  return gaps;
}

std::vector<bool> nan_positions(const std::vector<double>& values) {
  std::vector<bool> positions;
  for (double value : values) positions.push_back(std::isnan(value));
  return positions;
}

}  // namespace

std::filesystem::path op_cases_folder() {
  return std::filesystem::path(KILN_SOURCE_DIR) / "tests/models/aten_ops";
}

std::filesystem::path OpCase::model_path() const {
  return op_cases_folder() / (name + extension(format));
}

std::map<std::string, Tensor> OpCase::reference() const {
  return read_safetensors(op_cases_folder() / (name + ".safetensors"));
}

std::vector<OpCase> all_op_cases() {
  std::map<std::string, std::string> gaps = known_gaps();
  std::ifstream file(op_cases_folder() / "manifest.json");
  std::stringstream text;
  text << file.rdbuf();
  nlohmann::json manifest = nlohmann::json::parse(text.str());
  std::vector<OpCase> cases;
  for (const nlohmann::json& entry : manifest.at("cases")) {
    for (const char* format : {"pt2", "pt2_core", "torchscript", "onnx"}) {
      OpCase op{entry.at("name"), format, entry.at("inputs"), entry.at("outputs"), {}, {}, {}};
      if (!entry.at("tolerance").is_null()) op.tolerance = entry.at("tolerance").get<double>();
      if (entry.at("failed").contains(format)) op.skip_reason = entry.at("failed").at(format);
      auto gap = gaps.find(op.name + "_" + format);
      if (gap != gaps.end()) op.known_gap = gap->second;
      cases.push_back(op);
    }
  }
  return cases;
}

void expect_matches_pytorch(const Tensor& actual, const Tensor& expected,
                            std::optional<double> tolerance) {
  ASSERT_EQ(actual.dims(), expected.dims());
  std::vector<double> a = actual.to_double_vector(), e = expected.to_double_vector();
  if (!tolerance || !is_floating(expected.dtype())) {
    EXPECT_EQ(is_floating(actual.dtype()), is_floating(expected.dtype()));
    EXPECT_EQ(a, e);
    return;
  }
  EXPECT_EQ(actual.dtype(), expected.dtype());
  ASSERT_EQ(nan_positions(a), nan_positions(e));
  for (size_t k = 0; k < a.size(); ++k) {
    if (std::isnan(e[k]) || std::isinf(e[k]) || std::isinf(a[k])) {
      if (!std::isnan(e[k])) EXPECT_EQ(a[k], e[k]) << "element " << k;
      a[k] = e[k] = 0;
    }
  }
  double error = normalized_error(Tensor::from_vector<double>(expected.dims(), a),
                                  Tensor::from_vector<double>(expected.dims(), e));
  EXPECT_LE(error, *tolerance) << "normalized error against PyTorch";
}

}  // namespace kiln::test_support
