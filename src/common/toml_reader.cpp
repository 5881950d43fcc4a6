#include "common/toml_reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <tuple>
#include <vector>

namespace tspemu {
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

// Finds the first point where dotted-key parts plus open arrays and inline tables exceed
// kMaxTomlDepth. A lexical scan: it follows strings, comments and brackets closely enough to
// count, and leaves every other judgement of the syntax to toml++.
std::optional<SourceLocation> too_deep(std::string_view text, const std::string& file) {
  enum class Context : std::uint8_t { key, value };
  std::vector<char> open;  // '[' or '{' of open values
  Context context = Context::key;
  int key_parts = 1;
  bool header = false;  // inside a [table] or [[array]] header
  std::int64_t line = 1;
  std::int64_t column = 0;
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n; ++i) {
    const char c = text[i];
    ++column;
    if (c == '\n') {
      ++line;
      column = 0;
      if (open.empty()) {
        context = Context::key;
        key_parts = 1;
        header = false;
      }
      continue;
    }
    if (c == '#') {  // a comment runs to the end of the line
      while (i + 1 < n && text[i + 1] != '\n') ++i;
      continue;
    }
    if (c == '"' || c == '\'') {
      const bool multi = i + 2 < n && text[i + 1] == c && text[i + 2] == c;
      std::size_t j = i + (multi ? 3 : 1);
      for (; j < n; ++j) {
        if (text[j] == '\n') {
          ++line;
          column = 0;
        } else {
          ++column;
        }
        if (c == '"' && text[j] == '\\') {
          ++j;
          ++column;
          continue;
        }
        if (text[j] != c) continue;
        if (!multi) break;
        if (j + 2 < n && text[j + 1] == c && text[j + 2] == c) {
          j += 2;
          column += 2;
          break;
        }
      }
      i = j;
      continue;
    }
    if (context == Context::key) {
      if (c == '.') ++key_parts;
      if (c == '[' && open.empty() && !header) {
        header = true;
        continue;
      }
      if (c == '=') {
        context = Context::value;
        continue;
      }
      if (c == ',' || c == '{') key_parts = 1;
      if (c == '}' && !open.empty()) {
        open.pop_back();
        context = Context::value;
      }
    } else if (c == '[' || c == '{') {
      open.push_back(c);
      if (c == '{') {
        context = Context::key;
        key_parts = 1;
      }
    } else if ((c == ']' || c == '}') && !open.empty()) {
      open.pop_back();
    } else if (c == ',' && !open.empty() && open.back() == '{') {
      context = Context::key;
      key_parts = 1;
    }
    if (key_parts + static_cast<int>(open.size()) > kMaxTomlDepth) {
      return SourceLocation{file, line, column};
    }
  }
  return std::nullopt;
}

}  // namespace

toml::table parse_toml(std::string_view text, const std::string& file) {
  if (auto where = too_deep(text, file)) {
    throw InputError(*where, fmt::format("the TOML nests deeper than {} levels (dotted key parts "
                                         "plus nested arrays and inline tables)",
                                         kMaxTomlDepth));
  }
  try {
    return toml::parse(text, file);
  } catch (const toml::parse_error& e) {
    throw InputError(toml_location(e.source(), file),
                     fmt::format("invalid TOML: {}", e.description()));
  }
}

SourceLocation toml_location(const toml::source_region& region, const std::string& file) {
  return SourceLocation{file, static_cast<std::int64_t>(region.begin.line),
                        static_cast<std::int64_t>(region.begin.column)};
}

std::string_view toml_type_name(const toml::node& node) {
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

std::optional<std::string_view> closest_name(std::string_view word,
                                             const std::vector<std::string_view>& known,
                                             HintReach reach) {
  std::optional<std::string_view> best;
  std::size_t best_distance = 3;  // suggest only within 2 edits
  for (std::string_view candidate : known) {
    const std::size_t d = edit_distance(word, candidate);
    if (reach == HintReach::typo && d >= word.size()) continue;
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  return best;
}

TomlReader::TomlReader(const toml::table& table, std::string path, std::string where_text,
                       const std::string& file, const std::vector<std::string_view>& known_keys,
                       HintReach hints)
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
  if (auto hint = closest_name(first->str(), known_keys, hints)) {
    message += fmt::format(" (did you mean '{}'?)", *hint);
  }
  throw InputError(toml_location(first->source(), *file_), std::move(message));
}

SourceLocation TomlReader::where() const {
  return toml_location(table_->source(), *file_);
}

SourceLocation TomlReader::where(std::string_view key) const {
  const toml::node* node = get(key);
  return node != nullptr ? toml_location(node->source(), *file_) : where();
}

std::string TomlReader::key_path(std::string_view key) const {
  return path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key);
}

void TomlReader::fail(std::string_view key, std::string message) const {
  throw InputError(std::move(message), ErrorContext{.where = where(key), .key = key_path(key)});
}

void TomlReader::fail_element(std::string_view key, std::size_t element,
                              std::string message) const {
  const toml::array* a = get(key) != nullptr ? get(key)->as_array() : nullptr;
  if (a == nullptr || element >= a->size()) fail(key, std::move(message));
  throw InputError(std::move(message),
                   ErrorContext{.where = toml_location((*a)[element].source(), *file_),
                                .key = fmt::format("{}[{}]", key_path(key), element)});
}

void TomlReader::fail_table(std::string message) const {
  ErrorContext context{.where = where()};
  if (!path_.empty()) context.key = path_;
  throw InputError(std::move(message), std::move(context));
}

void TomlReader::missing(std::string_view key) const {
  fail_table(fmt::format("missing required key '{}' {}", key, where_text_));
}

void TomlReader::wrong_type(std::string_view key, std::string_view expected) const {
  fail(key, fmt::format("expected {}, got {}", expected, toml_type_name(*get(key))));
}

std::optional<std::int64_t> TomlReader::integer(std::string_view key, std::int64_t min,
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

std::int64_t TomlReader::required_integer(std::string_view key, std::int64_t min,
                                          std::int64_t max) const {
  if (!has(key)) missing(key);
  return *integer(key, min, max);
}

std::optional<double> TomlReader::number(std::string_view key, double min, bool min_exclusive,
                                         double max) const {
  const toml::node* node = get(key);
  if (node == nullptr) return std::nullopt;
  double v = 0.0;
  if (const auto* f = node->as_floating_point()) {
    v = f->get();
  } else if (const auto* i = node->as_integer()) {
    v = static_cast<double>(i->get());
  } else {
    wrong_type(key, "a number");
  }
  // Written so that NaN fails too.
  const bool above_min = min_exclusive ? v > min : v >= min;
  if (!(above_min && v <= max)) {
    fail(key,
         fmt::format("value {} is out of range {}{}, {}]", v, min_exclusive ? "(" : "[", min, max));
  }
  return v;
}

std::optional<bool> TomlReader::boolean(std::string_view key) const {
  const toml::node* node = get(key);
  if (node == nullptr) return std::nullopt;
  const auto* value = node->as_boolean();
  if (value == nullptr) wrong_type(key, "a boolean");
  return value->get();
}

std::optional<std::string> TomlReader::string(std::string_view key) const {
  const toml::node* node = get(key);
  if (node == nullptr) return std::nullopt;
  const auto* value = node->as_string();
  if (value == nullptr) wrong_type(key, "a string");
  return value->get();
}

std::string TomlReader::required_string(std::string_view key) const {
  if (!has(key)) missing(key);
  return *string(key);
}

const toml::table* TomlReader::table(std::string_view key) const {
  const toml::node* node = get(key);
  if (node == nullptr) return nullptr;
  const auto* value = node->as_table();
  if (value == nullptr) wrong_type(key, "a table");
  return value;
}

const toml::table& TomlReader::required_table(std::string_view key) const {
  if (!has(key)) missing(key);
  return *table(key);
}

const toml::array* TomlReader::array(std::string_view key) const {
  const toml::node* node = get(key);
  if (node == nullptr) return nullptr;
  const auto* value = node->as_array();
  if (value == nullptr) wrong_type(key, "an array");
  return value;
}

const toml::array& TomlReader::required_array(std::string_view key) const {
  if (!has(key)) missing(key);
  return *array(key);
}

const toml::array* TomlReader::array_of_tables(std::string_view key) const {
  const toml::node* node = get(key);
  if (node == nullptr) return nullptr;
  const auto* value = node->as_array();
  if (value == nullptr) wrong_type(key, fmt::format("an array of tables ([[{}]])", key));
  for (const toml::node& element : *value) {
    if (!element.is_table()) {
      throw InputError(
          fmt::format("expected an array of tables ([[{}]]), got an element that is {}", key,
                      toml_type_name(element)),
          ErrorContext{.where = toml_location(element.source(), *file_), .key = key_path(key)});
    }
  }
  return value;
}

std::vector<std::int64_t> TomlReader::integer_array(std::string_view key, std::int64_t min,
                                                    std::int64_t max, std::size_t max_count) const {
  const toml::array& a = required_array(key);
  if (a.empty() || a.size() > max_count) {
    fail(key, max_count == 1 ? "expected an array of 1 integer"
                             : fmt::format("expected an array of 1 to {} integers, got {}",
                                           max_count, a.size()));
  }
  std::vector<std::int64_t> out;
  out.reserve(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto* v = a[i].as_integer();
    if (v == nullptr) {
      fail_element(key, i, fmt::format("expected an integer, got {}", toml_type_name(a[i])));
    }
    if (v->get() < min || v->get() > max) {
      fail_element(key, i, fmt::format("value {} is out of range [{}, {}]", v->get(), min, max));
    }
    out.push_back(v->get());
  }
  return out;
}

}  // namespace tspemu
