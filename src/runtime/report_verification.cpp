#include "runtime/report_verification.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/input_file.hpp"
#include "runtime/driver.hpp"

namespace tspemu {
namespace {

// A run report is a few MB even for 10,440 TSPs.
constexpr std::uint64_t kMaxReportBytes = std::uint64_t{1} << 30;

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

}  // namespace

RunReportDigests read_report_digests(const std::string& path) {
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
  RunReportDigests r;
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

ReportVerification verify_reports(const std::vector<std::string>& paths) {
  std::vector<RunReportDigests> reports;
  reports.reserve(paths.size());
  for (const auto& path : paths) reports.push_back(read_report_digests(path));
  for (const RunReportDigests& r : reports) {
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
  ReportVerification v;
  v.reports = reports.size();
  // Grouped by digest (std::map: a deterministic order for the output).
  std::map<std::string, std::vector<const RunReportDigests*>> by_digest;
  for (const RunReportDigests& r : reports) {
    by_digest[r.digest.hex()].push_back(&r);
    v.paths_by_digest[r.digest.hex()].push_back(r.path);
  }
  if (by_digest.size() < 2) return v;
  // Where the first two groups part: the TSPs whose digests differ.
  const RunReportDigests& a = *by_digest.begin()->second.front();
  const RunReportDigests& b = *std::next(by_digest.begin())->second.front();
  v.first_path = a.path;
  v.second_path = b.path;
  v.first_tsps = a.tsps.size();
  v.second_tsps = b.tsps.size();
  if (!a.tsps.empty() && !b.tsps.empty()) {
    for (const auto& [tsp, digest] : a.tsps) {
      const auto other = b.tsps.find(tsp);
      if (other == b.tsps.end() || other->second != digest) v.differing_tsps.push_back(tsp);
    }
  }
  return v;
}

}  // namespace tspemu
