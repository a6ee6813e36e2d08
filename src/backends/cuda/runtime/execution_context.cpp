// The execution context: plans storage dtypes and device memory once (intermediates share
// one arena by lifetime), then launches each node on the caller's stream. Nodes without a
// CUDA kernel (or dtypes a kernel lacks) run on the host through the CPU reference kernels.
#include "backends/cuda/runtime/execution_context.h"

#include <algorithm>
#include <cstddef>
#include <optional>

#include "backends/cpu/kernel.h"
#include "backends/cuda/kernels/cuda_check.h"
#include "backends/cuda/ops/cuda_ops.h"
#include "backends/cuda/runtime/launch_resources.h"
#include "ir/op_schema.h"
#include "passes/passes.h"
#include "passes/plan_memory.h"
#include "passes/storage_dtype.h"

namespace kiln::cuda {
namespace {

bool is_float_compute(const ir::Node& node) {
  const ir::OpSchema* schema = ir::find_schema(node.op);
  return schema != nullptr && schema->float_compute;
}

// A value's bytes on the device in one storage dtype: in its own buffer (graph inputs and
// outputs), in the engine's shared weights, or at a planned offset in the arena.
struct Slot {
  DeviceTensor tensor;
  DeviceBuffer buffer;
  bool in_arena = false;
  int alias_of = -1;        // a view of that slot's bytes (no copy, no step) ...
  size_t alias_offset = 0;  // ... starting this many bytes in
};

// Ops whose output is their input's bytes under other dims.
bool is_view_op(const std::string& op) {
  return op == "Reshape" || op == "Flatten" || op == "Squeeze" || op == "Unsqueeze" ||
         op == "Identity";
}

// Views start where kernels and cuBLASLt expect any tensor to: 256-byte aligned, as
// cudaMalloc and the arena place them.
constexpr size_t kViewAlignment = 256;

// Where `node`'s output lies in the bytes of its first input `source`, if it is a view of
// them: a reshape at 0; a Gather of one constant index along axis 0 (torchvision's attention
// takes q, k, v as qkv[0], qkv[1], qkv[2]) at that index's block, when the block is aligned.
std::optional<size_t> view_offset(const ir::Node& node, const DeviceTensor& source,
                                  const DeviceTensor& view) {
  if (is_view_op(node.op)) {
    if (view.nbytes() != source.nbytes()) return std::nullopt;
    return 0;
  }
  if (node.op != "Gather" || node.attr_int("axis", 0) != 0 || source.dims.empty() ||
      source.dims[0] <= 0 || node.inputs.size() != 2 || node.inputs[1] == nullptr ||
      !node.inputs[1]->is_constant() || node.inputs[1]->constant->rank() != 0) {
    return std::nullopt;
  }
  int64_t index = node.inputs[1]->constant->to(DType::Int64).data<int64_t>()[0];
  if (index < 0) index += source.dims[0];
  size_t block = source.nbytes() / size_t(source.dims[0]);
  if (index < 0 || index >= source.dims[0] || view.nbytes() != block ||
      block % kViewAlignment != 0) {
    return std::nullopt;
  }
  return size_t(index) * block;
}

struct Step {
  enum class Kind { Launch, Cast } kind = Kind::Launch;
  const ir::Node* node = nullptr;
  CudaKernel kernel = nullptr;  // null: runs on the host
  std::string label;            // for a cast: "cast VALUE to DTYPE"
  std::vector<int> inputs;      // slot per node input, -1 where absent
  std::vector<int> outputs;
};

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
  std::vector<Slot> slots;
  std::map<std::pair<const ir::Value*, DType>, int> slot_of;
  std::map<const ir::Value*, int> primary;  // the slot a value is produced into
  std::vector<Step> steps;
  DeviceBuffer arena;
  std::map<std::string, int> input_slots;
  std::vector<std::pair<std::string, int>> output_slots;  // in graph output order
  std::vector<int> computed_slots;                        // poisoned before a run
  std::vector<int> aliases;                               // view slots, in planning order
  std::vector<std::string> host_nodes;
  int inferences = 0;
  bool graph_wanted = false;
  GraphExec graph_exec;

  // Arena slots get their address in place_in_arena(), once every step is planned.
  int new_slot(DType dtype, const Dims& dims, bool in_arena) {
    Slot slot;
    slot.tensor.dtype = dtype;
    slot.tensor.dims = dims;
    slot.in_arena = in_arena;
    if (!in_arena) {
      slot.buffer = DeviceBuffer(slot.tensor.nbytes());
      slot.tensor.data = slot.buffer.data();
    }
    slots.push_back(std::move(slot));
    return int(slots.size()) - 1;
  }

  // A constant in `dtype`: the engine's shared copy, or (for a constant that shape
  // specialization made for this context) a buffer of this context's own.
  int constant_slot(const ir::Value* value, DType dtype) {
    if (const DeviceTensor* shared = engine->shared_weight(value->name, *value->constant, dtype)) {
      Slot slot;
      slot.tensor = *shared;
      slots.push_back(std::move(slot));
      return int(slots.size()) - 1;
    }
    int slot = new_slot(dtype, value->shape.static_dims(), /*in_arena=*/false);
    Tensor host = value->constant->dtype() == dtype ? *value->constant : value->constant->to(dtype);
    upload_blocking(slots[size_t(slot)].tensor.data, host.raw(), host.nbytes());
    return slot;
  }

  // The slot holding `value` in `dtype`: constants are converted and uploaded once; computed
  // values get a cast step from where they were produced.
  int slot_for(const ir::Value* value, DType dtype, bool in_arena = true) {
    auto found = slot_of.find({value, dtype});
    if (found != slot_of.end()) return found->second;
    auto produced = primary.find(value);
    if (produced == primary.end()) {
      check(value->is_constant(), ErrorKind::Runtime, "value '", value->name, "' has no producer");
      int slot = constant_slot(value, dtype);
      slot_of[{value, dtype}] = slot;
      return slot;
    }
    int slot = new_slot(dtype, value->shape.static_dims(), in_arena);
    slot_of[{value, dtype}] = slot;
    Step cast;
    cast.kind = Step::Kind::Cast;
    cast.label = "cast " + value->name + " to " + std::string(dtype_name(dtype));
    cast.inputs = {produced->second};
    cast.outputs = {slot};
    steps.push_back(cast);
    computed_slots.push_back(slot);
    return slot;
  }

  int stored_slot(const ir::Value* value) {
    auto produced = primary.find(value);
    if (produced != primary.end()) return produced->second;
    return slot_for(value, value->dtype);  // a constant in its own dtype
  }

  // Float inputs of a precision-carrying node are read in that precision's storage type;
  // data movement reads every float input in the storage of its first float input.
  DType wanted_dtype(const ir::Node& node, const ir::Value* input, DType data_storage) {
    if (!is_float_storage(input->dtype)) return input->dtype;
    if (is_float_compute(node) && node.precision) return precision_storage_dtype(*node.precision);
    if (data_storage != DType::Undefined) return data_storage;
    return slots[size_t(stored_slot(input))].tensor.dtype;
  }

  int root_of(int slot) const {
    while (slot >= 0 && slots[size_t(slot)].alias_of >= 0) slot = slots[size_t(slot)].alias_of;
    return slot;
  }

  // A node whose output is a view of its input's bytes (view_offset) and not delivered as a
  // graph output becomes an alias in the storage dtype the input already has: no launch, no
  // bytes.
  bool plan_view(const ir::Node& node) {
    if (node.outputs.size() != 1 || node.inputs.empty() || node.inputs[0] == nullptr) return false;
    const ir::Value* output = node.outputs[0];
    if (graph.is_graph_output(output)) return false;
    int source = stored_slot(node.inputs[0]);
    Slot view;
    view.tensor.dtype = slots[size_t(source)].tensor.dtype;
    view.tensor.dims = output->shape.static_dims();
    view.alias_of = source;
    std::optional<size_t> offset = view_offset(node, slots[size_t(source)].tensor, view.tensor);
    if (!offset) return false;
    view.alias_offset = *offset;
    slots.push_back(std::move(view));
    int slot = int(slots.size()) - 1;
    slot_of[{output, slots[size_t(slot)].tensor.dtype}] = slot;
    primary[output] = slot;
    aliases.push_back(slot);
    return true;
  }

  // Views take their source's address plus their offset (again after an address is bound).
  // In planning order, a view's source is pointed before the view.
  void point_aliases() {
    for (int slot : aliases) {
      Slot& view = slots[size_t(slot)];
      auto* source = static_cast<std::byte*>(slots[size_t(view.alias_of)].tensor.data);
      view.tensor.data = source == nullptr ? nullptr : source + view.alias_offset;
    }
  }

  void plan_node(const ir::Node& node) {
    if (plan_view(node)) return;
    DType data_storage = DType::Undefined;
    for (const ir::Value* input : node.inputs) {
      if (input != nullptr && is_float_storage(input->dtype)) {
        data_storage = slots[size_t(stored_slot(input))].tensor.dtype;
        break;
      }
    }
    Step step;
    step.node = &node;
    step.kernel = find_cuda_kernel(node.op);
    if (step.kernel == nullptr) host_nodes.push_back(node.op + " '" + node.name + "'");
    for (const ir::Value* input : node.inputs) {
      step.inputs.push_back(
          input == nullptr ? -1 : slot_for(input, wanted_dtype(node, input, data_storage)));
    }
    for (size_t i = 0; i < node.outputs.size(); ++i) {
      const ir::Value* output = node.outputs[i];
      if (i > 0 && graph.users(output).empty() && !graph.is_graph_output(output)) {
        step.outputs.push_back(-1);  // an optional output nobody reads (LayerNorm's Mean)
        continue;
      }
      DType dtype = passes::storage_dtype(*output);  // the rule the builder costs casts by
      // A graph output stays outside the arena only where it is delivered in this dtype.
      bool delivered = graph.is_graph_output(output) && dtype == output->dtype;
      int slot = new_slot(dtype, output->shape.static_dims(), /*in_arena=*/!delivered);
      slot_of[{output, dtype}] = slot;
      primary[output] = slot;
      computed_slots.push_back(slot);
      step.outputs.push_back(slot);
    }
    steps.push_back(std::move(step));
  }

  // Graph outputs are delivered in their declared dtypes, in buffers outside the arena.
  void plan_outputs() {
    for (const ir::Value* output : graph.outputs()) {
      int slot = stored_slot(output);
      DType declared = output->dtype;
      if (slots[size_t(slot)].tensor.dtype != declared && is_float_storage(declared)) {
        slot = slot_for(output, declared, /*in_arena=*/false);
      }
      output_slots.emplace_back(output->name, slot);
    }
  }

  // Lays every arena slot out by the steps that write and read it, then makes the one
  // allocation they share, so that an inference allocates nothing on the device.
  void place_in_arena() {
    std::vector<int> arena_slots;
    std::map<int, size_t> range_of;
    std::vector<passes::LiveRange> ranges;
    for (size_t index = 0; index < steps.size(); ++index) {
      for (int slot : steps[index].inputs) {
        auto found = range_of.find(root_of(slot));  // reading a view keeps its source alive
        if (found != range_of.end()) ranges[found->second].last = index;
      }
      for (int slot : steps[index].outputs) {
        if (slot < 0 || !slots[size_t(slot)].in_arena) continue;
        range_of[slot] = ranges.size();
        arena_slots.push_back(slot);
        ranges.push_back({slots[size_t(slot)].tensor.nbytes(), index, index});
      }
    }
    passes::ArenaLayout layout = passes::plan_arena(ranges);
    arena = DeviceBuffer(layout.arena_bytes);
    auto* base = static_cast<std::byte*>(arena.data());
    for (size_t i = 0; i < arena_slots.size(); ++i) {
      slots[size_t(arena_slots[i])].tensor.data = base + layout.offsets[i];
    }
    point_aliases();
  }

  void run_on_host(Step& step) {
    const ir::Node& node = *step.node;
    cpu::Kernel kernel = cpu::find_kernel(node.op);
    check(kernel != nullptr, ErrorKind::Unsupported, node.describe(),
          ": neither the CUDA nor the CPU backend has a kernel for this op");
    KILN_CUDA_CHECK(cudaStreamSynchronize(context().stream));
    Precision precision = node.precision.value_or(Precision::FP32);
    bool round =
        is_float_compute(node) && (precision == Precision::BF16 || precision == Precision::FP16);
    std::vector<Tensor> args;
    for (int slot : step.inputs) {
      if (slot < 0) {
        args.emplace_back();
        continue;
      }
      const DeviceTensor& device = slots[size_t(slot)].tensor;
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
      DeviceTensor& device = slots[size_t(step.outputs[i])].tensor;
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

  void launch(Step& step) {
    std::vector<DeviceTensor> ins;
    std::vector<DeviceTensor> outs;
    for (int slot : step.inputs)
      ins.push_back(slot < 0 ? DeviceTensor{} : slots[size_t(slot)].tensor);
    for (int slot : step.outputs)
      outs.push_back(slot < 0 ? DeviceTensor{} : slots[size_t(slot)].tensor);
    if (step.kind == Step::Kind::Cast) {
      cast_tensor(context(), ins[0], outs[0]);
      return;
    }
    if (step.kernel != nullptr) {
      try {
        step.kernel(context(), *step.node, ins, outs);
        return;
      } catch (const Error& error) {
        // Kernels refuse dtypes or attributes they lack before launching anything; from
        // then on the node runs on the host.
        if (error.kind() != ErrorKind::Unsupported) throw;
        step.kernel = nullptr;
        host_nodes.push_back(step.node->op + " '" + step.node->name + "'");
      }
    }
    run_on_host(step);
  }

  LaunchContext& context() { return resources->context(); }

  void launch_all() {
    if (options.poison_values) {
      for (int slot : computed_slots) {
        const DeviceTensor& tensor = slots[size_t(slot)].tensor;
        KILN_CUDA_CHECK(cudaMemsetAsync(tensor.data, 0xFF, tensor.nbytes(), context().stream));
      }
    }
    for (Step& step : steps) launch(step);
  }

  void capture(cudaStream_t stream) {
    check(host_nodes.empty(), ErrorKind::Unsupported,
          "cannot capture a CUDA graph: ", host_nodes.size(), " node(s) run on the host (",
          host_nodes.front(), (host_nodes.size() > 1 ? ", ..." : ""),
          "); run without a CUDA graph");
    graph_exec = capture_graph(stream, [&] { launch_all(); });
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
  s.resources.emplace(s.engine->workspace_bytes(), /*stream=*/nullptr);
  for (const ir::Value* input : s.graph.inputs()) {
    if (input->is_constant()) continue;  // a default: uploaded like a weight
    int slot = s.new_slot(input->dtype, input->shape.static_dims(), /*in_arena=*/false);
    s.slot_of[{input, input->dtype}] = slot;
    s.primary[input] = slot;
    s.input_slots[input->name] = slot;
  }
  for (const ir::Node* node : s.graph.nodes()) s.plan_node(*node);
  s.plan_outputs();
  s.place_in_arena();
}

ExecutionContext::~ExecutionContext() = default;

const DeviceTensor& ExecutionContext::input(const std::string& name) const {
  auto found = state_->input_slots.find(name);
  check(found != state_->input_slots.end(), ErrorKind::InvalidArgument, "the model has no input '",
        name, "'");
  return state_->slots[size_t(found->second)].tensor;
}

const DeviceTensor& ExecutionContext::output(const std::string& name) const {
  for (const auto& [output, slot] : state_->output_slots) {
    if (output == name) return state_->slots[size_t(slot)].tensor;
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
  for (const auto& [name, slot] : state_->output_slots) names.push_back(name);
  return names;
}

void ExecutionContext::set_tensor_address(const std::string& name, void* address) {
  State& s = *state_;
  check(address != nullptr, ErrorKind::InvalidArgument, "null address for tensor '", name, "'");
  int slot = -1;
  if (auto found = s.input_slots.find(name); found != s.input_slots.end()) slot = found->second;
  for (const auto& [output, output_slot] : s.output_slots) {
    if (output == name) slot = output_slot;
  }
  check(slot >= 0, ErrorKind::InvalidArgument, "the model has no input or output '", name, "'");
  Slot& target = s.slots[size_t(slot)];
  check(target.buffer.size() > 0 || target.tensor.nbytes() == 0, ErrorKind::Unsupported, "output '",
        name, "' is a constant or an input of the model; read it with output()");
  target.tensor.data = address;
  s.point_aliases();
  s.graph_exec.reset();  // the captured graph holds the old address
}

void ExecutionContext::enqueue(cudaStream_t stream) {
  State& s = *state_;
  s.resources->bind_stream(stream);
  if (s.graph_wanted && s.inferences > 0) {
    if (!s.graph_exec.get()) s.capture(stream);
    KILN_CUDA_CHECK(cudaGraphLaunch(s.graph_exec.get(), stream));
  } else {
    s.launch_all();
  }
  ++s.inferences;
}

void ExecutionContext::use_cuda_graph(bool enable) {
  state_->graph_wanted = enable;
  if (!enable) state_->graph_exec.reset();
}

std::vector<Tensor> ExecutionContext::run(const std::map<std::string, Tensor>& inputs) {
  State& s = *state_;
  // One stream for every run() of this context; like run() itself, not for concurrent use.
  if (!s.own_stream.get()) s.own_stream = create_stream();
  cudaStream_t stream = s.own_stream.get();
  for (const auto& [name, slot] : s.input_slots) {
    auto given = inputs.find(name);
    check(given != inputs.end(), ErrorKind::InvalidArgument, "input '", name, "' is not given");
    const Tensor& tensor = given->second;
    const DeviceTensor& device = s.slots[size_t(slot)].tensor;
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
  for (const auto& [name, slot] : s.output_slots) {
    const DeviceTensor& device = s.slots[size_t(slot)].tensor;
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
  for (size_t i = 0; i <= s.steps.size(); ++i) marks.push_back(create_timing_event());
  std::vector<std::vector<float>> samples(s.steps.size());
  for (int iteration = 0; iteration < iterations; ++iteration) {
    KILN_CUDA_CHECK(cudaEventRecord(marks[0].get(), stream));
    for (size_t i = 0; i < s.steps.size(); ++i) {
      s.launch(s.steps[i]);
      KILN_CUDA_CHECK(cudaEventRecord(marks[i + 1].get(), stream));
    }
    KILN_CUDA_CHECK(cudaEventSynchronize(marks.back().get()));
    for (size_t i = 0; i < s.steps.size(); ++i) {
      float ms = 0;
      KILN_CUDA_CHECK(cudaEventElapsedTime(&ms, marks[i].get(), marks[i + 1].get()));
      samples[i].push_back(ms);
    }
  }
  std::vector<LayerTime> layers;
  for (size_t i = 0; i < s.steps.size(); ++i) {
    const Step& step = s.steps[i];
    std::vector<float>& times = samples[i];
    std::nth_element(times.begin(), times.begin() + long(times.size() / 2), times.end());
    LayerTime layer;
    layer.median_ms = times[times.size() / 2];
    if (step.kind == Step::Kind::Cast) {
      layer.op = "Cast";
      layer.name = step.label;
    } else {
      layer.name = step.node->name;
      layer.op = step.node->op;
      if (step.node->precision && is_float_compute(*step.node)) {
        layer.precision = precision_name(*step.node->precision);
      }
      layer.on_host = step.kernel == nullptr;
    }
    layers.push_back(std::move(layer));
  }
  return layers;
}

std::vector<std::string> ExecutionContext::host_nodes() const { return state_->host_nodes; }
const ir::Graph& ExecutionContext::specialized_graph() const { return state_->graph; }
size_t ExecutionContext::arena_bytes() const { return state_->arena.size(); }

}  // namespace kiln::cuda
