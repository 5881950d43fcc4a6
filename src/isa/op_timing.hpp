#pragma once
// Timing of one instruction (programs/ISA.md, "Timing"): issued at cycle t, it reads its operands
// at t + skew_cycles, writes its results at t + skew_cycles + func_delay_cycles and keeps its unit
// busy for [t, t + occupancy_cycles). The defaults are tspemu's choices (the per-op latencies are
// not published); a topology overrides them with [chip.op_timing.<MNEMONIC>].

namespace tspemu {

struct OpTiming {
  int skew_cycles = 0;
  int func_delay_cycles = 0;
  int occupancy_cycles = 1;
  friend constexpr bool operator==(const OpTiming&, const OpTiming&) = default;
};

}  // namespace tspemu
