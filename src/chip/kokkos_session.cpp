#include "chip/kokkos_session.hpp"

#include <Kokkos_Core.hpp>

#include <mutex>

namespace tspemu {

KokkosSession::KokkosSession() {
  if (!Kokkos::is_initialized()) {
    Kokkos::initialize();
    owns_ = true;
  }
}

KokkosSession::~KokkosSession() {
  if (owns_ && Kokkos::is_initialized()) Kokkos::finalize();
}

void ensure_kokkos_initialized() {
  // Called on hot paths (every run_until, every parallel launch): no lock once Kokkos is up.
  if (Kokkos::is_initialized()) return;
  static std::mutex mutex;
  const std::lock_guard<std::mutex> lock(mutex);
  if (Kokkos::is_initialized()) return;
  // A function-local static: constructed on first use, destroyed (finalising Kokkos) at exit.
  static KokkosSession session;
}

}  // namespace tspemu
