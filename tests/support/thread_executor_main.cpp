// Linked into a unit test binary instead of GTest's main: installs the threads executor
// (chip/cycle_executor.hpp) before any test runs, so the same tests run every cycle's ops, and a
// lone fp16 ABC's columns, on four std::threads. Under the `tsan` preset ThreadSanitizer then
// checks that the ops of a cycle really are independent (Debian's Kokkos is Serial only).
#include <gtest/gtest.h>

#include "chip/cycle_executor.hpp"

int main(int argc, char** argv) {
  tspemu::install_cycle_executor(tspemu::make_thread_executor(4));
  ::testing::InitGoogleTest(&argc, argv);
  const int code = RUN_ALL_TESTS();
  tspemu::install_cycle_executor(nullptr);
  return code;
}
