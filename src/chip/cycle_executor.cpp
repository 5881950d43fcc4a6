#include "chip/cycle_executor.hpp"

#include <Kokkos_Core.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "chip/kokkos_session.hpp"
#include "common/error.hpp"

namespace tspemu {
namespace {

class KokkosExecutor final : public CycleExecutor {
 public:
  void parallel_for(const char* label, int n, IndexBody body) override {
    ensure_kokkos_initialized();
    Kokkos::parallel_for(
        label, Kokkos::RangePolicy<Kokkos::DefaultHostExecutionSpace, Kokkos::IndexType<int>>(0, n),
        [body](int i) { body(i); });
    Kokkos::DefaultHostExecutionSpace().fence();
  }
  [[nodiscard]] const char* name() const override { return "kokkos"; }
};

// Workers sleep on a condition variable between jobs; a job is published under the mutex with a
// new generation number, indices are claimed with an atomic counter, and the caller waits until
// every index has finished. The mutex and the atomics give ThreadSanitizer the happens-before
// edges of a real executor, so what it reports is the bodies' own sharing.
class ThreadExecutor final : public CycleExecutor {
 public:
  explicit ThreadExecutor(int threads) {
    TSPEMU_ASSERT(threads >= 1, "thread executor needs a thread");
    for (int t = 1; t < threads; ++t) workers_.emplace_back([this] { work(); });
  }
  ~ThreadExecutor() override {
    {
      const std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
  }
  ThreadExecutor(const ThreadExecutor&) = delete;
  ThreadExecutor& operator=(const ThreadExecutor&) = delete;

  void parallel_for(const char* /*label*/, int n, IndexBody body) override {
    if (n <= 0) return;
    {
      const std::lock_guard lock(mutex_);
      body_ = &body;
      n_ = n;
      next_.store(0);
      finished_ = 0;
      error_ = nullptr;
      ++generation_;
    }
    wake_.notify_all();
    run_indices();
    std::unique_lock lock(mutex_);
    done_.wait(lock, [&] { return finished_ == n_ && active_ == 0; });
    body_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }
  [[nodiscard]] const char* name() const override { return "threads"; }

 private:
  void work() {
    std::uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
        if (stopping_) return;
        seen = generation_;
        ++active_;
      }
      run_indices();
      {
        const std::lock_guard lock(mutex_);
        --active_;
      }
      done_.notify_all();
    }
  }

  void run_indices() {
    int n = 0;
    const IndexBody* body = nullptr;
    {
      const std::lock_guard lock(mutex_);
      n = n_;
      body = body_;
    }
    if (body == nullptr) return;  // a worker that woke after the job ended
    int count = 0;
    std::exception_ptr error;
    for (int i = next_.fetch_add(1); i < n; i = next_.fetch_add(1)) {
      try {
        (*body)(i);
      } catch (...) {
        if (!error) error = std::current_exception();
      }
      ++count;
    }
    {
      const std::lock_guard lock(mutex_);
      finished_ += count;
      if (error && !error_) error_ = error;
    }
    done_.notify_all();
  }

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const IndexBody* body_ = nullptr;
  int n_ = 0;
  std::atomic<int> next_{0};
  int finished_ = 0;
  int active_ = 0;
  std::uint64_t generation_ = 0;
  bool stopping_ = false;
  std::exception_ptr error_;
};

std::unique_ptr<CycleExecutor>& installed() {
  static std::unique_ptr<CycleExecutor> executor;
  return executor;
}

}  // namespace

CycleExecutor& cycle_executor() {
  static KokkosExecutor kokkos;
  auto& custom = installed();
  return custom ? *custom : static_cast<CycleExecutor&>(kokkos);
}

void install_cycle_executor(std::unique_ptr<CycleExecutor> executor) {
  installed() = std::move(executor);
}

std::unique_ptr<CycleExecutor> make_thread_executor(int threads) {
  return std::make_unique<ThreadExecutor>(threads);
}

}  // namespace tspemu
