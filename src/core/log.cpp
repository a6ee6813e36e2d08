// Levelled logging to stderr.
#include "core/log.h"

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <mutex>

namespace kiln {
namespace {

LogLevel initial_level() {
  const char* env = std::getenv("KILN_LOG");
  if (!env) return LogLevel::Warn;
  if (!std::strcmp(env, "debug")) return LogLevel::Debug;
  if (!std::strcmp(env, "info")) return LogLevel::Info;
  if (!std::strcmp(env, "error")) return LogLevel::Error;
  if (!std::strcmp(env, "off")) return LogLevel::Off;
  return LogLevel::Warn;
}

// The one piece of process state: the level. Set by the program's entry point.
LogLevel& current_level() {
  static LogLevel level = initial_level();
  return level;
}

}  // namespace

void set_log_level(LogLevel level) { current_level() = level; }
LogLevel log_level() { return current_level(); }

void log_message(LogLevel level, const std::string& message) {
  static std::mutex mutex;
  static constexpr const char* kPrefix[] = {"debug", "info", "warning", "error", ""};
  std::lock_guard lock(mutex);
  std::cerr << "kiln " << kPrefix[static_cast<int>(level)] << ": " << message << '\n';
}

}  // namespace kiln
