// What the subcommand files share: how a subcommand plugs into the app, the usage error
// type (exit status 2), and the report formatting used by several commands.
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "core/tensor.h"
#include "driver/model_runner.h"
#include "kiln/summary.h"

namespace kiln::cli {

// The driver's runner and backend choice, shared with the Python module.
using driver::Backend;
using driver::backend_name;
using driver::LayerProfile;
using driver::ModelRunner;
using driver::resolve_backend;
using driver::timing_method;

// A bad command line found after CLI11 parsed it (e.g. "--precision fp33"): exit status 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Runs `parse` and turns any kiln::Error it throws into a UsageError.
template <typename Fn>
auto parse_argument(Fn&& parse) -> decltype(parse()) {
  try {
    return parse();
  } catch (const Error& error) {
    throw UsageError(error.what());
  }
}

// A subcommand: its CLI11 app, and what to run when it was chosen. Returns the exit status.
struct Command {
  CLI::App* app;
  std::function<int()> run;
};

Command add_run_command(CLI::App& parent);
Command add_inspect_command(CLI::App& parent);
Command add_compare_command(CLI::App& parent);
Command add_build_command(CLI::App& parent);
Command add_bench_command(CLI::App& parent);
Command add_sweep_command(CLI::App& parent);
Command add_debug_precision_command(CLI::App& parent);

// Report helpers (report.cpp).
std::string format_number(double value);  // 6 significant digits; "nan", "inf"
double milliseconds_since(std::chrono::steady_clock::time_point start);
// The most host memory this process has held so far (peak resident set size), in bytes.
uint64_t peak_host_memory_bytes();
std::string format_values(const std::vector<double>& values);  // "[0.1, 0.2, ...]"
std::string format_stats_line(const TensorStats& stats);       // "mean … std … min … max …"
nlohmann::json stats_to_json(const TensorStats& stats);
// File names from tensor names: characters outside [A-Za-z0-9._-] become '_'.
std::string file_safe_name(const std::string& tensor_name);

}  // namespace kiln::cli
