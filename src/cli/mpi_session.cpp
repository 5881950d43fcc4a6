#include "cli/mpi_session.hpp"

#include <mpi.h>

#include <algorithm>

#include "common/log.hpp"

namespace tspemu::cli {

MpiSession::MpiSession(int argc, char** argv, double watchdog_seconds)
    : blocking_call_seconds_(watchdog_seconds > 0 ? std::max(watchdog_seconds, 10.0) : 0.0),
      fault_(injected_fault_from_environment()) {
  reach_fault_point(fault_, FaultPhase::init);
  {
    const BlockingCallWatch watch("MPI_Init_thread", blocking_call_seconds_);
    int provided = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  }
  // Every wait from here on is watched (net/watched_comm.hpp).
  comm_ = std::make_unique<WatchedComm>(MPI_COMM_WORLD, watchdog_seconds);
  if (comm_->size() > 1) set_log_rank(comm_->rank());
}

MpiSession::~MpiSession() {
  // A session left without finalize() (an exception in the cli) still ends MPI cleanly on this
  // rank; the others' watched waits name it if they are left waiting.
  if (!finalized_) {
    comm_.reset();
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (finalized == 0) MPI_Finalize();
  }
}

int MpiSession::finalize(int code) {
  (void)comm_->allreduce_max(0, "the barrier before MPI_Finalize");
  reach_fault_point(fault_, FaultPhase::finalize);
  comm_.reset();
  const BlockingCallWatch watch("MPI_Finalize", blocking_call_seconds_);
  MPI_Finalize();
  finalized_ = true;
  return code;
}

}  // namespace tspemu::cli
