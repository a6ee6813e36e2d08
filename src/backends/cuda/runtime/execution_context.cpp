// The execution context: takes the storage plan (plan/storage_plan.h) of its specialized
// graph, gives each planned tensor a device address once (one arena for the intermediates),
// then launches each step on the caller's stream. Nodes without a CUDA kernel (or dtypes a
// kernel lacks) run on the host through the CPU reference kernels.
#include "backends/cuda/runtime/execution_context.h"

#include <algorithm>
#include <cstddef>
#include <list>
#include <optional>

#include "backends/cpu/kernel.h"
#include "backends/cuda/fusion/pointwise_codegen.h"
#include "backends/cuda/kernels/cuda_check.h"
#include "backends/cuda/kernels/generated_kernel.h"
#include "backends/cuda/ops/attention_cudnn.h"
#include "backends/cuda/ops/cuda_ops.h"
#include "backends/cuda/runtime/fused_groups.h"
#include "backends/cuda/runtime/launch_resources.h"
#include "backends/cuda/runtime/plan/storage_plan.h"
#include "ir/layer_flops.h"
#include "ir/op_schema.h"
#include "passes/passes.h"

namespace kiln::cuda {
namespace {

Tensor round_through(const Tensor& tensor, Precision precision) {
  DType storage = precision_storage_dtype(precision);
  return tensor.to(storage).to(DType::Float32);
}

}  // namespace

struct ExecutionContext::State {
  std::shared_ptr<const Engine> engine;
  ir::Graph graph;  // specialized to this context's dims
  ContextOptions options;
  std::optional<LaunchResources> resources;  // made once the engine's workspace size is known
  Stream own_stream;                         // run()'s, made on its first call
  StoragePlan plan;
  std::vector<DeviceTensor> tensors;           // plan.tensors with their device addresses
  std::vector<DeviceBuffer> buffers;           // a tensor's own buffer, where it has one
  std::vector<CudaKernel> kernels;             // per plan step; null: runs on the host
  std::vector<GroupSpec> fused;                // per plan group: its operands as planned,
  std::vector<GeneratedKernel> fused_kernels;  // its generated kernel ...
  std::vector<GeneratedEntry> fused_entries;   // ... loaded
  DeviceBuffer arena;
  AttentionBiasMemo attention_bias;  // in attention_bias_buffer, sized over the plan
  DeviceBuffer attention_bias_buffer;
  std::vector<std::string> host_nodes;
  int inferences = 0;
  bool graph_wanted = false;
  // Captured graphs by the addresses of the bindable tensors they were captured with, most
  // recently used first: a caller alternating between a few bound buffers (or between bound
  // ones and the context's own) replays instead of capturing again.
  std::list<std::pair<std::vector<void*>, GraphExec>> graphs;

  std::vector<void*> bound_addresses() const {
    std::vector<void*> addresses;
    for (const auto& [name, index] : plan.inputs) addresses.push_back(tensors[size_t(index)].data);
    for (const auto& [name, index] : plan.outputs) addresses.push_back(tensors[size_t(index)].data);
    return addresses;
  }
  // The graph captured with the current addresses (moved to the front), or null.
  cudaGraphExec_t current_graph() {
    std::vector<void*> addresses = bound_addresses();
    for (auto it = graphs.begin(); it != graphs.end(); ++it) {
      if (it->first != addresses) continue;
      graphs.splice(graphs.begin(), graphs, it);
      return graphs.front().second.get();
    }
    return nullptr;
  }

  // A constant in `dtype`: the engine's shared copy, or (for a constant that shape
  // specialization made for this context) a buffer of this context's own.
  void place_constant(size_t index) {
    const PlannedTensor& planned = plan.tensors[index];
    const ir::Value& value = *planned.value;
    if (const DeviceTensor* shared =
            engine->shared_weight(value.name, *value.constant, planned.dtype)) {
      tensors[index] = *shared;
      return;
    }
    buffers[index] = DeviceBuffer(planned.nbytes());
    tensors[index].data = buffers[index].data();
    Tensor host = value.constant->dtype() == planned.dtype ? *value.constant
                                                           : value.constant->to(planned.dtype);
    upload_blocking(tensors[index].data, host.raw(), host.nbytes());
  }

  // Gives every planned tensor its device address: its own buffer, the engine's weight, its
  // place in the one arena, or (for views) its source's address plus the view's offset.
  void place_tensors() {
    tensors.assign(plan.tensors.size(), DeviceTensor{});
    buffers.resize(plan.tensors.size());
    arena = DeviceBuffer(plan.arena_bytes);
    auto* base = static_cast<std::byte*>(arena.data());
    for (size_t index = 0; index < plan.tensors.size(); ++index) {
      const PlannedTensor& planned = plan.tensors[index];
      tensors[index].dtype = planned.dtype;
      tensors[index].dims = planned.dims;
      tensors[index].row_pitch = planned.row_pitch;
      switch (planned.placement) {
        case Placement::Own:
          buffers[index] = DeviceBuffer(planned.nbytes());
          tensors[index].data = buffers[index].data();
          break;
        case Placement::Constant:
          place_constant(index);
          break;
        case Placement::Arena:
          tensors[index].data = base + planned.arena_offset;
          break;
        case Placement::Alias:
          break;  // point_aliases()
      }
    }
    point_aliases();
  }

  // Views take their source's address plus their offset (again after an address is bound).
  // In planning order, a view's source is pointed before the view.
  void point_aliases() {
    for (int alias : plan.aliases) {
      const PlannedTensor& view = plan.tensors[size_t(alias)];
      auto* source = static_cast<std::byte*>(tensors[size_t(view.alias_of)].data);
      tensors[size_t(alias)].data = source == nullptr ? nullptr : source + view.alias_offset;
    }
  }

  // Each fusion group's generated kernel: the engine's stored cubin or one compiled now.
  void prepare_fused_kernels() {
    fused = group_specs(plan);
    for (const GroupSpec& spec : fused) {
      fused_kernels.push_back(generate_kernel(spec));
      fused_entries.push_back(engine->fused_kernels().entry(fused_kernels.back()));
    }
  }

  // The vector kernel needs every packed operand aligned to its pack, and a bias-like
  // operand (Inner) whose size the pack divides.
  void launch_fused(const PlannedStep& step, const std::vector<DeviceTensor>& ins,
                    const std::vector<DeviceTensor>& outs) {
    const GeneratedKernel& kernel = fused_kernels[size_t(step.group)];
    std::vector<const void*> in_addresses;
    std::vector<void*> out_addresses;
    bool vector = true;
    auto aligned = [&](const DeviceTensor& tensor) {
      size_t pack = size_t(kernel.vector_width) * dtype_size(tensor.dtype);
      return reinterpret_cast<uintptr_t>(tensor.data) % pack == 0;
    };
    for (size_t j = 0; j < ins.size(); ++j) {
      in_addresses.push_back(ins[j].data);
      source::Access access = kernel.input_access[j];
      if (access == source::Access::Pack) vector &= aligned(ins[j]);
      if (access == source::Access::Inner)
        vector &= aligned(ins[j]) && ins[j].numel() % kernel.vector_width == 0;
    }
    for (const DeviceTensor& out : outs) {
      out_addresses.push_back(out.data);
      vector &= aligned(out);
    }
    launch_generated(fused_entries[size_t(step.group)],
                     fused_args(fused[size_t(step.group)], in_addresses, out_addresses), vector,
                     context().stream);
  }

  void find_kernels() {
    for (const PlannedStep& step : plan.steps) {
      CudaKernel kernel = nullptr;
      if (step.kind == PlannedStep::Kind::Launch) {
        kernel = find_cuda_kernel(step.node->op);
        if (kernel == nullptr) host_nodes.push_back(step.node->op + " '" + step.node->name + "'");
      }
      kernels.push_back(kernel);
    }
  }

  void run_on_host(size_t index) {
    const PlannedStep& step = plan.steps[index];
    const ir::Node& node = *step.node;
    cpu::Kernel kernel = cpu::find_kernel(node.op);
    check(kernel != nullptr, ErrorKind::Unsupported, node.describe(),
          ": neither the CUDA nor the CPU backend has a kernel for this op");
    KILN_CUDA_CHECK(cudaStreamSynchronize(context().stream));
    Precision precision = node.precision.value_or(Precision::FP32);
    bool round = ir::is_float_compute(node.op) &&
                 (precision == Precision::BF16 || precision == Precision::FP16);
    std::vector<Tensor> args;
    for (int input : step.inputs) {
      if (input < 0) {
        args.emplace_back();
        continue;
      }
      const DeviceTensor& device = tensors[size_t(input)];
      Tensor host(device.dtype, device.dims);
      if (host.nbytes() > 0) {
        KILN_CUDA_CHECK(
            cudaMemcpy(host.raw_mutable(), device.data, host.nbytes(), cudaMemcpyDeviceToHost));
      }
      if (device.dtype == DType::Float16 || device.dtype == DType::BFloat16)
        host = host.to(DType::Float32);
      if (round && host.dtype() == DType::Float32) host = round_through(host, precision);
      args.push_back(std::move(host));
    }
    std::vector<Tensor> results = kernel(node, args);
    check(results.size() == step.outputs.size(), ErrorKind::Runtime, node.describe(),
          ": the CPU kernel returned ", results.size(), " outputs");
    for (size_t i = 0; i < results.size(); ++i) {
      if (step.outputs[i] < 0 || !results[i].defined()) continue;
      DeviceTensor& device = tensors[size_t(step.outputs[i])];
      Tensor result = results[i];
      if (round && result.dtype() == DType::Float32) result = round_through(result, precision);
      if (result.dtype() != device.dtype) result = result.to(device.dtype);
      check(result.nbytes() == device.nbytes(), ErrorKind::Runtime, node.describe(), ": output ", i,
            " has dims ", dims_to_string(result.dims()), ", planned ", dims_to_string(device.dims));
      if (result.nbytes() > 0) {
        KILN_CUDA_CHECK(cudaMemcpyAsync(device.data, result.raw(), result.nbytes(),
                                        cudaMemcpyHostToDevice, context().stream));
      }
    }
    KILN_CUDA_CHECK(cudaStreamSynchronize(context().stream));  // `results` must outlive the copy
  }

  // The device tensors of a step's inputs or outputs, undefined where one is absent (-1).
  std::vector<DeviceTensor> tensors_of(const std::vector<int>& indices) const {
    std::vector<DeviceTensor> result;
    for (int index : indices) result.push_back(index < 0 ? DeviceTensor{} : tensors[size_t(index)]);
    return result;
  }

  void launch(size_t index) {
    const PlannedStep& step = plan.steps[index];
    std::vector<DeviceTensor> ins = tensors_of(step.inputs);
    std::vector<DeviceTensor> outs = tensors_of(step.outputs);
    if (step.kind == PlannedStep::Kind::Cast) {
      cast_tensor(context(), ins[0], outs[0]);
      return;
    }
    if (step.kind == PlannedStep::Kind::Fused) {
      launch_fused(step, ins, outs);
      return;
    }
    if (kernels[index] != nullptr) {
      try {
        kernels[index](context(), *step.node, ins, outs);
        return;
      } catch (const Error& error) {
        // Kernels refuse dtypes or attributes they lack before launching anything; from
        // then on the node runs on the host.
        if (error.kind() != ErrorKind::Unsupported) throw;
        kernels[index] = nullptr;
        host_nodes.push_back(step.node->op + " '" + step.node->name + "'");
      }
    }
    run_on_host(index);
  }

  LaunchContext& context() { return resources->context(); }

  // The memo for the attention layers' mask biases: as large as the largest one takes.
  void prepare_attention_bias() {
    size_t largest = 0;
    for (const PlannedStep& step : plan.steps) {
      if (step.kind != PlannedStep::Kind::Launch || step.node->op != "Attention") continue;
      largest = std::max(largest, attention_bias_bytes(*step.node, tensors_of(step.inputs)));
    }
    if (largest == 0) return;
    attention_bias_buffer = DeviceBuffer(largest);
    attention_bias.data = attention_bias_buffer.data();
    attention_bias.capacity = largest;
    context().attention_bias = &attention_bias;
  }

  void launch_all() {
    attention_bias.forget();  // each inference writes its masks' biases afresh
    if (options.poison_values) {
      for (int computed : plan.computed) {
        const DeviceTensor& tensor = tensors[size_t(computed)];
        KILN_CUDA_CHECK(cudaMemsetAsync(tensor.data, 0xFF, tensor.nbytes(), context().stream));
      }
    }
    for (size_t index = 0; index < plan.steps.size(); ++index) launch(index);
  }

  void capture(cudaStream_t stream) {
    check(host_nodes.empty(), ErrorKind::Unsupported,
          "cannot capture a CUDA graph: ", host_nodes.size(), " node(s) run on the host (",
          host_nodes.front(), (host_nodes.size() > 1 ? ", ..." : ""),
          "); run without a CUDA graph");
    GraphExec captured = capture_graph(stream, [&] { launch_all(); });
    if (graphs.size() >= kCapturedGraphs) graphs.pop_back();
    graphs.emplace_front(bound_addresses(), std::move(captured));
  }

  // The implementation step `index` runs through: the builder's choice (node attribute
  // "tactic"), else the first its kernel offers for these tensors (the one it defaults to).
  std::string tactic_of(size_t index) {
    const ir::Node& node = *plan.steps[index].node;
    std::string chosen = node.attr_string("tactic", "");
    if (!chosen.empty()) return chosen;
    std::vector<std::string> offered =
        cuda_tactics(context(), node, tensors_of(plan.steps[index].inputs));
    return offered.empty() ? "" : offered.front();
  }

  // The tensor a caller may bind for graph input or output `name`, or -1.
  int bindable_tensor(const std::string& name) const {
    int tensor = -1;
    if (auto found = plan.inputs.find(name); found != plan.inputs.end()) tensor = found->second;
    for (const auto& [output, output_tensor] : plan.outputs) {
      if (output == name) tensor = output_tensor;
    }
    return tensor;
  }
};

ExecutionContext::ExecutionContext(std::shared_ptr<const Engine> engine,
                                   const std::map<std::string, Dims>& input_dims,
                                   ContextOptions options)
    : state_(std::make_unique<State>()) {
  check(engine != nullptr, ErrorKind::InvalidArgument, "execution context without an engine");
  State& s = *state_;
  s.engine = std::move(engine);
  s.graph = passes::specialize_shapes(s.engine->graph(), input_dims);
  s.options = options;
  s.resources.emplace(s.engine->workspace_bytes(), /*stream=*/nullptr, &s.engine->gemm_plans(),
                      &s.engine->conv_plans());
  s.plan = plan_storage(s.graph, cuda_plan_options(options.fuse_groups));
  s.place_tensors();
  s.find_kernels();
  s.prepare_fused_kernels();
  s.prepare_attention_bias();
}

ExecutionContext::~ExecutionContext() = default;

const DeviceTensor& ExecutionContext::input(const std::string& name) const {
  auto found = state_->plan.inputs.find(name);
  check(found != state_->plan.inputs.end(), ErrorKind::InvalidArgument, "the model has no input '",
        name, "'");
  return state_->tensors[size_t(found->second)];
}

const DeviceTensor& ExecutionContext::output(const std::string& name) const {
  for (const auto& [output, tensor] : state_->plan.outputs) {
    if (output == name) return state_->tensors[size_t(tensor)];
  }
  fail(ErrorKind::InvalidArgument, "the model has no output '", name, "'");
}

std::vector<std::string> ExecutionContext::input_names() const {
  std::vector<std::string> names;
  for (const ir::Value* input : state_->graph.inputs()) {
    if (!input->is_constant()) names.push_back(input->name);
  }
  return names;
}

std::vector<std::string> ExecutionContext::output_names() const {
  std::vector<std::string> names;
  for (const auto& [name, tensor] : state_->plan.outputs) names.push_back(name);
  return names;
}

void ExecutionContext::set_tensor_address(const std::string& name, void* address) {
  State& s = *state_;
  int tensor = s.bindable_tensor(name);
  check(tensor >= 0, ErrorKind::InvalidArgument, "the model has no input or output '", name, "'");
  check(s.plan.tensors[size_t(tensor)].placement == Placement::Own, ErrorKind::Unsupported,
        "output '", name, "' is a constant or an input of the model; read it with output()");
  if (address == nullptr) address = s.buffers[size_t(tensor)].data();  // the context's own
  if (s.tensors[size_t(tensor)].data == address) return;
  s.tensors[size_t(tensor)].data = address;
  s.point_aliases();  // graphs captured with the old address stay cached for when it returns
}

bool ExecutionContext::can_bind(const std::string& name) const {
  int tensor = state_->bindable_tensor(name);
  return tensor >= 0 && state_->plan.tensors[size_t(tensor)].placement == Placement::Own;
}

void ExecutionContext::enqueue(cudaStream_t stream) {
  State& s = *state_;
  s.resources->bind_stream(stream);
  if (s.graph_wanted && s.inferences > 0) {
    cudaGraphExec_t graph = s.current_graph();
    if (graph == nullptr) {
      s.capture(stream);
      graph = s.graphs.front().second.get();
    }
    KILN_CUDA_CHECK(cudaGraphLaunch(graph, stream));
  } else {
    s.launch_all();
  }
  ++s.inferences;
}

bool ExecutionContext::replays_graph() const {
  const State& s = *state_;
  if (!s.graph_wanted || s.inferences == 0) return false;
  std::vector<void*> addresses = s.bound_addresses();
  for (const auto& [captured_with, graph] : s.graphs) {
    if (captured_with == addresses) return true;
  }
  return false;
}

void ExecutionContext::use_cuda_graph(bool enable) {
  state_->graph_wanted = enable;
  if (!enable) state_->graphs.clear();
}

std::vector<Tensor> ExecutionContext::run(const std::map<std::string, Tensor>& inputs) {
  State& s = *state_;
  // One stream for every run() of this context; like run() itself, not for concurrent use.
  if (!s.own_stream.get()) s.own_stream = create_stream();
  cudaStream_t stream = s.own_stream.get();
  for (const auto& [name, index] : s.plan.inputs) {
    auto given = inputs.find(name);
    check(given != inputs.end(), ErrorKind::InvalidArgument, "input '", name, "' is not given");
    const Tensor& tensor = given->second;
    const DeviceTensor& device = s.tensors[size_t(index)];
    check(tensor.dtype() == device.dtype && tensor.dims() == device.dims,
          ErrorKind::InvalidArgument, "input '", name, "' must be ", dtype_name(device.dtype), " ",
          dims_to_string(device.dims), " (as planned), got ", dtype_name(tensor.dtype()), " ",
          dims_to_string(tensor.dims()));
    if (tensor.nbytes() > 0) {
      KILN_CUDA_CHECK(cudaMemcpyAsync(device.data, tensor.raw(), tensor.nbytes(),
                                      cudaMemcpyHostToDevice, stream));
    }
  }
  enqueue(stream);
  std::vector<Tensor> results;
  for (const auto& [name, index] : s.plan.outputs) {
    const DeviceTensor& device = s.tensors[size_t(index)];
    Tensor host(device.dtype, device.dims);
    if (host.nbytes() > 0) {
      KILN_CUDA_CHECK(cudaMemcpyAsync(host.raw_mutable(), device.data, host.nbytes(),
                                      cudaMemcpyDeviceToHost, stream));
    }
    results.push_back(std::move(host));
  }
  KILN_CUDA_CHECK(cudaStreamSynchronize(stream));
  return results;
}

std::vector<LayerTime> ExecutionContext::profile_layers(cudaStream_t stream, int iterations) {
  State& s = *state_;
  check(iterations > 0, ErrorKind::InvalidArgument, "profile_layers needs at least one iteration");
  s.resources->bind_stream(stream);
  s.launch_all();  // warm-up: algorithms chosen, host nodes found
  std::vector<Event> marks;
  size_t steps = s.plan.steps.size();
  for (size_t i = 0; i <= steps; ++i) marks.push_back(create_timing_event());
  std::vector<std::vector<float>> samples(steps);
  for (int iteration = 0; iteration < iterations; ++iteration) {
    KILN_CUDA_CHECK(cudaEventRecord(marks[0].get(), stream));
    for (size_t i = 0; i < steps; ++i) {
      s.launch(i);
      KILN_CUDA_CHECK(cudaEventRecord(marks[i + 1].get(), stream));
    }
    KILN_CUDA_CHECK(cudaEventSynchronize(marks.back().get()));
    for (size_t i = 0; i < steps; ++i) {
      float ms = 0;
      KILN_CUDA_CHECK(cudaEventElapsedTime(&ms, marks[i].get(), marks[i + 1].get()));
      samples[i].push_back(ms);
    }
  }
  std::vector<LayerTime> layers;
  for (size_t i = 0; i < steps; ++i) {
    const PlannedStep& step = s.plan.steps[i];
    std::vector<float>& times = samples[i];
    std::nth_element(times.begin(), times.begin() + long(times.size() / 2), times.end());
    LayerTime layer;
    layer.median_ms = times[times.size() / 2];
    for (int tensor : step.inputs)
      if (tensor >= 0) layer.bytes += s.plan.tensors[size_t(tensor)].nbytes();
    for (int tensor : step.outputs)
      if (tensor >= 0) layer.bytes += s.plan.tensors[size_t(tensor)].nbytes();
    if (step.kind == PlannedStep::Kind::Cast) {
      layer.op = "Cast";
      layer.name = step.label;
    } else if (step.kind == PlannedStep::Kind::Fused) {
      const PlannedGroup& group = s.plan.groups[size_t(step.group)];
      layer.op = "Fused";
      layer.name = group.nodes.front()->name + " .. " + group.nodes.back()->name;
      layer.tactic = step.label;
      for (const ir::Node* node : group.nodes) layer.members.push_back(node->name);
    } else {
      layer.name = step.node->name;
      layer.op = step.node->op;
      if (step.node->precision && ir::is_float_compute(step.node->op)) {
        layer.precision = precision_name(*step.node->precision);
      }
      layer.on_host = s.kernels[i] == nullptr;
      if (!layer.on_host) layer.tactic = s.tactic_of(i);
      std::vector<Dims> in_dims, out_dims;
      for (int tensor : step.inputs)
        in_dims.push_back(tensor >= 0 ? s.plan.tensors[size_t(tensor)].dims : Dims{});
      for (int tensor : step.outputs)
        out_dims.push_back(tensor >= 0 ? s.plan.tensors[size_t(tensor)].dims : Dims{});
      layer.flops = ir::layer_flops(*step.node, in_dims, out_dims);
    }
    layers.push_back(std::move(layer));
  }
  return layers;
}

std::vector<std::string> ExecutionContext::host_nodes() const { return state_->host_nodes; }
const ir::Graph& ExecutionContext::specialized_graph() const { return state_->graph; }
size_t ExecutionContext::arena_bytes() const { return state_->arena.size(); }

}  // namespace kiln::cuda
