// TorchScript archives holding complex tensors (Meta's Llama keeps its rotary table freqs_cis as
// a complex64 buffer): a ComplexFloatStorage in data.pkl or constants.pkl reads as float32
// (re, im) pairs marked complex, so view_as_complex, complex products and view_as_real convert
// as they do for .pt2; complex32 and complex inputs are refused by name. The archives are the
// MLP fixture's with a hand-written module pickle and forward.
#include <gtest/gtest.h>

#include <complex>
#include <cstring>

#include "backends/cpu/executor.h"
#include "core/error.h"
#include "frontends/torchscript/torchscript_importer.h"
#include "ir/verifier.h"
#include "pickle_bytes.h"
#include "test_support/einsum_reference.h"
#include "test_support/fixtures.h"
#include "test_support/zip_entries.h"

namespace kiln::torchscript {
namespace {

using pickle_bytes::tensor_rebuild;
using pickle_bytes::text;
using test_support::ZipEntries;
using Complex = std::complex<double>;

// The complex64 storages: the buffer `table` (data/table) and CONSTANTS.c0 (constants/c0).
Complex table_storage(int k) { return {0.25 * k + 0.5, 1.0 - 0.5 * k}; }
Complex constant_storage(int k) { return {k - 1.5, 0.5 * k}; }

std::string complex64_bytes(int count, Complex (*value)(int)) {
  std::vector<float> reals;
  for (int k = 0; k < count; ++k) {
    reals.push_back(static_cast<float>(value(k).real()));
    reals.push_back(static_cast<float>(value(k).imag()));
  }
  std::string bytes(reals.size() * sizeof(float), '\0');
  std::memcpy(bytes.data(), reals.data(), bytes.size());
  return bytes;
}

// The MLP fixture (input x: float32 [4, 16]) as a module Mlp holding one buffer, `table`: a
// complex [2, 4] view at offset 1 with strides (1, 2) of 10 stored elements, so that table[i][j]
// is element 1 + i + 2j. CONSTANTS.c0 is a complex64 [4]. `forward` is the method's body.
ZipEntries complex_archive(const std::string& forward,
                           const std::string& storage = "ComplexFloatStorage") {
  ZipEntries entries = ZipEntries::read(test_support::fixture_path("mlp", "mlp_fp32.pt"));
  entries.at("data.pkl") =
      "\x80\x02"
      "c__torch__\nMlp\n)\x81}(" +
      text("training") + "\x89" + text("table") +
      tensor_rebuild(storage, "table", 10, 1, {2, 4}, {1, 2}) + "ub.";
  entries.files["mlp_fp32/data/table"] = complex64_bytes(10, table_storage);
  entries.at("constants.pkl") =
      "\x80\x02(" + tensor_rebuild("ComplexFloatStorage", "c0", 4, 0, {4}, {1}) + "t.";
  entries.files["mlp_fp32/constants/c0"] = complex64_bytes(4, constant_storage);
  entries.at("code/__torch__.py") =
      "class Mlp(Module):\n"
      "  __parameters__ = []\n"
      "  __buffers__ = [\"table\", ]\n"
      "  table : Tensor\n"
      "  training : bool\n"
      "  def forward(self: __torch__.Mlp,\n"
      "    x: Tensor) -> Tensor:\n"
      "    table = self.table\n" +
      forward;
  return entries;
}

ir::Graph import_complex(const std::string& forward) {
  return import_torchscript_bytes(complex_archive(forward).write(), "complex.pt");
}

std::string import_error(const ZipEntries& entries) {
  try {
    import_torchscript_bytes(entries.write(), "complex.pt");
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::Unsupported) << error.what();
    return error.what();
  }
  ADD_FAILURE() << "the archive imported";
  return "";
}

std::vector<double> run(const ir::Graph& graph, const Tensor& x, size_t output = 0) {
  return cpu::Executor(graph).run({{graph.inputs()[0]->name, x}}).at(output).to_double_vector();
}

// Meta's rotary form: view_as_complex(x as [4, 2, 4, 2]) * table + c0, view_as_real, flatten.
// torch.size and torch.dim of the complex buffer count its complex dims only ([2, 4], 2).
TEST(TorchScriptComplex, ComplexBufferAndConstantMatchComplexArithmetic) {
  ir::Graph graph = import_complex(
      "    _0 = [4, torch.size(table, 0), torch.size(table, -1), 2]\n"
      "    pairs = torch.view_as_complex(torch.reshape(x, _0))\n"
      "    _1 = torch.add(torch.mul(pairs, table), CONSTANTS.c0)\n"
      "    return torch.flatten(torch.view_as_real(_1), torch.dim(table) - 1)\n");
  ir::verify(graph);
  EXPECT_EQ(graph.outputs()[0]->shape.to_string(), "[4, 16]");
  Tensor x = test_support::einsum_operand({4, 16}, 1);
  std::vector<double> in = x.to_double_vector();
  std::vector<double> out = run(graph, x);
  ASSERT_EQ(out.size(), 64u);
  for (int b = 0; b < 4; ++b) {
    for (int i = 0; i < 2; ++i) {
      for (int j = 0; j < 4; ++j) {
        size_t at = static_cast<size_t>(b * 16 + i * 8 + j * 2);
        Complex expected =
            Complex(in[at], in[at + 1]) * table_storage(1 + i + 2 * j) + constant_storage(j);
        EXPECT_NEAR(out[at], expected.real(), 1e-5) << b << "," << i << "," << j;
        EXPECT_NEAR(out[at + 1], expected.imag(), 1e-5) << b << "," << i << "," << j;
      }
    }
  }
}

// torch.to(·, 9) (complex64): a real tensor gains a zero imaginary part, a complex one stays;
// a clone of a complex tensor (a value of its own here) is complex too.
TEST(TorchScriptComplex, ToComplex64AndCloneKeepComplexTensorsComplex) {
  ir::Graph graph = import_complex(
      "    _0 = torch.view_as_real(torch.to(x, 9))\n"
      "    _1 = torch.view_as_real(torch.clone(table))\n"
      "    return (_0, torch.view_as_real(torch.to(table, 9)), _1)\n");
  ir::verify(graph);
  Tensor x = test_support::einsum_operand({4, 16}, 2);
  std::vector<double> in = x.to_double_vector();
  std::vector<double> widened = run(graph, x, 0);
  ASSERT_EQ(widened.size(), 128u);
  for (size_t i = 0; i < 64; ++i) {
    EXPECT_EQ(widened[2 * i], in[i]) << i;
    EXPECT_EQ(widened[2 * i + 1], 0.0) << i;
  }
  std::vector<double> table = run(graph, x, 1);
  ASSERT_EQ(table.size(), 16u);
  EXPECT_EQ(run(graph, x, 2), table);
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 4; ++j) {
      EXPECT_EQ(table[(i * 4 + j) * 2], table_storage(1 + i + 2 * j).real());
      EXPECT_EQ(table[(i * 4 + j) * 2 + 1], table_storage(1 + i + 2 * j).imag());
    }
  }
}

// Never a silent computation on the pairs: an op not written for complex tensors, complex32
// storages and dtypes, and complex traced inputs are refused, each naming what it met.
TEST(TorchScriptComplex, RefusesWhatItCannotComputeByName) {
  std::string message = import_error(complex_archive("    return torch.relu(table)\n"));
  EXPECT_NE(message.find("is a complex tensor, which Kiln takes only into"), std::string::npos)
      << message;
  message =
      import_error(complex_archive("    return torch.view_as_real(table)\n", "ComplexHalfStorage"));
  EXPECT_NE(message.find("data.pkl: storage type torch.ComplexHalfStorage (complex32)"),
            std::string::npos)
      << message;
  message = import_error(complex_archive("    return torch.view_as_real(torch.to(x, 8))\n"));
  EXPECT_NE(message.find("dtype code 8 (complex32)"), std::string::npos) << message;

  ZipEntries entries = complex_archive("    return torch.view_as_real(x)\n");
  std::string& traced = entries.at("traced_inputs.pkl");
  size_t at = traced.find("torch\nFloatStorage\n");
  ASSERT_NE(at, std::string::npos);
  traced.replace(at, 19, "torch\nComplexFloatStorage\n");
  message = import_error(entries);
  EXPECT_NE(message.find("traced input 0 is complex64"), std::string::npos) << message;
}

}  // namespace
}  // namespace kiln::torchscript
