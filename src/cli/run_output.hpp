#pragma once
// What `tspemu run` prints (stdout: the header, partition and binding lines, the summary, the check
// lines and the final `digest:` line; stderr: progress, `check: FAILED`, the error line) from the
// typed values the runtime returns (runtime/run.hpp). The runtime itself never prints.

#include <cstdio>
#include <optional>

#include "common/progress.hpp"
#include "runtime/run.hpp"

namespace tspemu::cli {

struct RunOutputOptions {
  bool quiet = false;           // only the digest line on stdout
  bool report_binding = false;  // every rank's binding under the binding line
  // Progress lines on stderr; default: when stderr is a terminal.
  std::optional<bool> progress;
};

class RunPrinter final : public RunObserver {
 public:
  explicit RunPrinter(RunOutputOptions options) : options_(options) {}

  // The header line (flushed at once), then under MPI the partition and binding lines.
  void started(const RunStart& start) override;
  [[nodiscard]] ProgressSink progress() override;

  // The summary and the digest line (rank 0), or the error this process must report; returns the
  // exit code.
  int finish(const RunCompletion& result);

 private:
  RunOutputOptions options_;
  std::optional<ProgressPrinter> printer_;
};

}  // namespace tspemu::cli
