#include "net/mpi_transport.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>

#include "common/digest.hpp"

namespace tspemu {
namespace {

// Tag of the exchange messages on the communicator (WatchedComm's are kTagBase and up).
constexpr int kExchangeTag = 101;

constexpr std::uint32_t kExchangeMagic = 0x57505354;  // "TSPW" little-endian
constexpr std::size_t kExchangeHeaderBytes = 16;      // magic u32, count u32, window i64

void put_u32(std::byte* out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<std::byte>((v >> (8 * i)) & 0xFFU);
}
void put_i64(std::byte* out, std::int64_t value) {
  const auto v = static_cast<std::uint64_t>(value);
  for (int i = 0; i < 8; ++i) out[i] = static_cast<std::byte>((v >> (8 * i)) & 0xFFU);
}
std::uint32_t get_u32(const std::byte* in) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<std::uint32_t>(in[i]);
  return v;
}
std::int64_t get_i64(const std::byte* in) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<std::uint64_t>(in[i]);
  return static_cast<std::int64_t>(v);
}

std::string plural(std::int64_t n, std::string_view word) {
  return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s");
}

Digest128 layout_digest(const NetworkLayout& layout, const std::vector<int>& rank_of_tsp) {
  Hasher h;
  h.str("tspemu network layout v1");
  h.i64(layout.tsp_count())
      .i64(layout.window().window_cycles())
      .i64(layout.window().hac_period_cycles())
      .u64(std::bit_cast<std::uint64_t>(layout.clock_mhz()));
  for (const LinkSpec& l : layout.links()) {
    h.i64(l.id.value).i64(l.a.value).i64(l.a_port.value).i64(l.b.value).i64(l.b_port.value);
    h.i64(l.params.latency_cycles)
        .i64(l.params.latency_min_cycles)
        .i64(l.params.latency_max_cycles)
        .u64(std::bit_cast<std::uint64_t>(l.params.bandwidth_gbps))
        .u64(std::bit_cast<std::uint64_t>(l.params.bit_error_rate))
        .u64(std::bit_cast<std::uint64_t>(l.params.uncorrectable_rate));
  }
  for (int r : rank_of_tsp) h.i64(r);
  return h.finish();
}

[[noreturn]] void report_and_abort(const std::string& text, int exit_code, MPI_Comm comm) {
  int initialised = 0;
  int finalised = 0;
  MPI_Initialized(&initialised);
  MPI_Finalized(&finalised);
  if (initialised != 0 && finalised == 0) {
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    std::fprintf(stderr, "tspemu: error: [rank %d] %s\n", rank, text.c_str());
    std::fflush(stderr);
    MPI_Abort(comm == MPI_COMM_NULL ? MPI_COMM_WORLD : comm, exit_code);
  } else {
    std::fprintf(stderr, "tspemu: error: %s\n", text.c_str());
    std::fflush(stderr);
  }
  std::exit(exit_code);
}

}  // namespace

std::optional<std::string> rank_count_problem(int comm_size, std::int64_t expected_tsps) {
  if (comm_size == expected_tsps) return std::nullopt;
  std::string message = fmt::format(
      "the topology has {} and tspemu runs one TSP per MPI rank, but this job has {}: start it "
      "with `mpirun -n {} ...` (or `srun --mpi=pmix -n {} ...`)",
      plural(expected_tsps, "TSP"), plural(comm_size, "rank"), expected_tsps, expected_tsps);
  if (comm_size == 1) {
    message += fmt::format(
        "; a job of 1 rank under Slurm usually means a bare `srun` without `--mpi=pmix`, which "
        "starts {} singletons of size 1 instead of one job of {} ranks",
        expected_tsps, expected_tsps);
  }
  return message;
}

int check_rank_count(MPI_Comm comm, std::int64_t expected_tsps) {
  int size = 0;
  int rank = 0;
  MPI_Comm_size(comm, &size);
  MPI_Comm_rank(comm, &rank);
  const auto problem = rank_count_problem(size, expected_tsps);
  if (!problem) return kExitOk;
  if (rank == 0) {
    std::fprintf(stderr, "tspemu: error: %s\n", problem->c_str());
    std::fflush(stderr);
  }
  return kExitInputError;
}

void abort_job(const Error& error, MPI_Comm comm) {
  report_and_abort(error.what(), error.exit_code(), comm);
}

void abort_job(const std::exception& error, MPI_Comm comm) {
  if (const auto* e = dynamic_cast<const Error*>(&error)) abort_job(*e, comm);
  report_and_abort(fmt::format("internal error: {} (this is a tspemu bug)", error.what()),
                   kExitRuntimeError, comm);
}

MpiTransport::MpiTransport(WatchedComm& comm, std::shared_ptr<const NetworkLayout> layout,
                           MpiTransportOptions options)
    : Transport(std::move(layout)), comm_(comm), options_(std::move(options)) {
  rank_ = comm_.rank();
  size_ = comm_.size();
  const std::int64_t tsps = this->layout().tsp_count();
  if (const auto problem = rank_count_problem(size_, tsps)) throw InputError(*problem);
  if (options_.agree_fanout < 1) {
    throw InputError(
        fmt::format("agreement fan-out of {}: it must be at least 1", options_.agree_fanout));
  }
  rank_of_tsp_ = options_.rank_of_tsp;
  if (rank_of_tsp_.empty()) {
    for (int t = 0; t < size_; ++t) rank_of_tsp_.push_back(t);
  }
  std::vector<int> tsp_of_rank(static_cast<std::size_t>(size_), -1);
  if (static_cast<std::int64_t>(rank_of_tsp_.size()) != tsps) {
    throw InputError(
        fmt::format("rank placement lists {} ranks for {} TSPs", rank_of_tsp_.size(), tsps));
  }
  for (std::size_t t = 0; t < rank_of_tsp_.size(); ++t) {
    const int r = rank_of_tsp_[t];
    if (r < 0 || r >= size_ || tsp_of_rank[static_cast<std::size_t>(r)] != -1) {
      throw InputError(
          fmt::format("rank placement puts TSP {} on rank {}: the placement must "
                      "use every rank 0..{} exactly once",
                      t, r, size_ - 1));
    }
    tsp_of_rank[static_cast<std::size_t>(r)] = static_cast<int>(t);
  }
  local_.emplace_back(tsp_of_rank[static_cast<std::size_t>(rank_)]);
  comm_.set_rank_names([tsp_of_rank](int rank) {
    return fmt::format("rank {} (TSP {})", rank, tsp_of_rank[static_cast<std::size_t>(rank)]);
  });

  const auto neighbours = this->layout().neighbours(tsp());
  for (std::size_t k = 0; k < neighbours.size(); ++k) {
    neighbour_rank_.push_back(rank_of_tsp_[neighbours[k].index()]);
    const auto capacity = static_cast<std::size_t>(this->layout().capacity(tsp(), k));
    const std::size_t bytes = kExchangeHeaderBytes + capacity * kInFlightWireBytes;
    TSPEMU_ASSERT(bytes <= static_cast<std::size_t>(std::numeric_limits<int>::max()),
                  "an exchange message fits an int byte count");
    send_buffers_.emplace_back(bytes);
    recv_buffers_.emplace_back(bytes);
  }

  // Every rank must have been given the same network and placement; otherwise messages would be
  // misread. One tree reduction of the layout digest (and its complement, so that every rank sees
  // any difference) before the first window.
  const Digest128 digest = layout_digest(this->layout(), rank_of_tsp_);
  const std::vector<std::int64_t> mine = {
      static_cast<std::int64_t>(digest.high), static_cast<std::int64_t>(digest.low),
      static_cast<std::int64_t>(~digest.high), static_cast<std::int64_t>(~digest.low)};
  const auto agreed = comm_.reduce_broadcast(
      mine,
      [](std::vector<std::int64_t>& acc, std::span<const std::int64_t> other) {
        for (std::size_t i = 0; i < acc.size(); ++i) acc[i] = std::max(acc[i], other[i]);
      },
      "the start-up check that every rank has the same network", options_.agree_fanout);
  if (agreed != mine) {
    throw InputError(
        "the ranks were given different networks or rank placements (their layout digests "
        "differ): every rank must load the same topology");
  }
}

MpiTransport::~MpiTransport() = default;

void MpiTransport::post(bool receive, std::byte* buffer, int bytes, int peer, int tag,
                        std::string description) {
  requests_.push_back(MPI_REQUEST_NULL);
  if (receive) {
    MPI_Irecv(buffer, bytes, MPI_BYTE, peer, tag, comm_.comm(), &requests_.back());
  } else {
    MPI_Isend(buffer, bytes, MPI_BYTE, peer, tag, comm_.comm(), &requests_.back());
  }
  awaited_.push_back(Awaited{peer, std::move(description)});
}

void MpiTransport::exchange(WindowIndex window, std::span<const Outbox> outgoing,
                            std::span<std::vector<InFlightVector>> incoming) {
  TSPEMU_ASSERT(outgoing.size() == 1 && incoming.size() == 1,
                "MpiTransport hosts one TSP: one outbox and one inbox");
  TSPEMU_ASSERT(outgoing[0].tsp() == tsp(), "the outbox belongs to this rank's TSP");
  check_window_order(window);
  const Outbox& outbox = outgoing[0];
  check_outbox(window, outbox);

  const auto neighbours = layout().neighbours(tsp());
  requests_.clear();
  awaited_.clear();
  recv_neighbour_.clear();
  for (std::size_t k = 0; k < neighbours.size(); ++k) {
    if (!message_due(neighbours[k], tsp(), window)) continue;
    post(true, recv_buffers_[k].data(), static_cast<int>(recv_buffers_[k].size()),
         neighbour_rank_[k], kExchangeTag, "the message from {}");
    recv_neighbour_.push_back(static_cast<int>(k));
  }
  for (std::size_t k = 0; k < neighbours.size(); ++k) {
    if (!message_due(tsp(), neighbours[k], window)) {
      ++stats_.messages_elided;
      continue;
    }
    const auto bucket = outbox.to_neighbour(k);
    std::byte* out = send_buffers_[k].data();
    put_u32(out, kExchangeMagic);
    put_u32(out + 4, static_cast<std::uint32_t>(bucket.size()));
    put_i64(out + 8, window);
    std::byte* record = out + kExchangeHeaderBytes;
    for (const InFlightVector& v : bucket) {
      encode_in_flight(v, std::span<std::byte, kInFlightWireBytes>(record, kInFlightWireBytes));
      record += kInFlightWireBytes;
    }
    post(false, out, static_cast<int>(record - out), neighbour_rank_[k], kExchangeTag,
         "{} to accept our message");
    ++stats_.messages_sent;
    stats_.vectors_sent += static_cast<std::int64_t>(bucket.size());
  }

  statuses_.resize(requests_.size());
  comm_.wait_all(requests_, statuses_, awaited_, [&] {
    return fmt::format("the exchange of window {} (cycles {}..{}) of TSP {}", window,
                       layout().window().begin(window), layout().window().end(window) - 1,
                       tsp().value);
  });

  auto& inbox = incoming[0];
  inbox.clear();
  for (std::size_t j = 0; j < recv_neighbour_.size(); ++j) {
    const auto k = static_cast<std::size_t>(recv_neighbour_[j]);
    int bytes = 0;
    MPI_Get_count(&statuses_[j], MPI_BYTE, &bytes);
    const std::byte* in = recv_buffers_[k].data();
    const std::uint32_t count =
        bytes >= static_cast<int>(kExchangeHeaderBytes) ? get_u32(in + 4) : 0;
    const bool well_formed =
        bytes >= static_cast<int>(kExchangeHeaderBytes) && get_u32(in) == kExchangeMagic &&
        static_cast<std::size_t>(bytes) == kExchangeHeaderBytes + count * kInFlightWireBytes;
    if (!well_formed || get_i64(in + 8) != window) {
      throw RuntimeError(fmt::format(
          "the exchange message from rank {} (TSP {}) for window {} is malformed or belongs to "
          "window {} ({} bytes): the ranks disagree on the exchange plan or the window sequence",
          neighbour_rank_[k], neighbours[k].value, window,
          bytes >= static_cast<int>(kExchangeHeaderBytes) ? get_i64(in + 8) : -1, bytes));
    }
    const std::byte* record = in + kExchangeHeaderBytes;
    for (std::uint32_t i = 0; i < count; ++i, record += kInFlightWireBytes) {
      InFlightVector v = decode_in_flight(
          std::span<const std::byte, kInFlightWireBytes>(record, kInFlightWireBytes));
      layout().check_outgoing(neighbours[k], window, v);
      if (v.dst != tsp()) {
        throw RuntimeError(fmt::format("rank {} (TSP {}) delivered a vector for TSP {} to TSP {}",
                                       neighbour_rank_[k], neighbours[k].value, v.dst.value,
                                       tsp().value));
      }
      inbox.push_back(v);
    }
  }
  sort_canonically(inbox);
  stats_.vectors_received += static_cast<std::int64_t>(inbox.size());
  ++stats_.windows;
  last_window_ = window;
}

ControlState MpiTransport::agree(const ControlState& local) {
  const auto fields = local.to_array();
  std::vector<std::int64_t> mine(fields.begin(), fields.end());
  const std::string where =
      last_window_ ? fmt::format("agreement {} (after window {})", agreement_index_, *last_window_)
                   : fmt::format("agreement {} (before the first window)", agreement_index_);
  const auto agreed_fields = comm_.reduce_broadcast(
      std::move(mine),
      [](std::vector<std::int64_t>& acc, std::span<const std::int64_t> other) {
        std::array<std::int64_t, ControlState::kFields> a{};
        std::array<std::int64_t, ControlState::kFields> b{};
        std::copy(acc.begin(), acc.end(), a.begin());
        std::copy(other.begin(), other.end(), b.begin());
        const auto c = ControlState::from_array(a).combined(ControlState::from_array(b)).to_array();
        std::copy(c.begin(), c.end(), acc.begin());
      },
      where, options_.agree_fanout);
  ++agreement_index_;
  ++stats_.agreements;
  std::array<std::int64_t, ControlState::kFields> agreed_array{};
  std::copy(agreed_fields.begin(), agreed_fields.end(), agreed_array.begin());
  const ControlState agreed = ControlState::from_array(agreed_array);
  check_agreed(agreed);
  return agreed;
}

void MpiTransport::abort(const Error& error) {
  abort_job(error, comm_.comm());
}

}  // namespace tspemu
