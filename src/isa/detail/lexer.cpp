#include "isa/detail/lexer.hpp"

#include <fmt/format.h>

#include "common/error.hpp"

namespace tspemu::detail {
namespace {

bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_word_char(char c) {
  return is_alpha(c) || is_digit(c) || c == '.';
}
bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

}  // namespace

std::vector<Statement> lex(std::string_view text, const std::string& file_name) {
  std::vector<Statement> statements;
  Statement current;
  std::vector<Token> open_brackets;
  int line = 1;
  std::size_t line_start = 0;
  bool line_has_token = false;
  std::size_t i = 0;

  auto column_of = [&](std::size_t pos) { return static_cast<int>(pos - line_start) + 1; };
  auto fail = [&](std::size_t pos, std::string message) {
    throw InputError(SourceLocation{file_name, line, column_of(pos)}, std::move(message));
  };
  auto push = [&](TokenKind kind, std::size_t begin, std::string token_text) {
    current.tokens.push_back(Token{kind, std::move(token_text), line, column_of(begin)});
    line_has_token = true;
  };
  auto end_statement = [&] {
    if (!current.tokens.empty()) statements.push_back(std::move(current));
    current = Statement{};
  };
  auto skip_to_line_end = [&] {
    while (i < text.size() && text[i] != '\n') ++i;
  };

  while (i < text.size()) {
    const char c = text[i];
    if (c == '\n') {
      if (open_brackets.empty()) end_statement();
      ++i;
      ++line;
      line_start = i;
      line_has_token = false;
      continue;
    }
    if (is_blank(c)) {
      ++i;
      continue;
    }
    if (c == ';') {
      skip_to_line_end();
      continue;
    }
    if (c == '#') {
      const bool blank_after = i + 1 >= text.size() || is_blank(text[i + 1]) || text[i + 1] == '\n';
      if (!line_has_token || blank_after) {
        skip_to_line_end();
        continue;
      }
      push(TokenKind::punct, i, "#");
      ++i;
      continue;
    }
    if (c == '"') {
      const std::size_t begin = i++;
      while (i < text.size() && text[i] != '"' && text[i] != '\n') ++i;
      if (i >= text.size() || text[i] != '"') fail(begin, "unterminated string");
      push(TokenKind::string, begin, std::string(text.substr(begin + 1, i - begin - 1)));
      ++i;
      continue;
    }
    if (is_alpha(c) || c == '.') {
      const std::size_t begin = i;
      while (i < text.size() && is_word_char(text[i])) ++i;
      push(TokenKind::word, begin, std::string(text.substr(begin, i - begin)));
      continue;
    }
    const bool sign = c == '+' || c == '-';
    if (sign && i + 1 < text.size() && !is_digit(text[i + 1])) {
      // "-inf" / "+nan" are numbers; a lone '-' is the "no stream" operand.
      const std::string_view rest = text.substr(i + 1, 3);
      const std::string low{lower(rest.size() > 0 ? rest[0] : ' '),
                            lower(rest.size() > 1 ? rest[1] : ' '),
                            lower(rest.size() > 2 ? rest[2] : ' ')};
      const bool special =
          (low == "inf" || low == "nan") && (i + 4 >= text.size() || !is_word_char(text[i + 4]));
      if (special) {
        push(TokenKind::number, i, std::string(text.substr(i, 4)));
        i += 4;
        continue;
      }
    }
    if (is_digit(c) || (sign && i + 1 < text.size() && is_digit(text[i + 1]))) {
      const std::size_t begin = i;
      if (sign) ++i;
      const bool hex = i + 1 < text.size() && text[i] == '0' && lower(text[i + 1]) == 'x';
      while (i < text.size()) {
        const char d = text[i];
        if (is_word_char(d)) {
          ++i;
          continue;
        }
        // An exponent sign: 1e-3, 2.5E+7 (not in hex, where 'e' is a digit).
        if ((d == '+' || d == '-') && !hex && i > begin && lower(text[i - 1]) == 'e') {
          ++i;
          continue;
        }
        break;
      }
      push(TokenKind::number, begin, std::string(text.substr(begin, i - begin)));
      continue;
    }
    switch (c) {
      case '[':
      case '(':
        push(TokenKind::punct, i, std::string(1, c));
        open_brackets.push_back(current.tokens.back());
        ++i;
        continue;
      case ']':
      case ')': {
        push(TokenKind::punct, i, std::string(1, c));
        if (!open_brackets.empty()) {
          const char open = open_brackets.back().text[0];
          if ((open == '[') != (c == ']')) {
            fail(i, fmt::format("'{}' does not match the '{}' at line {}, column {}", c, open,
                                open_brackets.back().line, open_brackets.back().column));
          }
          open_brackets.pop_back();
        }
        ++i;
        continue;
      }
      case ',':
      case '=':
      case ':':
      case '@':
      case '-':
      case '+':
        push(TokenKind::punct, i, std::string(1, c));
        ++i;
        continue;
      default:
        break;
    }
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f) fail(i, fmt::format("unexpected character '{}'", c));
    fail(i, fmt::format("unexpected byte 0x{:02x}", byte));
  }
  if (!open_brackets.empty()) {
    const Token& open = open_brackets.back();
    throw InputError(SourceLocation{file_name, open.line, open.column},
                     fmt::format("'{}' is never closed", open.text));
  }
  end_statement();
  return statements;
}

}  // namespace tspemu::detail
