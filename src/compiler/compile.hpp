#pragma once
// The graph compiler's back end (issue 6, docs/design.md section 5): lowers a loaded graph
// (compiler/graph.hpp) to per-TSP instruction queues, data segments and the cycle-stamped send
// schedule, and records where every declared output lands (compiler/compiled_graph.hpp) so that
// `tspemu run --check` can compare the run with the reference evaluator.
//
// Layout. A TSP's shard of shape [d0, ..., dn-1] is rows = d0 x ... x dn-2 rows of columns = dn-1
// elements; each row is cut into 320-lane vectors (tiles). Vector (r, t) is stored in a group of
// dtype-bytes MEM slices of one hemisphere (byte plane k in slice k), rows striped over up to
// kStripeGroups groups so that consecutive rows are read from different slices in consecutive
// cycles. Lanes beyond a row's last element hold +0 whenever an op's padding matters (matmul
// activations); ops that turn +0 into something else (exp, rsqrt, float neg) are followed by a
// SELECT against a lane mask before an MXM reads them.
//
// Scheduling is list scheduling in program order, op by op and vector by vector, each vector's
// instructions placed as one chain at the earliest cycle its inputs are ready and its units,
// MEM ports and streams are free (compiler/lower/tsp_schedule.hpp). Vectors move between TSPs by
// C2C SEND/RECEIVE over the topology's minimal routes, with the send spacing and worst-case
// arrival of each link (compiler/lower/network.cpp).

#include <cstdint>
#include <string>
#include <vector>

#include "common/ids.hpp"
#include "common/progress.hpp"
#include "compiler/compiled_graph.hpp"
#include "compiler/graph.hpp"
#include "isa/bundle.hpp"
#include "topo/topology.hpp"

namespace tspemu {

struct CompileStats {
  Cycle predicted_cycles = 0;         // the run's `cycles`: last active cycle + 1
  std::int64_t instructions = 0;      // emitted, over all TSPs
  std::int64_t vectors_sent = 0;      // send-schedule rows
  std::int64_t abc_plane_cycles = 0;  // sum over ABCs of the MXM planes each keeps busy
  std::int64_t mxm_planes = 0;        // planes per TSP (for utilisation)
  std::int64_t tsps_used = 0;
  std::int64_t runtime_deskews = 0;  // inserted for drifting clocks, over all TSPs
  // The most SRAM any one TSP has allocated at once (rows released by dead tensors are reused),
  // and that TSP's capacity.
  std::int64_t sram_peak_bytes = 0;
  std::int64_t sram_bytes_per_tsp = 0;
  // Per op, in program order, over all TSPs: the issue cycle of its first instruction and the last
  // cycle any of its instructions is active (its last result lands); -1 and -1 for an element-wise
  // op fused into its consumer (its work is the consumer's).
  std::vector<Cycle> op_start_cycles;
  std::vector<Cycle> op_finish_cycles;
};

// Drifting clocks (docs/clocks.md, "How often to deskew"): what the schedule must absorb. The
// runtime derives it from the topology's [clock] table (runtime/clock_plan.hpp); all zero for ideal
// clocks, which changes nothing.
struct ClockSchedule {
  Cycle receive_margin_cycles = 0;  // every RECEIVE waits this long beyond the worst latency
  Cycle deskew_period_cycles = 0;   // a RUNTIME_DESKEW on every TSP at each multiple (0: none)
  Cycle deskew_t_cycles = 0;        // its t: at least the largest drift it corrects
  friend bool operator==(const ClockSchedule&, const ClockSchedule&) = default;
};

struct CompileOutput {
  Bundle bundle;         // program + send schedule + the compiled-graph attachment
  CompiledGraph record;  // also encoded in the bundle
  CompileStats stats;
};

// Lowers `graph`, which must have been loaded against `topology`. An op the lowering cannot map
// onto the chip yet is a ScheduleError located at the op ("op[4] (reduce 'z'): reduce along the
// last axis ... is not supported by the lowering"); running out of SRAM likewise.
// `progress` (optional) hears the phases of a long compile (common/progress.hpp).
// `clock` (optional): receive margins and RUNTIME_DESKEWs for drifting clocks.
[[nodiscard]] CompileOutput compile_graph(const Graph& graph, const Topology& topology,
                                          const ProgressSink& progress = {},
                                          const ClockSchedule& clock = {});

}  // namespace tspemu
