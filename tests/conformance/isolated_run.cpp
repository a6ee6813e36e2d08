// fork + pipe + waitpid around one case; the result crosses the pipe as four NUL-separated
// fields (outcome, stage, detail, message).
#include "conformance/isolated_run.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace kiln::conformance {
namespace {

void write_all(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t written = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (written <= 0) return;
    done += static_cast<size_t>(written);
  }
}

std::string read_all(int fd) {
  std::string bytes;
  char buffer[4096];
  for (ssize_t count; (count = ::read(fd, buffer, sizeof buffer)) > 0;) bytes.append(buffer, count);
  return bytes;
}

CaseResult failed(const std::string& name, const std::string& detail) {
  return CaseResult{name, Outcome::Failed, "crash", detail};
}

}  // namespace

CaseResult run_isolated(const std::string& name, const std::function<CaseResult()>& job,
                        unsigned timeout_seconds) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) return failed(name, "pipe() failed: " + std::string(strerror(errno)));
  pid_t child = ::fork();
  if (child < 0) return failed(name, "fork() failed: " + std::string(strerror(errno)));
  if (child == 0) {
    ::close(pipe_fds[0]);
    ::alarm(timeout_seconds);  // SIGALRM ends a hung case
    CaseResult result = job();
    std::string message = std::to_string(static_cast<int>(result.outcome));
    message += '\0' + result.stage + '\0' + result.detail + '\0' + result.message;
    write_all(pipe_fds[1], message);
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  std::string message = read_all(pipe_fds[0]);
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  if (WIFSIGNALED(status)) {
    int signal_number = WTERMSIG(status);
    if (signal_number == SIGALRM) {
      return failed(name, "timed out after " + std::to_string(timeout_seconds) + " s");
    }
    return failed(name, "crashed with signal " + std::to_string(signal_number) + " (" +
                            strsignal(signal_number) + ")");
  }
  size_t first = message.find('\0');
  size_t second = first == std::string::npos ? first : message.find('\0', first + 1);
  size_t third = second == std::string::npos ? second : message.find('\0', second + 1);
  if (third == std::string::npos) {
    return failed(
        name, "exited with status " + std::to_string(WEXITSTATUS(status)) + " without a result");
  }
  CaseResult result;
  result.name = name;
  result.outcome = static_cast<Outcome>(std::stoi(message.substr(0, first)));
  result.stage = message.substr(first + 1, second - first - 1);
  result.detail = message.substr(second + 1, third - second - 1);
  result.message = message.substr(third + 1);
  return result;
}

}  // namespace kiln::conformance
