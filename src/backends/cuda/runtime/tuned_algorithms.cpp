// Tuned cuBLASLt/cuDNN algorithms to and from the engine file's JSON (tuned_algorithms.h).
// A cuBLASLt algorithm is an opaque array of 64-bit words that NVIDIA documents as trivially
// serializable for the same cuBLASLt version; it is stored as hex, with the problem it was
// timed for.
#include "backends/cuda/runtime/tuned_algorithms.h"

#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "backends/cuda/runtime/cuda_resources.h"
#include "backends/cuda/runtime/execution_context.h"
#include "core/error.h"
#include "core/log.h"
#include "kiln/kiln.h"

namespace kiln::cuda {
namespace {

using Json = nlohmann::json;

// Fixed so that a build's choices do not depend on anything but the engine.
constexpr uint64_t kTuningSeed = 0x6b696c6e;

std::string to_hex(const void* data, size_t size) {
  std::string text;
  text.reserve(size * 2);
  const auto* bytes = static_cast<const unsigned char*>(data);
  char pair[3];
  for (size_t i = 0; i < size; ++i) {
    std::snprintf(pair, sizeof pair, "%02x", bytes[i]);
    text += pair;
  }
  return text;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool from_hex(const std::string& text, void* data, size_t size) {
  if (text.size() != size * 2) return false;
  auto* bytes = static_cast<unsigned char*>(data);
  for (size_t i = 0; i < size; ++i) {
    int high = hex_digit(text[2 * i]), low = hex_digit(text[2 * i + 1]);
    if (high < 0 || low < 0) return false;
    bytes[i] = static_cast<unsigned char>(high * 16 + low);
  }
  return true;
}

DType dtype_field(const Json& entry, const char* field) {
  std::string name = entry.at(field).get<std::string>();
  std::optional<DType> dtype = dtype_from_name(name);
  if (!dtype) throw std::invalid_argument("unknown dtype '" + name + "'");
  return *dtype;
}

Json gemm_to_json(const GemmPlanKey& key, const cublasLtMatmulAlgo_t& algo) {
  const GemmProblem& p = key.problem;
  return {{"m", p.m},
          {"n", p.n},
          {"k", p.k},
          {"batch", p.batch},
          {"trans_a", p.trans_a},
          {"trans_b", p.trans_b},
          {"ld", {p.lda, p.ldb, p.ldd}},
          {"batch_stride", {p.stride_a, p.stride_b, p.stride_d}},
          {"ab_dtype", dtype_name(p.ab_dtype)},
          {"d_dtype", dtype_name(p.d_dtype)},
          {"compute", static_cast<int>(p.compute)},
          {"epilogue", static_cast<int>(p.epilogue)},
          {"alignment", {key.alignment_a, key.alignment_b, key.alignment_c, key.alignment_d}},
          {"workspace", key.workspace_size},
          {"algo", to_hex(&algo, sizeof algo)}};
}

std::pair<GemmPlanKey, cublasLtMatmulAlgo_t> gemm_from_json(const Json& entry) {
  GemmPlanKey key;
  GemmProblem& p = key.problem;
  p.m = entry.at("m").get<int64_t>();
  p.n = entry.at("n").get<int64_t>();
  p.k = entry.at("k").get<int64_t>();
  p.batch = entry.at("batch").get<int64_t>();
  p.trans_a = entry.at("trans_a").get<bool>();
  p.trans_b = entry.at("trans_b").get<bool>();
  const Json& ld = entry.at("ld");
  p.lda = ld.at(0).get<int64_t>(), p.ldb = ld.at(1).get<int64_t>(), p.ldd = ld.at(2).get<int64_t>();
  const Json& stride = entry.at("batch_stride");
  p.stride_a = stride.at(0).get<int64_t>(), p.stride_b = stride.at(1).get<int64_t>();
  p.stride_d = stride.at(2).get<int64_t>();
  p.ab_dtype = dtype_field(entry, "ab_dtype");
  p.d_dtype = dtype_field(entry, "d_dtype");
  p.compute = static_cast<cublasComputeType_t>(entry.at("compute").get<int>());
  int epilogue = entry.at("epilogue").get<int>();
  if (epilogue < 0 || epilogue > static_cast<int>(GemmEpilogue::GeluBias))
    throw std::invalid_argument("unknown epilogue " + std::to_string(epilogue));
  p.epilogue = static_cast<GemmEpilogue>(epilogue);
  const Json& alignment = entry.at("alignment");
  key.alignment_a = alignment.at(0).get<int>(), key.alignment_b = alignment.at(1).get<int>();
  key.alignment_c = alignment.at(2).get<int>(), key.alignment_d = alignment.at(3).get<int>();
  key.workspace_size = entry.at("workspace").get<size_t>();
  cublasLtMatmulAlgo_t algo{};
  if (!from_hex(entry.at("algo").get<std::string>(), &algo, sizeof algo))
    throw std::invalid_argument("a cuBLASLt algorithm is not " + std::to_string(sizeof algo) +
                                " bytes of hex");
  return {key, algo};
}

Json conv_to_json(const ConvProblem& p, const ConvPlan& plan) {
  return {{"x", p.x},
          {"w", p.w},
          {"channels_last", p.channels_last},
          {"pad", p.pad},
          {"stride", p.stride},
          {"dilation", p.dilation},
          {"groups", p.groups},
          {"dtype", dtype_name(p.dtype)},
          {"math", static_cast<int>(p.math)},
          {"workspace", p.workspace_size},
          {"algo", static_cast<int>(plan.algo)},
          {"algo_math", static_cast<int>(plan.math)},
          {"pad_end", p.pad_end},
          {"bias", p.bias},
          {"residual", p.residual},
          {"relu", p.relu},
          {"silu", p.silu},
          {"graph_api", p.graph_api},
          {"engine", plan.engine},
          {"knobs", plan.knobs}};
}

cudnnMathType_t math_field(const Json& entry, const char* field) {
  int math = entry.at(field).get<int>();
  if (math != CUDNN_DEFAULT_MATH && math != CUDNN_TENSOR_OP_MATH &&
      math != CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION && math != CUDNN_FMA_MATH)
    throw std::invalid_argument("unknown cuDNN math type " + std::to_string(math));
  return static_cast<cudnnMathType_t>(math);
}

std::pair<ConvProblem, ConvPlan> conv_from_json(const Json& entry) {
  ConvProblem p;
  p.x = entry.at("x").get<std::array<int64_t, 4>>();
  p.w = entry.at("w").get<std::array<int64_t, 4>>();
  p.channels_last = entry.at("channels_last").get<bool>();
  p.pad = entry.at("pad").get<std::array<int64_t, 2>>();
  p.stride = entry.at("stride").get<std::array<int64_t, 2>>();
  p.dilation = entry.at("dilation").get<std::array<int64_t, 2>>();
  p.groups = entry.at("groups").get<int64_t>();
  p.dtype = dtype_field(entry, "dtype");
  p.math = math_field(entry, "math");
  p.workspace_size = entry.at("workspace").get<size_t>();
  int algo = entry.at("algo").get<int>();
  if (algo < 0 || algo >= CUDNN_CONVOLUTION_FWD_ALGO_COUNT)
    throw std::invalid_argument("unknown cuDNN convolution algorithm " + std::to_string(algo));
  ConvPlan plan{static_cast<cudnnConvolutionFwdAlgo_t>(algo), math_field(entry, "algo_math")};
  // Fields of the graph-API path; engines written before it have legacy choices only.
  p.pad_end = entry.value("pad_end", p.pad);
  p.bias = entry.value("bias", false);
  p.residual = entry.value("residual", false);
  p.relu = entry.value("relu", false);
  p.silu = entry.value("silu", false);
  p.graph_api = entry.value("graph_api", false);
  plan.engine = entry.value("engine", int64_t{-1});
  plan.knobs = entry.value("knobs", std::vector<std::pair<int64_t, int64_t>>{});
  if (p.graph_api && plan.engine < 0)
    throw std::invalid_argument("a cuDNN graph convolution without an engine id");
  return {p, plan};
}

}  // namespace

std::string export_tuned_algorithms(const Engine& engine) {
  Json gemm = Json::array(), conv = Json::array();
  for (const auto& [key, algo] : engine.gemm_plans().entries())
    gemm.push_back(gemm_to_json(key, algo));
  for (const auto& [problem, plan] : engine.conv_plans().entries())
    conv.push_back(conv_to_json(problem, plan));
  if (gemm.empty() && conv.empty()) return "";
  return Json{{"cublaslt_version", cublasLtGetVersion()},
              {"cudnn_version", cudnnGetVersion()},
              {"gemm", gemm},
              {"conv", conv}}
      .dump();
}

size_t import_tuned_algorithms(const Engine& engine, const std::string& text,
                               const std::string& origin) {
  if (text.empty()) return 0;
  std::vector<std::pair<GemmPlanKey, cublasLtMatmulAlgo_t>> gemms;
  std::vector<std::pair<ConvProblem, ConvPlan>> convs;
  size_t built_cublaslt = 0, built_cudnn = 0;
  try {
    Json json = Json::parse(text);
    built_cublaslt = json.at("cublaslt_version").get<size_t>();
    built_cudnn = json.at("cudnn_version").get<size_t>();
    for (const Json& entry : json.at("gemm")) gemms.push_back(gemm_from_json(entry));
    for (const Json& entry : json.at("conv")) convs.push_back(conv_from_json(entry));
  } catch (const std::exception& error) {
    fail(ErrorKind::InvalidModel, origin, ": its tuned algorithms are malformed (", error.what(),
         "); rebuild the engine with `kiln build`");
  }
  size_t loaded = 0;
  // An algorithm is only meaningful to the library version that described it.
  if (built_cublaslt == cublasLtGetVersion()) {
    for (const auto& [key, algo] : gemms) engine.gemm_plans().preload(key, algo);
    loaded += gemms.size();
  } else if (!gemms.empty()) {
    log_info(origin, ": its GEMM algorithms were chosen with cuBLASLt ", built_cublaslt,
             ", this is ", cublasLtGetVersion(), "; they are timed again on first use");
  }
  if (built_cudnn == cudnnGetVersion()) {
    for (const auto& [problem, plan] : convs) engine.conv_plans().preload(problem, plan);
    loaded += convs.size();
  } else if (!convs.empty()) {
    log_info(origin, ": its convolution algorithms were chosen with cuDNN ", built_cudnn,
             ", this is ", cudnnGetVersion(), "; they are timed again on first use");
  }
  return loaded;
}

std::string tune_algorithms(const ir::Graph& graph, const std::map<std::string, Dims>& input_dims,
                            size_t workspace_bytes,
                            const std::map<std::string, std::string>& cubins) {
  auto engine = std::make_shared<Engine>(ir::copy_graph(graph), std::map<std::string, Tensor>{},
                                         workspace_bytes, cubins);
  ExecutionContext context(engine, input_dims);
  // The first inference times each product and convolution it launches (run_gemm, run_conv).
  context.run(make_random_inputs(context.specialized_graph(), kTuningSeed));
  return export_tuned_algorithms(*engine);
}

}  // namespace kiln::cuda
