#pragma once
// Internal to the ISA layer: element values as text. Parses the numbers of immediates, literal
// lists and lane maps into the bit pattern of an element type, and prints bit patterns back so that
// parsing the text gives the same bits (the disassembler's round trip depends on it).
//
// Floats: decimal text is rounded once, to nearest with ties to even, to the element type: f32 by
// std::from_chars<float> (correctly rounded), f16 through the nearest double and then, if that
// double is exactly halfway between two f16 values, by comparing the decimal text with the halfway
// point exactly (so "double rounding" never changes a result).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "isa/opcode.hpp"

namespace tspemu::detail {

// Decimal ("-12", "+7") or hexadecimal ("0x1f", unsigned) integer; nullopt if malformed or if it
// does not fit in int64.
[[nodiscard]] std::optional<std::int64_t> parse_integer(std::string_view text);

struct ParsedElement {
  bool ok = false;
  std::uint64_t bits = 0;  // the element's bit pattern, zero-extended
  std::string problem;     // when !ok: the message, starting with `what`
};

// text: a number token: "-3", "0x7f" (a bit pattern), "1.5", "-2.5e-3", "inf", "-inf", "nan".
// what: how the value is named in messages ("immediate #300", "value 300"); problems read
//   "immediate #300 out of range -128..127 for i8", "value 1.5 is not an integer (i8)",
//   "value 0x1ff does not fit in u8 (0x0..0xff)", "immediate #1x is not a number".
[[nodiscard]] ParsedElement parse_element(std::string_view text, DType dtype,
                                          std::string_view what);

// The shortest text that parse_element() turns back into `bits`: signed or unsigned decimal for
// integers; for floats a decimal, "inf"/"-inf", or the hex bit pattern for NaNs.
[[nodiscard]] std::string format_element(std::uint64_t bits, DType dtype);

// The element as a signed value (sign-extended for signed integer types).
[[nodiscard]] std::int64_t element_as_int(std::uint64_t bits, DType dtype);

// A finite decimal ("-2.5", "1e-3", "7") as the nearest double; nullopt for anything else.
[[nodiscard]] std::optional<double> parse_double(std::string_view text);

// An unsigned decimal or 0x hexadecimal integer up to 2^64 - 1.
[[nodiscard]] std::optional<std::uint64_t> parse_u64(std::string_view text);

// Rounds a double to the element type (nearest, ties to even) and returns its bit pattern. Integer
// types: the caller guarantees an integral value in range.
[[nodiscard]] std::uint64_t double_to_element(double value, DType dtype);

// The element's value as a double (exact for every type).
[[nodiscard]] double element_to_double(std::uint64_t bits, DType dtype);

}  // namespace tspemu::detail
