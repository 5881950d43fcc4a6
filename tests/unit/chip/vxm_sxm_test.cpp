// VXM and SXM operations against hand-computed values.
#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <initializer_list>
#include <vector>

#include "chip/sxm.hpp"
#include "chip/vxm.hpp"

namespace tspemu {
namespace {

// A group whose first lanes hold `values` (element bits), the rest `fill`.
VectorGroup group(DType t, std::initializer_list<std::uint32_t> values, std::uint32_t fill = 0) {
  VectorGroup g = VectorGroup::broadcast(fill, dtype_bytes(t));
  std::size_t lane = 0;
  for (std::uint32_t v : values) g.set_element(lane++, v);
  return g;
}

std::uint32_t f32(float f) {
  return std::bit_cast<std::uint32_t>(f);
}

// Runs op on the operands and returns the first n lanes' bits.
std::vector<std::uint32_t> run(VxmOp op, std::initializer_list<VectorGroup> operands,
                               std::size_t n) {
  std::vector<const VectorGroup*> pointers;
  for (const VectorGroup& g : operands) pointers.push_back(&g);
  const VectorGroup r = vxm_compute(op, pointers);
  EXPECT_EQ(r.count, dtype_bytes(op.dtype));
  std::vector<std::uint32_t> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(r.element(i));
  return out;
}

using U = std::vector<std::uint32_t>;

TEST(Vxm, IntegerArithmeticModuloAndSaturating) {
  const auto a8 = group(DType::i8, {127, 0x80, 5, 0xfb});  // 127, -128, 5, -5
  const auto b8 = group(DType::i8, {1, 0xff, 3, 0xfb});    // 1, -1, 3, -5
  EXPECT_EQ(run({Opcode::add, DType::i8}, {a8, b8}, 4), (U{0x80, 0x7f, 8, 0xf6}));
  EXPECT_EQ(run({Opcode::add, DType::i8, DType::none, true}, {a8, b8}, 4),
            (U{0x7f, 0x80, 8, 0xf6}));
  EXPECT_EQ(run({Opcode::sub, DType::i8, DType::none, true}, {a8, b8}, 4), (U{126, 0x81, 2, 0}));
  EXPECT_EQ(run({Opcode::mul, DType::i8}, {a8, b8}, 4), (U{127, 0x80, 15, 25}));
  EXPECT_EQ(run({Opcode::mul, DType::i8, DType::none, true}, {a8, b8}, 4), (U{127, 127, 15, 25}));

  const auto au = group(DType::u8, {250, 3, 200});
  const auto bu = group(DType::u8, {10, 5, 2});
  EXPECT_EQ(run({Opcode::add, DType::u8}, {au, bu}, 3), (U{4, 8, 202}));
  EXPECT_EQ(run({Opcode::add, DType::u8, DType::none, true}, {au, bu}, 3), (U{255, 8, 202}));
  EXPECT_EQ(run({Opcode::sub, DType::u8, DType::none, true}, {au, bu}, 3), (U{240, 0, 198}));
  EXPECT_EQ(run({Opcode::sub, DType::u8}, {au, bu}, 3), (U{240, 254, 198}));
  EXPECT_EQ(run({Opcode::mul, DType::u8, DType::none, true}, {au, bu}, 3), (U{255, 15, 255}));

  const auto a16 = group(DType::i16, {300, 0x8000});
  EXPECT_EQ(run({Opcode::mul, DType::i16}, {a16, a16}, 1), (U{24464}));  // 90000 mod 65536
  EXPECT_EQ(run({Opcode::mul, DType::i16, DType::none, true}, {a16, a16}, 2), (U{0x7fff, 0x7fff}));
  const auto a32 = group(DType::i32, {65536, 0x80000000U});
  EXPECT_EQ(run({Opcode::mul, DType::i32}, {a32, a32}, 2), (U{0, 0}));
  EXPECT_EQ(run({Opcode::add, DType::i32}, {a32, a32}, 2), (U{131072, 0}));
  EXPECT_EQ(run({Opcode::add, DType::i32, DType::none, true}, {a32, a32}, 2),
            (U{131072, 0x80000000U}));
  EXPECT_EQ(run({Opcode::min, DType::i32}, {a32, group(DType::i32, {7, 7})}, 2),
            (U{7, 0x80000000U}));
  EXPECT_EQ(run({Opcode::max, DType::i8}, {a8, b8}, 4), (U{127, 0xff, 5, 0xfb}));
}

TEST(Vxm, BitwiseAndShifts) {
  const auto a = group(DType::i16, {0xf0f0, 0x1234});
  const auto b = group(DType::i16, {0xff00, 0x00ff});
  EXPECT_EQ(run({Opcode::bit_and, DType::i16}, {a, b}, 2), (U{0xf000, 0x0034}));
  EXPECT_EQ(run({Opcode::bit_or, DType::i16}, {a, b}, 2), (U{0xfff0, 0x12ff}));
  EXPECT_EQ(run({Opcode::bit_xor, DType::i16}, {a, b}, 2), (U{0x0ff0, 0x12cb}));
  EXPECT_EQ(run({Opcode::bit_not, DType::i16}, {a}, 2), (U{0x0f0f, 0xedcb}));

  const auto x8 = group(DType::i8, {1, 1, 0x80, 0x80, 0x80});
  const auto n8 = group(DType::i8, {7, 8, 1, 7, 0xff});  // 0xff = count 255
  EXPECT_EQ(run({Opcode::shl, DType::i8}, {x8, n8}, 2), (U{0x80, 0}));
  EXPECT_EQ(run({Opcode::shr, DType::i8}, {x8, n8}, 5), (U{0, 0, 0xc0, 0xff, 0xff}));
  const auto xu = group(DType::u8, {0x80, 0x80});
  const auto nu = group(DType::u8, {1, 9});
  EXPECT_EQ(run({Opcode::shr, DType::u8}, {xu, nu}, 2), (U{0x40, 0}));
  EXPECT_EQ(run({Opcode::shr, DType::i32},
                {group(DType::i32, {0xffffffffU}), group(DType::i32, {40})}, 1),
            (U{0xffffffffU}));
}

TEST(Vxm, CompareMasksAndSelect) {
  const auto a = group(DType::i8, {1, 2, 0xff});
  const auto b = group(DType::i8, {1, 1, 0});
  EXPECT_EQ(run({Opcode::cmp_eq, DType::i8}, {a, b}, 3), (U{0xff, 0, 0}));
  EXPECT_EQ(run({Opcode::cmp_lt, DType::i8}, {a, b}, 3), (U{0, 0, 0xff}));  // -1 < 0
  EXPECT_EQ(run({Opcode::cmp_le, DType::i8}, {a, b}, 3), (U{0xff, 0, 0xff}));
  const auto f = group(DType::f32, {f32(1.5F), 0x7fc00000U, f32(-0.0F)});
  const auto g = group(DType::f32, {f32(2.0F), f32(1.0F), f32(0.0F)});
  EXPECT_EQ(run({Opcode::cmp_lt, DType::f32}, {f, g}, 3), (U{0xffffffffU, 0, 0}));
  EXPECT_EQ(run({Opcode::cmp_eq, DType::f32}, {f, g}, 3), (U{0, 0, 0xffffffffU}));  // -0 == +0
  const auto h = group(DType::f16, {0x3c00, 0x7e00});
  EXPECT_EQ(run({Opcode::cmp_le, DType::f16}, {h, h}, 2), (U{0xffff, 0}));  // NaN <= NaN: false
  const auto mask = group(DType::i16, {0xffff, 0, 0x0100});
  const auto x = group(DType::i16, {11, 12, 13});
  const auto y = group(DType::i16, {21, 22, 23});
  EXPECT_EQ(run({Opcode::select, DType::i16}, {mask, x, y}, 3), (U{11, 22, 13}));
}

TEST(Vxm, UnaryOps) {
  const auto a = group(DType::i8, {0x80, 5, 0xfb});
  EXPECT_EQ(run({Opcode::neg, DType::i8}, {a}, 3), (U{0x80, 0xfb, 5}));
  EXPECT_EQ(run({Opcode::abs, DType::i8}, {a}, 3), (U{0x80, 5, 5}));
  EXPECT_EQ(run({Opcode::relu, DType::i8}, {a}, 3), (U{0, 5, 0}));
  EXPECT_EQ(run({Opcode::mov, DType::i8}, {a}, 3), (U{0x80, 5, 0xfb}));
  const auto h = group(DType::f16, {0x3c00, 0xc000, 0x8000, 0x7e01});  // 1, -2, -0, NaN
  EXPECT_EQ(run({Opcode::neg, DType::f16}, {h}, 4), (U{0xbc00, 0x4000, 0x0000, 0xfe01}));
  EXPECT_EQ(run({Opcode::abs, DType::f16}, {h}, 4), (U{0x3c00, 0x4000, 0x0000, 0x7e01}));
  // max(a, +0) of float_ops.hpp: -2 -> +0, -0 stays -0 (equal operands give the first), NaN
  // quieted.
  EXPECT_EQ(run({Opcode::relu, DType::f16}, {h}, 4), (U{0x3c00, 0x0000, 0x8000, 0x7e01}));
  const auto z = group(DType::f16, {0x0000, 0x4400, 0x7c00});  // 0, 4, inf
  EXPECT_EQ(run({Opcode::exp, DType::f16}, {z}, 1), (U{0x3c00}));
  EXPECT_EQ(run({Opcode::rsqrt, DType::f16}, {z}, 3), (U{0x7c00, 0x3800, 0x0000}));
  EXPECT_EQ(run({Opcode::tanh, DType::f16}, {z}, 3), (U{0x0000, 0x3bff, 0x3c00}));  // tanh(4)
  const auto w = group(DType::f32, {f32(0.0F), f32(0.25F)});
  EXPECT_EQ(run({Opcode::exp, DType::f32}, {w}, 1), (U{f32(1.0F)}));
  EXPECT_EQ(run({Opcode::rsqrt, DType::f32}, {w}, 2), (U{0x7f800000U, f32(2.0F)}));
}

TEST(Vxm, FloatArithmetic) {
  const auto a = group(DType::f16, {0x3c00, 0x5cb0, 0x7bff});  // 1, 300, 65504
  const auto b = group(DType::f16, {0x4000, 0x5cb0, 0x3c00});  // 2, 300, 1
  EXPECT_EQ(run({Opcode::add, DType::f16}, {a, b}, 3), (U{0x4200, 0x60b0, 0x7bff}));
  EXPECT_EQ(run({Opcode::mul, DType::f16}, {a, b}, 3), (U{0x4000, 0x7c00, 0x7bff}));  // 90000: inf
  EXPECT_EQ(run({Opcode::sub, DType::f16}, {a, b}, 2), (U{0xbc00, 0x0000}));
  const auto n = group(DType::f16, {0x7e00, 0x3c00});
  EXPECT_EQ(run({Opcode::min, DType::f16}, {a, n}, 2), (U{0x7e00, 0x3c00}));
  const auto x = group(DType::f32, {f32(0.1F), f32(3.0F)});
  const auto y = group(DType::f32, {f32(0.2F), 0xff800000U});
  EXPECT_EQ(run({Opcode::add, DType::f32}, {x, y}, 2), (U{f32(0.1F + 0.2F), 0xff800000U}));
  EXPECT_EQ(run({Opcode::max, DType::f32}, {x, y}, 2), (U{f32(0.2F), f32(3.0F)}));
}

TEST(Vxm, Conversions) {
  auto cvt = [](DType dst, DType src, bool sat = false) {
    return VxmOp{Opcode::cvt, dst, src, sat};
  };
  const auto i32 = group(DType::i32, {300, 0xffffffffU, 0xffffff00U});  // 300, -1, -256
  EXPECT_EQ(run(cvt(DType::i8, DType::i32), {i32}, 3), (U{44, 0xff, 0}));
  EXPECT_EQ(run(cvt(DType::i8, DType::i32, true), {i32}, 3), (U{127, 0xff, 0x80}));
  EXPECT_EQ(run(cvt(DType::u8, DType::i32, true), {i32}, 3), (U{255, 0, 0}));
  const auto i8 = group(DType::i8, {0xff, 0x80});
  EXPECT_EQ(run(cvt(DType::i32, DType::i8), {i8}, 2), (U{0xffffffffU, 0xffffff80U}));
  EXPECT_EQ(run(cvt(DType::u8, DType::i8), {i8}, 2), (U{0xff, 0x80}));
  EXPECT_EQ(run(cvt(DType::u8, DType::i8, true), {i8}, 2), (U{0, 0}));
  const auto u8 = group(DType::u8, {200, 255});
  EXPECT_EQ(run(cvt(DType::i8, DType::u8), {u8}, 2), (U{200, 255}));
  EXPECT_EQ(run(cvt(DType::i8, DType::u8, true), {u8}, 2), (U{127, 127}));
  EXPECT_EQ(run(cvt(DType::f32, DType::u8), {u8}, 2), (U{f32(200.0F), f32(255.0F)}));
  const auto f = group(DType::f32, {f32(2.5F), f32(3.5F), f32(-200.0F), 0x7fc00000U, f32(-0.5F)});
  EXPECT_EQ(run(cvt(DType::i8, DType::f32), {f}, 5), (U{2, 4, 0x80, 0, 0}));
  const auto g = group(DType::f32, {f32(-3.0F), f32(300.0F), f32(254.5F), f32(255.5F)});
  EXPECT_EQ(run(cvt(DType::u8, DType::f32), {g}, 4), (U{0, 255, 254, 255}));
  const auto big = group(DType::i32, {65519, 65520, 16777217, 0xffff0011U});
  EXPECT_EQ(run(cvt(DType::f16, DType::i32), {big}, 2), (U{0x7bff, 0x7c00}));
  EXPECT_EQ(run(cvt(DType::f32, DType::i32), {big}, 4),
            (U{f32(65519.0F), f32(65520.0F), f32(16777216.0F), f32(-65519.0F)}));
  const auto h = group(DType::f16, {0x3c00, 0x0001, 0x7c00});
  EXPECT_EQ(run(cvt(DType::f32, DType::f16), {h}, 3), (U{f32(1.0F), 0x33800000U, 0x7f800000U}));
  EXPECT_EQ(run(cvt(DType::i16, DType::f16), {h}, 3), (U{1, 0, 0x7fff}));
  const auto k = group(DType::f32, {f32(1.0F), f32(65520.0F), f32(1e-8F)});
  EXPECT_EQ(run(cvt(DType::f16, DType::f32), {k}, 3), (U{0x3c00, 0x7c00, 0x0000}));
}

// ---- SXM -------------------------------------------------------------------------------------

Vector iota() {
  Vector v;
  for (std::size_t l = 0; l < kVectorBytes; ++l) v.bytes[l] = static_cast<std::uint8_t>(l);
  return v;
}

TEST(Sxm, ShiftNorthAndSouthWithZeroFill) {
  const Vector in = iota();
  const Vector north = sxm_shift(in, 3);
  EXPECT_EQ(north[0], 0);
  EXPECT_EQ(north[2], 0);
  EXPECT_EQ(north[3], 0);  // lane 0's value
  EXPECT_EQ(north[4], 1);
  EXPECT_EQ(north[319], static_cast<std::uint8_t>(316));
  const Vector south = sxm_shift(in, -3);
  EXPECT_EQ(south[0], 3);
  EXPECT_EQ(south[316], static_cast<std::uint8_t>(319));
  EXPECT_EQ(south[317], 0);
  EXPECT_EQ(sxm_shift(in, 320), Vector{});
  std::array<bool, kVectorBytes> mask{};
  mask[4] = true;
  const Vector selected = sxm_shift_select(in, 3, mask);
  EXPECT_EQ(selected[4], 1);  // shifted
  EXPECT_EQ(selected[5], 5);  // kept
}

TEST(Sxm, PermuteDistributeRotateTranspose) {
  const Vector in = iota();
  std::vector<std::int16_t> reverse(kVectorBytes);
  for (std::size_t l = 0; l < kVectorBytes; ++l) reverse[l] = static_cast<std::int16_t>(319 - l);
  const Vector rev = sxm_permute(in, reverse);
  EXPECT_EQ(rev[0], static_cast<std::uint8_t>(319));
  EXPECT_EQ(rev[319], 0);

  std::vector<std::int16_t> spread(16, -1);
  spread[0] = 15;
  spread[1] = 0;
  spread[2] = 0;
  const Vector d = sxm_distribute(in, spread);
  EXPECT_EQ(d[0], 15);
  EXPECT_EQ(d[1], 0);
  EXPECT_EQ(d[2], 0);
  EXPECT_EQ(d[3], 0);  // -1: zero
  EXPECT_EQ(d[16], 31);
  EXPECT_EQ(d[17], 16);
  EXPECT_EQ(d[304 + 0], static_cast<std::uint8_t>(319));

  std::array<Vector, 3> three{iota(), Vector::filled(7), sxm_shift(iota(), 1)};
  std::array<Vector, 9> rotated;
  sxm_rotate(three, 3, rotated);
  EXPECT_EQ(rotated[0], three[0]);  // r = 0: unrotated
  EXPECT_EQ(rotated[1], three[1]);
  EXPECT_EQ(rotated[3][1], 0);                               // r = 1: lane 1 holds old lane 0
  EXPECT_EQ(rotated[3][0], static_cast<std::uint8_t>(319));  // cyclic
  EXPECT_EQ(rotated[8][5], three[2][3]);                     // r = 2, j = 2

  std::array<Vector, 16> t_in;
  for (std::size_t j = 0; j < 16; ++j) {
    for (std::size_t l = 0; l < kVectorBytes; ++l) {
      t_in[j].bytes[l] =
          static_cast<std::uint8_t>((j << 4) | (l & 15)) ^ static_cast<std::uint8_t>(l / 16);
    }
  }
  std::array<Vector, 16> t_out;
  sxm_transpose(t_in, t_out);
  for (std::size_t i = 0; i < 16; ++i) {
    for (std::size_t s = 0; s < 20; ++s) {
      for (std::size_t j = 0; j < 16; ++j) {
        ASSERT_EQ(t_out[i][16 * s + j], t_in[j][16 * s + i]);
      }
    }
  }
  EXPECT_EQ(t_out[2][16 + 5], static_cast<std::uint8_t>(((5 << 4) | 2) ^ 1));
}

}  // namespace
}  // namespace tspemu
