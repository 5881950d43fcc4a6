#pragma once
// Verifying a compiled bundle by running it: the one implementation `tspemu compile` (before it
// writes the bundle) and the compiler's tests use.
//
// verify_compiled_bundle: the send schedule derived from the queues (runtime/send_schedule.hpp)
// must equal the one the compiler built, and the bundle runs in this process on every TSP of the
// topology (RunDriver + LocalTransport), timing-only or with data; the engine re-checks every
// timing and resource rule independently of the code that built the schedule. A failure is a
// ScheduleError "compiler bug: ..." with the engine's located message. The caller compares the
// cycles with the prediction (and, with data, the outputs with the reference evaluator).

#include <vector>

#include "clock/time_base.hpp"
#include "compiler/compile.hpp"
#include "compiler/reference_eval.hpp"
#include "runtime/driver.hpp"
#include "topo/topology.hpp"

namespace tspemu {

struct VerifyOptions {
  bool timing_only = true;
  // The bundle went through the bundle reader (validated): the engines skip re-validating it.
  bool program_validated = false;
  bool trace = false;  // DriverOptions::trace and its range
  Cycle trace_begin = 0;
  Cycle trace_end = Cycle{1} << 62;
  // Drifting clocks (runtime/clock_plan.hpp): verify on them, as every run will be. Null: ideal.
  const TimeBase* time_base = nullptr;
};

struct VerifiedRun {
  Cycle cycles = 0;                     // the run's cycles (final cycle + 1)
  std::vector<EmulatedOutput> outputs;  // with data: every declared output shard, TSPs ascending
  DriverOutcome outcome;                // everything else (traces: executed_windows, slices)
};

[[nodiscard]] VerifiedRun verify_compiled_bundle(const CompileOutput& out, const Topology& topology,
                                                 const VerifyOptions& options,
                                                 const std::string& source_name);

}  // namespace tspemu
