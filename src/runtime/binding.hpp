#pragma once
// Where each MPI rank runs, found and (optionally) set through hwloc (docs/design.md section 2: the
// run driver binds; section 9: the report says where every TSP was emulated).
//
// Why it matters: one rank emulates one TSP, so a 72-TSP rack on a 2-core machine puts 36 or more
// ranks on each core. Whether they are pinned, and how many share a core, decides whether Open MPI
// must yield while it waits (a busy-polling rank on a shared core costs a whole scheduler slice,
// ~4 ms, per message: cluster/README.md), so the run header prints it and the report records every
// rank's binding.
//
// Also here: detecting a launch whose MPI world does not match what the launcher started (a bare
// `srun -n 8` without PMIx), so tspemu can refuse it with a hint instead of a confusing failure.

#include <mpi.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "net/watched_comm.hpp"

namespace tspemu {

// `tspemu run --bind core|none`: what tspemu itself does about pinning (after MPI_Init).
//   none: leave the binding the launcher gave (mpirun --bind-to ..., srun --cpu-bind ..., or none).
//   core: pin node-local rank i to core (i mod C) of the C cores this process may use, through
//         hwloc; for launchers that do not bind (srun with task/none, mpirun --bind-to none).
enum class BindPolicy : std::uint8_t { none, core };

// "none" or "core"; anything else throws InputError naming `--bind` and the accepted values.
[[nodiscard]] BindPolicy parse_bind_policy(std::string_view text);
[[nodiscard]] std::string_view to_string(BindPolicy policy);

// One rank's placement. Gathered on rank 0 for the report and `--report-binding`.
struct RankBinding {
  std::string host;    // gethostname()
  int rank = 0;        // in MPI_COMM_WORLD
  int size = 1;        // its size
  int local_rank = 0;  // rank among the processes of this host, in rank order
  int local_size = 1;  // processes of this communicator on this host
  std::string cpuset;  // PUs (OS indexes) this process may run on, hwloc list syntax: "0-1", "3"
  int numa_node =
      -1;  // OS index of the NUMA node holding every PU of cpuset; -1 if it spans several
  int host_cores = 1;  // cores this process is allowed to use on the host (cgroup / allowed set)
  // Worst-case contention: over the cores this rank may run on, the largest number of local ranks
  // whose cpuset includes that core. 1 = the rank has a core to itself; with no binding at all it
  // is local_size (every rank may run on every core).
  int ranks_sharing_core = 1;
  // The cores this rank may run on, each named by the OS index of its first PU (a name every
  // process on the host agrees on), ascending.
  std::vector<int> cores;

  friend bool operator==(const RankBinding&, const RankBinding&) = default;
};

// This process's placement as far as it sees alone (host, cpuset, NUMA node, allowed cores and the
// cores it may run on); rank and the per-host fields are combine_bindings()'s. Throws
// RuntimeError if hwloc cannot read the machine or the binding.
[[nodiscard]] RankBinding local_binding();

// Fills rank, size, local_rank, local_size and ranks_sharing_core of every entry, where
// bindings[i] is rank i's local_binding(): ranks on the same host are local ranks 0, 1, ... in
// rank order, and a core's occupancy is the number of that host's ranks that may run on it.
void combine_bindings(std::span<RankBinding> bindings);

// Collective over comm (every rank must call it; watched, net/watched_comm.hpp): every rank's
// combined binding, in rank order, on every rank.
[[nodiscard]] std::vector<RankBinding> exchange_bindings(WatchedComm& comm);

// Local (no communication): applies `policy` to this process. For BindPolicy::core pins every
// thread of the process to core (local_rank mod C) of the C allowed cores; for BindPolicy::none
// does nothing. Throws RuntimeError if hwloc cannot bind (the message names the core and the
// reason).
void bind_to_core(BindPolicy policy, int local_rank);

// One line for `--report-binding`, e.g.
//   "rank 3/72 on vm: local rank 3/72, cpuset 0-1, NUMA node 0, 72 ranks may share a core"
[[nodiscard]] std::string describe_binding(const RankBinding& binding);

// The run header's line about contention, one clause per host in order of first appearance, e.g.
//   "72 ranks on vm (2 cores): up to 72 ranks share a core"
// Empty input gives "".
[[nodiscard]] std::string sharing_summary(std::span<const RankBinding> bindings);

// JSON object with the fields of RankBinding under their C++ names (nlohmann's ADL hooks);
// from_json throws nlohmann::json::exception on a missing field or a wrong type.
void to_json(nlohmann::json& json, const RankBinding& binding);
void from_json(const nlohmann::json& json, RankBinding& binding);

// Before MPI_Init: the hint if srun started this process as one of several tasks without any
// process-management interface for MPI (no PMIx, PMI or Open MPI variables in the environment).
// Open MPI then aborts inside MPI_Init ("OMPI was not built with SLURM's PMI support"); other MPIs
// start every task as a singleton. Either way the run cannot work, so tspemu refuses it first.
[[nodiscard]] std::optional<std::string> launcher_mismatch_hint_before_init();

// After MPI_Init: the hint if the launcher says it started a different number of processes than the
// MPI world holds (OMPI_COMM_WORLD_SIZE, else PMI_SIZE, else SLURM_STEP_NUM_TASKS, compared with
// `comm_size`); std::nullopt when they agree or the environment names no launcher.
[[nodiscard]] std::optional<std::string> launcher_mismatch_hint(int comm_size);

}  // namespace tspemu
