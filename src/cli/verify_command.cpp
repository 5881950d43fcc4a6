// `tspemu verify REPORT...`: prints what runtime/report_verification.hpp finds. Exit 0 only if
// every report's digest is identical.
#include <fmt/format.h>

#include <cstdio>
#include <string>
#include <vector>

#include "cli/command.hpp"
#include "common/error.hpp"
#include "runtime/report_verification.hpp"

namespace tspemu::cli {
namespace {

int run_verify(const std::vector<std::string>& paths) {
  const ReportVerification v = verify_reports(paths);
  if (v.identical()) {
    std::printf("verify: %zu reports, all digests identical\ndigest: %s\n", v.reports,
                v.paths_by_digest.begin()->first.c_str());
    return kExitOk;
  }
  std::printf("verify: %zu reports, %zu different digests:\n", v.reports, v.paths_by_digest.size());
  for (const auto& [digest, names] : v.paths_by_digest) {
    std::printf("  %s  %zu report(s): %s\n", digest.c_str(), names.size(),
                fmt::format("{}", fmt::join(names, ", ")).c_str());
  }
  if (v.first_tsps > 0 && v.second_tsps > 0) {
    if (v.first_tsps != v.second_tsps) {
      std::printf("  %s has %zu TSPs, %s has %zu\n", v.first_path.c_str(), v.first_tsps,
                  v.second_path.c_str(), v.second_tsps);
    }
    std::printf("  TSPs whose digests differ between %s and %s: %s (of %zu)\n",
                v.first_path.c_str(), v.second_path.c_str(),
                fmt::format("{}", fmt::join(v.differing_tsps, ", ")).c_str(), v.first_tsps);
  }
  std::fflush(stdout);
  throw RuntimeError(fmt::format("verify: digests differ across {} reports", v.reports));
}
void add_verify_command(CLI::App& app, CommandTable& table) {
  auto* sub = app.add_subcommand(
      "verify", "Compare the digests of run reports; exit 0 only if all are identical");
  auto reports = std::make_shared<std::vector<std::string>>();
  sub->add_option("reports", *reports, "Report JSON files written by `tspemu run --report`")
      ->required()
      ->expected(2, -1);
  table.add(sub, [reports] { return run_verify(*reports); });
}

const CommandRegistrar registrar{"verify", &add_verify_command};

}  // namespace
}  // namespace tspemu::cli
