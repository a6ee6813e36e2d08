// Build progress on stderr (progress.h).
#include "progress.h"

#include <unistd.h>

#include <cstdio>

namespace kiln::cli {

engine::BuildProgress progress_printer(bool quiet) {
  if (quiet) return {};
  bool terminal = isatty(fileno(stderr)) != 0;
  return
      [terminal, last = size_t(-1)](const std::string& stage, size_t done, size_t total) mutable {
        if (total == 0) return;
        size_t tenth = done * 10 / total;
        if (terminal) {
          std::fprintf(stderr, "\r%s %zu/%zu", stage.c_str(), done, total);
          if (done == total) std::fprintf(stderr, "\n");
        } else if (tenth != last || done == total) {
          std::fprintf(stderr, "%s %zu/%zu\n", stage.c_str(), done, total);
        }
        last = tenth;
      };
}

}  // namespace kiln::cli
