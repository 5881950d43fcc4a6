#include "net/window.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"

namespace tspemu {
namespace {

TEST(WindowCycles, LargestDivisorOfTheHacPeriodWithinTheLatency) {
  EXPECT_EQ(window_cycles(256, 209), 128);  // ISCA'22 Table 2 minimum
  EXPECT_EQ(window_cycles(256, 217), 128);  // the mean gives the same here
  EXPECT_EQ(window_cycles(256, 128), 128);
  EXPECT_EQ(window_cycles(256, 127), 64);
  EXPECT_EQ(window_cycles(256, 120), 64);  // a link with mean 130 but minimum 120
  EXPECT_EQ(window_cycles(256, 256), 256);
  EXPECT_EQ(window_cycles(256, 1000), 256);  // never longer than an epoch
  EXPECT_EQ(window_cycles(256, 1), 1);
  EXPECT_EQ(window_cycles(240, 100), 80);
  EXPECT_EQ(window_cycles(97, 96), 1);  // a prime period
}

TEST(WindowCycles, RejectsImpossibleInputs) {
  try {
    (void)window_cycles(256, 0);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(),
                 "smallest link latency of 0 cycles: the lockstep window protocol needs every "
                 "link latency (latency_min_cycles) to be at least 1 cycle");
  }
  try {
    (void)window_cycles(0, 10);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "HAC period of 0 cycles: it must be at least 1 cycle");
  }
}

TEST(WindowClock, IndexMath) {
  const WindowClock clock(128, 256);
  EXPECT_EQ(clock.windows_per_epoch(), 2);
  EXPECT_EQ(clock.window_of(0), 0);
  EXPECT_EQ(clock.window_of(127), 0);
  EXPECT_EQ(clock.window_of(128), 1);
  EXPECT_EQ(clock.window_of(-1), -1);
  EXPECT_EQ(clock.window_of(-128), -1);
  EXPECT_EQ(clock.window_of(-129), -2);
  EXPECT_EQ(clock.begin(3), 384);
  EXPECT_EQ(clock.end(3), 512);
  EXPECT_EQ(clock.epoch_of(0), 0);
  EXPECT_EQ(clock.epoch_of(1), 0);
  EXPECT_EQ(clock.epoch_of(2), 1);
  EXPECT_EQ(clock.epoch_of(-1), -1);
  EXPECT_TRUE(clock.starts_epoch(0));
  EXPECT_FALSE(clock.starts_epoch(1));
  EXPECT_TRUE(clock.starts_epoch(2));
  EXPECT_TRUE(clock.starts_epoch(-2));
  EXPECT_FALSE(clock.starts_epoch(-1));
}

TEST(WindowClock, EpochBoundariesAreWindowBoundaries) {
  for (const Cycle w : {1, 2, 4, 8, 16, 32, 64, 128, 256}) {
    const WindowClock clock(w, 256);
    for (std::int64_t epoch = -2; epoch < 5; ++epoch) {
      const Cycle boundary = 256 * epoch;
      const WindowIndex window = clock.window_of(boundary);
      EXPECT_EQ(clock.begin(window), boundary) << "window " << w;
      EXPECT_TRUE(clock.starts_epoch(window)) << "window " << w;
      EXPECT_EQ(clock.epoch_of(window), epoch);
    }
  }
}

TEST(WindowClock, AgreementWindows) {
  const WindowClock clock(128, 256);
  // Every epoch: after windows 1, 3, 5, ...
  EXPECT_FALSE(clock.ends_epoch_group(0, 1));
  EXPECT_TRUE(clock.ends_epoch_group(1, 1));
  EXPECT_TRUE(clock.ends_epoch_group(3, 1));
  // Every 3 epochs = 6 windows: after windows 5, 11, 17.
  for (WindowIndex w = 0; w < 18; ++w) {
    EXPECT_EQ(clock.ends_epoch_group(w, 3), w == 5 || w == 11 || w == 17) << w;
  }
}

TEST(WindowClock, RejectsAWindowThatDoesNotDivideTheEpoch) {
  try {
    const WindowClock clock(100, 256);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(),
                 "window of 100 cycles: it must be at least 1 cycle and divide the HAC period of "
                 "256 cycles");
  }
}

}  // namespace
}  // namespace tspemu
