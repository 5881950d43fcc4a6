#include "isa/data_init.hpp"

#include <cmath>

#include "common/error.hpp"
#include "isa/detail/values.hpp"
#include "isa/op_table.hpp"

namespace tspemu {

std::uint64_t splitmix64_at(std::uint64_t seed, std::uint64_t index) {
  std::uint64_t z = seed + (index + 1) * 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::uint64_t seeded_element(const DataInit& init, DType dtype, std::uint64_t index) {
  const std::uint64_t x = splitmix64_at(init.seed, index);
  if (is_float(dtype)) {
    const double u = static_cast<double>(x >> 11) * 0x1.0p-53;
    const double span = init.high - init.low;
    const double scaled = span * u;
    const double v = init.low + scaled;
    return detail::double_to_element(v, dtype);
  }
  // Bounds are validated integers within the dtype's range, so these conversions are exact.
  const auto lo = static_cast<std::int64_t>(init.low);
  const auto hi = static_cast<std::int64_t>(init.high);
  const auto range = static_cast<std::uint64_t>(hi - lo) + 1;
  const auto value = lo + static_cast<std::int64_t>(x % range);
  const int bits = 8 * dtype_bytes(dtype);
  return static_cast<std::uint64_t>(value) & ((std::uint64_t{1} << bits) - 1);
}

std::vector<std::uint8_t> element_bytes(const DataSegment& data) {
  const std::size_t bytes = static_cast<std::size_t>(dtype_bytes(data.dtype));
  const std::size_t count =
      static_cast<std::size_t>(data.rows) * static_cast<std::size_t>(data.columns);
  std::vector<std::uint8_t> out(count * bytes, 0);
  if (!data.initialized) return out;
  switch (data.init.kind) {
    case DataInit::Kind::zero:
      break;
    case DataInit::Kind::literal:
    case DataInit::Kind::file_bytes:
      TSPEMU_ASSERT(data.init.bytes.size() == out.size(), "init bytes do not match the shape");
      out = data.init.bytes;
      break;
    case DataInit::Kind::seeded_uniform:
      for (std::size_t i = 0; i < count; ++i) {
        const std::uint64_t bits = seeded_element(data.init, data.dtype, i);
        for (std::size_t k = 0; k < bytes; ++k) {
          out[i * bytes + k] = static_cast<std::uint8_t>(bits >> (8 * k));
        }
      }
      break;
  }
  return out;
}

std::vector<Vector> materialize(const DataSegment& data) {
  if (!data.initialized) return {};
  const std::vector<std::uint8_t> elements = element_bytes(data);
  const std::size_t bytes = static_cast<std::size_t>(dtype_bytes(data.dtype));
  const auto rows = static_cast<std::size_t>(data.rows);
  const auto columns = static_cast<std::size_t>(data.columns);
  std::vector<Vector> vectors(bytes * rows);
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < columns; ++c) {
      const std::size_t element = (r * columns + c) * bytes;
      for (std::size_t k = 0; k < bytes; ++k) vectors[k * rows + r][c] = elements[element + k];
    }
  }
  return vectors;
}

std::vector<std::uint8_t> elements_from_vectors(const DataSegment& data,
                                                std::span<const Vector> vectors) {
  const std::size_t bytes = static_cast<std::size_t>(dtype_bytes(data.dtype));
  const auto rows = static_cast<std::size_t>(data.rows);
  const auto columns = static_cast<std::size_t>(data.columns);
  TSPEMU_ASSERT(vectors.size() == bytes * rows, "vector count does not match the segment");
  std::vector<std::uint8_t> out(rows * columns * bytes);
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < columns; ++c) {
      const std::size_t element = (r * columns + c) * bytes;
      for (std::size_t k = 0; k < bytes; ++k) out[element + k] = vectors[k * rows + r][c];
    }
  }
  return out;
}

}  // namespace tspemu
