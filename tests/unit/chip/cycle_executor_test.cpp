// chip/cycle_executor: every index runs exactly once, concurrently on the threads executor, and a
// body's exception reaches the caller after every other index ran; the engine's results do not
// depend on the executor (the engine tests run again on four threads: chip_threads_test).
#include "chip/cycle_executor.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

namespace tspemu {
namespace {

void every_index_once(CycleExecutor& executor) {
  for (int n : {0, 1, 2, 7, 320, 1000}) {
    std::vector<std::atomic<int>> hits(static_cast<std::size_t>(n));
    auto body = [&](int i) { hits[static_cast<std::size_t>(i)].fetch_add(1); };
    executor.parallel_for("test", n, body);
    for (int i = 0; i < n; ++i) EXPECT_EQ(hits[static_cast<std::size_t>(i)].load(), 1) << i;
  }
}

TEST(CycleExecutor, KokkosRunsEveryIndexOnce) {
  install_cycle_executor(nullptr);
  EXPECT_STREQ(cycle_executor().name(), "kokkos");
  every_index_once(cycle_executor());
}

TEST(CycleExecutor, ThreadsRunEveryIndexOnceManyTimes) {
  const auto executor = make_thread_executor(4);
  EXPECT_STREQ(executor->name(), "threads");
  for (int round = 0; round < 200; ++round) every_index_once(*executor);
}

TEST(CycleExecutor, ThreadsRunConcurrently) {
  // Four bodies that each wait until all four have started: finishes only if four threads run
  // them at once (on any core count: the threads block, they do not spin on a core).
  const auto executor = make_thread_executor(4);
  std::mutex mutex;
  std::condition_variable all_started;
  int started = 0;
  std::set<std::thread::id> threads;
  auto body = [&](int) {
    std::unique_lock lock(mutex);
    ++started;
    threads.insert(std::this_thread::get_id());
    all_started.notify_all();
    all_started.wait(lock, [&] { return started == 4; });
  };
  executor->parallel_for("test", 4, body);
  EXPECT_EQ(threads.size(), 4U);
}

TEST(CycleExecutor, ThreadsRethrowABodysErrorAfterTheOthersRan) {
  const auto executor = make_thread_executor(3);
  std::atomic<int> ran{0};
  auto body = [&](int i) {
    ran.fetch_add(1);
    if (i == 5) throw std::runtime_error("body 5 failed");
  };
  try {
    executor->parallel_for("test", 10, body);
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "body 5 failed");
  }
  EXPECT_EQ(ran.load(), 10);
  every_index_once(*executor);  // usable again
}

}  // namespace
}  // namespace tspemu
