#include "net/in_flight.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <vector>

#include "net/arrival_queue.hpp"

namespace tspemu {
namespace {

InFlightVector make(Cycle arrival, int link, std::uint64_t sequence, int src = 0) {
  InFlightVector v;
  v.link = LinkId(link);
  v.src = TspId(src);
  v.dst = TspId(9);
  v.arrival_cycle = arrival;
  v.send_cycle = arrival - 217;
  v.sequence = sequence;
  v.data = Vector::filled(static_cast<std::uint8_t>(link * 16 + static_cast<int>(sequence)));
  return v;
}

TEST(InFlight, WireEncodingLayout) {
  InFlightVector v;
  v.link = LinkId(0x01020304);
  v.src = TspId(5);
  v.src_port = PortId(6);
  v.dst = TspId(-7);
  v.dst_port = PortId(8);
  v.flags = kFecCorrected | kFecUncorrectable;
  v.send_cycle = 0x1122334455667788;
  v.arrival_cycle = -2;
  v.sequence = 0xA0B0C0D0E0F00010ULL;
  v.arrival_time_as = 0x0102030405060708;
  for (std::size_t i = 0; i < kVectorBytes; ++i) v.data[i] = static_cast<std::uint8_t>(i * 7);
  std::array<std::byte, kInFlightWireBytes> wire{};
  encode_in_flight(v, wire);
  auto byte = [&](std::size_t i) { return static_cast<unsigned>(wire[i]); };
  EXPECT_EQ(kInFlightWireBytes, 376U);
  EXPECT_EQ(byte(0), 0x04U);  // link, little-endian
  EXPECT_EQ(byte(3), 0x01U);
  EXPECT_EQ(byte(4), 5U);
  EXPECT_EQ(byte(8), 6U);
  EXPECT_EQ(byte(12), 0xF9U);  // -7
  EXPECT_EQ(byte(15), 0xFFU);
  EXPECT_EQ(byte(16), 8U);
  EXPECT_EQ(byte(20), 3U);  // flags
  EXPECT_EQ(byte(21) | byte(22) | byte(23), 0U);
  EXPECT_EQ(byte(24), 0x88U);
  EXPECT_EQ(byte(31), 0x11U);
  EXPECT_EQ(byte(32), 0xFEU);
  EXPECT_EQ(byte(39), 0xFFU);
  EXPECT_EQ(byte(40), 0x10U);
  EXPECT_EQ(byte(47), 0xA0U);
  EXPECT_EQ(byte(48), 0x08U);  // arrival_time_as
  EXPECT_EQ(byte(55), 0x01U);
  EXPECT_EQ(byte(56), 0U);
  EXPECT_EQ(byte(57), 7U);
  EXPECT_EQ(byte(375), (319U * 7U) & 0xFFU);
  const std::array<std::byte, kInFlightWireBytes> copy = wire;
  EXPECT_EQ(decode_in_flight(copy), v);
}

TEST(InFlight, HashSeesEveryField) {
  const InFlightVector a = make(300, 1, 2);
  auto digest = [](const InFlightVector& v) {
    Hasher h;
    hash_in_flight(h, v);
    return h.finish();
  };
  InFlightVector b = a;
  EXPECT_EQ(digest(a), digest(b));
  b.flags = kFecCorrected;
  EXPECT_NE(digest(a), digest(b));
  b = a;
  b.data[319] ^= 1;
  EXPECT_NE(digest(a), digest(b));
  b = a;
  b.dst_port = PortId(3);
  EXPECT_NE(digest(a), digest(b));
  b = a;
  b.arrival_time_as = 5;  // drifting clocks: the global arrival time is part of the log
  EXPECT_NE(digest(a), digest(b));
}

TEST(InFlight, CanonicalOrderIsArrivalThenLinkThenSequence) {
  std::vector<InFlightVector> v = {make(300, 2, 0), make(299, 5, 9), make(300, 1, 7),
                                   make(300, 1, 3), make(301, 0, 0), make(300, 2, 1, 4)};
  sort_canonically(v);
  EXPECT_TRUE(is_canonical(v));
  std::vector<std::tuple<Cycle, int, std::uint64_t>> keys;
  for (const auto& x : v) keys.emplace_back(x.arrival_cycle, x.link.value, x.sequence);
  EXPECT_EQ(keys,
            (std::vector<std::tuple<Cycle, int, std::uint64_t>>{
                {299, 5, 9}, {300, 1, 3}, {300, 1, 7}, {300, 2, 0}, {300, 2, 1}, {301, 0, 0}}));
  // Every permutation sorts to the same sequence: the order never depends on arrival order.
  std::vector<InFlightVector> shuffled = v;
  std::reverse(shuffled.begin(), shuffled.end());
  sort_canonically(shuffled);
  EXPECT_EQ(shuffled, v);
  std::rotate(shuffled.begin(), shuffled.begin() + 2, shuffled.end());
  EXPECT_FALSE(is_canonical(shuffled));
  sort_canonically(shuffled);
  EXPECT_EQ(shuffled, v);
}

TEST(ArrivalQueue, KeepsCanonicalOrderAcrossBatches) {
  ArrivalQueue q;
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.next_arrival_cycle(), std::nullopt);
  // A long link's vector from an earlier exchange and a short link's from a later one.
  const std::vector<InFlightVector> first = {make(700, 3, 0), make(260, 1, 0)};
  const std::vector<InFlightVector> second = {make(700, 1, 5), make(400, 2, 0)};
  q.push(first);
  std::vector<InFlightVector> out;
  q.pop_arrived_before(256, out);
  EXPECT_TRUE(out.empty());
  q.push(second);
  EXPECT_EQ(q.size(), 4U);
  EXPECT_EQ(q.next_arrival_cycle(), 260);
  q.pop_arrived_before(401, out);
  ASSERT_EQ(out.size(), 2U);
  EXPECT_EQ(out[0], make(260, 1, 0));
  EXPECT_EQ(out[1], make(400, 2, 0));
  out.clear();
  q.push(std::vector<InFlightVector>{make(650, 4, 0)});
  q.pop_arrived_before(10000, out);
  ASSERT_EQ(out.size(), 3U);
  EXPECT_EQ(out[0], make(650, 4, 0));
  EXPECT_EQ(out[1], make(700, 1, 5));  // link 1 before link 3 at the same cycle
  EXPECT_EQ(out[2], make(700, 3, 0));
  EXPECT_TRUE(q.empty());
}

}  // namespace
}  // namespace tspemu
