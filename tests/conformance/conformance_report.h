// The summary of a conformance run: counts, skip-reason histogram, failure lines, JSON report.
#pragma once

#include <filesystem>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "conformance/case_runner.h"

namespace kiln::conformance {

struct RunReport {
  std::vector<CaseResult> results;
  // Case name → reason, from known_failures.txt: failures expected for now.
  std::map<std::string, std::string> known_failures;

  bool is_known_failure(const CaseResult& result) const;
  // Failures not listed in known_failures.txt: these make the run fail.
  int unexpected_failures() const;
  // "case: stage: detail" for each failure, then the summary line and the top skip reasons.
  void print(std::ostream& out, size_t top_reasons) const;
  void write_json(const std::filesystem::path& path) const;
};

// Reads "case_name  # reason" lines; blank lines and lines starting with '#' are ignored.
// A line without a reason is an InvalidArgument error: every entry must say why.
std::map<std::string, std::string> read_known_failures(const std::filesystem::path& path);

}  // namespace kiln::conformance
