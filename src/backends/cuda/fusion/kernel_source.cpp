// The shared pieces of generated kernel source (kernel_source.h).
#include "backends/cuda/fusion/kernel_source.h"

#include <cstring>
#include <map>
#include <sstream>

#include "core/error.h"
#include "core/fnv1a.h"
#include "passes/fusion_groups.h"

namespace kiln::cuda::source {

// Declarations every generated kernel starts with, in three parts. NVRTC needs no headers for
// these: the conversions are PTX instructions, the math functions are built in. Only the
// conversions are device-specific: a host build of a generated kernel (the CPU tests of the
// generator) replaces them and keeps the rest.
const char* const kPreludeTypes = R"(struct KilnFusedArgs {
  const void* in[16]; void* out[8]; long long count; long long div[16]; long long mod[16];
};
template <typename S, int V> struct alignas(sizeof(S) * V) KilnPack { S v[V]; };
)";
const char* const kPreludeConversions =
    R"(__device__ __forceinline__ float kiln_from_bf16(unsigned short b) {
  return __uint_as_float(((unsigned int)b) << 16);
}
__device__ __forceinline__ unsigned short kiln_to_bf16(float f) {
  unsigned short r; asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(r) : "f"(f)); return r;
}
__device__ __forceinline__ float kiln_from_f16(unsigned short h) {
  float f; asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h)); return f;
}
__device__ __forceinline__ unsigned short kiln_to_f16(float f) {
  unsigned short r; asm("cvt.rn.f16.f32 %0, %1;" : "=h"(r) : "f"(f)); return r;
}
)";
const char* const kPreludeMath =
    R"(__device__ __forceinline__ float kiln_max(float a, float b) { return (a != a || a > b) ? a : b; }
__device__ __forceinline__ float kiln_min(float a, float b) { return (a != a || a < b) ? a : b; }
__device__ __forceinline__ float kiln_pow(float x, float y) {
  if (y == 2.f) return x * x;
  if (y == 3.f) return x * x * x;
  if (y == 0.5f) return x == -__int_as_float(0x7f800000) ? __int_as_float(0x7f800000) : fabsf(sqrtf(x));
  return powf(x, y);
}
__device__ __forceinline__ float kiln_floor_mod(float a, float b) {
  const float r = fmodf(a, b);
  return (r != 0.f && ((r < 0.f) != (b < 0.f))) ? r + b : r;
}
// Sum / max over each group of W consecutive lanes (W a power of two up to 32); every lane of
// the warp takes part, so a group of lanes past the last row must not have returned.
template <int W>
__device__ __forceinline__ float kiln_warp_sum(float v) {
  for (int o = W / 2; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
template <int W>
__device__ __forceinline__ float kiln_warp_max(float v) {
  for (int o = W / 2; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
// Sum (or max, `Max`) over a row's W lanes: W up to 32 within a warp, W = 128 over the block's
// four warps (each warp's result through shared memory, combined in warp order); then every
// thread of the block must call it.
template <int W, bool Max>
__device__ __forceinline__ float kiln_row_reduce(float v) {
  if constexpr (W <= 32) {
    return Max ? kiln_warp_max<W>(v) : kiln_warp_sum<W>(v);
  } else {
    __shared__ float share[4];
    v = Max ? kiln_warp_max<32>(v) : kiln_warp_sum<32>(v);
    if ((threadIdx.x & 31) == 0) share[threadIdx.x >> 5] = v;
    __syncthreads();
    v = share[0];
    for (int w = 1; w < 4; ++w) v = Max ? fmaxf(v, share[w]) : v + share[w];
    __syncthreads();  // the next reduction writes share again
    return v;
  }
}
)";
const std::string kPrelude = std::string(kPreludeTypes) + kPreludeConversions + kPreludeMath;

namespace {

// value = cast of `x` (held as `from`'s register type) to dtype `to`.
std::string emit_cast(DType from, DType to, const std::string& x) {
  bool float_from = is_floating(from);
  if (to == DType::Bool) return float_from ? "(" + x + " != 0.f)" : "(" + x + " != 0)";
  std::string as_float = float_from ? x : "(float)(" + x + ")";
  if (to == DType::BFloat16) return "kiln_from_bf16(kiln_to_bf16(" + as_float + "))";
  if (to == DType::Float16) return "kiln_from_f16(kiln_to_f16(" + as_float + "))";
  return as_float;
}

std::string emit_unary(const ir::Node& node, const std::string& x) {
  static const std::map<std::string, std::string, std::less<>> formulas = {
      {"Relu", "(X > 0.f ? X : (X == X ? 0.f : X))"},
      {"Erf", "erff(X)"},
      {"Tanh", "tanhf(X)"},
      {"Sigmoid", "(1.f / (1.f + expf(-X)))"},
      {"HardSwish", "(X * fmaxf(0.f, fminf(1.f, X / 6.f + 0.5f)))"},
      {"Neg", "(-X)"},
      {"Abs", "fabsf(X)"},
      {"Exp", "expf(X)"},
      {"Log", "logf(X)"},
      {"Sqrt", "sqrtf(X)"},
      {"Reciprocal", "(1.f / X)"},
      {"Sin", "sinf(X)"},
      {"Cos", "cosf(X)"},
      {"Tan", "tanf(X)"},
      {"Asin", "asinf(X)"},
      {"Acos", "acosf(X)"},
      {"Atan", "atanf(X)"},
      {"Sinh", "sinhf(X)"},
      {"Cosh", "coshf(X)"},
      {"Asinh", "asinhf(X)"},
      {"Acosh", "acoshf(X)"},
      {"Atanh", "atanhf(X)"},
      {"Floor", "floorf(X)"},
      {"Ceil", "ceilf(X)"},
      {"Round", "rintf(X)"},  // halves to even
      {"Sign", "(X > 0.f ? 1.f : (X < 0.f ? -1.f : (X == X ? 0.f : X)))"},
      {"IsNaN", "(X != X)"},
      {"Not", "(!X)"},
  };
  std::string formula;
  if (auto found = formulas.find(node.op); found != formulas.end()) {
    formula = found->second;
  } else if (node.op == "Gelu") {
    formula = node.attr_string("approximate", "none") == "tanh"
                  ? "(0.5f * X * (1.f + tanhf(0.7978845608028654f * (X + 0.044715f * X * X * X))))"
                  : "(0.5f * X * (1.f + erff(X * 0.70710678118654752f)))";
  } else if (node.op == "IsInf") {
    const char* infinity = "__int_as_float(0x7f800000)";
    bool negative = node.attr_int("detect_negative", 1) != 0;
    bool positive = node.attr_int("detect_positive", 1) != 0;
    formula = negative && positive ? std::string("(fabsf(X) == ") + infinity + ")"
              : negative           ? std::string("(X == -") + infinity + ")"
              : positive           ? std::string("(X == ") + infinity + ")"
                                   : std::string("false");
  } else if (node.op == "HardSigmoid") {
    formula = "fmaxf(0.f, fminf(1.f, " + float_literal(float(node.attr_float("alpha", 0.2))) +
              " * X + " + float_literal(float(node.attr_float("beta", 0.5))) + "))";
  } else {
    fail(ErrorKind::Unsupported, node.describe(), ": the pointwise generator has no formula");
  }
  std::string out;
  for (char c : formula) out += c == 'X' ? x : std::string(1, c);
  return out;
}

}  // namespace

// The C type an element is stored as, and how it becomes a register value and back.
const char* storage_type(DType dtype) {
  switch (dtype) {
    case DType::Float32:
      return "float";
    case DType::BFloat16:
    case DType::Float16:
      return "unsigned short";
    case DType::Bool:
      return "bool";
    case DType::Int32:
      return "int";
    case DType::Int64:
      return "long long";
    default:
      fail(ErrorKind::Unsupported, "fused kernels do not store ", dtype_name(dtype));
  }
}

const char* register_type(DType dtype) {
  if (dtype == DType::Bool) return "bool";
  if (dtype == DType::Int32) return "int";
  if (dtype == DType::Int64) return "long long";
  return "float";
}

std::string to_register(DType dtype, const std::string& stored) {
  if (dtype == DType::BFloat16) return "kiln_from_bf16(" + stored + ")";
  if (dtype == DType::Float16) return "kiln_from_f16(" + stored + ")";
  return stored;
}

std::string to_storage(DType dtype, const std::string& value) {
  if (dtype == DType::BFloat16) return "kiln_to_bf16(" + value + ")";
  if (dtype == DType::Float16) return "kiln_to_f16(" + value + ")";
  return value;
}

// An exact float literal (the bits), so the kernel computes with the constant's value.
std::string float_literal(float value) {
  uint32_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  std::ostringstream out;
  out << "__uint_as_float(0x" << std::hex << bits << "u)";
  return out.str();
}

std::string scalar_literal(const ir::Value& value) {
  if (value.constant->dtype() == DType::Bool)
    return value.constant->to(DType::Float32).data<float>()[0] != 0 ? "true" : "false";
  return float_literal(value.constant->to(DType::Float32).data<float>()[0]);
}

std::string emit_pointwise(const ir::Node& node, const std::vector<std::string>& args) {
  const std::string& op = node.op;
  auto binary = [&](const char* symbol) { return "(" + args[0] + symbol + args[1] + ")"; };
  if (op == "Add") return binary(" + ");
  if (op == "Sub") return binary(" - ");
  if (op == "Mul") return binary(" * ");
  if (op == "Div") return binary(" / ");
  if (op == "Equal") return binary(" == ");
  if (op == "Less") return binary(" < ");
  if (op == "Greater") return binary(" > ");
  if (op == "And") return binary(" && ");
  if (op == "Pow") return "kiln_pow(" + args[0] + ", " + args[1] + ")";
  if (op == "Mod") {
    return (node.attr_int("fmod", 0) != 0 ? "fmodf(" : "kiln_floor_mod(") + args[0] + ", " +
           args[1] + ")";
  }
  if (op == "Where") return "(" + args[0] + " ? " + args[1] + " : " + args[2] + ")";
  if (op == "Max" || op == "Min") {
    std::string folded;
    for (const std::string& arg : args) {
      if (arg.empty()) continue;
      folded = folded.empty()
                   ? arg
                   : (op == "Max" ? "kiln_max(" : "kiln_min(") + folded + ", " + arg + ")";
    }
    return folded;
  }
  if (op == "Clip") {
    std::string low = args.size() > 1 && !args[1].empty() ? args[1] : "-__int_as_float(0x7f800000)";
    std::string high = args.size() > 2 && !args[2].empty() ? args[2] : "__int_as_float(0x7f800000)";
    return "(" + args[0] + " != " + args[0] + " ? " + args[0] + " : fminf(fmaxf(" + args[0] + ", " +
           low + "), " + high + "))";
  }
  if (op == "Cast") return emit_cast(node.inputs[0]->dtype, node.outputs[0]->dtype, args[0]);
  return emit_unary(node, args[0]);
}

BlockIndex block_index(const Dims& input, const Dims& domain) {
  int64_t count = element_count(input);
  if (count <= 1) return {1, 1};
  // The block ends at the last domain position the input covers; div is what follows it.
  size_t lead = domain.size() - input.size();
  int64_t div = 1;
  for (size_t p = domain.size(); p-- > lead;) {
    if (input[p - lead] != 1) break;
    div *= domain[p];
  }
  return {div, count};
}

Access access_of(const Dims& dims, const Dims& domain) {
  int64_t count = element_count(dims);
  if (count == element_count(domain)) return Access::Pack;
  if (count == 1) return Access::Scalar;
  if (!passes::is_block_broadcast(dims, domain)) return Access::Strided;
  return block_index(dims, domain).div == 1 ? Access::Inner : Access::Block;
}

std::string fnv1a_hex(const std::string& text) {
  Fnv1a hash;
  hash.add(text.data(), text.size());
  std::ostringstream out;
  out << std::hex << hash.value();
  return out.str();
}

std::string name_entries(std::string text, const std::string& name) {
  for (size_t at = text.find("KILN_ENTRY"); at != std::string::npos;
       at = text.find("KILN_ENTRY", at)) {
    text.replace(at, std::strlen("KILN_ENTRY"), name);
    at += name.size();
  }
  return text;
}

}  // namespace kiln::cuda::source
