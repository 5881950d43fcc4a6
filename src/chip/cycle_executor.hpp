#pragma once
// How the engine runs a cycle's independent ops (chip/engine.hpp, "Parallelism") and a lone op's
// independent columns: body(i) for every i in [0, n), possibly concurrently, returning when all
// are done. Each body writes only its own slots, so the order and the concurrency cannot change a
// result; the shuffle seed tests the order, and the threads executor tests the concurrency.
//
// The product's executor is Kokkos (parallel_for on Kokkos's default host execution space: Serial,
// OpenMP or Threads, whatever Kokkos was built with). Debian's Kokkos 3.4 is Serial only, so a
// data race between two ops would never show there: tests install the threads executor (the same
// bodies on several std::threads) and run the engine tests under ThreadSanitizer (the `tsan`
// preset; docs/design.md, "Parallelism").

#include <memory>
#include <type_traits>
#include <utility>

namespace tspemu {

// A non-owning reference to a callable void(int): no allocation per cycle.
class IndexBody {
 public:
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, IndexBody>>>
  IndexBody(F& f)  // NOLINT(google-explicit-constructor): a view, like std::function_ref
      : object_(&f), call_([](void* o, int i) { (*static_cast<F*>(o))(i); }) {}
  void operator()(int i) const { call_(object_, i); }

 private:
  void* object_;
  void (*call_)(void*, int);
};

class CycleExecutor {
 public:
  virtual ~CycleExecutor() = default;
  // Runs body(0) .. body(n - 1); the first exception a body throws is rethrown after all ended.
  virtual void parallel_for(const char* label, int n, IndexBody body) = 0;
  [[nodiscard]] virtual const char* name() const = 0;
};

// The process's executor: Kokkos unless a test installed another.
[[nodiscard]] CycleExecutor& cycle_executor();

// Test-only: the executor every engine uses from now on (nullptr: Kokkos again). Not thread-safe:
// call it before any engine runs (a test's static initialiser or main).
void install_cycle_executor(std::unique_ptr<CycleExecutor> executor);

// `threads` std::threads (the caller is one of them) take indices from a shared counter.
[[nodiscard]] std::unique_ptr<CycleExecutor> make_thread_executor(int threads);

}  // namespace tspemu
