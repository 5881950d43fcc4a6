#pragma once
// `tspemu run`: everything between the command line and the driver. Owns the process-level
// lifecycle (MPI, Kokkos), chooses the transport, loads topology and program, runs, gathers every
// TSP's outcome to rank 0, and writes the report and the final `digest:` line.
//
// Errors. Setup (loading and checking inputs) is collective: every rank loads the same files, the
// ranks agree whether any failed, and the lowest failing rank prints its message once; every rank
// then exits with that error's code, with no MPI_Abort banner. During the run an error on one TSP
// ends the whole job through Transport::abort (message, then MPI_Abort): never a hang.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tspemu {

struct RunRequest {
  std::filesystem::path program;   // .tspb bundle or .tsa assembly
  std::filesystem::path topology;  // topology TOML
  bool local = false;              // every TSP in this process (the reference transport)
  std::optional<std::filesystem::path> report;
  std::vector<std::pair<std::string, std::filesystem::path>> dumps;  // [tspN:]NAME=FILE
  std::uint64_t seed = 1;
  std::optional<std::uint64_t> shuffle_seed;
  bool timing_only = false;
  std::int64_t agreement_epochs = 1;
  double watchdog_seconds = 300.0;
  std::string bind = "none";  // none | core
  bool report_binding = false;
  bool quiet = false;  // only the digest line on stdout
};

// Returns the process exit code. Never throws.
int run_main(const RunRequest& request, int argc, char** argv);

}  // namespace tspemu
