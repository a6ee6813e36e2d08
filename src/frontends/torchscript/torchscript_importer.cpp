// The TorchScript import pipeline: version check, data.pkl module tree, constants.pkl,
// code/ sources, traced input shapes, then one inlined evaluation of forward.
#include "frontends/torchscript/torchscript_importer.h"

#include <optional>

#include "core/error.h"
#include "frontends/torchscript/pickle_reader.h"
#include "frontends/torchscript/script_interpreter.h"
#include "frontends/torchscript/tensor_rebuild.h"
#include "frontends/torchscript/ts_archive.h"

namespace kiln::torchscript {
namespace {

void check_version(const TsArchive& archive) {
  std::string entry = archive.contains(".data/version") ? ".data/version" : "version";
  std::string text = *archive.read(entry, "the archive format version");
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
    text.pop_back();
  int64_t version = -1;
  if (!text.empty() && text.size() < 10 &&
      text.find_first_not_of("0123456789") == std::string::npos) {
    version = std::stoll(text);
  }
  if (version < kMinArchiveVersion || version > kMaxArchiveVersion) {
    fail(ErrorKind::Unsupported, archive.label(), ": TorchScript archive version '", text, "' (",
         entry, ") is outside the range Kiln reads, ", kMinArchiveVersion, " to ",
         kMaxArchiveVersion, "; re-save the model with a PyTorch release that writes one of these");
  }
}

// "code/__torch__/torch/nn/modules/linear.py" → "__torch__.torch.nn.modules.linear".
std::string module_of(const std::string& path) {
  std::string module = path.substr(5, path.size() - 5 - 3);
  for (char& c : module)
    if (c == '/') c = '.';
  return module;
}

std::map<std::string, ClassDef> read_sources(const TsArchive& archive) {
  std::map<std::string, ClassDef> classes;
  for (const std::string& path : archive.list("code/", ".py")) {
    std::string source = *archive.read(path, "TorchScript source");
    parse_script(source, path, module_of(path), classes);
  }
  return classes;
}

std::vector<ScriptValue> read_constants(const TsArchive& archive) {
  std::vector<ScriptValue> constants;
  if (!archive.contains("constants.pkl")) return constants;
  std::string label = archive.label() + ": constants.pkl";
  PickleRef root = read_pickle(*archive.read("constants.pkl", "constants"), label);
  if (root->kind != PickleValue::Kind::Tuple) {
    fail(ErrorKind::InvalidModel, label, ": expected a tuple, got a ",
         pickle_kind_name(root->kind));
  }
  StorageReader storages(archive, "constants/");
  for (size_t i = 0; i < root->items.size(); ++i) {
    const PickleValue& item = *root->items[i];
    ScriptValue value;
    switch (item.kind) {
      case PickleValue::Kind::Tensor:
        value.kind = ScriptValue::Kind::Constant;
        value.constant = std::make_shared<const Tensor>(
            storages.read(item.tensor, "CONSTANTS.c" + std::to_string(i)));
        value.complex = item.tensor.storage.complex;
        break;
      case PickleValue::Kind::Int:
        value = ScriptValue::of_int(item.integer);
        break;
      case PickleValue::Kind::Float:
        value = ScriptValue::of_float(item.number);
        break;
      case PickleValue::Kind::Bool:
        value = ScriptValue::of_bool(item.boolean);
        break;
      case PickleValue::Kind::None:
        break;
      default:
        break;  // kept as None; an error only if the code reads it
    }
    constants.push_back(std::move(value));
  }
  return constants;
}

std::vector<InputSpec> traced_inputs(const TsArchive& archive) {
  if (!archive.contains("traced_inputs.pkl")) {
    fail(ErrorKind::Unsupported, archive.label(),
         ": the archive has no traced_inputs.pkl, so the input shapes are unknown (a scripted "
         "module); pass them to import_torchscript_file(path, inputs)");
  }
  std::string label = archive.label() + ": traced_inputs.pkl";
  PickleRef root = read_pickle(*archive.read("traced_inputs.pkl", "traced inputs"), label);
  const PickleValue* forward = root->attribute("forward");
  if (root->kind != PickleValue::Kind::Dict || forward == nullptr ||
      (forward->kind != PickleValue::Kind::List && forward->kind != PickleValue::Kind::Tuple)) {
    fail(ErrorKind::InvalidModel, label, ": expected {'forward': [tensors]}");
  }
  std::vector<InputSpec> inputs;
  for (const PickleRef& item : forward->items) {
    if (item->kind != PickleValue::Kind::Tensor) {
      fail(ErrorKind::Unsupported, label, ": a traced input is a ", pickle_kind_name(item->kind),
           "; Kiln supports tensor inputs only");
    }
    if (item->tensor.storage.complex) {
      fail(ErrorKind::Unsupported, label, ": traced input ", inputs.size(), " is ",
           storage_type_name(item->tensor.storage),
           "; Kiln takes real inputs only: pass torch.view_as_real of it and call "
           "torch.view_as_complex in the model");
    }
    inputs.push_back({item->tensor.storage.dtype, item->tensor.sizes});
  }
  return inputs;
}

ir::Graph import_archive(const TsArchive& archive, std::optional<std::vector<InputSpec>> given) {
  check_version(archive);
  std::string data_label = archive.label() + ": data.pkl";
  PickleRef root = read_pickle(*archive.read("data.pkl", "the module tree"), data_label);
  if (root->kind != PickleValue::Kind::Object) {
    fail(ErrorKind::InvalidModel, data_label, ": the top value is a ", pickle_kind_name(root->kind),
         ", not a module");
  }
  std::map<std::string, ClassDef> classes = read_sources(archive);
  std::vector<InputSpec> inputs = given ? *given : traced_inputs(archive);

  ir::Graph graph;
  torch::ConversionContext context(graph, archive.label());
  context.set_uses_speculative(true);  // the interpreter binds every output of a call
  StorageReader parameters(archive, "data/");
  std::map<const PickleValue*, ir::Value*> bound;
  ScriptEnvironment environment;
  environment.classes = &classes;
  environment.constants = read_constants(archive);
  environment.label = archive.label();
  environment.parameter = [&](const PickleValue& tensor, const std::string& path) {
    auto it = bound.find(&tensor);
    if (it != bound.end()) return it->second;
    ir::Value* value =
        graph.add_constant(graph.unique_name(path), parameters.read(tensor.tensor, path));
    bound[&tensor] = value;
    if (tensor.tensor.storage.complex) context.mark_complex(value);  // (re, im) pairs
    return value;
  };
  ScriptInterpreter interpreter(std::move(environment), context);

  ScriptValue top;
  top.kind = ScriptValue::Kind::Module;
  top.module = root.get();
  const ClassDef& top_class = interpreter.class_of(*root);
  auto forward = top_class.methods.find("forward");
  if (forward == top_class.methods.end()) {
    fail(ErrorKind::InvalidModel, archive.label(), ": class ", top_class.name, " has no forward");
  }
  const std::vector<std::string>& names = forward->second.parameters;
  if (names.size() != inputs.size()) {
    fail(ErrorKind::InvalidArgument, archive.label(), ": forward takes ", names.size(),
         " inputs but ", inputs.size(), " input shapes are known");
  }
  std::vector<ScriptValue> arguments;
  for (size_t i = 0; i < names.size(); ++i) {
    ir::Value* input =
        graph.add_input(names[i], inputs[i].dtype, ir::Shape::from_dims(inputs[i].dims));
    context.define_tensor(names[i], input);
    arguments.push_back(ScriptValue::of_tensor(input));
  }
  ScriptValue result = interpreter.call_method(top, "forward", std::move(arguments));
  std::vector<ScriptValue> outputs =
      result.kind == ScriptValue::Kind::Tuple || result.kind == ScriptValue::Kind::List
          ? result.items
          : std::vector<ScriptValue>{result};
  AtenCaller constants(context);
  for (size_t i = 0; i < outputs.size(); ++i) {
    ir::Value* value = constants.tensor_of(outputs[i], "output_" + std::to_string(i));
    if (value == nullptr) {
      fail(ErrorKind::Unsupported, archive.label(), ": forward returns a ",
           kind_name(outputs[i].kind), " as output ", i, "; Kiln supports tensor outputs only");
    }
    graph.add_output(value);
  }
  return graph;
}

}  // namespace

ir::Graph import_torchscript_file(const std::filesystem::path& path) {
  return import_archive(TsArchive::open_file(path, kTorchScriptArchive), std::nullopt);
}

ir::Graph import_torchscript_file(const std::filesystem::path& path,
                                  const std::vector<InputSpec>& inputs) {
  return import_archive(TsArchive::open_file(path, kTorchScriptArchive), inputs);
}

ir::Graph import_torchscript_bytes(const std::string& bytes, const std::string& label) {
  return import_archive(TsArchive::open_bytes(bytes, label, kTorchScriptArchive), std::nullopt);
}

}  // namespace kiln::torchscript
