// torch.export archives (.pt2, written by torch.export.save) → Kiln IR, in C++: the zip is
// read with libzip, models/model.json with nlohmann-json, the ATen graph through the shared
// table in frontends/torch. Throws Error naming the file, node or tensor at fault.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ir/graph.h"

namespace kiln::pt2 {

// The serialization schema majors Kiln reads (PyTorch 2.11 writes 8.17).
inline constexpr int64_t kSupportedSchemaMajors[] = {8};

ir::Graph import_pt2_file(const std::filesystem::path& path);
// From archive bytes in memory; `label` names them in messages. For tests and fuzzing.
ir::Graph import_pt2_bytes(const std::string& bytes, const std::string& label = "pt2 bytes");

// What the archive says about itself besides the graph.
struct SymbolRange {
  std::optional<int64_t> min;
  std::optional<int64_t> max;
};
struct Pt2Info {
  int64_t schema_major = 0;
  int64_t schema_minor = 0;
  std::string torch_version;
  std::vector<std::string> verifiers;                // ["TRAINING"] or ["ATEN"] (core ATen)
  std::map<std::string, SymbolRange> symbol_ranges;  // range_constraints, by symbol ("s0")
};

// An ATen target without a converter (or whose converter refused a node's form), with the
// nodes that use it; kept only with Pt2ImportOptions::keep_unsupported.
struct Pt2UnsupportedOp {
  std::string target;                // "aten.sort.default"
  std::vector<std::string> nodes;    // the nodes' names
  std::vector<std::string> reasons;  // a known target's refusal, where that is the cause
};

struct Pt2ImportOptions {
  // Instead of failing on the first unsupported op: each such node becomes a placeholder node
  // (op = its target, no schema, outputs typed as the program declares) and is listed in
  // Pt2ImportResult::unsupported, so `kiln inspect` can summarize the rest of the model.
  bool keep_unsupported = false;
};

struct Pt2ImportResult {
  ir::Graph graph;
  Pt2Info info;
  std::vector<Pt2UnsupportedOp> unsupported;  // with keep_unsupported only
};
Pt2ImportResult import_pt2_model(const std::filesystem::path& path,
                                 const Pt2ImportOptions& options = {});
Pt2ImportResult import_pt2_model_bytes(const std::string& bytes, const std::string& label,
                                       const Pt2ImportOptions& options = {});

// A node target as the shared ATen table spells it: "torch.ops.aten.add.Tensor" →
// "aten.add.Tensor", "_operator.mul" → "operator.mul", "<built-in function getitem>" →
// "operator.getitem".
std::string normalize_target(std::string_view target);

}  // namespace kiln::pt2
