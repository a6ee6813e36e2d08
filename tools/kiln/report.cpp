// Number and statistics formatting shared by the subcommands' reports.
#include <sys/resource.h>

#include <cmath>
#include <sstream>

#include "commands.h"

namespace kiln::cli {

double milliseconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

uint64_t peak_host_memory_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return uint64_t(usage.ru_maxrss) * 1024;  // Linux reports kilobytes
}

std::string format_number(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  std::ostringstream out;
  out.precision(6);
  out << value;
  return out.str();
}

std::string format_values(const std::vector<double>& values) {
  std::string text = "[";
  for (size_t i = 0; i < values.size(); ++i) text += (i ? ", " : "") + format_number(values[i]);
  return text + "]";
}

std::string format_stats_line(const TensorStats& stats) {
  std::string line = "mean " + format_number(stats.mean) + "  std " + format_number(stats.std) +
                     "  min " + format_number(stats.min) + "  max " + format_number(stats.max);
  if (stats.nan_count) line += "  nan " + std::to_string(stats.nan_count);
  if (stats.inf_count) line += "  inf " + std::to_string(stats.inf_count);
  return line;
}

nlohmann::json stats_to_json(const TensorStats& stats) {
  // JSON has no NaN or infinity; nlohmann writes them as null, which readers handle.
  return {{"mean", stats.mean},
          {"std", stats.std},
          {"min", stats.min},
          {"max", stats.max},
          {"nan_count", stats.nan_count},
          {"inf_count", stats.inf_count},
          {"first_values", stats.first_values}};
}

std::string file_safe_name(const std::string& tensor_name) {
  std::string name = tensor_name;
  for (char& c : name) {
    bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == '-';
    if (!safe) c = '_';
  }
  if (name.empty() || name == "." || name == "..") name = "_" + name;
  return name;
}

}  // namespace kiln::cli
