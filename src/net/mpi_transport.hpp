#pragma once
// One or more TSPs per MPI rank (docs/network.md has the protocol and measurements).
//
// Exchange: per window, ONE message per pair of ranks and direction that share a link (a 16-byte
// header: magic, vector count, window; then count x 368-byte vectors, net/in_flight.hpp, in
// (sending TSP, neighbour) order), posted as MPI_Irecv/MPI_Isend and completed through
// WatchedComm::wait_all (polling, status queries, the watchdog). Vectors between two TSPs of the
// same rank are handed over in memory. With an ExchangePlan, a message is sent iff the plan
// announces traffic for at least one TSP pair it carries (both ends know). Every inbox is sorted
// canonically, so what a TSP receives does not depend on the partition.
//
// Waiting: polling relies on Open MPI's progress engine yielding the CPU
// (OMPI_MCA_mpi_yield_when_idle=1; set it, oversubscribed or not). Measured on 2 cores as fast as
// MPI_Waitall (docs/network.md). A wait longer than the watchdog follows the waits from rank to
// rank and ends the job naming the rank that does not respond (net/watched_comm.hpp).
//
// Agreement: a reduce up and a broadcast down a tree of fan-out agree_fanout over point-to-point
// messages (WatchedComm::reduce_broadcast). The default fan-out makes it linear (every rank talks
// to rank 0) up to 257 ranks: measured on 2 cores at 72 ranks as fast as MPI_Allreduce with Open
// MPI's linear algorithm, 3x faster than its default, and independent of coll MCA settings.
//
// Messages use tags 101..103 of the WatchedComm's communicator (which is not duplicated:
// MPI_Comm_dup is itself a blocking collective). Threading: everything here is called from the
// thread that called MPI_Init_thread (FUNNELED suffices).

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
#include "net/watched_comm.hpp"

namespace tspemu {

struct MpiTransportOptions {
  // Children per node of the agreement tree (>= 1); >= ranks - 1 means linear.
  int agree_fanout = 256;
  // rank_of_tsp[t] = the rank that emulates TSP t; empty means TSP t on rank t (the job must then
  // have one rank per TSP). Every rank 0 .. size-1 must host at least one TSP; a rank's TSPs need
  // not be contiguous (runtime/rank_partition.hpp chooses contiguous blocks).
  std::vector<int> rank_of_tsp;
  // Fault injection only (runtime/fault_injection.hpp, corrupt@W:R): this rank flips one data bit
  // of its exchange messages of window W after checksumming them.
  std::optional<std::int64_t> corrupt_window;
};

class MpiTransport final : public Transport {
 public:
  // Collective over comm's communicator, whose size must not exceed layout->tsp_count() (call
  // check_rank_count first for a friendly message). Its waits are comm's: the watchdog limit is
  // comm.watchdog_seconds(). Names ranks in comm's messages with their TSP. Checks that every rank
  // passed an identical layout (InputError on every rank otherwise). `comm` must outlive this.
  MpiTransport(WatchedComm& comm, std::shared_ptr<const NetworkLayout> layout,
               MpiTransportOptions options = {});
  ~MpiTransport() override;

  [[nodiscard]] std::span<const TspId> local_tsps() const override { return local_; }
  // The first (lowest) TSP this rank hosts.
  [[nodiscard]] TspId tsp() const { return local_.front(); }
  [[nodiscard]] int rank() const { return rank_; }
  [[nodiscard]] int size() const { return size_; }
  [[nodiscard]] MPI_Comm comm() const { return comm_.comm(); }
  [[nodiscard]] WatchedComm& watched() const { return comm_; }

  void exchange(WindowIndex window, std::span<const Outbox> outgoing,
                std::span<std::vector<InFlightVector>> incoming) override;
  [[nodiscard]] ControlState agree(const ControlState& local) override;
  [[noreturn]] void abort(const Error& error) override;

 private:
  void post(bool receive, std::byte* buffer, int bytes, int peer, int tag, std::string description);

  WatchedComm& comm_;
  int rank_ = 0;
  int size_ = 0;
  MpiTransportOptions options_;
  // What crosses between this rank and one other rank that shares a link with it.
  struct PeerRoute {
    int rank = 0;
    std::vector<std::pair<std::size_t, std::size_t>> out;  // (local TSP index, neighbour index)
    std::vector<std::pair<TspId, TspId>> in;               // (its TSP, our TSP)
    std::int64_t out_capacity = 0;                         // vectors per window, both ways
    std::int64_t in_capacity = 0;
    std::vector<std::byte> send_buffer;
    std::vector<std::byte> recv_buffer;
  };

  std::vector<int> rank_of_tsp_;
  std::vector<TspId> local_;
  std::vector<int> local_index_;        // per TSP: its index in local_, or -1
  std::vector<PeerRoute> peers_;        // ascending rank
  std::vector<std::size_t> recv_peer_;  // peer of each posted receive, in post order
  std::vector<MPI_Request> requests_;
  std::vector<MPI_Status> statuses_;
  std::vector<Awaited> awaited_;
  std::int64_t agreement_index_ = 0;
  std::optional<WindowIndex> last_window_;
};

// The message for a job started with more ranks than TSPs, or nullopt (pure; unit-tested).
[[nodiscard]] std::optional<std::string> rank_count_problem(int comm_size,
                                                            std::int64_t expected_tsps);

// Collective: if comm's size exceeds expected_tsps, rank 0 prints "tspemu: error: <problem>" on
// stderr and every rank returns kExitInputError (the caller finalises MPI and exits with it);
// returns kExitOk otherwise.
[[nodiscard]] int check_rank_count(MPI_Comm comm, std::int64_t expected_tsps);

// Ends the whole job from any one rank: prints "tspemu: error: [rank R] <error.what()>" once on
// stderr, then MPI_Abort(comm, error.exit_code()), so mpirun exits with that code. Without MPI
// (not initialised or already finalised) it prints "tspemu: error: <what>" and exits.
[[noreturn]] void abort_job(const Error& error, MPI_Comm comm = MPI_COMM_WORLD);
// The same for any exception, reported as report_exception (common/error.hpp) words it.
[[noreturn]] void abort_job(const std::exception& error, MPI_Comm comm = MPI_COMM_WORLD);

}  // namespace tspemu
