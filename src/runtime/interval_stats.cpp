#include "runtime/interval_stats.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <sstream>
#include <tuple>

namespace tspemu {
namespace {

// Unit's values: icu, mem, vxm, mxm, sxm, c2c (isa/opcode.hpp); ICU ops have no occupancy worth a
// column.
constexpr std::array<const char*, 6> kUnitNames = {"", "MEM", "VXM", "MXM", "SXM", "C2C"};

}  // namespace

std::string encode_interval_stats(const DriverOutcome& outcome, const Topology& topology,
                                  Cycle interval_cycles) {
  std::string out;
  for (const TspOutcome& t : outcome.local) {
    for (std::size_t i = 0; i < t.result.interval_busy.size(); ++i) {
      for (std::size_t u = 1; u < kUnitNames.size(); ++u) {
        const std::int64_t busy = t.result.interval_busy[i][u];
        if (busy == 0) continue;
        out +=
            fmt::format("{},{},{},unit_busy,{},{}\n", interval_cycles,
                        static_cast<Cycle>(i) * interval_cycles, t.tsp.value, kUnitNames[u], busy);
      }
    }
    for (const auto& [key, vectors] : t.interval_link_vectors) {
      const Link& link = topology.link(LinkId(key.second));
      const TspId to = link.a.tsp == t.tsp ? link.b.tsp : link.a.tsp;
      out += fmt::format("{},{},{},link_vectors,link {} to TSP {},{}\n", interval_cycles,
                         key.first * interval_cycles, t.tsp.value, key.second, to.value, vectors);
    }
  }
  return out;
}

std::string write_interval_stats_csv(const std::vector<std::string>& parts) {
  struct Row {
    Cycle first = 0;
    std::int64_t tsp = 0;
    std::string kind, name, line;
  };
  std::vector<Row> rows;
  for (const std::string& part : parts) {
    std::istringstream in(part);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      std::istringstream fields(line);
      std::string interval, first, tsp, kind, name;
      std::getline(fields, interval, ',');
      std::getline(fields, first, ',');
      std::getline(fields, tsp, ',');
      std::getline(fields, kind, ',');
      std::getline(fields, name, ',');
      rows.push_back(Row{std::stoll(first), std::stoll(tsp), kind, name, line});
    }
  }
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return std::tie(a.first, a.tsp, a.kind, a.name) < std::tie(b.first, b.tsp, b.kind, b.name);
  });
  std::string out = "interval_cycles,first_cycle,tsp,kind,name,value\n";
  for (const Row& r : rows) out += r.line + "\n";
  return out;
}

}  // namespace tspemu
