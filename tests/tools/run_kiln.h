// Runs the built `kiln` executable with arguments and collects its exit status and output,
// and gives each CLI test its own scratch folder; shared by the CLI tests in tests/tools/.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

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

// A fresh folder per test, named after the test and the process (several build trees may
// test at once); checks the kiln binary was built.
class KilnCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(std::filesystem::path(KILN_BINARY_DIR) / "kiln"))
        << "the kiln executable is missing: build the kiln target";
    folder_ = std::filesystem::temp_directory_path() /
              ("kiln_cli_" +
               std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "_" +
               std::to_string(::getpid()));
    std::filesystem::remove_all(folder_);
    std::filesystem::create_directories(folder_);
  }
  void TearDown() override { std::filesystem::remove_all(folder_); }
  std::filesystem::path folder_;
};

}  // namespace kiln::testing_cli
