// The builder's choice by timing, with a stand-in timer (no GPU needed): the fastest enabled
// precision wins, near-ties go to the wider one, casts count, constraints are never
// re-chosen, and the timing cache spares a second build every measurement.
#include <gtest/gtest.h>

#include <map>

#include "engine/build_engine.h"
#include "ir/op_schema.h"
#include "passes/passes.h"

namespace kiln::engine {
namespace {

// Times from a table by precision; counts the layers it was asked to time.
class TableTimer : public LayerTimer {
 public:
  explicit TableTimer(std::map<Precision, double> ms, double cast_ms = 0.0)
      : ms_(std::move(ms)), cast_ms_(cast_ms) {}
  std::optional<double> time_layer(const ir::Node&, Precision precision) override {
    ++timed;
    auto found = ms_.find(precision);
    return found == ms_.end() ? std::nullopt : std::optional<double>(found->second);
  }
  double cast_ms(int64_t, DType, DType) override { return cast_ms_; }
  EngineHeader gpu() const override {
    EngineHeader header;
    header.cuda_version = 13000;
    header.gpu_architecture = "sm_90";
    header.gpu_name = "a test GPU";
    return header;
  }
  int compute_capability() const override { return 90; }
  int timed = 0;

 private:
  std::map<Precision, double> ms_;
  double cast_ms_;
};

// x[4, 8] → mm1 (w1 [8, 16]) → Sigmoid (not fused into mm1) → mm2 (w2 [16, 8]) → y.
ir::Graph two_matmuls() {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, ir::Shape::from_dims({4, 8}));
  ir::Value* h =
      graph
          .add_node("MatMul", "mm1", {x, graph.add_constant("w1", Tensor(DType::Float32, {8, 16}))},
                    {"h"})
          ->outputs[0];
  ir::Value* r = graph.add_node("Sigmoid", "act", {h}, {"r"})->outputs[0];
  graph.add_output(graph
                       .add_node("MatMul", "mm2",
                                 {r, graph.add_constant("w2", Tensor(DType::Float32, {16, 8}))},
                                 {"y"})
                       ->outputs[0]);
  ir::infer_graph(graph);
  return graph;
}

BuildConfig fp32_and_bf16() {
  BuildConfig config;
  config.enabled_precisions = {Precision::FP32, Precision::BF16};
  config.tuned_input_dims["x"] = {4, 8};
  return config;
}

std::map<std::string, Precision> chosen(const BuildResult& built) {
  std::map<std::string, Precision> precisions;
  for (const ir::Node* node : built.graph.nodes()) {
    if (node->op == "MatMul" && node->precision) precisions[node->name] = *node->precision;
  }
  return precisions;
}

TEST(TimedChoiceTest, TheFasterPrecisionWinsAndTheHeaderNamesTheGpu) {
  TableTimer bf16_faster({{Precision::FP32, 2.0}, {Precision::BF16, 1.0}});
  BuildResult built = build_engine(two_matmuls(), fp32_and_bf16(), &bf16_faster, nullptr);
  EXPECT_EQ(chosen(built),
            (std::map<std::string, Precision>{{"mm1", Precision::BF16}, {"mm2", Precision::BF16}}));
  EXPECT_EQ(built.header.gpu_architecture, "sm_90");
  EXPECT_EQ(built.header.gpu_name, "a test GPU");
  EXPECT_EQ(built.layer_timings.at("mm1").at(Precision::FP32), 2.0);
  EXPECT_EQ(built.layer_timings.at("mm2").at(Precision::BF16), 1.0);
  EXPECT_EQ(built.config.tuned_input_dims.at("x"), (Dims{4, 8}));

  TableTimer fp32_faster({{Precision::FP32, 1.0}, {Precision::BF16, 3.0}});
  EXPECT_EQ(chosen(build_engine(two_matmuls(), fp32_and_bf16(), &fp32_faster, nullptr)),
            (std::map<std::string, Precision>{{"mm1", Precision::FP32}, {"mm2", Precision::FP32}}));
}

TEST(TimedChoiceTest, NearTiesGoToTheWiderPrecision) {
  TableTimer tie({{Precision::FP32, 1.01}, {Precision::BF16, 1.0}});
  for (const auto& [name, precision] :
       chosen(build_engine(two_matmuls(), fp32_and_bf16(), &tie, nullptr))) {
    EXPECT_EQ(precision, Precision::FP32) << name;
  }
}

TEST(TimedChoiceTest, CastsAtTheBoundariesCount) {
  // The Sigmoid between the products is pinned to fp32. bf16 saves 0.5 ms per product, but each
  // cast to or from the Sigmoid's fp32 costs 1 ms: fp32 products are cheaper. Free casts: bf16.
  BuildConfig config = fp32_and_bf16();
  config.layer_precisions["act"] = Precision::FP32;
  TableTimer costly_casts({{Precision::FP32, 1.5}, {Precision::BF16, 1.0}}, /*cast_ms=*/1.0);
  EXPECT_EQ(chosen(build_engine(two_matmuls(), config, &costly_casts, nullptr)),
            (std::map<std::string, Precision>{{"mm1", Precision::FP32}, {"mm2", Precision::FP32}}));
  TableTimer free_casts({{Precision::FP32, 1.5}, {Precision::BF16, 1.0}}, /*cast_ms=*/0.0);
  EXPECT_EQ(chosen(build_engine(two_matmuls(), config, &free_casts, nullptr)),
            (std::map<std::string, Precision>{{"mm1", Precision::BF16}, {"mm2", Precision::BF16}}));
}

TEST(TimedChoiceTest, ConstrainedLayersAreNotRechosenOrTimed) {
  TableTimer bf16_faster({{Precision::FP32, 2.0}, {Precision::BF16, 1.0}});
  BuildConfig config = fp32_and_bf16();
  config.layer_precisions["mm1"] = Precision::FP32;
  BuildResult built = build_engine(two_matmuls(), config, &bf16_faster, nullptr);
  EXPECT_EQ(chosen(built).at("mm1"), Precision::FP32);
  EXPECT_EQ(chosen(built).at("mm2"), Precision::BF16);
  EXPECT_EQ(built.layer_timings.count("mm1"), 0u);
}

TEST(TimedChoiceTest, TheCacheSparesASecondBuildEveryMeasurement) {
  TimingCache cache;
  TableTimer timer({{Precision::FP32, 2.0}, {Precision::BF16, 1.0}});
  BuildResult first = build_engine(two_matmuls(), fp32_and_bf16(), &timer, &cache);
  EXPECT_EQ(first.layers_timed, 4u);  // two layer shapes × two precisions
  EXPECT_EQ(timer.timed, 4);
  BuildResult second = build_engine(two_matmuls(), fp32_and_bf16(), &timer, &cache);
  EXPECT_EQ(second.layers_timed, 0u);
  EXPECT_EQ(second.timings_cached, 4u);
  EXPECT_EQ(timer.timed, 4);
  EXPECT_EQ(chosen(second), chosen(first));
}

// Two implementations per product, "library" and "own"; their times by (precision, tactic).
class TacticTimer : public TableTimer {
 public:
  explicit TacticTimer(std::map<std::pair<Precision, std::string>, double> ms)
      : TableTimer({}), ms_(std::move(ms)) {}
  std::vector<std::string> tactics(const ir::Node&, Precision) override {
    return {"library", "own"};
  }
  std::optional<double> time_layer(const ir::Node& node, Precision precision) override {
    ++timed;
    auto found = ms_.find({precision, node.attr_string(kTacticAttribute, "")});
    return found == ms_.end() ? std::nullopt : std::optional<double>(found->second);
  }

 private:
  std::map<std::pair<Precision, std::string>, double> ms_;
};

std::map<std::string, std::string> chosen_tactics(const BuildResult& built) {
  std::map<std::string, std::string> tactics;
  for (const ir::Node* node : built.graph.nodes()) {
    if (node->op == "MatMul") tactics[node->name] = node->attr_string(kTacticAttribute, "-");
  }
  return tactics;
}

TEST(TimedChoiceTest, EveryTacticIsTimedAndTheFastestIsKept) {
  TimingCache cache;
  TacticTimer timer({{{Precision::FP32, "library"}, 3.0},
                     {{Precision::FP32, "own"}, 2.5},
                     {{Precision::BF16, "library"}, 2.0},
                     {{Precision::BF16, "own"}, 1.0}});
  BuildResult first = build_engine(two_matmuls(), fp32_and_bf16(), &timer, &cache);
  EXPECT_EQ(chosen(first),
            (std::map<std::string, Precision>{{"mm1", Precision::BF16}, {"mm2", Precision::BF16}}));
  EXPECT_EQ(chosen_tactics(first),
            (std::map<std::string, std::string>{{"mm1", "own"}, {"mm2", "own"}}));
  EXPECT_EQ(first.layers_timed, 8u);  // two shapes × two precisions × two tactics
  EXPECT_EQ(first.layer_timings.at("mm1").at(Precision::BF16), 1.0);  // each precision's best
  EXPECT_EQ(first.layer_timings.at("mm1").at(Precision::FP32), 2.5);
  // The cache keeps each tactic apart: a second build times nothing and chooses the same.
  BuildResult second = build_engine(two_matmuls(), fp32_and_bf16(), &timer, &cache);
  EXPECT_EQ(second.layers_timed, 0u);
  EXPECT_EQ(chosen_tactics(second), chosen_tactics(first));
}

TEST(TimedChoiceTest, ATacticTheGpuCannotRunIsSkippedAndTiesKeepTheFirst) {
  TacticTimer timer({{{Precision::FP32, "library"}, 1.0},
                     {{Precision::FP32, "own"}, 0.995},  // within 2%: the first tactic stays
                     {{Precision::BF16, "own"}, 5.0}});  // bf16 "library": unavailable
  BuildResult built = build_engine(two_matmuls(), fp32_and_bf16(), &timer, nullptr);
  EXPECT_EQ(chosen(built),
            (std::map<std::string, Precision>{{"mm1", Precision::FP32}, {"mm2", Precision::FP32}}));
  EXPECT_EQ(chosen_tactics(built),
            (std::map<std::string, std::string>{{"mm1", "library"}, {"mm2", "library"}}));
}

// A residual product's two tactics as the CUDA backend offers them; "residual_after" (the
// product, then an Add) faster by `after_gain` ms.
class ResidualTimer : public TableTimer {
 public:
  explicit ResidualTimer(double after_gain) : TableTimer({}), after_gain_(after_gain) {}
  std::vector<std::string> tactics(const ir::Node& node, Precision) override {
    if (node.op != "MatMul" || node.input(3) == nullptr) return {};
    return {"residual_epilogue", passes::kResidualAfterTactic};
  }
  std::optional<double> time_layer(const ir::Node& node, Precision precision) override {
    ++timed;
    double ms = precision == Precision::BF16 ? 1.0 : 2.0;
    return node.attr_string(kTacticAttribute, "") == passes::kResidualAfterTactic ? ms - after_gain_
                                                                                  : ms;
  }

 private:
  double after_gain_;
};

// x[4, 16] → proj (w [16, 16]) → Add(·, x) → LayerNorm → y: the residual fuses into proj,
// and the timing decides whether it stays there.
ir::Graph residual_sublayer() {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, ir::Shape::from_dims({4, 16}));
  ir::Value* w = graph.add_constant("w", Tensor(DType::Float32, {16, 16}));
  ir::Value* p = graph.add_node("MatMul", "proj", {x, w}, {"p"})->outputs[0];
  ir::Value* sum = graph.add_node("Add", "residual", {p, x}, {"sum"})->outputs[0];
  ir::Node* norm = graph.add_node("LayerNormalization", "norm",
                                  {sum, graph.add_constant("gamma", Tensor(DType::Float32, {16})),
                                   graph.add_constant("beta", Tensor(DType::Float32, {16}))},
                                  {"y"});
  graph.add_output(norm->outputs[0]);
  ir::infer_graph(graph);
  return graph;
}

TEST(TimedChoiceTest, AResidualTimedFasterAfterTheProductIsSeparated) {
  BuildConfig config = fp32_and_bf16();
  config.tuned_input_dims = {{"x", {4, 16}}};
  for (double gain : {0.0, 0.5}) {
    SCOPED_TRACE(gain);
    ResidualTimer timer(gain);
    BuildResult built = build_engine(residual_sublayer(), config, &timer, nullptr);
    const ir::Node* proj = nullptr;
    int adds = 0;
    for (const ir::Node* node : built.graph.nodes()) {
      if (node->name == "proj") proj = node;
      adds += node->op == "Add" ? 1 : 0;
    }
    ASSERT_NE(proj, nullptr);
    if (gain == 0.0) {  // a tie keeps the first tactic: the residual stays in the product
      EXPECT_EQ(proj->input(3)->name, "x");
      EXPECT_EQ(adds, 0);
      EXPECT_EQ(proj->attr_string(kTacticAttribute, ""), "residual_epilogue");
    } else {
      EXPECT_EQ(proj->input(3), nullptr);
      EXPECT_EQ(adds, 1);
      EXPECT_FALSE(proj->has_attr(kTacticAttribute));
    }
    const ir::Value* sum = built.graph.find_value("sum");
    ASSERT_NE(sum, nullptr);  // the name the LayerNorm reads stays
    EXPECT_EQ(sum->producer->op, gain == 0.0 ? "MatMul" : "Add");
    EXPECT_EQ(sum->producer->precision, Precision::BF16);
  }
}

TEST(TimedChoiceTest, StronglyTypedBuildsTimeNothing) {
  TableTimer timer({{Precision::FP32, 2.0}, {Precision::BF16, 1.0}});
  BuildConfig config = fp32_and_bf16();
  config.strongly_typed = true;
  BuildResult built = build_engine(two_matmuls(), config, &timer, nullptr);
  EXPECT_EQ(timer.timed, 0);
  EXPECT_EQ(chosen(built).at("mm1"), Precision::FP32);  // the model's own dtype
}

}  // namespace
}  // namespace kiln::engine
