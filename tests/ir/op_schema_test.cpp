// The schema registry is the one list of core ops: every registered schema is complete, and
// docs/core_ops.md's op table names exactly the registered ops (no hand-kept list here).
#include "ir/op_schema.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace kiln::ir {
namespace {

TEST(OpSchemas, EveryCoreOpHasOneSchema) {
  std::vector<std::string> names = core_op_names();
  ASSERT_GE(names.size(), 50u) << "the registry lost its schemas (src/ir/op_schema.cpp)";
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), names.size());
  for (const std::string& op : names) {
    const OpSchema* schema = find_schema(op);
    ASSERT_NE(schema, nullptr) << op;
    EXPECT_EQ(schema->op, op);
    EXPECT_NE(schema->infer, nullptr) << op;
    EXPECT_GE(schema->min_inputs, 0) << op;
    EXPECT_TRUE(schema->max_inputs < 0 || schema->max_inputs >= schema->min_inputs) << op;
    EXPECT_GE(schema->min_outputs, 1) << op;
    EXPECT_TRUE(schema->max_outputs < 0 || schema->max_outputs >= schema->min_outputs) << op;
  }
  EXPECT_TRUE(find_schema("MatMul")->float_compute);
  EXPECT_FALSE(find_schema("Reshape")->float_compute);
  EXPECT_FALSE(find_schema("Equal")->float_compute);
  EXPECT_EQ(find_schema("onnx.TopK"), nullptr);
}

// The op names in the first column of the doc's op table ("| Relu, Erf, Tanh | X | ...").
std::set<std::string> ops_in_core_ops_doc(const std::filesystem::path& path) {
  std::ifstream file(path);
  EXPECT_TRUE(file) << "cannot read " << path;
  std::set<std::string> ops;
  bool in_table = false;
  for (std::string line; std::getline(file, line);) {
    if (line.starts_with("| op |")) {
      in_table = true;
      continue;
    }
    if (!in_table) continue;
    if (!line.starts_with("|")) break;  // the first table ends at its first non-row line
    if (line.starts_with("|---")) continue;
    std::string cell = line.substr(1, line.find('|', 1) - 1);
    std::istringstream names(cell);
    for (std::string name; std::getline(names, name, ',');) {
      name.erase(0, name.find_first_not_of(' '));
      name.erase(name.find_last_not_of(' ') + 1);
      if (!name.empty()) ops.insert(name);
    }
  }
  return ops;
}

std::string joined(const std::vector<std::string>& names) {
  std::string text;
  for (const std::string& name : names) text += (text.empty() ? "" : ", ") + name;
  return text;
}

TEST(OpSchemas, CoreOpsDocTableMatchesTheRegistry) {
  const std::filesystem::path doc = std::filesystem::path(KILN_SOURCE_DIR) / "docs/core_ops.md";
  std::set<std::string> documented = ops_in_core_ops_doc(doc);
  std::vector<std::string> names = core_op_names();
  std::set<std::string> registered(names.begin(), names.end());
  std::vector<std::string> undocumented;
  std::vector<std::string> unregistered;
  std::set_difference(registered.begin(), registered.end(), documented.begin(), documented.end(),
                      std::back_inserter(undocumented));
  std::set_difference(documented.begin(), documented.end(), registered.begin(), registered.end(),
                      std::back_inserter(unregistered));
  EXPECT_TRUE(undocumented.empty())
      << "core ops with a schema (src/ir/schemas_*.cpp) but no row in docs/core_ops.md's op "
         "table: "
      << joined(undocumented)
      << ". Add each to the table (inputs, attributes, notes), in an existing row of its family "
         "or a new one.";
  EXPECT_TRUE(unregistered.empty())
      << "docs/core_ops.md's op table names ops that have no schema: " << joined(unregistered)
      << ". Fix the spelling in the doc, remove the op from the table, or register its schema in "
         "src/ir/schemas_<family>.cpp.";
}

}  // namespace
}  // namespace kiln::ir
