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
// magic u32, count u32, window i64, checksum u64 (the low word of the records' XXH3-128): a
// message corrupted in transit is detected, never used.
constexpr std::size_t kExchangeHeaderBytes = 24;

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

// The exchange message's checksum: the low word of the XXH3-128 of its vector records.
std::uint64_t records_checksum(const std::byte* begin, const std::byte* end) {
  return Hasher()
      .bytes(std::span(reinterpret_cast<const std::uint8_t*>(begin),
                       static_cast<std::size_t>(end - begin)))
      .finish()
      .low;
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
    write_error_line(text, rank);
    MPI_Abort(comm == MPI_COMM_NULL ? MPI_COMM_WORLD : comm, exit_code);
  } else {
    write_error_line(text);
  }
  std::exit(exit_code);
}

}  // namespace

std::optional<std::string> rank_count_problem(int comm_size, std::int64_t expected_tsps) {
  if (comm_size <= expected_tsps) return std::nullopt;
  return fmt::format(
      "the topology has {} but this job has {}: tspemu runs one or more TSPs per MPI rank, so "
      "start it with at most {} (`mpirun -n {} ...` or fewer, or `srun --mpi=pmix -n {} ...`)",
      plural(expected_tsps, "TSP"), plural(comm_size, "rank"), plural(expected_tsps, "rank"),
      expected_tsps, expected_tsps);
}

int check_rank_count(MPI_Comm comm, std::int64_t expected_tsps) {
  int size = 0;
  int rank = 0;
  MPI_Comm_size(comm, &size);
  MPI_Comm_rank(comm, &rank);
  const auto problem = rank_count_problem(size, expected_tsps);
  if (!problem) return kExitOk;
  if (rank == 0) {
    write_error_line(*problem);
  }
  return kExitInputError;
}

void abort_job(const Error& error, MPI_Comm comm) {
  report_and_abort(error.what(), error.exit_code(), comm);
}

void abort_job(const std::exception& error, MPI_Comm comm) {
  const ErrorReport report = report_exception(error);
  report_and_abort(report.message, report.exit_code, comm);
}

namespace {

// "TSP 5", "TSPs 8..15" or "TSPs 1, 3, 9" (at most a few listed) for messages.
std::string describe_tsps(std::span<const TspId> tsps) {
  if (tsps.size() == 1) return fmt::format("TSP {}", tsps.front().value);
  const bool contiguous =
      tsps.back().value - tsps.front().value + 1 == static_cast<std::int32_t>(tsps.size());
  if (contiguous) return fmt::format("TSPs {}..{}", tsps.front().value, tsps.back().value);
  std::string out = "TSPs ";
  for (std::size_t i = 0; i < tsps.size() && i < 4; ++i) {
    out += fmt::format("{}{}", i == 0 ? "" : ", ", tsps[i].value);
  }
  if (tsps.size() > 4) out += fmt::format(" and {} more", tsps.size() - 4);
  return out;
}

}  // namespace

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
    if (size_ != tsps) {
      throw InputError(
          fmt::format("{} ranks for {}: a job with fewer ranks than TSPs needs a rank placement",
                      size_, plural(tsps, "TSP")));
    }
    for (int t = 0; t < size_; ++t) rank_of_tsp_.push_back(t);
  }
  if (static_cast<std::int64_t>(rank_of_tsp_.size()) != tsps) {
    throw InputError(
        fmt::format("rank placement lists {} ranks for {} TSPs", rank_of_tsp_.size(), tsps));
  }
  std::vector<std::vector<TspId>> tsps_of_rank(static_cast<std::size_t>(size_));
  for (std::size_t t = 0; t < rank_of_tsp_.size(); ++t) {
    const int r = rank_of_tsp_[t];
    if (r < 0 || r >= size_) {
      throw InputError(fmt::format(
          "rank placement puts TSP {} on rank {}: the job's ranks are 0..{}", t, r, size_ - 1));
    }
    tsps_of_rank[static_cast<std::size_t>(r)].emplace_back(static_cast<std::int32_t>(t));
  }
  for (int r = 0; r < size_; ++r) {
    if (tsps_of_rank[static_cast<std::size_t>(r)].empty()) {
      throw InputError(
          fmt::format("rank placement gives rank {} no TSP: every rank must host at least one", r));
    }
  }
  local_ = tsps_of_rank[static_cast<std::size_t>(rank_)];
  local_index_.assign(static_cast<std::size_t>(tsps), -1);
  for (std::size_t i = 0; i < local_.size(); ++i) {
    local_index_[local_[i].index()] = static_cast<int>(i);
  }
  std::vector<std::string> rank_names;
  rank_names.reserve(tsps_of_rank.size());
  for (int r = 0; r < size_; ++r) {
    rank_names.push_back(
        fmt::format("rank {} ({})", r, describe_tsps(tsps_of_rank[static_cast<std::size_t>(r)])));
  }
  comm_.set_rank_names([names = std::move(rank_names)](int rank) {
    return names.at(static_cast<std::size_t>(rank));
  });

  // The routes to every other rank: which (local TSP, neighbour) pairs cross to it and back. A
  // rank exchanges ONE message per window with each peer rank, however many TSP pairs cross.
  std::vector<int> peer_of_rank(static_cast<std::size_t>(size_), -1);
  auto peer = [&](int r) -> PeerRoute& {
    auto& index = peer_of_rank[static_cast<std::size_t>(r)];
    if (index < 0) {
      index = static_cast<int>(peers_.size());
      peers_.push_back(PeerRoute{.rank = r});
    }
    return peers_[static_cast<std::size_t>(index)];
  };
  for (int r = 0; r < size_; ++r) {
    if (r == rank_) continue;
    for (const TspId src : tsps_of_rank[static_cast<std::size_t>(r)]) {
      const auto neighbours = this->layout().neighbours(src);
      for (std::size_t k = 0; k < neighbours.size(); ++k) {
        if (local_index_[neighbours[k].index()] < 0) continue;
        PeerRoute& route = peer(r);
        route.in.push_back({src, neighbours[k]});
        route.in_capacity += this->layout().capacity(src, k);
      }
    }
  }
  for (std::size_t i = 0; i < local_.size(); ++i) {
    const auto neighbours = this->layout().neighbours(local_[i]);
    for (std::size_t k = 0; k < neighbours.size(); ++k) {
      const int r = rank_of_tsp_[neighbours[k].index()];
      if (r == rank_) continue;
      PeerRoute& route = peer(r);
      route.out.push_back({i, k});
      route.out_capacity += this->layout().capacity(local_[i], k);
    }
  }
  std::sort(peers_.begin(), peers_.end(),
            [](const PeerRoute& a, const PeerRoute& b) { return a.rank < b.rank; });
  for (PeerRoute& route : peers_) {
    const auto bytes = [](std::int64_t capacity) {
      const std::size_t n =
          kExchangeHeaderBytes + static_cast<std::size_t>(capacity) * kInFlightWireBytes;
      if (n > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
        throw InputError(fmt::format(
            "one window's exchange between two ranks could carry {} bytes, more than one MPI "
            "message of int size: use more ranks (fewer TSPs per rank)",
            n));
      }
      return n;
    };
    route.send_buffer.resize(bytes(route.out_capacity));
    route.recv_buffer.resize(bytes(route.in_capacity));
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
  TSPEMU_ASSERT(outgoing.size() == local_.size() && incoming.size() == local_.size(),
                "one outbox and one inbox per local TSP");
  check_window_order(window);
  for (std::size_t i = 0; i < local_.size(); ++i) {
    TSPEMU_ASSERT(outgoing[i].tsp() == local_[i], "outboxes in local_tsps() order");
    check_outbox(window, outgoing[i]);
  }
  for (auto& inbox : incoming) inbox.clear();

  // Logical messages, counted per TSP pair as LocalTransport counts them (the job's totals do
  // not depend on the partition); pairs within this rank are delivered here and now.
  for (std::size_t i = 0; i < local_.size(); ++i) {
    const auto neighbours = layout().neighbours(local_[i]);
    for (std::size_t k = 0; k < neighbours.size(); ++k) {
      if (!message_due(local_[i], neighbours[k], window)) {
        ++stats_.messages_elided;
        continue;
      }
      ++stats_.messages_sent;
      const auto bucket = outgoing[i].to_neighbour(k);
      stats_.vectors_sent += static_cast<std::int64_t>(bucket.size());
      const int j = local_index_[neighbours[k].index()];
      if (j >= 0) {
        auto& inbox = incoming[static_cast<std::size_t>(j)];
        inbox.insert(inbox.end(), bucket.begin(), bucket.end());
      }
    }
  }

  requests_.clear();
  awaited_.clear();
  recv_peer_.clear();
  for (std::size_t p = 0; p < peers_.size(); ++p) {
    PeerRoute& route = peers_[p];
    const bool due = std::any_of(route.in.begin(), route.in.end(), [&](const auto& pair) {
      return message_due(pair.first, pair.second, window);
    });
    if (!due) continue;
    post(true, route.recv_buffer.data(), static_cast<int>(route.recv_buffer.size()), route.rank,
         kExchangeTag, "the message from {}");
    recv_peer_.push_back(p);
  }
  for (PeerRoute& route : peers_) {
    std::uint32_t count = 0;
    bool due = false;
    std::byte* const out = route.send_buffer.data();
    std::byte* record = out + kExchangeHeaderBytes;
    for (const auto& [i, k] : route.out) {
      const TspId dst = layout().neighbours(local_[i])[k];
      if (!message_due(local_[i], dst, window)) continue;
      due = true;
      for (const InFlightVector& v : outgoing[i].to_neighbour(k)) {
        encode_in_flight(v, std::span<std::byte, kInFlightWireBytes>(record, kInFlightWireBytes));
        record += kInFlightWireBytes;
        ++count;
      }
    }
    if (!due) continue;
    put_u32(out, kExchangeMagic);
    put_u32(out + 4, count);
    put_i64(out + 8, window);
    put_i64(out + 16,
            static_cast<std::int64_t>(records_checksum(out + kExchangeHeaderBytes, record)));
    if (options_.corrupt_window && *options_.corrupt_window == window && count > 0) {
      // Fault injection (runtime/fault_injection.hpp): one data bit flipped after the checksum,
      // as a bad cable or NIC would.
      out[kExchangeHeaderBytes + kInFlightHeaderBytes] ^= std::byte{0x01};
    }
    post(false, out, static_cast<int>(record - out), route.rank, kExchangeTag,
         "{} to accept our message");
    ++stats_.rank_messages_sent;
  }

  statuses_.resize(requests_.size());
  comm_.wait_all(requests_, statuses_, awaited_, [&] {
    return fmt::format("the exchange of window {} (cycles {}..{}) of {}", window,
                       layout().window().begin(window), layout().window().end(window) - 1,
                       describe_tsps(local_));
  });

  for (std::size_t j = 0; j < recv_peer_.size(); ++j) {
    const PeerRoute& route = peers_[recv_peer_[j]];
    int bytes = 0;
    MPI_Get_count(&statuses_[j], MPI_BYTE, &bytes);
    const std::byte* in = route.recv_buffer.data();
    const std::uint32_t count =
        bytes >= static_cast<int>(kExchangeHeaderBytes) ? get_u32(in + 4) : 0;
    const bool well_formed =
        bytes >= static_cast<int>(kExchangeHeaderBytes) && get_u32(in) == kExchangeMagic &&
        static_cast<std::size_t>(bytes) == kExchangeHeaderBytes + count * kInFlightWireBytes;
    if (well_formed && get_i64(in + 8) == window &&
        static_cast<std::uint64_t>(get_i64(in + 16)) !=
            records_checksum(in + kExchangeHeaderBytes,
                             in + kExchangeHeaderBytes + count * kInFlightWireBytes)) {
      throw RuntimeError(
          fmt::format("the exchange message from {} for window {} ({}) fails its checksum: it was "
                      "corrupted in transit, and none of it is used",
                      comm_.rank_name(route.rank), window, plural(count, "vector")));
    }
    if (!well_formed || get_i64(in + 8) != window) {
      throw RuntimeError(fmt::format(
          "the exchange message from {} for window {} is malformed or belongs to window {} ({} "
          "bytes): the ranks disagree on the exchange plan or the window sequence",
          comm_.rank_name(route.rank), window,
          bytes >= static_cast<int>(kExchangeHeaderBytes) ? get_i64(in + 8) : -1, bytes));
    }
    const std::byte* record = in + kExchangeHeaderBytes;
    for (std::uint32_t i = 0; i < count; ++i, record += kInFlightWireBytes) {
      InFlightVector v = decode_in_flight(
          std::span<const std::byte, kInFlightWireBytes>(record, kInFlightWireBytes));
      const bool from_peer = v.src.value >= 0 && v.src.value < layout().tsp_count() &&
                             rank_of_tsp_[v.src.index()] == route.rank;
      const bool to_here = v.dst.value >= 0 && v.dst.value < layout().tsp_count() &&
                           local_index_[v.dst.index()] >= 0;
      if (!from_peer || !to_here) {
        throw RuntimeError(fmt::format("{} delivered a vector from TSP {} for TSP {} to {}",
                                       comm_.rank_name(route.rank), v.src.value, v.dst.value,
                                       comm_.rank_name(rank_)));
      }
      layout().check_outgoing(v.src, window, v);
      if (!message_due(v.src, v.dst, window)) {
        throw RuntimeError(fmt::format(
            "{} delivered a vector from TSP {} to TSP {} in window {}, which the exchange plan "
            "does not announce",
            comm_.rank_name(route.rank), v.src.value, v.dst.value, window));
      }
      incoming[static_cast<std::size_t>(local_index_[v.dst.index()])].push_back(v);
    }
  }
  for (auto& inbox : incoming) {
    sort_canonically(inbox);
    stats_.vectors_received += static_cast<std::int64_t>(inbox.size());
  }
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
