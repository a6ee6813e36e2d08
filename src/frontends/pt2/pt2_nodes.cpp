// Arguments, outputs and source locations of torch.export graph nodes.
#include "frontends/pt2/pt2_nodes.h"

#include "frontends/pt2/pt2_tensors.h"

namespace kiln::pt2 {
namespace {

using torch::Argument;

ir::Value* tensor_reference(const Json& tensor, const torch::ConversionContext& context,
                            const std::string& where) {
  std::string name = string_value(member(tensor, "name", where), path_of(where, "name"));
  ir::Value* value = context.find_tensor(name);
  if (value == nullptr) malformed(where, "reads the tensor '", name, "' before it is defined");
  return value;
}

torch::SymInt sym_int_reference(const Json& sym_int, const torch::ConversionContext& context,
                                const std::string& where) {
  auto [kind, value] = union_member(sym_int, where);
  if (kind == "as_int") return torch::SymInt::fixed(int_value(*value, path_of(where, kind)));
  if (kind != "as_name") malformed(where, "unknown symbolic int kind '", kind, "'");
  std::string name = string_value(*value, path_of(where, kind));
  const torch::SymInt* found = context.find_sym_int(name);
  if (found == nullptr) malformed(where, "reads the size '", name, "' before it is defined");
  return *found;
}

template <typename Read>
auto read_list(const Json& list, const std::string& where, Read read) {
  if (!list.is_array()) malformed(where, "expected a list, got ", list.type_name());
  std::vector<decltype(read(list, where))> values;
  for (size_t i = 0; i < list.size(); ++i) values.push_back(read(list[i], path_of(where, i)));
  return values;
}

// An OptionalTensorArgument: {"as_tensor": {...}} or {"as_none": true}.
ir::Value* optional_tensor(const Json& entry, const torch::ConversionContext& context,
                           const std::string& where) {
  auto [kind, value] = union_member(entry, where);
  if (kind == "as_none") return nullptr;
  if (kind != "as_tensor") malformed(where, "expected a tensor or None, got '", kind, "'");
  return tensor_reference(*value, context, path_of(where, kind));
}

std::string trim(std::string_view text) {
  size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return {};
  size_t end = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(begin, end - begin + 1));
}

// "L__self__fc1,fc1,torch.nn.modules.linear.Linear" (the last of ';'-separated entries)
// → "fc1 (Linear)".
std::string innermost_module(const std::string& stack) {
  std::string_view last(stack);
  if (size_t separator = last.rfind(';'); separator != std::string_view::npos) {
    last = last.substr(separator + 1);
  }
  // Nodes that PyTorch's own passes add carry a placeholder, not a module.
  if (last.starts_with("_empty_nn_module_stack")) return {};
  size_t first_comma = last.find(',');
  if (first_comma == std::string_view::npos) return trim(last);
  std::string_view rest = last.substr(first_comma + 1);
  size_t second_comma = rest.find(',');
  std::string path = trim(rest.substr(0, second_comma));
  std::string type =
      second_comma == std::string_view::npos ? "" : trim(rest.substr(second_comma + 1));
  if (size_t dot = type.rfind('.'); dot != std::string::npos) type = type.substr(dot + 1);
  if (path.empty()) return type;
  return type.empty() ? path : path + " (" + type + ")";
}

// The last frame of a Python stack trace: its location line and its code line.
std::string last_frame(const std::string& trace) {
  size_t frame = trace.rfind("File \"");
  if (frame == std::string::npos) return trim(trace);
  std::string_view rest = std::string_view(trace).substr(frame);
  size_t newline = rest.find('\n');
  std::string location = trim(rest.substr(0, newline));
  if (newline == std::string_view::npos) return location;
  std::string_view after = rest.substr(newline + 1);
  std::string code = trim(after.substr(0, after.find('\n')));
  return code.empty() ? location : location + ": " + code;
}

}  // namespace

Argument read_argument(const Json& argument, const torch::ConversionContext& context,
                       const std::string& where) {
  auto [kind, value] = union_member(argument, where);
  std::string at = path_of(where, kind);
  const Json& v = *value;
  if (kind == "as_none") return torch::NoneArg{};
  if (kind == "as_tensor") return tensor_reference(v, context, at);
  if (kind == "as_tensors") {
    return read_list(v, at, [&](const Json& e, const std::string& w) {
      return tensor_reference(e, context, w);
    });
  }
  if (kind == "as_optional_tensors") {
    return read_list(
        v, at, [&](const Json& e, const std::string& w) { return optional_tensor(e, context, w); });
  }
  if (kind == "as_optional_tensor") {
    ir::Value* tensor = optional_tensor(v, context, at);
    return tensor == nullptr ? Argument(torch::NoneArg{}) : Argument(tensor);
  }
  if (kind == "as_int") return int_value(v, at);
  if (kind == "as_ints") return read_list(v, at, int_value);
  if (kind == "as_float") return float_value(v, at);
  if (kind == "as_floats") return read_list(v, at, float_value);
  if (kind == "as_bool") return bool_value(v, at);
  if (kind == "as_bools") return read_list(v, at, bool_value);
  if (kind == "as_string") return string_value(v, at);
  if (kind == "as_sym_int") return sym_int_reference(v, context, at);
  if (kind == "as_sym_ints") {
    return read_list(v, at, [&](const Json& e, const std::string& w) {
      return sym_int_reference(e, context, w);
    });
  }
  if (kind == "as_scalar_type") {
    // Complex dtypes reach only the converters that take complex tensors (FFTs).
    int64_t code = int_value(v, at);
    if (const char* name = complex_scalar_type_name(code))
      return torch::OtherArg{std::string("dtype ") + name};
    return dtype_from_scalar_type(code, at);
  }
  if (kind == "as_device" || kind == "as_layout" || kind == "as_memory_format") {
    return torch::OtherArg{kind.substr(3) + " " + v.dump()};
  }
  fail(ErrorKind::Unsupported, where, ": arguments of kind '", kind,
       "' (symbolic floats or "
       "bools, subgraphs, custom objects) are not supported");
}

std::string tensor_argument_name(const Json& argument) {
  if (!argument.is_object()) return {};
  auto it = argument.find("as_tensor");
  if (it == argument.end() || !it->is_object()) return {};
  auto name = it->find("name");
  return name != it->end() && name->is_string() ? name->get<std::string>() : std::string();
}

std::vector<torch::OutputSlot> read_output_slots(const Json& outputs, const std::string& where) {
  using Kind = torch::OutputSlot::Kind;
  if (!outputs.is_array()) malformed(where, "expected a list, got ", outputs.type_name());
  std::vector<torch::OutputSlot> slots;
  for (size_t i = 0; i < outputs.size(); ++i) {
    std::string at = path_of(where, i);
    auto [kind, value] = union_member(outputs[i], at);
    std::string inner = path_of(at, kind);
    auto name_of = [&](const Json& tensor, const std::string& w) {
      return string_value(member(tensor, "name", w), path_of(w, "name"));
    };
    if (kind == "as_tensor") {
      slots.push_back({Kind::Tensor, {name_of(*value, inner)}});
    } else if (kind == "as_tensors") {
      slots.push_back({Kind::TensorList, read_list(*value, inner, name_of)});
    } else if (kind == "as_optional_tensors") {
      slots.push_back(
          {Kind::TensorList, read_list(*value, inner, [&](const Json& e, const std::string& w) {
             auto [k, v] = union_member(e, w);
             return k == "as_tensor" ? name_of(*v, path_of(w, k)) : std::string();
           })});
    } else if (kind == "as_sym_int") {
      auto [k, v] = union_member(*value, inner);
      if (k == "as_name") {
        slots.push_back({Kind::SymInt, {string_value(*v, path_of(inner, k))}});
      } else {
        slots.push_back({Kind::None, {}});
      }
    } else if (kind == "as_none") {
      slots.push_back({Kind::None, {}});
    } else {
      fail(ErrorKind::Unsupported, at, ": outputs of kind '", kind, "' are not supported");
    }
  }
  return slots;
}

void collect_reads(const Json& argument, std::vector<std::string>& names) {
  if (argument.is_object()) {
    for (auto it = argument.begin(); it != argument.end(); ++it) {
      if ((it.key() == "name" || it.key() == "as_name") && it->is_string()) {
        names.push_back(it->get<std::string>());
      } else {
        collect_reads(*it, names);
      }
    }
  } else if (argument.is_array()) {
    for (const Json& element : argument) collect_reads(element, names);
  }
}

std::string node_source(const Json& node) {
  if (!node.is_object()) return {};
  auto metadata = node.find("metadata");
  if (metadata == node.end() || !metadata->is_object()) return {};
  auto text = [&](const char* key) -> std::string {
    auto it = metadata->find(key);
    return it != metadata->end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  std::string module = innermost_module(text("nn_module_stack"));
  std::string frame = last_frame(text("stack_trace"));
  if (module.empty()) return frame;
  return frame.empty() ? module : module + ", " + frame;
}

}  // namespace kiln::pt2
