#include "chip/vxm.hpp"

#include <algorithm>
#include <bit>
#include <limits>
#include <type_traits>

#include "common/error.hpp"
#include "common/numerics/convert.hpp"
#include "common/numerics/float_ops.hpp"
#include "common/numerics/half.hpp"
#include "common/numerics/integer_ops.hpp"
#include "common/numerics/transcendental.hpp"

namespace tspemu {

namespace {

// ---- element bits <-> values ------------------------------------------------------------------

template <class T>
T from_bits(std::uint32_t bits) {
  if constexpr (std::is_same_v<T, Half>) {
    return Half{static_cast<std::uint16_t>(bits)};
  } else if constexpr (std::is_same_v<T, float>) {
    return std::bit_cast<float>(bits);
  } else {
    return static_cast<T>(static_cast<std::make_unsigned_t<T>>(bits));
  }
}

template <class T>
std::uint32_t to_bits(T value) {
  if constexpr (std::is_same_v<T, Half>) {
    return value.bits;
  } else if constexpr (std::is_same_v<T, float>) {
    return std::bit_cast<std::uint32_t>(value);
  } else {
    return static_cast<std::make_unsigned_t<T>>(value);
  }
}

template <class T>
constexpr int width_of() {
  return static_cast<int>(sizeof(T));
}

template <class T>
constexpr bool is_float_type = std::is_same_v<T, Half> || std::is_same_v<T, float>;

template <class T>
constexpr std::uint32_t all_ones() {
  return sizeof(T) == 4 ? 0xffffffffU : ((1U << (8 * sizeof(T))) - 1U);
}

// Calls f.template operator()<T>() for the element type.
template <class F>
decltype(auto) dispatch(DType t, F&& f) {
  switch (t) {
    case DType::i8:
      return f.template operator()<std::int8_t>();
    case DType::u8:
      return f.template operator()<std::uint8_t>();
    case DType::i16:
      return f.template operator()<std::int16_t>();
    case DType::i32:
      return f.template operator()<std::int32_t>();
    case DType::f16:
      return f.template operator()<Half>();
    case DType::f32:
      return f.template operator()<float>();
    case DType::none:
      break;
  }
  TSPEMU_ASSERT(false, "VXM op without an element type");
  return f.template operator()<std::int8_t>();
}

// ---- u8 arithmetic (numerics covers the signed lane types) -------------------------------------

std::uint8_t u8_clamp(int v) {
  return static_cast<std::uint8_t>(std::clamp(v, 0, 255));
}

// ---- per-type element functions ----------------------------------------------------------------

template <class T>
T arith(Opcode opcode, bool saturate, T a, T b) {
  if constexpr (std::is_same_v<T, Half>) {
    switch (opcode) {
      case Opcode::add:
        return add_f16(a, b);
      case Opcode::sub:
        return sub_f16(a, b);
      case Opcode::mul:
        return mul_f16(a, b);
      case Opcode::min:
        return min_f16(a, b);
      case Opcode::max:
        return max_f16(a, b);
      default:
        break;
    }
  } else if constexpr (std::is_same_v<T, float>) {
    switch (opcode) {
      case Opcode::add:
        return add_f32(a, b);
      case Opcode::sub:
        return sub_f32(a, b);
      case Opcode::mul:
        return mul_f32(a, b);
      case Opcode::min:
        return min_f32(a, b);
      case Opcode::max:
        return max_f32(a, b);
      default:
        break;
    }
  } else if constexpr (std::is_same_v<T, std::uint8_t>) {
    const int x = a;
    const int y = b;
    switch (opcode) {
      case Opcode::add:
        return saturate ? u8_clamp(x + y) : static_cast<std::uint8_t>(x + y);
      case Opcode::sub:
        return saturate ? u8_clamp(x - y) : static_cast<std::uint8_t>(x - y);
      case Opcode::mul:
        return saturate ? u8_clamp(x * y) : static_cast<std::uint8_t>(x * y);
      case Opcode::min:
        return std::min(a, b);
      case Opcode::max:
        return std::max(a, b);
      case Opcode::bit_and:
        return static_cast<std::uint8_t>(a & b);
      case Opcode::bit_or:
        return static_cast<std::uint8_t>(a | b);
      case Opcode::bit_xor:
        return static_cast<std::uint8_t>(a ^ b);
      case Opcode::shl:
        return b >= 8 ? std::uint8_t{0} : static_cast<std::uint8_t>(x << y);
      case Opcode::shr:
        return b >= 8 ? std::uint8_t{0} : static_cast<std::uint8_t>(x >> y);
      default:
        break;
    }
  } else {
    using U = std::make_unsigned_t<T>;
    switch (opcode) {
      case Opcode::add:
        return saturate ? add_sat(a, b) : add_wrap(a, b);
      case Opcode::sub:
        return saturate ? sub_sat(a, b) : sub_wrap(a, b);
      case Opcode::mul:
        return saturate ? mul_sat(a, b) : mul_wrap(a, b);
      case Opcode::min:
        return std::min(a, b);
      case Opcode::max:
        return std::max(a, b);
      case Opcode::bit_and:
        return static_cast<T>(static_cast<U>(a) & static_cast<U>(b));
      case Opcode::bit_or:
        return static_cast<T>(static_cast<U>(a) | static_cast<U>(b));
      case Opcode::bit_xor:
        return static_cast<T>(static_cast<U>(a) ^ static_cast<U>(b));
      case Opcode::shl:
        return shift_left(a, static_cast<U>(b));
      case Opcode::shr:
        return shift_right_arithmetic(a, static_cast<U>(b));
      default:
        break;
    }
  }
  TSPEMU_ASSERT(false, "VXM binary op/type combination the assembler should have rejected");
  return a;
}

template <class T>
bool compare(Opcode opcode, T a, T b) {
  if constexpr (std::is_same_v<T, Half>) {
    return compare(opcode, half_to_float(a), half_to_float(b));
  } else {
    switch (opcode) {
      case Opcode::cmp_eq:
        return a == b;
      case Opcode::cmp_lt:
        return a < b;
      case Opcode::cmp_le:
        return a <= b;
      default:
        break;
    }
    TSPEMU_ASSERT(false, "not a compare");
    return false;
  }
}

template <class T>
T unary(Opcode opcode, T a) {
  if constexpr (is_float_type<T>) {
    constexpr std::uint32_t kSign = sizeof(T) == 2 ? 0x8000U : 0x80000000U;
    switch (opcode) {
      case Opcode::neg:
        return from_bits<T>(to_bits(a) ^ kSign);
      case Opcode::abs:
        return from_bits<T>(to_bits(a) & ~kSign);
      case Opcode::relu:
        if constexpr (std::is_same_v<T, Half>) {
          return max_f16(a, kHalfPositiveZero);
        } else {
          return max_f32(a, 0.0F);
        }
      case Opcode::tanh:
        if constexpr (std::is_same_v<T, Half>) {
          return tanh_f16(a);
        } else {
          return tanh_f32(a);
        }
      case Opcode::exp:
        if constexpr (std::is_same_v<T, Half>) {
          return exp_f16(a);
        } else {
          return exp_f32(a);
        }
      case Opcode::rsqrt:
        if constexpr (std::is_same_v<T, Half>) {
          return rsqrt_f16(a);
        } else {
          return rsqrt_f32(a);
        }
      case Opcode::mov:
        return a;
      default:
        break;
    }
  } else {
    using U = std::make_unsigned_t<T>;
    switch (opcode) {
      case Opcode::neg:
        return static_cast<T>(static_cast<U>(U{0} - static_cast<U>(a)));
      case Opcode::abs:
        if constexpr (std::is_signed_v<T>) {
          return a < 0 ? static_cast<T>(static_cast<U>(U{0} - static_cast<U>(a))) : a;
        } else {
          return a;
        }
      case Opcode::bit_not:
        return static_cast<T>(static_cast<U>(~static_cast<U>(a)));
      case Opcode::relu:
        if constexpr (std::is_signed_v<T>) {
          return a < 0 ? T{0} : a;
        } else {
          return a;
        }
      case Opcode::mov:
        return a;
      default:
        break;
    }
  }
  TSPEMU_ASSERT(false, "VXM unary op/type combination the assembler should have rejected");
  return a;
}

// ---- conversions ------------------------------------------------------------------------------

// A value of an integer type, exactly, as int64.
template <class S>
std::int64_t int_value(S v) {
  return static_cast<std::int64_t>(v);
}

template <class D>
D int_to_int(std::int64_t v, bool saturate) {
  if (saturate) {
    return static_cast<D>(
        std::clamp<std::int64_t>(v, std::numeric_limits<D>::min(), std::numeric_limits<D>::max()));
  }
  return static_cast<D>(static_cast<std::make_unsigned_t<D>>(static_cast<std::uint64_t>(v)));
}

template <class D>
D float_to_integer(float x) {
  if constexpr (std::is_same_v<D, std::uint8_t>) {
    return u8_clamp(float_to_int<std::int16_t>(x));
  } else {
    return float_to_int<D>(x);
  }
}

template <class D, class S>
D convert(S a, bool saturate) {
  if constexpr (std::is_same_v<D, S>) {
    return a;
  } else if constexpr (!is_float_type<D> && !is_float_type<S>) {
    return int_to_int<D>(int_value(a), saturate);
  } else if constexpr (is_float_type<D> && !is_float_type<S>) {
    // u8 values are exact in int16; i8/i16/i32 go straight to the numerics routines.
    using Wide = std::conditional_t<std::is_same_v<S, std::uint8_t>, std::int16_t, S>;
    if constexpr (std::is_same_v<D, Half>) {
      return int_to_half(static_cast<Wide>(a));
    } else {
      return int_to_float(static_cast<Wide>(a));
    }
  } else if constexpr (!is_float_type<D> && is_float_type<S>) {
    if constexpr (std::is_same_v<S, Half>) {
      return float_to_integer<D>(half_to_float(a));  // exact widening, then one rounding
    } else {
      return float_to_integer<D>(a);
    }
  } else if constexpr (std::is_same_v<D, float>) {
    return half_to_float(a);
  } else {
    return float_to_half(a);
  }
}

}  // namespace

int vxm_operand_count(Opcode opcode) {
  switch (opcode) {
    case Opcode::select:
      return 3;
    case Opcode::neg:
    case Opcode::abs:
    case Opcode::bit_not:
    case Opcode::relu:
    case Opcode::tanh:
    case Opcode::exp:
    case Opcode::rsqrt:
    case Opcode::mov:
    case Opcode::cvt:
      return 1;
    default:
      return 2;
  }
}

namespace {

// Lanes as whole elements: byte planes are joined once per operand and split once for the result,
// so the element loops below are straight loops over 320 values (which the compiler vectorises for
// the integer and float cases) instead of assembling every element from its planes.
using Lanes = std::array<std::uint32_t, kVectorBytes>;

void unpack(const VectorGroup& g, Lanes& out) {
  const auto& p0 = g.planes[0].bytes;
  switch (g.count) {
    case 1:
      for (std::size_t l = 0; l < kVectorBytes; ++l) out[l] = p0[l];
      return;
    case 2: {
      const auto& p1 = g.planes[1].bytes;
      for (std::size_t l = 0; l < kVectorBytes; ++l) {
        out[l] = static_cast<std::uint32_t>(p0[l]) | (static_cast<std::uint32_t>(p1[l]) << 8);
      }
      return;
    }
    default: {
      const auto& p1 = g.planes[1].bytes;
      const auto& p2 = g.planes[2].bytes;
      const auto& p3 = g.planes[3].bytes;
      for (std::size_t l = 0; l < kVectorBytes; ++l) {
        out[l] = static_cast<std::uint32_t>(p0[l]) | (static_cast<std::uint32_t>(p1[l]) << 8) |
                 (static_cast<std::uint32_t>(p2[l]) << 16) |
                 (static_cast<std::uint32_t>(p3[l]) << 24);
      }
      return;
    }
  }
}

void pack(const Lanes& in, VectorGroup& g) {
  for (int b = 0; b < g.count; ++b) {
    auto& plane = g.planes[static_cast<std::size_t>(b)].bytes;
    const int shift = 8 * b;
    for (std::size_t l = 0; l < kVectorBytes; ++l) {
      plane[l] = static_cast<std::uint8_t>(in[l] >> shift);
    }
  }
}

// One loop per opcode: the opcode is a template argument, so each loop body is the one operation.
template <Opcode O, class T>
void binary_lanes(bool saturate, const Lanes& a, const Lanes& b, Lanes& out) {
  for (std::size_t l = 0; l < kVectorBytes; ++l) {
    out[l] = to_bits(arith(O, saturate, from_bits<T>(a[l]), from_bits<T>(b[l])));
  }
}

template <Opcode O, class T>
void unary_lanes(const Lanes& a, Lanes& out) {
  for (std::size_t l = 0; l < kVectorBytes; ++l) out[l] = to_bits(unary(O, from_bits<T>(a[l])));
}

template <Opcode O, class T>
void compare_lanes(const Lanes& a, const Lanes& b, Lanes& out) {
  for (std::size_t l = 0; l < kVectorBytes; ++l) {
    out[l] = compare(O, from_bits<T>(a[l]), from_bits<T>(b[l])) ? all_ones<T>() : 0U;
  }
}

}  // namespace

VectorGroup vxm_compute(const VxmOp& op, std::span<const VectorGroup* const> operands) {
  TSPEMU_ASSERT(static_cast<int>(operands.size()) == vxm_operand_count(op.opcode),
                "VXM operand count");
  VectorGroup result;
  result.count = dtype_bytes(op.dtype);
  TSPEMU_ASSERT(result.count > 0, "VXM op without an element type");
  std::array<Lanes, 3> in;
  for (std::size_t i = 0; i < operands.size(); ++i) unpack(*operands[i], in[i]);
  Lanes out;
  if (op.opcode == Opcode::cvt) {
    dispatch(op.dtype, [&]<class D>() {
      dispatch(op.src_dtype, [&]<class S>() {
        for (std::size_t l = 0; l < kVectorBytes; ++l) {
          out[l] = to_bits(convert<D, S>(from_bits<S>(in[0][l]), op.saturate));
        }
      });
    });
    pack(out, result);
    return result;
  }
  dispatch(op.dtype, [&]<class T>() {
    switch (op.opcode) {
      case Opcode::cmp_eq:
        return compare_lanes<Opcode::cmp_eq, T>(in[0], in[1], out);
      case Opcode::cmp_lt:
        return compare_lanes<Opcode::cmp_lt, T>(in[0], in[1], out);
      case Opcode::cmp_le:
        return compare_lanes<Opcode::cmp_le, T>(in[0], in[1], out);
      case Opcode::select:
        for (std::size_t l = 0; l < kVectorBytes; ++l) out[l] = in[0][l] != 0 ? in[1][l] : in[2][l];
        return;
      case Opcode::neg:
        return unary_lanes<Opcode::neg, T>(in[0], out);
      case Opcode::abs:
        return unary_lanes<Opcode::abs, T>(in[0], out);
      case Opcode::bit_not:
        return unary_lanes<Opcode::bit_not, T>(in[0], out);
      case Opcode::relu:
        return unary_lanes<Opcode::relu, T>(in[0], out);
      case Opcode::tanh:
        return unary_lanes<Opcode::tanh, T>(in[0], out);
      case Opcode::exp:
        return unary_lanes<Opcode::exp, T>(in[0], out);
      case Opcode::rsqrt:
        return unary_lanes<Opcode::rsqrt, T>(in[0], out);
      case Opcode::mov:
        return unary_lanes<Opcode::mov, T>(in[0], out);
      case Opcode::add:
        return binary_lanes<Opcode::add, T>(op.saturate, in[0], in[1], out);
      case Opcode::sub:
        return binary_lanes<Opcode::sub, T>(op.saturate, in[0], in[1], out);
      case Opcode::mul:
        return binary_lanes<Opcode::mul, T>(op.saturate, in[0], in[1], out);
      case Opcode::min:
        return binary_lanes<Opcode::min, T>(op.saturate, in[0], in[1], out);
      case Opcode::max:
        return binary_lanes<Opcode::max, T>(op.saturate, in[0], in[1], out);
      default:
        // The remaining two-operand ops (bitwise, shifts): arith decides per element.
        for (std::size_t l = 0; l < kVectorBytes; ++l) {
          out[l] = to_bits(
              arith(op.opcode, op.saturate, from_bits<T>(in[0][l]), from_bits<T>(in[1][l])));
        }
        return;
    }
  });
  pack(out, result);
  return result;
}

}  // namespace tspemu
