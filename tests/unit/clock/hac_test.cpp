#include "clock/hac.hpp"

#include <gtest/gtest.h>

#include "clock/time_base.hpp"

namespace tspemu {
namespace {

TEST(Hac, ValueEpochAndBoundaries) {
  const HacCounter hac(256);
  EXPECT_EQ(hac.value(0), 0);
  EXPECT_EQ(hac.value(255), 255);
  EXPECT_EQ(hac.value(256), 0);
  EXPECT_EQ(hac.epoch(255), 0);
  EXPECT_EQ(hac.epoch(256), 1);
  EXPECT_EQ(hac.next_boundary(0), 0);  // DESKEW on a boundary does not wait
  EXPECT_EQ(hac.next_boundary(1), 256);
  EXPECT_EQ(hac.next_boundary(256), 256);
  EXPECT_EQ(hac.boundary_after(256), 512);
}

TEST(Hac, NegativeCyclesAndOffsets) {
  const HacCounter hac(256, 10);
  EXPECT_EQ(hac.value(-10), 0);
  EXPECT_EQ(hac.value(-11), 255);
  EXPECT_EQ(hac.epoch(-11), -1);
  EXPECT_EQ(hac.next_boundary(-5), 246);
  EXPECT_EQ(sac_value(hac, 246 + 4 * 256, 4), 1);
  EXPECT_EQ(sac_value(hac, -11, 4), -1);
}

TEST(Hac, AlignmentCostFollowsTheIscaFormula) {
  // ISCA'22: (floor(L/256) + 1) x h epochs. L = 228 (worst intra-node link), h = 2 (node tree).
  EXPECT_EQ(alignment_cost_cycles(228, 2, 256), 2 * 256);
  EXPECT_EQ(alignment_cost_cycles(650, 3, 256), 3 * 3 * 256);
  EXPECT_EQ(alignment_cost_cycles(228, 0, 256), 0);
}

}  // namespace
}  // namespace tspemu
