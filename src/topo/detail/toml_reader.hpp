#pragma once
// Strict reading of one TOML table (STYLE.md habit 4, AMReX style): the caller names every key the
// table may hold; an unknown key, a wrong type or a value out of range is an InputError located at
// file:line:column and naming the dotted key. Internal to the topology layer.

#include <toml++/toml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace tspemu::detail {

[[nodiscard]] SourceLocation locate(const toml::source_region& region, const std::string& file);

// "an integer", "a string", ... for "expected X, got Y" messages.
[[nodiscard]] std::string_view toml_type_name(const toml::node& node);

// The known key closest to `key` by edit distance (<= 2), for "did you mean" hints.
[[nodiscard]] std::optional<std::string_view> closest_key(
    std::string_view key, const std::vector<std::string_view>& known);

class TableReader {
 public:
  // path: dotted prefix for error keys ("link_class.local", "link[3]"; "" at the top level).
  // where_text: how messages name the table ("in [link_class.local]", "in link[3]", "at the top
  // level"). Checks for unknown keys at once, so that error comes before any value error; the one
  // reported is the first in the file.
  TableReader(const toml::table& table, std::string path, std::string where_text,
              const std::string& file, std::vector<std::string_view> known_keys);

  [[nodiscard]] const toml::table& table() const { return *table_; }
  [[nodiscard]] const std::string& file() const { return *file_; }
  [[nodiscard]] bool has(std::string_view key) const;
  [[nodiscard]] const toml::node* get(std::string_view key) const;

  [[nodiscard]] std::optional<std::int64_t> integer(std::string_view key, std::int64_t min,
                                                    std::int64_t max) const;
  [[nodiscard]] std::int64_t required_integer(std::string_view key, std::int64_t min,
                                              std::int64_t max) const;
  // A float key; an integer is accepted too (bandwidth_gbps = 100). The range is [min, max], or
  // (min, max] with min_exclusive.
  [[nodiscard]] std::optional<double> number(std::string_view key, double min, bool min_exclusive,
                                             double max) const;
  [[nodiscard]] std::optional<bool> boolean(std::string_view key) const;
  [[nodiscard]] std::optional<std::string> string(std::string_view key) const;
  [[nodiscard]] std::string required_string(std::string_view key) const;
  [[nodiscard]] const toml::table* table(std::string_view key) const;
  [[nodiscard]] const toml::table& required_table(std::string_view key) const;
  // `[[key]]` (or an array of inline tables); nullptr if absent.
  [[nodiscard]] const toml::array* array_of_tables(std::string_view key) const;

  // Locations: of the table itself, or of a key's value.
  [[nodiscard]] SourceLocation where() const;
  [[nodiscard]] SourceLocation where(std::string_view key) const;
  // "link_class.local.latency_cycles"
  [[nodiscard]] std::string key_path(std::string_view key) const;
  [[nodiscard]] const std::string& path() const { return path_; }

  // Errors located at a key's value (key context = its dotted path) or at the table.
  [[noreturn]] void fail(std::string_view key, std::string message) const;
  [[noreturn]] void fail_table(std::string message) const;

 private:
  [[noreturn]] void wrong_type(std::string_view key, std::string_view expected) const;

  const toml::table* table_;
  std::string path_;
  std::string where_text_;
  const std::string* file_;
};

}  // namespace tspemu::detail
