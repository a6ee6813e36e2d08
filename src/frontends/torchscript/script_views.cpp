// In-place writes through views in traced code (x[:, 1:3].copy_(y), mask[a:b, c:d].fill_(n),
// ids[:, 0].fill_(start)): the functional result of the op replaces the view, and each base
// the view was cut from becomes slice_scatter / select_scatter of its old value with the new
// part, up to the root. Names in every frame under way that held a replaced value are rebound,
// and other views of a rewritten base that names still hold are cut again from the new base,
// as torch's aliasing would show them.
#include "frontends/torchscript/script_interpreter.h"

namespace kiln::torchscript {

using Kind = ScriptValue::Kind;

void ScriptInterpreter::record_view(
    const std::string& function, const std::vector<ScriptValue>& positional,
    const std::vector<std::pair<std::string, ScriptValue>>& keywords, const ScriptValue& result) {
  if ((function != "slice" && function != "select") || !keywords.empty() ||
      result.kind != Kind::Tensor || positional.empty() || positional[0].kind != Kind::Tensor) {
    return;
  }
  std::vector<ScriptValue> arguments(positional.begin() + 1, positional.end());
  for (const ScriptValue& argument : arguments) {
    if (argument.kind != Kind::Int) return;  // a run-time bound: no write-back through it
  }
  view_records_[result.tensor] = ViewRecord{positional[0].tensor, function, arguments};
}

void ScriptInterpreter::rebind(const ir::Value* from, const ScriptValue& to) {
  if (from == to.tensor) return;
  for (Frame* frame : frames_) {
    for (auto& [name, value] : frame->locals) {
      if (value.kind == Kind::Tensor && value.tensor == from) value = to;
    }
  }
  replaced_[from] = to;
}

ScriptValue ScriptInterpreter::latest(ScriptValue value) const {
  for (int hops = 0; value.kind == Kind::Tensor && hops < 1000; ++hops) {
    auto it = replaced_.find(value.tensor);
    if (it == replaced_.end()) break;
    value = it->second;
  }
  return value;
}

void ScriptInterpreter::refresh_views_of(const ir::Value* old_base, ir::Value* new_base,
                                         const ir::Value* skip, const ScriptCall& call) {
  std::vector<std::pair<const ir::Value*, ViewRecord>> stale;
  for (const auto& [view, record] : view_records_) {
    if (record.base == old_base && view != skip) stale.emplace_back(view, record);
  }
  for (const auto& [view, record] : stale) {
    bool named = false;
    for (const Frame* frame : frames_) {
      for (const auto& [name, value] : frame->locals)
        named = named || (value.kind == Kind::Tensor && value.tensor == view);
    }
    if (!named) continue;
    std::vector<ScriptValue> positional{ScriptValue::of_tensor(new_base)};
    positional.insert(positional.end(), record.arguments.begin(), record.arguments.end());
    ScriptValue again =
        aten_.call(ScriptCall{record.function, positional, {}, call.name + "_view", call.source});
    view_records_[again.tensor] = ViewRecord{new_base, record.function, record.arguments};
    partial_views_.insert(again.tensor);
    refresh_views_of(view, again.tensor, nullptr, call);
    rebind(view, again);
  }
}

ScriptValue ScriptInterpreter::write_through_view(const ScriptCall& call, Frame& frame) {
  const ir::Value* view = call.positional[0].tensor;
  ScriptValue value = aten_.call(call);  // the view's new value
  if (value.kind != Kind::Tensor) {
    unsupported(frame, "torch.", call.function, " on a slice returned no tensor");
  }
  rebind(view, value);
  for (auto record = view_records_.find(view); record != view_records_.end();
       record = view_records_.find(view)) {
    ViewRecord written = record->second;
    std::vector<ScriptValue> positional{ScriptValue::of_tensor(written.base), value};
    positional.insert(positional.end(), written.arguments.begin(), written.arguments.end());
    ScriptValue base = aten_.call(ScriptCall{
        written.function + "_scatter", positional, {}, call.name + "_write_back", call.source});
    // The new part is a view of the new base; the base's other named views are cut again.
    view_records_[value.tensor] = ViewRecord{base.tensor, written.function, written.arguments};
    partial_views_.insert(value.tensor);
    refresh_views_of(written.base, base.tensor, view, call);
    rebind(written.base, base);
    view = written.base;
    value = base;
  }
  return latest(call.positional[0]);
}

}  // namespace kiln::torchscript
