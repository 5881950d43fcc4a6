// `tspemu verify REPORT...`: the determinism check users run over repeated runs, different rank
// placements and the single-process reference. Exit 0 only if every report's digest is identical.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "cli/command.hpp"
#include "common/digest.hpp"
#include "common/error.hpp"

namespace tspemu::cli {
namespace {

struct ReportDigest {
  std::string path;
  std::string digest;
};

ReportDigest read_report_digest(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError(fmt::format("{}: cannot open report", path));
  nlohmann::json report;
  try {
    report = nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    // nlohmann reports a byte offset, not a line; say so rather than invent a line number.
    throw InputError(fmt::format("{}: not valid JSON (byte {}): {}", path, e.byte, e.what()));
  }
  if (!report.is_object() || !report.contains("digest") || !report["digest"].is_string()) {
    throw InputError(
        fmt::format("{}: no string key 'digest' (is this a `tspemu run --report` file?)", path));
  }
  const auto digest = report["digest"].get<std::string>();
  (void)Digest128::from_hex(digest);  // validates the format
  return {path, digest};
}

int run_verify(const std::vector<std::string>& reports) {
  std::vector<ReportDigest> digests;
  digests.reserve(reports.size());
  for (const auto& path : reports) digests.push_back(read_report_digest(path));
  // Group by digest (std::map: deterministic order for the message).
  std::map<std::string, std::vector<std::string>> by_digest;
  for (const auto& d : digests) by_digest[d.digest].push_back(d.path);
  if (by_digest.size() == 1) {
    std::printf("verify: %zu reports, all digests identical\ndigest: %s\n", digests.size(),
                digests.front().digest.c_str());
    return kExitOk;
  }
  std::printf("verify: %zu reports, %zu different digests:\n", digests.size(), by_digest.size());
  for (const auto& [digest, paths] : by_digest) {
    std::printf("  %s  %zu report(s): %s\n", digest.c_str(), paths.size(),
                fmt::format("{}", fmt::join(paths, ", ")).c_str());
  }
  std::fflush(stdout);
  throw RuntimeError(fmt::format("verify: digests differ across {} reports", digests.size()));
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
