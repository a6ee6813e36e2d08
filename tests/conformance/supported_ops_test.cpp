// supported_ops.txt, which picks the ONNX node-test cases to generate, lists exactly the op
// types the ONNX importer's table has (src/frontends/onnx/onnx_op_table.cpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "frontends/onnx/onnx_importer.h"

namespace kiln::onnx {
namespace {

// One op type per line; '#' starts a comment (the same rule as generate_node_tests.py).
std::set<std::string> read_op_list(const std::filesystem::path& path) {
  std::ifstream file(path);
  EXPECT_TRUE(file) << "cannot read " << path;
  std::set<std::string> ops;
  for (std::string line; std::getline(file, line);) {
    line = line.substr(0, line.find('#'));
    line.erase(0, line.find_first_not_of(" \t"));
    line.erase(line.find_last_not_of(" \t\r") + 1);
    if (!line.empty()) ops.insert(line);
  }
  return ops;
}

std::string joined(const std::vector<std::string>& names) {
  std::string text;
  for (const std::string& name : names) text += (text.empty() ? "" : ", ") + name;
  return text;
}

TEST(SupportedOps, ListMatchesTheOnnxImporterTable) {
  const std::filesystem::path list =
      std::filesystem::path(KILN_SOURCE_DIR) / "tests/conformance/supported_ops.txt";
  std::set<std::string> listed = read_op_list(list);
  std::vector<std::string> table = supported_onnx_ops();
  std::set<std::string> imported(table.begin(), table.end());
  std::vector<std::string> unlisted;
  std::vector<std::string> not_imported;
  std::set_difference(imported.begin(), imported.end(), listed.begin(), listed.end(),
                      std::back_inserter(unlisted));
  std::set_difference(listed.begin(), listed.end(), imported.begin(), imported.end(),
                      std::back_inserter(not_imported));
  EXPECT_TRUE(unlisted.empty())
      << "the ONNX importer's table has ops that tests/conformance/supported_ops.txt lacks, so "
         "their ONNX node tests are never generated: "
      << joined(unlisted) << ". Add one line per op to supported_ops.txt.";
  EXPECT_TRUE(not_imported.empty())
      << "tests/conformance/supported_ops.txt lists ops the ONNX importer has no entry for: "
      << joined(not_imported)
      << ". Remove them from supported_ops.txt, or add their importers to the table "
         "(src/frontends/onnx/onnx_ops_<family>.cpp).";
}

}  // namespace
}  // namespace kiln::onnx
