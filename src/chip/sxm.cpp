#include "chip/sxm.hpp"

#include "common/error.hpp"

namespace tspemu {

namespace {
constexpr int kLanes = kVectorBytes;
}  // namespace

Vector sxm_shift(const Vector& in, int n) {
  Vector out;
  for (int l = 0; l < kLanes; ++l) {
    const int from = l - n;
    if (from >= 0 && from < kLanes) {
      out.bytes[static_cast<std::size_t>(l)] = in.bytes[static_cast<std::size_t>(from)];
    }
  }
  return out;
}

Vector sxm_shift_select(const Vector& in, int n, std::span<const bool, kVectorBytes> mask_nonzero) {
  const Vector shifted = sxm_shift(in, n);
  Vector out;
  for (std::size_t l = 0; l < kVectorBytes; ++l) {
    out.bytes[l] = mask_nonzero[l] ? shifted.bytes[l] : in.bytes[l];
  }
  return out;
}

Vector sxm_permute(const Vector& in, std::span<const std::int16_t> map) {
  TSPEMU_ASSERT(map.size() == kVectorBytes, "PERMUTE map must have 320 entries");
  Vector out;
  for (std::size_t l = 0; l < kVectorBytes; ++l) {
    const int from = map[l];
    TSPEMU_ASSERT(from >= 0 && from < kLanes, "PERMUTE map entry out of range");
    out.bytes[l] = in.bytes[static_cast<std::size_t>(from)];
  }
  return out;
}

Vector sxm_distribute(const Vector& in, std::span<const std::int16_t> map) {
  TSPEMU_ASSERT(map.size() == kLanesPerSuperlane, "DISTRIBUTE map must have 16 entries");
  Vector out;
  for (int s = 0; s < kMaxSuperlanes; ++s) {
    for (int i = 0; i < kLanesPerSuperlane; ++i) {
      const int from = map[static_cast<std::size_t>(i)];
      TSPEMU_ASSERT(from >= -1 && from < kLanesPerSuperlane, "DISTRIBUTE map entry out of range");
      if (from >= 0) {
        out.bytes[static_cast<std::size_t>(s * kLanesPerSuperlane + i)] =
            in.bytes[static_cast<std::size_t>(s * kLanesPerSuperlane + from)];
      }
    }
  }
  return out;
}

Vector sxm_rotate_lanes(const Vector& in, int r) {
  const int shift = ((r % kLanes) + kLanes) % kLanes;
  Vector out;
  for (int l = 0; l < kLanes; ++l) {
    out.bytes[static_cast<std::size_t>(l)] =
        in.bytes[static_cast<std::size_t>((l - shift + kLanes) % kLanes)];
  }
  return out;
}

void sxm_rotate(std::span<const Vector> in, int n, std::span<Vector> out) {
  TSPEMU_ASSERT((n == 3 || n == 4) && static_cast<int>(in.size()) == n &&
                    static_cast<int>(out.size()) == n * n,
                "ROTATE takes n = 3 or 4 streams and produces n * n");
  for (int r = 0; r < n; ++r) {
    for (int j = 0; j < n; ++j) {
      out[static_cast<std::size_t>(r * n + j)] =
          sxm_rotate_lanes(in[static_cast<std::size_t>(j)], r);
    }
  }
}

void sxm_transpose(std::span<const Vector, 16> in, std::span<Vector, 16> out) {
  for (std::size_t s = 0; s < kMaxSuperlanes; ++s) {
    const std::size_t base = s * kLanesPerSuperlane;
    for (std::size_t i = 0; i < 16; ++i) {
      for (std::size_t j = 0; j < 16; ++j) out[i].bytes[base + j] = in[j].bytes[base + i];
    }
  }
}

}  // namespace tspemu
