#pragma once
// Checkpoint/restart of a run (docs/checkpoint.md). A checkpoint is taken at an agreement (after
// a window's exchange, every rank at the same window) and is a directory:
//
//   DIR/manifest.toml                 what ran, where it stopped, which state directory is valid
//   DIR/window-000000012/tsp-00005.state   one file per TSP: its engine and driver state
//
// Every file is written to a temporary name and renamed (common/output_file.hpp); the TSP files of
// every rank are written before the manifest (an agreement orders them), and the manifest names
// the state directory it belongs to, so a process killed at any moment leaves either the previous
// checkpoint or the new one valid, never a mix. The state directories the manifest does not name
// are removed after it is written. A TSP file ends with the XXH3-128 of its bytes, so a truncated
// or damaged file is an error naming it, never a silent difference.
//
// Restarting reads the manifest, checks that the program and topology are the ones it names (their
// digests) and resumes every TSP from its file, on any rank count and partition (--local too): the
// files are per TSP, and a TSP's state does not depend on where it ran. The final digest is the
// uninterrupted run's.

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/digest.hpp"
#include "common/ids.hpp"
#include "net/window.hpp"

namespace tspemu {

inline constexpr std::int64_t kCheckpointVersion = 1;
inline constexpr const char* kCheckpointManifest = "manifest.toml";

// One attempt the run discarded because the FEC flagged vectors it could not correct.
struct ReplayRecord {
  std::int64_t attempt = 0;
  std::int64_t uncorrectable_vectors = 0;  // over every TSP
  std::string first;                       // the lowest TSP's first one (rank 0 knows it)
};

// What a checkpoint belongs to: a restart loads the same inputs (by digest) and runs with the same
// options that reach results or the state's layout.
struct CheckpointIdentity {
  std::filesystem::path program;   // absolute, as the checkpointed run loaded it
  std::filesystem::path topology;  // absolute
  Digest128 program_digest;
  Digest128 topology_digest;
  std::int64_t tsps = 0;
  std::uint64_t seed = 1;
  bool timing_only = false;
  std::optional<std::uint64_t> clock_seed;
  std::optional<std::uint64_t> shuffle_seed;
  std::int64_t agreement_epochs = 1;
  bool trace = false;
  Cycle trace_begin = 0;
  Cycle trace_end = 0;
  Cycle stats_interval = 0;  // 0: no --stats
};

// A checkpoint written or restarted from, for the report.
struct CheckpointRecord {
  std::filesystem::path directory;
  WindowIndex window = 0;  // the next window to run
  Cycle cycle = 0;         // its first cycle
  std::string reason;      // "every 4 epochs", "SIGUSR1", "SIGTERM or SIGUSR2"
};

struct CheckpointManifest {
  CheckpointIdentity run;
  std::int64_t attempt = 0;           // the replay attempt the state belongs to
  std::vector<ReplayRecord> replays;  // attempts discarded before it
  WindowIndex next_window = 0;
  Cycle next_cycle = 0;
  std::int64_t windows = 0;  // executed so far (skipped ones not counted)
  std::int64_t windows_skipped = 0;
  std::vector<WindowIndex> executed_windows;  // traced runs: every window run so far
  std::string state_directory;                // "window-000000012", under the checkpoint's
  std::string reason;
};

// What the run writes checkpoints with (runtime/driver.hpp, DriverOptions::checkpoint).
struct CheckpointPlan {
  std::filesystem::path directory;
  std::int64_t every_epochs = 0;  // 0: only when a signal asks
  CheckpointIdentity identity;
  std::vector<ReplayRecord> replays;  // of the attempts before the running one
};

// What the run driver counts per TSP (runtime/driver.cpp), kept whole by a checkpoint.
struct TspRunCounters {
  std::int64_t vectors_sent = 0;
  std::int64_t vectors_received = 0;
  std::int64_t fec_corrected = 0;
  std::int64_t fec_uncorrectable = 0;
  std::string first_uncorrectable;  // what the replay report names
  // Vectors sent per C2C port: a TSP's own ports, not every link of the machine (which would make
  // a run's memory quadratic in TSPs).
  std::vector<std::int64_t> port_vectors;
  // With DriverOptions::stats_interval: (interval, link) -> vectors sent.
  std::map<std::pair<std::int64_t, std::int32_t>, std::int64_t> interval_link_vectors;
  template <class Archive>
  void serialize(Archive& archive) {
    archive(vectors_sent, vectors_received, fec_corrected, fec_uncorrectable, first_uncorrectable,
            port_vectors, interval_link_vectors);
  }
};

// One TSP's file: the engine (chip/engine.hpp, save_state) and what the driver keeps of it.
struct TspCheckpoint {
  TspId tsp;
  std::vector<std::uint8_t> sent_log;  // Hasher::state
  TspRunCounters counters;
  // The link directions this TSP sends on: the next vector's sequence number and the last send.
  struct LinkSend {
    LinkId link;
    std::int32_t direction = 0;  // 0: a -> b, 1: b -> a
    std::uint64_t sequence = 0;
    Cycle last_send = 0;
  };
  std::vector<LinkSend> links;
  std::vector<std::uint8_t> engine;
};

// "window-000000012"
[[nodiscard]] std::string state_directory_name(WindowIndex window);
// DIR/<state>/tsp-00005.state
[[nodiscard]] std::filesystem::path tsp_state_path(const std::filesystem::path& directory,
                                                   const std::string& state, TspId tsp);

// The bytes of one TSP's file, and back. decode checks the trailing digest, the format version,
// the TSP, the window and the program digest; a problem is an InputError naming `file`.
[[nodiscard]] std::vector<std::uint8_t> encode_tsp_checkpoint(const TspCheckpoint& tsp,
                                                              WindowIndex window,
                                                              const Digest128& program_digest);
[[nodiscard]] TspCheckpoint decode_tsp_checkpoint(std::span<const std::uint8_t> bytes,
                                                  const std::string& file, TspId tsp,
                                                  WindowIndex window,
                                                  const Digest128& program_digest);
// Writes a TSP's file (creating the state directory) atomically; reads one (InputError naming
// the file if it is missing or unreadable).
void write_tsp_checkpoint(const std::filesystem::path& directory, const std::string& state,
                          const TspCheckpoint& tsp, WindowIndex window,
                          const Digest128& program_digest);
[[nodiscard]] TspCheckpoint read_tsp_checkpoint(const std::filesystem::path& directory,
                                                const CheckpointManifest& manifest, TspId tsp);

// The manifest as TOML text and back (strict: located errors for unknown keys, wrong types,
// another format or version).
[[nodiscard]] std::string manifest_toml(const CheckpointManifest& manifest);
[[nodiscard]] CheckpointManifest parse_manifest(std::string_view text, const std::string& file);
// DIR/manifest.toml, written atomically last; then the state directories it does not name are
// removed (only names of the form window-<digits>: nothing else in DIR is touched).
void commit_manifest(const std::filesystem::path& directory, const CheckpointManifest& manifest);
// Reads DIR/manifest.toml: InputError if DIR holds no checkpoint.
[[nodiscard]] CheckpointManifest read_manifest(const std::filesystem::path& directory);

// Where checkpoints may be written: DIR is a directory or does not exist yet (created), and a
// manifest already in it belongs to the same run (program, topology, options), since the first
// checkpoint would replace it. InputError otherwise.
void check_checkpoint_directory(const std::filesystem::path& directory,
                                const CheckpointIdentity& identity);

// Signals (installed by the run command when checkpoints are on): SIGUSR1 asks for a checkpoint
// at the next agreement and the run goes on; SIGTERM and SIGUSR2 ask for a checkpoint and a stop
// (Open MPI's mpirun forwards SIGUSR1 and SIGUSR2 to every rank; Slurm's scancel --signal and
// sbatch --signal reach the ranks directly). The handler only sets bits; the driver takes them
// at each agreement as ControlFlag bits (net/control.hpp) so that every rank acts alike.
void install_checkpoint_signals();
[[nodiscard]] std::uint64_t take_checkpoint_signals();

}  // namespace tspemu
