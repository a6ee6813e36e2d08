// The kiln command-line tool: parses the command line and maps every failure to one line on
// stderr and an exit status (2: bad arguments, 1: model or runtime error).
#include <filesystem>
#include <iostream>
#include <vector>

#include "commands.h"
#include "core/error.h"
#include "core/log.h"

namespace {

constexpr int kExitModelError = 1;
constexpr int kExitUsageError = 2;

int report_error(const std::string& message, int status) {
  std::cerr << "kiln: error: " << message << '\n';
  return status;
}

int run_cli(int argc, char** argv) {
  CLI::App app{
      "Kiln: compiles PyTorch models (.pt2, .pt, .onnx) into inference engines and runs them, "
      "with BF16 beside FP32, TF32 and FP16."};
  app.name("kiln");
  app.set_version_flag("--version", "kiln " KILN_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // -v and -q work after the subcommand too
  bool verbose = false, quiet = false;
  app.add_flag("-v,--verbose", verbose, "Log debug messages to stderr");
  app.add_flag("-q,--quiet", quiet, "Log only errors");

  std::vector<kiln::cli::Command> commands{kiln::cli::add_run_command(app),
                                           kiln::cli::add_inspect_command(app),
                                           kiln::cli::add_compare_command(app),
                                           kiln::cli::add_build_command(app),
                                           kiln::cli::add_bench_command(app),
                                           kiln::cli::add_sweep_command(app),
                                           kiln::cli::add_debug_precision_command(app)};
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    return app.exit(CLI::CallForHelp());
  } catch (const CLI::CallForAllHelp&) {
    return app.exit(CLI::CallForAllHelp());
  } catch (const CLI::CallForVersion& version) {
    std::cout << version.what() << '\n';
    return 0;
  } catch (const CLI::ParseError& error) {
    return report_error(std::string(error.what()) + " (see 'kiln --help')", kExitUsageError);
  }
  if (verbose) kiln::set_log_level(kiln::LogLevel::Debug);
  if (quiet) kiln::set_log_level(kiln::LogLevel::Error);

  for (const kiln::cli::Command& command : commands) {
    if (command.app->parsed()) return command.run();
  }
  return report_error("no command given (see 'kiln --help')", kExitUsageError);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run_cli(argc, argv);
  } catch (const kiln::cli::UsageError& error) {
    return report_error(error.what(), kExitUsageError);
  } catch (const kiln::Error& error) {
    return report_error(error.what(), kExitModelError);
  } catch (const std::filesystem::filesystem_error& error) {
    return report_error(error.what(), kExitModelError);
  } catch (const std::exception& error) {
    return report_error(std::string("internal error: ") + error.what(), kExitModelError);
  } catch (...) {
    return report_error("internal error: unknown exception", kExitModelError);
  }
}
