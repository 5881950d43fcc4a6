#include "isa/detail/values.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstdio>
#include <limits>

#include "common/numerics/half.hpp"
#include "isa/op_table.hpp"

namespace tspemu::detail {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// A decimal number normalised to 0.d1d2d3... x 10^exponent with d1 != 0 (digits empty: zero).
struct Decimal {
  bool negative = false;
  bool integral = true;  // no fraction part and no exponent in the text
  std::string digits;
  std::int64_t exponent = 0;
};

// Strict decimal grammar: [+-]? D+ ( . D+ )? ( [eE] [+-]? D+ )?
std::optional<Decimal> parse_decimal(std::string_view text) {
  Decimal d;
  std::size_t i = 0;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) d.negative = text[i++] == '-';
  const std::size_t int_begin = i;
  while (i < text.size() && is_digit(text[i])) ++i;
  if (i == int_begin) return std::nullopt;
  std::string_view int_part = text.substr(int_begin, i - int_begin);
  std::string_view frac_part;
  if (i < text.size() && text[i] == '.') {
    const std::size_t frac_begin = ++i;
    while (i < text.size() && is_digit(text[i])) ++i;
    if (i == frac_begin) return std::nullopt;
    frac_part = text.substr(frac_begin, i - frac_begin);
    d.integral = false;
  }
  std::int64_t exp10 = 0;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool exp_negative = false;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) exp_negative = text[i++] == '-';
    const std::size_t exp_begin = i;
    while (i < text.size() && is_digit(text[i])) {
      // Saturate: beyond 10^9 every value is 0 or infinite for our types.
      if (exp10 < 1'000'000'000) exp10 = exp10 * 10 + (text[i] - '0');
      ++i;
    }
    if (i == exp_begin) return std::nullopt;
    if (exp_negative) exp10 = -exp10;
    d.integral = false;
  }
  if (i != text.size()) return std::nullopt;
  std::string all = std::string(int_part) + std::string(frac_part);
  const auto first = all.find_first_not_of('0');
  if (first == std::string::npos) return d;  // zero
  const auto last = all.find_last_not_of('0');
  d.digits = all.substr(first, last - first + 1);
  // all = int_part frac_part; value = 0.all x 10^(int_part.size()); dropping `first` leading
  // zeros moves the point left.
  d.exponent =
      static_cast<std::int64_t>(int_part.size()) - static_cast<std::int64_t>(first) + exp10;
  return d;
}

// Compares magnitudes: <0, 0, >0.
int compare_magnitude(const Decimal& a, const Decimal& b) {
  if (a.digits.empty() || b.digits.empty()) {
    return static_cast<int>(!a.digits.empty()) - static_cast<int>(!b.digits.empty());
  }
  if (a.exponent != b.exponent) return a.exponent < b.exponent ? -1 : 1;
  const int c = a.digits.compare(b.digits);  // trailing zeros stripped: lexicographic is numeric
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

// The exact decimal expansion of a finite double (every double is a terminating decimal).
Decimal exact_decimal(double value) {
  char buffer[1200];
  std::snprintf(buffer, sizeof buffer, "%.1100e", value);
  auto parsed = parse_decimal(buffer);
  TSPEMU_ASSERT(parsed.has_value(), "snprintf produced an unparseable number");
  return *parsed;
}

double f16_magnitude_value(std::uint16_t magnitude_bits) {
  // 0x7c00 stands for 2^16 here: the "next value" after 65504 when deciding overflow ties.
  if (magnitude_bits >= 0x7c00) return 65536.0;
  return half_to_double(Half{magnitude_bits});
}

std::uint16_t decimal_to_half(const Decimal& decimal, std::string_view text) {
  const std::uint16_t sign = decimal.negative ? 0x8000 : 0;
  if (decimal.digits.empty()) return sign;
  if (decimal.exponent > 6) return sign | 0x7c00;  // >= 10^6: infinite
  if (decimal.exponent < -12) return sign;         // < 10^-12: far below 2^-25
  std::string unsigned_text(text);
  if (!unsigned_text.empty() && (unsigned_text[0] == '+' || unsigned_text[0] == '-')) {
    unsigned_text.erase(0, 1);
  }
  double magnitude = 0.0;
  const auto [end, ec] =
      std::from_chars(unsigned_text.data(), unsigned_text.data() + unsigned_text.size(), magnitude);
  TSPEMU_ASSERT(ec == std::errc{} && end == unsigned_text.data() + unsigned_text.size(),
                "from_chars rejected a checked decimal");
  const std::uint16_t nearest = double_to_half(magnitude).bits;
  const double nearest_value = f16_magnitude_value(nearest);
  if (nearest_value == magnitude) return sign | nearest;
  const int other = nearest_value < magnitude ? nearest + 1 : nearest - 1;
  if (other < 0 || other > 0x7c00) return sign | nearest;
  const auto other_bits = static_cast<std::uint16_t>(other);
  const double midpoint = (nearest_value + f16_magnitude_value(other_bits)) / 2;
  if (midpoint != magnitude) return sign | nearest;
  // The double is exactly halfway between two f16 values; the decimal may not be.
  const int c = compare_magnitude(decimal, exact_decimal(midpoint));
  if (c == 0) return sign | nearest;  // a true tie: double_to_half chose the even one
  const std::uint16_t lower_bits = std::min(nearest, other_bits);
  const std::uint16_t upper_bits = std::max(nearest, other_bits);
  return sign | (c > 0 ? upper_bits : lower_bits);
}

std::uint32_t decimal_to_float_bits(const Decimal& decimal, std::string_view text) {
  const std::uint32_t sign = decimal.negative ? 0x80000000U : 0U;
  if (decimal.digits.empty()) return sign;
  if (decimal.exponent > 40) return sign | 0x7f800000U;
  if (decimal.exponent < -60) return sign;
  std::string unsigned_text(text);
  if (!unsigned_text.empty() && (unsigned_text[0] == '+' || unsigned_text[0] == '-')) {
    unsigned_text.erase(0, 1);
  }
  float magnitude = 0.0F;
  const auto [end, ec] =
      std::from_chars(unsigned_text.data(), unsigned_text.data() + unsigned_text.size(), magnitude);
  if (ec == std::errc::result_out_of_range) {
    return sign | (decimal.exponent > 0 ? 0x7f800000U : 0U);
  }
  TSPEMU_ASSERT(ec == std::errc{} && end == unsigned_text.data() + unsigned_text.size(),
                "from_chars rejected a checked decimal");
  return sign | std::bit_cast<std::uint32_t>(magnitude);
}

struct IntRange {
  std::int64_t min;
  std::int64_t max;
};

IntRange int_range(DType t) {
  switch (t) {
    case DType::i8:
      return {-128, 127};
    case DType::u8:
      return {0, 255};
    case DType::i16:
      return {-32768, 32767};
    case DType::i32:
      return {std::numeric_limits<std::int32_t>::min(), std::numeric_limits<std::int32_t>::max()};
    default:
      return {0, 0};
  }
}

std::uint64_t width_mask(DType t) {
  const int bits = 8 * dtype_bytes(t);
  return bits >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << bits) - 1;
}

}  // namespace

std::optional<std::int64_t> parse_integer(std::string_view text) {
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    std::uint64_t value = 0;
    const char* begin = text.data() + 2;
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(begin, end, value, 16);
    if (ec != std::errc{} || ptr != end) return std::nullopt;
    if (value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return std::nullopt;
    }
    return static_cast<std::int64_t>(value);
  }
  std::string_view digits = text;
  if (!digits.empty() && digits[0] == '+') digits.remove_prefix(1);
  if (digits.empty() || digits[0] == '+') return std::nullopt;
  std::int64_t value = 0;
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc{} || ptr != digits.data() + digits.size()) return std::nullopt;
  return value;
}

std::optional<double> parse_double(std::string_view text) {
  const auto decimal = parse_decimal(text);
  if (!decimal) return std::nullopt;
  std::string_view digits = text;
  if (!digits.empty() && digits[0] == '+') digits.remove_prefix(1);
  double value = 0.0;
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc{} || ptr != digits.data() + digits.size()) return std::nullopt;
  return value;
}

std::optional<std::uint64_t> parse_u64(std::string_view text) {
  int base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    text.remove_prefix(2);
    base = 16;
  }
  if (text.empty()) return std::nullopt;
  std::uint64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (ec != std::errc{} || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

ParsedElement parse_element(std::string_view text, DType dtype, std::string_view what) {
  ParsedElement out;
  auto fail = [&](std::string message) {
    out.ok = false;
    out.problem = std::move(message);
    return out;
  };
  const std::string low = lower(text);
  const std::string_view type = dtype_name(dtype);
  // Hexadecimal: the raw bit pattern.
  if (low.size() > 2 && low[0] == '0' && low[1] == 'x') {
    std::uint64_t value = 0;
    const auto [ptr, ec] = std::from_chars(low.data() + 2, low.data() + low.size(), value, 16);
    if (ptr != low.data() + low.size() ||
        (ec != std::errc{} && ec != std::errc::result_out_of_range)) {
      return fail(fmt::format("{} is not a number", what));
    }
    if (ec == std::errc::result_out_of_range || value > width_mask(dtype)) {
      return fail(fmt::format("{} does not fit in {} (0x0..{:#x})", what, type, width_mask(dtype)));
    }
    out.ok = true;
    out.bits = value;
    return out;
  }
  const bool special = low == "inf" || low == "+inf" || low == "-inf" || low == "nan" ||
                       low == "+nan" || low == "-nan";
  if (special) {
    if (!is_float(dtype)) return fail(fmt::format("{} is not an integer ({})", what, type));
    const bool negative = low[0] == '-';
    const bool nan = low.find("nan") != std::string::npos;
    if (dtype == DType::f16) {
      out.bits = (negative ? 0x8000U : 0U) | (nan ? kHalfCanonicalNaN.bits : 0x7c00U);
    } else {
      out.bits = (negative ? 0x80000000U : 0U) | (nan ? kFloatCanonicalNaNBits : 0x7f800000U);
    }
    out.ok = true;
    return out;
  }
  const auto decimal = parse_decimal(text);
  if (!decimal) return fail(fmt::format("{} is not a number", what));
  if (is_integer(dtype)) {
    if (!decimal->integral) return fail(fmt::format("{} is not an integer ({})", what, type));
    const IntRange range = int_range(dtype);
    const auto value = parse_integer(text);
    if (!value || *value < range.min || *value > range.max) {
      return fail(fmt::format("{} out of range {}..{} for {}", what, range.min, range.max, type));
    }
    out.ok = true;
    out.bits = static_cast<std::uint64_t>(*value) & width_mask(dtype);
    return out;
  }
  if (dtype == DType::f16) {
    out.bits = decimal_to_half(*decimal, text);
  } else if (dtype == DType::f32) {
    out.bits = decimal_to_float_bits(*decimal, text);
  } else {
    return fail(fmt::format("{} has no element type", what));
  }
  out.ok = true;
  return out;
}

std::int64_t element_as_int(std::uint64_t bits, DType dtype) {
  switch (dtype) {
    case DType::i8:
      return static_cast<std::int8_t>(static_cast<std::uint8_t>(bits));
    case DType::i16:
      return static_cast<std::int16_t>(static_cast<std::uint16_t>(bits));
    case DType::i32:
      return static_cast<std::int32_t>(static_cast<std::uint32_t>(bits));
    default:
      return static_cast<std::int64_t>(bits & width_mask(dtype));
  }
}

std::string format_element(std::uint64_t bits, DType dtype) {
  bits &= width_mask(dtype);
  if (is_integer(dtype) || dtype == DType::none) {
    return fmt::format("{}", element_as_int(bits, dtype));
  }
  const bool f16 = dtype == DType::f16;
  const std::uint64_t magnitude = bits & (f16 ? 0x7fffU : 0x7fffffffU);
  const bool negative = bits != magnitude;
  const std::uint64_t inf = f16 ? 0x7c00U : 0x7f800000U;
  if (magnitude > inf) return fmt::format("{:#x}", bits);  // NaN: exact payload
  if (magnitude == inf) return negative ? "-inf" : "inf";
  const double value = element_to_double(bits, dtype);
  auto round_trips = [&](const std::string& text) {
    const ParsedElement back = parse_element(text, dtype, "");
    return back.ok && back.bits == bits;
  };
  if (!f16) {
    // fmt's shortest representation of the float is the shortest text that reads back to it.
    std::string text = fmt::format("{}", std::bit_cast<float>(static_cast<std::uint32_t>(bits)));
    if (round_trips(text)) return text;
  } else {
    // Integral values print as integers ("65504", not "6.55e+04").
    if (value == static_cast<double>(static_cast<std::int64_t>(value)) && value != 0.0) {
      std::string text = fmt::format("{}", static_cast<std::int64_t>(value));
      if (round_trips(text)) return text;
    }
    for (int precision = 1; precision <= 8; ++precision) {
      std::string text = fmt::format("{:.{}g}", value, precision);
      if (round_trips(text)) return text;
    }
  }
  return fmt::format("{:#x}", bits);
}

std::uint64_t double_to_element(double value, DType dtype) {
  switch (dtype) {
    case DType::f16:
      return double_to_half(value).bits;
    case DType::f32:
      return std::bit_cast<std::uint32_t>(double_to_float(value));
    default:
      return static_cast<std::uint64_t>(static_cast<std::int64_t>(value)) & width_mask(dtype);
  }
}

double element_to_double(std::uint64_t bits, DType dtype) {
  switch (dtype) {
    case DType::f16:
      return half_to_double(Half{static_cast<std::uint16_t>(bits)});
    case DType::f32:
      return static_cast<double>(std::bit_cast<float>(static_cast<std::uint32_t>(bits)));
    default:
      return static_cast<double>(element_as_int(bits, dtype));
  }
}

}  // namespace tspemu::detail
