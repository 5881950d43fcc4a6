#pragma once
// Kokkos must be initialised once per process and finalised once, after its last use (and cannot be
// initialised again after that). KokkosSession is the RAII guard for a main(): it initialises
// Kokkos if nobody has yet and finalises it on destruction only if it was the one that initialised
// it.
//
// Library code (the Engine) calls ensure_kokkos_initialized(), which initialises Kokkos on first
// use if no session exists and finalises it at process exit; a KokkosSession created earlier in
// main() takes precedence, so tools keep control of Kokkos's lifetime.

namespace tspemu {

class KokkosSession {
 public:
  KokkosSession();
  ~KokkosSession();
  KokkosSession(const KokkosSession&) = delete;
  KokkosSession& operator=(const KokkosSession&) = delete;

  [[nodiscard]] bool owns() const { return owns_; }

 private:
  bool owns_ = false;
};

// Initialises Kokkos if it is not initialised yet (finalised at exit). Thread-safe.
void ensure_kokkos_initialized();

}  // namespace tspemu
