// Op harness cases of Attention with the executor's default workspace (the tensor-core path,
// the whole problem in one chunk): 4-D and 3-D, GQA, causal, bool and float masks, softcap,
// odd sizes, in fp32, tf32, fp16 and bf16. attention_paths_test.cpp runs the same cases
// through the chunked, row-block and SIMT paths.
#include "cuda_test_util.h"
#include "op_harness.h"

namespace kiln::cuda_test {
namespace {

OpCase attention(const char* name, Dims q, Dims k, Dims v, Attrs attrs = {}) {
  return {.op = "Attention",
          .name = name,
          .inputs = {floats(q, -2, 2), floats(k, -2, 2), floats(v, -2, 2)},
          .attrs = std::move(attrs)};
}

// About 70% of the keys kept.
OpCase with_bool_mask(OpCase op_case, Dims mask) {
  op_case.inputs.push_back(typed(DType::Bool, std::move(mask), 0.7, 1.7));
  return op_case;
}

// Biases in [-4, 2), in the precision's storage type.
OpCase with_float_mask(OpCase op_case, Dims mask) {
  op_case.inputs.push_back(floats(std::move(mask), -4, 2));
  return op_case;
}

// A 2-D bool mask whose row `row` masks every key: that query row of every (batch, head)
// must come out exactly zero, not NaN.
OpCase with_empty_mask_row(OpCase op_case, Dims mask_dims, int64_t row) {
  Tensor mask = random_tensor(DType::Bool, mask_dims, 0.7, 1.7, 77);
  bool* keep = mask.data_mutable<bool>();
  for (int64_t j = 0; j < mask.dim(-1); ++j) keep[row * mask.dim(-1) + j] = false;
  op_case.inputs.push_back(given(mask));
  int64_t q_seq = op_case.inputs[0].dims[2];
  int64_t v_head = op_case.inputs[2].dims[3];
  op_case.also_check = [q_seq, v_head, row](const std::vector<Tensor>& outputs) {
    Tensor y = outputs.at(0).to(DType::Float32);
    const float* out = y.data<float>();
    int64_t heads = y.numel() / (q_seq * v_head);
    for (int64_t bh = 0; bh < heads; ++bh) {
      for (int64_t d = 0; d < v_head; ++d) {
        ASSERT_EQ(out[(bh * q_seq + row) * v_head + d], 0.f) << "masked row, " << bh << ", " << d;
      }
    }
  };
  return op_case;
}

Attrs causal() { return {{"is_causal", int64_t(1)}}; }
Attrs heads(int64_t q, int64_t kv) { return {{"q_num_heads", q}, {"kv_num_heads", kv}}; }

}  // namespace

std::vector<OpCase> attention_cases() {
  Attrs three_d_softcap = heads(4, 1);
  three_d_softcap["is_causal"] = int64_t(1);
  three_d_softcap["softcap"] = 2.0;
  Attrs three_d_causal = heads(8, 2);
  three_d_causal["is_causal"] = int64_t(1);
  return {
      attention("Plain4D", {2, 4, 37, 64}, {2, 4, 45, 64}, {2, 4, 45, 64}),
      attention("Causal4D", {2, 3, 70, 40}, {2, 3, 70, 40}, {2, 3, 70, 40}, causal()),
      attention("CausalShortQuery", {1, 2, 5, 32}, {1, 2, 77, 32}, {1, 2, 77, 32}, causal()),
      attention("GqaWideValues", {2, 8, 33, 128}, {2, 2, 65, 128}, {2, 2, 65, 96}),
      attention("ThreeDGqa", {2, 19, 6 * 32}, {2, 23, 3 * 32}, {2, 23, 3 * 32}, heads(6, 3)),
      attention("ThreeDCausalSoftcap", {1, 40, 4 * 64}, {1, 40, 64}, {1, 40, 64}, three_d_softcap),
      with_empty_mask_row(
          attention("BoolMaskShortEmptyRow", {2, 3, 21, 48}, {2, 3, 50, 48}, {2, 3, 50, 48}),
          {21, 43}, 4),
      with_bool_mask(attention("BoolMaskPerBatchCausal", {2, 2, 36, 64}, {2, 2, 36, 64},
                               {2, 2, 36, 64}, causal()),
                     {2, 1, 36, 36}),
      with_float_mask(attention("FloatMaskPerHead", {2, 4, 30, 64}, {2, 4, 41, 64}, {2, 4, 41, 64}),
                      {1, 4, 30, 41}),
      attention("SoftcapScaleHead256", {1, 2, 35, 256}, {1, 2, 50, 256}, {1, 2, 50, 256},
                {{"softcap", 5.0}, {"scale", 0.3}}),
      // GPT-2's attention shape at a shorter sequence: 24 (batch, head) pairs to chunk.
      attention("Gpt2Causal", {2, 12, 128, 64}, {2, 12, 128, 64}, {2, 12, 128, 64}, causal()),
      // Sequences and head sizes that are multiples of nothing in particular; a 2-D float mask.
      with_float_mask(
          attention("OddSizesFloatMask", {1, 3, 131, 36}, {1, 3, 259, 36}, {1, 3, 259, 44}),
          {131, 259}),
      // 3-D GQA (4 query heads per KV head) whose chunks of 3 KV heads cross batch entries.
      with_bool_mask(attention("ThreeDGqaCausalMask", {2, 67, 8 * 32}, {2, 67, 2 * 32},
                               {2, 67, 2 * 32}, three_d_causal),
                     {2, 1, 67, 67}),
      // Decoding: one query row per head, 4 query heads per KV head.
      attention("SingleQueryGqa", {3, 8, 1, 64}, {3, 2, 50, 64}, {3, 2, 50, 64}),
      // Tiles of 64 keys and 64 query rows (the tensor-core kernel's) left part full: head 128,
      // causal; BERT's padding mask [B, 1, 1, S] over three key tiles; an empty row at head 64.
      attention("Head128CausalPartTiles", {2, 2, 100, 128}, {2, 2, 100, 128}, {2, 2, 100, 128},
                causal()),
      with_float_mask(
          attention("PaddingMaskLongKeys", {2, 3, 70, 64}, {2, 3, 150, 64}, {2, 3, 150, 64}),
          {2, 1, 1, 150}),
      with_empty_mask_row(
          attention("BoolMaskEmptyRowHead64", {1, 2, 66, 64}, {1, 2, 80, 64}, {1, 2, 80, 64}),
          {66, 80}, 65),
      // Beyond the SIMT kernel's head size: only the products run it on the GPU.
      attention("HeadSize320", {1, 2, 20, 320}, {1, 2, 33, 320}, {1, 2, 33, 320}),
  };
}

INSTANTIATE_TEST_SUITE_P(Attention, CudaOpTest, testing::ValuesIn(op_runs(attention_cases())),
                         op_run_name);

}  // namespace kiln::cuda_test
