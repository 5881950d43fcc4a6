// End-to-end check of the single-TSP example programs (programs/asm/*.tsa): every program runs
// through the real `tspemu run ... --dump NAME=FILE`, and every declared output is compared, bit
// for bit, with an independent reference of the same math computed here with plain loops.
//
// Independence. The inputs are regenerated from each program's own `.data` recipe with
// isa/data_init (element_bytes: the documented seeded formula of programs/ISA.md "Data
// initialisation"; that is input generation, not the math under test). The expected outputs never
// use chip/ (vxm, sxm, mxm) or exact_dot.hpp:
//   - integer math: plain int64/uint32 loops (wrap-around and saturation written out here);
//   - f16 add and multiply: formed exactly as integers (significand x 2^exponent) and rounded to
//     nearest-even by round_to_float() below, this file's own rounding code;
//   - the f16 matmul: each 320-term dot product summed exactly in a 128-bit integer (every f16 x
//   f16 product
//     is an integer multiple of 2^-48) and rounded once by round_to_float();
//   - f32 addition (the MXM's accumulation): the host's binary32 `+` (x86-64 SSE2 / AArch64: IEEE
//     round-to-nearest-even; require_ieee_host_float_environment() checks the thread's mode);
//   - TANH and EXP: common/numerics (exp/tanh_f16/f32), which tests/unit/numerics verifies against
//     independent mpmath vectors (every f16 input, and all fp32 reference rows); a transcendental
//     has no cheap exact reference of our own, and the brief of this suite allows it.
// A mismatch names the output, the element (row, column) and both values.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "common/numerics/half.hpp"
#include "common/numerics/host_float.hpp"
#include "common/numerics/transcendental.hpp"
#include "isa/assembler.hpp"
#include "isa/data_init.hpp"

namespace tspemu {
namespace {

namespace fs = std::filesystem;

constexpr int kLanes = 320;

__extension__ using Int128 = __int128;
__extension__ using UInt128 = unsigned __int128;

// ---- running a program ------------------------------------------------------------------------

// A program's inputs (from its .tsa) and the bytes of its outputs after `tspemu run`.
class ProgramRun {
 public:
  explicit ProgramRun(const std::string& name) : name_(name) {
    const fs::path source = fs::path(TSPEMU_SOURCE_DIR) / "programs" / "asm" / (name + ".tsa");
    program_ = assemble_file(source);
    const fs::path work = fs::path(E2E_WORK_DIR) / "reference" / name;
    fs::create_directories(work);
    std::string command = fmt::format(
        "cd '{}' && '{}' run programs/asm/{}.tsa --topology topologies/chip.toml --quiet",
        TSPEMU_SOURCE_DIR, TSPEMU_BINARY, name);
    std::vector<const DataSegment*> outputs;
    for (const DataSegment& d : segments()) {
      if (!d.is_output) continue;
      const fs::path file = work / (d.name + ".bin");
      fs::remove(file);
      command += fmt::format(" --dump '{}={}'", d.name, file.string());
      outputs.push_back(&d);
    }
    command += fmt::format(" > '{}' 2>&1", (work / "run.log").string());
    const int status = std::system(command.c_str());
    if (status != 0) {
      std::ifstream log(work / "run.log");
      const std::string text{std::istreambuf_iterator<char>(log), {}};
      ADD_FAILURE() << "`" << command << "` failed (status " << status << "):\n" << text;
      return;
    }
    for (const DataSegment* d : outputs) {
      std::ifstream in(work / (d->name + ".bin"), std::ios::binary);
      dumped_[d->name] = std::vector<std::uint8_t>(std::istreambuf_iterator<char>(in), {});
    }
    ran_ = true;
  }

  [[nodiscard]] bool ran() const { return ran_; }

  [[nodiscard]] const std::vector<DataSegment>& segments() const {
    return program_.tsps.at(0).data;
  }
  [[nodiscard]] const DataSegment& segment(const std::string& name) const {
    for (const DataSegment& d : segments()) {
      if (d.name == name) return d;
    }
    throw std::runtime_error(fmt::format("{}.tsa declares no data '{}'", name_, name));
  }

  // Input elements as raw little-endian bit patterns, row-major (rows x 320 lanes).
  template <class T>
  [[nodiscard]] std::vector<T> input(const std::string& name, DType dtype, int rows) const {
    const DataSegment& d = segment(name);
    EXPECT_EQ(d.dtype, dtype) << name;
    EXPECT_EQ(d.rows, rows) << name;
    EXPECT_EQ(d.columns, kLanes) << name;
    return decode<T>(element_bytes(d));
  }

  // Compares output `name` with the expected elements; reports the first difference.
  template <class T>
  void expect_output(const std::string& name, DType dtype, const std::vector<T>& expected) const {
    const DataSegment& d = segment(name);
    ASSERT_TRUE(d.is_output) << name << " is not declared with .output";
    ASSERT_EQ(d.dtype, dtype) << name;
    const auto it = dumped_.find(name);
    ASSERT_NE(it, dumped_.end()) << "no dump of " << name;
    const std::vector<T> actual = decode<T>(it->second);
    ASSERT_EQ(actual.size(), expected.size()) << name << ": element count";
    for (std::size_t i = 0; i < expected.size(); ++i) {
      if (actual[i] != expected[i]) {
        const auto digits = static_cast<int>(2 * sizeof(T));
        ADD_FAILURE() << fmt::format(
            "{}: output '{}' differs first at element [{}][{}] (index {}): expected {:#0{}x}, "
            "got {:#0{}x}",
            name_, name, i / kLanes, i % kLanes, i, static_cast<std::uint64_t>(expected[i]),
            digits + 2, static_cast<std::uint64_t>(actual[i]), digits + 2);
        return;
      }
    }
  }

 private:
  template <class T>
  static std::vector<T> decode(const std::vector<std::uint8_t>& bytes) {
    std::vector<T> out(bytes.size() / sizeof(T));
    for (std::size_t i = 0; i < out.size(); ++i) {
      std::uint64_t v = 0;
      for (std::size_t b = 0; b < sizeof(T); ++b) {
        v |= static_cast<std::uint64_t>(bytes[i * sizeof(T) + b]) << (8 * b);
      }
      out[i] = static_cast<T>(v);
    }
    return out;
  }

  std::string name_;
  Program program_;
  std::map<std::string, std::vector<std::uint8_t>> dumped_;
  bool ran_ = false;
};

// ---- this file's own floating-point rounding ---------------------------------------------------

struct FloatFormat {
  int precision;  // significand bits, hidden bit included
  int exponent_bits;
  int emin;  // exponent of the smallest normal
  int emax;
  int bias;
};
constexpr FloatFormat kF16{11, 5, -14, 15, 15};
constexpr FloatFormat kF32{24, 8, -126, 127, 127};

// The value (-1)^negative x magnitude x 2^exponent, rounded to nearest-even in format f; returns
// the bit pattern. Exact zero gives +0 or -0 as `negative` says.
std::uint32_t round_to_float(bool negative, UInt128 magnitude, int exponent, FloatFormat f) {
  const std::uint32_t sign = negative ? 1U << (f.precision + f.exponent_bits - 1) : 0U;
  if (magnitude == 0) return sign;
  int top = 127;
  while (((magnitude >> top) & 1) == 0) --top;
  const int value_exponent = top + exponent;  // value in [2^e, 2^(e+1))
  // The spacing of representable values at this magnitude (subnormals: the smallest one).
  const int quantum = std::max(value_exponent, f.emin) - (f.precision - 1);
  const int shift = quantum - exponent;
  UInt128 m = 0;
  if (shift <= 0) {
    m = magnitude << (-shift);
  } else if (shift <= 127) {
    m = magnitude >> shift;
    const UInt128 rest = magnitude - (m << shift);
    const UInt128 half = static_cast<UInt128>(1) << (shift - 1);
    if (rest > half || (rest == half && (m & 1) != 0)) ++m;
  } else if (shift == 128) {
    m = magnitude > (static_cast<UInt128>(1) << 127) ? 1 : 0;  // a tie goes to even (0)
  }  // else: below half the smallest representable step, m = 0
  int q = quantum;
  const UInt128 hidden = static_cast<UInt128>(1) << (f.precision - 1);
  if (m == hidden << 1) {  // rounded up into the next binade
    m >>= 1;
    ++q;
  }
  const std::uint32_t inf = ((1U << f.exponent_bits) - 1) << (f.precision - 1);
  if (m >= hidden) {
    const int e = q + f.precision - 1;
    if (e > f.emax) return sign | inf;
    return sign | (static_cast<std::uint32_t>(e + f.bias) << (f.precision - 1)) |
           static_cast<std::uint32_t>(m - hidden);
  }
  return sign | static_cast<std::uint32_t>(m);  // subnormal (or zero)
}

// An f16 bit pattern as (negative, significand, exponent): value = significand x 2^exponent.
struct Exact {
  bool negative = false;
  std::int64_t significand = 0;  // >= 0
  int exponent = 0;
};
Exact decode_f16(std::uint16_t bits) {
  const int e = (bits >> 10) & 0x1f;
  const int frac = bits & 0x3ff;
  EXPECT_NE(e, 0x1f) << "the programs' inputs are finite";
  if (e == 0) return {(bits & 0x8000) != 0, frac, -24};
  return {(bits & 0x8000) != 0, frac | 0x400, e - 25};
}

std::uint16_t f16_of(bool negative, UInt128 magnitude, int exponent) {
  return static_cast<std::uint16_t>(round_to_float(negative, magnitude, exponent, kF16));
}

// IEEE f16 a + b, round-to-nearest-even (finite operands).
std::uint16_t add_f16_ref(std::uint16_t a, std::uint16_t b) {
  const Exact x = decode_f16(a);
  const Exact y = decode_f16(b);
  const int e = std::min(x.exponent, y.exponent);
  const Int128 sx = static_cast<Int128>(x.negative ? -x.significand : x.significand)
                    << (x.exponent - e);
  const Int128 sy = static_cast<Int128>(y.negative ? -y.significand : y.significand)
                    << (y.exponent - e);
  const Int128 sum = sx + sy;
  if (sum == 0) {  // exact zero: -0 only for (-0) + (-0) (IEEE 754 section 6.3)
    return (x.negative && y.negative) ? 0x8000 : 0x0000;
  }
  return f16_of(sum < 0, static_cast<UInt128>(sum < 0 ? -sum : sum), e);
}

// IEEE f16 a * b, round-to-nearest-even (finite operands).
std::uint16_t mul_f16_ref(std::uint16_t a, std::uint16_t b) {
  const Exact x = decode_f16(a);
  const Exact y = decode_f16(b);
  return f16_of(x.negative != y.negative,
                static_cast<UInt128>(x.significand) * static_cast<UInt128>(y.significand),
                x.exponent + y.exponent);
}

float f32_from_bits(std::uint32_t bits) {
  return std::bit_cast<float>(bits);
}
std::uint32_t bits_of(float x) {
  return std::bit_cast<std::uint32_t>(x);
}

// ---- the programs -----------------------------------------------------------------------------

TEST(ReferenceCheck, VectorAdd) {
  const ProgramRun run("vector_add");
  ASSERT_TRUE(run.ran());
  const auto a8 = run.input<std::uint8_t>("a8", DType::i8, 4);
  const auto b8 = run.input<std::uint8_t>("b8", DType::i8, 4);
  const auto x = run.input<std::uint16_t>("x", DType::f16, 4);
  const auto y = run.input<std::uint16_t>("y", DType::f16, 4);
  const auto a16 = run.input<std::uint16_t>("a16", DType::i16, 4);
  const auto b16 = run.input<std::uint16_t>("b16", DType::i16, 4);
  std::vector<std::uint8_t> s8(a8.size());
  std::vector<std::uint16_t> z(x.size());
  std::vector<std::uint16_t> s16(a16.size());
  for (std::size_t i = 0; i < s8.size(); ++i) {
    s8[i] = static_cast<std::uint8_t>(a8[i] + b8[i]);  // modulo 2^8
  }
  for (std::size_t i = 0; i < z.size(); ++i) z[i] = add_f16_ref(x[i], y[i]);
  for (std::size_t i = 0; i < s16.size(); ++i) {
    const long sum = static_cast<long>(static_cast<std::int16_t>(a16[i])) +
                     static_cast<long>(static_cast<std::int16_t>(b16[i]));
    s16[i] = static_cast<std::uint16_t>(std::clamp(sum, -32768L, 32767L));
  }
  run.expect_output("s8", DType::i8, s8);
  run.expect_output("z", DType::f16, z);
  run.expect_output("s16", DType::i16, s16);
  // The inputs span the i16 range, so saturation must actually have happened.
  EXPECT_GT(std::count(s16.begin(), s16.end(), 0x7fff), 0);
  EXPECT_GT(std::count(s16.begin(), s16.end(), 0x8000), 0);
}

TEST(ReferenceCheck, MultiplyAccumulate) {
  const ProgramRun run("mac");
  ASSERT_TRUE(run.ran());
  const auto a16 = run.input<std::uint16_t>("a16", DType::f16, 4);
  const auto b16 = run.input<std::uint16_t>("b16", DType::f16, 4);
  const auto c16 = run.input<std::uint16_t>("c16", DType::f16, 4);
  const auto a32 = run.input<std::uint32_t>("a32", DType::i32, 4);
  const auto b32 = run.input<std::uint32_t>("b32", DType::i32, 4);
  const auto c32 = run.input<std::uint32_t>("c32", DType::i32, 4);
  std::vector<std::uint16_t> d16(a16.size());
  std::vector<std::uint32_t> d32(a32.size());
  for (std::size_t i = 0; i < d16.size(); ++i) {
    d16[i] = add_f16_ref(mul_f16_ref(a16[i], b16[i]), c16[i]);  // two roundings, no FMA
  }
  bool wrapped = false;
  for (std::size_t i = 0; i < d32.size(); ++i) {
    const std::int64_t product = static_cast<std::int64_t>(static_cast<std::int32_t>(a32[i])) *
                                 static_cast<std::int32_t>(b32[i]);
    wrapped = wrapped || product != static_cast<std::int32_t>(static_cast<std::uint32_t>(product));
    d32[i] = static_cast<std::uint32_t>(product) + c32[i];  // modulo 2^32
  }
  EXPECT_TRUE(wrapped) << "the i32 inputs are meant to overflow the product";
  run.expect_output("d16", DType::f16, d16);
  run.expect_output("d32", DType::i32, d32);
}

TEST(ReferenceCheck, Activations) {
  require_ieee_host_float_environment();
  const ProgramRun run("activations");
  ASSERT_TRUE(run.ran());
  const auto x16 = run.input<std::uint16_t>("x16", DType::f16, 4);
  const auto x32 = run.input<std::uint32_t>("x32", DType::f32, 2);
  std::vector<std::uint16_t> r16(x16.size());
  std::vector<std::uint16_t> t16(x16.size());
  std::vector<std::uint16_t> e16(x16.size());
  for (std::size_t i = 0; i < x16.size(); ++i) {
    // RELU = max(x, +0) with the first operand kept on ties (-0 stays -0); no NaNs in the data.
    const bool negative_nonzero = (x16[i] & 0x8000) != 0 && (x16[i] & 0x7fff) != 0;
    r16[i] = negative_nonzero ? 0 : x16[i];
    t16[i] = tanh_f16(Half{r16[i]}).bits;
    e16[i] = exp_f16(Half{t16[i]}).bits;
  }
  std::vector<std::uint32_t> e32(x32.size());
  for (std::size_t i = 0; i < x32.size(); ++i) {
    const bool negative_nonzero = (x32[i] & 0x80000000U) != 0 && (x32[i] & 0x7fffffffU) != 0;
    const std::uint32_t r = negative_nonzero ? 0U : x32[i];
    e32[i] = bits_of(exp_f32(tanh_f32(f32_from_bits(r))));
  }
  run.expect_output("r16", DType::f16, r16);
  run.expect_output("t16", DType::f16, t16);
  run.expect_output("e16", DType::f16, e16);
  run.expect_output("e32", DType::f32, e32);
}

TEST(ReferenceCheck, MatmulInt8) {
  const ProgramRun run("matmul_int8");
  ASSERT_TRUE(run.ran());
  // W row 32j + s is row j of data segment w<s> (the program's header explains the layout).
  std::vector<std::int8_t> w(static_cast<std::size_t>(kLanes) * kLanes);
  for (int s = 0; s < 32; ++s) {
    const auto rows = run.input<std::uint8_t>(fmt::format("w{}", s), DType::i8, 10);
    for (int j = 0; j < 10; ++j) {
      for (int n = 0; n < kLanes; ++n) {
        w[static_cast<std::size_t>((32 * j + s) * kLanes + n)] =
            static_cast<std::int8_t>(rows[static_cast<std::size_t>(j * kLanes + n)]);
      }
    }
  }
  const auto x = run.input<std::uint8_t>("x", DType::i8, 8);
  std::vector<std::uint32_t> y(static_cast<std::size_t>(8) * kLanes);
  std::vector<std::uint32_t> ysum(kLanes, 0);
  for (int i = 0; i < 8; ++i) {
    for (int n = 0; n < kLanes; ++n) {
      std::int64_t dot = 0;
      for (int k = 0; k < kLanes; ++k) {
        dot += static_cast<std::int64_t>(
                   static_cast<std::int8_t>(x[static_cast<std::size_t>(i * kLanes + k)])) *
               w[static_cast<std::size_t>(k * kLanes + n)];
      }
      y[static_cast<std::size_t>(i * kLanes + n)] = static_cast<std::uint32_t>(dot);
      ysum[static_cast<std::size_t>(n)] += static_cast<std::uint32_t>(dot);  // modulo 2^32
    }
  }
  run.expect_output("y", DType::i32, y);
  run.expect_output("ysum", DType::i32, ysum);
}

TEST(ReferenceCheck, MatmulFp16) {
  require_ieee_host_float_environment();
  const ProgramRun run("matmul_fp16");
  ASSERT_TRUE(run.ran());
  // W row 16j + s is row j of data segment wf<s>.
  std::vector<Exact> w(static_cast<std::size_t>(kLanes) * kLanes);
  for (int s = 0; s < 16; ++s) {
    const auto rows = run.input<std::uint16_t>(fmt::format("wf{}", s), DType::f16, 20);
    for (int j = 0; j < 20; ++j) {
      for (int n = 0; n < kLanes; ++n) {
        w[static_cast<std::size_t>((16 * j + s) * kLanes + n)] =
            decode_f16(rows[static_cast<std::size_t>(j * kLanes + n)]);
      }
    }
  }
  const auto x = run.input<std::uint16_t>("x", DType::f16, 4);
  std::vector<std::uint32_t> y(static_cast<std::size_t>(4) * kLanes);
  std::vector<std::uint32_t> ysum(kLanes);
  for (int i = 0; i < 4; ++i) {
    for (int n = 0; n < kLanes; ++n) {
      // Every product is an integer multiple of 2^-48 (f16 quanta are >= 2^-24) below 2^32 in
      // magnitude; 320 of them fit an Int128 with room to spare.
      Int128 dot = 0;
      bool all_negative_zero = true;
      for (int k = 0; k < kLanes; ++k) {
        const Exact a = decode_f16(x[static_cast<std::size_t>(i * kLanes + k)]);
        const Exact& b = w[static_cast<std::size_t>(k * kLanes + n)];
        const Int128 p = static_cast<Int128>(a.significand * b.significand)
                         << (a.exponent + b.exponent + 48);
        dot += a.negative != b.negative ? -p : p;
        all_negative_zero = all_negative_zero && p == 0 && a.negative != b.negative;
      }
      // An exact zero sum is +0 in round-to-nearest-even, unless every term is -0 (IEEE 754
      // section 6.3, as for a chain of additions).
      const bool negative = dot < 0 || (dot == 0 && all_negative_zero);
      const std::uint32_t bits =
          round_to_float(negative, static_cast<UInt128>(dot < 0 ? -dot : dot), -48, kF32);
      y[static_cast<std::size_t>(i * kLanes + n)] = bits;
      // acc1: the first product replaces the accumulator (clear), the rest are added in f32.
      const std::size_t lane = static_cast<std::size_t>(n);
      ysum[lane] = i == 0 ? bits : bits_of(f32_from_bits(ysum[lane]) + f32_from_bits(bits));
    }
  }
  run.expect_output("y", DType::f32, y);
  run.expect_output("ysum", DType::f32, ysum);
}

TEST(ReferenceCheck, SxmTransposePermute) {
  const ProgramRun run("sxm_transpose_permute");
  ASSERT_TRUE(run.ran());
  std::vector<std::vector<std::uint8_t>> m;
  for (int k = 0; k < 16; ++k) {
    m.push_back(run.input<std::uint8_t>(fmt::format("m{}", k), DType::i8, 2));
  }
  for (int i = 0; i < 16; ++i) {
    std::vector<std::uint8_t> tr(static_cast<std::size_t>(2) * kLanes);
    for (int r = 0; r < 2; ++r) {
      for (int s = 0; s < 20; ++s) {
        for (int j = 0; j < 16; ++j) {
          tr[static_cast<std::size_t>(r * kLanes + 16 * s + j)] =
              m[static_cast<std::size_t>(j)][static_cast<std::size_t>(r * kLanes + 16 * s + i)];
        }
      }
    }
    run.expect_output(fmt::format("tr{}", i), DType::i8, tr);
  }
  const auto p = run.input<std::uint16_t>("p", DType::i16, 2);
  std::vector<std::uint16_t> pp(p.size());
  for (int r = 0; r < 2; ++r) {
    for (int l = 0; l < kLanes; ++l) {
      const int from = (7 * l + 3) % kLanes;  // the map `perm` the program declares
      pp[static_cast<std::size_t>(r * kLanes + l)] = p[static_cast<std::size_t>(r * kLanes + from)];
    }
  }
  run.expect_output("pp", DType::i16, pp);
}

TEST(ReferenceCheck, GatherScatter) {
  const ProgramRun run("gather_scatter");
  ASSERT_TRUE(run.ran());
  constexpr int kTableBase = 0xfe0;
  constexpr int kScatterBase = 100;
  const auto t = run.input<std::uint8_t>("t", DType::i8, 64);
  const auto gmap = run.input<std::uint16_t>("gmap", DType::i16, 2);
  const auto v = run.input<std::uint8_t>("v", DType::i8, 2);
  const auto smap = run.input<std::uint16_t>("smap", DType::i16, 2);
  auto sc = run.input<std::uint8_t>("sc", DType::i8, 16);
  EXPECT_EQ(run.segment("t").at.address, kTableBase);
  EXPECT_EQ(run.segment("sc").at.address, kScatterBase);
  std::vector<std::uint8_t> g(static_cast<std::size_t>(2) * kLanes);
  for (int r = 0; r < 2; ++r) {
    for (int l = 0; l < kLanes; ++l) {
      const int row = gmap[static_cast<std::size_t>(r * kLanes + l)] - kTableBase;
      ASSERT_TRUE(row >= 0 && row < 64);
      g[static_cast<std::size_t>(r * kLanes + l)] = t[static_cast<std::size_t>(row * kLanes + l)];
    }
  }
  for (int r = 0; r < 2; ++r) {  // in program order: row 1's scatter lands after row 0's
    for (int l = 0; l < kLanes; ++l) {
      const int row = smap[static_cast<std::size_t>(r * kLanes + l)] - kScatterBase;
      ASSERT_TRUE(row >= 0 && row < 16);
      sc[static_cast<std::size_t>(row * kLanes + l)] = v[static_cast<std::size_t>(r * kLanes + l)];
    }
  }
  run.expect_output("g", DType::i8, g);
  run.expect_output("sc", DType::i8, sc);
}

// The reference rounding itself, on values whose f16/f32 encodings are known.
TEST(ReferenceCheck, OwnRoundingGoldenValues) {
  EXPECT_EQ(f16_of(false, 1, 0), 0x3c00);        // 1
  EXPECT_EQ(f16_of(true, 3, -1), 0xbe00);        // -1.5
  EXPECT_EQ(f16_of(false, 1, -24), 0x0001);      // smallest subnormal
  EXPECT_EQ(f16_of(false, 1, -25), 0x0000);      // tie: to even (zero)
  EXPECT_EQ(f16_of(false, 3, -26), 0x0001);      // 0.75 ulp: up
  EXPECT_EQ(f16_of(false, 2049, 0), 0x6800);     // 2049 -> 2048 (tie to even)
  EXPECT_EQ(f16_of(false, 2051, 0), 0x6802);     // 2051 -> 2052 (tie to even)
  EXPECT_EQ(f16_of(false, 65520, 0), 0x7c00);    // overflow to inf
  EXPECT_EQ(f16_of(false, 65519, 0), 0x7bff);    // 65504
  EXPECT_EQ(f16_of(false, 0x3ff, -24), 0x03ff);  // largest subnormal
  EXPECT_EQ(f16_of(false, 0x7ff, -25), 0x0400);  // rounds up to the smallest normal
  EXPECT_EQ(round_to_float(false, 16777217, 0, kF32), 0x4b800000U);  // 2^24 + 1 -> 2^24
  EXPECT_EQ(round_to_float(true, 1, -149, kF32), 0x80000001U);
  EXPECT_EQ(round_to_float(false, 1, 128, kF32), 0x7f800000U);
  EXPECT_EQ(add_f16_ref(0x3c00, 0xbc00), 0x0000);  // 1 + -1 = +0
  EXPECT_EQ(add_f16_ref(0x8000, 0x8000), 0x8000);  // -0 + -0 = -0
  EXPECT_EQ(mul_f16_ref(0x3e00, 0xc000), 0xc200);  // 1.5 * -2 = -3
  EXPECT_EQ(mul_f16_ref(0x0001, 0x3800), 0x0000);  // 2^-24 * 0.5: tie to even, +0
}

}  // namespace
}  // namespace tspemu
