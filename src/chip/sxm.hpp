#pragma once
// The SXM's lane movements as pure functions on vectors (programs/ISA.md, "SXM"; meanings
// in isa/op_table.cpp). Lanes are numbered 0..319 from south (superlane 0) to north; "north by n"
// moves lane l's value to lane l + n. Multi-byte element types apply the same movement to every
// byte plane, so these functions take one plane at a time (the engine loops over the group).

#include <cstdint>
#include <span>

#include "common/vector.hpp"

namespace tspemu {

// out[l] = in[l - n] where 0 <= l - n < 320, else 0 (n > 0 north, n < 0 south).
[[nodiscard]] Vector sxm_shift(const Vector& in, int n);

// SHIFT with a mask: lanes whose mask element is nonzero take the shifted value, the others keep
// `in`. mask_nonzero[l] is precomputed from the whole element (every byte plane of the mask).
[[nodiscard]] Vector sxm_shift_select(const Vector& in, int n,
                                      std::span<const bool, kVectorBytes> mask_nonzero);

// out[l] = in[map[l]] (map: 320 lane indices, a bijection checked by the assembler).
[[nodiscard]] Vector sxm_permute(const Vector& in, std::span<const std::int16_t> map);

// Within each superlane s: out[16 s + i] = map[i] < 0 ? 0 : in[16 s + map[i]] (map: 16 entries).
[[nodiscard]] Vector sxm_distribute(const Vector& in, std::span<const std::int16_t> map);

// Cyclic rotation north by r lanes: out[l] = in[(l - r) mod 320].
[[nodiscard]] Vector sxm_rotate_lanes(const Vector& in, int r);

// ROTATE: n input streams, n * n outputs: out[r * n + j] = in[j] rotated north by r lanes.
void sxm_rotate(std::span<const Vector> in, int n, std::span<Vector> out);

// TRANSPOSE: 16 streams in and out; within each superlane s: out[i][16 s + j] = in[j][16 s + i].
void sxm_transpose(std::span<const Vector, 16> in, std::span<Vector, 16> out);

}  // namespace tspemu
