#pragma once
// The run driver: executes a Bundle on the TSPs this process hosts, in lockstep windows, through a
// Transport (docs/design.md section 6). The same code runs every TSP of a machine in one process
// (LocalTransport, the reference) or one TSP per MPI rank (MpiTransport), so both give the same
// digest by construction.
//
// Per window w: every local engine runs the cycles of w; the C2C SENDs it executed become
// InFlightVectors (link from the topology's port table, per-link sequence numbers, arrival stamped
// by the counter-based link model), go through Transport::exchange, and are delivered to the
// receiving engines, which buffer them at their arrival cycles for RECEIVE. Every
// `agreement_epochs` epochs the transports agree on a ControlState: the run ends at the first
// agreement at which every TSP is idle and nothing is in flight, and its final cycle is the last
// cycle at which any TSP did anything (never the window at which the end was noticed). Windows in
// which no TSP has anything to do are skipped, by every rank alike, after an agreement.
//
// Cycles are program cycles: cycle 0 is the start that initial program alignment established
// (emulate_run_alignment below; clock/alignment.hpp). The alignment is a pure function of topology
// and seed, so run.cpp computes it once per rank for the report and the driver needs no offset.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "chip/engine.hpp"
#include "clock/alignment.hpp"
#include "clock/hac_sync.hpp"
#include "clock/time_base.hpp"
#include "common/progress.hpp"
#include "isa/bundle.hpp"
#include "isa/chip_config.hpp"
#include "net/transport.hpp"
#include "runtime/checkpoint.hpp"
#include "runtime/send_schedule.hpp"
#include "topo/topology.hpp"

namespace tspemu {

// A schedule error decided from the agreed ControlState (e.g. vectors nobody will RECEIVE): every
// rank raises it identically in the same agreement, so the caller reports it once (rank 0) and
// every rank exits with its code, with no MPI_Abort and no duplicated message.
class AgreedScheduleError : public ScheduleError {
 public:
  using ScheduleError::ScheduleError;
};

struct DriverOptions {
  std::uint64_t seed = 1;  // link jitter and bit errors (recorded in the report)
  std::optional<std::uint64_t> shuffle_seed;
  bool timing_only = false;
  std::int64_t agreement_epochs = 1;  // K: agree after every K-th HAC epoch
  // The bundle came through the bundle reader (isa/bundle.hpp: decode_bundle validates every
  // program), so the engines skip repeating the checks (EngineOptions::program_validated).
  bool program_validated = false;
  // Record every engine's TraceSlices with issue cycles in [trace_begin, trace_end], and the
  // windows executed (runtime/trace.hpp).
  bool trace = false;
  Cycle trace_begin = 0;
  Cycle trace_end = Cycle{1} << 62;
  // > 0: per-interval statistics (engines' unit busy cycles, vectors per link direction).
  Cycle stats_interval = 0;
  // Hears, after every window, how far the run is (common/progress.hpp; never reaches results).
  ProgressSink progress;
  Cycle expected_cycles = 0;  // for the progress line's percentage and ETA (0: unknown)
  // Drifting clocks (null or ideal: every cycle is the global cycle); must outlive the driver.
  const TimeBase* time_base = nullptr;
  // Replay attempt (0: the first run): attempt k > 0 draws FEC events with replay_fec_seed.
  std::int64_t attempt = 0;
  // Checkpoints (runtime/checkpoint.hpp; null: none): written at agreements every
  // checkpoint->every_epochs epochs and when a signal asks (take_checkpoint_signals); after a
  // stop request the run returns with DriverOutcome::stopped set and no results.
  const CheckpointPlan* checkpoint = nullptr;
  // Resume from this checkpoint (read from resume_directory) instead of starting at cycle 0.
  const CheckpointManifest* resume = nullptr;
  std::filesystem::path resume_directory;
  // Called before every window runs, with its index (fault injection: kill@W; never results).
  std::function<void(WindowIndex)> before_window;
};

// The seed of replay attempt `attempt`'s FEC draws: a fresh draw per attempt, a pure function of
// the run seed.
[[nodiscard]] std::uint64_t replay_fec_seed(std::uint64_t seed, std::int64_t attempt);

// Everything one TSP reports.
struct TspOutcome {
  TspId tsp;
  RunResult result;
  std::int64_t vectors_sent = 0;
  std::int64_t vectors_received = 0;
  std::int64_t fec_corrected = 0;
  // Vectors the FEC flagged uncorrectable (this attempt must be replayed), and the first of them.
  std::int64_t fec_uncorrectable = 0;
  std::string first_uncorrectable;
  Digest128 sent_log;  // digest of every vector it put on a link, in send order
  Digest128 digest;    // the TSP's digest: engine digest + sent log (docs/design.md section 9)
  // Vectors it sent per link, for the links it sent on, ascending link id.
  std::vector<std::pair<LinkId, std::int64_t>> link_vectors;
  // With DriverOptions::stats_interval: (interval, link) -> vectors it sent, ascending.
  std::map<std::pair<std::int64_t, std::int32_t>, std::int64_t> interval_link_vectors;
};

struct DriverOutcome {
  std::vector<TspOutcome> local;  // the TSPs of this process, ascending
  Cycle final_cycle = -1;         // agreed over every TSP
  std::int64_t windows = 0;       // windows executed (skipped ones not counted)
  // Filled by the run command: the attempts replayed before this one (docs/network.md, "Replay").
  std::vector<ReplayRecord> replays;
  std::int64_t windows_skipped = 0;
  Cycle window_cycles = 0;
  TransportStats transport;
  // Wall-clock seconds of run() (this process): the emulation itself, without loading. Reported,
  // never part of a digest.
  double run_seconds = 0;
  std::vector<WindowIndex> executed_windows;  // with DriverOptions::trace: every window run
  // Checkpoints written by this run, in order; the one a stop request ended it at; the one it
  // resumed from.
  std::vector<CheckpointRecord> checkpoints;
  std::optional<CheckpointRecord> stopped;
  std::optional<CheckpointRecord> restarted_from;
};

// Converts the topology's links for the network layer.
[[nodiscard]] std::shared_ptr<const NetworkLayout> network_layout_of(const Topology& topology);

// The link-model key of the start vector of initial program alignment: it is "vector number 2^63"
// of its link direction. Program vectors are numbered 0, 1, 2, ... per direction and never reach
// it, so the alignment's jitter draws are independent of the program's, which stay unchanged.
inline constexpr std::uint64_t kAlignmentSequence = std::uint64_t{1} << 63;

// Initial program alignment of a run (clock/alignment.hpp), with start-vector arrivals drawn by the
// network layer's link model (net/link_model.hpp, transmit) with the run seed and
// kAlignmentSequence. A pure function of topology and seed: every rank computes the same result.
// Program cycle 0 is the result's start_cycle. Throws InputError if a TSP is unreachable.
[[nodiscard]] AlignmentResult emulate_run_alignment(const Topology& topology, std::uint64_t seed);

// The HAC synchronisation of a machine with drifting clocks (clock/hac_sync.hpp): echoes and
// exchanges drawn by the link model with the [clock] seed on RandomStream::hac_protocol (never a
// program vector's draw), so it is a pure function of the topology: the compiler plans margins
// with the residuals every run will have (runtime/clock_plan.hpp).
[[nodiscard]] HacSyncResult emulate_run_hac_sync(const Topology& topology,
                                                 const TimeBase& time_base);

class RunDriver {
 public:
  RunDriver(const Topology& topology, const ChipConfig& chip, const Bundle& bundle,
            Transport& transport, DriverOptions options);
  ~RunDriver();
  RunDriver(const RunDriver&) = delete;
  RunDriver& operator=(const RunDriver&) = delete;

  // Runs to the end. Throws on any error (the caller ends the job through the transport).
  [[nodiscard]] DriverOutcome run();

 private:
  struct Local;
  void check_against_schedule(TspId tsp, const C2cSend& send, std::uint64_t k,
                              const Endpoint& far) const;
  // Every local TSP's state from the checkpoint (DriverOptions::resume).
  void resume_from(const CheckpointManifest& manifest, const std::filesystem::path& directory);
  // Writes this process's TSP files, waits for every rank's (an agreement), and on the process
  // of TSP 0 commits the manifest. `next` is the window the run goes on with.
  CheckpointRecord write_checkpoint(WindowIndex next, const DriverOutcome& outcome,
                                    std::string reason);
  const Topology& topology_;
  Transport& transport_;
  DriverOptions options_;
  std::vector<std::unique_ptr<TspProgram>>
      empty_programs_;  // before locals_: engines refer to them
  std::vector<Local> locals_;
  SendScheduleIndex schedule_;  // the bundle's send schedule; every send is checked against it
  std::vector<std::uint64_t> link_sequence_[2];  // per link and direction (a->b = 0, b->a = 1)
  std::vector<Cycle> link_last_send_[2];
  std::uint64_t fec_seed_;  // the attempt's FEC draws (DriverOptions::attempt)
};

// The run's digest: the TSP digests combined in TSP order (docs/design.md section 9).
[[nodiscard]] Digest128 combine_tsp_digests(std::span<const Digest128> tsp_digests);

}  // namespace tspemu
