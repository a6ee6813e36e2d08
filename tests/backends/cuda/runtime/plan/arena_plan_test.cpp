// plan_arena: buffers share arena bytes only when their lifetimes are disjoint, checked on
// the lifetimes of hand-built graphs' values, by brute force on random DAGs, and on the
// ResNet fixture.
#include "backends/cuda/runtime/plan/arena_plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <random>
#include <string>

#include "kiln/kiln.h"
#include "passes/passes.h"

namespace kiln::cuda {
namespace {

constexpr size_t kAlignment = 256;

// Every value the tests plan is this big unless a test says otherwise: 3 alignment units.
size_t three_units(const ir::Value&) { return 3 * kAlignment - 17; }

ir::Value* unary(ir::Graph& graph, const std::string& name, ir::Value* input) {
  return graph.add_node("Relu", name, {input}, {name + "_out"})->outputs[0];
}

// Each value a node produces (not constants or graph inputs) lives from its producer's step to
// its last reader's; a graph output to past the last node. From Graph::users.
struct Lifetime {
  size_t first;
  size_t last;
};

std::map<const ir::Value*, Lifetime> lifetimes(const ir::Graph& graph) {
  std::vector<ir::Node*> nodes = graph.nodes();
  std::map<const ir::Node*, size_t> index_of;
  for (size_t i = 0; i < nodes.size(); ++i) index_of[nodes[i]] = i;
  std::map<const ir::Value*, Lifetime> result;
  for (const ir::Value* value : graph.values()) {
    if (value->producer == nullptr || value->is_constant() || value->is_graph_input) continue;
    Lifetime lifetime{index_of.at(value->producer), index_of.at(value->producer)};
    for (const ir::Node* user : graph.users(value))
      lifetime.last = std::max(lifetime.last, index_of.at(user));
    if (graph.is_graph_output(value)) lifetime.last = nodes.size();
    result[value] = lifetime;
  }
  return result;
}

struct MemoryPlan {
  size_t arena_bytes = 0;
  std::map<const ir::Value*, size_t> offsets;
  size_t naive_bytes = 0;
};

// One live range per value, laid out by plan_arena.
MemoryPlan plan_memory(const ir::Graph& graph,
                       const std::function<size_t(const ir::Value&)>& bytes_of, size_t alignment) {
  std::map<const ir::Value*, Lifetime> lives = lifetimes(graph);
  std::vector<const ir::Value*> planned;  // in production order, as an executor plans
  for (const auto& [value, life] : lives) planned.push_back(value);
  std::sort(planned.begin(), planned.end(), [&](const ir::Value* a, const ir::Value* b) {
    return std::pair(lives.at(a).first, a->name) < std::pair(lives.at(b).first, b->name);
  });
  std::vector<LiveRange> ranges;
  for (const ir::Value* value : planned) {
    ranges.push_back({bytes_of(*value), lives.at(value).first, lives.at(value).last});
  }
  ArenaLayout layout = plan_arena(ranges, alignment);
  MemoryPlan plan;
  plan.arena_bytes = layout.arena_bytes;
  plan.naive_bytes = layout.naive_bytes;
  for (size_t i = 0; i < planned.size(); ++i) plan.offsets[planned[i]] = layout.offsets[i];
  return plan;
}

// Fails the test where two values alive at once share a byte, or an offset is misplaced.
void expect_valid_plan(const ir::Graph& graph, const MemoryPlan& plan,
                       const std::function<size_t(const ir::Value&)>& bytes_of) {
  std::map<const ir::Value*, Lifetime> lives = lifetimes(graph);
  ASSERT_EQ(plan.offsets.size(), lives.size());
  EXPECT_LE(plan.arena_bytes, plan.naive_bytes);
  for (const auto& [value, life] : lives) {
    ASSERT_EQ(plan.offsets.count(value), 1u) << value->name << " was not planned";
    size_t offset = plan.offsets.at(value);
    EXPECT_EQ(offset % kAlignment, 0u) << value->name;
    EXPECT_LE(offset + bytes_of(*value), plan.arena_bytes) << value->name;
  }
  for (const auto& [a, life_a] : lives) {
    for (const auto& [b, life_b] : lives) {
      if (a >= b || bytes_of(*a) == 0 || bytes_of(*b) == 0) continue;
      bool alive_together = life_a.first <= life_b.last && life_b.first <= life_a.last;
      size_t a_begin = plan.offsets.at(a);
      size_t b_begin = plan.offsets.at(b);
      bool share_bytes = a_begin < b_begin + bytes_of(*b) && b_begin < a_begin + bytes_of(*a);
      EXPECT_FALSE(alive_together && share_bytes) << a->name << " and " << b->name;
    }
  }
}

TEST(PlanMemory, ChainReusesTwoBuffers) {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, ir::Shape::from_dims({4}));
  ir::Value* a = unary(graph, "a", x);
  ir::Value* b = unary(graph, "b", a);
  ir::Value* c = unary(graph, "c", b);
  ir::Value* d = unary(graph, "d", c);
  graph.add_output(d);
  MemoryPlan plan = plan_memory(graph, three_units, kAlignment);
  expect_valid_plan(graph, plan, three_units);
  EXPECT_EQ(plan.naive_bytes, 4 * 3 * kAlignment);
  EXPECT_EQ(plan.arena_bytes, 2 * 3 * kAlignment);  // a, c in one buffer; b, d in the other
  EXPECT_EQ(plan.offsets.at(a), plan.offsets.at(c));
  EXPECT_EQ(plan.offsets.at(b), plan.offsets.at(d));
  EXPECT_NE(plan.offsets.at(a), plan.offsets.at(b));
  EXPECT_EQ(plan.offsets.count(x), 0u);  // graph inputs keep their own buffers
}

TEST(PlanMemory, ResidualBranchKeepsItsInputAlive) {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, ir::Shape::from_dims({4}));
  ir::Value* weight = graph.add_constant("w", Tensor(DType::Float32, {4}));
  ir::Value* a = graph.add_node("Mul", "a", {x, weight}, {"a_out"})->outputs[0];
  ir::Value* b = unary(graph, "b", a);
  ir::Value* c = unary(graph, "c", b);
  ir::Value* sum = graph.add_node("Add", "sum", {a, c}, {"sum_out"})->outputs[0];
  graph.add_output(sum);
  MemoryPlan plan = plan_memory(graph, three_units, kAlignment);
  expect_valid_plan(graph, plan, three_units);
  // a is read by the last node, so it overlaps b, c and sum; only b and sum can share.
  EXPECT_EQ(plan.arena_bytes, 3 * 3 * kAlignment);
  for (const ir::Value* other : {b, c, sum}) EXPECT_NE(plan.offsets.at(a), plan.offsets.at(other));
  EXPECT_EQ(plan.offsets.at(b), plan.offsets.at(sum));
  EXPECT_EQ(plan.offsets.count(weight), 0u);  // constants keep their own buffers
}

TEST(PlanMemory, GraphOutputsNeverOverlapLaterValues) {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, ir::Shape::from_dims({4}));
  ir::Value* early = unary(graph, "early", x);  // an output nobody reads afterwards
  graph.add_output(early);
  ir::Value* current = x;
  std::vector<ir::Value*> later;
  for (int i = 0; i < 6; ++i) {
    current = unary(graph, "later" + std::to_string(i), current);
    later.push_back(current);
  }
  graph.add_output(current);
  auto bytes_of = [](const ir::Value& value) {
    return value.name == "early_out" ? size_t(100) : size_t(1000);
  };
  MemoryPlan plan = plan_memory(graph, bytes_of, kAlignment);
  expect_valid_plan(graph, plan, bytes_of);
  size_t early_begin = plan.offsets.at(early);
  for (const ir::Value* value : later) {
    size_t begin = plan.offsets.at(value);
    EXPECT_TRUE(begin >= early_begin + 100 || early_begin >= begin + 1000) << value->name;
  }
  EXPECT_EQ(plan.arena_bytes, 2 * 1024 + 256);  // the chain alternates two buffers
}

TEST(PlanMemory, RandomDagsNeverShareLiveBytes) {
  std::mt19937 random(1234);
  for (int trial = 0; trial < 60; ++trial) {
    ir::Graph graph;
    std::vector<ir::Value*> available = {
        graph.add_input("x", DType::Float32, ir::Shape::from_dims({4})),
        graph.add_constant("w", Tensor(DType::Float32, {4}))};
    std::map<const ir::Value*, size_t> sizes;
    int node_count = 2 + int(random() % 30);
    for (int n = 0; n < node_count; ++n) {
      std::vector<ir::Value*> inputs;
      int input_count = 1 + int(random() % 3);
      for (int i = 0; i < input_count; ++i)
        inputs.push_back(available[random() % available.size()]);
      std::string name = "n" + std::to_string(n);
      std::vector<std::string> outputs = {name + "_0"};
      if (random() % 4 == 0) outputs.push_back(name + "_1");
      ir::Node* node = graph.add_node("Op", name, inputs, outputs);
      for (ir::Value* output : node->outputs) {
        sizes[output] = random() % 5 == 0 ? 0 : 1 + random() % 5000;
        available.push_back(output);
        if (random() % 6 == 0) graph.add_output(output);
      }
    }
    graph.add_output(available.back());
    auto bytes_of = [&](const ir::Value& value) { return sizes.at(&value); };
    MemoryPlan plan = plan_memory(graph, bytes_of, kAlignment);
    SCOPED_TRACE("trial " + std::to_string(trial));
    expect_valid_plan(graph, plan, bytes_of);
  }
}

TEST(PlanArena, RejectsARangeThatEndsBeforeItStarts) {
  EXPECT_THROW(plan_arena({{16, 3, 2}}), Error);
}

TEST(PlanMemory, ResNetFixtureNeedsAtMostHalfTheNaiveBytes) {
  ir::Graph loaded =
      load_model(std::string(KILN_SOURCE_DIR) + "/tests/models/fixtures/resnet/resnet_fp32.onnx");
  std::map<std::string, Dims> input_dims;
  for (const ir::Value* input : loaded.inputs()) {
    Dims dims;
    for (const ir::Dim& dim : input->shape.dims()) dims.push_back(dim.is_static() ? dim.value : 1);
    input_dims[input->name] = dims;
  }
  ir::Graph graph = passes::specialize_shapes(loaded, input_dims);
  auto bytes_of = [](const ir::Value& value) {
    return size_t(element_count(value.shape.static_dims())) * dtype_size(value.dtype);
  };
  MemoryPlan plan = plan_memory(graph, bytes_of, kAlignment);
  expect_valid_plan(graph, plan, bytes_of);
  EXPECT_GT(plan.offsets.size(), 10u);
  EXPECT_GT(plan.arena_bytes, 0u);
  EXPECT_LE(plan.arena_bytes * 2, plan.naive_bytes)
      << "arena " << plan.arena_bytes << " bytes, naive " << plan.naive_bytes;
}

}  // namespace
}  // namespace kiln::cuda
