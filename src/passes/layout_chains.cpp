// Collapses a chain of layout ops (Transpose, Reshape, Flatten, Squeeze, Unsqueeze) over
// static shapes into what it is: at most one Transpose between two Reshapes (views), or one
// Reshape where the chain moves no element (also a chain of views alone: Hugging Face's
// repeat_kv leaves K as Unsqueeze then Reshape back to the same dims once its Expand is gone,
// which hides K's head Transpose from fold_attention_transposes). Models that split and merge heads
// through several views and permutes (torchvision's nn.MultiheadAttention: view, transpose, view;
// unflatten, unsqueeze, transpose, squeeze) otherwise pay one copy per Transpose.
//
// The chain's effect is tracked on "atoms": x's dims, split further wherever a reshape cuts
// through one. Each logical dim of the current value is a run of atoms; a Transpose permutes
// the runs, a reshape regroups the atoms in their logical order. At the end the atoms' logical
// order against their memory order (x's) is the one permutation the chain applies.
#include <limits>
#include <numeric>
#include <optional>

#include "ir/op_schema.h"
#include "passes/graph_rewrites.h"
#include "passes/passes.h"

namespace kiln::passes {
namespace {

bool static_rank_known(const ir::Value* value) {
  return value != nullptr && value->shape.rank_known() && value->shape.is_static();
}

class AtomTracker {
 public:
  // x's dims; dims of 1 hold no atom.
  explicit AtomTracker(const Dims& dims) {
    for (int64_t size : dims) {
      std::vector<int> run;
      if (size != 1) {
        run.push_back(add(size));
        memory_.push_back(run.back());
      }
      current_.push_back(std::move(run));
    }
  }

  bool transpose(const std::vector<int64_t>& perm) {
    if (perm.size() != current_.size()) return false;
    std::vector<std::vector<int>> permuted;
    for (int64_t axis : perm) {
      if (axis < 0 || size_t(axis) >= current_.size()) return false;
      permuted.push_back(current_[size_t(axis)]);
    }
    current_ = std::move(permuted);
    return true;
  }

  // The same atoms regrouped into `dims`, splitting an atom where a dim ends inside it.
  bool reshape(const Dims& dims) {
    std::vector<int> order;
    for (const std::vector<int>& run : current_) order.insert(order.end(), run.begin(), run.end());
    std::vector<std::vector<int>> regrouped;
    size_t next = 0;
    for (int64_t size : dims) {
      std::vector<int> run;
      int64_t product = 1;
      while (product < size) {
        if (next == order.size()) return false;
        int atom = order[next];
        int64_t atom_size = sizes_[size_t(atom)];
        if (size % (product * atom_size) == 0) {
          product *= atom_size;
          run.push_back(atom);
          ++next;
          continue;
        }
        int64_t outer = size / product;  // the part of the atom this dim takes
        if (size % product != 0 || atom_size % outer != 0) return false;
        auto [high, low] = split(atom, outer);
        order[next] = high;
        order.insert(order.begin() + std::ptrdiff_t(next) + 1, low);
      }
      if (product != size) return false;
      regrouped.push_back(std::move(run));
    }
    if (next != order.size()) return false;
    current_ = std::move(regrouped);
    return true;
  }

  // Atoms in memory order, and the position in it of each atom in logical order, with atoms
  // that are neighbours in both orders merged.
  void result(Dims& memory_dims, std::vector<int64_t>& perm) const {
    std::vector<int> logical;
    for (const std::vector<int>& run : current_)
      logical.insert(logical.end(), run.begin(), run.end());
    std::vector<int> position(sizes_.size(), -1);
    for (size_t i = 0; i < memory_.size(); ++i) position[size_t(memory_[i])] = int(i);
    // Groups of atoms consecutive in both orders, keyed by their first memory position.
    std::vector<std::pair<int, int64_t>> groups;  // (first memory position, size) in logical order
    for (size_t i = 0; i < logical.size(); ++i) {
      int at = position[size_t(logical[i])];
      if (i > 0 && position[size_t(logical[i - 1])] + 1 == at) {
        groups.back().second *= sizes_[size_t(logical[i])];
      } else {
        groups.push_back({at, sizes_[size_t(logical[i])]});
      }
    }
    std::vector<size_t> by_memory(groups.size());
    std::iota(by_memory.begin(), by_memory.end(), 0);
    std::sort(by_memory.begin(), by_memory.end(),
              [&](size_t a, size_t b) { return groups[a].first < groups[b].first; });
    memory_dims.clear();
    perm.assign(groups.size(), 0);
    for (size_t rank = 0; rank < by_memory.size(); ++rank) {
      memory_dims.push_back(groups[by_memory[rank]].second);
      perm[by_memory[rank]] = int64_t(rank);
    }
  }

 private:
  int add(int64_t size) {
    sizes_.push_back(size);
    return int(sizes_.size()) - 1;
  }

  // Atom `atom` as (high, low) with high of `outer`, in memory order and in the runs.
  std::pair<int, int> split(int atom, int64_t outer) {
    int high = add(outer), low = add(sizes_[size_t(atom)] / outer);
    auto replace = [&](std::vector<int>& atoms) {
      for (size_t i = 0; i < atoms.size(); ++i) {
        if (atoms[i] != atom) continue;
        atoms[i] = high;
        atoms.insert(atoms.begin() + std::ptrdiff_t(i) + 1, low);
        return;
      }
    };
    replace(memory_);
    for (std::vector<int>& run : current_) replace(run);
    return {high, low};
  }

  std::vector<int64_t> sizes_;             // by atom id
  std::vector<int> memory_;                // atom ids in x's memory order
  std::vector<std::vector<int>> current_;  // the current value's dims, as runs of atoms
};

// The layout chain ending at `last`: its nodes from the first (reading x) on. Each earlier
// node's output is read by the next one alone and is no graph output; every value is static.
std::vector<ir::Node*> chain_ending_at(const ir::Graph& graph, ir::Node* last) {
  std::vector<ir::Node*> chain{last};
  while (true) {
    ir::Value* input = chain.back()->input(0);
    ir::Node* producer = input == nullptr ? nullptr : input->producer;
    if (producer == nullptr || !is_layout_op(producer->op) || producer->outputs.size() != 1 ||
        graph.is_graph_output(input) || graph.users(input).size() != 1 ||
        !static_rank_known(producer->input(0))) {
      break;
    }
    chain.push_back(producer);
  }
  std::reverse(chain.begin(), chain.end());
  return chain;
}

// One way to write a chain's permutation of atoms: a Transpose `perm` from `in_dims` (a view
// of x) to `out_dims` (then viewed as the chain's output), and how many layout ops that takes.
struct Permutation {
  Dims in_dims, out_dims;
  std::vector<int64_t> perm;
  size_t nodes = 0;
};

// The groups of atoms (memory_dims, permuted by `perm`) written at the rank of `frame` (x's
// dims or the output's), whose dims of 1 stay where they are: the groups fill its other
// places. Valid where frame's dims other than 1 are the groups (x: in memory order; the
// output: permuted).
std::optional<Permutation> framed(const Dims& memory_dims, const std::vector<int64_t>& perm,
                                  const Dims& frame, bool frame_is_input) {
  std::vector<size_t> places;  // frame's dims other than 1
  Dims long_dims;
  for (size_t i = 0; i < frame.size(); ++i) {
    if (frame[i] != 1) places.push_back(i), long_dims.push_back(frame[i]);
  }
  Dims permuted(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) permuted[i] = memory_dims[size_t(perm[i])];
  if (long_dims != (frame_is_input ? memory_dims : permuted)) return std::nullopt;
  Permutation p;
  p.in_dims = frame;
  p.perm.resize(frame.size());
  std::iota(p.perm.begin(), p.perm.end(), 0);
  for (size_t j = 0; j < places.size(); ++j) {
    p.perm[places[j]] = int64_t(places[size_t(perm[j])]);
    p.in_dims[places[j]] = memory_dims[j];
  }
  p.out_dims.resize(frame.size());
  for (size_t i = 0; i < frame.size(); ++i) p.out_dims[i] = p.in_dims[size_t(p.perm[i])];
  return p;
}

// The way with the fewest layout ops: the groups alone, or at x's or the output's rank.
Permutation best_permutation(const Dims& memory_dims, const std::vector<int64_t>& perm,
                             const Dims& x_dims, const Dims& out_dims) {
  Permutation plain;
  plain.in_dims = memory_dims;
  plain.perm = perm;
  for (size_t i = 0; i < perm.size(); ++i) plain.out_dims.push_back(memory_dims[size_t(perm[i])]);
  Permutation best = plain;
  best.nodes = 0;
  size_t fewest = std::numeric_limits<size_t>::max();
  for (std::optional<Permutation> option :
       {framed(memory_dims, perm, x_dims, true), framed(memory_dims, perm, out_dims, false),
        std::optional<Permutation>(plain)}) {
    if (!option) continue;
    option->nodes =
        1 + (option->in_dims != x_dims ? 1 : 0) + (option->out_dims != out_dims ? 1 : 0);
    if (option->nodes < fewest) fewest = option->nodes, best = *option;
  }
  return best;
}

// Rewrites the chain as Reshape → Transpose → Reshape (dropping the parts that do nothing);
// `last` keeps its output value. False where the chain's effect is not a permutation of atoms
// or would get neither fewer Transposes nor fewer layout ops.
bool collapse(ir::Graph& graph, const std::vector<ir::Node*>& chain) {
  ir::Value* x = chain.front()->inputs[0];
  ir::Node* last = chain.back();
  if (!static_rank_known(x) || !static_rank_known(last->outputs[0])) return false;
  AtomTracker atoms(x->shape.static_dims());
  int transposes = 0;
  for (const ir::Node* node : chain) {
    const ir::Value* out = node->outputs[0];
    if (!static_rank_known(out)) return false;
    bool ok = node->op == "Transpose" ? atoms.transpose(node->attr_ints("perm"))
                                      : atoms.reshape(out->shape.static_dims());
    if (!ok) return false;
    transposes += node->op == "Transpose" ? 1 : 0;
  }
  Dims memory_dims;
  std::vector<int64_t> perm;
  atoms.result(memory_dims, perm);
  std::vector<int64_t> identity(perm.size());
  std::iota(identity.begin(), identity.end(), 0);
  const bool moves = perm != identity;
  const Dims x_dims = x->shape.static_dims(), out_dims = last->outputs[0]->shape.static_dims();
  if (!moves) {
    // A chain of views alone (a Transpose of dims of 1 counts as one) is one view; leaving it
    // as it was gains nothing where it is one node already.
    if (transposes < 1 && chain.size() < 2) return false;
    last->op = "Reshape";
    last->attrs.clear();
    last->inputs = {x, int64s_constant(graph, last->name + ".shape", out_dims)};
    return true;
  }
  Permutation best = best_permutation(memory_dims, perm, x_dims, out_dims);
  // Something to gain: fewer Transposes; or, with one, fewer layout ops around it (which
  // leaves the Transpose next to what reads the chain: sink_into_gathers' Gathers), or the
  // same ops with dims of 1 kept in place (a batch of 1's [0, 2, 1, 3] for
  // fold_attention_transposes, where the chain swapped the unit batch dim too).
  if (transposes < 2) {
    const ir::Node* existing = nullptr;
    for (const ir::Node* node : chain) {
      if (node->op == "Transpose") existing = node;
    }
    bool same = existing != nullptr && existing->attr_ints("perm") == best.perm;
    if (best.nodes > chain.size() || (best.nodes == chain.size() && same)) return false;
  }
  ir::Value* source = x;
  if (x_dims != best.in_dims) {
    source = graph
                 .insert_node_before(
                     last, "Reshape", graph.unique_name(last->name + ".atoms"),
                     {source, int64s_constant(graph, last->name + ".atoms", best.in_dims)},
                     {graph.unique_name(last->name + ".atoms")})
                 ->outputs[0];
  }
  if (best.out_dims == out_dims) {
    last->op = "Transpose";
    last->attrs = {{"perm", best.perm}};
    last->inputs = {source};
    return true;
  }
  ir::Node* transpose =
      graph.insert_node_before(last, "Transpose", graph.unique_name(last->name + ".permute"),
                               {source}, {graph.unique_name(last->name + ".permute")});
  transpose->attrs["perm"] = best.perm;
  last->op = "Reshape";
  last->attrs.clear();
  last->inputs = {transpose->outputs[0], int64s_constant(graph, last->name + ".shape", out_dims)};
  return true;
}

}  // namespace

int collapse_layout_chains(ir::Graph& graph) {
  int collapsed = 0;
  for (ir::Node* node : graph.nodes()) {
    if (!is_layout_op(node->op) || node->outputs.size() != 1) continue;
    // Start from a chain's end: its output is read by something other than one layout op.
    std::vector<ir::Node*> users = graph.users(node->outputs[0]);
    if (users.size() == 1 && is_layout_op(users[0]->op) &&
        !graph.is_graph_output(node->outputs[0])) {
      continue;
    }
    std::vector<ir::Node*> chain = chain_ending_at(graph, node);
    if (chain.size() >= 2 && collapse(graph, chain)) ++collapsed;
  }
  if (collapsed > 0) {
    eliminate_dead_code(graph);
    graph.remove_unused_values();
    ir::infer_graph(graph);
  }
  return collapsed;
}

}  // namespace kiln::passes
