// Inlining of higher-order ops (pt2_higher_order.h): a rename map per subgraph, applied to
// every tensor reference of its nodes, recursively for nested wrappers and conds.
#include "frontends/pt2/pt2_higher_order.h"

#include <functional>
#include <map>
#include <vector>

namespace kiln::pt2 {
namespace {

bool is_mode_wrapper(const std::string& target) {
  return target == "torch.ops.higher_order.wrap_with_set_grad_enabled" ||
         target == "torch.ops.higher_order.wrap_with_autocast";
}

using Renames = std::map<std::string, std::string>;

void rename_one(Json& reference, const Renames& renames) {
  if (!reference.is_object() || !reference.contains("name") || !reference["name"].is_string())
    return;
  auto found = renames.find(reference["name"].get<std::string>());
  if (found != renames.end()) reference["name"] = found->second;
}

// Every tensor an argument or output refers to ({"as_tensor": {"name": ...}}, lists of them,
// optional ones), renamed where `renames` says.
void rename_tensors(Json& json, const Renames& renames) {
  if (json.is_array()) {
    for (Json& element : json) rename_tensors(element, renames);
    return;
  }
  if (!json.is_object()) return;
  for (auto it = json.begin(); it != json.end(); ++it) {
    if (it.key() == "as_tensor") {
      rename_one(it.value(), renames);
    } else if (it.key() == "as_tensors" && it.value().is_array()) {
      for (Json& element : it.value()) rename_one(element, renames);
    } else {
      rename_tensors(it.value(), renames);
    }
  }
}

// The tensor names a list of {"as_tensor": {"name": ...}} entries holds, in order.
std::vector<std::string> tensor_names(const Json& list, const std::string& where) {
  std::vector<std::string> names;
  if (!list.is_array()) malformed(where, "expected a list");
  for (size_t i = 0; i < list.size(); ++i) {
    std::string at = path_of(where, i);
    const Json* tensor = optional_member(list[i], "as_tensor", at);
    if (tensor == nullptr) malformed(at, "expected a tensor");
    names.push_back(string_value(member(*tensor, "name", at), path_of(at, "as_tensor.name")));
  }
  return names;
}

class Flattener {
 public:
  void flatten(const Json& graph, const std::string& where, const Renames& renames) {
    const Json& nodes = array_member(graph, "nodes", where);
    if (const Json* values = optional_member(graph, "tensor_values", where)) {
      if (!values->is_object()) malformed(path_of(where, "tensor_values"), "expected an object");
      for (auto it = values->begin(); it != values->end(); ++it) {
        auto renamed = renames.find(it.key());
        flat_.tensor_values[renamed == renames.end() ? it.key() : renamed->second] = it.value();
      }
    }
    for (size_t i = 0; i < nodes.size(); ++i) {
      std::string at = path_of(path_of(where, "nodes"), i);
      std::string target = string_value(member(nodes[i], "target", at), path_of(at, "target"));
      Json node = nodes[i];
      rename_tensors(node["inputs"], renames);
      rename_tensors(node["outputs"], renames);
      if (is_mode_wrapper(target)) {
        inline_wrapper(node, at);
      } else if (target == "torch.ops.higher_order.cond") {
        inline_cond(node, at);
      } else {
        flat_.nodes.push_back(std::move(node));
      }
    }
  }

  FlatGraph take() { return std::move(flat_); }

 private:
  // The subgraph argument, then the operands after it, bound to the subgraph's inputs; its
  // outputs bound to the node's; everything else inside renamed under the first output.
  void inline_wrapper(const Json& node, const std::string& where) {
    const Json& inputs = array_member(node, "inputs", where);
    size_t graph_at = 0;
    while (graph_at < inputs.size() && !member(inputs[graph_at], "arg", where).contains("as_graph"))
      ++graph_at;
    if (graph_at == inputs.size()) malformed(where, "a wrapper without a subgraph");
    std::vector<std::string> operands;
    for (size_t i = graph_at + 1; i < inputs.size(); ++i) {
      std::string at = path_of(path_of(where, "inputs"), i);
      Json one = Json::array({member(inputs[i], "arg", at)});
      operands.push_back(tensor_names(one, at).front());
    }
    std::vector<std::string> outputs =
        tensor_names(array_member(node, "outputs", where), path_of(where, "outputs"));
    std::string prefix = (outputs.empty() ? std::string("wrapped") : outputs.front()) + ".";
    inline_subgraph(member(inputs[graph_at], "arg", where), operands, outputs, prefix, where);
  }

  // torch.cond(pred, true_fn, false_fn, operands): both branches inlined (their outputs renamed
  // "<output>.true.<i>" / "<output>.false.<i>") and each output a Where(pred, true, false).
  // Inference has no side effects, so computing both is exact; where the predicate is a
  // constant (a buffer flag), folding the Where and dead-code elimination keep one branch.
  void inline_cond(const Json& node, const std::string& where) {
    const Json& inputs = array_member(node, "inputs", where);
    if (inputs.size() != 4) malformed(where, "torch.cond with ", inputs.size(), " arguments");
    auto arg = [&](size_t i) -> const Json& {
      return member(inputs[i], "arg", path_of(path_of(where, "inputs"), i));
    };
    if (!arg(0).contains("as_tensor")) {
      fail(ErrorKind::Unsupported, where,
           ": torch.cond on a predicate of symbolic sizes (not a tensor) is not supported; "
           "make the predicate a tensor or export with static sizes");
    }
    std::string predicate =
        tensor_names(Json::array({arg(0)}), path_of(where, "inputs[0]")).front();
    const Json* listed = optional_member(arg(3), "as_tensors", path_of(where, "inputs[3]"));
    if (listed == nullptr) malformed(path_of(where, "inputs[3]"), "expected a list of tensors");
    std::vector<std::string> operands;
    for (const Json& operand : *listed)
      operands.push_back(string_value(member(operand, "name", where), path_of(where, "operand")));
    std::vector<std::string> outputs =
        tensor_names(array_member(node, "outputs", where), path_of(where, "outputs"));
    std::string base = (outputs.empty() ? std::string("cond") : outputs.front()) + ".";
    std::vector<std::string> chosen[2];
    const char* branch_names[2] = {"true", "false"};
    for (size_t branch = 0; branch < 2; ++branch) {
      std::string prefix = base + branch_names[branch] + ".";
      for (size_t i = 0; i < outputs.size(); ++i)
        chosen[branch].push_back(prefix + std::to_string(i));
      inline_subgraph(arg(1 + branch), operands, chosen[branch], prefix, where);
    }
    for (size_t i = 0; i < outputs.size(); ++i) {
      auto tensor = [](const std::string& name, const char* parameter) {
        return Json{{"name", parameter}, {"arg", {{"as_tensor", {{"name", name}}}}}, {"kind", 1}};
      };
      flat_.nodes.push_back(
          {{"target", "torch.ops.aten.where.self"},
           {"inputs", Json::array({tensor(predicate, "condition"), tensor(chosen[0][i], "self"),
                                   tensor(chosen[1][i], "other")})},
           {"outputs", Json::array({{{"as_tensor", {{"name", outputs[i]}}}}})},
           {"metadata", node.value("metadata", Json::object())},
           {"name", outputs[i]}});
    }
  }

  // A subgraph argument ({"as_graph": {"graph": ...}}) spliced in: its inputs bound to
  // `operands`, its outputs named `outputs`, every other value renamed `prefix` + its name.
  void inline_subgraph(const Json& argument, const std::vector<std::string>& operands,
                       const std::vector<std::string>& outputs, const std::string& prefix,
                       const std::string& where) {
    const Json& subgraph =
        member(member(argument, "as_graph", where), "graph", path_of(where, "as_graph"));
    std::string inner = path_of(where, "as_graph.graph");
    std::vector<std::string> parameters =
        tensor_names(array_member(subgraph, "inputs", inner), path_of(inner, "inputs"));
    std::vector<std::string> results =
        tensor_names(array_member(subgraph, "outputs", inner), path_of(inner, "outputs"));
    if (operands.size() != parameters.size() || outputs.size() != results.size()) {
      malformed(where, "the node passes ", operands.size(), " tensors and returns ", outputs.size(),
                ", its subgraph takes ", parameters.size(), " and returns ", results.size());
    }
    Renames renames;
    if (const Json* values = optional_member(subgraph, "tensor_values", inner)) {
      if (!values->is_object()) malformed(path_of(inner, "tensor_values"), "expected an object");
      for (auto it = values->begin(); it != values->end(); ++it)
        renames[it.key()] = prefix + it.key();
    }
    for (const Json& inner_node : array_member(subgraph, "nodes", inner)) {
      for (const std::string& name : output_names(inner_node)) renames.emplace(name, prefix + name);
    }
    for (size_t i = 0; i < parameters.size(); ++i) renames[parameters[i]] = operands[i];
    for (size_t i = 0; i < results.size(); ++i) renames[results[i]] = outputs[i];
    flatten(subgraph, inner, renames);
  }

  // The tensor names a node defines (its outputs), for renaming the subgraph's values.
  static std::vector<std::string> output_names(const Json& node) {
    std::vector<std::string> names;
    if (!node.is_object()) return names;  // the converter reports a malformed node
    Json outputs = node.value("outputs", Json::array());
    std::function<void(const Json&)> collect = [&](const Json& json) {
      if (json.is_array()) {
        for (const Json& element : json) collect(element);
      } else if (json.is_object()) {
        for (auto it = json.begin(); it != json.end(); ++it) {
          if (it.key() == "as_tensor" && it.value().is_object() && it.value().contains("name") &&
              it.value()["name"].is_string())
            names.push_back(it.value()["name"].get<std::string>());
          else if (it.key() == "as_tensors" && it.value().is_array())
            for (const Json& element : it.value()) {
              if (element.is_object() && element.contains("name") && element["name"].is_string())
                names.push_back(element["name"].get<std::string>());
            }
          else
            collect(it.value());
        }
      }
    };
    collect(outputs);
    return names;
  }

  FlatGraph flat_{Json::array(), Json::object()};
};

}  // namespace

FlatGraph inline_higher_order(const Json& graph, const std::string& where) {
  Flattener flattener;
  flattener.flatten(graph, where, {});
  return flattener.take();
}

}  // namespace kiln::pt2
