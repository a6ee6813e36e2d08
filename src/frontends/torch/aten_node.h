// What an ATen op converter sees, independent of the file format it came from (.pt2 JSON or
// TorchScript): the call's arguments as Kiln values, and helpers that add IR nodes for it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "ir/graph.h"

namespace kiln::torch {

// An integer that may be known only at run time (a size under dynamic shapes).
struct SymInt {
  int64_t value = 0;             // the value, when `dynamic` is null
  ir::Value* dynamic = nullptr;  // else an int64 tensor of shape [1] holding it
  std::string symbol;            // the size symbol it equals ("s0"), when known

  static SymInt fixed(int64_t value) { return SymInt{value, nullptr, {}}; }
  bool is_static() const { return dynamic == nullptr; }
};

struct NoneArg {};
// Device, layout, memory format and the like: accepted, described, otherwise ignored.
struct OtherArg {
  std::string description;
};
using TensorList = std::vector<ir::Value*>;  // null entries are None in Tensor?[] lists

using Argument = std::variant<NoneArg, ir::Value*, int64_t, double, bool, std::string,
                              std::vector<int64_t>, std::vector<double>, std::vector<bool>,
                              TensorList, SymInt, std::vector<SymInt>, DType, OtherArg>;

struct NamedArgument {
  std::string name;  // the argument's name in the ATen schema ("self", "other", "dim")
  Argument value;
  std::string tensor_name;  // the model's name for a tensor argument (in-place ops rebind it)
};

// What one output of the call is: a tensor, a size, or a list of tensors (split, unbind).
struct OutputSlot {
  enum class Kind { Tensor, SymInt, TensorList, None };
  Kind kind = Kind::Tensor;
  std::vector<std::string> names;  // one name, or one per list element
};

class AtenNode;

// A tensor that aliases part of another (a slice or select of `base`), as torch views do: an
// in-place op on the view changes the base, and one on the base changes the view. `read`
// takes the view out of a base; `write_back` returns the base with `part` (the view's new
// value) put where the view lies.
struct TensorView {
  using Read = std::function<ir::Value*(AtenNode& node, ir::Value* base)>;
  using WriteBack = std::function<ir::Value*(AtenNode& node, ir::Value* base, ir::Value* part)>;
  std::string base;
  Read read;
  WriteBack write_back;
};

// Where a tensor's elements lie in its storage (PyTorch's strides and storage offset), for the
// ops that address storage directly (as_strided).
struct StorageLayout {
  std::vector<int64_t> strides;
  int64_t offset = 0;
};
using LayoutLookup = std::function<std::optional<StorageLayout>(const std::string& name)>;

// Graph-wide state of one conversion: torch value names → Kiln values.
class ConversionContext {
 public:
  ConversionContext(ir::Graph& graph, std::string label);

  ir::Graph& graph() { return graph_; }
  const std::string& label() const { return label_; }  // the model file, for messages

  void define_tensor(const std::string& name, ir::Value* value);
  ir::Value* find_tensor(const std::string& name) const;  // null if undefined
  void define_sym_int(const std::string& name, SymInt value);
  const SymInt* find_sym_int(const std::string& name) const;
  // Points an already defined name at another value (the result of an in-place op).
  void redefine_tensor(const std::string& name, ir::Value* value);
  // Records that tensor `name` is a view into another; see TensorView.
  void define_view(const std::string& name, TensorView view);
  // After an in-place op has rebound `name`, rebinds the tensors it views into, outward (a
  // slice of a slice updates both), then every other view of them, read again.
  void write_back_views(AtenNode& node, const std::string& name);

  // Torch names that some node reads or the graph returns; unused outputs are not built.
  void mark_used(const std::string& name) { used_.insert(name); }
  bool is_used(const std::string& name) const { return used_.count(name) > 0; }
  // Set by a frontend that marks every output used because it cannot see ahead (TorchScript's
  // interpreter); converters then compute what they can and leave training-only outputs unset.
  void set_uses_speculative(bool speculative) { uses_speculative_ = speculative; }
  bool uses_speculative() const { return uses_speculative_; }

  // A constant value with a fresh name derived from `base`.
  ir::Value* constant(const std::string& base, Tensor tensor);

  // Complex tensors: a real value with a trailing dim of 2 (real, imaginary), as ONNX and
  // torch.view_as_real spell them. Only the FFT and complex-part converters take them
  // (AtenNode::accept_complex); any other converter reading one refuses it.
  void mark_complex(const ir::Value* value) { complex_.insert(value); }
  bool is_complex(const ir::Value* value) const { return complex_.count(value) > 0; }

  // The storage layout the file declares for tensor `name`; nullopt where it declares none
  // (TorchScript, or a frontend without a lookup): row-major from offset 0 is then assumed.
  void set_layout_lookup(LayoutLookup lookup) { layout_lookup_ = std::move(lookup); }
  std::optional<StorageLayout> layout_of(const std::string& name) const {
    return layout_lookup_ && !name.empty() ? layout_lookup_(name) : std::nullopt;
  }

 private:
  LayoutLookup layout_lookup_;
  bool uses_speculative_ = false;
  std::set<const ir::Value*> complex_;
  ir::Graph& graph_;
  std::string label_;
  std::map<std::string, ir::Value*> tensors_;
  std::map<std::string, SymInt> sym_ints_;
  void read_views_again(AtenNode& node, const std::string& base,
                        const std::set<std::string>& written);

  std::map<std::string, TensorView> views_;
  std::map<std::string, std::vector<std::string>> views_of_;  // base → its views' names
  std::set<std::string> used_;
};

// One ATen call during its conversion.
class AtenNode {
 public:
  AtenNode(ConversionContext& context, std::string target, std::string name, std::string source,
           std::vector<NamedArgument> arguments, std::vector<OutputSlot> outputs);

  const std::string& target() const { return target_; }  // "aten.linear.default"
  const std::string& name() const { return name_; }
  const std::string& source() const { return source_; }
  ConversionContext& context() { return context_; }
  ir::Graph& graph() { return context_.graph(); }

  // Arguments by schema name. Absent and None read as the fallback where one is given;
  // a wrong kind is InvalidModel naming the node and the argument.
  bool has(std::string_view name) const;  // present and not None
  const Argument* find(std::string_view name) const;
  // A tensor argument; a complex one (ConversionContext::mark_complex) only after
  // accept_complex(), else Unsupported naming it.
  ir::Value* tensor(std::string_view name) const;
  void accept_complex() { complex_aware_ = true; }
  // A dtype argument that names a complex type (complex64), which scalar_type refuses.
  bool is_complex_dtype(std::string_view name) const;
  // The model's name of a tensor argument (empty if the frontend has none).
  std::string tensor_name(std::string_view name) const;
  ir::Value* optional_tensor(std::string_view name) const;  // null when absent or None
  TensorList tensors(std::string_view name) const;
  int64_t int_arg(std::string_view name) const;
  int64_t int_arg(std::string_view name, int64_t fallback) const;
  double float_arg(std::string_view name, double fallback) const;  // ints accepted
  bool bool_arg(std::string_view name, bool fallback) const;
  std::string string_arg(std::string_view name, const std::string& fallback) const;
  std::vector<int64_t> ints(std::string_view name) const;  // a single int reads as [int]
  std::vector<int64_t> ints(std::string_view name, std::vector<int64_t> fallback) const;
  SymInt sym_int(std::string_view name) const;
  std::optional<SymInt> optional_sym_int(std::string_view name) const;
  std::vector<SymInt> sym_ints(std::string_view name) const;  // ints accepted
  std::optional<DType> scalar_type(std::string_view name) const;
  // A tensor argument, or a number (int, float, bool) that `operand` turns into a constant.
  bool is_number(std::string_view name) const;

  // Outputs.
  size_t output_count() const { return outputs_.size(); }
  const OutputSlot& output(size_t index) const { return outputs_.at(index); }
  bool output_used(size_t index) const;
  // Whether the model surely reads output `index` (not only maybe: see uses_speculative);
  // converters refuse a training-only output when it is.
  bool output_needed(size_t index) const {
    return output_used(index) && !context_.uses_speculative();
  }
  // Binds output `index` (a tensor slot) to `value`.
  void set_output(size_t index, ir::Value* value);
  void set_outputs(size_t index, const std::vector<ir::Value*>& values);  // a list slot
  // Binds output 0 to a view of argument "self" (see TensorView).
  void set_view_output(TensorView::Read read, TensorView::WriteBack write_back);
  void set_sym_output(size_t index, SymInt value);

  // Adds an IR node for this call (named after it, with its source) and infers its types.
  // `add` returns its first output; `add_multi` all `count` outputs.
  ir::Value* add(const std::string& op, std::vector<ir::Value*> inputs,
                 std::map<std::string, ir::AttrValue> attrs = {});
  std::vector<ir::Value*> add_multi(const std::string& op, std::vector<ir::Value*> inputs,
                                    std::map<std::string, ir::AttrValue> attrs, size_t count);
  ir::Value* constant(Tensor tensor);

  template <typename... Parts>
  [[noreturn]] void unsupported(const Parts&... parts) const {
    fail(ErrorKind::Unsupported, context_.label(), ": ", describe(), ": ", parts...);
  }
  template <typename... Parts>
  [[noreturn]] void invalid(const Parts&... parts) const {
    fail(ErrorKind::InvalidModel, context_.label(), ": ", describe(), ": ", parts...);
  }
  std::string describe() const;  // "node 'linear' (aten.linear.default) at <source>"

 private:
  const Argument& required(std::string_view name) const;

  ConversionContext& context_;
  std::string target_;
  std::string name_;
  std::string source_;
  std::vector<NamedArgument> arguments_;
  std::vector<OutputSlot> outputs_;
  bool complex_aware_ = false;
};

}  // namespace kiln::torch
