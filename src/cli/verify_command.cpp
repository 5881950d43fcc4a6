// `tspemu verify REPORT...`: the determinism check users run over repeated runs, different rank
// placements and the single-process reference. Exit 0 only if every report's digest is identical.
//
// Each report is checked on its own first: its per-TSP digests must combine to its run digest
// (runtime/driver.hpp, combine_tsp_digests), so an edited or truncated report is not mistaken for
// a run. Reports of different machines (topology digests) or programs (program digests: the
// bundle file's bytes) are refused. When run digests differ,
// the TSPs whose digests differ are listed: that is where to look.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "cli/command.hpp"
#include "common/digest.hpp"
#include "common/error.hpp"
#include "common/input_file.hpp"
#include "runtime/driver.hpp"

namespace tspemu::cli {
namespace {

// A run report is a few MB even for 10,440 TSPs.
constexpr std::uint64_t kMaxReportBytes = std::uint64_t{1} << 30;

struct RunReport {
  std::string path;
  Digest128 digest;
  std::string topology_digest;             // empty if the report has none
  std::string program_digest;              // empty if the report has none (older reports)
  std::map<std::int64_t, Digest128> tsps;  // per-TSP digests, by TSP
};

[[noreturn]] void bad_report(const std::string& path, const std::string& what) {
  throw InputError(SourceLocation{path, 0, 0}, what);
}

Digest128 digest_at(const nlohmann::json& value, const std::string& path, const std::string& key) {
  if (!value.is_string()) bad_report(path, fmt::format("'{}' is not a string", key));
  try {
    return Digest128::from_hex(value.get<std::string>());
  } catch (const Error& e) {
    bad_report(path, fmt::format("'{}': {}", key, e.message()));
  }
}

RunReport read_report(const std::string& path) {
  const std::string text = read_input_file(path, kMaxReportBytes, "report");
  nlohmann::json report;
  try {
    report = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // nlohmann reports a byte offset, not a line; say so rather than invent a line number.
    bad_report(path, fmt::format("not valid JSON (byte {}): {}", e.byte, e.what()));
  }
  if (!report.is_object() || !report.contains("digest")) {
    bad_report(path, "no key 'digest' (is this a `tspemu run --report` file?)");
  }
  RunReport r;
  r.path = path;
  r.digest = digest_at(report["digest"], path, "digest");
  if (report.contains("topology") && report["topology"].is_object() &&
      report["topology"].contains("digest") && report["topology"]["digest"].is_string()) {
    r.topology_digest = report["topology"]["digest"].get<std::string>();
  }
  if (report.contains("program_digest") && report["program_digest"].is_string()) {
    r.program_digest = report["program_digest"].get<std::string>();
  }
  if (report.contains("per_tsp")) {
    const auto& per_tsp = report["per_tsp"];
    if (!per_tsp.is_array()) bad_report(path, "'per_tsp' is not an array");
    std::vector<Digest128> in_order;
    for (std::size_t i = 0; i < per_tsp.size(); ++i) {
      const auto& t = per_tsp[i];
      const std::string key = fmt::format("per_tsp[{}]", i);
      if (!t.is_object() || !t.contains("tsp") || !t["tsp"].is_number_integer() ||
          !t.contains("digest")) {
        bad_report(path, fmt::format("'{}' lacks an integer 'tsp' and a 'digest'", key));
      }
      const auto tsp = t["tsp"].get<std::int64_t>();
      if (tsp != static_cast<std::int64_t>(i)) {
        bad_report(path, fmt::format("'{}' is TSP {}, expected TSP {}", key, tsp, i));
      }
      r.tsps[tsp] = digest_at(t["digest"], path, key + ".digest");
      in_order.push_back(r.tsps[tsp]);
    }
    const Digest128 combined = combine_tsp_digests(in_order);
    if (combined != r.digest) {
      bad_report(path, fmt::format("its per-TSP digests combine to {}, not to its digest {}: the "
                                   "report was edited or is damaged",
                                   combined.hex(), r.digest.hex()));
    }
  }
  return r;
}

int run_verify(const std::vector<std::string>& paths) {
  std::vector<RunReport> reports;
  reports.reserve(paths.size());
  for (const auto& path : paths) reports.push_back(read_report(path));
  for (const RunReport& r : reports) {
    if (!r.topology_digest.empty() && !reports[0].topology_digest.empty() &&
        r.topology_digest != reports[0].topology_digest) {
      throw InputError(fmt::format(
          "verify: {} and {} come from different topologies (topology digests {} and {}); "
          "compare runs of one machine",
          reports[0].path, r.path, reports[0].topology_digest, r.topology_digest));
    }
    if (!r.program_digest.empty() && !reports[0].program_digest.empty() &&
        r.program_digest != reports[0].program_digest) {
      throw InputError(
          fmt::format("verify: {} and {} come from different programs (program digests {} and {}); "
                      "compare runs of one program",
                      reports[0].path, r.path, reports[0].program_digest, r.program_digest));
    }
  }
  // Group by digest (std::map: deterministic order for the message).
  std::map<std::string, std::vector<const RunReport*>> by_digest;
  for (const RunReport& r : reports) by_digest[r.digest.hex()].push_back(&r);
  if (by_digest.size() == 1) {
    std::printf("verify: %zu reports, all digests identical\ndigest: %s\n", reports.size(),
                reports.front().digest.hex().c_str());
    return kExitOk;
  }
  std::printf("verify: %zu reports, %zu different digests:\n", reports.size(), by_digest.size());
  for (const auto& [digest, group] : by_digest) {
    std::vector<std::string> names;
    for (const RunReport* r : group) names.push_back(r->path);
    std::printf("  %s  %zu report(s): %s\n", digest.c_str(), group.size(),
                fmt::format("{}", fmt::join(names, ", ")).c_str());
  }
  // Where the first two groups part: the TSPs whose digests differ.
  const RunReport& a = *by_digest.begin()->second.front();
  const RunReport& b = *std::next(by_digest.begin())->second.front();
  if (!a.tsps.empty() && !b.tsps.empty()) {
    std::vector<std::int64_t> differing;
    for (const auto& [tsp, digest] : a.tsps) {
      const auto other = b.tsps.find(tsp);
      if (other == b.tsps.end() || other->second != digest) differing.push_back(tsp);
    }
    if (a.tsps.size() != b.tsps.size()) {
      std::printf("  %s has %zu TSPs, %s has %zu\n", a.path.c_str(), a.tsps.size(), b.path.c_str(),
                  b.tsps.size());
    }
    std::printf("  TSPs whose digests differ between %s and %s: %s (of %zu)\n", a.path.c_str(),
                b.path.c_str(), fmt::format("{}", fmt::join(differing, ", ")).c_str(),
                a.tsps.size());
  }
  std::fflush(stdout);
  throw RuntimeError(fmt::format("verify: digests differ across {} reports", reports.size()));
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
