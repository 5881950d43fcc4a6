#pragma once
// Faults injected into a run under MPI on purpose, for the tests that prove every wait is watched
// (issue 10) and that a lost rank ends the job (docs/network.md, "Faults you can inject"). The
// environment variable
//
//   TSPEMU_INJECT_FAULT=ACTION@PHASE:RANK
//
// makes rank RANK (as the launcher numbers it: OMPI_COMM_WORLD_RANK, PMIX_RANK or PMI_RANK) act
// when it reaches PHASE:
//   ACTION  stop: SIGSTOP itself (a hung rank: it neither sends nor answers)
//           kill: SIGKILL itself (a crashed rank)
//           term, usr1, usr2: send itself SIGTERM, SIGUSR1 or SIGUSR2 (at a window only: the
//             checkpoint signals, docs/checkpoint.md, arriving at a known point of the run)
//           corrupt: flip one data bit of its exchange messages of window PHASE (a number, not
//             a phase) after checksumming them, as a bad cable would: the receiver must detect it
//   PHASE   init      before MPI_Init_thread
//           setup     before the start-up agreement that every rank loaded its inputs
//           bind      before the exchange of rank bindings
//           run       before the first window
//           gather    before the gathers of the results on rank 0
//           result    before the broadcast of the exit code
//           finalize  before MPI_Finalize
//           W         (a number) before running window W (checkpoint tests: kill@12:3 is a rank
//                     killed mid-run, after the checkpoints of the windows before)
// Window faults also act in --local runs, as rank 0. Unset or empty: no fault. Anything else is an
// InputError naming the variable. Nothing here changes what a run computes; it only decides whether
// this process goes on.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace tspemu {

enum class FaultPhase { init, setup, bind, run, gather, result, finalize, window };

enum class FaultAction { stop, kill, corrupt, term, usr1, usr2 };

struct InjectedFault {
  FaultAction action = FaultAction::stop;
  FaultPhase phase = FaultPhase::init;  // stop and kill
  std::int64_t window = -1;             // corrupt, and stop or kill at FaultPhase::window
  int rank = 0;
};

// Parses the variable's value (pure; unit-tested). nullopt for an empty value.
[[nodiscard]] std::optional<InjectedFault> parse_injected_fault(std::string_view text);

// The fault of this process's environment, if any.
[[nodiscard]] std::optional<InjectedFault> injected_fault_from_environment();

// Performs the fault if it is this rank's (the launcher's rank variable) at `phase`.
void reach_fault_point(const std::optional<InjectedFault>& fault, FaultPhase phase);

// A hook for DriverOptions::before_window: a FaultPhase::window fault of this rank, at the first
// window run at or after its window (a run skips idle windows), once; empty if there is none.
[[nodiscard]] std::function<void(std::int64_t)> window_fault_hook(
    const std::optional<InjectedFault>& fault);

// The window whose outgoing exchange messages this rank must corrupt (corrupt@W:RANK), if any.
[[nodiscard]] std::optional<std::int64_t> corrupt_window_of_this_rank(
    const std::optional<InjectedFault>& fault);

}  // namespace tspemu
