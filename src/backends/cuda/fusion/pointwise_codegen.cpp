// Pointwise source generation. Every thread handles V consecutive elements of the domain:
// inputs the size of the domain are read as V-element packs (16-byte loads for bf16 with
// V = 8), broadcast inputs element by element through (i / div) % mod, all math is in
// float32 (bool for masks), and each output is written once as a pack.
#include "backends/cuda/fusion/pointwise_codegen.h"

#include <cstring>
#include <map>
#include <sstream>

#include "core/error.h"
#include "passes/fusion_groups.h"

namespace kiln::cuda {
namespace {

// Declarations every generated kernel starts with. NVRTC needs no headers for these: the
// conversions are PTX instructions, the math functions are built in.
constexpr const char* kPrelude = R"(struct KilnFusedArgs {
  const void* in[16]; void* out[8]; long long count; long long div[16]; long long mod[16];
};
template <typename S, int V> struct alignas(sizeof(S) * V) KilnPack { S v[V]; };
__device__ __forceinline__ float kiln_from_bf16(unsigned short b) {
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
__device__ __forceinline__ float kiln_max(float a, float b) { return (a != a || a > b) ? a : b; }
__device__ __forceinline__ float kiln_min(float a, float b) { return (a != a || a < b) ? a : b; }
__device__ __forceinline__ float kiln_pow(float x, float y) {
  if (y == 2.f) return x * x;
  if (y == 3.f) return x * x * x;
  if (y == 0.5f) return x == -__int_as_float(0x7f800000) ? __int_as_float(0x7f800000) : fabsf(sqrtf(x));
  return powf(x, y);
}
)";

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
      {"Exp", "expf(X)"},
      {"Log", "logf(X)"},
      {"Sqrt", "sqrtf(X)"},
      {"Reciprocal", "(1.f / X)"},
      {"Sin", "sinf(X)"},
      {"Cos", "cosf(X)"},
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

// The expression for `node`'s output from its operands' expressions (null inputs: "").
std::string emit_node(const ir::Node& node, const std::vector<std::string>& args) {
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

enum class Access { Pack, Scalar, Block };

Access access_of(const FusedOperand& operand, const Dims& domain) {
  if (element_count(operand.dims) == element_count(domain)) return Access::Pack;
  if (element_count(operand.dims) == 1) return Access::Scalar;
  return Access::Block;
}

// The elements per thread of the vector kernel: 16 bytes of the narrowest packed operand.
int vector_width(const PointwiseGroup& group) {
  size_t narrowest = 4;
  for (const FusedOperand& operand : group.inputs) {
    if (access_of(operand, group.domain) == Access::Pack)
      narrowest = std::min(narrowest, dtype_size(operand.dtype));
  }
  for (const FusedOperand& operand : group.outputs)
    narrowest = std::min(narrowest, dtype_size(operand.dtype));
  return int(std::min<size_t>(8, 16 / narrowest));
}

std::string pointer(const FusedOperand& operand, const std::string& slot, bool output) {
  return std::string("static_cast<") + (output ? "" : "const ") + storage_type(operand.dtype) +
         "*>(a." + slot + ")";
}

std::string pack_type(DType dtype) {
  return std::string("KilnPack<") + storage_type(dtype) + ", V>";
}

// kiln_body<V>: loads, the nodes' math per element, stores.
std::string emit_body(const PointwiseGroup& group, bool narrow_index) {
  std::ostringstream body;
  std::map<const ir::Value*, std::string> names;
  body << "template <int V>\n__device__ __forceinline__ void kiln_body(const KilnFusedArgs& a, "
          "long long base) {\n";
  for (size_t j = 0; j < group.inputs.size(); ++j) {
    const FusedOperand& input = group.inputs[j];
    if (access_of(input, group.domain) != Access::Pack) continue;
    std::string slot = "in[" + std::to_string(j) + "]";
    body << "  const " << pack_type(input.dtype) << " p" << j << " = *reinterpret_cast<const "
         << pack_type(input.dtype) << "*>(" << pointer(input, slot, false) << " + base);\n";
  }
  for (size_t k = 0; k < group.outputs.size(); ++k)
    body << "  " << pack_type(group.outputs[k].dtype) << " q" << k << ";\n";
  body << "#pragma unroll\n  for (int l = 0; l < V; ++l) {\n";
  if (narrow_index)
    body << "    const unsigned int i = (unsigned int)(base + l);\n    (void)i;\n";
  else
    body << "    const long long i = base + l;\n    (void)i;\n";
  for (size_t j = 0; j < group.inputs.size(); ++j) {
    const FusedOperand& input = group.inputs[j];
    std::string slot = "in[" + std::to_string(j) + "]";
    std::string stored;
    switch (access_of(input, group.domain)) {
      case Access::Pack:
        stored = "p" + std::to_string(j) + ".v[l]";
        break;
      case Access::Scalar:
        stored = pointer(input, slot, false) + "[0]";
        break;
      case Access::Block: {
        std::string cast = narrow_index ? "(unsigned int)" : "";
        stored = pointer(input, slot, false) + "[(i / " + cast + "a.div[" + std::to_string(j) +
                 "]) % " + cast + "a.mod[" + std::to_string(j) + "]]";
        break;
      }
    }
    std::string name = "x" + std::to_string(j);
    body << "    const " << register_type(input.dtype) << " " << name << " = "
         << to_register(input.dtype, stored) << ";\n";
    names[input.value] = name;
  }
  for (size_t n = 0; n < group.nodes.size(); ++n) {
    const ir::Node& node = *group.nodes[n];
    std::vector<std::string> args;
    for (const ir::Value* input : node.inputs) {
      if (input == nullptr) {
        args.emplace_back();
        continue;
      }
      auto found = names.find(input);
      if (found != names.end()) {
        args.push_back(found->second);
      } else {
        check(passes::is_inlined_scalar(*input), ErrorKind::Runtime, node.describe(),
              ": fused input '", input->name, "' is neither an operand nor a scalar constant");
        args.push_back(scalar_literal(*input));
      }
    }
    std::string name = "v" + std::to_string(n);
    body << "    const " << register_type(node.outputs[0]->dtype) << " " << name << " = "
         << emit_node(node, args) << ";\n";
    names[node.outputs[0]] = name;
  }
  for (size_t k = 0; k < group.outputs.size(); ++k) {
    const FusedOperand& output = group.outputs[k];
    auto found = names.find(output.value);
    check(found != names.end(), ErrorKind::Runtime, "fused output '", output.value->name,
          "' is not computed by the group");
    body << "    q" << k << ".v[l] = " << to_storage(output.dtype, found->second) << ";\n";
  }
  body << "  }\n";
  for (size_t k = 0; k < group.outputs.size(); ++k) {
    std::string slot = "out[" + std::to_string(k) + "]";
    body << "  *reinterpret_cast<" << pack_type(group.outputs[k].dtype) << "*>("
         << pointer(group.outputs[k], slot, true) << " + base) = q" << k << ";\n";
  }
  body << "}\n";
  return body.str();
}

// 64-bit FNV-1a, as hex: the kernel's name comes from its own text.
std::string fnv1a_hex(const std::string& text) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) hash = (hash ^ c) * 0x100000001b3ULL;
  std::ostringstream out;
  out << std::hex << hash;
  return out.str();
}

}  // namespace

GeneratedKernel generate_pointwise_kernel(const PointwiseGroup& group) {
  check(group.inputs.size() <= size_t(kMaxFusedInputs) &&
            group.outputs.size() <= size_t(kMaxFusedOutputs) && !group.outputs.empty(),
        ErrorKind::InvalidArgument, "a fused group reads ", group.inputs.size(), " and writes ",
        group.outputs.size(), " tensors; a generated kernel takes up to ", kMaxFusedInputs, " and ",
        kMaxFusedOutputs);
  GeneratedKernel kernel;
  kernel.vector_width = vector_width(group);
  bool narrow_index = element_count(group.domain) + 64 < (int64_t(1) << 31);
  std::ostringstream source;
  source << kPrelude << emit_body(group, narrow_index);
  source << "extern \"C\" __global__ void __launch_bounds__(256) KILN_ENTRY(const KilnFusedArgs a) "
            "{\n  const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;\n"
            "  if (i < a.count) kiln_body<1>(a, i);\n}\n";
  source << "extern \"C\" __global__ void __launch_bounds__(256) KILN_ENTRY_v(const KilnFusedArgs "
            "a) {\n  const long long base = ((long long)blockIdx.x * blockDim.x + threadIdx.x) * "
         << kernel.vector_width << ";\n  if (base < a.count) kiln_body<" << kernel.vector_width
         << ">(a, base);\n}\n";
  std::string text = source.str();
  kernel.name = "kiln_fused_" + fnv1a_hex(text);
  for (size_t at = text.find("KILN_ENTRY"); at != std::string::npos;
       at = text.find("KILN_ENTRY", at)) {
    text.replace(at, std::strlen("KILN_ENTRY"), kernel.name);
    at += kernel.name.size();
  }
  kernel.source = std::move(text);
  for (const ir::Node* node : group.nodes)
    kernel.label += (kernel.label.empty() ? "" : "+") + node->op;
  return kernel;
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

FusedArgs fused_args(const PointwiseGroup& group, const std::vector<const void*>& inputs,
                     const std::vector<void*>& outputs) {
  FusedArgs args;
  args.count = element_count(group.domain);
  for (size_t j = 0; j < group.inputs.size(); ++j) {
    args.inputs[j] = inputs[j];
    BlockIndex index = block_index(group.inputs[j].dims, group.domain);
    args.div[j] = index.div;
    args.mod[j] = index.mod;
  }
  for (size_t k = 0; k < group.outputs.size(); ++k) args.outputs[k] = outputs[k];
  return args;
}

}  // namespace kiln::cuda
