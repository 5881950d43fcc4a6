#include "chip/sram.hpp"

#include <bit>

#include "common/error.hpp"

namespace tspemu {

Sram::Sram(int slices, int rows_per_slice, bool timing_only)
    : slices_(slices), rows_(rows_per_slice), timing_only_(timing_only) {
  TSPEMU_ASSERT(slices >= 1 && rows_per_slice >= kRowsPerPage && rows_per_slice % kRowsPerPage == 0,
                "SRAM geometry");
  // A slice's bitmap is allocated by its first write (a TSP touches few of its 88 slices in many
  // programs; 10,440 engines of a timing-only run would otherwise hold 90 KiB each for nothing).
  written_.resize(static_cast<std::size_t>(slices));
  pages_.resize(static_cast<std::size_t>(slices));
}

const Vector* Sram::find_row(int slice, int row) const {
  TSPEMU_ASSERT(slice >= 0 && slice < slices_ && row >= 0 && row < rows_, "SRAM row out of range");
  const auto& table = pages_[static_cast<std::size_t>(slice)];
  const auto page = static_cast<std::size_t>(row / kRowsPerPage);
  if (page >= table.size() || !table[page]) return nullptr;
  return &table[page]->rows[static_cast<std::size_t>(row % kRowsPerPage)];
}

bool Sram::read(int slice, int row, Vector& out) const {
  if (!initialised(slice, row)) return false;
  const Vector* v = find_row(slice, row);
  if (v != nullptr) {
    out = *v;
  } else {
    out = Vector{};
  }
  return true;
}

Sram::Page& Sram::page_for_write(int slice, int row) {
  TSPEMU_ASSERT(slice >= 0 && slice < slices_ && row >= 0 && row < rows_, "SRAM row out of range");
  auto& table = pages_[static_cast<std::size_t>(slice)];
  if (table.empty()) table.resize(static_cast<std::size_t>(rows_ / kRowsPerPage));
  auto& page = table[static_cast<std::size_t>(row / kRowsPerPage)];
  if (!page) {
    page = std::make_unique<Page>();
    ++touched_pages_;
  }
  return *page;
}

std::vector<std::uint64_t>& Sram::written_bits(int slice) {
  auto& bits = written_[static_cast<std::size_t>(slice)];
  if (bits.empty()) bits.assign((static_cast<std::size_t>(rows_) + 63) / 64, 0);
  return bits;
}

void Sram::write(int slice, int row, const Vector& value) {
  written_bits(slice)[static_cast<std::size_t>(row) >> 6] |= std::uint64_t{1} << (row & 63);
  if (timing_only_) return;
  page_for_write(slice, row).rows[static_cast<std::size_t>(row % kRowsPerPage)] = value;
}

void Sram::write_byte(int slice, int row, int lane, std::uint8_t value) {
  written_bits(slice)[static_cast<std::size_t>(row) >> 6] |= std::uint64_t{1} << (row & 63);
  if (timing_only_) return;
  page_for_write(slice, row)
      .rows[static_cast<std::size_t>(row % kRowsPerPage)][static_cast<std::size_t>(lane)] = value;
}

void Sram::declare_zero(int slice, int first_row, int count) {
  TSPEMU_ASSERT(
      slice >= 0 && slice < slices_ && first_row >= 0 && count >= 0 && first_row + count <= rows_,
      "zero-filled SRAM region out of range");
  auto& bits = written_bits(slice);
  for (int r = first_row; r < first_row + count; ++r) {
    bits[static_cast<std::size_t>(r) >> 6] |= std::uint64_t{1} << (r & 63);
  }
}

bool Sram::consistent() const {
  if (written_.size() != static_cast<std::size_t>(slices_) ||
      pages_.size() != static_cast<std::size_t>(slices_)) {
    return false;
  }
  std::size_t pages = 0;
  for (int s = 0; s < slices_; ++s) {
    const auto& bits = written_[static_cast<std::size_t>(s)];
    if (!bits.empty() && bits.size() != static_cast<std::size_t>((rows_ + 63) / 64)) return false;
    const auto& table = pages_[static_cast<std::size_t>(s)];
    if (!table.empty() && table.size() != static_cast<std::size_t>(rows_ / kRowsPerPage)) {
      return false;
    }
    for (const auto& page : table) pages += page ? 1 : 0;
  }
  return pages == touched_pages_ && (!timing_only_ || pages == 0);
}

BankPorts::BankPorts(int slices, int window_cycles) : slices_(slices) {
  const int ring = static_cast<int>(std::bit_ceil(static_cast<unsigned>(window_cycles + 1)));
  mask_ = static_cast<std::uint64_t>(ring - 1);
  uses_.resize(static_cast<std::size_t>(slices) * static_cast<std::size_t>(ring));
}

BankPorts::Conflict BankPorts::reserve(int slice, Cycle cycle, Access access, std::uint32_t banks,
                                       std::int64_t owner) {
  TSPEMU_ASSERT(slice >= 0 && slice < slices_, "slice out of range");
  Use& use = uses_[static_cast<std::size_t>(slice) * (mask_ + 1) +
                   (static_cast<std::uint64_t>(cycle) & mask_)];
  if (use.cycle != cycle) use = Use{cycle};
  using Kind = Conflict::Kind;
  if (access == Access::read) {
    if (use.read_banks != 0) return {Kind::second_read, use.read_owner};
    if ((use.write_banks & banks) != 0) return {Kind::same_bank, use.write_owner};
    use.read_banks = banks;
    use.read_owner = owner;
  } else {
    if (use.write_banks != 0) return {Kind::second_write, use.write_owner};
    if ((use.read_banks & banks) != 0) return {Kind::same_bank, use.read_owner};
    use.write_banks = banks;
    use.write_owner = owner;
  }
  return {};
}

}  // namespace tspemu
