#pragma once
// Strict reading of one TOML table (STYLE.md habit 4, AMReX style), shared by every TOML input of
// tspemu (topology files, graph files). The caller names every key the table may hold; an unknown
// key, a wrong type or a value out of range is an InputError located at file:line:column (toml++
// source positions) and naming the dotted key ("link_class.local.latency_cycles", "op[3].axis").
//
// Message texts are part of the user interface (tests assert them exactly):
//   unknown key 'latncy_cycles' in [link_class.local] (did you mean 'latency_cycles'?)
//   missing required key 'kind' in [generator]
//   expected an integer, got a string
//   value -3 is out of range [1, 1000000000]
//   value 3 is not supported (must be 1)
//   expected an array of tables ([[link]]), got an element that is an integer

#include <toml++/toml.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace tspemu {

// The deepest structure a TOML input may describe: dotted-key parts plus nested arrays and inline
// tables at any point. toml++ builds and frees nested tables recursively, so a key of 40,000 parts
// overflows the stack; no machine or graph description needs more than a handful of levels.
inline constexpr int kMaxTomlDepth = 128;

// Parses TOML text after checking, without recursion, that nothing in it nests deeper than
// kMaxTomlDepth. Every tspemu TOML input is parsed here. Errors are located InputErrors:
//   "g.toml:2:260: the key nests deeper than 128 levels (dotted parts and nested arrays or tables)"
//   "g.toml:1:9: invalid TOML: <toml++'s description>"
[[nodiscard]] toml::table parse_toml(std::string_view text, const std::string& file);

// The position where `region` begins, in `file` (the name errors print).
[[nodiscard]] SourceLocation toml_location(const toml::source_region& region,
                                           const std::string& file);

// "an integer", "a string", ... for "expected X, got Y" messages.
[[nodiscard]] std::string_view toml_type_name(const toml::node& node);

// Which known names a "did you mean" hint may suggest. Both reach at most 2 edits; the input
// formats differ for words so short that 2 edits rewrite them entirely, and each keeps its rule so
// that its messages stay as documented.
enum class HintReach : std::uint8_t {
  // Also fewer edits than the word has characters: 'q' is not a typo of 'a'. Graph files.
  typo,
  // Any name within 2 edits, even of a one-letter word ('c' suggests 'a'). Topology files.
  two_edits,
};

// The name in `known` closest to `word` by edit distance (the first of equals), if any is within
// `reach`; for "did you mean" hints.
[[nodiscard]] std::optional<std::string_view> closest_name(
    std::string_view word, const std::vector<std::string_view>& known,
    HintReach reach = HintReach::typo);

// A view of one table with its known keys. Holds pointers to `table` and `file`: both must outlive
// the reader. Copyable (loaders keep one reader per array element for later checks).
class TomlReader {
 public:
  // path: dotted prefix for error keys ("link_class.local", "op[3]"; "" at the top level).
  // where_text: how messages name the table ("in [link_class.local]", "in op[3]", "at the top
  // level"). known_keys: every key the table may hold. Rejects an unknown key at once, so that
  // error comes before any value error; the one reported is the first in the file, with a hint
  // of the given reach.
  TomlReader(const toml::table& table, std::string path, std::string where_text,
             const std::string& file, const std::vector<std::string_view>& known_keys,
             HintReach hints = HintReach::typo);

  [[nodiscard]] const toml::table& table() const { return *table_; }
  [[nodiscard]] const std::string& file() const { return *file_; }
  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] bool has(std::string_view key) const { return table_->contains(key); }
  // nullptr if absent.
  [[nodiscard]] const toml::node* get(std::string_view key) const { return table_->get(key); }

  // Typed values: std::nullopt / nullptr if the key is absent; an InputError if it has another
  // type or is out of range. The required_ forms fail with "missing required key" if absent.

  // An integer in [min, max] (min == max: "is not supported (must be min)").
  [[nodiscard]] std::optional<std::int64_t> integer(std::string_view key, std::int64_t min,
                                                    std::int64_t max) const;
  [[nodiscard]] std::int64_t required_integer(std::string_view key, std::int64_t min,
                                              std::int64_t max) const;
  // A float; an integer is accepted too (bandwidth_gbps = 100). The range is [min, max], or
  // (min, max] with min_exclusive; NaN is out of every range.
  [[nodiscard]] std::optional<double> number(std::string_view key, double min, bool min_exclusive,
                                             double max) const;
  [[nodiscard]] std::optional<bool> boolean(std::string_view key) const;
  [[nodiscard]] std::optional<std::string> string(std::string_view key) const;
  [[nodiscard]] std::string required_string(std::string_view key) const;
  [[nodiscard]] const toml::table* table(std::string_view key) const;
  [[nodiscard]] const toml::table& required_table(std::string_view key) const;
  // Any array (elements unchecked).
  [[nodiscard]] const toml::array* array(std::string_view key) const;
  [[nodiscard]] const toml::array& required_array(std::string_view key) const;
  // `[[key]]` (or an array of inline tables): every element is a table.
  [[nodiscard]] const toml::array* array_of_tables(std::string_view key) const;
  // A required array of 1..max_count integers, each in [min, max]; element errors are located at
  // the element ("shape[1]").
  [[nodiscard]] std::vector<std::int64_t> integer_array(std::string_view key, std::int64_t min,
                                                        std::int64_t max,
                                                        std::size_t max_count) const;

  // Locations: of the table itself, or of a key's value (the table's if the key is absent).
  [[nodiscard]] SourceLocation where() const;
  [[nodiscard]] SourceLocation where(std::string_view key) const;
  // "link_class.local.latency_cycles"
  [[nodiscard]] std::string key_path(std::string_view key) const;

  // Errors located at a key's value (key context = its dotted path), at one element of an array
  // value (key "op[0].inputs[1]"; at the value if it is no array or has no such element), or at
  // the table (key context = the table's path, if any).
  [[noreturn]] void fail(std::string_view key, std::string message) const;
  [[noreturn]] void fail_element(std::string_view key, std::size_t element,
                                 std::string message) const;
  [[noreturn]] void fail_table(std::string message) const;
  // "missing required key '<key>' <where_text>", at the table.
  [[noreturn]] void missing(std::string_view key) const;
  // "expected <expected>, got <type of the value>", at the value (which must be present).
  [[noreturn]] void wrong_type(std::string_view key, std::string_view expected) const;

 private:
  const toml::table* table_;
  std::string path_;
  std::string where_text_;
  const std::string* file_;
};

}  // namespace tspemu
