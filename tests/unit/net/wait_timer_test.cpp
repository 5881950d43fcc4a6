// The watchdog's clock (net/wait_timer.hpp): a wait expires after the limit of running time, and a
// process that was itself stopped does not blame its peers for the time it was away.
#include "net/wait_timer.hpp"

#include <gtest/gtest.h>

namespace tspemu {
namespace {

TEST(WaitTimer, ExpiresAfterTheLimitOfContinuousPolling) {
  WaitTimer timer(2.0);
  double now = 100.0;
  for (int i = 0; i < 1999; ++i, now += 0.001) EXPECT_FALSE(timer.expired(now)) << now;
  now += 0.002;  // 2.001 s after the first reading
  EXPECT_TRUE(timer.expired(now));
}

TEST(WaitTimer, AStopOfThisProcessRestartsTheTiming) {
  WaitTimer timer(2.0);
  EXPECT_FALSE(timer.expired(10.0));
  EXPECT_FALSE(timer.expired(10.001));
  // Stopped for 30 s (SIGSTOP, a suspended job): the next reading is 30 s later.
  EXPECT_FALSE(timer.expired(40.0));
  EXPECT_FALSE(timer.expired(41.9));  // readings 1.9 s apart would be a stop too: still restarting
  EXPECT_FALSE(timer.expired(42.0));
  // Polling without a gap from 41.9 on: expires 2 s after that restart, not before.
  double now = 42.0;
  for (; now < 43.89; now += 0.01) EXPECT_FALSE(timer.expired(now)) << now;
  EXPECT_TRUE(timer.expired(43.95));
}

TEST(WaitTimer, AGapOfAQuarterOfTheLimitIsAStop) {
  WaitTimer timer(4.0);
  EXPECT_FALSE(timer.expired(0.0));
  EXPECT_FALSE(timer.expired(0.9));  // 0.9 s <= 1 s: polling, the timing goes on from 0
  EXPECT_FALSE(timer.expired(1.8));
  EXPECT_FALSE(timer.expired(2.7));
  EXPECT_FALSE(timer.expired(3.6));
  EXPECT_TRUE(timer.expired(4.5));
  WaitTimer other(4.0);
  EXPECT_FALSE(other.expired(0.0));
  EXPECT_FALSE(other.expired(1.1));  // 1.1 s > 1 s: a stop, timed afresh from 1.1
  EXPECT_FALSE(other.expired(2.0));
  EXPECT_FALSE(other.expired(2.9));
  EXPECT_FALSE(other.expired(3.8));
  EXPECT_FALSE(other.expired(4.7));
  EXPECT_TRUE(other.expired(5.6));
}

TEST(WaitTimer, RestartTimesAfreshFromTheNextReading) {
  WaitTimer timer(1.0);
  double now = 0.0;
  for (; now < 1.0; now += 0.01) EXPECT_FALSE(timer.expired(now));
  EXPECT_TRUE(timer.expired(now + 0.01));
  timer.restart();
  EXPECT_FALSE(timer.expired(now + 0.02));
  EXPECT_FALSE(timer.expired(now + 0.5));
}

}  // namespace
}  // namespace tspemu
