// kiln compare: the normalized error and max abs difference between two tensor files (the
// second is the reference), e.g. a bf16 run's output against the fp32 run's.
#include <iostream>

#include "commands.h"
#include "core/tensor_io.h"

namespace kiln::cli {
namespace {

struct CompareOptions {
  std::string actual;
  std::string reference;
  double max_error = -1;  // < 0: report only
  bool json = false;
};

// A .npy file is one tensor, named after the file; a .safetensors file is many by name.
std::map<std::string, Tensor> read_tensors(const std::filesystem::path& path) {
  if (is_safetensors_path(path)) return read_safetensors(path);
  return {{path.stem().string(), read_npy(path)}};
}

int compare_files(const CompareOptions& options) {
  auto actual = read_tensors(options.actual);
  auto reference = read_tensors(options.reference);
  std::vector<std::pair<std::string, TensorComparison>> results;
  bool both_single = actual.size() == 1 && reference.size() == 1 &&
                     !is_safetensors_path(options.actual) &&
                     !is_safetensors_path(options.reference);
  if (both_single) {
    results.emplace_back(actual.begin()->first,
                         compare_tensors(actual.begin()->second, reference.begin()->second));
  } else {
    for (const auto& [name, tensor] : actual) {
      auto found = reference.find(name);
      if (found != reference.end())
        results.emplace_back(name, compare_tensors(tensor, found->second));
    }
    check(!results.empty(), ErrorKind::InvalidArgument, "'", options.actual, "' and '",
          options.reference, "' share no tensor names");
  }

  bool within = true;
  nlohmann::json report = nlohmann::json::array();
  for (const auto& [name, result] : results) {
    // A NaN error never passes a threshold.
    if (options.max_error >= 0 && !(result.normalized_error <= options.max_error)) within = false;
    if (options.json) {
      report.push_back({{"name", name},
                        {"normalized_error", result.normalized_error},
                        {"max_abs_diff", result.max_abs_diff}});
    } else {
      std::cout << name << "  normalized error " << format_number(result.normalized_error)
                << "  max abs diff " << format_number(result.max_abs_diff) << '\n';
    }
  }
  if (options.json) std::cout << report.dump(2) << '\n';
  if (!within) {
    std::cerr << "kiln: error: normalized error above --max-error "
              << format_number(options.max_error) << '\n';
    return 1;
  }
  return 0;
}

}  // namespace

Command add_compare_command(CLI::App& parent) {
  auto options = std::make_shared<CompareOptions>();
  CLI::App* app = parent.add_subcommand(
      "compare", "Compare tensor files: normalized error ||A-B||/||B|| and max |A-B|");
  app->add_option("actual", options->actual, "A: .npy or .safetensors")->required();
  app->add_option("reference", options->reference, "B, the reference: .npy or .safetensors")
      ->required();
  app->add_option("--max-error", options->max_error,
                  "Exit with status 1 if any normalized error exceeds this");
  app->add_flag("--json", options->json, "Print JSON instead of text");
  return {app, [options] { return compare_files(*options); }};
}

}  // namespace kiln::cli
