// One small logging facility: levelled messages to stderr. The level is owned by whoever
// calls set_log_level (the CLI from --verbose/--quiet); KILN_LOG=debug|info|warn|error
// sets the initial level.
#pragma once

#include <sstream>
#include <string>

namespace kiln {

enum class LogLevel { Debug, Info, Warn, Error, Off };

void set_log_level(LogLevel level);
LogLevel log_level();
void log_message(LogLevel level, const std::string& message);

template <typename... Parts>
void log(LogLevel level, const Parts&... parts) {
  if (level < log_level()) return;
  std::ostringstream message;
  (message << ... << parts);
  log_message(level, message.str());
}
template <typename... Parts>
void log_debug(const Parts&... p) {
  log(LogLevel::Debug, p...);
}
template <typename... Parts>
void log_info(const Parts&... p) {
  log(LogLevel::Info, p...);
}
template <typename... Parts>
void log_warn(const Parts&... p) {
  log(LogLevel::Warn, p...);
}

}  // namespace kiln
