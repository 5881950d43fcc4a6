#include "net_scenario.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "net/arrival_queue.hpp"
#include "net/link_model.hpp"

namespace tspemu::net_test {
namespace {

constexpr std::uint64_t kGolden = 0x9E3779B97F4A7C15ULL;

RandomStream user_stream(std::uint64_t k) {
  return static_cast<RandomStream>(static_cast<std::uint64_t>(RandomStream::user) + k);
}

LinkSpec make_link(std::size_t id, int a, int a_port, int b, int b_port, LinkModelParams params) {
  return LinkSpec{.id = LinkId(static_cast<std::int32_t>(id)),
                  .a = TspId(a),
                  .a_port = PortId(a_port),
                  .b = TspId(b),
                  .b_port = PortId(b_port),
                  .params = params};
}

std::shared_ptr<const NetworkLayout> layout_of(int tsps, std::vector<LinkSpec> links) {
  return std::make_shared<const NetworkLayout>(
      NetworkLayout::with_default_window(tsps, std::move(links), kHacPeriodCycles, kClockMhz));
}

std::string describe(const InFlightVector& v) {
  return fmt::format("link {} seq {} TSP {}->{} send {} arrival {} flags {}", v.link.value,
                     v.sequence, v.src.value, v.dst.value, v.send_cycle, v.arrival_cycle, v.flags);
}

}  // namespace

LinkModelParams local_link() {
  return LinkModelParams{};
}

LinkModelParams long_link() {
  return LinkModelParams{.latency_cycles = 650,
                         .latency_min_cycles = 630,
                         .latency_max_cycles = 672,
                         .bandwidth_gbps = 100.0,
                         .bit_error_rate = 1e-4,
                         .uncorrectable_rate = 0.01};
}

std::vector<LinkSpec> ring_links(int tsps) {
  std::vector<LinkSpec> links;
  if (tsps < 2) return links;
  for (int i = 0; i < tsps; ++i) {
    links.push_back(make_link(links.size(), i, 0, (i + 1) % tsps, 1, local_link()));
  }
  return links;
}

std::vector<LinkSpec> mesh_links(int tsps) {
  std::vector<LinkSpec> links;
  for (int a = 0; a < tsps; ++a) {
    for (int b = a + 1; b < tsps; ++b) {
      // Port of the partner among the other TSPs.
      const int a_port = b - 1;
      const int b_port = a;
      links.push_back(make_link(links.size(), a, a_port, b, b_port,
                                links.size() % 2 == 1 ? long_link() : local_link()));
    }
  }
  return links;
}

std::vector<LinkSpec> rack_links(int nodes) {
  TSPEMU_ASSERT(nodes >= 1 && nodes <= 9, "the rack pattern has 1 to 9 nodes");
  std::vector<LinkSpec> links;
  for (int node = 0; node < nodes; ++node) {
    for (int a = 0; a < 8; ++a) {
      for (int b = a + 1; b < 8; ++b) {
        links.push_back(
            make_link(links.size(), 8 * node + a, b - 1, 8 * node + b, a, local_link()));
      }
    }
  }
  // Node a sees node b as its j-th partner, j = (b - a - 1) mod nodes; the k-th of the 4 links
  // between them uses TSP (4j + k) mod 8 and port 7 + j / 2 on each side.
  for (int a = 0; a < nodes; ++a) {
    for (int b = a + 1; b < nodes; ++b) {
      const int ja = ((b - a - 1) % nodes + nodes) % nodes;
      const int jb = ((a - b - 1) % nodes + nodes) % nodes;
      for (int k = 0; k < 4; ++k) {
        links.push_back(make_link(links.size(), 8 * a + (4 * ja + k) % 8, 7 + ja / 2,
                                  8 * b + (4 * jb + k) % 8, 7 + jb / 2, long_link()));
      }
    }
  }
  return links;
}

Scenario ring_scenario(int tsps, WindowIndex windows, std::uint64_t seed) {
  return Scenario{.name = fmt::format("ring{}", tsps),
                  .layout = layout_of(tsps, ring_links(tsps)),
                  .seed = seed,
                  .windows = windows};
}

Scenario mesh_scenario(int tsps, WindowIndex windows, std::uint64_t seed) {
  return Scenario{.name = fmt::format("mesh{}", tsps),
                  .layout = layout_of(tsps, mesh_links(tsps)),
                  .seed = seed,
                  .windows = windows};
}

Scenario rack_scenario(int nodes, WindowIndex windows, std::uint64_t seed) {
  return Scenario{.name = fmt::format("rack{}", 8 * nodes),
                  .layout = layout_of(8 * nodes, rack_links(nodes)),
                  .seed = seed,
                  .windows = windows};
}

int direction_count(const Scenario& scenario, LinkId link, TspId src, WindowIndex window) {
  if (window < 0 || window >= scenario.windows) return 0;
  const std::uint64_t r =
      counter_random(scenario.seed, link, src, static_cast<std::uint64_t>(window), user_stream(0));
  if (static_cast<int>(r % 100) >= scenario.traffic_percent) return 0;
  return static_cast<int>((r >> 8) %
                          static_cast<std::uint64_t>(scenario.max_vectors_per_direction + 1));
}

int direction_traffic(const Scenario& scenario, const LinkSpec& link, TspId src, WindowIndex window,
                      std::uint64_t first_sequence, std::vector<InFlightVector>& out) {
  const int count = direction_count(scenario, link.id, src, window);
  if (count == 0) return 0;
  const bool forward = src == link.a;
  const WindowClock& clock = scenario.layout->window();
  const Cycle serial = serialisation_cycles(link.params.bandwidth_gbps, kClockMhz);
  const Cycle span = clock.window_cycles() - (count - 1) * serial;
  TSPEMU_ASSERT(span >= 1, "the scenario sends no more than a window holds");
  const std::uint64_t r = counter_random(scenario.seed, link.id, src,
                                         static_cast<std::uint64_t>(window), user_stream(1));
  const Cycle first_send =
      clock.begin(window) + static_cast<Cycle>(r % static_cast<std::uint64_t>(span));
  for (int j = 0; j < count; ++j) {
    InFlightVector v;
    v.link = link.id;
    v.src = src;
    v.src_port = forward ? link.a_port : link.b_port;
    v.dst = forward ? link.b : link.a;
    v.dst_port = forward ? link.b_port : link.a_port;
    v.send_cycle = first_send + j * serial;
    v.sequence = first_sequence + static_cast<std::uint64_t>(j);
    std::uint64_t x = counter_random(scenario.seed, link.id, src, v.sequence, user_stream(2));
    for (std::size_t word = 0; word < kVectorBytes / 8; ++word) {
      x += kGolden;
      const std::uint64_t bits = mix64(x);
      for (std::size_t b = 0; b < 8; ++b) {
        v.data.bytes[8 * word + b] = static_cast<std::uint8_t>(bits >> (8 * b));
      }
    }
    stamp(v, link.params, scenario.seed);
    out.push_back(v);
  }
  return count;
}

std::shared_ptr<const ExchangePlan> make_plan(const Scenario& scenario) {
  auto plan = std::make_shared<ExchangePlan>();
  for (const LinkSpec& link : scenario.layout->links()) {
    for (WindowIndex w = 0; w < scenario.windows; ++w) {
      if (direction_count(scenario, link.id, link.a, w) > 0) plan->add(link.a, link.b, w);
      if (direction_count(scenario, link.id, link.b, w) > 0) plan->add(link.b, link.a, w);
    }
  }
  return plan;
}

RunOutcome run_scenario(Transport& transport, const Scenario& scenario, const RunOptions& options) {
  const NetworkLayout& layout = *scenario.layout;
  const WindowClock& clock = layout.window();
  const auto local = transport.local_tsps();
  const std::size_t n = local.size();

  struct Local {
    std::vector<std::size_t> links;            // links touching this TSP
    std::vector<std::uint64_t> send_sequence;  // per link: next sequence we send
    std::vector<std::uint64_t> recv_sequence;  // per link: next sequence the other end sends
    ArrivalQueue queue;
    Hasher hasher;
    std::int64_t sent = 0;
    std::int64_t received = 0;
    Cycle last_active = -1;
  };
  std::vector<Local> tsps(n);
  std::vector<Outbox> outboxes;
  for (std::size_t i = 0; i < n; ++i) {
    outboxes.emplace_back(layout, local[i]);
    for (const LinkSpec& link : layout.links()) {
      if (link.a == local[i] || link.b == local[i]) tsps[i].links.push_back(link.id.index());
    }
    tsps[i].send_sequence.assign(tsps[i].links.size(), 0);
    tsps[i].recv_sequence.assign(tsps[i].links.size(), 0);
  }
  std::vector<std::vector<InFlightVector>> incoming(n);
  std::vector<InFlightVector> scratch;
  std::vector<InFlightVector> expected;

  RunOutcome outcome;
  for (WindowIndex w = 0;; ++w) {
    if (w >= options.window_limit) {
      outcome.problem = fmt::format("no agreement said finished within {} windows", w);
      break;
    }
    for (std::size_t i = 0; i < n; ++i) {
      Local& t = tsps[i];
      // Consume the vectors that arrive during this window.
      scratch.clear();
      t.queue.pop_arrived_before(clock.end(w), scratch);
      for (const InFlightVector& v : scratch) {
        // Only what happened is hashed (never empty windows), so the digest does not depend on
        // how many idle windows run before an agreement notices the end.
        t.hasher.u64(0xC0).i64(w);
        hash_in_flight(t.hasher, v);
        t.last_active = std::max(t.last_active, v.arrival_cycle);
        outcome.corrected += (v.flags & kFecCorrected) != 0 ? 1 : 0;
        outcome.uncorrectable += (v.flags & kFecUncorrectable) != 0 ? 1 : 0;
      }
      // Send this window's traffic.
      outboxes[i].clear();
      for (std::size_t j = 0; j < t.links.size(); ++j) {
        scratch.clear();
        const int k = direction_traffic(scenario, layout.links()[t.links[j]], local[i], w,
                                        t.send_sequence[j], scratch);
        t.send_sequence[j] += static_cast<std::uint64_t>(k);
        t.sent += k;
        for (const InFlightVector& v : scratch) {
          outboxes[i].add(v);
          t.last_active = std::max(t.last_active, v.send_cycle);
        }
      }
    }

    transport.exchange(w, outboxes, incoming);

    for (std::size_t i = 0; i < n; ++i) {
      Local& t = tsps[i];
      const auto& got = incoming[i];
      if (outcome.problem.empty() && !is_canonical(got)) {
        outcome.problem =
            fmt::format("TSP {} window {}: deliveries not in canonical order", local[i].value, w);
      }
      if (options.verify_expected) {
        expected.clear();
        for (std::size_t j = 0; j < t.links.size(); ++j) {
          const LinkSpec& link = layout.links()[t.links[j]];
          const TspId other = link.a == local[i] ? link.b : link.a;
          t.recv_sequence[j] += static_cast<std::uint64_t>(
              direction_traffic(scenario, link, other, w, t.recv_sequence[j], expected));
        }
        sort_canonically(expected);
        if (outcome.problem.empty() && got != expected) {
          std::size_t d = 0;
          while (d < got.size() && d < expected.size() && got[d] == expected[d]) ++d;
          outcome.problem = fmt::format(
              "TSP {} window {}: expected {} vectors, got {}; first difference at {}: expected "
              "[{}], got [{}]",
              local[i].value, w, expected.size(), got.size(), d,
              d < expected.size() ? describe(expected[d]) : "nothing",
              d < got.size() ? describe(got[d]) : "nothing");
        }
      }
      if (!got.empty()) t.hasher.u64(0xD0).i64(w).u64(got.size());
      for (const InFlightVector& v : got) hash_in_flight(t.hasher, v);
      t.received += static_cast<std::int64_t>(got.size());
      outcome.vectors_delivered += static_cast<std::int64_t>(got.size());
      t.queue.push(got);
    }

    outcome.windows_run = w + 1;
    if (clock.ends_epoch_group(w, scenario.agree_every_epochs)) {
      ControlState mine;
      for (const Local& t : tsps) {
        mine = mine.combined(ControlState{
            .tsps = 1,
            .active_tsps = w < scenario.windows - 1 ? 1 : 0,
            .vectors_sent = t.sent,
            .vectors_received = t.received,
            .vectors_pending = static_cast<std::int64_t>(t.queue.size()),
            .last_active_cycle = t.last_active,
            .next_event_cycle = t.queue.next_arrival_cycle().value_or(ControlState::kNever),
            .flags = 0});
      }
      const ControlState agreed = transport.agree(mine);
      outcome.last_agreement = agreed;
      if (outcome.problem.empty() && agreed.vectors_sent != agreed.vectors_received) {
        outcome.problem = fmt::format("agreement after window {}: {} vectors sent but {} received",
                                      w, agreed.vectors_sent, agreed.vectors_received);
      }
      if (options.run_to_completion && agreed.finished()) {
        outcome.final_cycle = agreed.last_active_cycle;
        break;
      }
    }
    if (!options.run_to_completion && w + 1 >= scenario.windows) break;
  }
  for (const Local& t : tsps) outcome.tsp_digests.push_back(t.hasher.finish());
  return outcome;
}

Digest128 combine_digests(const std::vector<Digest128>& per_tsp) {
  Hasher h;
  for (const Digest128& d : per_tsp) h.digest(d);
  return h.finish();
}

}  // namespace tspemu::net_test
