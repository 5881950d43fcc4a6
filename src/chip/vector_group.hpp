#pragma once
// A vector operand of a 1-, 2- or 4-byte element type: its byte planes, one Vector per stream of
// the SG1/SG2/SG4 group (programs/ISA.md, "Streams": stream n holds byte 0 of every lane's
// element, n+1 byte 1, ...; little-endian).

#include <array>
#include <cstdint>

#include "common/vector.hpp"

namespace tspemu {

struct VectorGroup {
  std::array<Vector, 4> planes{};
  int count = 1;  // 1, 2 or 4

  // Element bits of a lane (zero-extended to 32 bits).
  [[nodiscard]] std::uint32_t element(std::size_t lane) const {
    std::uint32_t bits = 0;
    for (int b = 0; b < count; ++b) {
      bits |= static_cast<std::uint32_t>(planes[static_cast<std::size_t>(b)].bytes[lane])
              << (8 * b);
    }
    return bits;
  }
  void set_element(std::size_t lane, std::uint32_t bits) {
    for (int b = 0; b < count; ++b) {
      planes[static_cast<std::size_t>(b)].bytes[lane] = static_cast<std::uint8_t>(bits >> (8 * b));
    }
  }
  // Every lane holds `bits` (an immediate operand).
  [[nodiscard]] static VectorGroup broadcast(std::uint32_t bits, int count) {
    VectorGroup g;
    g.count = count;
    for (int b = 0; b < count; ++b) {
      g.planes[static_cast<std::size_t>(b)] =
          Vector::filled(static_cast<std::uint8_t>(bits >> (8 * b)));
    }
    return g;
  }
  friend bool operator==(const VectorGroup& a, const VectorGroup& b) {
    if (a.count != b.count) return false;
    for (int i = 0; i < a.count; ++i) {
      if (!(a.planes[static_cast<std::size_t>(i)] == b.planes[static_cast<std::size_t>(i)]))
        return false;
    }
    return true;
  }
};

}  // namespace tspemu
