// Model inputs from files named on the command line.
#include "kiln/inputs.h"

#include <charconv>

#include "core/log.h"
#include "core/tensor_io.h"

namespace kiln {
namespace {

const ir::Value* find_input(const ir::Graph& graph, const std::string& name) {
  for (const ir::Value* input : graph.inputs()) {
    if (input->name == name) return input;
  }
  return nullptr;
}

std::string input_list(const ir::Graph& graph) {
  std::string names;
  for (const ir::Value* input : graph.inputs()) names += (names.empty() ? "" : ", ") + input->name;
  return names.empty() ? "none" : names;
}

// "'path'" for messages (built with += : GCC 12 warns falsely on "'" + string + "'").
std::string quoted(const std::filesystem::path& path) {
  std::string text = "'";
  text += path.string();
  text += '\'';
  return text;
}

// Converts between float types or between integer types; anything else is an error.
Tensor match_dtype(const Tensor& tensor, const ir::Value& input, const std::string& source) {
  if (tensor.dtype() == input.dtype || input.dtype == DType::Undefined) return tensor;
  bool same_family = (is_floating(tensor.dtype()) && is_floating(input.dtype)) ||
                     (is_integral(tensor.dtype()) && is_integral(input.dtype));
  check(same_family, ErrorKind::InvalidArgument, "input '", input.name, "' is ",
        dtype_name(input.dtype), " but ", source, " holds ", dtype_name(tensor.dtype()));
  log_warn("input '", input.name, "': converting ", dtype_name(tensor.dtype()), " from ", source,
           " to ", dtype_name(input.dtype));
  return tensor.to(input.dtype);
}

}  // namespace

InputSpec parse_input_spec(std::string_view text) {
  size_t equals = text.find('=');
  if (equals == std::string_view::npos) {
    check(!text.empty(), ErrorKind::InvalidArgument, "--input needs NAME=FILE or FILE");
    return {"", std::filesystem::path(text)};
  }
  InputSpec spec{std::string(text.substr(0, equals)),
                 std::filesystem::path(text.substr(equals + 1))};
  check(!spec.name.empty() && !spec.file.empty(), ErrorKind::InvalidArgument, "--input '", text,
        "' needs the form NAME=FILE");
  return spec;
}

std::pair<std::string, int64_t> parse_dim_size(std::string_view text) {
  DimSpec spec = parse_dim_spec(text);
  check(!spec.range, ErrorKind::InvalidArgument, "--dim '", text,
        "': a MIN:OPT:MAX range is for `kiln build`; give one size here (NAME=SIZE)");
  return {spec.name, spec.size};
}

DimSpec parse_dim_spec(std::string_view text) {
  size_t equals = text.find('=');
  check(equals != std::string_view::npos && equals > 0, ErrorKind::InvalidArgument, "--dim '", text,
        "' needs the form NAME=SIZE or NAME=MIN:OPT:MAX, e.g. batch=8 or batch=1:8:32");
  std::string_view value = text.substr(equals + 1);
  std::vector<int64_t> sizes;
  size_t start = 0;
  while (true) {
    size_t colon = value.find(':', start);
    std::string_view digits = value.substr(
        start, colon == std::string_view::npos ? std::string_view::npos : colon - start);
    int64_t size = -1;
    auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), size);
    check(error == std::errc() && end == digits.data() + digits.size() && size >= 0 &&
              !digits.empty(),
          ErrorKind::InvalidArgument, "--dim '", text,
          "': sizes must be non-negative integers (NAME=SIZE or NAME=MIN:OPT:MAX)");
    sizes.push_back(size);
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  check(sizes.size() == 1 || sizes.size() == 3, ErrorKind::InvalidArgument, "--dim '", text,
        "' needs one size (NAME=SIZE) or three (NAME=MIN:OPT:MAX)");
  DimSpec spec{std::string(text.substr(0, equals)), sizes.size() == 1 ? sizes[0] : sizes[1], {}};
  if (sizes.size() == 3) {
    check(sizes[0] <= sizes[1] && sizes[1] <= sizes[2], ErrorKind::InvalidArgument, "--dim '", text,
          "': MIN <= OPT <= MAX is needed");
    spec.range = ir::DimRange{sizes[0], sizes[2]};
  }
  return spec;
}

std::map<std::string, Tensor> load_input_files(const std::vector<InputSpec>& specs,
                                               const ir::Graph& graph,
                                               std::map<std::string, std::string>* sources) {
  std::map<std::string, Tensor> inputs;
  auto add = [&](const std::string& name, const Tensor& tensor, const InputSpec& spec) {
    const ir::Value* input = find_input(graph, name);
    check(input != nullptr, ErrorKind::InvalidArgument, "the model has no input named '", name,
          "' (its inputs: ", input_list(graph), ")");
    check(inputs.count(name) == 0, ErrorKind::InvalidArgument, "input '", name, "' is given twice");
    inputs.emplace(name, match_dtype(tensor, *input, quoted(spec.file)));
    if (sources) (*sources)[name] = spec.file.string();
  };
  for (const InputSpec& spec : specs) {
    std::string source = quoted(spec.file);
    if (!is_safetensors_path(spec.file)) {
      std::string name = spec.name;
      if (name.empty()) {
        check(graph.inputs().size() == 1, ErrorKind::InvalidArgument, "--input ",
              spec.file.string(), " gives no input name, and the model has ", graph.inputs().size(),
              " inputs (", input_list(graph), "); use NAME=FILE");
        name = graph.inputs()[0]->name;
      }
      add(name, read_npy(spec.file), spec);
      continue;
    }
    std::map<std::string, Tensor> tensors = read_safetensors(spec.file);
    if (!spec.name.empty()) {
      auto found = tensors.find(spec.name);
      check(found != tensors.end(), ErrorKind::InvalidArgument, source, " holds no tensor named '",
            spec.name, "'");
      add(spec.name, found->second, spec);
      continue;
    }
    int used = 0;
    for (const auto& [name, tensor] : tensors) {
      if (find_input(graph, name) == nullptr) {
        log_info(source, ": tensor '", name, "' is not a model input; ignored");
        continue;
      }
      add(name, tensor, spec);
      ++used;
    }
    check(used > 0, ErrorKind::InvalidArgument, source,
          " holds no tensor named like a model input (inputs: ", input_list(graph), ")");
  }
  return inputs;
}

DimSizes dim_sizes_from_inputs(const ir::Graph& graph,
                               const std::map<std::string, Tensor>& inputs) {
  DimSizes sizes;
  for (const auto& [name, tensor] : inputs) {
    const ir::Value* input = find_input(graph, name);
    if (input == nullptr || !input->shape.rank_known()) continue;
    check(input->shape.rank() == tensor.rank(), ErrorKind::InvalidArgument, "input '", name,
          "' has dims ", dims_to_string(tensor.dims()), " but the model expects ",
          input->shape.to_string());
    for (int64_t axis = 0; axis < tensor.rank(); ++axis) {
      const ir::Dim& dim = input->shape[axis];
      if (!dim.is_symbolic()) continue;
      auto [found, inserted] = sizes.emplace(dim.symbol, tensor.dim(axis));
      check(inserted || found->second == tensor.dim(axis), ErrorKind::InvalidArgument,
            "inputs disagree on dim '", dim.symbol, "': ", found->second, " and ", tensor.dim(axis),
            " (in '", name, "')");
    }
  }
  return sizes;
}

}  // namespace kiln
