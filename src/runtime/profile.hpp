#pragma once
// Where the time goes, from the reports (`tspemu report`): the compile report's per-op intervals
// turned into an attribution of every cycle, and the run report's per-unit counters summed by unit
// class. Pure functions over the reports' data; the cli prints them.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/ids.hpp"

namespace tspemu {

struct OpSpan {
  std::string op;  // its label, "op[3] (matmul 'w1')"
  Cycle start = -1;
  Cycle finish = -1;  // last active cycle (inclusive); -1, -1: fused into its consumer
  std::string layer;  // a model card's op: its layer ("l3", "lm_head", "-"); else empty
};

struct OpAttribution {
  std::string op;
  Cycle start = -1;
  Cycle finish = -1;
  Cycle attributed = 0;  // cycles of the schedule charged to this op
  std::string layer;
};

// Charges every cycle of [0, cycles) to the op active in it that started last (the newest work in
// flight: while it runs, the older ops only finish their tails); a cycle with no op active is not
// charged. The attributed cycles of all ops sum to the covered cycles, each cycle counted once.
// Returns every op with a span, most attributed first (ties: program order).
[[nodiscard]] std::vector<OpAttribution> attribute_cycles(std::span<const OpSpan> ops,
                                                          Cycle cycles);

// Attributed cycles summed over a set of ops.
struct CycleGroup {
  std::string name;
  Cycle cycles = 0;
  std::int64_t ops = 0;
};

// By layer (OpSpan::layer): l0, l1, ... in layer order, then lm_head, then "-" (hand-offs and
// constants); empty if no op has a layer.
[[nodiscard]] std::vector<CycleGroup> cycles_by_layer(std::span<const OpAttribution> ops);

// By what the op does, from its kind in the label: "matmul" (weights streamed into the MXM and
// the products), "element-wise" (everything else on the chip: VXM arithmetic, reductions, casts,
// data movement), "collective" (all_reduce, reduce_scatter, all_gather) and "pipeline transfer"
// (broadcast, send), in that order.
[[nodiscard]] std::vector<CycleGroup> cycles_by_phase(std::span<const OpAttribution> ops);

struct UnitClassBusy {
  std::string unit_class;  // MEM, VXM, MXM, SXM, C2C, ICU
  std::int64_t units = 0;  // (TSP, unit) pairs that issued anything
  std::int64_t instructions = 0;
  std::int64_t busy_cycles = 0;
  double utilisation = 0;  // busy_cycles / (units x the TSP's cycles), averaged over those units
};

// From a run report's per_tsp[].units (docs/report.md): per unit class, in the order above.
// Throws InputError if the report lacks per_tsp (not a run report).
[[nodiscard]] std::vector<UnitClassBusy> unit_class_busy(const nlohmann::json& run_report);

}  // namespace tspemu
