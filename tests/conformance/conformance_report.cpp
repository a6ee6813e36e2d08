// Printing and JSON writing of a conformance run's results.
#include "conformance/conformance_report.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "core/error.h"

namespace kiln::conformance {
namespace {

std::string trim(const std::string& text) {
  size_t begin = text.find_first_not_of(" \t\r");
  if (begin == std::string::npos) return "";
  size_t end = text.find_last_not_of(" \t\r");
  return text.substr(begin, end - begin + 1);
}

int count(const std::vector<CaseResult>& results, Outcome outcome) {
  return static_cast<int>(std::count_if(results.begin(), results.end(),
                                        [&](const CaseResult& r) { return r.outcome == outcome; }));
}

// The histogram's name for a skip: its first line plus the line after (where Kiln's "uses
// N unsupported ops" summary puts the specific cause), with node names blanked so that one
// cause in many cases counts as one reason.
std::string reason_key(const CaseResult& result) {
  std::string key = result.detail;
  size_t newline = result.message.find('\n');
  if (newline != std::string::npos) {
    std::string next = trim(
        result.message.substr(newline + 1, result.message.find('\n', newline + 1) - newline - 1));
    if (!next.empty()) key += " | " + next;
  }
  static const std::regex node_name("node '[^']*'");
  return std::regex_replace(key, node_name, "node '*'");
}

// Skip reasons, most frequent first (ties by text, for a stable order).
std::vector<std::pair<std::string, int>> skip_histogram(const std::vector<CaseResult>& results) {
  std::map<std::string, int> counts;
  for (const CaseResult& result : results) {
    if (result.outcome == Outcome::Skipped) ++counts[reason_key(result)];
  }
  std::vector<std::pair<std::string, int>> sorted(counts.begin(), counts.end());
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  return sorted;
}

}  // namespace

bool RunReport::is_known_failure(const CaseResult& result) const {
  return result.outcome == Outcome::Failed && known_failures.count(result.name) > 0;
}

int RunReport::unexpected_failures() const {
  return static_cast<int>(std::count_if(results.begin(), results.end(), [&](const CaseResult& r) {
    return r.outcome == Outcome::Failed && !is_known_failure(r);
  }));
}

void RunReport::print(std::ostream& out, size_t top_reasons) const {
  int known = 0;
  for (const CaseResult& result : results) {
    if (result.outcome != Outcome::Failed) continue;
    bool is_known = is_known_failure(result);
    known += is_known;
    out << "FAILED " << result.name << (is_known ? " (known)" : "") << ": " << result.stage << ": "
        << result.detail << "\n";
  }
  for (const CaseResult& result : results) {
    if (result.outcome == Outcome::Passed && known_failures.count(result.name)) {
      out << "note: " << result.name << " is in known_failures.txt but passed: remove it\n";
    }
  }
  out << "conformance: " << count(results, Outcome::Passed) << " passed, "
      << count(results, Outcome::Failed) << " failed, " << count(results, Outcome::Skipped)
      << " skipped";
  if (known > 0) out << " (" << known << " of the failures are known failures)";
  out << "\n";
  auto histogram = skip_histogram(results);
  if (!histogram.empty()) out << "skip reasons (top " << top_reasons << "):\n";
  for (size_t i = 0; i < histogram.size() && i < top_reasons; ++i) {
    out << "  " << histogram[i].second << "  " << histogram[i].first << "\n";
  }
}

void RunReport::write_json(const std::filesystem::path& path) const {
  nlohmann::json cases = nlohmann::json::array();
  for (const CaseResult& result : results) {
    nlohmann::json entry = {{"name", result.name}, {"outcome", outcome_name(result.outcome)}};
    if (result.outcome != Outcome::Passed) {
      entry["stage"] = result.stage;
      entry["detail"] = result.detail;
      if (!result.message.empty() && result.message != result.detail)
        entry["message"] = result.message;
    }
    if (is_known_failure(result)) entry["known_failure"] = known_failures.at(result.name);
    cases.push_back(std::move(entry));
  }
  nlohmann::json reasons = nlohmann::json::array();
  for (const auto& [reason, times] : skip_histogram(results)) {
    reasons.push_back({{"reason", reason}, {"count", times}});
  }
  nlohmann::json report = {
      {"passed", count(results, Outcome::Passed)},
      {"failed", count(results, Outcome::Failed)},
      {"skipped", count(results, Outcome::Skipped)},
      {"unexpected_failures", unexpected_failures()},
      {"skip_reasons", reasons},
      {"cases", cases},
  };
  std::ofstream file(path);
  check(static_cast<bool>(file), ErrorKind::InvalidArgument, "cannot write the JSON report ",
        path.string());
  file << report.dump(1) << "\n";
}

std::map<std::string, std::string> read_known_failures(const std::filesystem::path& path) {
  std::ifstream file(path);
  check(static_cast<bool>(file), ErrorKind::InvalidArgument, "cannot read known failures ",
        path.string());
  std::map<std::string, std::string> known;
  std::string line;
  for (int number = 1; std::getline(file, line); ++number) {
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    size_t hash = line.find('#');
    std::string reason = hash == std::string::npos ? "" : trim(line.substr(hash + 1));
    check(!reason.empty(), ErrorKind::InvalidArgument, path.string(), ":", number,
          ": give a reason after '#' for known failure '", trim(line.substr(0, hash)), "'");
    known[trim(line.substr(0, hash))] = reason;
  }
  return known;
}

}  // namespace kiln::conformance
