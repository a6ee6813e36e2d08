// One execution context of a GPU engine: the engine's graph specialized to concrete input
// dims, a storage plan (each float value in its producer's precision, casts only where
// neighbours differ), one arena for every intermediate (laid out by tensor lifetimes), and
// its own handles and workspace. An inference allocates nothing, is asynchronous on the
// caller's stream and can be captured once as a CUDA graph and replayed. Contexts of one
// engine run concurrently on different threads; one context serves one thread at a time.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backends/cuda/runtime/gpu_engine.h"

namespace kiln::cuda {

struct ContextOptions {
  // Fill every computed value with 0xFF bytes (NaN for floats) before each inference, so a
  // kernel that leaves outputs unwritten is caught by tests.
  bool poison_values = false;
  // Run fusion groups (passes/fusion_groups.h) as generated kernels; false runs every node
  // through its own kernel (for comparing the two).
  bool fuse_groups = true;
};

// One step of an inference as `kiln bench` reports it.
struct LayerTime {
  std::string name;                  // node name, or "cast VALUE to DTYPE"
  std::string op;                    // the node's op, or "Cast"
  std::string precision;             // "bf16", ... or "" for a layer without one
  std::string tactic;                // the implementation it ran through ("cudnn_sdpa"), "" if one
  bool on_host = false;              // no CUDA kernel: ran through the CPU reference kernels
  std::vector<std::string> members;  // a fusion group's nodes (op "Fused"), else empty
  double median_ms = 0;
  size_t bytes = 0;  // the step's input and output tensors' bytes: at least what it moves
  double flops = 0;  // its arithmetic (ir::layer_flops): convolutions and matrix products
};

// How many captured CUDA graphs (one per set of bound addresses) a context keeps.
constexpr size_t kCapturedGraphs = 4;

class ExecutionContext {
 public:
  // `input_dims` gives the concrete dims of every input whose dims are symbolic.
  ExecutionContext(std::shared_ptr<const Engine> engine,
                   const std::map<std::string, Dims>& input_dims, ContextOptions options = {});
  ~ExecutionContext();
  ExecutionContext(const ExecutionContext&) = delete;
  ExecutionContext& operator=(const ExecutionContext&) = delete;

  // The device tensors the next inference reads and writes: graph inputs in the model's
  // dtypes, graph outputs in their declared dtypes. The context owns them unless an address
  // was bound with set_tensor_address.
  const DeviceTensor& input(const std::string& name) const;
  const DeviceTensor& output(const std::string& name) const;
  std::vector<std::string> input_names() const;
  std::vector<std::string> output_names() const;
  // Reads an input from / writes an output to caller-owned device memory of the planned
  // dtype and size from now on; null goes back to the context's own buffer. With CUDA graphs,
  // a graph is captured for each new set of addresses, and the last kCapturedGraphs are kept
  // and replayed when their addresses are bound again. A kept graph is only launched with the
  // addresses it was captured with, so memory freed meanwhile is never touched unless the
  // caller binds it again. Throws Unsupported for an output
  // that is a constant or an input of the model (see can_bind).
  void set_tensor_address(const std::string& name, void* address);
  // Whether set_tensor_address can bind `name`: an input, or an output the model computes.
  bool can_bind(const std::string& name) const;

  // Enqueues one inference on `stream` and returns without waiting, unless a node runs on
  // the host (host_nodes()), which waits for the stream.
  void enqueue(cudaStream_t stream);
  // From the next enqueue on, replay one captured CUDA graph (captured on that enqueue, after
  // at least one plain inference has chosen every algorithm). Throws Unsupported naming the
  // nodes if some node runs on the host.
  void use_cuda_graph(bool enable);
  // Whether the next enqueue replays an already captured graph (which any stream may launch,
  // the legacy default stream included, where capturing is not allowed).
  bool replays_graph() const;

  // Copies host inputs in, runs, and returns the outputs (declared dtypes), waiting for them.
  std::vector<Tensor> run(const std::map<std::string, Tensor>& inputs);

  // Runs `iterations` inferences on `stream` with events around every step; the median time
  // of each step, in order.
  std::vector<LayerTime> profile_layers(cudaStream_t stream, int iterations);

  // "op 'name'" of each node without a CUDA kernel for its op or dtypes (runs on the host).
  std::vector<std::string> host_nodes() const;
  const ir::Graph& specialized_graph() const;
  size_t arena_bytes() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace kiln::cuda
