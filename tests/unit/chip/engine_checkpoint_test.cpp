// Engine checkpoint/restart (chip/engine.hpp, save_state and restore_state): every single-TSP
// program of programs/asm/, with data and timing-only, stopped at every cycle (before anything
// issues, with MXM weights, ALU chains, REPEATs and stream values in flight, at its last cycle),
// saved, restored into a fresh engine and run on: the result is the uninterrupted run's (digest,
// cycles, counts, outputs, trace), and the state saved again right after a restore is
// byte-identical.

#include "checkpoint_roundtrip.hpp"
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "chip/engine.hpp"
#include "chip/kokkos_session.hpp"
#include "isa/assembler.hpp"

namespace tspemu {
namespace {

std::filesystem::path asm_path(const std::string& name) {
  return std::filesystem::path(TSPEMU_SOURCE_DIR) / "programs" / "asm" / (name + ".tsa");
}

EngineOptions options_for(bool timing_only) {
  EngineOptions options;
  options.timing_only = timing_only;
  options.trace = true;  // the trace is state too: its slices before the split must survive
  options.stats_interval = 64;
  return options;
}

class EngineCheckpoint : public ::testing::TestWithParam<std::tuple<std::string, bool>> {};

TEST_P(EngineCheckpoint, ResumesExactlyFromAnyCycle) {
  ensure_kokkos_initialized();
  const auto& [name, timing_only] = GetParam();
  const Program program = assemble_file(asm_path(name));
  ASSERT_EQ(program.tsps.size(), 1U);
  const RunResult want = testing::expect_resumes_at_every_cycle(program.tsps[0], ChipConfig{},
                                                                options_for(timing_only), name);
  EXPECT_GT(want.final_cycle, 20);
}

INSTANTIATE_TEST_SUITE_P(
    AsmPrograms, EngineCheckpoint,
    ::testing::Combine(::testing::Values("vector_add", "mac", "matmul_int8", "matmul_fp16",
                                         "activations", "gather_scatter", "sxm_transpose_permute"),
                       ::testing::Bool()),
    [](const auto& param_info) {
      return std::get<0>(param_info.param) +
             (std::get<1>(param_info.param) ? "_timing_only" : "_data");
    });

// A state changed after saving (its TSP file's checksum catches that in a run; here the engine's
// bytes are changed directly, one byte at a time at 400 places across the whole state, three ways):
// restoring and running on ends normally, or with an InputError, a schedule or a runtime error,
// never with an internal error, another exception or a crash. (A run with 6,000 places per program
// found two holes, both closed: an issue cycle already run, and a cycle so late that the interval
// statistics could not hold it.)
TEST(EngineCheckpointErrors, ChangedBytesNeverCrashTheEngine) {
  ensure_kokkos_initialized();
  const ChipConfig chip;
  for (const char* name : {"matmul_int8", "gather_scatter", "mac"}) {
    const Program program = assemble_file(asm_path(name));
    Engine first(program.tsps[0], chip, options_for(false));
    first.run_until(30);
    const std::vector<std::uint8_t> state = first.save_state();
    int refused = 0;
    int ran = 0;
    const std::size_t stride = std::max<std::size_t>(1, state.size() / 400);
    for (std::size_t at = 0; at < state.size(); at += stride) {
      for (const std::uint8_t change :
           {std::uint8_t{0x01}, std::uint8_t{0x80}, std::uint8_t{0xff}}) {
        std::vector<std::uint8_t> bad = state;
        bad[at] ^= change;
        Engine second(program.tsps[0], chip, options_for(false));
        try {
          second.restore_state(bad);
        } catch (const InputError&) {
          ++refused;
          continue;
        }
        try {
          second.run_until(INT64_MAX);
          (void)second.finish();
        } catch (const Error& e) {
          ASSERT_NE(e.kind(), ErrorKind::internal)
              << name << " byte " << at << " ^ " << int(change) << ": " << e.what();
        } catch (const std::exception& e) {
          ADD_FAILURE() << name << " byte " << at << " ^ " << int(change) << ": " << e.what();
        }
        ++ran;
      }
    }
    EXPECT_GT(refused, 0) << name;
    EXPECT_GT(ran, 0) << name;
  }
}

TEST(EngineCheckpointErrors, AStateOfAnotherProgramOrRunIsRefused) {
  ensure_kokkos_initialized();
  const ChipConfig chip;
  const Program add = assemble_file(asm_path("vector_add"));
  const Program mac = assemble_file(asm_path("mac"));
  Engine a(add.tsps[0], chip, {});
  a.run_until(10);
  const std::vector<std::uint8_t> state = a.save_state();

  Engine other(mac.tsps[0], chip, {});
  try {
    other.restore_state(state);
    FAIL() << "restored another program's state";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              fmt::format(
                  "tsp 0: the checkpointed engine state belongs to TSP 0 with {} queues and "
                  "{} instructions, not to this program ({} queues, {} instructions)",
                  add.tsps[0].queues.size(),
                  [&] {
                    std::size_t n = 0;
                    for (const auto& q : add.tsps[0].queues) n += q.instructions.size();
                    return n;
                  }(),
                  mac.tsps[0].queues.size(),
                  [&] {
                    std::size_t n = 0;
                    for (const auto& q : mac.tsps[0].queues) n += q.instructions.size();
                    return n;
                  }()));
  }
  EngineOptions timing_only;
  timing_only.timing_only = true;
  Engine fast(add.tsps[0], chip, timing_only);
  EXPECT_THROW(
      {
        try {
          fast.restore_state(state);
        } catch (const InputError& e) {
          EXPECT_STREQ(e.what(), "tsp 0: the checkpointed engine state is of a run with data");
          throw;
        }
      },
      InputError);

  std::vector<std::uint8_t> truncated(state.begin(), state.end() - 100);
  Engine cut(add.tsps[0], chip, {});
  try {
    cut.restore_state(truncated);
    FAIL() << "restored a truncated state";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("tsp 0: the checkpointed engine state is malformed: "),
              std::string::npos)
        << e.what();
  }
  std::vector<std::uint8_t> garbage(state.size(), 0x5a);
  Engine g(add.tsps[0], chip, {});
  try {
    g.restore_state(garbage);
    FAIL() << "restored garbage";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "tsp 0: the checkpointed engine state is not an engine state");
  }
}

}  // namespace
}  // namespace tspemu
