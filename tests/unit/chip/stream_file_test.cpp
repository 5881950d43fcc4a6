#include "chip/stream_file.hpp"

#include <gtest/gtest.h>

namespace tspemu {
namespace {

constexpr int kPositions = 93;

Vector tagged(std::uint8_t tag) {
  return Vector::filled(tag);
}

TEST(StreamFile, EastwardValueTravelsOnePositionPerCycle) {
  StreamFile streams(kPositions, 32);
  ASSERT_TRUE(streams.write(Direction::east, 5, 10, 100, tagged(7)));
  // Seen downstream at cycle 100 + distance, from the next position on.
  for (int q = 11; q < kPositions; ++q) {
    const auto hit = streams.read(Direction::east, 5, q, 100 + (q - 10));
    ASSERT_TRUE(hit) << q;
    EXPECT_EQ(*hit.value, tagged(7));
    EXPECT_EQ(hit.writer_position, 10);
    EXPECT_EQ(hit.write_cycle, 100);
  }
  // Off the diagonal, upstream, at the writer itself (registered), other stream, other direction.
  EXPECT_FALSE(streams.read(Direction::east, 5, 20, 109));
  EXPECT_FALSE(streams.read(Direction::east, 5, 20, 111));
  EXPECT_FALSE(streams.read(Direction::east, 5, 9, 99));
  EXPECT_FALSE(streams.read(Direction::east, 5, 10, 100));
  EXPECT_FALSE(streams.read(Direction::east, 5, 10, 101));
  EXPECT_FALSE(streams.read(Direction::east, 6, 20, 110));
  EXPECT_FALSE(streams.read(Direction::west, 5, 20, 110));
}

TEST(StreamFile, WestwardMirrors) {
  StreamFile streams(kPositions, 32);
  ASSERT_TRUE(streams.write(Direction::west, 31, 50, 7, tagged(3)));
  const auto hit = streams.read(Direction::west, 31, 46, 11);
  ASSERT_TRUE(hit);
  EXPECT_EQ(*hit.value, tagged(3));
  EXPECT_TRUE(streams.read(Direction::west, 31, 0, 57));
  EXPECT_FALSE(streams.read(Direction::west, 31, 51, 8));  // upstream
  EXPECT_FALSE(streams.read(Direction::west, 31, 50, 7));  // registered
  EXPECT_FALSE(streams.read(Direction::west, 31, 46, 10));
}

TEST(StreamFile, NearerWriterOverwritesDownstream) {
  StreamFile streams(kPositions, 32);
  ASSERT_TRUE(streams.write(Direction::east, 0, 2, 0, tagged(1)));
  // Same diagonal (cycle - position = -2), nearer to the reader: overwrites from position 40 on.
  ASSERT_TRUE(streams.write(Direction::east, 0, 40, 38, tagged(2)));
  EXPECT_EQ(*streams.read(Direction::east, 0, 40, 38).value, tagged(1));  // writer sees the old one
  EXPECT_EQ(*streams.read(Direction::east, 0, 39, 37).value, tagged(1));
  EXPECT_EQ(*streams.read(Direction::east, 0, 41, 39).value, tagged(2));
  EXPECT_EQ(*streams.read(Direction::east, 0, 92, 90).value, tagged(2));
  // A later diagonal is unaffected.
  EXPECT_FALSE(streams.read(Direction::east, 0, 41, 40));
}

TEST(StreamFile, TwoWritesAtOnePositionInOneCycleAreDetected) {
  StreamFile streams(kPositions, 32);
  ASSERT_TRUE(streams.write(Direction::east, 3, 46, 12, tagged(1)));
  EXPECT_FALSE(streams.write(Direction::east, 3, 46, 12, tagged(2)));
  EXPECT_EQ(*streams.read(Direction::east, 3, 47, 13).value, tagged(1));  // first value kept
  // Other position, other stream, other direction, next cycle: all fine.
  EXPECT_TRUE(streams.write(Direction::east, 3, 45, 12, tagged(3)));
  EXPECT_TRUE(streams.write(Direction::east, 4, 46, 12, tagged(3)));
  EXPECT_TRUE(streams.write(Direction::west, 3, 46, 12, tagged(3)));
  EXPECT_TRUE(streams.write(Direction::east, 3, 46, 13, tagged(3)));
}

TEST(StreamFile, ValueFallsOffTheEdge) {
  StreamFile streams(kPositions, 32);
  ASSERT_TRUE(streams.write(Direction::east, 1, 90, 5, tagged(9)));
  EXPECT_TRUE(streams.read(Direction::east, 1, 92, 7));
  // Past the last position there is no reader; much later, the diagonal's ring slot is reused.
  for (Cycle t = 6; t < 2000; ++t) {
    ASSERT_TRUE(streams.write(Direction::east, 1, 0, t, tagged(static_cast<std::uint8_t>(t))));
  }
  // The old diagonal (key 7 - 90 = -83) shares its ring slot with later keys -83 + 256 k: the slot
  // now holds key 1963, so a read of the never-written key -83 + 256 * 9 there finds nothing.
  EXPECT_FALSE(streams.read(Direction::east, 1, 92, -83 + 256 * 9 + 92)) << "no stale value";
  const auto hit = streams.read(Direction::east, 1, 92, 1999 + 92);
  ASSERT_TRUE(hit);
  EXPECT_EQ(*hit.value, tagged(1999 & 0xff));
  EXPECT_EQ(hit.writer_position, 0);
}

TEST(StreamFile, MemoryStaysBoundedOnLongRuns) {
  StreamFile streams(kPositions, 32);
  std::size_t after_warmup = 0;
  for (Cycle t = 0; t < 20000; ++t) {
    // Two writers per stream and direction, every cycle.
    for (int s = 0; s < 32; s += 7) {
      for (int p : {3, 60}) {
        ASSERT_TRUE(streams.write(Direction::east, s, p, t, tagged(1)));
        ASSERT_TRUE(streams.write(Direction::west, s, p, t, tagged(2)));
      }
    }
    if (t == 1000) after_warmup = streams.stored_entries();
  }
  // Bounded by the ring (two writers: at most two entries per slot), not by the run length.
  EXPECT_EQ(streams.stored_entries(), after_warmup);
  EXPECT_LE(streams.stored_entries(), 2 * streams.ring_slots());
  // Rings only for the streams written: 5 streams x 2 directions, 128 slots each (the power of
  // two above 1.25 x 93 positions).
  EXPECT_EQ(streams.ring_slots(), std::size_t{10} * 128);
}

TEST(StreamFile, AnUnwrittenStreamTakesNoRing) {
  StreamFile streams(kPositions, 32);
  EXPECT_EQ(streams.ring_slots(), 0U);
  EXPECT_FALSE(streams.read(Direction::west, 5, 10, 100));
  ASSERT_TRUE(streams.write(Direction::west, 5, 20, 90, tagged(3)));
  EXPECT_EQ(streams.ring_slots(), 128U);
  EXPECT_EQ(*streams.read(Direction::west, 5, 10, 100).value, tagged(3));
}

TEST(StreamFile, TimingOnlyKeepsPresenceWithoutData) {
  StreamFile streams(kPositions, 32, StreamFile::Mode::timing_only);
  ASSERT_TRUE(streams.write(Direction::east, 0, 0, 0, tagged(5)));
  const auto hit = streams.read(Direction::east, 0, 3, 3);
  ASSERT_TRUE(hit);
  EXPECT_EQ(*hit.value, Vector{});
  EXPECT_FALSE(streams.read(Direction::east, 0, 3, 4));
  EXPECT_FALSE(streams.write(Direction::east, 0, 0, 0, tagged(5)));
}

}  // namespace
}  // namespace tspemu
