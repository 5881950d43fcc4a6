// The reference evaluator's element-wise, reduction, cast and data-movement semantics against
// hand-computed values (docs/graph-format.md), including fp16 rounding cases and integer wrap.
#include "test_util.hpp"
#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace tspemu {
namespace {

// A one-TSP tensor with literal data: `init` is the inside of the init table, e.g.
// "values = [1, 2]" or "bits = [0x3c00]".
std::string tensor(const std::string& name, const std::string& shape, const std::string& dtype,
                   const std::string& init) {
  return "[[tensor]]\nname = \"" + name + "\"\nshape = " + shape + "\ndtype = \"" + dtype +
         "\"\nplacement = {tsp = 0}\ninit = {" + init + "}\n";
}

std::string op(const std::string& kind, const std::string& inputs, const std::string& output,
               const std::string& options = "") {
  return "[[op]]\nkind = \"" + kind + "\"\ninputs = " + inputs + "\noutput = \"" + output + "\"\n" +
         options + "\n";
}

std::string outputs(const std::string& names) {
  return "[outputs]\nnames = " + names + "\n";
}

TensorValue run(const std::string& text, const std::string& output = "y") {
  return test::eval_output(text, output, test::chip_topology());
}

// Applies a binary op to two one-row tensors and returns the result's raw elements.
template <class T>
std::vector<T> binary(const std::string& kind, const std::string& dtype, const std::string& a,
                      const std::string& b, const std::string& options = "") {
  const std::string shape = "[1, " + std::to_string(std::count(a.begin(), a.end(), ',') + 1) + "]";
  const std::string text = tensor("a", shape, dtype, a) + tensor("b", shape, dtype, b) +
                           op(kind, "[\"a\", \"b\"]", "y", options) + outputs("[\"y\"]");
  return test::values_of<T>(run(text).shards[0]);
}

template <class T>
std::vector<T> unary(const std::string& kind, const std::string& dtype, const std::string& a,
                     const std::string& options = "") {
  const std::string shape = "[1, " + std::to_string(std::count(a.begin(), a.end(), ',') + 1) + "]";
  const std::string text =
      tensor("a", shape, dtype, a) + op(kind, "[\"a\"]", "y", options) + outputs("[\"y\"]");
  return test::values_of<T>(run(text).shards[0]);
}

using I8 = std::int8_t;
using I16 = std::int16_t;
using I32 = std::int32_t;
using U16 = std::uint16_t;  // fp16 bit patterns
using U32 = std::uint32_t;  // fp32 bit patterns

// ---- integers: modulo by default, saturate = true on request ----

TEST(ElementWise, Int8AddWrapsModulo256) {
  EXPECT_EQ(binary<I8>("add", "int8", "values = [127, -128, 100, 5]", "values = [1, -1, 100, -7]"),
            (std::vector<I8>{-128, 127, -56, -2}));
}

TEST(ElementWise, Int8AddSaturates) {
  EXPECT_EQ(binary<I8>("add", "int8", "values = [127, -128, 100, 5]", "values = [1, -1, 100, -7]",
                       "saturate = true"),
            (std::vector<I8>{127, -128, 127, -2}));
}

TEST(ElementWise, Int8SubAndMul) {
  EXPECT_EQ(binary<I8>("sub", "int8", "values = [-128, 0, 50]", "values = [1, -128, -100]"),
            (std::vector<I8>{127, -128, -106}));
  EXPECT_EQ(binary<I8>("sub", "int8", "values = [-128, 0, 50]", "values = [1, -128, -100]",
                       "saturate = true"),
            (std::vector<I8>{-128, 127, 127}));
  EXPECT_EQ(binary<I8>("mul", "int8", "values = [16, -128, 11, -3]", "values = [16, -1, 12, 5]"),
            (std::vector<I8>{0, -128, -124, -15}));  // 256, 128, 132 wrap
  EXPECT_EQ(binary<I8>("mul", "int8", "values = [16, -128, 11, -3]", "values = [16, -1, 12, 5]",
                       "saturate = true"),
            (std::vector<I8>{127, 127, 127, -15}));
}

TEST(ElementWise, Int16AndInt32Wrap) {
  EXPECT_EQ(binary<I16>("add", "int16", "values = [32767, -32768]", "values = [1, -1]"),
            (std::vector<I16>{-32768, 32767}));
  EXPECT_EQ(binary<I32>("add", "int32", "values = [2147483647, -2147483648]", "values = [1, -1]"),
            (std::vector<I32>{std::numeric_limits<I32>::min(), std::numeric_limits<I32>::max()}));
  EXPECT_EQ(binary<I32>("mul", "int32", "values = [-2147483648, 65536]", "values = [-1, 65536]"),
            (std::vector<I32>{std::numeric_limits<I32>::min(), 0}));
  EXPECT_EQ(binary<I32>("mul", "int32", "values = [-2147483648, 65536]", "values = [-1, 65536]",
                        "saturate = true"),
            (std::vector<I32>{std::numeric_limits<I32>::max(), std::numeric_limits<I32>::max()}));
}

TEST(ElementWise, IntegerMinMax) {
  EXPECT_EQ(binary<I8>("min", "int8", "values = [-128, 5, 7]", "values = [127, 5, -7]"),
            (std::vector<I8>{-128, 5, -7}));
  EXPECT_EQ(binary<I8>("max", "int8", "values = [-128, 5, 7]", "values = [127, 5, -7]"),
            (std::vector<I8>{127, 5, 7}));
}

TEST(ElementWise, IntegerUnary) {
  EXPECT_EQ(unary<I8>("neg", "int8", "values = [-128, 5, 0, 127]"),
            (std::vector<I8>{-128, -5, 0, -127}));
  EXPECT_EQ(unary<I8>("abs", "int8", "values = [-128, -5, 0, 127]"),
            (std::vector<I8>{-128, 5, 0, 127}));
  EXPECT_EQ(unary<I32>("relu", "int32", "values = [-2147483648, -1, 0, 9]"),
            (std::vector<I32>{0, 0, 0, 9}));
}

// ---- fp16: every op rounds once to nearest-even in fp16 ----

TEST(ElementWise, Fp16AddRoundsToNearestEven) {
  // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to the even 1.
  // (1 + 2^-10) + 2^-11 is halfway between 1 + 2^-10 and 1 + 2^-9: ties to the even 1 + 2^-9.
  // 65504 + 16 = 65520 is halfway to 65536 (beyond fp16): overflows to +inf.
  // 1 + 3 * 2^-12 rounds up to 1 + 2^-10 (nearer).
  EXPECT_EQ(binary<U16>("add", "fp16", "bits = [0x3c00, 0x3c01, 0x7bff, 0x3c00]",
                        "bits = [0x1000, 0x1000, 0x4c00, 0x1200]"),
            (std::vector<U16>{0x3c00, 0x3c02, 0x7c00, 0x3c01}));
}

TEST(ElementWise, Fp16SubMulAndSignedZeros) {
  EXPECT_EQ(binary<U16>("sub", "fp16", "bits = [0x3c00, 0x8000, 0x7c00]",
                        "bits = [0x3c00, 0x0000, 0x7c00]"),
            (std::vector<U16>{0x0000, 0x8000, 0xfe00}));  // +0, -0, inf - inf = default NaN
  // (1 + 2^-10)^2 = 1 + 2^-9 + 2^-20 rounds to 1 + 2^-9; 2^-14 * 2^-10 = 2^-24 (smallest
  // subnormal, kept); 2^-14 * 2^-11 = 2^-25 ties to even: +0.
  EXPECT_EQ(binary<U16>("mul", "fp16", "bits = [0x3c01, 0x0400, 0x0400]",
                        "bits = [0x3c01, 0x1400, 0x1000]"),
            (std::vector<U16>{0x3c02, 0x0001, 0x0000}));
}

TEST(ElementWise, Fp16MinMaxReturnTheFirstOfEqualOperands) {
  EXPECT_EQ(binary<U16>("min", "fp16", "bits = [0x0000, 0x8000, 0x3c00]",
                        "bits = [0x8000, 0x0000, 0x7e00]"),
            (std::vector<U16>{0x0000, 0x8000, 0x7e00}));
  EXPECT_EQ(binary<U16>("max", "fp16", "bits = [0x0000, 0x8000, 0x3c00]",
                        "bits = [0x8000, 0x0000, 0xc000]"),
            (std::vector<U16>{0x0000, 0x8000, 0x3c00}));
}

TEST(ElementWise, Fp16Unary) {
  EXPECT_EQ(unary<U16>("neg", "fp16", "bits = [0x3c00, 0x0000, 0x7e00]"),
            (std::vector<U16>{0xbc00, 0x8000, 0xfe00}));
  EXPECT_EQ(unary<U16>("abs", "fp16", "bits = [0xbc00, 0x8000, 0xfe00]"),
            (std::vector<U16>{0x3c00, 0x0000, 0x7e00}));
  // relu = max(a, +0): -1 -> +0, -0 -> -0 (equal operands: the first), NaN propagates quieted.
  EXPECT_EQ(unary<U16>("relu", "fp16", "bits = [0xbc00, 0x8000, 0x4000, 0x7d00]"),
            (std::vector<U16>{0x0000, 0x8000, 0x4000, 0x7f00}));
}

TEST(ElementWise, Fp16Transcendentals) {
  // exp(0) = 1, exp(1) = 2.71875 (0x4170, correctly rounded), exp(12) overflows.
  EXPECT_EQ(unary<U16>("exp", "fp16", "values = [0.0, 1.0, 12.0, -inf]"),
            (std::vector<U16>{0x3c00, 0x4170, 0x7c00, 0x0000}));
  // rsqrt(4) = 0.5, rsqrt(0) = inf, rsqrt(-1) = canonical NaN, rsqrt(2) = 0.70703125 (0x39a8).
  EXPECT_EQ(unary<U16>("rsqrt", "fp16", "values = [4.0, 0.0, -1.0, 2.0]"),
            (std::vector<U16>{0x3800, 0x7c00, 0x7e00, 0x39a8}));
  // tanh(-0) = -0, tanh(1) = 0.76171875 (0x3a18), tanh(22) = 1.
  EXPECT_EQ(unary<U16>("tanh", "fp16", "bits = [0x8000, 0x3c00, 0x4d80]"),
            (std::vector<U16>{0x8000, 0x3a18, 0x3c00}));
}

// ---- fp32 ----

TEST(ElementWise, Fp32RoundsToNearestEven) {
  // 1 + 2^-24 ties to 1; (1 + 2^-23) + 2^-24 ties to 1 + 2^-22.
  EXPECT_EQ(binary<U32>("add", "fp32", "bits = [0x3f800000, 0x3f800001]",
                        "bits = [0x33800000, 0x33800000]"),
            (std::vector<U32>{0x3f800000, 0x3f800002}));
  EXPECT_EQ(unary<U32>("exp", "fp32", "values = [0.0]"), (std::vector<U32>{0x3f800000}));
  EXPECT_EQ(unary<U32>("rsqrt", "fp32", "values = [0.25, -0.0]"),
            (std::vector<U32>{0x40000000, 0xff800000}));
  EXPECT_EQ(unary<U32>("relu", "fp32", "values = [-3.5, 2.5]"),
            (std::vector<U32>{0x00000000, 0x40200000}));
}

// ---- broadcasting ----

TEST(ElementWise, BroadcastsSizeOneDimensions) {
  const std::string text = tensor("a", "[2, 3]", "int32", "values = [1, 2, 3, 4, 5, 6]") +
                           tensor("row", "[1, 3]", "int32", "values = [10, 20, 30]") +
                           tensor("col", "[2, 1]", "int32", "values = [100, 200]") +
                           op("add", "[\"a\", \"row\"]", "y") + op("sub", "[\"col\", \"a\"]", "z") +
                           op("mul", "[\"col\", \"row\"]", "w") + outputs("[\"y\", \"z\", \"w\"]");
  const EvalResult r = evaluate(test::load(text, test::chip_topology()));
  EXPECT_EQ(test::values_of<I32>(r.find("y")->shards[0]),
            (std::vector<I32>{11, 22, 33, 14, 25, 36}));
  EXPECT_EQ(test::values_of<I32>(r.find("z")->shards[0]),
            (std::vector<I32>{99, 98, 97, 196, 195, 194}));
  EXPECT_EQ(r.find("w")->shape, (Shape{2, 3}));
  EXPECT_EQ(test::values_of<I32>(r.find("w")->shards[0]),
            (std::vector<I32>{1000, 2000, 3000, 2000, 4000, 6000}));
}

// ---- casts ----

TEST(Cast, FloatToFloat) {
  // fp32 -> fp16: 1 + 2^-11 ties to 1; 65520 overflows; 2^-25 ties to +0; NaN keeps its payload
  // top bits.
  EXPECT_EQ(unary<U16>("cast", "fp32", "bits = [0x3f801000, 0x477ff000, 0x33000000, 0x7fc00000]",
                       "dtype = \"fp16\""),
            (std::vector<U16>{0x3c00, 0x7c00, 0x0000, 0x7e00}));
  EXPECT_EQ(unary<U32>("cast", "fp16", "bits = [0x3c01, 0x0001, 0xfc00]", "dtype = \"fp32\""),
            (std::vector<U32>{0x3f802000, 0x33800000, 0xff800000}));
}

TEST(Cast, FloatToIntRoundsToNearestEvenAndSaturates) {
  EXPECT_EQ(unary<I8>("cast", "fp16", "values = [2.5, -2.5, 3.5, -0.5, 127.5, -200.0, inf, nan]",
                      "dtype = \"int8\""),
            (std::vector<I8>{2, -2, 4, 0, 127, -128, 127, 0}));
  EXPECT_EQ(unary<I16>("cast", "fp32", "values = [1e10, -1e10, 1.5]", "dtype = \"int16\""),
            (std::vector<I16>{32767, -32768, 2}));
}

TEST(Cast, IntToFloatRoundsToNearestEven) {
  EXPECT_EQ(unary<U16>("cast", "int32", "values = [2049, 2051, 65520, -1]", "dtype = \"fp16\""),
            (std::vector<U16>{0x6800, 0x6802, 0x7c00, 0xbc00}));
  EXPECT_EQ(unary<U32>("cast", "int32", "values = [16777217, -3]", "dtype = \"fp32\""),
            (std::vector<U32>{0x4b800000, 0xc0400000}));
}

TEST(Cast, IntToIntWrapsOrSaturates) {
  EXPECT_EQ(unary<I8>("cast", "int32", "values = [300, -129, 127]", "dtype = \"int8\""),
            (std::vector<I8>{44, 127, 127}));
  EXPECT_EQ(
      unary<I8>("cast", "int32", "values = [300, -129, 127]", "dtype = \"int8\"\nsaturate = true"),
      (std::vector<I8>{127, -128, 127}));
  EXPECT_EQ(unary<I32>("cast", "int8", "values = [-128, 127]", "dtype = \"int32\""),
            (std::vector<I32>{-128, 127}));
}

// ---- reductions: the halving tree, rounded in the dtype at every step ----------------------

TEST(Reduce, Fp16SumIsTheHalvingTree) {
  // [1, 1, 1, 2048]: h = 2: 1 + 1 = 2 and 1 + 2048 = 2049 -> 2048 (fp16 spacing is 2 there, the
  // tie goes to even); h = 1: 2 + 2048 = 2050. [2048, 1, 1, 1]: 2048 + 1 -> 2048, 1 + 1 = 2;
  // 2048 + 2 = 2050. (Left folds would give 2052 and 2048.) [2048, 1, 1, 1, 1]: h = 3: 2048 + 1
  // -> 2048, 1 + 1 = 2, 1 keeps; h = 2: 2048 + 1 -> 2048, 2 keeps; h = 1: 2050. Columns (n = 2):
  // one step each.
  const std::string text =
      tensor("a", "[2, 4]", "fp16", "values = [1, 1, 1, 2048, 2048, 1, 1, 1]") +
      tensor("b", "[1, 5]", "fp16", "values = [2048, 1, 1, 1, 1]") +
      op("reduce", "[\"a\"]", "y", "op = \"sum\"\naxis = 1") +
      op("reduce", "[\"a\"]", "z", "op = \"sum\"\naxis = 0") +
      op("reduce", "[\"b\"]", "w", "op = \"sum\"\naxis = 1") + outputs("[\"y\", \"z\", \"w\"]");
  const EvalResult r = evaluate(test::load(text, test::chip_topology()));
  EXPECT_EQ(r.find("y")->shape, (Shape{2, 1}));
  EXPECT_EQ(test::half_bits(r.find("y")->shards[0]), (std::vector<U16>{0x6801, 0x6801}));
  EXPECT_EQ(r.find("z")->shape, (Shape{1, 4}));
  EXPECT_EQ(test::half_bits(r.find("z")->shards[0]),
            (std::vector<U16>{0x6800, 0x4000, 0x4000, 0x6800}));
  EXPECT_EQ(test::half_bits(r.find("w")->shards[0]), (std::vector<U16>{0x6801}));
}

TEST(Reduce, TheLastAxisCombinesTilesOf320FirstThenLanes) {
  // [1, 641]: tiles of 320, 320 and 1 element. Lane 0: x[0] = 1, x[320] = 1, x[640] = 2048;
  // tiles h = 2: 1 + 2048 -> 2048, h = 1: 2048 + 1 -> 2048. Lane 1: x[1] = 1, x[321] = 1 (tile 2
  // has no lane 1: it keeps): 2. The lanes: 2048 in lane 0 meets 2 in lane 1 only at the last
  // level: 2050. (The halving tree over the 641 elements themselves would give 2048 + (1 + 1) +
  // ... in another order; the tiles make it the chip's.)
  std::string values = "values = [";
  for (int i = 0; i < 641; ++i) {
    const int v = i == 640 ? 2048 : (i == 0 || i == 1 || i == 320 || i == 321) ? 1 : 0;
    values += (i == 0 ? "" : ", ") + std::to_string(v);
  }
  values += "]";
  EXPECT_EQ(unary<U16>("reduce", "fp16", values, "op = \"sum\"\naxis = 1"),
            (std::vector<U16>{0x6801}));
}

TEST(Reduce, SumStartsFromTheElementsNotFromZero) {
  // Every step adds two elements: a row of -0 sums to -0 (from +0 it would be +0).
  EXPECT_EQ(unary<U32>("reduce", "fp32", "bits = [0x80000000, 0x80000000, 0x80000000]",
                       "op = \"sum\"\naxis = 1"),
            (std::vector<U32>{0x80000000}));
}

TEST(Reduce, IntegerSumWrapsOrSaturates) {
  // [100, -100, 100]: h = 2: 100 + 100 = -56 (wrap) or 127 (saturating), -100 keeps; then
  // -56 - 100 = -156 -> 100 (wrap), 127 - 100 = 27.
  EXPECT_EQ(unary<I8>("reduce", "int8", "values = [100, -100, 100]", "op = \"sum\"\naxis = 1"),
            (std::vector<I8>{100}));
  EXPECT_EQ(unary<I8>("reduce", "int8", "values = [100, -100, 100]",
                      "op = \"sum\"\naxis = 1\nsaturate = true"),
            (std::vector<I8>{27}));
}

TEST(Reduce, MaxAndMinPropagateNaNAndKeepTheFirstOfEquals) {
  EXPECT_EQ(
      unary<U16>("reduce", "fp16", "bits = [0x3c00, 0x7e00, 0x4000]", "op = \"max\"\naxis = 1"),
      (std::vector<U16>{0x7e00}));
  EXPECT_EQ(unary<U16>("reduce", "fp16", "bits = [0x0000, 0x8000]", "op = \"min\"\naxis = 1"),
            (std::vector<U16>{0x0000}));
  EXPECT_EQ(unary<U16>("reduce", "fp16", "bits = [0x8000, 0x0000]", "op = \"max\"\naxis = 1"),
            (std::vector<U16>{0x8000}));
  EXPECT_EQ(unary<I16>("reduce", "int16", "values = [3, -9, 7]", "op = \"min\"\naxis = 1"),
            (std::vector<I16>{-9}));
}

TEST(Reduce, MiddleAxisOfARank3Tensor) {
  const std::string text =
      tensor("a", "[2, 3, 2]", "int32", "values = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]") +
      op("reduce", "[\"a\"]", "y", "op = \"sum\"\naxis = 1") + outputs("[\"y\"]");
  const TensorValue y = run(text);
  EXPECT_EQ(y.shape, (Shape{2, 1, 2}));
  EXPECT_EQ(test::values_of<I32>(y.shards[0]), (std::vector<I32>{9, 12, 27, 30}));
}

// ---- data movement ----

TEST(Movement, TransposeDefaultAndPermuted) {
  const std::string text =
      tensor("a", "[2, 3]", "int8", "values = [1, 2, 3, 4, 5, 6]") +
      tensor("b", "[2, 3, 2]", "int8", "values = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]") +
      op("transpose", "[\"a\"]", "at") + op("transpose", "[\"b\"]", "bt", "perm = [1, 0, 2]") +
      outputs("[\"at\", \"bt\"]");
  const EvalResult r = evaluate(test::load(text, test::chip_topology()));
  EXPECT_EQ(r.find("at")->shape, (Shape{3, 2}));
  EXPECT_EQ(test::values_of<I8>(r.find("at")->shards[0]), (std::vector<I8>{1, 4, 2, 5, 3, 6}));
  EXPECT_EQ(r.find("bt")->shape, (Shape{3, 2, 2}));
  EXPECT_EQ(test::values_of<I8>(r.find("bt")->shards[0]),
            (std::vector<I8>{0, 1, 6, 7, 2, 3, 8, 9, 4, 5, 10, 11}));
}

TEST(Movement, ReshapeSliceConcat) {
  const std::string text = tensor("a", "[2, 3]", "int16", "values = [1, 2, 3, 4, 5, 6]") +
                           tensor("b", "[2, 1]", "int16", "values = [7, 8]") +
                           op("reshape", "[\"a\"]", "r", "shape = [3, 2]") +
                           op("slice", "[\"a\"]", "s", "axis = 1\nstart = 1\nend = 3") +
                           op("concat", "[\"b\", \"a\", \"b\"]", "c", "axis = 1") +
                           op("concat", "[\"a\", \"a\"]", "c0", "axis = 0") +
                           outputs("[\"r\", \"s\", \"c\", \"c0\"]");
  const EvalResult r = evaluate(test::load(text, test::chip_topology()));
  EXPECT_EQ(r.find("r")->shape, (Shape{3, 2}));
  EXPECT_EQ(test::values_of<I16>(r.find("r")->shards[0]), (std::vector<I16>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(r.find("s")->shape, (Shape{2, 2}));
  EXPECT_EQ(test::values_of<I16>(r.find("s")->shards[0]), (std::vector<I16>{2, 3, 5, 6}));
  EXPECT_EQ(r.find("c")->shape, (Shape{2, 5}));
  EXPECT_EQ(test::values_of<I16>(r.find("c")->shards[0]),
            (std::vector<I16>{7, 1, 2, 3, 7, 8, 4, 5, 6, 8}));
  EXPECT_EQ(test::values_of<I16>(r.find("c0")->shards[0]),
            (std::vector<I16>{1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6}));
}

// ---- initial data ----

TEST(InitialData, SeededRecipeIsTheAssemblyDefinition) {
  // Golden values from programs/ISA.md ("Data initialisation"): i8 seeded(seed=7, lo=-8, hi=8)
  // starts -8, -1, 4, 3, -1, 4, -7, 7; f32 seeded(seed=16, lo=-1.5, hi=2) starts 0xbe5daaa0,
  // 0xbf9c6261.
  const std::string text =
      tensor("a", "[2, 4]", "int8", "recipe = \"uniform\", seed = 7, lo = -8, hi = 8") +
      tensor("b", "[2]", "fp32", "recipe = \"uniform\", seed = 16, lo = -1.5, hi = 2") +
      outputs("[\"a\", \"b\"]");
  const EvalResult r = evaluate(test::load(text, test::chip_topology()));
  EXPECT_EQ(test::values_of<I8>(r.find("a")->shards[0]),
            (std::vector<I8>{-8, -1, 4, 3, -1, 4, -7, 7}));
  EXPECT_EQ(test::float_bits(r.find("b")->shards[0]), (std::vector<U32>{0xbe5daaa0, 0xbf9c6261}));
}

TEST(InitialData, ZeroRecipeAndLiteralFloatsRoundOnce) {
  // 1.00048828125 = 1 + 2^-11 is a tie: 1.0 (even); 0.1 -> 0x2e66; 1e-8 underflows to +0.
  const std::string text = tensor("z", "[3]", "int32", "recipe = \"zero\"") +
                           tensor("h", "[3]", "fp16", "values = [1.00048828125, 0.1, 1e-8]") +
                           outputs("[\"z\", \"h\"]");
  const EvalResult r = evaluate(test::load(text, test::chip_topology()));
  EXPECT_EQ(test::values_of<I32>(r.find("z")->shards[0]), (std::vector<I32>{0, 0, 0}));
  EXPECT_EQ(test::half_bits(r.find("h")->shards[0]), (std::vector<U16>{0x3c00, 0x2e66, 0x0000}));
}

TEST(Determinism, RepeatedEvaluationGivesTheSameDigest) {
  const std::string text =
      tensor("a", "[8, 330]", "fp16", "recipe = \"uniform\", lo = -2, hi = 2") +
      tensor("b", "[330, 9]", "fp16", "recipe = \"uniform\", lo = -2, hi = 2") +
      op("matmul", "[\"a\", \"b\"]", "c") + op("exp", "[\"c\"]", "y") + outputs("[\"c\", \"y\"]");
  const Graph g = test::load(text, test::chip_topology());
  const Digest128 first = evaluate(g).digest();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(evaluate(g).digest(), first);
  EXPECT_EQ(evaluate(test::load(text, test::chip_topology())).digest(), first);
}

}  // namespace
}  // namespace tspemu
