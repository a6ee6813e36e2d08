// Op harness cases of the matrix products (cuBLASLt) in fp32, tf32, fp16 and bf16: MatMul's
// batch layouts (folded, strided, looped, shared operands, vectors), transposed weights,
// misaligned output rows, bias and residual inputs and fused activations; Gemm's transposes,
// alpha/beta, C layouts and epilogues (exact GELU too). The CPU reference applies fused_activation
// itself.
#include "op_harness.h"

namespace kiln::cuda_test {
namespace {

// One product on random inputs in [-1, 1), one dims entry per input.
OpCase product(const char* op, const char* name, const std::vector<Dims>& dims, Attrs attrs = {}) {
  OpCase op_case{.op = op, .name = name, .attrs = std::move(attrs)};
  for (const Dims& input : dims) op_case.inputs.push_back(floats(input, -1, 1));
  return op_case;
}

Attrs fused(const char* activation) { return {{"fused_activation", std::string(activation)}}; }

std::vector<OpCase> matmul_layout_cases() {
  Attrs gelu = fused("Gelu_tanh");
  return {
      product("MatMul", "TwoDOdd", {{37, 53}, {53, 29}}),
      product("MatMul", "TwoDAligned", {{128, 256}, {256, 96}}),
      product("MatMul", "FoldedBatchOddColumns", {{3, 5, 64}, {64, 101}}),
      product("MatMul", "FoldedBatchOddColumnsBias", {{3, 5, 64}, {64, 101}, {101}}),
      // Output rows not a multiple of 16 bytes long (like GPT-2's 50257 logits), many rows.
      product("MatMul", "MisalignedRows", {{2, 150, 64}, {64, 101}}),
      product("MatMul", "MisalignedRowsBiasGelu", {{8000, 64}, {64, 4097}, {4097}}, gelu),
      product("MatMul", "Batched", {{3, 17, 40}, {3, 40, 23}}),
      product("MatMul", "MixedBatchLoop", {{2, 1, 9, 16}, {3, 16, 7}}),  // a loop
      product("MatMul", "SharedB", {{5, 11, 8}, {8, 6}}),                // folded
      product("MatMul", "SharedA", {{11, 8}, {4, 8, 6}}),                // stride 0
      product("MatMul", "VectorLeft", {{16}, {4, 16, 5}}),
      product("MatMul", "VectorRight", {{3, 7, 16}, {16}}),
      // The builder's CUTLASS tactic (16-bit precisions on sm_90; cuBLASLt elsewhere), and
      // weights whose rows TMA cannot read (101 wide), which fall back to cuBLASLt.
      product("MatMul", "CutlassAligned", {{3, 100, 64}, {64, 200}},
              {{"tactic", std::string("cutlass_sm90")}}),
      product("MatMul", "CutlassUnalignedWeightRows", {{2, 150, 64}, {64, 101}},
              {{"tactic", std::string("cutlass_sm90")}}),
  };
}

// MatMul's bias input (from fuse_epilogues) through each of the kernel's batch layouts.
std::vector<OpCase> matmul_epilogue_cases() {
  return {
      product("MatMul", "FoldedBias", {{3, 17, 40}, {40, 23}, {23}}),
      product("MatMul", "FoldedBiasRelu", {{3, 17, 40}, {40, 23}, {23}}, fused("Relu")),
      product("MatMul", "FoldedBiasGelu", {{3, 17, 40}, {40, 23}, {23}}, fused("Gelu_tanh")),
      product("MatMul", "StridedBiasRelu", {{3, 17, 40}, {3, 40, 23}, {23}}, fused("Relu")),
      product("MatMul", "LoopBiasGelu", {{2, 1, 9, 16}, {3, 16, 7}, {7}}, fused("Gelu_tanh")),
      product("MatMul", "SharedBRelu", {{5, 11, 8}, {8, 6}}, fused("Relu")),  // no bias
      // Exact GELU: cuBLASLt's tanh form for bf16 outputs, a second exact pass for the others.
      product("MatMul", "FoldedBiasExactGelu", {{3, 17, 40}, {40, 23}, {23}}, fused("Gelu")),
      product("MatMul", "StridedExactGelu", {{3, 17, 40}, {3, 40, 23}}, fused("Gelu")),
      product("MatMul", "LoopBiasExactGelu", {{2, 1, 9, 16}, {3, 16, 7}, {7}}, fused("Gelu")),
      // A residual of the output's shape (input 3, from fuse_product_residual): cuBLASLt's C,
      // added before the activation; odd and aligned row lengths.
      product("MatMul", "FoldedBiasResidual", {{3, 17, 40}, {40, 23}, {23}, {3, 17, 23}}),
      product("MatMul", "FoldedBiasResidualAligned", {{4, 64, 96}, {96, 128}, {128}, {4, 64, 128}}),
      product("MatMul", "FoldedBiasResidualRelu", {{3, 17, 40}, {40, 23}, {23}, {3, 17, 23}},
              fused("Relu")),
      product("MatMul", "FoldedBiasResidualExactGelu", {{3, 17, 40}, {40, 23}, {23}, {3, 17, 23}},
              fused("Gelu")),
      // The builder's other residual tactic: the product, then an Add of the residual.
      product("MatMul", "FoldedBiasResidualAfter", {{3, 17, 40}, {40, 23}, {23}, {3, 17, 23}},
              {{"tactic", std::string("residual_after")}}),
      product("MatMul", "FoldedBiasResidualAfterAligned",
              {{4, 64, 96}, {96, 128}, {128}, {4, 64, 128}},
              {{"tactic", std::string("residual_after")}}),
  };
}

std::vector<OpCase> gemm_cases() {
  Attrs trans_a = {{"transA", int64_t(1)}};
  Attrs trans_b = {{"transB", int64_t(1)}};
  Attrs both = {{"transA", int64_t(1)}, {"transB", int64_t(1)}};
  return {
      product("Gemm", "TransA", {{24, 13}, {24, 19}}, trans_a),
      product("Gemm", "TransB", {{13, 24}, {19, 24}}, trans_b),
      product("Gemm", "TransATransB", {{24, 13}, {19, 24}}, both),
      product("Gemm", "AlphaBetaFullC", {{13, 24}, {24, 19}, {13, 19}},
              {{"alpha", 0.5}, {"beta", 2.0}}),
      product("Gemm", "BiasRow", {{13, 24}, {24, 19}, {19}}),  // bias epilogue
      product("Gemm", "RowCBeta", {{13, 24}, {24, 19}, {1, 19}}, {{"beta", 0.5}}),
      product("Gemm", "ColumnC", {{13, 24}, {24, 19}, {13, 1}}),
      product("Gemm", "BiasRelu", {{13, 24}, {24, 19}, {19}}, fused("Relu")),
      product("Gemm", "BiasGelu", {{13, 24}, {24, 19}, {19}}, fused("Gelu_tanh")),
      product("Gemm", "NoCRelu", {{13, 24}, {24, 19}}, fused("Relu")),
      product("Gemm", "BiasExactGelu", {{13, 24}, {24, 19}, {19}}, fused("Gelu")),
      product("Gemm", "FullCExactGelu", {{13, 24}, {24, 19}, {13, 19}}, fused("Gelu")),
  };
}

}  // namespace

std::vector<OpCase> matmul_cases() {
  return concatenated({matmul_layout_cases(), matmul_epilogue_cases(), gemm_cases()});
}

INSTANTIATE_TEST_SUITE_P(MatMul, CudaOpTest, testing::ValuesIn(op_runs(matmul_cases())),
                         op_run_name);

}  // namespace kiln::cuda_test
