// The CUDA executor: plans storage dtypes and device memory once (intermediates share one
// arena by lifetime), then launches each node on one stream. Nodes without a CUDA kernel
// (shape ops, or dtypes a kernel lacks) run on the host through the CPU reference kernels.
#include "backends/cuda/cuda_executor.h"

#include <cstddef>

#include "backends/cpu/kernel.h"
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/cuda_ops.h"
#include "backends/cuda/cuda_resources.h"
#include "ir/op_schema.h"
#include "passes/passes.h"
#include "passes/plan_memory.h"

namespace kiln::cuda {
namespace {

bool is_float_storage(DType dtype) {
  return dtype == DType::Float32 || dtype == DType::Float16 || dtype == DType::BFloat16;
}

bool is_float_compute(const ir::Node& node) {
  const ir::OpSchema* schema = ir::find_schema(node.op);
  return schema != nullptr && schema->float_compute;
}

// A value's bytes on the device in one storage dtype: in its own buffer (graph inputs and
// outputs, constants) or at a planned offset in the shared arena (everything in between).
struct Slot {
  DeviceTensor tensor;
  DeviceBuffer buffer;
  bool in_arena = false;
};

struct Step {
  enum class Kind { Launch, Cast } kind = Kind::Launch;
  const ir::Node* node = nullptr;
  CudaKernel kernel = nullptr;  // null: runs on the host
  std::vector<int> inputs;      // slot per node input, -1 where absent
  std::vector<int> outputs;
};

Tensor round_through(const Tensor& tensor, Precision precision) {
  DType storage = precision_storage_dtype(precision);
  return tensor.to(storage).to(DType::Float32);
}

}  // namespace

struct CudaExecutor::State {
  ir::Graph graph;
  CudaExecutorOptions options;
  Stream stream;
  CublasLtHandle cublaslt;
  CudnnHandle cudnn;
  DeviceBuffer workspace;
  LaunchContext context;
  std::vector<Slot> slots;
  std::map<std::pair<const ir::Value*, DType>, int> slot_of;
  std::map<const ir::Value*, int> primary;  // the slot a value is produced into
  std::vector<Step> steps;
  DeviceBuffer arena;
  std::vector<int> output_slots;    // per graph output, resolved at construction
  std::vector<int> computed_slots;  // poisoned before a run
  std::vector<std::string> host_nodes;

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

  // The slot holding `value` in `dtype`: constants are converted and uploaded once; computed
  // values get a cast step from where they were produced.
  int slot_for(const ir::Value* value, DType dtype) {
    auto found = slot_of.find({value, dtype});
    if (found != slot_of.end()) return found->second;
    Dims dims = value->shape.static_dims();
    auto produced = primary.find(value);
    int slot = new_slot(dtype, dims, /*in_arena=*/produced != primary.end());
    slot_of[{value, dtype}] = slot;
    if (produced == primary.end()) {
      check(value->is_constant(), ErrorKind::Runtime, "value '", value->name, "' has no producer");
      Tensor host = value->constant->dtype() == dtype ? *value->constant : value->constant->to(dtype);
      if (host.nbytes() > 0) {
        KILN_CUDA_CHECK(cudaMemcpy(slots[size_t(slot)].tensor.data, host.raw(), host.nbytes(),
                                   cudaMemcpyHostToDevice));
      }
      return slot;
    }
    Step cast;
    cast.kind = Step::Kind::Cast;
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

  void plan_node(const ir::Node& node) {
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
    for (const ir::Value* input : node.inputs) {
      step.inputs.push_back(input == nullptr ? -1 : slot_for(input, wanted_dtype(node, input, data_storage)));
    }
    if (is_float_compute(node) && node.precision) {
      data_storage = precision_storage_dtype(*node.precision);
    }
    for (size_t i = 0; i < node.outputs.size(); ++i) {
      const ir::Value* output = node.outputs[i];
      if (i > 0 && graph.users(output).empty() && !graph.is_graph_output(output)) {
        step.outputs.push_back(-1);  // an optional output nobody reads (LayerNorm's Mean)
        continue;
      }
      DType dtype = output->dtype;
      bool follows_data = is_float_storage(dtype) && node.op != "Cast" && data_storage != DType::Undefined;
      if (follows_data) dtype = data_storage;
      int slot = new_slot(dtype, output->shape.static_dims(), /*in_arena=*/!graph.is_graph_output(output));
      slot_of[{output, dtype}] = slot;
      primary[output] = slot;
      computed_slots.push_back(slot);
      step.outputs.push_back(slot);
    }
    steps.push_back(std::move(step));
  }

  // Lays every arena slot out by the steps that write and read it, then makes the one
  // allocation they share, so that run() allocates nothing on the device.
  void place_in_arena() {
    std::vector<int> arena_slots;
    std::map<int, size_t> range_of;
    std::vector<passes::LiveRange> ranges;
    for (size_t index = 0; index < steps.size(); ++index) {
      for (int slot : steps[index].inputs) {
        auto found = range_of.find(slot);
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
  }

  void run_on_host(Step& step) {
    const ir::Node& node = *step.node;
    cpu::Kernel kernel = cpu::find_kernel(node.op);
    check(kernel != nullptr, ErrorKind::Unsupported, node.describe(),
          ": neither the CUDA nor the CPU backend has a kernel for this op");
    KILN_CUDA_CHECK(cudaStreamSynchronize(context.stream));
    Precision precision = node.precision.value_or(Precision::FP32);
    bool round = is_float_compute(node) && (precision == Precision::BF16 || precision == Precision::FP16);
    std::vector<Tensor> args;
    for (int slot : step.inputs) {
      if (slot < 0) {
        args.emplace_back();
        continue;
      }
      const DeviceTensor& device = slots[size_t(slot)].tensor;
      Tensor host(device.dtype, device.dims);
      if (host.nbytes() > 0) {
        KILN_CUDA_CHECK(cudaMemcpy(host.raw_mutable(), device.data, host.nbytes(), cudaMemcpyDeviceToHost));
      }
      if (device.dtype == DType::Float16 || device.dtype == DType::BFloat16) host = host.to(DType::Float32);
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
                                        cudaMemcpyHostToDevice, context.stream));
      }
    }
    KILN_CUDA_CHECK(cudaStreamSynchronize(context.stream));  // `results` must outlive the copy
  }

  void launch(Step& step) {
    std::vector<DeviceTensor> ins;
    std::vector<DeviceTensor> outs;
    for (int slot : step.inputs) ins.push_back(slot < 0 ? DeviceTensor{} : slots[size_t(slot)].tensor);
    for (int slot : step.outputs) outs.push_back(slot < 0 ? DeviceTensor{} : slots[size_t(slot)].tensor);
    if (step.kind == Step::Kind::Cast) {
      cast_tensor(context, ins[0], outs[0]);
      return;
    }
    if (step.kernel != nullptr) {
      try {
        step.kernel(context, *step.node, ins, outs);
        return;
      } catch (const Error& error) {
        // Kernels refuse dtypes or attributes they lack before launching anything; from
        // then on the node runs on the host.
        if (error.kind() != ErrorKind::Unsupported) throw;
        step.kernel = nullptr;
      }
    }
    host_nodes.push_back(step.node->op + " '" + step.node->name + "'");
    run_on_host(step);
  }
};

CudaExecutor::CudaExecutor(const ir::Graph& graph, const std::map<std::string, Dims>& input_dims,
                           CudaExecutorOptions options)
    : state_(std::make_unique<State>()) {
  check(cuda_device_available(), ErrorKind::Cuda, "no CUDA device is available");
  State& s = *state_;
  s.graph = passes::specialize_shapes(graph, input_dims);
  s.options = options;
  s.stream = create_stream();
  s.cublaslt = create_cublaslt();
  s.cudnn = create_cudnn(s.stream.get());
  s.workspace = DeviceBuffer(options.workspace_bytes);
  s.context.stream = s.stream.get();
  s.context.cublaslt = s.cublaslt.get();
  s.context.cudnn = s.cudnn.get();
  s.context.workspace = s.workspace.data();
  s.context.workspace_size = s.workspace.size();
  s.context.compute_capability = compute_capability();
  for (const ir::Value* input : s.graph.inputs()) {
    if (input->is_constant()) continue;  // a default: uploaded like a weight
    int slot = s.new_slot(input->dtype, input->shape.static_dims(), /*in_arena=*/false);
    s.slot_of[{input, input->dtype}] = slot;
    s.primary[input] = slot;
  }
  for (const ir::Node* node : s.graph.nodes()) s.plan_node(*node);
  for (const ir::Value* output : s.graph.outputs()) s.output_slots.push_back(s.stored_slot(output));
  s.place_in_arena();
}

CudaExecutor::~CudaExecutor() = default;

std::vector<Tensor> CudaExecutor::run(const std::map<std::string, Tensor>& inputs) {
  State& s = *state_;
  s.host_nodes.clear();
  if (s.options.poison_values) {
    for (int slot : s.computed_slots) {
      const DeviceTensor& tensor = s.slots[size_t(slot)].tensor;
      KILN_CUDA_CHECK(cudaMemsetAsync(tensor.data, 0xFF, tensor.nbytes(), s.context.stream));
    }
  }
  for (const ir::Value* input : s.graph.inputs()) {
    auto given = inputs.find(input->name);
    if (input->is_constant() && given == inputs.end()) continue;
    check(given != inputs.end(), ErrorKind::InvalidArgument, "input '", input->name, "' is not given");
    const Tensor& tensor = given->second;
    const DeviceTensor& device = s.slots[size_t(s.primary.at(input))].tensor;
    check(tensor.dtype() == device.dtype && tensor.dims() == device.dims, ErrorKind::InvalidArgument,
          "input '", input->name, "' must be ", dtype_name(device.dtype), " ",
          dims_to_string(device.dims), " (as planned), got ", dtype_name(tensor.dtype()), " ",
          dims_to_string(tensor.dims()));
    if (tensor.nbytes() > 0) {
      KILN_CUDA_CHECK(cudaMemcpyAsync(device.data, tensor.raw(), tensor.nbytes(),
                                      cudaMemcpyHostToDevice, s.context.stream));
    }
  }
  for (Step& step : s.steps) s.launch(step);
  std::vector<Tensor> results;
  for (int slot : s.output_slots) {
    const DeviceTensor& device = s.slots[size_t(slot)].tensor;
    Tensor host(device.dtype, device.dims);
    if (host.nbytes() > 0) {
      KILN_CUDA_CHECK(cudaMemcpyAsync(host.raw_mutable(), device.data, host.nbytes(),
                                      cudaMemcpyDeviceToHost, s.context.stream));
    }
    results.push_back(std::move(host));
  }
  KILN_CUDA_CHECK(cudaStreamSynchronize(s.context.stream));
  for (size_t i = 0; i < results.size(); ++i) {
    DType declared = s.graph.outputs()[i]->dtype;
    if (declared != DType::Undefined && results[i].dtype() != declared) results[i] = results[i].to(declared);
  }
  return results;
}

std::vector<std::string> CudaExecutor::host_nodes() const { return state_->host_nodes; }

}  // namespace kiln::cuda
