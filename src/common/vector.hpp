#pragma once
// The TSP's unit of data: one 320-byte vector, one byte per lane (20 superlanes x 16 lanes).
//
// Storage is fixed at the architectural maximum of 320 bytes so that vectors are plain values that
// live in arrays, cross MPI as raw bytes and never allocate. A chip configured with fewer active
// superlanes ([chip] superlanes < 20) uses the first 16 x superlanes bytes.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace tspemu {

inline constexpr int kLanesPerSuperlane = 16;
inline constexpr int kMaxSuperlanes = 20;
inline constexpr int kVectorBytes = kLanesPerSuperlane * kMaxSuperlanes;  // 320

struct alignas(64) Vector {
  std::array<std::uint8_t, kVectorBytes> bytes{};

  [[nodiscard]] std::uint8_t& operator[](std::size_t lane) { return bytes[lane]; }
  [[nodiscard]] std::uint8_t operator[](std::size_t lane) const { return bytes[lane]; }
  [[nodiscard]] std::span<std::uint8_t, kVectorBytes> span() { return bytes; }
  [[nodiscard]] std::span<const std::uint8_t, kVectorBytes> span() const { return bytes; }
  friend bool operator==(const Vector&, const Vector&) = default;

  [[nodiscard]] static Vector filled(std::uint8_t value) {
    Vector v;
    v.bytes.fill(value);
    return v;
  }

  template <class Archive>
  void serialize(Archive& archive) {
    archive(bytes);
  }
};

static_assert(sizeof(Vector) == 320, "a Vector is exactly 320 bytes: it crosses MPI as raw bytes");

}  // namespace tspemu
