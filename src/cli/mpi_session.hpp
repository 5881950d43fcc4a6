#pragma once
// The MPI lifetime of a `tspemu run` process under mpirun or srun: MPI_Init_thread when it starts,
// a watched barrier and MPI_Finalize when it ends. The cli owns it (the runtime only uses the
// communicator), so MPI starts and ends in one place.
//
// MPI_Init and MPI_Finalize cannot be polled: each runs under a blocking-call watch
// (net/watched_comm.hpp) of at least 10 s, because under oversubscription start-up alone can take
// seconds and such a watch cannot tell a slow rank from a stopped one. Before MPI_Finalize a
// watched barrier names a rank that will not arrive. TSPEMU_INJECT_FAULT's init and finalize
// stages (runtime/fault_injection.hpp) are reached here.

#include <memory>
#include <optional>

#include "net/watched_comm.hpp"
#include "runtime/fault_injection.hpp"

namespace tspemu::cli {

class MpiSession {
 public:
  // watchdog_seconds: the run's --watchdog (0: never); also sets the log's rank prefix.
  MpiSession(int argc, char** argv, double watchdog_seconds);
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  ~MpiSession();

  [[nodiscard]] WatchedComm& comm() { return *comm_; }

  // The barrier, then MPI_Finalize; returns `code`. Call once, on every rank.
  int finalize(int code);

 private:
  double blocking_call_seconds_;
  std::optional<InjectedFault> fault_;
  std::unique_ptr<WatchedComm> comm_;
  bool finalized_ = false;
};

}  // namespace tspemu::cli
