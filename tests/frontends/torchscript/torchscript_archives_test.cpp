// Whole archives edited from the fixtures: hostile data.pkl, truncated zips, bad storage
// keys, unsupported versions, control flow in forward, and scripted-module input specs.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "backends/cpu/executor.h"
#include "core/error.h"
#include "frontends/torchscript/torchscript_importer.h"
#include "ir/verifier.h"
#include "test_support/einsum_reference.h"
#include "test_support/fixtures.h"
#include "test_support/zip_entries.h"

namespace kiln::torchscript {
namespace {

using test_support::ZipEntries;
using namespace std::string_literals;

std::string import_error(const std::string& bytes, ErrorKind expected_kind) {
  try {
    import_torchscript_bytes(bytes, "edited.pt");
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), expected_kind) << error.what();
    return error.what();
  }
  ADD_FAILURE() << "the archive imported";
  return "";
}

ZipEntries mlp() { return ZipEntries::read(test_support::fixture_path("mlp", "mlp_fp32.pt")); }

// The MLP fixture with its last line replaced by `ending`, which reads fc2's output as _1.
ir::Graph import_mlp_ending(const std::string& ending) {
  ZipEntries entries = mlp();
  std::string& source = entries.at("code/__torch__.py");
  std::string line = "    return (fc2).forward(input, )\n";
  size_t at = source.find(line);
  if (at == std::string::npos) throw std::runtime_error("the MLP fixture's source changed");
  source.replace(at, line.size(), "    _1 = (fc2).forward(input, )\n" + ending);
  return import_torchscript_bytes(entries.write());
}

TEST(TorchScriptArchive, ImportsFromMemoryAsFromFile) {
  ir::Graph graph = import_torchscript_bytes(mlp().write());
  ir::verify(graph);
  ASSERT_EQ(graph.inputs().size(), 1u);
  EXPECT_EQ(graph.inputs()[0]->name, "x");
  EXPECT_EQ(graph.inputs()[0]->shape.to_string(), "[4, 16]");
  EXPECT_EQ(graph.outputs()[0]->shape.to_string(), "[4, 8]");
}

TEST(TorchScriptArchive, RefusesAHostileDataPickle) {
  ZipEntries entries = mlp();
  std::string marker = "/tmp/kiln_archive_ran_" + std::to_string(getpid());
  std::string command = "touch " + marker;
  std::string length(4, '\0');
  for (int i = 0; i < 4; ++i) length[i] = static_cast<char>((command.size() >> (8 * i)) & 0xff);
  entries.at("data.pkl") =
      "\x80\x02"
      "cos\nsystem\nX"s +
      length + command + "\x85R.";
  std::string message = import_error(entries.write(), ErrorKind::InvalidModel);
  EXPECT_NE(message.find("data.pkl"), std::string::npos) << message;
  EXPECT_NE(message.find("'os.system' is not allowed"), std::string::npos) << message;
  EXPECT_FALSE(std::filesystem::exists(marker));
}

TEST(TorchScriptArchive, ReportsTruncatedArchives) {
  std::string bytes = mlp().write();
  std::string message = import_error(bytes.substr(0, bytes.size() / 2), ErrorKind::InvalidModel);
  EXPECT_NE(message.find("not a readable zip archive"), std::string::npos) << message;
}

TEST(TorchScriptArchive, ReportsMissingAndShortStorages) {
  ZipEntries entries = mlp();
  entries.erase("data/0");
  std::string message = import_error(entries.write(), ErrorKind::InvalidModel);
  EXPECT_NE(message.find("storage key '0' has no entry data/0"), std::string::npos) << message;

  entries = mlp();
  entries.at("data/1").resize(8);
  message = import_error(entries.write(), ErrorKind::InvalidModel);
  EXPECT_NE(message.find("data/1 holds 8 bytes"), std::string::npos) << message;

  // A key that tries to leave the storage folder.
  entries = mlp();
  std::string& pickle = entries.at("data.pkl");
  size_t key = pickle.find(
      "X\x01\x00\x00\x00"
      "0"s);
  ASSERT_NE(key, std::string::npos);
  pickle.replace(key, 6, "X\x02\x00\x00\x00/0"s);
  message = import_error(entries.write(), ErrorKind::InvalidModel);
  EXPECT_NE(message.find("bad storage key '/0'"), std::string::npos) << message;
}

TEST(TorchScriptArchive, ChecksTheFormatVersion) {
  ZipEntries entries = mlp();
  entries.at(".data/version") = "99\n";
  std::string message = import_error(entries.write(), ErrorKind::Unsupported);
  EXPECT_NE(message.find("version '99'"), std::string::npos) << message;
  EXPECT_NE(message.find("3 to 10"), std::string::npos) << message;
}

TEST(TorchScriptArchive, NamesControlFlowAndItsLine) {
  ZipEntries entries = mlp();
  std::string& source = entries.at("code/__torch__.py");
  std::string line = "    input = torch.gelu(_0)\n";
  size_t at = source.find(line);
  ASSERT_NE(at, std::string::npos);
  source.insert(at, "    for i in range(2):\n      _0 = torch.relu(_0)\n");
  int line_number = 1 + static_cast<int>(std::count(source.begin(), source.begin() + at, '\n'));
  std::string message = import_error(entries.write(), ErrorKind::Unsupported);
  EXPECT_NE(message.find("code/__torch__.py line " + std::to_string(line_number)),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("'for' in __torch__.Mlp.forward is not supported"), std::string::npos)
      << message;
}

TEST(TorchScriptArchive, NamesBranchesOnTensorValues) {
  ZipEntries entries = mlp();
  std::string& source = entries.at("code/__torch__.py");
  std::string line = "    input = torch.gelu(_0)\n";
  size_t at = source.find(line);
  ASSERT_NE(at, std::string::npos);
  source.insert(at, "    if torch.gt(_0, 0.):\n      _0 = torch.relu(_0)\n    else:\n      pass\n");
  int line_number = 1 + static_cast<int>(std::count(source.begin(), source.begin() + at, '\n'));
  std::string message = import_error(entries.write(), ErrorKind::Unsupported);
  EXPECT_NE(
      message.find("line " + std::to_string(line_number) + " (top module Mlp): 'if' on a tensor"),
      std::string::npos)
      << message;
  EXPECT_NE(message.find("cannot be resolved"), std::string::npos) << message;
}

// Scripted modules compile helpers (F.dropout) into module-level functions with default
// arguments and ifs on static flags; those resolve while the graph is built.
TEST(TorchScriptArchive, ResolvesStaticBranchesOfScriptedCode) {
  ZipEntries entries = mlp();
  std::string& source = entries.at("code/__torch__.py");
  size_t at = source.find("    input = torch.gelu(_0)\n");
  ASSERT_NE(at, std::string::npos);
  source.replace(at, 27, "    input = __torch__.helpers.act(_0, approximate=\"tanh\")\n");
  entries.files[entries.files.begin()->first.substr(0, entries.files.begin()->first.find('/')) +
                "/code/__torch__/helpers.py"] =
      "def act(x: Tensor, p: float=0.5, approximate: str=\"none\", inplace: bool=False) -> "
      "Tensor:\n"
      "  _0 = \"dropout probability has to be between 0 and 1, but got {}\"\n"
      "  if torch.lt(p, 0.):\n    _1 = True\n  else:\n    _1 = torch.gt(p, 1.)\n"
      "  if _1:\n    ops.prim.RaiseException(torch.format(_0, p), \"builtins.ValueError\")\n"
      "  else:\n    pass\n"
      "  if inplace:\n    _2 = torch.relu_(x)\n"
      "  elif torch.__isnot__(approximate, None):\n    _2 = torch.gelu(x, "
      "approximate=approximate)\n"
      "  else:\n    _2 = x\n"
      "  return _2\n";
  ir::Graph graph = import_torchscript_bytes(entries.write());
  ir::verify(graph);
  bool saw_tanh_gelu = false;
  for (const ir::Node* node : graph.nodes()) {
    EXPECT_NE(node->op, "Relu");
    if (node->op == "Gelu") saw_tanh_gelu = node->attr_string("approximate", "") == "tanh";
  }
  EXPECT_TRUE(saw_tanh_gelu);
}

TEST(TorchScriptArchive, UnknownTorchFunctionsAreNamed) {
  ZipEntries entries = mlp();
  std::string& source = entries.at("code/__torch__.py");
  size_t at = source.find("torch.gelu(_0)");
  ASSERT_NE(at, std::string::npos);
  source.replace(at, 14, "torch.frobnicate(_0)");
  std::string message = import_error(entries.write(), ErrorKind::Unsupported);
  EXPECT_NE(message.find("torch.frobnicate is not supported"), std::string::npos) << message;
}

// torch.max/min along a dim return (values, indices), which the source unpacks or indexes.
TEST(TorchScriptArchive, MaxAndMinAlongADimReturnValuesAndIndices) {
  ir::Graph graph = import_mlp_ending(
      "    _2, _3 = torch.max(_1, 1)\n"
      "    _4 = torch.argmin(_1, -1, True)\n"
      "    _5 = (torch.min(_1, dim=0, keepdim=True))[1]\n"
      "    return (_2, _3, _4, _5, torch.amin(_1, [0]), torch.argmax(_1))\n");
  ir::verify(graph);
  ASSERT_EQ(graph.outputs().size(), 6u);
  std::vector<std::string> shapes;
  for (const ir::Value* output : graph.outputs()) shapes.push_back(output->shape.to_string());
  EXPECT_EQ(shapes, (std::vector<std::string>{"[4]", "[4]", "[4, 1]", "[1, 8]", "[8]", "[]"}));
  EXPECT_EQ(graph.outputs()[0]->dtype, DType::Float32);
  for (size_t i : {1, 2, 3, 5}) EXPECT_EQ(graph.outputs()[i]->dtype, DType::Int64) << i;
}

// torch.chunk returns a list as long as torch makes it: 8 in 3 gives 3, 3, 2; 8 in 5 gives
// four pieces of 2, fewer than asked.
TEST(TorchScriptArchive, ChunkUnpacksAsManyPiecesAsTorchMakes) {
  ir::Graph graph = import_mlp_ending(
      "    _2, _3, _4 = torch.chunk(_1, 3, 1)\n"
      "    _5, _6, _7, _8 = torch.chunk(_1, 5, -1)\n"
      "    return (_4, _8)\n");
  ir::verify(graph);
  ASSERT_EQ(graph.outputs().size(), 2u);
  EXPECT_EQ(graph.outputs()[0]->shape.to_string(), "[4, 2]");
  EXPECT_EQ(graph.outputs()[1]->shape.to_string(), "[4, 2]");
}

// Calls Hugging Face's Falcon, LeViT and BEiT leave in traced code: split_with_sizes, meshgrid
// of a list (unpacked), an in-place multiply by a number and x[...] = number (copy_ of a
// number). Checked against fc2's output, which the graph also returns.
TEST(TorchScriptArchive, SplitWithSizesMeshgridAndInPlaceNumbers) {
  ir::Graph graph = import_mlp_ending(
      "    _2, _3, = torch.split_with_sizes(_1, [3, 5], 1)\n"
      "    _4, _5, = torch.meshgrid([torch.select(_2, 0, 0), torch.select(_3, 0, 0)], "
      "indexing=\"ij\")\n"
      "    _6 = torch.mul_(torch.sub(_4, _4), 2)\n"
      "    _7 = torch.copy_(_6, 3)\n"
      "    return (_1, torch.add(_7, _5))\n");
  ir::verify(graph);
  ASSERT_EQ(graph.outputs().size(), 2u);
  EXPECT_EQ(graph.outputs()[1]->shape.to_string(), "[3, 5]");
  std::vector<Tensor> results = cpu::Executor(graph).run(
      {{graph.inputs()[0]->name, test_support::einsum_operand({4, 16}, 0)}});
  std::vector<double> fc2 = results[0].to_double_vector(), got = results[1].to_double_vector();
  for (size_t i = 0; i < 3; ++i) {
    for (size_t j = 0; j < 5; ++j) EXPECT_NEAR(got[i * 5 + j], 3 + fc2[3 + j], 1e-5) << i << j;
  }
}

// torch.ceil / floor / round of a static float (MobileViT computes patch counts so): ceil and
// floor give ints, round a float half to even.
TEST(TorchScriptArchive, StaticFloatRounding) {
  ir::Graph graph = import_mlp_ending(
      "    _2 = torch.ceil(2.25)\n"
      "    _3 = torch.floor(2.75)\n"
      "    _4 = torch.round(2.5)\n"
      "    return (_1, torch.mul(_1, torch.add(torch.add(_2, _3), _4)))\n");
  std::vector<Tensor> results = cpu::Executor(graph).run(
      {{graph.inputs()[0]->name, test_support::einsum_operand({4, 16}, 0)}});
  std::vector<double> fc2 = results[0].to_double_vector(), got = results[1].to_double_vector();
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], 7 * fc2[i], 1e-5) << i;
}

// torch.einsum(equation, [tensors]) as scripted code writes it, with maxvit's spaces and
// capitals; checked against loops over fc2's output, which the graph also returns.
TEST(TorchScriptArchive, EinsumMatchesLoops) {
  ir::Graph graph = import_mlp_ending(
      "    _2 = torch.einsum(\"I D, J D -> I J\", [_1, _1])\n"
      "    return (_1, _2, torch.einsum(\"ij->\", [_1]))\n");
  ir::verify(graph);
  std::vector<Tensor> results = cpu::Executor(graph).run(
      {{graph.inputs()[0]->name, test_support::einsum_operand({4, 16}, 0)}});
  ASSERT_EQ(results.size(), 3u);
  test_support::EinsumResult scores =
      test_support::reference_einsum("ID,JD->IJ", {results[0], results[0]});
  EXPECT_EQ(results[1].dims(), scores.dims);
  std::vector<double> got = results[1].to_double_vector();
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], scores.values[i], 1e-4) << i;
  double total = 0;
  for (double value : results[0].to_double_vector()) total += value;
  EXPECT_NEAR(results[2].to_double_vector().at(0), total, 1e-4);
}

// Sizes traced as numbers, as Swin, DeBERTa and BART write them: rsub, pow, to(number,
// device, dtype), sqrt and detach of numbers are static arithmetic; masked_fill_ (no row of its
// own) converts as masked_fill and rebinds its operand. fc2's output is 4 x 8.
TEST(TorchScriptArchive, StaticMathOnTracedSizesAndInPlaceVariants) {
  ir::Graph graph = import_mlp_ending(
      "    _2 = torch.rsub(torch.size(_1, 1), 10)\n"
      "    _3 = torch.pow(_2, 2.)\n"
      "    _4 = torch.to(torch.detach(torch.size(_1, 0)), torch.device(\"cpu\"), 6, False, False)\n"
      "    _5 = torch.mul(_1, torch.sqrt(_4))\n"
      "    _6 = torch.masked_fill_(_5, torch.gt(_1, 0.), _3)\n"
      "    return (_5, _6)\n");
  ir::verify(graph);
  std::vector<Tensor> results = cpu::Executor(graph).run(
      {{graph.inputs()[0]->name, test_support::einsum_operand({4, 16}, 0)}});
  ASSERT_EQ(results.size(), 2u);
  // _5 was updated in place: both outputs are sqrt(4)·fc2 with the positive entries set to
  // (10 - 8)^2 = 4.
  std::vector<double> updated = results[0].to_double_vector();
  EXPECT_EQ(updated, results[1].to_double_vector());
  int filled = 0;
  for (double value : updated) {
    EXPECT_TRUE(value <= 0 || value == 4.0) << value;
    filled += value == 4.0;
  }
  EXPECT_GT(filled, 0);
}

// A clone is a tensor of its own: an in-place op on it leaves the original alone (they once
// shared one IR value, and the in-place rebinding changed both names). _1 is fc2's output.
TEST(TorchScriptArchive, InPlaceOnACloneLeavesTheOriginal) {
  ir::Graph graph = import_mlp_ending(
      "    _2 = torch.clone(_1)\n"
      "    _3 = torch.add_(_2, 1.)\n"
      "    return (_1, _3)\n");
  ir::verify(graph);
  std::vector<Tensor> results = cpu::Executor(graph).run(
      {{graph.inputs()[0]->name, test_support::einsum_operand({4, 16}, 0)}});
  ASSERT_EQ(results.size(), 2u);
  std::vector<double> original = results[0].to_double_vector();
  std::vector<double> added = results[1].to_double_vector();
  ASSERT_EQ(original.size(), added.size());
  for (size_t i = 0; i < original.size(); ++i) EXPECT_NEAR(added[i], original[i] + 1, 1e-6) << i;
}

// An in-place op on a slice or select changes the tensor it was cut from (script_views.cpp):
// x[:, 0:4].fill_(0) and x[1].copy_(zeros) reach _1 (fc2's 4 x 8 output), and a view cut
// before the write (_5, columns 2..5) sees it.
TEST(TorchScriptArchive, WritesIntoSlicesReachTheBase) {
  Tensor input = test_support::einsum_operand({4, 16}, 0);
  ir::Graph plain = import_mlp_ending("    return (_1, _1)\n");
  ir::Graph graph = import_mlp_ending(
      "    _5 = torch.slice(_1, 1, 2, 6)\n"
      "    _2 = torch.slice(_1, 1, 0, 4)\n"
      "    _3 = torch.fill_(_2, 0.)\n"
      "    _4 = torch.copy_(torch.select(_1, 0, 1), torch.zeros_like(torch.select(_1, 0, 1)))\n"
      "    return (_1, _5)\n");
  ir::verify(graph);
  std::vector<double> before =
      cpu::Executor(plain).run({{plain.inputs()[0]->name, input}})[0].to_double_vector();
  std::vector<Tensor> results = cpu::Executor(graph).run({{graph.inputs()[0]->name, input}});
  ASSERT_EQ(results.size(), 2u);
  std::vector<double> after = results[0].to_double_vector();
  ASSERT_EQ(after.size(), 32u);
  for (size_t i = 0; i < 32; ++i) {
    size_t row = i / 8, column = i % 8;
    double expected = row == 1 || column < 4 ? 0.0 : before[i];
    EXPECT_EQ(after[i], expected) << "row " << row << " column " << column;
  }
  std::vector<double> window = results[1].to_double_vector();
  ASSERT_EQ(window.size(), 16u);
  for (size_t i = 0; i < 16; ++i) EXPECT_EQ(window[i], after[(i / 4) * 8 + 2 + i % 4]) << i;
}

// Writes it cannot carry back are refused, naming the way out, never dropped: through a
// strided slice, or through a view that is not a slice or select (a chunk).
TEST(TorchScriptArchive, RefusesWritesItCannotCarryBack) {
  const char* cases[][2] = {
      {"    _2 = torch.slice(_1, 1, 0, 8, 2)\n", "with a step"},
      {"    _2, _6 = torch.chunk(_1, 2, 1)\n", "torch.export"},
  };
  for (const auto& [view, message] : cases) {
    try {
      import_mlp_ending(std::string(view) + "    _3 = torch.fill_(_2, 0.)\n    return (_1, _3)\n");
      ADD_FAILURE() << view << " imported";
    } catch (const Error& error) {
      EXPECT_EQ(error.kind(), ErrorKind::Unsupported);
      EXPECT_NE(std::string(error.what()).find(message), std::string::npos) << error.what();
    }
  }
}

// Scripted modules have no traced_inputs.pkl: the caller gives the input specs.
TEST(TorchScriptArchive, TakesInputSpecsWhenNothingWasTraced) {
  ZipEntries entries = mlp();
  entries.erase("traced_inputs.pkl");
  std::string message = import_error(entries.write(), ErrorKind::Unsupported);
  EXPECT_NE(message.find("no traced_inputs.pkl"), std::string::npos) << message;

  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("kiln_scripted_" + std::to_string(getpid()) + ".pt");
  {
    std::ofstream file(path, std::ios::binary);
    std::string bytes = entries.write();
    file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  ir::Graph graph = import_torchscript_file(path, {{DType::Float32, {3, 16}}});
  std::filesystem::remove(path);
  ir::verify(graph);
  EXPECT_EQ(graph.outputs()[0]->shape.to_string(), "[3, 8]");
}

}  // namespace
}  // namespace kiln::torchscript
