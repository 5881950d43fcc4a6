#pragma once
// `tspemu run --stats FILE --stats-interval N`: per-interval statistics as CSV, for plots of
// utilisation over time (`tspemu report RUN.json --plot DIR --stats FILE`).
//
// Columns: interval_cycles,first_cycle,tsp,kind,name,value, one row per non-zero value, sorted by
// (first_cycle, tsp, kind, name):
//   kind unit_busy:    name MEM | VXM | MXM | SXM | C2C; value = busy cycles (occupancy) of the
//                      instructions that TSP issued in the interval, summed over the class's units
//   kind link_vectors: name "link L to TSP T"; value = vectors the TSP put on link L (toward T) in
//                      the interval
// Like the trace, the file is the same for --local and every MPI partition (rank 0 gathers).

#include <string>
#include <vector>

#include "runtime/driver.hpp"
#include "topo/topology.hpp"

namespace tspemu {

// This process's TSPs' rows (no header), in any order.
[[nodiscard]] std::string encode_interval_stats(const DriverOutcome& outcome,
                                                const Topology& topology, Cycle interval_cycles);

// The CSV file from every rank's rows.
[[nodiscard]] std::string write_interval_stats_csv(const std::vector<std::string>& parts);

}  // namespace tspemu
