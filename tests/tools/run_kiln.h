// Runs the built `kiln` executable with arguments and collects its exit status and output,
// for the CLI tests (the older kiln_cli_test.cpp and kiln_build_cli_test.cpp keep own copies).
#pragma once

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace kiln::testing_cli {

struct KilnResult {
  int status;  // exit status; -1 when kiln did not exit normally
  std::string out;
  std::string err;
};

// `arguments` are already shell-quoted where needed; both streams go through files in `folder`.
inline KilnResult run_kiln(const std::string& arguments, const std::filesystem::path& folder) {
  std::filesystem::path binary = std::filesystem::path(KILN_BINARY_DIR) / "kiln";
  std::filesystem::path out = folder / "stdout.txt", err = folder / "stderr.txt";
  std::string command =
      binary.string() + " " + arguments + " >" + out.string() + " 2>" + err.string();
  int raw = std::system(command.c_str());
  auto slurp = [](const std::filesystem::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  };
  return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, slurp(out), slurp(err)};
}

}  // namespace kiln::testing_cli
