// The one kernel parameter of every generated pointwise kernel. Generated source declares
// the same struct (pointwise_codegen.cpp, kFusedArgsSource): every field is 8 bytes, so the
// host and device layouts agree without padding rules.
#pragma once

#include <cstdint>

namespace kiln::cuda {

inline constexpr int kMaxFusedInputs = 16;  // passes::kMaxGroupInputs, checked where both are seen
inline constexpr int kMaxFusedOutputs = 8;  // passes::kMaxGroupOutputs

struct FusedArgs {
  const void* inputs[kMaxFusedInputs] = {};
  void* outputs[kMaxFusedOutputs] = {};
  int64_t count = 0;                  // elements in the domain
  int64_t div[kMaxFusedInputs] = {};  // element i reads input j at (i / div[j]) % mod[j]
  int64_t mod[kMaxFusedInputs] = {};
};
static_assert(sizeof(FusedArgs) == 8 * (kMaxFusedInputs * 3 + kMaxFusedOutputs + 1));

}  // namespace kiln::cuda
