#pragma once
// `tspemu verify REPORT...`: the determinism check users run over repeated runs, different rank
// placements and the single-process reference. The runtime reads and compares; the cli prints.
//
// Each report is checked on its own first: its per-TSP digests must combine to its run digest
// (runtime/driver.hpp, combine_tsp_digests), so an edited or truncated report is not mistaken for
// a run. Reports of different machines (topology digests) or programs (program digests: the
// bundle file's bytes) are refused with an InputError naming both files. When run digests differ,
// the result lists the TSPs whose digests differ: that is where to look.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/digest.hpp"

namespace tspemu {

// What verify needs of one `tspemu run --report` file.
struct RunReportDigests {
  std::string path;
  Digest128 digest;
  std::string topology_digest;             // empty if the report has none
  std::string program_digest;              // empty if the report has none (older reports)
  std::map<std::int64_t, Digest128> tsps;  // per-TSP digests, by TSP
};

// Reads one report and checks its per-TSP digests against its digest. Throws InputError located
// at the file.
[[nodiscard]] RunReportDigests read_report_digests(const std::string& path);

struct ReportVerification {
  std::size_t reports = 0;
  // The reports grouped by run digest (hex, ascending); one group: all identical.
  std::map<std::string, std::vector<std::string>> paths_by_digest;
  // When they differ: the first report of each of the first two groups, their TSP counts, and the
  // TSPs whose digests differ between them (empty when a report has no per-TSP digests).
  std::string first_path, second_path;
  std::size_t first_tsps = 0, second_tsps = 0;
  std::vector<std::int64_t> differing_tsps;

  [[nodiscard]] bool identical() const { return paths_by_digest.size() == 1; }
};

// Reads and compares the reports (at least one). Throws InputError for an unreadable report or
// reports of different topologies or programs.
[[nodiscard]] ReportVerification verify_reports(const std::vector<std::string>& paths);

}  // namespace tspemu
