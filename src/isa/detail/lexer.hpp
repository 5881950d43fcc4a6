#pragma once
// Internal to the ISA layer: splits .tsa text into statements of located tokens.
//
// A statement is one line; inside [ ] and ( ) newlines are ignored, so a literal list may span
// lines. Comments: `;` to the end of the line anywhere; `#` to the end of the line when it is the
// first non-blank character of a line or is followed by a blank (otherwise `#` prefixes an
// immediate, as in `#3`).

#include <string>
#include <string_view>
#include <vector>

namespace tspemu::detail {

enum class TokenKind { word, number, string, punct };

struct Token {
  TokenKind kind = TokenKind::word;
  std::string text;  // string tokens: the contents without quotes
  int line = 0;      // 1-based
  int column = 0;    // 1-based, in bytes
};

struct Statement {
  std::vector<Token> tokens;  // never empty
};

// Throws InputError located in `file_name` for an unexpected character, an unterminated string or
// an unclosed bracket.
[[nodiscard]] std::vector<Statement> lex(std::string_view text, const std::string& file_name);

}  // namespace tspemu::detail
