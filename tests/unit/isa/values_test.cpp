#include "isa/detail/values.hpp"

#include <gtest/gtest.h>

#include "isa/data_init.hpp"

namespace tspemu::detail {
namespace {

std::uint64_t bits_of(std::string_view text, DType t) {
  const ParsedElement p = parse_element(text, t, "value");
  EXPECT_TRUE(p.ok) << text << ": " << p.problem;
  return p.bits;
}

std::string problem_of(std::string_view text, DType t) {
  const ParsedElement p = parse_element(text, t, std::string("value ") + std::string(text));
  EXPECT_FALSE(p.ok) << text;
  return p.problem;
}

TEST(Values, Integers) {
  EXPECT_EQ(bits_of("-128", DType::i8), 0x80U);
  EXPECT_EQ(bits_of("127", DType::i8), 0x7fU);
  EXPECT_EQ(bits_of("+5", DType::i8), 5U);
  EXPECT_EQ(bits_of("0xff", DType::i8), 0xffU);  // hex is a bit pattern
  EXPECT_EQ(bits_of("255", DType::u8), 0xffU);
  EXPECT_EQ(bits_of("-1", DType::i16), 0xffffU);
  EXPECT_EQ(bits_of("-2147483648", DType::i32), 0x80000000U);
  EXPECT_EQ(problem_of("128", DType::i8), "value 128 out of range -128..127 for i8");
  EXPECT_EQ(problem_of("-1", DType::u8), "value -1 out of range 0..255 for u8");
  EXPECT_EQ(problem_of("99999999999999999999", DType::i32),
            "value 99999999999999999999 out of range -2147483648..2147483647 for i32");
  EXPECT_EQ(problem_of("0x1ff", DType::u8), "value 0x1ff does not fit in u8 (0x0..0xff)");
  EXPECT_EQ(problem_of("1.5", DType::i8), "value 1.5 is not an integer (i8)");
  EXPECT_EQ(problem_of("1e2", DType::i8), "value 1e2 is not an integer (i8)");
  EXPECT_EQ(problem_of("inf", DType::i8), "value inf is not an integer (i8)");
  EXPECT_EQ(problem_of("12x", DType::i8), "value 12x is not a number");
  EXPECT_EQ(problem_of("0x", DType::i8), "value 0x is not a number");
  EXPECT_EQ(problem_of("1.", DType::f16), "value 1. is not a number");
}

TEST(Values, HalfRoundsOnceToNearestEven) {
  EXPECT_EQ(bits_of("1", DType::f16), 0x3c00U);
  EXPECT_EQ(bits_of("1.5", DType::f16), 0x3e00U);
  EXPECT_EQ(bits_of("-2", DType::f16), 0xc000U);
  EXPECT_EQ(bits_of("-0", DType::f16), 0x8000U);
  EXPECT_EQ(bits_of("65504", DType::f16), 0x7bffU);
  EXPECT_EQ(bits_of("65519", DType::f16), 0x7bffU);
  EXPECT_EQ(bits_of("65520", DType::f16), 0x7c00U);  // the tie goes to the even "inf"
  EXPECT_EQ(bits_of("65519.99999999999999999999", DType::f16), 0x7bffU);
  EXPECT_EQ(bits_of("1e6", DType::f16), 0x7c00U);
  EXPECT_EQ(bits_of("5.960464477539063e-8", DType::f16), 0x0001U);    // smallest subnormal
  EXPECT_EQ(bits_of("2.98023223876953125e-8", DType::f16), 0x0000U);  // exactly half of it: even
  EXPECT_EQ(bits_of("2.98023223876953126e-8", DType::f16), 0x0001U);
  EXPECT_EQ(bits_of("1e-30", DType::f16), 0x0000U);
  EXPECT_EQ(bits_of("inf", DType::f16), 0x7c00U);
  EXPECT_EQ(bits_of("-inf", DType::f16), 0xfc00U);
  EXPECT_EQ(bits_of("nan", DType::f16), 0x7e00U);
  EXPECT_EQ(bits_of("0x7e01", DType::f16), 0x7e01U);
  // 1 + 2^-11 is halfway between 1 and 1 + 2^-10. A decimal a hair above it is nearest to the
  // halfway point as a double, so converting through double would tie to even (1.0): wrong.
  EXPECT_EQ(bits_of("1.00048828125", DType::f16), 0x3c00U);
  EXPECT_EQ(bits_of("1.00048828125000000000000001", DType::f16), 0x3c01U);
  EXPECT_EQ(bits_of("1.00048828124999999999999999", DType::f16), 0x3c00U);
  EXPECT_EQ(bits_of("1.00146484375", DType::f16), 0x3c02U);  // tie between 0x3c01 and 0x3c02
  EXPECT_EQ(bits_of("-1.00048828125000000000000001", DType::f16), 0xbc01U);
  EXPECT_EQ(bits_of("65520.000000000000000000001", DType::f16), 0x7c00U);
  EXPECT_EQ(bits_of("65519.999999999999999999999", DType::f16), 0x7bffU);
}

TEST(Values, FloatRoundsOnceToNearestEven) {
  EXPECT_EQ(bits_of("0.1", DType::f32), 0x3dcccccdU);
  EXPECT_EQ(bits_of("3.4028235e38", DType::f32), 0x7f7fffffU);
  EXPECT_EQ(bits_of("1e39", DType::f32), 0x7f800000U);
  EXPECT_EQ(bits_of("-1e39", DType::f32), 0xff800000U);
  EXPECT_EQ(bits_of("1e-50", DType::f32), 0x00000000U);
  EXPECT_EQ(bits_of("1.4e-45", DType::f32), 0x00000001U);
  EXPECT_EQ(bits_of("-0", DType::f32), 0x80000000U);
  EXPECT_EQ(bits_of("nan", DType::f32), 0x7fc00000U);
  EXPECT_EQ(bits_of("16777217", DType::f32), 0x4b800000U);  // 2^24 + 1 ties to even 2^24
  EXPECT_EQ(bits_of("16777217.000001", DType::f32), 0x4b800001U);
}

TEST(Values, EveryHalfPrintsAndReadsBackExactly) {
  for (std::uint32_t bits = 0; bits <= 0xffff; ++bits) {
    const std::string text = format_element(bits, DType::f16);
    const ParsedElement back = parse_element(text, DType::f16, "x");
    ASSERT_TRUE(back.ok) << text;
    ASSERT_EQ(back.bits, bits) << text;
  }
  EXPECT_EQ(format_element(0x7bff, DType::f16), "65504");
  EXPECT_EQ(format_element(0x3e00, DType::f16), "1.5");
  EXPECT_EQ(format_element(0x2e66, DType::f16), "0.1");
  EXPECT_EQ(format_element(0x8000, DType::f16), "-0");
  EXPECT_EQ(format_element(0xfc00, DType::f16), "-inf");
  EXPECT_EQ(format_element(0x7e00, DType::f16), "0x7e00");
}

TEST(Values, SampledFloatsPrintAndReadBackExactly) {
  for (std::uint64_t i = 0; i < 200000; ++i) {
    const auto bits = static_cast<std::uint32_t>(splitmix64_at(99, i));
    const std::string text = format_element(bits, DType::f32);
    const ParsedElement back = parse_element(text, DType::f32, "x");
    ASSERT_TRUE(back.ok) << text;
    ASSERT_EQ(back.bits, bits) << text;
  }
  EXPECT_EQ(format_element(0x3dcccccd, DType::f32), "0.1");
  EXPECT_EQ(format_element(0x7f800000, DType::f32), "inf");
}

TEST(Values, EveryIntegerPrintsAndReadsBack) {
  for (DType t : {DType::i8, DType::u8, DType::i16}) {
    const std::uint32_t count = dtype_bytes(t) == 1 ? 0x100 : 0x10000;
    for (std::uint32_t bits = 0; bits < count; ++bits) {
      ASSERT_EQ(bits_of(format_element(bits, t), t), bits);
    }
  }
  EXPECT_EQ(format_element(0xff, DType::i8), "-1");
  EXPECT_EQ(format_element(0xff, DType::u8), "255");
  EXPECT_EQ(format_element(0x80000000, DType::i32), "-2147483648");
}

TEST(Values, IntegersAndDoubles) {
  EXPECT_EQ(parse_integer("0x1F"), 31);
  EXPECT_EQ(parse_integer("-12"), -12);
  EXPECT_EQ(parse_integer("+12"), 12);
  EXPECT_EQ(parse_integer("1_000"), std::nullopt);
  EXPECT_EQ(parse_integer("-0x1"), std::nullopt);
  EXPECT_EQ(parse_integer("99999999999999999999"), std::nullopt);
  EXPECT_EQ(parse_u64("0xffffffffffffffff"), 0xffffffffffffffffULL);
  EXPECT_EQ(parse_u64("-1"), std::nullopt);
  EXPECT_EQ(parse_double("-2.5e-1"), -0.25);
  EXPECT_EQ(parse_double("inf"), std::nullopt);
}

}  // namespace
}  // namespace tspemu::detail
