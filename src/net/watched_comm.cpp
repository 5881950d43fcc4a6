#include "net/watched_comm.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <map>

#include "common/error.hpp"
#include "net/wait_timer.hpp"

namespace tspemu {
namespace {

// Tags on the communicator (kTagBase + offset).
constexpr int kReduceUpTag = WatchedComm::kTagBase + 0;
constexpr int kReduceDownTag = WatchedComm::kTagBase + 1;
constexpr int kGatherHeaderTag = WatchedComm::kTagBase + 2;
constexpr int kGatherPayloadTag = WatchedComm::kTagBase + 3;
constexpr int kBroadcastHeaderTag = WatchedComm::kTagBase + 4;
constexpr int kBroadcastPayloadTag = WatchedComm::kTagBase + 5;
constexpr int kQueryTag = WatchedComm::kTagBase + 10;
constexpr int kReplyTag = WatchedComm::kTagBase + 11;
constexpr int kVerdictTag = WatchedComm::kTagBase + 12;

constexpr std::int64_t kRecordMagic = 0x43575354;  // "TSWC"
// Payloads travel in chunks: MPI counts are ints.
constexpr std::size_t kChunkBytes = std::size_t{1} << 30;
// A status reply stays small (eager on every transport Open MPI has: it completes at once).
constexpr std::size_t kMaxReplyBytes = 2048;
// How often a polling wait reads the clock and answers queries: most waits end within a few polls
// and never do either (a clock read costs about 1 us under load, docs/network.md).
constexpr std::uint32_t kPollsPerService = 64;

using Clock = std::chrono::steady_clock;

double now_seconds() {
  return std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
}

void put_i64(char* out, std::int64_t value) {
  const auto v = static_cast<std::uint64_t>(value);
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xFFU);
}

std::int64_t get_i64(const char* in) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<std::uint8_t>(in[i]);
  return static_cast<std::int64_t>(v);
}

std::string join(std::span<const std::string> items) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

bool complete(MPI_Request request) {
  if (request == MPI_REQUEST_NULL) return true;
  int flag = 0;
  MPI_Request_get_status(request, &flag, MPI_STATUS_IGNORE);
  return flag != 0;
}

}  // namespace

// The requests of one step of a collective: posted, then completed together by wait_all.
class WatchedComm::Step {
 public:
  Step(WatchedComm& comm, const std::string& where) : comm_(comm), where_(where) {}

  // Posts a receive (or send) of `bytes` bytes, in chunks of at most kChunkBytes (MPI counts are
  // ints); `description` says what is awaited ("the part from {}").
  void post(bool receive, char* data, std::size_t bytes, int peer, int tag,
            const std::string& description) {
    std::size_t offset = 0;
    do {
      const int n = static_cast<int>(std::min(kChunkBytes, bytes - offset));
      requests_.push_back(MPI_REQUEST_NULL);
      if (receive) {
        MPI_Irecv(data + offset, n, MPI_BYTE, peer, tag, comm_.comm_, &requests_.back());
      } else {
        MPI_Isend(data + offset, n, MPI_BYTE, peer, tag, comm_.comm_, &requests_.back());
      }
      awaited_.push_back(Awaited{peer, description});
      offset += static_cast<std::size_t>(n);
    } while (offset < bytes);
  }
  void wait() {
    statuses_.resize(requests_.size());
    comm_.wait_all(requests_, statuses_, awaited_, [this] { return where_; });
    requests_.clear();
    awaited_.clear();
  }

 private:
  WatchedComm& comm_;
  const std::string& where_;
  std::vector<MPI_Request> requests_;
  std::vector<MPI_Status> statuses_;
  std::vector<Awaited> awaited_;
};

namespace {

// The header of a gathered or broadcast payload: magic, collective index, length.
using Header = std::array<char, 24>;

Header make_header(std::int64_t index, std::size_t length) {
  Header h{};
  put_i64(h.data(), kRecordMagic);
  put_i64(h.data() + 8, index);
  put_i64(h.data() + 16, static_cast<std::int64_t>(length));
  return h;
}

}  // namespace

std::string watchdog_verdict(double watchdog_seconds, std::string_view where,
                             std::span<const std::string> awaited,
                             std::span<const std::string> silent,
                             std::span<const std::string> waiting_for_them) {
  std::string text =
      fmt::format("watchdog: waited {} s in {} for {}; ", watchdog_seconds, where,
                  awaited.empty() ? std::string("(nothing recorded)") : join(awaited));
  if (silent.empty()) {
    return text + fmt::format(
                      "every rank on the way waits for another ({}): the ranks disagree "
                      "on the order of their exchanges",
                      join(waiting_for_them));
  }
  text += fmt::format("{} {} not respond: {} stopped, crashed or {} slower than the watchdog limit",
                      join(silent), silent.size() == 1 ? "does" : "do",
                      silent.size() == 1 ? "it" : "they", silent.size() == 1 ? "is" : "are");
  if (!waiting_for_them.empty()) {
    text += fmt::format(" (waiting for {}: {})", silent.size() == 1 ? "it" : "them",
                        join(waiting_for_them));
  }
  return text;
}

WatchedComm::WatchedComm(MPI_Comm comm, double watchdog_seconds)
    : comm_(comm), watchdog_seconds_(watchdog_seconds) {
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
  if (!(watchdog_seconds_ >= 0)) {
    throw InputError(
        fmt::format("watchdog of {} s: it must be 0 (off) or positive", watchdog_seconds_));
  }
}

WatchedComm::~WatchedComm() {
  int finalised = 0;
  MPI_Finalized(&finalised);
  if (finalised != 0) return;
  // Replies still in flight go on without us; their bytes must outlive them.
  for (auto& o : outgoing_) {
    if (complete(o->request)) continue;
    MPI_Request_free(&o->request);
    (void)o.release();  // NOLINT: deliberately leaked, MPI may still read it
  }
}

void WatchedComm::set_rank_names(std::function<std::string(int)> name) {
  name_ = std::move(name);
}

std::string WatchedComm::rank_name(int rank) const {
  return name_ ? name_(rank) : fmt::format("rank {}", rank);
}

void WatchedComm::send_small(const std::string& bytes, int peer, int tag) {
  auto o = std::make_unique<Outgoing>();
  o->bytes = bytes;
  MPI_Isend(o->bytes.data(), static_cast<int>(o->bytes.size()), MPI_BYTE, peer, tag, comm_,
            &o->request);
  outgoing_.push_back(std::move(o));
}

std::string WatchedComm::recv_matched(int peer, int tag, MPI_Status* status) {
  // Only after MPI_Iprobe found the message: the receive completes at once.
  int bytes = 0;
  MPI_Get_count(status, MPI_BYTE, &bytes);
  std::string data(static_cast<std::size_t>(std::max(bytes, 0)), '\0');
  MPI_Recv(data.data(), bytes, MPI_BYTE, peer, tag, comm_, MPI_STATUS_IGNORE);
  return data;
}

std::string WatchedComm::status_text(std::span<MPI_Request> requests,
                                     std::span<const Awaited> awaited,
                                     const std::string& where) const {
  // "W\n<where>\n<rank> <rank> ..." or "B\n<what>".
  if (!busy_what_.empty()) return "B\n" + busy_what_;
  std::string text = "W\n" + where + "\n";
  for (std::size_t i = 0; i < requests.size(); ++i) {
    if (!complete(requests[i])) text += fmt::format("{} ", awaited[i].peer);
  }
  return text.substr(0, kMaxReplyBytes);
}

void WatchedComm::service() {
  int flag = 0;
  MPI_Status status;
  // Queries: answer with what this rank waits for now.
  for (;;) {
    MPI_Iprobe(MPI_ANY_SOURCE, kQueryTag, comm_, &flag, &status);
    if (flag == 0) break;
    const int asker = status.MPI_SOURCE;
    const std::string query = recv_matched(asker, kQueryTag, &status);
    if (query.size() != 16 || get_i64(query.data()) != kRecordMagic) continue;
    const std::string where =
        waiting_where_ != nullptr && *waiting_where_ ? (*waiting_where_)() : std::string("a wait");
    std::string reply(8, '\0');
    put_i64(reply.data(), get_i64(query.data() + 8));
    reply += status_text(waiting_requests_, waiting_awaited_, where);
    send_small(reply, asker, kReplyTag);
  }
  // Verdicts: another rank will report; this one stays quiet.
  for (;;) {
    MPI_Iprobe(MPI_ANY_SOURCE, kVerdictTag, comm_, &flag, &status);
    if (flag == 0) break;
    (void)recv_matched(status.MPI_SOURCE, kVerdictTag, &status);
    verdict_heard_ = true;
  }
  // Sent replies that completed.
  std::erase_if(outgoing_, [](const std::unique_ptr<Outgoing>& o) { return complete(o->request); });
}

std::optional<std::string> WatchedComm::diagnose(std::span<MPI_Request> requests,
                                                 std::span<const Awaited> awaited,
                                                 const std::string& where) {
  struct Peer {
    bool replied = false;
    bool busy = false;
    std::string doing;  // where it waits, or what it works on
    std::vector<int> awaits;
  };
  std::map<int, Peer> peers;  // ordered: the message lists ranks ascending
  const std::int64_t query_id = (static_cast<std::int64_t>(rank_) << 40) | ++query_index_;
  std::string query(16, '\0');
  put_i64(query.data(), kRecordMagic);
  put_i64(query.data() + 8, query_id);
  auto ask = [&](int peer) {
    if (peer == rank_ || peer < 0 || peer >= size_ || peers.contains(peer)) return;
    peers[peer] = Peer{};
    send_small(query, peer, kQueryTag);
  };
  std::vector<std::string> awaited_text;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    if (complete(requests[i])) continue;
    ask(awaited[i].peer);
    const std::string who = rank_name(awaited[i].peer);
    awaited_text.push_back(fmt::vformat(awaited[i].description, fmt::make_format_args(who)));
  }
  if (awaited_text.empty()) return std::nullopt;  // everything arrived meanwhile

  // Ask along the waits until every rank asked has answered or the probe time is up.
  const double probe_seconds = std::clamp(watchdog_seconds_ / 2, 0.5, 5.0);
  const double deadline = now_seconds() + probe_seconds;
  for (;;) {
    int flag = 0;
    MPI_Status status;
    for (;;) {
      MPI_Iprobe(MPI_ANY_SOURCE, kReplyTag, comm_, &flag, &status);
      if (flag == 0) break;
      const int from = status.MPI_SOURCE;
      const std::string reply = recv_matched(from, kReplyTag, &status);
      if (reply.size() < 10 || get_i64(reply.data()) != query_id || !peers.contains(from)) continue;
      Peer& p = peers[from];
      p.replied = true;
      const std::string body = reply.substr(8);
      const auto line = body.find('\n', 2);
      p.busy = body[0] == 'B';
      p.doing = body.substr(2, line == std::string::npos ? std::string::npos : line - 2);
      if (!p.busy && line != std::string::npos) {
        std::size_t pos = line + 1;
        while (pos < body.size()) {
          const auto end = body.find(' ', pos);
          if (end == std::string::npos) break;
          const int r = std::atoi(body.substr(pos, end - pos).c_str());
          p.awaits.push_back(r);
          pos = end + 1;
        }
        for (const int r : p.awaits) ask(r);
      }
    }
    service();
    bool all_replied = true;
    for (const auto& [r, p] : peers) all_replied = all_replied && p.replied;
    if (all_replied || now_seconds() > deadline) break;
    int done = 0;
    MPI_Testall(static_cast<int>(requests.size()), requests.data(), &done, MPI_STATUSES_IGNORE);
    if (done != 0) return std::nullopt;
  }

  std::vector<std::string> silent;
  std::vector<int> silent_ranks;
  bool any_busy = false;
  for (const auto& [r, p] : peers) {
    if (!p.replied) {
      silent.push_back(rank_name(r));
      silent_ranks.push_back(r);
    }
    any_busy = any_busy || p.busy;
  }
  if (silent.empty() && any_busy) return std::nullopt;  // alive and working: wait on
  std::vector<std::string> waiting;
  for (const auto& [r, p] : peers) {
    if (!p.replied || p.busy) continue;
    const bool waits_for_silent = std::any_of(p.awaits.begin(), p.awaits.end(), [&](int a) {
      return std::find(silent_ranks.begin(), silent_ranks.end(), a) != silent_ranks.end();
    });
    if (silent.empty() || waits_for_silent) {
      waiting.push_back(fmt::format("{} in {}", rank_name(r), p.doing));
    }
  }
  return watchdog_verdict(watchdog_seconds_, where, awaited_text, silent, waiting);
}

void WatchedComm::abort_with(const std::string& message, bool print) {
  if (print) {
    write_error_line(message, rank_);
  }
  MPI_Abort(comm_, kExitRuntimeError);
  std::_Exit(kExitRuntimeError);
}

void WatchedComm::wait_all(std::span<MPI_Request> requests, std::span<MPI_Status> statuses,
                           std::span<const Awaited> awaited,
                           const std::function<std::string()>& where) {
  if (requests.empty()) return;
  TSPEMU_ASSERT(statuses.size() == requests.size() && awaited.size() == requests.size(),
                "wait_all: one status and one description per request");
  // What status queries are answered with, for the duration of this wait.
  struct Waiting {
    WatchedComm& c;
    ~Waiting() {
      c.waiting_requests_ = {};
      c.waiting_awaited_ = {};
      c.waiting_where_ = nullptr;
    }
  } waiting{*this};
  waiting_requests_ = requests;
  waiting_awaited_ = awaited;
  waiting_where_ = &where;

  const int n = static_cast<int>(requests.size());
  WaitTimer timer(watchdog_seconds_ > 0 ? watchdog_seconds_ : 1.0);
  std::uint32_t polls = 0;
  for (;;) {
    int done = 0;
    MPI_Testall(n, requests.data(), &done, statuses.data());
    if (done != 0) return;
    if (++polls % kPollsPerService != 0) continue;
    service();
    if (watchdog_seconds_ <= 0) continue;
    // Past the limit of this process's running time (net/wait_timer.hpp): follow the waits.
    if (!timer.expired(now_seconds())) continue;
    const std::optional<std::string> verdict = diagnose(requests, awaited, where());
    if (!verdict) {
      timer.restart();  // completed meanwhile, or the rank awaited is busy and alive
      continue;
    }
    // One report per job: ranks that answered hear the verdict and stay quiet; a rank that
    // reached its own verdict gives lower ranks a moment to report first.
    const double until = now_seconds() + 0.02 * std::min(rank_, 16);
    while (!verdict_heard_ && now_seconds() < until) service();
    const bool print = !verdict_heard_;
    if (print) {
      for (int r = 0; r < size_; ++r) {
        if (r != rank_) send_small("verdict", r, kVerdictTag);
      }
    }
    abort_with(*verdict, print);
  }
}

std::vector<std::int64_t> WatchedComm::reduce_broadcast(
    std::vector<std::int64_t> mine,
    const std::function<void(std::vector<std::int64_t>&, std::span<const std::int64_t>)>& combine,
    const std::string& where, int fanout) {
  TSPEMU_ASSERT(fanout >= 1, "reduce_broadcast: fan-out below 1");
  const std::int64_t index = collective_index_++;
  const std::size_t fields = mine.size();
  const std::size_t record_bytes = (fields + 2) * sizeof(std::int64_t);  // magic, index, fields
  const auto wide_fanout = static_cast<std::int64_t>(fanout);
  const std::int64_t first_child = wide_fanout * rank_ + 1;
  const std::int64_t last_child =
      std::min<std::int64_t>(wide_fanout * rank_ + wide_fanout, size_ - 1);
  const int children = static_cast<int>(std::max<std::int64_t>(0, last_child - first_child + 1));
  const int parent = rank_ == 0 ? -1 : static_cast<int>((rank_ - 1) / wide_fanout);

  auto encode = [&](const std::vector<std::int64_t>& values, char* out) {
    put_i64(out, kRecordMagic);
    put_i64(out + 8, index);
    for (std::size_t i = 0; i < fields; ++i) put_i64(out + 16 + 8 * i, values[i]);
  };
  auto decode = [&](const char* in, int peer) {
    if (get_i64(in) != kRecordMagic || get_i64(in + 8) != index) {
      throw RuntimeError(fmt::format(
          "{}: {} sent the record of collective step {} while this rank is in step {}: the ranks "
          "made different collective calls",
          where, rank_name(peer), get_i64(in + 8), index));
    }
    std::vector<std::int64_t> values(fields);
    for (std::size_t i = 0; i < fields; ++i) values[i] = get_i64(in + 16 + 8 * i);
    return values;
  };

  std::vector<char> buffer(static_cast<std::size_t>(children + 2) * record_bytes);
  auto slot = [&](int i) { return buffer.data() + static_cast<std::size_t>(i) * record_bytes; };
  Step step(*this, where);
  auto post = [&](bool receive, char* data, int peer, int tag, const std::string& description) {
    step.post(receive, data, record_bytes, peer, tag, description);
  };
  // Up: the children's partial results.
  for (int c = 0; c < children; ++c) {
    post(true, slot(c), static_cast<int>(first_child) + c, kReduceUpTag, "the record from {}");
  }
  step.wait();
  std::vector<std::int64_t> acc = std::move(mine);
  for (int c = 0; c < children; ++c)
    combine(acc, decode(slot(c), static_cast<int>(first_child) + c));
  // To the parent, and the agreed result back from it.
  if (parent >= 0) {
    encode(acc, slot(children));
    post(false, slot(children), parent, kReduceUpTag, "{} to accept our record");
    post(true, slot(children + 1), parent, kReduceDownTag, "the agreed record from {}");
    step.wait();
    acc = decode(slot(children + 1), parent);
  }
  // Down: the agreed result to the children.
  if (children > 0) {
    encode(acc, slot(children));
    for (int c = 0; c < children; ++c) {
      post(false, slot(children), static_cast<int>(first_child) + c, kReduceDownTag,
           "{} to accept the agreed record");
    }
    step.wait();
  }
  return acc;
}

std::int64_t WatchedComm::allreduce_min(std::int64_t mine, const std::string& where) {
  return reduce_broadcast(
      {mine},
      [](std::vector<std::int64_t>& acc, std::span<const std::int64_t> other) {
        acc[0] = std::min(acc[0], other[0]);
      },
      where)[0];
}

std::int64_t WatchedComm::allreduce_max(std::int64_t mine, const std::string& where) {
  return reduce_broadcast(
      {mine},
      [](std::vector<std::int64_t>& acc, std::span<const std::int64_t> other) {
        acc[0] = std::max(acc[0], other[0]);
      },
      where)[0];
}

std::vector<std::int64_t> WatchedComm::allreduce_sum(std::vector<std::int64_t> mine,
                                                     const std::string& where) {
  return reduce_broadcast(
      std::move(mine),
      [](std::vector<std::int64_t>& acc, std::span<const std::int64_t> other) {
        for (std::size_t i = 0; i < acc.size(); ++i) acc[i] += other[i];
      },
      where);
}

std::vector<std::string> WatchedComm::gather(const std::string& mine, const std::string& where) {
  const std::int64_t index = collective_index_++;
  Step step(*this, where);
  if (rank_ != 0) {
    Header header = make_header(index, mine.size());
    step.post(false, header.data(), header.size(), 0, kGatherHeaderTag, "{} to accept our part");
    step.post(false, const_cast<char*>(mine.data()), mine.size(), 0, kGatherPayloadTag,
              "{} to accept our part");
    step.wait();
    return {};
  }
  std::vector<Header> headers(static_cast<std::size_t>(size_));
  for (int r = 1; r < size_; ++r) {
    step.post(true, headers[static_cast<std::size_t>(r)].data(), sizeof(Header), r,
              kGatherHeaderTag, "the part from {}");
  }
  step.wait();
  std::vector<std::string> parts(static_cast<std::size_t>(size_));
  parts[0] = mine;
  for (int r = 1; r < size_; ++r) {
    const char* h = headers[static_cast<std::size_t>(r)].data();
    if (get_i64(h) != kRecordMagic || get_i64(h + 8) != index || get_i64(h + 16) < 0) {
      throw RuntimeError(fmt::format(
          "{}: {} sent the part of collective step {} while this rank is in step {}: the ranks "
          "made different collective calls",
          where, rank_name(r), get_i64(h + 8), index));
    }
    auto& part = parts[static_cast<std::size_t>(r)];
    part.resize(static_cast<std::size_t>(get_i64(h + 16)));
    step.post(true, part.data(), part.size(), r, kGatherPayloadTag, "the part from {}");
  }
  step.wait();
  return parts;
}

std::string WatchedComm::broadcast(const std::string& value, const std::string& where) {
  const std::int64_t index = collective_index_++;
  Step step(*this, where);
  if (rank_ == 0) {
    Header header = make_header(index, value.size());
    for (int r = 1; r < size_; ++r) {
      step.post(false, header.data(), header.size(), r, kBroadcastHeaderTag,
                "{} to accept the broadcast");
      step.post(false, const_cast<char*>(value.data()), value.size(), r, kBroadcastPayloadTag,
                "{} to accept the broadcast");
    }
    step.wait();
    return value;
  }
  Header header{};
  step.post(true, header.data(), header.size(), 0, kBroadcastHeaderTag, "the broadcast from {}");
  step.wait();
  if (get_i64(header.data()) != kRecordMagic || get_i64(header.data() + 8) != index ||
      get_i64(header.data() + 16) < 0) {
    throw RuntimeError(fmt::format(
        "{}: {} broadcast collective step {} while this rank is in step {}: the ranks made "
        "different collective calls",
        where, rank_name(0), get_i64(header.data() + 8), index));
  }
  std::string out(static_cast<std::size_t>(get_i64(header.data() + 16)), '\0');
  step.post(true, out.data(), out.size(), 0, kBroadcastPayloadTag, "the broadcast from {}");
  step.wait();
  return out;
}

std::vector<std::string> WatchedComm::allgather(const std::string& mine, const std::string& where) {
  std::vector<std::string> parts = gather(mine, where);
  // Rank 0 sends the parts length-prefixed in one broadcast.
  std::string packed;
  if (rank_ == 0) {
    for (const std::string& p : parts) {
      std::array<char, 8> length{};
      put_i64(length.data(), static_cast<std::int64_t>(p.size()));
      packed.append(length.data(), 8).append(p);
    }
  }
  packed = broadcast(packed, where);
  parts.clear();
  std::size_t pos = 0;
  while (pos + 8 <= packed.size()) {
    const auto n = static_cast<std::size_t>(get_i64(packed.data() + pos));
    parts.push_back(packed.substr(pos + 8, n));
    pos += 8 + n;
  }
  return parts;
}

BlockingCallWatch::BlockingCallWatch(std::string what, double seconds) {
  if (seconds <= 0) {
    finished_ = true;
    return;
  }
  thread_ = std::thread([this, what = std::move(what), seconds] {
    std::unique_lock lock(mutex_);
    if (done_.wait_for(lock, std::chrono::duration<double>(seconds),
                       [this] { return finished_; })) {
      return;
    }
    // The launcher's variables name the rank before MPI can.
    const char* rank = std::getenv("OMPI_COMM_WORLD_RANK");
    if (rank == nullptr) rank = std::getenv("PMIX_RANK");
    // Every rank's watch fires at about the same time: the lowest speaks first, and the launcher
    // usually ends the others before they do (1 s per rank, at most 5 s).
    const int order = rank != nullptr ? std::atoi(rank) : 0;
    if (done_.wait_for(lock, std::chrono::duration<double>(std::min(1.0 * order, 5.0)),
                       [this] { return finished_; })) {
      return;
    }
    write_error_line(fmt::format("watchdog: {} did not complete within {} s; a rank of this job "
                                 "stopped, crashed or never started",
                                 what, seconds),
                     rank != nullptr ? order : -1);
    ::_exit(kExitRuntimeError);
  });
}

BlockingCallWatch::~BlockingCallWatch() {
  {
    const std::lock_guard lock(mutex_);
    finished_ = true;
  }
  done_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace tspemu
