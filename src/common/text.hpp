#pragma once
// Text written into files other programs (or tspemu) read back: names a user chose may hold any
// character, and a newline inside a comment or a quote in a string would change what the file
// says. quoted_text() makes any text one safe token.

#include <string>
#include <string_view>

namespace tspemu {

// "name" with ", \ and control characters escaped (\", \\, \n, \t, \u00XX): a valid TOML basic
// string and JSON string, and a single line.
[[nodiscard]] std::string quoted_text(std::string_view text);

}  // namespace tspemu
