#pragma once
// Reads the independent reference vectors in tests/reference (made by make_vectors.py with numpy
// and mpmath). Every value in them is a hex bit pattern.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tspemu::test {

struct ReferenceRow {
  std::string op;                     // first column if the header starts with "op,", else ""
  std::vector<std::uint32_t> values;  // the hex columns, in file order
  int line = 0;                       // 1-based line in the file, for failure messages
};

struct ReferenceTable {
  std::string path;
  std::vector<ReferenceRow> rows;
};

// Full path of a reference file: TSPEMU_REFERENCE_DIR/name.
std::string reference_path(std::string_view name);

// Loads directory/name, checking that the header line equals `header`. Throws std::runtime_error
// naming the path (and line) if the file is missing, has another header or a malformed row.
ReferenceTable load_reference(std::string_view name, std::string_view header,
                              std::string_view directory = TSPEMU_REFERENCE_DIR);

}  // namespace tspemu::test
