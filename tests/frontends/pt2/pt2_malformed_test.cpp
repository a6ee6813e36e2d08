// Malformed and unsupported archives, built from the mlp fixture with libzip: each must end
// in a kiln::Error of the right kind whose message names what is wrong, never a crash.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "frontends/pt2/pt2_importer.h"
#include "test_support/fixtures.h"
#include "test_support/zip_entries.h"

namespace kiln::pt2 {
namespace {

using test_support::ZipEntries;
using ::testing::AllOf;
using ::testing::HasSubstr;

ZipEntries mlp() { return ZipEntries::read(test_support::fixture_path("mlp", "mlp_fp32.pt2")); }

// The error an import of `bytes` throws (fails the test if it succeeds).
Error import_error(const std::string& bytes) {
  try {
    import_pt2_bytes(bytes, "edited.pt2");
  } catch (const Error& error) {
    return error;
  }
  ADD_FAILURE() << "the import succeeded";
  return Error(ErrorKind::Runtime, "");
}

TEST(Pt2Malformed, UneditedCopyImports) {
  ir::Graph graph = import_pt2_bytes(mlp().write(), "copy.pt2");
  EXPECT_EQ(graph.inputs().size(), 1u);
  EXPECT_EQ(graph.outputs().size(), 1u);
}

TEST(Pt2Malformed, RenamedTopFolderImports) {
  ZipEntries entries = mlp();
  entries.rename_root("mlp_fp32/", "renamed_model/");
  ir::Graph graph = import_pt2_bytes(entries.write(), "renamed.pt2");
  EXPECT_EQ(graph.name, "renamed_model");
}

TEST(Pt2Malformed, TruncatedZip) {
  std::string bytes =
      test_support::read_file_bytes(test_support::fixture_path("mlp", "mlp_fp32.pt2"));
  for (size_t keep : {size_t{0}, size_t{100}, bytes.size() / 2, bytes.size() - 10}) {
    Error error = import_error(bytes.substr(0, keep));
    EXPECT_EQ(error.kind(), ErrorKind::InvalidModel) << keep << ": " << error.what();
    EXPECT_THAT(error.what(), HasSubstr("edited.pt2"));
  }
}

TEST(Pt2Malformed, NotATorchExportArchive) {
  ZipEntries entries = mlp();
  entries.erase("models/model.json");
  Error error = import_error(entries.write());
  EXPECT_EQ(error.kind(), ErrorKind::InvalidModel);
  EXPECT_THAT(error.what(), HasSubstr("models/model.json"));
}

TEST(Pt2Malformed, MissingWeightFile) {
  ZipEntries entries = mlp();
  entries.erase("data/weights/weight_2");  // norm.weight
  Error error = import_error(entries.write());
  EXPECT_EQ(error.kind(), ErrorKind::InvalidModel);
  EXPECT_THAT(error.what(), AllOf(HasSubstr("norm.weight"), HasSubstr("weight_2")));
}

TEST(Pt2Malformed, StorageOffsetPastTheEnd) {
  ZipEntries entries = mlp();
  auto config = entries.json("model_weights_config.json");
  config["config"]["fc1.bias"]["tensor_meta"]["storage_offset"]["as_int"] = 1000;
  entries.set_json("model_weights_config.json", config);
  Error error = import_error(entries.write());
  EXPECT_EQ(error.kind(), ErrorKind::InvalidModel);
  EXPECT_THAT(error.what(), AllOf(HasSubstr("fc1.bias"), HasSubstr("storage_offset")));
}

TEST(Pt2Malformed, StrideReachingPastTheEnd) {
  ZipEntries entries = mlp();
  auto config = entries.json("model_weights_config.json");
  config["config"]["fc1.weight"]["tensor_meta"]["strides"][0]["as_int"] = 17;  // 31*17+15 ≥ 512
  entries.set_json("model_weights_config.json", config);
  Error error = import_error(entries.write());
  EXPECT_EQ(error.kind(), ErrorKind::InvalidModel);
  EXPECT_THAT(error.what(), AllOf(HasSubstr("fc1.weight"), HasSubstr("strides")));
}

// A complex64 weight's strides count complex elements and double as reals: a stride too
// large to double is refused by name, not wrapped around.
TEST(Pt2Malformed, ComplexStrideTooLargeToDouble) {
  ZipEntries entries = mlp();
  auto config = entries.json("model_weights_config.json");
  auto& meta = config["config"]["fc1.weight"]["tensor_meta"];
  meta["dtype"] = 10;  // complex64
  meta["strides"][0]["as_int"] = int64_t{1} << 62;
  entries.set_json("model_weights_config.json", config);
  Error error = import_error(entries.write());
  EXPECT_EQ(error.kind(), ErrorKind::InvalidModel);
  EXPECT_THAT(error.what(), AllOf(HasSubstr("fc1.weight"), HasSubstr("out of range")));
}

// A weight stored with other strides reads as the strided view, made contiguous.
TEST(Pt2Malformed, StridedWeightIsMadeContiguous) {
  ZipEntries entries = mlp();
  auto config = entries.json("model_weights_config.json");
  auto& meta = config["config"]["fc1.weight"]["tensor_meta"];  // sizes [32, 16]
  meta["strides"] = {{{"as_int", 1}}, {{"as_int", 32}}};       // column-major view
  entries.set_json("model_weights_config.json", config);
  std::string storage = entries.at("data/weights/weight_0");
  ir::Graph graph = import_pt2_bytes(entries.write(), "strided.pt2");
  const ir::Value* weight = graph.find_value("fc1.weight");
  ASSERT_NE(weight, nullptr);
  ASSERT_TRUE(weight->is_constant());
  auto stored = reinterpret_cast<const float*>(storage.data());
  auto values = weight->constant->values<float>();
  for (int64_t row = 0; row < 32; ++row) {
    for (int64_t col = 0; col < 16; ++col) {
      ASSERT_EQ(values[row * 16 + col], stored[row + 32 * col]) << row << "," << col;
    }
  }
}

TEST(Pt2Malformed, CorruptJson) {
  ZipEntries entries = mlp();
  std::string& program = entries.at("models/model.json");
  program = program.substr(0, program.size() / 2);
  Error error = import_error(entries.write());
  EXPECT_EQ(error.kind(), ErrorKind::InvalidModel);
  EXPECT_THAT(error.what(), AllOf(HasSubstr("models/model.json"), HasSubstr("malformed JSON")));
}

TEST(Pt2Malformed, MissingKey) {
  ZipEntries entries = mlp();
  auto program = entries.json("models/model.json");
  program["graph_module"]["graph"]["nodes"][1].erase("target");
  entries.set_json("models/model.json", program);
  Error error = import_error(entries.write());
  EXPECT_EQ(error.kind(), ErrorKind::InvalidModel);
  EXPECT_THAT(error.what(), AllOf(HasSubstr("nodes[1]"), HasSubstr("'target' is missing")));
}

TEST(Pt2Malformed, WrongTypes) {
  auto edit = [](auto change) {
    ZipEntries entries = mlp();
    auto program = entries.json("models/model.json");
    change(program);
    entries.set_json("models/model.json", program);
    return import_error(entries.write());
  };
  std::vector<Error> errors{
      edit([](auto& p) { p["schema_version"]["major"] = "8"; }),
      edit([](auto& p) { p["graph_module"]["graph"]["nodes"] = 3; }),
      edit([](auto& p) { p["graph_module"]["graph"]["nodes"][0]["inputs"][0]["arg"] = 1.5; }),
      edit([](auto& p) { p["graph_module"]["graph"]["tensor_values"]["x"]["dtype"] = "float"; }),
      edit([](auto& p) {
        p["graph_module"]["graph"]["nodes"][1]["inputs"][1]["arg"] = {{"as_ints", {"a"}}};
      }),
      edit([](auto& p) { p["graph_module"]["signature"]["input_specs"][0] = nullptr; }),
  };
  for (const Error& error : errors) {
    EXPECT_EQ(error.kind(), ErrorKind::InvalidModel) << error.what();
    EXPECT_THAT(error.what(), HasSubstr("edited.pt2"));
  }
}

TEST(Pt2Malformed, UndefinedTensor) {
  ZipEntries entries = mlp();
  auto program = entries.json("models/model.json");
  program["graph_module"]["graph"]["nodes"][0]["inputs"][0]["arg"]["as_tensor"]["name"] = "ghost";
  entries.set_json("models/model.json", program);
  Error error = import_error(entries.write());
  EXPECT_EQ(error.kind(), ErrorKind::InvalidModel);
  EXPECT_THAT(error.what(), HasSubstr("'ghost'"));
}

TEST(Pt2Unsupported, OtherSchemaMajor) {
  ZipEntries entries = mlp();
  auto program = entries.json("models/model.json");
  program["schema_version"]["major"] = 9;
  entries.set_json("models/model.json", program);
  Error error = import_error(entries.write());
  EXPECT_EQ(error.kind(), ErrorKind::Unsupported);
  EXPECT_THAT(error.what(), AllOf(HasSubstr("version 9.17"), HasSubstr("schema major 8")));
}

// The mlp fixture with two targets no converter knows: fc1's linear and the gelu.
std::string mlp_with_unknown_targets() {
  ZipEntries entries = mlp();
  auto program = entries.json("models/model.json");
  auto& nodes = program["graph_module"]["graph"]["nodes"];
  nodes[0]["target"] = "torch.ops.aten.frobnicate.default";
  nodes[2]["target"] = "torch.ops.aten.wobble.Tensor";
  entries.set_json("models/model.json", program);
  return entries.write();
}

// Every unsupported target is listed with its node names and Python source.
TEST(Pt2Unsupported, ListsEveryUnsupportedOp) {
  Error error = import_error(mlp_with_unknown_targets());
  EXPECT_EQ(error.kind(), ErrorKind::Unsupported);
  EXPECT_THAT(error.what(), AllOf(HasSubstr("2 ATen ops"), HasSubstr("aten.frobnicate.default"),
                                  HasSubstr("node 'linear'"), HasSubstr("aten.wobble.Tensor"),
                                  HasSubstr("node 'gelu'"), HasSubstr("fc1 (Linear)"),
                                  HasSubstr("linear.py\", line")));
}

// With keep_unsupported (kiln inspect), the same archive imports: each unsupported node is a
// placeholder typed as the program declares, listed with its node names, and the rest of the
// model is there to summarize.
TEST(Pt2Unsupported, KeepsUnsupportedOpsAsPlaceholders) {
  Pt2ImportResult result =
      import_pt2_model_bytes(mlp_with_unknown_targets(), "edited.pt2", {.keep_unsupported = true});
  ASSERT_EQ(result.unsupported.size(), 2u);
  EXPECT_EQ(result.unsupported[0].target, "aten.frobnicate.default");
  EXPECT_EQ(result.unsupported[0].nodes, std::vector<std::string>{"linear"});
  EXPECT_EQ(result.unsupported[1].target, "aten.wobble.Tensor");
  int placeholders = 0, gemms = 0;
  for (const ir::Node* node : result.graph.nodes()) {
    if (node->op == "aten.frobnicate.default") {
      ++placeholders;
      ASSERT_EQ(node->outputs.size(), 1u);
      EXPECT_EQ(node->outputs[0]->dtype, DType::Float32);  // as the program declares
      EXPECT_TRUE(node->outputs[0]->shape.rank_known());
    }
    gemms += node->op == "Gemm" || node->op == "MatMul";
  }
  EXPECT_EQ(placeholders, 1);
  EXPECT_GE(gemms, 1);  // fc2 still converted
  EXPECT_EQ(result.graph.outputs().size(), 1u);
}

// An unsupported op with a tensor-list output (Mamba's tensor_split before Kiln had it): its
// elements are placeholders too, so the nodes reading them import and the op is listed, not
// reported as a read of an undefined tensor.
TEST(Pt2Unsupported, AListOutputOfAnUnsupportedOpIsDefined) {
  ZipEntries entries = mlp();
  auto program = entries.json("models/model.json");
  auto& node = program["graph_module"]["graph"]["nodes"][0];
  node["target"] = "torch.ops.aten.frobnicate.default";
  node["outputs"][0] = {{"as_tensors", {{{"name", "linear"}}, {{"name", "linear_spare"}}}}};
  entries.set_json("models/model.json", program);
  Error error = import_error(entries.write());
  EXPECT_EQ(error.kind(), ErrorKind::Unsupported) << error.what();
  EXPECT_THAT(error.what(), HasSubstr("aten.frobnicate.default"));
  Pt2ImportResult result =
      import_pt2_model_bytes(entries.write(), "edited.pt2", {.keep_unsupported = true});
  ASSERT_EQ(result.unsupported.size(), 1u);
  EXPECT_EQ(result.graph.outputs().size(), 1u);
}

TEST(Pt2Unsupported, BufferMutation) {
  ZipEntries entries = mlp();
  auto program = entries.json("models/model.json");
  program["graph_module"]["signature"]["output_specs"].push_back(
      {{"buffer_mutation", {{"arg", {{"name", "linear"}}}, {"buffer_name", "running_count"}}}});
  entries.set_json("models/model.json", program);
  Error error = import_error(entries.write());
  EXPECT_EQ(error.kind(), ErrorKind::Unsupported);
  EXPECT_THAT(error.what(), AllOf(HasSubstr("buffer_mutation"), HasSubstr("running_count")));
}

TEST(Pt2Unsupported, PickledWeight) {
  ZipEntries entries = mlp();
  auto config = entries.json("model_weights_config.json");
  config["config"]["fc2.bias"]["use_pickle"] = true;
  entries.set_json("model_weights_config.json", config);
  Error error = import_error(entries.write());
  EXPECT_EQ(error.kind(), ErrorKind::Unsupported);
  EXPECT_THAT(error.what(), HasSubstr("fc2.bias"));
}

// Random byte flips in the zip and in model.json: only kiln::Error may come out.
TEST(Pt2Malformed, RandomCorruptionOnlyThrowsKilnErrors) {
  std::string original =
      test_support::read_file_bytes(test_support::fixture_path("mlp", "mlp_fp32.pt2"));
  ZipEntries entries = mlp();
  std::string program = entries.at("models/model.json");
  std::mt19937 random(1234);
  int rejected = 0;
  for (int round = 0; round < 150; ++round) {
    bool in_json = round % 2 == 0;
    std::string bytes = in_json ? program : original;
    for (int flip = 0; flip < 3; ++flip) {
      bytes[random() % bytes.size()] = static_cast<char>(random() % 256);
    }
    if (in_json) {
      entries.at("models/model.json") = bytes;
      bytes = entries.write();
    }
    try {
      import_pt2_bytes(bytes, "fuzzed.pt2");
    } catch (const Error&) {
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 0);
}

}  // namespace
}  // namespace kiln::pt2
