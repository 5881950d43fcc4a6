#pragma once
// Turning a data segment's init recipe into bytes and SRAM vectors, deterministically
// (programs/ISA.md, "Data initialisation" gives the exact formulas so anyone can reproduce them).
//
// Layout: a segment of dtype T (b bytes), shape [R, C] at slices s_0..s_{b-1}, address A holds
// element (r, c) as byte plane k in slice s_k, row A + r, lane c; lanes C.. of every row are zero.

#include <cstdint>
#include <span>
#include <vector>

#include "common/vector.hpp"
#include "isa/program.hpp"

namespace tspemu {

// Output number `index` (0-based) of a SplitMix64 generator whose state starts at `seed`:
//   z = seed + (index + 1) * 0x9e3779b97f4a7c15   (mod 2^64)
//   z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9; z = (z ^ (z >> 27)) * 0x94d049bb133111eb
//   return z ^ (z >> 31)
// Counter-based: element i's value depends on (seed, i) only.
[[nodiscard]] std::uint64_t splitmix64_at(std::uint64_t seed, std::uint64_t index);

// Bit pattern (zero-extended) of element `index` (row-major: r * C + c) of a seeded_uniform init.
//   integers: lo + (x mod (hi - lo + 1))                       (x = splitmix64_at(seed, index))
//   floats:   u = (x >> 11) * 2^-53 in [0, 1); v = lo + (hi - lo) * u in double (two roundings,
//             no fused multiply-add), then v rounded to nearest-even to f16/f32.
[[nodiscard]] std::uint64_t seeded_element(const DataInit& init, DType dtype, std::uint64_t index);

// Row-major elements, each dtype_bytes little-endian bytes: R * C * b bytes. A .region (not
// initialized) gives zeros, like Kind::zero; callers decide whether to load it at all.
[[nodiscard]] std::vector<std::uint8_t> element_bytes(const DataSegment& data);

// The vectors the segment puts into SRAM, plane-major: vectors[k * R + r] is byte plane k of row r,
// to be stored in slice at.slices[k] at address at.address + r. Empty for a .region.
[[nodiscard]] std::vector<Vector> materialize(const DataSegment& data);

// The inverse of materialize for outputs: row-major element bytes from plane-major vectors
// (vectors.size() must be b * R; lanes >= C are ignored).
[[nodiscard]] std::vector<std::uint8_t> elements_from_vectors(const DataSegment& data,
                                                              std::span<const Vector> vectors);

}  // namespace tspemu
