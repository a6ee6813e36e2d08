// kiln_conformance: runs the ONNX backend node tests written by generate_node_tests.py on
// Kiln's CPU backend and prints passed / failed / skipped with reasons.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "conformance/case_runner.h"
#include "conformance/conformance_report.h"
#include "conformance/isolated_run.h"
#include "core/error.h"

namespace fs = std::filesystem;
using namespace kiln::conformance;

namespace {

constexpr const char* kUsage =
    "usage: kiln_conformance CASES_FOLDER [--manifest PATH] [--known-failures PATH]\n"
    "                        [--json PATH] [--filter SUBSTRING] [--timeout SECONDS]\n"
    "                        [--no-isolation] [--verbose] [--print-graphs]\n"
    "CASES_FOLDER holds <case>/model.onnx and <case>/test_data_set_N/ as written by\n"
    "tests/conformance/generate_node_tests.py; the manifest defaults to "
    "CASES_FOLDER/manifest.json.\n";

struct Options {
  fs::path cases_folder;
  fs::path manifest;
  fs::path known_failures;
  fs::path json_report;
  std::string filter;
  unsigned timeout_seconds = 120;
  bool isolate = true;  // --no-isolation runs cases in-process, for a debugger
  bool verbose = false;
  bool print_graphs = false;  // print each graph after import and optimize (implies --no-isolation)
};

Options parse_options(int argc, char** argv) {
  Options options;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (size_t i = 0; i < args.size(); ++i) {
    auto value = [&]() -> std::string {
      kiln::check(i + 1 < args.size(), kiln::ErrorKind::InvalidArgument, args[i],
                  " needs a value\n", kUsage);
      return args[++i];
    };
    if (args[i] == "--manifest")
      options.manifest = value();
    else if (args[i] == "--known-failures")
      options.known_failures = value();
    else if (args[i] == "--json")
      options.json_report = value();
    else if (args[i] == "--filter")
      options.filter = value();
    else if (args[i] == "--timeout")
      options.timeout_seconds = static_cast<unsigned>(std::stoul(value()));
    else if (args[i] == "--no-isolation")
      options.isolate = false;
    else if (args[i] == "--verbose")
      options.verbose = true;
    else if (args[i] == "--print-graphs")
      options.print_graphs = options.verbose = true;
    else if (args[i].starts_with("-") || !options.cases_folder.empty())
      kiln::fail(kiln::ErrorKind::InvalidArgument, "unexpected argument '", args[i], "'\n", kUsage);
    else
      options.cases_folder = args[i];
  }
  kiln::check(!options.cases_folder.empty(), kiln::ErrorKind::InvalidArgument, kUsage);
  if (options.manifest.empty()) options.manifest = options.cases_folder / "manifest.json";
  return options;
}

struct ManifestEntry {
  Tolerance tolerance;
  bool skipped = false;
  std::string reason;
};

std::map<std::string, ManifestEntry> read_manifest(const fs::path& path) {
  std::ifstream file(path);
  kiln::check(static_cast<bool>(file), kiln::ErrorKind::InvalidArgument, "cannot read manifest ",
              path.string(), ": run tests/conformance/generate_node_tests.py first");
  nlohmann::json manifest;
  try {
    manifest = nlohmann::json::parse(file);
  } catch (const nlohmann::json::exception& error) {
    kiln::fail(kiln::ErrorKind::InvalidArgument, path.string(), ": not valid JSON: ", error.what());
  }
  std::map<std::string, ManifestEntry> entries;
  for (const auto& item : manifest.at("cases")) {
    ManifestEntry entry;
    entry.tolerance.rtol = item.value("rtol", entry.tolerance.rtol);
    entry.tolerance.atol = item.value("atol", entry.tolerance.atol);
    entry.skipped = item.value("skipped", false);
    entry.reason = item.value("reason", "");
    entries[item.at("name").get<std::string>()] = entry;
  }
  return entries;
}

// The generated case folders (those with a model.onnx), sorted by name.
std::vector<fs::path> case_folders(const fs::path& folder) {
  kiln::check(fs::is_directory(folder), kiln::ErrorKind::InvalidArgument, "no cases folder ",
              folder.string());
  std::vector<fs::path> folders;
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (entry.is_directory() && fs::exists(entry.path() / "model.onnx"))
      folders.push_back(entry.path());
  }
  std::sort(folders.begin(), folders.end());
  return folders;
}

RunReport run_all(const Options& options) {
  RunReport report;
  if (!options.known_failures.empty())
    report.known_failures = read_known_failures(options.known_failures);
  std::map<std::string, ManifestEntry> manifest = read_manifest(options.manifest);
  for (const auto& [name, entry] : manifest) {
    if (entry.skipped && name.find(options.filter) != std::string::npos) {
      report.results.push_back(CaseResult{name, Outcome::Skipped, "manifest", entry.reason});
    }
  }
  for (const fs::path& folder : case_folders(options.cases_folder)) {
    const std::string name = folder.filename().string();
    if (name.find(options.filter) == std::string::npos) continue;
    auto found = manifest.find(name);
    Tolerance tolerance = found != manifest.end() ? found->second.tolerance : Tolerance{};
    auto job = [&] {
      return run_case(folder, tolerance, options.print_graphs ? &std::cout : nullptr);
    };
    CaseResult result = options.isolate && !options.print_graphs
                            ? run_isolated(name, job, options.timeout_seconds)
                            : job();
    if (options.verbose) {
      std::cout << outcome_name(result.outcome) << " " << name
                << (result.detail.empty() ? "" : ": " + result.stage + ": " + result.detail)
                << std::endl;
    }
    report.results.push_back(std::move(result));
  }
  return report;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Options options = parse_options(argc, argv);
    RunReport report = run_all(options);
    report.print(std::cout, 15);
    if (!options.json_report.empty()) report.write_json(options.json_report);
    return report.unexpected_failures() == 0 ? 0 : 1;
  } catch (const kiln::Error& error) {
    std::cerr << "kiln_conformance: " << error.what() << "\n";
    return 2;
  }
}
