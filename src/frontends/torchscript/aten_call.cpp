// Resolving torch.* calls against the schema table and running the shared ATen converters.
#include "frontends/torchscript/aten_call.h"

#include <map>
#include <sstream>

#include "core/error.h"
#include "frontends/torch/aten_ops.h"
#include "frontends/torchscript/torch_schemas.h"

namespace kiln::torchscript {
namespace {

using Kind = ScriptValue::Kind;

bool matches(ArgKind kind, const ScriptValue& value) {
  switch (kind) {
    case ArgKind::Any:
      return true;
    case ArgKind::Tensor:
      return value.is_tensor_like();
    case ArgKind::Number:
      return value.kind == Kind::Int || value.kind == Kind::Float || value.kind == Kind::Bool;
    case ArgKind::Device:
      return value.kind == Kind::Device;
    case ArgKind::List:
      return value.kind == Kind::List || value.kind == Kind::Tuple;
    case ArgKind::String:
      return value.kind == Kind::String;
  }
  return false;
}

// The overload whose argument kinds fit the call, with the call's arguments by name.
const TorchOverload* resolve(const std::vector<TorchOverload>& overloads, const ScriptCall& call,
                             std::map<std::string, ScriptValue>& named) {
  for (const TorchOverload& overload : overloads) {
    if (call.positional.size() > overload.arguments.size()) continue;
    named.clear();
    bool fits = true;
    for (size_t i = 0; i < call.positional.size() && fits; ++i) {
      fits = matches(overload.arguments[i].kind, call.positional[i]);
      named[overload.arguments[i].name] = call.positional[i];
    }
    for (const auto& [keyword, value] : call.keywords) {
      bool known = false;
      for (const SchemaArgument& argument : overload.arguments) {
        if (argument.name == keyword) {
          known = matches(argument.kind, value);
          break;
        }
      }
      fits = fits && known && !named.count(keyword);
      named[keyword] = value;
    }
    for (size_t i = 0; i < overload.required && fits; ++i) {
      fits = named.count(overload.arguments[i].name) > 0;
    }
    if (fits) return &overload;
  }
  return nullptr;
}

// c10::ScalarType codes, as TorchScript source writes dtypes (dtype=6 is float32).
DType dtype_of_scalar_type(int64_t code, const ScriptCall& call) {
  switch (code) {
    case 0:
      return DType::UInt8;
    case 1:
      return DType::Int8;
    case 2:
      return DType::Int16;
    case 3:
      return DType::Int32;
    case 4:
      return DType::Int64;
    case 5:
      return DType::Float16;
    case 6:
      return DType::Float32;
    case 7:
      return DType::Float64;
    case 11:
      return DType::Bool;
    case 15:
      return DType::BFloat16;
    default:
      fail(ErrorKind::Unsupported, call.source, ": torch.", call.function, " asks for dtype code ",
           code, code == 8 ? " (complex32)" : " (quantized or float8)",
           ", which Kiln does not support");
  }
}

// Overloads that return a tuple of tensors, and how many.
size_t tuple_output_count(const std::string& target) {
  static const std::map<std::string, size_t, std::less<>> kCounts = {
      {"aten.lstm.input", 3},
      {"aten.max.dim", 2},
      {"aten.min.dim", 2},
      {"aten.gru.input", 2},
      {"aten._native_multi_head_attention.default", 2},
      {"aten.sort.default", 2},
      {"aten.sort.stable", 2},
      {"aten.topk.default", 2},
      {"aten.aminmax.default", 2},
      {"aten.kthvalue.default", 2},
      {"aten.median.dim", 2},
      {"aten.nanmedian.dim", 2},
      {"aten.cummax.default", 2},
      {"aten.cummin.default", 2},
      {"aten.var_mean.dim", 2},
      {"aten.var_mean.correction", 2},
      {"aten.var_mean.default", 2},
      {"aten.std_mean.dim", 2},
      {"aten.std_mean.correction", 2},
      {"aten.std_mean.default", 2},
      {"aten.adaptive_max_pool1d.default", 2},
      {"aten.adaptive_max_pool2d.default", 2},
      {"aten.adaptive_max_pool3d.default", 2},
      {"aten.log_sigmoid_forward.default", 2},
      {"aten.embedding_bag.default", 4},
      {"aten.embedding_bag.padding_idx", 4},
      {"aten._embedding_bag.default", 4},
      {"aten._embedding_bag_forward_only.default", 4},
      {"aten.rrelu_with_noise_functional.default", 2},
  };
  auto found = kCounts.find(target);
  return found == kCounts.end() ? 0 : found->second;
}

std::string describe_kinds(const ScriptCall& call) {
  std::ostringstream text;
  text << "(";
  for (size_t i = 0; i < call.positional.size(); ++i)
    text << (i ? ", " : "") << kind_name(call.positional[i].kind);
  for (const auto& [keyword, value] : call.keywords)
    text << ", " << keyword << "=" << kind_name(value.kind);
  text << ")";
  return text.str();
}

}  // namespace

ir::Value* AtenCaller::tensor_of(const ScriptValue& value, const std::string& name) {
  if (value.kind == Kind::Tensor) return value.tensor;
  if (value.kind != Kind::Constant) return nullptr;
  auto it = constants_.find(value.constant.get());
  if (it != constants_.end()) return it->second;
  ir::Value* constant = context_.constant(name, *value.constant);
  constants_[value.constant.get()] = constant;
  if (value.complex) context_.mark_complex(constant);
  return constant;
}

torch::Argument AtenCaller::argument(const std::string& name, const ScriptValue& value,
                                     const ScriptCall& call) {
  if (value.kind == Kind::None) return torch::NoneArg{};
  if (name == "dtype" && value.kind == Kind::Int) {
    // complex64 and complex128 as the ATen converters that make complex tensors read them.
    if (value.integer == 9 || value.integer == 10)
      return torch::OtherArg{value.integer == 9 ? "dtype complex64" : "dtype complex128"};
    return dtype_of_scalar_type(value.integer, call);
  }
  if (name == "layout" || name == "memory_format" || value.kind == Kind::Device) {
    return torch::OtherArg{
        name + " " + (value.kind == Kind::Device ? value.text : std::to_string(value.integer))};
  }
  switch (value.kind) {
    case Kind::Tensor:
    case Kind::Constant:
      return tensor_of(value, call.name + "_" + name);
    case Kind::Int:
      return value.integer;
    case Kind::Float:
      return value.number;
    case Kind::Bool:
      return value.boolean;
    case Kind::String:
      return value.text;
    case Kind::List:
    case Kind::Tuple: {
      bool any_tensor = false, any_float = false, all_bool = !value.items.empty();
      for (const ScriptValue& item : value.items) {
        any_tensor = any_tensor || item.is_tensor_like() || item.kind == Kind::None;
        any_float = any_float || item.kind == Kind::Float;
        all_bool = all_bool && item.kind == Kind::Bool;
      }
      if (any_tensor) {
        torch::TensorList tensors;
        for (const ScriptValue& item : value.items) {
          if (item.kind != Kind::None && !item.is_tensor_like()) break;
          tensors.push_back(item.kind == Kind::None ? nullptr
                                                    : tensor_of(item, call.name + "_" + name));
        }
        if (tensors.size() == value.items.size()) return tensors;
      } else if (all_bool) {
        std::vector<bool> flags;
        for (const ScriptValue& item : value.items) flags.push_back(item.boolean);
        return flags;
      } else if (any_float) {
        std::vector<double> numbers;
        for (const ScriptValue& item : value.items) numbers.push_back(item.as_double());
        return numbers;
      } else {
        std::vector<int64_t> numbers;
        bool all_int = true;
        for (const ScriptValue& item : value.items) {
          all_int = all_int && item.kind == Kind::Int;
          if (all_int) numbers.push_back(item.integer);
        }
        if (all_int) return numbers;
      }
      break;
    }
    default:
      break;
  }
  fail(ErrorKind::Unsupported, call.source, ": torch.", call.function, " argument '", name,
       "' is a ", kind_name(value.kind), " that Kiln cannot pass to an ATen op");
}

size_t AtenCaller::list_length(const std::string& target,
                               const std::map<std::string, ScriptValue>& args,
                               const ScriptCall& call) {
  auto get = [&](const char* key) -> const ScriptValue* {
    auto it = args.find(key);
    return it == args.end() ? nullptr : &it->second;
  };
  if (target == "aten.split_with_sizes.default") return get("split_sizes")->items.size();
  if (target == "aten.meshgrid.indexing" || target == "aten.meshgrid.default")
    return get("tensors")->items.size();
  if (target == "aten.tensor_split.indices") return get("indices")->items.size() + 1;
  if (target == "aten.tensor_split.sections") {
    const ScriptValue* sections = get("sections");
    if (sections == nullptr || sections->kind != Kind::Int || sections->integer <= 0)
      fail(ErrorKind::InvalidModel, call.source, ": torch.tensor_split needs positive sections");
    return static_cast<size_t>(sections->integer);
  }
  const ScriptValue* self = get("self");
  ir::Value* tensor = tensor_of(*self, call.name + "_self");
  const ScriptValue* dim_value = get("dim");
  int64_t rank = static_cast<int64_t>(tensor->shape.rank());
  int64_t dim = dim_value && dim_value->kind == Kind::Int ? dim_value->integer : 0;
  if (dim < 0) dim += rank;
  if (dim < 0 || dim >= rank || !tensor->shape[static_cast<size_t>(dim)].is_static()) {
    fail(ErrorKind::Unsupported, call.source, ": torch.", call.function, " along dim ", dim,
         " of a tensor shaped ", tensor->shape.to_string(), ": the piece count must be static");
  }
  int64_t size = tensor->shape[static_cast<size_t>(dim)].value;
  if (target == "aten.unbind.int") return static_cast<size_t>(size);
  bool chunk = target == "aten.chunk.default";
  const ScriptValue* count = get(chunk ? "chunks" : "split_size");
  if (!count || count->kind != Kind::Int || count->integer <= 0) {
    fail(ErrorKind::InvalidModel, call.source, ": torch.", call.function, " needs a positive int ",
         chunk ? "chunks" : "split_size");
  }
  // chunk cuts pieces of ceil(size / chunks), so it can give fewer pieces than asked.
  int64_t piece = chunk ? (size + count->integer - 1) / count->integer : count->integer;
  if (size == 0) return chunk ? static_cast<size_t>(count->integer) : 1;
  return static_cast<size_t>((size + piece - 1) / piece);
}

ScriptValue AtenCaller::call(const ScriptCall& call) {
  const std::vector<TorchOverload>* overloads = find_torch_overloads(call.function);
  // An in-place variant without a row of its own (masked_fill_, clamp_) converts as the
  // functional op; the interpreter then rebinds the names that held the operand.
  if (overloads == nullptr && call.function.size() > 1 && call.function.back() == '_' &&
      !call.function.starts_with("__")) {
    overloads = find_torch_overloads(call.function.substr(0, call.function.size() - 1));
  }
  if (overloads == nullptr) {
    fail(ErrorKind::Unsupported, call.source, ": torch.", call.function,
         " is not supported by Kiln's TorchScript frontend (no ATen mapping for it)");
  }
  std::map<std::string, ScriptValue> named;
  const TorchOverload* overload = resolve(*overloads, call, named);
  if (overload == nullptr) {
    fail(ErrorKind::Unsupported, call.source, ": torch.", call.function, describe_kinds(call),
         " matches none of its ATen overloads that Kiln knows (", (*overloads)[0].target, ", ...)");
  }
  const torch::AtenConverter* converter = torch::find_aten_converter(overload->target);
  if (converter == nullptr) {
    fail(ErrorKind::Unsupported, call.source, ": torch.", call.function, " (", overload->target,
         ") has no converter in Kiln's ATen table");
  }
  std::vector<torch::NamedArgument> arguments;
  for (const SchemaArgument& schema : overload->arguments) {
    auto it = named.find(schema.name);
    if (it == named.end()) continue;
    torch::Argument value = argument(schema.name, it->second, call);
    std::string tensor_name;
    if (auto* tensor = std::get_if<ir::Value*>(&value)) tensor_name = (*tensor)->name;
    arguments.push_back({schema.name, std::move(value), tensor_name});
  }
  std::string base = call.name + "#" + std::to_string(counter_++);
  bool is_list =
      overload->target == "aten.split.Tensor" ||
      overload->target == "aten.split_with_sizes.default" ||
      overload->target == "aten.chunk.default" || overload->target == "aten.unbind.int" ||
      overload->target == "aten.meshgrid.indexing" || overload->target == "aten.meshgrid.default" ||
      overload->target == "aten.tensor_split.indices" ||
      overload->target == "aten.tensor_split.sections";
  size_t tuple_size = tuple_output_count(overload->target);
  std::vector<torch::OutputSlot> slots;
  if (is_list) {
    torch::OutputSlot slot{torch::OutputSlot::Kind::TensorList, {}};
    size_t count = list_length(overload->target, named, call);
    for (size_t i = 0; i < count; ++i) slot.names.push_back(base + "." + std::to_string(i));
    slots.push_back(std::move(slot));
  } else if (tuple_size > 0) {
    for (size_t i = 0; i < tuple_size; ++i) {
      slots.push_back({torch::OutputSlot::Kind::Tensor, {base + "." + std::to_string(i)}});
    }
  } else {
    slots.push_back({torch::OutputSlot::Kind::Tensor, {base}});
  }
  for (const torch::OutputSlot& slot : slots) {
    for (const std::string& name : slot.names) context_.mark_used(name);
  }
  torch::AtenNode node(context_, overload->target, call.name, call.source, std::move(arguments),
                       slots);
  (*converter)(node);
  ScriptValue result;
  result.kind = tuple_size > 0 ? Kind::Tuple : Kind::List;
  for (const torch::OutputSlot& slot : slots) {
    for (const std::string& name : slot.names) {
      ir::Value* value = context_.find_tensor(name);
      if (value == nullptr && tuple_size > 0 && !result.items.empty()) {
        // A training-only output the converter left out (embedding_bag's offset2bag, pooling
        // indices): None, so that only a model that reads it fails, there.
        result.items.push_back(ScriptValue{});
        continue;
      }
      if (value == nullptr) {
        fail(ErrorKind::Unsupported, call.source, ": torch.", call.function, " (", overload->target,
             ") produced no tensor '", name, "'");
      }
      result.items.push_back(ScriptValue::of_tensor(value));
    }
  }
  return is_list || tuple_size > 0 ? result : result.items.front();
}

}  // namespace kiln::torchscript
