#pragma once
// Every wait of an MPI job under one watchdog (docs/design.md section 6, "No hangs"; issue 10).
//
// A run waits for other ranks in many places: the start-up agreement that every rank loaded its
// inputs, the binding exchange, every window's exchange, the agreements, the final gathers and
// the result. A rank that stopped, crashed or hangs must end the job with a message naming it,
// wherever the others are waiting, never leave them blocked. So nothing in a run calls a blocking
// MPI collective: WatchedComm builds the collectives from point-to-point messages and waits for
// everything by polling, with the watchdog in the waiting thread.
//
// Naming the rank that did not arrive. The rank whose watchdog fires knows only whom it waits for,
// and that rank may itself be waiting for a third (an agreement waits for its root, a window for
// its neighbours, who wait for theirs). So before it aborts, it asks: every rank answers status
// queries whenever it polls ("waiting in <where> for ranks ..." or "busy: <what>"), and the
// watchdog follows the waits from rank to rank until it reaches ranks that do not answer within
// the probe time. Those are named: "rank 3 (TSP 3) does not respond: it stopped, crashed or is
// slower than the watchdog limit". A rank that answers "busy" (a long local step run through
// busy()) is alive: the wait goes on. If everyone answers and waits for someone else, the ranks
// disagree on the protocol, and the cycle is named.
//
// One message per job: the rank that reaches a verdict tells every rank that answered, and a
// rank that heard a verdict does not print its own. (Two ranks may still conclude in the same
// instant; both then name the same rank.)
//
// Start-up and teardown (MPI_Init_thread, MPI_Finalize) cannot be polled: BlockingCallWatch
// guards them from a helper thread and ends the process if they do not return in time, which
// makes the launcher end the job.
//
// Messages use tags kTagBase .. kTagBase + 99 on the communicator given, as is: duplicating it
// would itself be a blocking collective. Nothing else may use those tags on it. Everything here is
// called from the thread that initialised MPI (MPI_THREAD_FUNNELED suffices).

#include <mpi.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace tspemu {

// What one pending request waits for, for the watchdog's message: "the message from" + who.
struct Awaited {
  int peer = -1;            // the rank on the other end
  std::string description;  // "the message from {}", "{} to accept our message": {} = the rank
};

class WatchedComm {
 public:
  static constexpr int kTagBase = 200;

  // watchdog_seconds: longest a wait may last while this process runs (net/wait_timer.hpp); 0
  // waits forever. No communication.
  WatchedComm(MPI_Comm comm, double watchdog_seconds);
  ~WatchedComm();
  WatchedComm(const WatchedComm&) = delete;
  WatchedComm& operator=(const WatchedComm&) = delete;

  [[nodiscard]] int rank() const { return rank_; }
  [[nodiscard]] int size() const { return size_; }
  [[nodiscard]] MPI_Comm comm() const { return comm_; }
  [[nodiscard]] double watchdog_seconds() const { return watchdog_seconds_; }

  // How ranks are named in messages ("rank 3" by default; the transport adds the TSP).
  void set_rank_names(std::function<std::string(int)> name);
  [[nodiscard]] std::string rank_name(int rank) const;

  // Completes every request (statuses: one per request, for MPI_Get_count) while answering
  // status queries. `where` describes the wait ("the exchange of window 3 (cycles 384..511) of
  // TSP 0"); it is evaluated only when a message needs it. After watchdog_seconds without
  // completion the waits are followed as described above and the job ends with the verdict.
  void wait_all(std::span<MPI_Request> requests, std::span<MPI_Status> statuses,
                std::span<const Awaited> awaited, const std::function<std::string()>& where);

  // Collectives over point-to-point messages (a tree of fan-out `fanout` rooted at rank 0, linear
  // by default: measured on 2 cores at 72 ranks as fast as MPI_Allreduce with Open MPI's linear
  // algorithm, docs/network.md). Every rank must make the same calls in the same order; a record
  // from another call is an error naming both.
  //
  // Tree reduction of fixed-size records, result on every rank. combine(acc, other) folds a
  // child's record into acc; it must be associative and commutative over the records it sees.
  [[nodiscard]] std::vector<std::int64_t> reduce_broadcast(
      std::vector<std::int64_t> mine,
      const std::function<void(std::vector<std::int64_t>&, std::span<const std::int64_t>)>& combine,
      const std::string& where, int fanout = 256);
  [[nodiscard]] std::int64_t allreduce_min(std::int64_t mine, const std::string& where);
  [[nodiscard]] std::int64_t allreduce_max(std::int64_t mine, const std::string& where);
  [[nodiscard]] std::vector<std::int64_t> allreduce_sum(std::vector<std::int64_t> mine,
                                                        const std::string& where);
  // Every rank's bytes in rank order on rank 0; empty elsewhere.
  [[nodiscard]] std::vector<std::string> gather(const std::string& mine, const std::string& where);
  // Rank 0's `value` on every rank (other ranks' argument is ignored).
  [[nodiscard]] std::string broadcast(const std::string& value, const std::string& where);
  // gather + broadcast: every rank's bytes in rank order on every rank.
  [[nodiscard]] std::vector<std::string> allgather(const std::string& mine,
                                                   const std::string& where);

  // Runs `work` on a helper thread while this one keeps answering status queries with "busy:
  // <what>", so that ranks waiting for this one know it is alive however long the work takes.
  // `work` must not call MPI. Returns its result or rethrows its exception.
  template <class Work>
  auto busy(const std::string& what, Work&& work) -> decltype(work()) {
    auto task = std::async(std::launch::async, std::forward<Work>(work));
    busy_what_ = what;
    while (task.wait_for(std::chrono::milliseconds(2)) != std::future_status::ready) service();
    busy_what_.clear();
    return task.get();
  }

 private:
  class Step;
  // Answers status queries, completes finished replies, drops stale ones, notes verdicts.
  void service();
  // Follows the waits of `requests` (incomplete ones) from rank to rank. Returns nullopt if every
  // request completed meanwhile or a rank on the way is busy (the wait goes on); else the message.
  std::optional<std::string> diagnose(std::span<MPI_Request> requests,
                                      std::span<const Awaited> awaited, const std::string& where);
  [[noreturn]] void abort_with(const std::string& message, bool print);
  std::string status_text(std::span<MPI_Request> requests, std::span<const Awaited> awaited,
                          const std::string& where) const;
  void send_small(const std::string& bytes, int peer, int tag);
  std::string recv_matched(int peer, int tag, MPI_Status* status);

  MPI_Comm comm_;
  int rank_ = 0;
  int size_ = 1;
  double watchdog_seconds_;
  std::function<std::string(int)> name_;
  std::int64_t collective_index_ = 0;
  std::int64_t query_index_ = 0;
  // What this rank answers while it waits (set by wait_all) or works (set by busy()).
  std::span<MPI_Request> waiting_requests_;
  std::span<const Awaited> waiting_awaited_;
  const std::function<std::string()>* waiting_where_ = nullptr;
  std::string busy_what_;
  // Replies and notices this rank sent that may still be in flight.
  struct Outgoing {
    std::string bytes;
    MPI_Request request = MPI_REQUEST_NULL;
  };
  std::vector<std::unique_ptr<Outgoing>> outgoing_;
  bool verdict_heard_ = false;
};

// Watches one blocking call that cannot be polled (MPI_Init_thread, MPI_Finalize): if the object
// still lives after `seconds`, a helper thread prints
//   "tspemu: error: [rank R] watchdog: <what> did not complete within N s; a rank of this job
//    stopped, crashed or never started"
// and ends this process with exit code 1 (_exit: no cleanup can run while MPI is blocked), which
// makes mpirun or srun end the whole job. seconds <= 0: no watch.
class BlockingCallWatch {
 public:
  BlockingCallWatch(std::string what, double seconds);
  ~BlockingCallWatch();
  BlockingCallWatch(const BlockingCallWatch&) = delete;
  BlockingCallWatch& operator=(const BlockingCallWatch&) = delete;

 private:
  std::mutex mutex_;
  std::condition_variable done_;
  bool finished_ = false;
  std::thread thread_;
};

// The watchdog's verdict message (pure; unit-tested): `where` the reporting rank waited, what it
// awaited, and who does not respond (or the cycle of waits when everyone answered).
[[nodiscard]] std::string watchdog_verdict(double watchdog_seconds, std::string_view where,
                                           std::span<const std::string> awaited,
                                           std::span<const std::string> silent,
                                           std::span<const std::string> waiting_for_them);

}  // namespace tspemu
