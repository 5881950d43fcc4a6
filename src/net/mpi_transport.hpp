#pragma once
// One TSP per MPI rank (DESIGN.md section 6; docs/network.md has the protocol and measurements).
//
// Exchange: per window, ONE message per neighbour and direction (a 16-byte header: magic, vector
// count, window; then count x 368-byte vectors, net/in_flight.hpp), posted as MPI_Irecv/MPI_Isend
// on a private duplicate of the communicator and completed by polling MPI_Testall. With an
// ExchangePlan, messages the plan says are empty are not sent (both ends know).
//
// Waiting: MPI_Testall polling relies on Open MPI's progress engine yielding the CPU
// (OMPI_MCA_mpi_yield_when_idle=1; set it, oversubscribed or not). Measured on 2 cores as fast as
// MPI_Waitall (docs/network.md), and it keeps the watchdog in the waiting thread: a wait longer
// than watchdog_seconds prints which window or agreement, which neighbour rank and what was
// awaited, then MPI_Abort ends the whole job.
//
// Agreement: a reduce up and a broadcast down a tree of fan-out agree_fanout over point-to-point
// messages, with the same polling and watchdog. The default fan-out makes it linear (every rank
// talks to rank 0) up to 257 ranks: measured on 2 cores at 72 ranks as fast as MPI_Allreduce with
// Open MPI's linear algorithm, 3x faster than its default, and independent of coll MCA settings.
//
// Threading: everything here is called from the thread that called MPI_Init_thread (FUNNELED
// suffices).

#include <mpi.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "net/transport.hpp"

namespace tspemu {

struct MpiTransportOptions {
  // Longest a rank waits for any message before it aborts the job; 0 waits forever. It must exceed
  // the longest a neighbour can legitimately take to reach the same exchange (its window's compute,
  // load imbalance, startup skew).
  double watchdog_seconds = 300.0;
  // Children per node of the agreement tree (>= 1); >= ranks - 1 means linear.
  int agree_fanout = 256;
  // rank_of_tsp[t] = the rank that emulates TSP t; empty means TSP t on rank t. Must be a
  // permutation of 0 .. size-1.
  std::vector<int> rank_of_tsp;
};

class MpiTransport final : public Transport {
 public:
  // Collective over `comm`, whose size must equal layout->tsp_count() (call check_rank_count
  // first for a friendly message). Duplicates `comm`, so its messages never mix with the caller's.
  // Checks that every rank passed an identical layout (InputError on every rank otherwise).
  MpiTransport(MPI_Comm comm, std::shared_ptr<const NetworkLayout> layout,
               MpiTransportOptions options = {});
  ~MpiTransport() override;

  [[nodiscard]] std::span<const TspId> local_tsps() const override { return local_; }
  [[nodiscard]] TspId tsp() const { return local_.front(); }
  [[nodiscard]] int rank() const { return rank_; }
  [[nodiscard]] int size() const { return size_; }
  [[nodiscard]] MPI_Comm comm() const { return comm_; }

  void exchange(WindowIndex window, std::span<const Outbox> outgoing,
                std::span<std::vector<InFlightVector>> incoming) override;
  [[nodiscard]] ControlState agree(const ControlState& local) override;
  [[noreturn]] void abort(const Error& error) override;

 private:
  enum class Awaiting : std::uint8_t {
    exchange_in,
    exchange_out,
    agree_up,
    agree_down_in,
    agree_up_out,
    agree_down_out
  };
  struct Pending {
    Awaiting what;
    int peer_rank;
  };
  // Completes requests_ (described by pending_), or aborts the job after watchdog_seconds.
  void wait_all(const std::function<std::string()>& where);
  // Prints what is still outstanding and ends the job.
  // Ends the job naming what is awaited; returns false (no abort) if nothing is awaited any more.
  bool watchdog_fired(const std::string& where);
  void post_recv(std::byte* buffer, int bytes, int peer, int tag, Awaiting what);
  void post_send(const std::byte* buffer, int bytes, int peer, int tag, Awaiting what);
  // Tree reduction + broadcast of fixed-size int64 records (agreements, the layout check).
  template <class Combine>
  std::vector<std::int64_t> reduce_broadcast(std::vector<std::int64_t> mine, Combine combine,
                                             std::int64_t index, const std::string& where);

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 0;
  MpiTransportOptions options_;
  std::vector<int> rank_of_tsp_;
  std::vector<TspId> local_;
  std::vector<int> neighbour_rank_;
  std::vector<std::vector<std::byte>> send_buffers_;
  std::vector<std::vector<std::byte>> recv_buffers_;
  std::vector<int> recv_neighbour_;  // neighbour index of each posted receive, in post order
  std::vector<MPI_Request> requests_;
  std::vector<MPI_Status> statuses_;
  std::vector<Pending> pending_;
  std::int64_t agreement_index_ = 0;
  std::optional<WindowIndex> last_window_;
};

// The exact message of a wait the watchdog ended (pure; unit-tested). `where` says which wait
// ("window 3 (cycles 384..511)", "agreement 2 (after window 255)"), `awaited` lists what was still
// outstanding.
[[nodiscard]] std::string watchdog_message(double watchdog_seconds, std::string_view where,
                                           std::span<const std::string> awaited);

// The message for a job started with the wrong number of ranks, or nullopt if comm_size equals
// expected_tsps (pure; unit-tested).
[[nodiscard]] std::optional<std::string> rank_count_problem(int comm_size,
                                                            std::int64_t expected_tsps);

// Collective: if comm's size is not expected_tsps, rank 0 prints "tspemu: error: <problem>" on
// stderr and every rank returns kExitInputError (the caller finalises MPI and exits with it);
// returns kExitOk otherwise.
[[nodiscard]] int check_rank_count(MPI_Comm comm, std::int64_t expected_tsps);

// Ends the whole job from any one rank: prints "tspemu: error: [rank R] <error.what()>" once on
// stderr, then MPI_Abort(comm, error.exit_code()), so mpirun exits with that code. Without MPI
// (not initialised or already finalised) it prints "tspemu: error: <what>" and exits.
[[noreturn]] void abort_job(const Error& error, MPI_Comm comm = MPI_COMM_WORLD);
// The same for any other exception: reported as an internal error (exit code 1).
[[noreturn]] void abort_job(const std::exception& error, MPI_Comm comm = MPI_COMM_WORLD);

}  // namespace tspemu
