#pragma once
// Internal to the compiler layer: strict reading of one TOML table of a graph file (STYLE.md habit
// 4). The caller names every key a table may hold; an unknown key, a wrong type or a value out of
// range is an InputError located at file:line:column (toml++ source positions) with the dotted key
// ("op[3].axis"). Same conventions and message texts as the topology loader's reader.

#include <toml++/toml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace tspemu::detail::graph_toml {

[[nodiscard]] SourceLocation locate(const toml::source_region& region, const std::string& file);

// "an integer", "a string", ... for "expected X, got Y" messages.
[[nodiscard]] std::string_view type_name(const toml::node& node);

// The candidate closest to `word` by edit distance (<= 2, and fewer than the word's length), for
// "did you mean" hints.
[[nodiscard]] std::optional<std::string_view> closest(std::string_view word,
                                                      const std::vector<std::string_view>& known);

class TableReader {
 public:
  // path: dotted prefix for error keys ("op[3]", "tensor[0].init"; "" at the top level).
  // where_text: how messages name the table ("in op[3]", "at the top level"). Rejects unknown keys
  // at once (the first in file order), so that error comes before any value error.
  TableReader(const toml::table& table, std::string path, std::string where_text,
              const std::string& file, const std::vector<std::string_view>& known_keys);

  [[nodiscard]] const toml::table& table() const { return *table_; }
  [[nodiscard]] const std::string& file() const { return *file_; }
  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] bool has(std::string_view key) const { return table_->contains(key); }
  [[nodiscard]] const toml::node* get(std::string_view key) const { return table_->get(key); }

  [[nodiscard]] std::optional<std::int64_t> integer(std::string_view key, std::int64_t min,
                                                    std::int64_t max) const;
  [[nodiscard]] std::int64_t required_integer(std::string_view key, std::int64_t min,
                                              std::int64_t max) const;
  [[nodiscard]] std::optional<bool> boolean(std::string_view key) const;
  [[nodiscard]] std::optional<std::string> string(std::string_view key) const;
  [[nodiscard]] std::string required_string(std::string_view key) const;
  [[nodiscard]] const toml::table* table(std::string_view key) const;
  [[nodiscard]] const toml::array* array(std::string_view key) const;
  [[nodiscard]] const toml::array& required_array(std::string_view key) const;
  // `[[key]]` (or an array of inline tables); nullptr if absent.
  [[nodiscard]] const toml::array* array_of_tables(std::string_view key) const;
  // An array of integers, each in [min, max], with 1..max_count elements.
  [[nodiscard]] std::vector<std::int64_t> integer_array(std::string_view key, std::int64_t min,
                                                        std::int64_t max,
                                                        std::size_t max_count) const;

  // Locations: of the table itself, or of a key's value.
  [[nodiscard]] SourceLocation where() const;
  [[nodiscard]] SourceLocation where(std::string_view key) const;
  // "op[3].axis"
  [[nodiscard]] std::string key_path(std::string_view key) const;

  // Errors located at a key's value (key context = its dotted path), at an element of an array
  // value, or at the table.
  [[noreturn]] void fail(std::string_view key, std::string message) const;
  [[noreturn]] void fail_element(std::string_view key, std::size_t element,
                                 std::string message) const;
  [[noreturn]] void fail_table(std::string message) const;
  [[noreturn]] void missing(std::string_view key) const;
  [[noreturn]] void wrong_type(std::string_view key, std::string_view expected) const;

 private:
  const toml::table* table_;
  std::string path_;
  std::string where_text_;
  const std::string* file_;
};

}  // namespace tspemu::detail::graph_toml
