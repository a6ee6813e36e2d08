// Runs a case in a child process, so that a crash or a hang in one kernel fails that case
// only instead of ending the whole conformance run.
#pragma once

#include <functional>

#include "conformance/case_runner.h"

namespace kiln::conformance {

// Forks; the child runs `job` and sends its result back through a pipe. A child killed by a
// signal, or still running after `timeout_seconds`, gives a Failed result saying so.
CaseResult run_isolated(const std::string& name, const std::function<CaseResult()>& job,
                        unsigned timeout_seconds);

}  // namespace kiln::conformance
