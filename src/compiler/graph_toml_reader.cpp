#include "compiler/graph_toml_reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <tuple>

namespace tspemu::detail::graph_toml {
namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

SourceLocation locate(const toml::source_region& region, const std::string& file) {
  return SourceLocation{file, static_cast<std::int64_t>(region.begin.line),
                        static_cast<std::int64_t>(region.begin.column)};
}

std::string_view type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a floating-point number";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

std::optional<std::string_view> closest(std::string_view word,
                                        const std::vector<std::string_view>& known) {
  std::optional<std::string_view> best;
  std::size_t best_distance = 3;  // suggest only within 2 edits
  for (std::string_view candidate : known) {
    const std::size_t d = edit_distance(word, candidate);
    // Fewer edits than the word has characters: 'q' is not a typo of 'a'.
    if (d < best_distance && d < word.size()) {
      best_distance = d;
      best = candidate;
    }
  }
  return best;
}

TableReader::TableReader(const toml::table& table, std::string path, std::string where_text,
                         const std::string& file, const std::vector<std::string_view>& known_keys)
    : table_(&table), path_(std::move(path)), where_text_(std::move(where_text)), file_(&file) {
  // The table iterates in key order; report the unknown key that comes first in the file.
  const toml::key* first = nullptr;
  auto position = [](const toml::key& k) {
    return std::tuple(k.source().begin.line, k.source().begin.column);
  };
  for (auto&& [key, node] : table) {
    if (std::find(known_keys.begin(), known_keys.end(), key.str()) != known_keys.end()) continue;
    if (first == nullptr || position(key) < position(*first)) first = &key;
  }
  if (first == nullptr) return;
  std::string message = fmt::format("unknown key '{}' {}", first->str(), where_text_);
  if (auto hint = closest(first->str(), known_keys)) {
    message += fmt::format(" (did you mean '{}'?)", *hint);
  }
  throw InputError(locate(first->source(), *file_), std::move(message));
}

SourceLocation TableReader::where() const {
  return locate(table_->source(), *file_);
}

SourceLocation TableReader::where(std::string_view key) const {
  const toml::node* node = get(key);
  return node != nullptr ? locate(node->source(), *file_) : where();
}

std::string TableReader::key_path(std::string_view key) const {
  return path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key);
}

void TableReader::fail(std::string_view key, std::string message) const {
  throw InputError(std::move(message), ErrorContext{.where = where(key), .key = key_path(key)});
}

void TableReader::fail_element(std::string_view key, std::size_t element,
                               std::string message) const {
  const toml::array* a = get(key) != nullptr ? get(key)->as_array() : nullptr;
  if (a == nullptr || element >= a->size()) fail(key, std::move(message));
  throw InputError(std::move(message),
                   ErrorContext{.where = locate((*a)[element].source(), *file_),
                                .key = fmt::format("{}[{}]", key_path(key), element)});
}

void TableReader::fail_table(std::string message) const {
  ErrorContext context{.where = where()};
  if (!path_.empty()) context.key = path_;
  throw InputError(std::move(message), std::move(context));
}

void TableReader::missing(std::string_view key) const {
  fail_table(fmt::format("missing required key '{}' {}", key, where_text_));
}

void TableReader::wrong_type(std::string_view key, std::string_view expected) const {
  fail(key, fmt::format("expected {}, got {}", expected, type_name(*get(key))));
}

std::optional<std::int64_t> TableReader::integer(std::string_view key, std::int64_t min,
                                                 std::int64_t max) const {
  const toml::node* node = get(key);
  if (node == nullptr) return std::nullopt;
  const auto* value = node->as_integer();
  if (value == nullptr) wrong_type(key, "an integer");
  const std::int64_t v = value->get();
  if (v < min || v > max) {
    if (min == max) fail(key, fmt::format("value {} is not supported (must be {})", v, min));
    fail(key, fmt::format("value {} is out of range [{}, {}]", v, min, max));
  }
  return v;
}

std::int64_t TableReader::required_integer(std::string_view key, std::int64_t min,
                                           std::int64_t max) const {
  if (!has(key)) missing(key);
  return *integer(key, min, max);
}

std::optional<bool> TableReader::boolean(std::string_view key) const {
  const toml::node* node = get(key);
  if (node == nullptr) return std::nullopt;
  const auto* value = node->as_boolean();
  if (value == nullptr) wrong_type(key, "a boolean");
  return value->get();
}

std::optional<std::string> TableReader::string(std::string_view key) const {
  const toml::node* node = get(key);
  if (node == nullptr) return std::nullopt;
  const auto* value = node->as_string();
  if (value == nullptr) wrong_type(key, "a string");
  return value->get();
}

std::string TableReader::required_string(std::string_view key) const {
  if (!has(key)) missing(key);
  return *string(key);
}

const toml::table* TableReader::table(std::string_view key) const {
  const toml::node* node = get(key);
  if (node == nullptr) return nullptr;
  const auto* value = node->as_table();
  if (value == nullptr) wrong_type(key, "a table");
  return value;
}

const toml::array* TableReader::array(std::string_view key) const {
  const toml::node* node = get(key);
  if (node == nullptr) return nullptr;
  const auto* value = node->as_array();
  if (value == nullptr) wrong_type(key, "an array");
  return value;
}

const toml::array& TableReader::required_array(std::string_view key) const {
  if (!has(key)) missing(key);
  return *array(key);
}

const toml::array* TableReader::array_of_tables(std::string_view key) const {
  const toml::node* node = get(key);
  if (node == nullptr) return nullptr;
  const auto* value = node->as_array();
  if (value == nullptr) wrong_type(key, fmt::format("an array of tables ([[{}]])", key));
  for (const toml::node& element : *value) {
    if (!element.is_table()) {
      throw InputError(
          fmt::format("expected an array of tables ([[{}]]), got an element that is {}", key,
                      type_name(element)),
          ErrorContext{.where = locate(element.source(), *file_), .key = key_path(key)});
    }
  }
  return value;
}

std::vector<std::int64_t> TableReader::integer_array(std::string_view key, std::int64_t min,
                                                     std::int64_t max,
                                                     std::size_t max_count) const {
  const toml::array& a = required_array(key);
  if (a.empty() || a.size() > max_count) {
    fail(key, max_count == 1 ? "expected an array of 1 integer"
                             : fmt::format("expected an array of 1 to {} integers, got {}",
                                           max_count, a.size()));
  }
  std::vector<std::int64_t> out;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto* v = a[i].as_integer();
    if (v == nullptr) {
      fail_element(key, i, fmt::format("expected an integer, got {}", type_name(a[i])));
    }
    if (v->get() < min || v->get() > max) {
      fail_element(key, i, fmt::format("value {} is out of range [{}, {}]", v->get(), min, max));
    }
    out.push_back(v->get());
  }
  return out;
}

}  // namespace tspemu::detail::graph_toml
