// Runs one ONNX node-test case folder (model.onnx + test_data_set_N/) on Kiln's CPU backend.
#pragma once

#include <filesystem>
#include <ostream>
#include <string>

#include "conformance/tensor_compare.h"

namespace kiln::conformance {

enum class Outcome { Passed, Failed, Skipped };

struct CaseResult {
  std::string name;
  Outcome outcome = Outcome::Failed;
  // Where it stopped: "manifest", "read", "import", "optimize", "run", "compare" ("" if passed).
  std::string stage;
  // Skipped: the reason (first line of Kiln's Unsupported error). Failed: the error or the
  // first mismatch, naming the data set and output.
  std::string detail;
  // The whole error message (for the JSON report); empty for mismatches and manifest skips.
  std::string message;
};

// Imports, optimizes and runs the case on every data set and compares all outputs.
// Never throws: every error becomes a Failed or Skipped result. With `trace`, the graph is
// printed there after import and after optimize (for triage).
CaseResult run_case(const std::filesystem::path& folder, const Tolerance& tolerance,
                    std::ostream* trace = nullptr);

std::string outcome_name(Outcome outcome);

}  // namespace kiln::conformance
