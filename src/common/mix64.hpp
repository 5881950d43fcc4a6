#pragma once
// The SplitMix64 finaliser: a bijective 64-bit mixer. Every counter-based draw of the emulator
// (link jitter and FEC events, oscillator offsets, HAC phases) passes its key words through it,
// so a draw depends on what it is for, never on when or on which rank it is made.

#include <cstdint>

namespace tspemu {

[[nodiscard]] constexpr std::uint64_t mix64(std::uint64_t x) {
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

}  // namespace tspemu
