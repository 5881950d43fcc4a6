#pragma once
// Checkpoint round trips of one engine (chip/engine.hpp, save_state and restore_state), shared by
// the engine's tests: stop a run at every cycle, save, restore into a fresh engine, run on, and
// expect the uninterrupted run's result, with the state saved again right after the restore
// byte-identical.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "chip/engine.hpp"

namespace tspemu::testing {

inline void expect_same_result(const RunResult& got, const RunResult& want,
                               const std::string& where) {
  EXPECT_EQ(got.digest, want.digest) << where;
  EXPECT_EQ(got.final_cycle, want.final_cycle) << where;
  EXPECT_EQ(got.sweep_final_cycle, want.sweep_final_cycle) << where;
  EXPECT_EQ(got.instructions_by_opcode, want.instructions_by_opcode) << where;
  EXPECT_EQ(got.stream_writes, want.stream_writes) << where;
  EXPECT_EQ(got.mxm_int8_macs, want.mxm_int8_macs) << where;
  EXPECT_EQ(got.mxm_fp16_macs, want.mxm_fp16_macs) << where;
  EXPECT_EQ(got.sram_touched_pages, want.sram_touched_pages) << where;
  EXPECT_EQ(got.interval_busy, want.interval_busy) << where;
  ASSERT_EQ(got.trace.size(), want.trace.size()) << where;
  for (std::size_t i = 0; i < got.trace.size(); ++i) {
    EXPECT_EQ(got.trace[i].issue, want.trace[i].issue) << where << " slice " << i;
    EXPECT_EQ(got.trace[i].instruction, want.trace[i].instruction) << where << " slice " << i;
  }
  ASSERT_EQ(got.units.size(), want.units.size()) << where;
  for (std::size_t i = 0; i < got.units.size(); ++i) {
    EXPECT_EQ(got.units[i].busy_cycles, want.units[i].busy_cycles) << where;
  }
  ASSERT_EQ(got.outputs.size(), want.outputs.size()) << where;
  for (std::size_t i = 0; i < got.outputs.size(); ++i) {
    EXPECT_EQ(got.outputs[i].bytes, want.outputs[i].bytes) << where << " " << got.outputs[i].name;
  }
}

// The uninterrupted run's result, after checking that a checkpoint at every cycle resumes to it.
inline RunResult expect_resumes_at_every_cycle(const TspProgram& program, const ChipConfig& chip,
                                               const EngineOptions& options,
                                               const std::string& name) {
  Engine whole(program, chip, options);
  const RunResult want = whole.run();
  for (Cycle split = 0; split <= want.final_cycle; ++split) {
    const std::string where = fmt::format("{} split at cycle {}", name, split);
    Engine first(program, chip, options);
    first.run_until(split);
    const std::vector<std::uint8_t> state = first.save_state();
    EXPECT_EQ(first.save_state(), state) << where << ": saving is deterministic";
    Engine second(program, chip, options);
    second.restore_state(state);
    EXPECT_EQ(second.save_state(), state) << where << ": a restored engine saves the same bytes";
    EXPECT_EQ(second.next_event_cycle(), first.next_event_cycle()) << where;
    EXPECT_EQ(second.last_active_cycle(), first.last_active_cycle()) << where;
    second.run_until(INT64_MAX);
    expect_same_result(second.finish(), want, where);
  }
  return want;
}

}  // namespace tspemu::testing
