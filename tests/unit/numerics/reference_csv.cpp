#include "reference_csv.hpp"

#include <charconv>
#include <fstream>
#include <stdexcept>

namespace tspemu::test {

std::string reference_path(std::string_view name) {
  return std::string(TSPEMU_REFERENCE_DIR) + "/" + std::string(name);
}

ReferenceTable load_reference(std::string_view name, std::string_view header,
                              std::string_view directory) {
  ReferenceTable table{std::string(directory) + "/" + std::string(name), {}};
  std::ifstream in(table.path);
  if (!in) {
    throw std::runtime_error("cannot open reference vector file " + table.path +
                             " (regenerate it with tests/reference/make_vectors.py)");
  }
  std::string line;
  if (!std::getline(in, line) || line != header) {
    throw std::runtime_error(table.path + ":1: expected the header '" + std::string(header) + "'");
  }
  const bool has_op_column = header.starts_with("op,");
  for (int number = 2; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    ReferenceRow row;
    row.line = number;
    std::string_view rest = line;
    for (bool first = true; !rest.empty() || first; first = false) {
      const std::size_t comma = rest.find(',');
      const std::string_view field = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      std::uint32_t value = 0;
      const auto [end, error] =
          std::from_chars(field.data(), field.data() + field.size(), value, 16);
      if (first && has_op_column) {
        row.op = std::string(field);
      } else if (error == std::errc{} && end == field.data() + field.size() && !field.empty()) {
        row.values.push_back(value);
      } else {
        throw std::runtime_error(table.path + ":" + std::to_string(number) + ": '" +
                                 std::string(field) + "' is not a hex bit pattern");
      }
    }
    table.rows.push_back(std::move(row));
  }
  return table;
}

}  // namespace tspemu::test
