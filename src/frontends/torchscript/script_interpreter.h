// Builds one graph from TorchScript methods by evaluating their statements: submodule and
// function calls are inlined, sizes are computed statically, ifs on static conditions take
// their branch, torch.* calls become ATen nodes. Control flow that depends on tensor values,
// and loops, are Unsupported errors naming the construct and its line.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "frontends/torchscript/aten_call.h"
#include "frontends/torchscript/script_ast.h"
#include "frontends/torchscript/script_value.h"

namespace kiln::torchscript {

struct ScriptEnvironment {
  const std::map<std::string, ClassDef>* classes = nullptr;  // by qualified name
  std::vector<ScriptValue> constants;                        // CONSTANTS.c0, c1, ...
  // A module attribute that is a tensor (a parameter or buffer) as a graph value; `path`
  // is its dotted name ("layer1.0.conv1.weight").
  std::function<ir::Value*(const PickleValue&, const std::string& path)> parameter;
  std::string label;  // the archive, for messages
};

class ScriptInterpreter {
 public:
  ScriptInterpreter(ScriptEnvironment environment, torch::ConversionContext& context);
  // Evaluates `method` of `module` (a Module value) with `arguments`, inlining every call.
  ScriptValue call_method(const ScriptValue& module, const std::string& method,
                          std::vector<ScriptValue> arguments);
  // The class of a pickled module object; InvalidModel when the archive lacks its source.
  const ClassDef& class_of(const PickleValue& module) const;

 private:
  struct Frame {
    const ClassDef* owner = nullptr;
    const Method* method = nullptr;
    std::string module_path;  // "" for the top module
    std::map<std::string, ScriptValue> locals;
    int line = 0;
  };

  ScriptValue invoke(const ClassDef& owner, const Method& method, const ScriptValue* self,
                     const std::string& module_path, std::vector<ScriptValue> arguments,
                     std::vector<std::pair<std::string, ScriptValue>> keywords);
  // A module-level function of code/ ("__torch__.torch.nn.functional.dropout").
  ScriptValue call_function(const std::string& qualified_name, Frame& caller,
                            std::vector<ScriptValue> arguments,
                            std::vector<std::pair<std::string, ScriptValue>> keywords);
  // The statements' return value, if one returned.
  std::optional<ScriptValue> run(Frame& frame, const std::vector<Statement>& statements);
  // An if's condition, which must be static (a number, bool or None).
  bool condition(const Statement& statement, Frame& frame);
  ScriptValue evaluate(const Expr& expr, Frame& frame);
  ScriptValue call(const Expr& expr, Frame& frame);
  ScriptValue builtin(const std::string& name, std::vector<ScriptValue>& positional,
                      std::vector<std::pair<std::string, ScriptValue>>& keywords, Frame& frame,
                      const std::string& hint);
  ScriptValue attribute(const ScriptValue& base, const std::string& name, Frame& frame);
  ir::Value* fresh_value(ir::Value* value);  // an equal value of its own (clone)
  ScriptValue arithmetic(const std::string& op, const ScriptValue& a, const ScriptValue& b,
                         Frame& frame);
  std::string where(const Frame& frame) const;
  template <typename... Parts>
  [[noreturn]] void unsupported(const Frame& frame, const Parts&... parts) const {
    fail(ErrorKind::Unsupported, environment_.label, ": ", where(frame), ": ", parts...);
  }

  ScriptEnvironment environment_;
  torch::ConversionContext& context_;
  AtenCaller aten_;
  // Values that are part of another (slice, select, index, narrow, split pieces): an in-place
  // op on one has to write into its base. Through slice and select with static arguments
  // (view_records_) the write is carried back (script_views.cpp); through the others the
  // frontend refuses.
  std::set<const ir::Value*> partial_views_;
  struct ViewRecord {
    ir::Value* base;
    std::string function;                // "slice" or "select"
    std::vector<ScriptValue> arguments;  // after the base: dim, start, end, step / dim, index
  };
  std::map<const ir::Value*, ViewRecord> view_records_;
  // Values an in-place write replaced, for module attributes read again later.
  std::map<const ir::Value*, ScriptValue> replaced_;
  // The frames of the calls under way: a write through a view rebinds names in all of them.
  std::vector<Frame*> frames_;
  int depth_ = 0;

  void record_view(const std::string& function, const std::vector<ScriptValue>& positional,
                   const std::vector<std::pair<std::string, ScriptValue>>& keywords,
                   const ScriptValue& result);
  ScriptValue write_through_view(const ScriptCall& call, Frame& frame);
  void rebind(const ir::Value* from, const ScriptValue& to);
  void refresh_views_of(const ir::Value* old_base, ir::Value* new_base, const ir::Value* skip,
                        const ScriptCall& call);
  ScriptValue latest(ScriptValue value) const;  // through replaced_
};

}  // namespace kiln::torchscript
