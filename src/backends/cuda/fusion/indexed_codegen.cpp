// Index groups (is_index_group): members over other dims than the domain, evaluated at the
// element their reader needs. Every thread handles V consecutive elements of the domain, as in
// the elementwise kernel; each output's value is emitted from the output backwards, a value at
// an index expression in its own dims:
//   - an operand read at the domain's element comes from the pack or read_operands (x<j>), one
//     read at any other element is loaded there (L1 serves the neighbours' loads);
//   - a pointwise member reads its operands at the broadcast of its index;
//   - a Slice is its source at the window's index;
//   - a Concat picks its piece by the coordinate along its axis, each piece emitted in its
//     own branch (the pieces of a rotary embedding's rotate-half are whole packs, so a warp
//     takes one branch per pack).
// Values are emitted once per (value, index) within a branch and the branches around it.
#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <utility>
#include <vector>

#include "backends/cuda/fusion/index_code.h"
#include "backends/cuda/fusion/lane_code.h"
#include "backends/cuda/fusion/pointwise_codegen.h"
#include "core/error.h"
#include "ir/op_schema.h"

namespace kiln::cuda {

using source::Access;

namespace {

Dims dims_of(const ir::Value& value) { return value.shape.static_dims(); }

bool is_identifier(const std::string& text) {
  for (char c : text) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return !text.empty();
}

class Emitter {
 public:
  Emitter(const GroupSpec& group, const lane::Names& domain_reads, std::ostringstream& out)
      : group_(group), domain_reads_(domain_reads), out_(out) {
    scopes_.emplace_back();
  }

  // The register name of `value` at flat index `index` of its own dims.
  std::string value(const ir::Value* value, const std::string& index) {
    if (passes::is_inlined_scalar(*value)) return source::scalar_literal(*value);
    if (const std::string* known = find({value, index})) return *known;
    std::string name;
    if (int j = input_index(value); j >= 0) {
      name = fresh("g");
      const FusedOperand& input = group_.inputs[size_t(j)];
      line("const " + std::string(source::register_type(input.dtype)) + " " + name + " = " +
           source::to_register(
               input.dtype,
               lane::pointer(input, lane::input_slot(size_t(j)), false) + "[" + index + "]") +
           ";");
    } else {
      name = member(*value->producer, index);
    }
    scopes_.back()[{value, index}] = name;
    return name;
  }

 private:
  using Key = std::pair<const ir::Value*, std::string>;

  const std::string* find(const Key& key) const {
    for (auto scope = scopes_.rbegin(); scope != scopes_.rend(); ++scope) {
      if (auto found = scope->find(key); found != scope->end()) return &found->second;
    }
    return nullptr;
  }

  int input_index(const ir::Value* value) const {
    for (size_t j = 0; j < group_.inputs.size(); ++j) {
      if (group_.inputs[j].value == value) return int(j);
    }
    return -1;
  }

  bool is_member(const ir::Node* node) const {
    return std::find(group_.nodes.begin(), group_.nodes.end(), node) != group_.nodes.end();
  }

  std::string fresh(const char* prefix) { return prefix + std::to_string(counter_++); }

  void line(const std::string& text) { out_ << std::string(6 + 2 * depth_, ' ') << text << "\n"; }

  // A name for index expression `expr` in this scope: a const of the kernel's index type.
  std::string named_index(const std::string& expr) {
    if (is_identifier(expr)) return expr;
    if (const std::string* known = find({nullptr, expr})) return *known;
    std::string name = fresh("t");
    line("const kiln_index " + name + " = " + expr + ";");
    scopes_.back()[{nullptr, expr}] = name;
    return name;
  }

  // `operand` as `node` (writing `out` dims, at `index`) reads it.
  std::string operand(const ir::Node& node, const Dims& out, const std::string& index,
                      const ir::Value* operand) {
    if (passes::is_inlined_scalar(*operand)) return source::scalar_literal(*operand);
    if (index == "i" && out == group_.domain) {
      if (auto read = domain_reads_.find(operand); read != domain_reads_.end()) return read->second;
    }
    check(operand->producer == nullptr || is_member(operand->producer) || input_index(operand) >= 0,
          ErrorKind::Runtime, node.describe(), ": fused input '", operand->name,
          "' is neither an operand nor a member");
    return value(operand, named_index(index_code::broadcast(index, out, dims_of(*operand))));
  }

  std::string member(const ir::Node& node, const std::string& index) {
    check(is_member(&node), ErrorKind::Runtime, node.describe(), ": not a member of the group");
    const Dims out = dims_of(*node.outputs[0]);
    if (node.op == "Slice") {
      std::optional<passes::SliceWindow> window = passes::slice_window(node);
      check(window.has_value(), ErrorKind::Unsupported, node.describe(),
            ": a fused Slice needs constant starts, axes and positive steps");
      const ir::Value* data = node.inputs[0];
      return value(data, named_index(index_code::slice(index, out, dims_of(*data), *window)));
    }
    if (node.op == "Concat") return concat(node, out, index);
    std::vector<std::string> args;
    for (const ir::Value* input : node.inputs)
      args.push_back(input == nullptr ? std::string() : operand(node, out, index, input));
    std::string name = fresh("m");
    line("const " + std::string(source::register_type(node.outputs[0]->dtype)) + " " + name +
         " = " + source::emit_pointwise(node, args) + ";");
    return name;
  }

  std::string concat(const ir::Node& node, const Dims& out, const std::string& index) {
    const size_t axis =
        size_t(ir::normalize_axis(node.attr_int("axis", 0), int64_t(out.size()), node.describe()));
    std::string name = fresh("m");
    std::string c = fresh("c");
    line(std::string(source::register_type(node.outputs[0]->dtype)) + " " + name + ";");
    line("{");
    ++depth_;
    line("const kiln_index " + c + " = " + index_code::coordinate(index, out, axis) + ";");
    int64_t offset = 0;
    std::vector<const ir::Value*> pieces;
    for (const ir::Value* input : node.inputs) {
      if (element_count(dims_of(*input)) > 0) pieces.push_back(input);
    }
    for (size_t k = 0; k < pieces.size(); ++k) {
      const Dims piece = dims_of(*pieces[k]);
      int64_t end = offset + piece[axis];
      std::string test =
          k + 1 == pieces.size() ? "" : "if (" + c + " < " + std::to_string(end) + ") ";
      line((k == 0 ? "" : "else ") + test + "{");
      ++depth_;
      scopes_.emplace_back();
      std::string at = named_index(index_code::concat_piece(index, c, out, piece, axis, offset));
      line(name + " = " + value(pieces[k], at) + ";");
      scopes_.pop_back();
      --depth_;
      line("}");
      offset = end;
    }
    --depth_;
    line("}");
    return name;
  }

  const GroupSpec& group_;
  const lane::Names& domain_reads_;
  std::ostringstream& out_;
  std::vector<std::map<Key, std::string>> scopes_;
  int counter_ = 0;
  int depth_ = 0;
};

// True for a member an index group evaluates at other elements than the domain's: an index
// op, or a value over other dims.
bool off_domain(const ir::Node& node, const GroupSpec& group) {
  return node.op == "Slice" || node.op == "Concat" || dims_of(*node.outputs[0]) != group.domain;
}

// The inputs a member over the domain's dims reads (the others only index members read).
std::set<size_t> domain_inputs(const GroupSpec& group) {
  std::vector<const ir::Node*> over_domain;
  for (const ir::Node* node : group.nodes) {
    if (!off_domain(*node, group)) over_domain.push_back(node);
  }
  return lane::inputs_read_by(group, over_domain);
}

}  // namespace

bool is_index_group(const GroupSpec& group) {
  if (group.reduction != nullptr) return false;
  return std::any_of(group.nodes.begin(), group.nodes.end(),
                     [&](const ir::Node* node) { return off_domain(*node, group); });
}

GeneratedKernel generate_indexed_kernel(GeneratedKernel kernel, const GroupSpec& group) {
  std::set<size_t> direct = domain_inputs(group);
  int64_t largest = element_count(group.domain);
  for (size_t j = 0; j < group.inputs.size(); ++j) {
    largest = std::max(largest, element_count(group.inputs[j].dims));
    if (!direct.contains(j)) kernel.input_access[j] = Access::Gather;
  }
  kernel.vector_width = pack_width(group, kernel.input_access);
  const bool narrow_index = largest + 64 < (int64_t(1) << 31);
  std::set<size_t> outputs;
  for (size_t k = 0; k < group.outputs.size(); ++k) outputs.insert(k);

  std::ostringstream body;
  body << "typedef " << (narrow_index ? "unsigned int" : "long long") << " kiln_index;\n"
       << "template <int V>\n__device__ __forceinline__ void kiln_body(const KilnFusedArgs& a, "
          "long long base) {\n";
  lane::load_packs(body, group, kernel, direct, "base");
  lane::declare_outputs(body, group, outputs);
  body << "#pragma unroll\n    for (int l = 0; l < V; ++l) {\n"
       << "      const kiln_index i = (kiln_index)(base + l);\n      (void)i;\n";
  lane::Names domain_reads;
  lane::read_operands(body, group, kernel, direct, narrow_index, domain_reads);
  Emitter emitter(group, domain_reads, body);
  lane::Names results;
  for (const FusedOperand& output : group.outputs) {
    check(dims_of(*output.value) == group.domain, ErrorKind::Runtime, "fused output '",
          output.value->name, "' is not over the group's domain ", dims_to_string(group.domain));
    results[output.value] = emitter.value(output.value, "i");
  }
  lane::set_outputs(body, group, outputs, results);
  body << "    }\n";
  lane::store_outputs(body, group, outputs, "base");
  body << "}\n";
  kernel.source = source::kPrelude + body.str() + lane::elementwise_entries(kernel.vector_width);
  return kernel;
}

}  // namespace kiln::cuda
