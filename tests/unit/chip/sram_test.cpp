#include "chip/sram.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace tspemu {
namespace {

TEST(Sram, PagesAreAllocatedOnFirstWriteOnly) {
  Sram sram(88, 8192);
  EXPECT_EQ(sram.touched_pages(), 0U);
  EXPECT_FALSE(sram.initialised(3, 100));
  Vector out = Vector::filled(0xaa);
  EXPECT_FALSE(sram.read(3, 100, out));
  EXPECT_EQ(out, Vector::filled(0xaa)) << "a failed read leaves the output alone";

  sram.write(3, 100, Vector::filled(7));
  EXPECT_EQ(sram.touched_pages(), 1U);
  ASSERT_TRUE(sram.read(3, 100, out));
  EXPECT_EQ(out, Vector::filled(7));
  // Same page (rows 96..111), different row: allocated but never written -> uninitialised.
  EXPECT_FALSE(sram.initialised(3, 101));
  sram.write(3, 111, Vector::filled(1));
  EXPECT_EQ(sram.touched_pages(), 1U);
  sram.write(3, 112, Vector::filled(1));
  EXPECT_EQ(sram.touched_pages(), 2U);
}

TEST(Sram, ZeroFilledRegionsReadAsZeroWithoutPages) {
  Sram sram(2, 8192);
  sram.declare_zero(1, 4000, 200);
  EXPECT_EQ(sram.touched_pages(), 0U);
  Vector out = Vector::filled(1);
  ASSERT_TRUE(sram.read(1, 4100, out));
  EXPECT_EQ(out, Vector{});
  EXPECT_FALSE(sram.initialised(1, 3999));
  EXPECT_FALSE(sram.initialised(1, 4200));
  EXPECT_FALSE(sram.initialised(0, 4100));
}

TEST(Sram, ScatterWritesOneByteAndMarksTheRow) {
  Sram sram(1, 8192);
  sram.write_byte(0, 9, 17, 0x5a);
  Vector out;
  ASSERT_TRUE(sram.read(0, 9, out));
  Vector expected;
  expected[17] = 0x5a;
  EXPECT_EQ(out, expected);
}

TEST(Sram, TouchedPagesAreVisitedInAscendingOrder) {
  Sram sram(4, 8192);
  sram.write(2, 8191, Vector::filled(3));
  sram.write(0, 20, Vector::filled(1));
  sram.write(2, 0, Vector::filled(2));
  std::vector<std::pair<int, int>> seen;
  sram.for_each_touched_page([&](int slice, int page, std::span<const std::uint8_t> bytes) {
    seen.emplace_back(slice, page);
    EXPECT_EQ(bytes.size(), Sram::kPageBytes);
    if (slice == 2 && page == 511) {
      EXPECT_EQ(bytes[15 * 320], 3);
    }
  });
  EXPECT_EQ(seen, (std::vector<std::pair<int, int>>{{0, 1}, {2, 0}, {2, 511}}));
}

TEST(Sram, TimingOnlyKeepsWrittenBitsButNoPages) {
  Sram sram(1, 8192, /*timing_only=*/true);
  sram.write(0, 5, Vector::filled(3));
  EXPECT_EQ(sram.touched_pages(), 0U);
  Vector out = Vector::filled(1);
  ASSERT_TRUE(sram.read(0, 5, out));
  EXPECT_EQ(out, Vector{});
}

TEST(BankPorts, OneReadAndOneWritePerSlicePerCycleOnDifferentBanks) {
  using Access = BankPorts::Access;
  using Kind = BankPorts::Conflict::Kind;
  BankPorts ports(88, 64);
  EXPECT_FALSE(ports.reserve(0, 10, Access::read, 0b01, 1));
  EXPECT_FALSE(ports.reserve(0, 10, Access::write, 0b10, 2));  // other bank: fine
  const auto second_read = ports.reserve(0, 10, Access::read, 0b10, 3);
  EXPECT_EQ(second_read.kind, Kind::second_read);
  EXPECT_EQ(second_read.owner, 1);
  EXPECT_EQ(ports.reserve(0, 10, Access::write, 0b01, 4).kind, Kind::second_write);

  EXPECT_FALSE(ports.reserve(0, 11, Access::write, 0b01, 5));
  const auto same_bank = ports.reserve(0, 11, Access::read, 0b01, 6);
  EXPECT_EQ(same_bank.kind, Kind::same_bank);
  EXPECT_EQ(same_bank.owner, 5);
  // Other slice, other cycle: independent. A GATHER touching both banks conflicts with any write.
  EXPECT_FALSE(ports.reserve(1, 11, Access::read, 0b01, 7));
  EXPECT_FALSE(ports.reserve(0, 12, Access::write, 0b10, 8));
  EXPECT_EQ(ports.reserve(0, 12, Access::read, 0b11, 9).kind, Kind::same_bank);
  // The ring forgets cycles long past.
  EXPECT_FALSE(ports.reserve(0, 10 + 64 * 3, Access::read, 0b01, 10));
}

}  // namespace
}  // namespace tspemu
