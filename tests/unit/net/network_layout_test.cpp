#include "net/network_layout.hpp"

#include "net_scenario.hpp"
#include <gtest/gtest.h>

#include <vector>

#include "common/error.hpp"
#include "net/control.hpp"
#include "net/exchange_plan.hpp"

namespace tspemu {
namespace {

LinkSpec link(int id, int a, int a_port, int b, int b_port, LinkModelParams params = {}) {
  return LinkSpec{LinkId(id), TspId(a), PortId(a_port), TspId(b), PortId(b_port), params};
}

std::string layout_error(std::int64_t tsps, std::vector<LinkSpec> links, Cycle window = 128) {
  try {
    const NetworkLayout layout(tsps, std::move(links), WindowClock(window, 256), 900.0);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(NetworkLayout, NeighboursAndCapacity) {
  // Two parallel links 0-1, one 1-2 (a slow one: 50 Gb/s -> 48 cycles per vector).
  const NetworkLayout layout(4,
                             {link(0, 0, 0, 1, 0), link(1, 1, 1, 0, 1),
                              link(2, 2, 0, 1, 2, LinkModelParams{.bandwidth_gbps = 50.0})},
                             WindowClock(128, 256), 900.0);
  EXPECT_EQ(
      std::vector<TspId>(layout.neighbours(TspId(0)).begin(), layout.neighbours(TspId(0)).end()),
      std::vector<TspId>{TspId(1)});
  EXPECT_EQ(
      std::vector<TspId>(layout.neighbours(TspId(1)).begin(), layout.neighbours(TspId(1)).end()),
      (std::vector<TspId>{TspId(0), TspId(2)}));
  EXPECT_TRUE(layout.neighbours(TspId(3)).empty());
  EXPECT_EQ(layout.neighbour_index(TspId(1), TspId(2)), 1U);
  EXPECT_EQ(layout.neighbour_index(TspId(1), TspId(3)), std::nullopt);
  // ceil(128 / 24) = 6 per link at 100 Gb/s; ceil(128 / 48) = 3 at 50 Gb/s.
  EXPECT_EQ(layout.capacity(TspId(0), 0), 12);
  EXPECT_EQ(layout.capacity(TspId(1), 0), 12);
  EXPECT_EQ(layout.capacity(TspId(1), 1), 3);
  EXPECT_EQ(layout.capacity(TspId(2), 0), 3);
  EXPECT_EQ(layout.min_latency_cycles(), 209);
}

TEST(NetworkLayout, DefaultWindowFromTheSmallestMinimumLatency) {
  const auto layout = NetworkLayout::with_default_window(
      3,
      {link(0, 0, 0, 1, 0),
       link(1, 1, 1, 2, 0,
            LinkModelParams{
                .latency_cycles = 130, .latency_min_cycles = 120, .latency_max_cycles = 140})},
      256, 900.0);
  EXPECT_EQ(layout.window().window_cycles(), 64);
  const auto no_links = NetworkLayout::with_default_window(1, {}, 256, 900.0);
  EXPECT_EQ(no_links.window().window_cycles(), 256);
  EXPECT_EQ(no_links.min_latency_cycles(), std::nullopt);
}

TEST(NetworkLayout, ValidationMessages) {
  EXPECT_EQ(layout_error(0, {}), "network of 0 TSPs: it needs at least one");
  EXPECT_EQ(layout_error(2, {link(1, 0, 0, 1, 0)}),
            "link[0].id: link id 1 at position 0: link ids must be 0, 1, 2, ... in order");
  EXPECT_EQ(layout_error(2, {link(0, 0, 0, 2, 0)}),
            "link[0].b: TSP 2 does not exist (the network has TSPs 0..1)");
  EXPECT_EQ(layout_error(2, {link(0, 1, 0, 1, 1)}), "link[0]: the link joins TSP 1 to itself");
  EXPECT_EQ(layout_error(2, {link(0, 0, 0, 1, 0, LinkModelParams{.latency_min_cycles = 0})}),
            "link[0].latency_min_cycles: 0 cycles: a link's smallest latency must be at least 1 "
            "cycle");
  EXPECT_EQ(layout_error(2, {link(0, 0, 0, 1, 0)}, 256),
            "window of 256 cycles is longer than the smallest link latency (209 cycles): a "
            "vector could be due inside the window it was sent in");
}

class CheckOutgoing : public ::testing::Test {
 protected:
  NetworkLayout layout_{
      3, {link(0, 0, 4, 1, 5), link(1, 1, 0, 2, 0)}, WindowClock(128, 256), 900.0};

  InFlightVector good() const {
    InFlightVector v;
    v.link = LinkId(0);
    v.src = TspId(1);
    v.src_port = PortId(5);
    v.dst = TspId(0);
    v.dst_port = PortId(4);
    v.send_cycle = 300;
    v.arrival_cycle = 300 + 209;
    return v;
  }
  std::string error(const InFlightVector& v, TspId sender = TspId(1),
                    WindowIndex window = 2) const {
    try {
      layout_.check_outgoing(sender, window, v);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
};

TEST_F(CheckOutgoing, AcceptsAWellFormedVectorInEitherDirection) {
  EXPECT_EQ(error(good()), "");
  InFlightVector v = good();
  std::swap(v.src, v.dst);
  std::swap(v.src_port, v.dst_port);
  EXPECT_EQ(error(v, TspId(0)), "");
}

TEST_F(CheckOutgoing, Messages) {
  EXPECT_EQ(error(good(), TspId(2)),
            "vector from TSP 1 on link 0 was handed to the transport as sent by TSP 2 (tsp 2, "
            "cycle 300)");
  InFlightVector v = good();
  v.link = LinkId(7);
  EXPECT_EQ(error(v), "vector names link 7, but the network has links 0..1 (tsp 1, cycle 300)");
  v = good();
  v.src_port = PortId(4);
  EXPECT_EQ(error(v),
            "vector from TSP 1 port 4 to TSP 0 port 4 does not travel link 0, which joins TSP 0 "
            "port 4 and TSP 1 port 5 (tsp 1, cycle 300)");
  EXPECT_EQ(error(good(), TspId(1), 1),
            "vector on link 0 sent at cycle 300 was handed over in window 1 (cycles 128..255) "
            "(tsp 1, cycle 300)");
  v = good();
  v.arrival_cycle = 300 + 208;
  EXPECT_EQ(error(v),
            "vector on link 0 sent at cycle 300 is stamped to arrive at cycle 508, outside the "
            "link's latency range 509..528 (tsp 1, cycle 300)");
}

// A SEND hands its vector over when its result lands, one cycle after issue: a SEND issued in the
// last cycle of window 1 is handed over in window 2. Two windows back is still an error, and so is
// an arrival inside the hand-over window (the receiver has already run those cycles).
TEST_F(CheckOutgoing, ASendFromThePreviousWindowIsHandedOverInThisOne) {
  InFlightVector v = good();
  v.send_cycle = 255;
  v.arrival_cycle = 255 + 209;
  EXPECT_EQ(error(v), "");
  v.send_cycle = 127;
  v.arrival_cycle = 127 + 209;
  EXPECT_EQ(error(v),
            "vector on link 0 sent at cycle 127 was handed over in window 2 (cycles 256..383) "
            "(tsp 1, cycle 127)");
  v.send_cycle = 255;
  v.arrival_cycle = 300;
  EXPECT_EQ(error(v),
            "vector on link 0 sent at cycle 255 arrives at cycle 300, inside window 2 (cycles "
            "256..383) in which it was handed over (tsp 1, cycle 255)");
}

TEST(ExchangePlan, AnnouncedWindowsPerOrderedPair) {
  ExchangePlan plan;
  plan.add(TspId(0), TspId(1), 5);
  plan.add(TspId(0), TspId(1), 2);
  plan.add(TspId(0), TspId(1), 5);
  plan.add(TspId(1), TspId(0), 3);
  EXPECT_TRUE(plan.has_traffic(TspId(0), TspId(1), 2));
  EXPECT_TRUE(plan.has_traffic(TspId(0), TspId(1), 5));
  EXPECT_FALSE(plan.has_traffic(TspId(0), TspId(1), 3));
  EXPECT_FALSE(plan.has_traffic(TspId(1), TspId(0), 2));
  EXPECT_TRUE(plan.has_traffic(TspId(1), TspId(0), 3));
  EXPECT_FALSE(plan.has_traffic(TspId(2), TspId(0), 3));
  EXPECT_EQ(plan.size(), 3U);
}

TEST(ControlState, CombinesFieldByField) {
  const ControlState a{.tsps = 1,
                       .active_tsps = 1,
                       .vectors_sent = 10,
                       .vectors_received = 4,
                       .vectors_pending = 2,
                       .last_active_cycle = 900,
                       .next_event_cycle = 1200,
                       .flags = kStopRequested};
  const ControlState b{.tsps = 2,
                       .active_tsps = 0,
                       .vectors_sent = 1,
                       .vectors_received = 7,
                       .vectors_pending = 0,
                       .last_active_cycle = 950,
                       .next_event_cycle = ControlState::kNever,
                       .flags = kReplayRequested};
  const ControlState c = a.combined(b);
  EXPECT_EQ(c, (ControlState{.tsps = 3,
                             .active_tsps = 1,
                             .vectors_sent = 11,
                             .vectors_received = 11,
                             .vectors_pending = 2,
                             .last_active_cycle = 950,
                             .next_event_cycle = 1200,
                             .flags = kStopRequested | kReplayRequested}));
  EXPECT_EQ(b.combined(a), c);
  EXPECT_EQ(ControlState{}.combined(a), a);  // the default is the identity
  EXPECT_EQ(ControlState::from_array(c.to_array()), c);
  EXPECT_EQ(c.vectors_in_flight(), 2);
  EXPECT_FALSE(c.finished());
  EXPECT_TRUE(c.has(kReplayRequested));
  EXPECT_FALSE(c.has(kCheckpointRequested));
  const ControlState done{.tsps = 3, .vectors_sent = 5, .vectors_received = 5};
  EXPECT_TRUE(done.finished());
  EXPECT_FALSE(done.stuck());
  const ControlState stuck{
      .tsps = 3, .vectors_sent = 5, .vectors_received = 5, .vectors_pending = 1};
  EXPECT_TRUE(stuck.stuck());
}

}  // namespace
}  // namespace tspemu
