#pragma once
// The MEM slices of one TSP: sparse SRAM plus the per-slice port checker (docs/design.md section 4,
// "SRAM is sparse"; programs/ISA.md, "SRAM").
//
// Sparse storage: a slice is rows_per_slice rows of 320 bytes (8192 x 320 B = 2.5 MiB by default);
// pages of kRowsPerPage = 16 rows (5 KiB) are allocated on the first write. docs/design.md speaks
// of 4 KiB pages; a row is 320 bytes, so a 4 KiB page would split rows, while 16 rows is
// row-aligned, divides the 4096-row bank evenly and keeps the page table small (512 pages per
// slice). Untouched memory costs nothing beyond a 1 KiB per slice "row written" bitmap, so 72 TSPs
// fit in one host.
//
// Every row has a written bit: reading a row never written is the "uninitialised SRAM read"
// schedule error unless the program declared the row zero-filled (declare_zero), which sets the bit
// without allocating a page (the row reads as zeros).
//
// Threads: const members may run concurrently; mutating members may not run concurrently with
// anything.

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "common/ids.hpp"
#include "common/vector.hpp"

namespace tspemu {

class Sram {
 public:
  static constexpr int kRowsPerPage = 16;
  static constexpr std::size_t kPageBytes = kRowsPerPage * sizeof(Vector);  // 5120

  // timing_only keeps the written bits but no data (reads give zero vectors, no pages allocated).
  Sram(int slices, int rows_per_slice, bool timing_only = false);

  [[nodiscard]] int slices() const { return slices_; }
  [[nodiscard]] int rows_per_slice() const { return rows_; }

  // True if the row was written or declared zero-filled.
  [[nodiscard]] bool initialised(int slice, int row) const {
    const auto& bits = written_[static_cast<std::size_t>(slice)];
    return !bits.empty() && ((bits[static_cast<std::size_t>(row) >> 6] >> (row & 63)) & 1U) != 0;
  }
  // The row's bytes; nullptr if no page holds it (an initialised row without a page reads as
  // zero). Does not check initialised().
  [[nodiscard]] const Vector* find_row(int slice, int row) const;
  // Copies the row into out (zeros if no page); false (out untouched) if the row is uninitialised.
  [[nodiscard]] bool read(int slice, int row, Vector& out) const;

  void write(int slice, int row, const Vector& value);
  // SCATTER: one byte of a row. The whole row counts as written (bits are per row).
  void write_byte(int slice, int row, int lane, std::uint8_t value);
  // Rows [first, first + count) read as zero until written.
  void declare_zero(int slice, int first_row, int count);

  // Pages allocated so far, and a visit in ascending (slice, page) order: f(slice, page, bytes).
  [[nodiscard]] std::size_t touched_pages() const { return touched_pages_; }
  // Checkpoint/restart (chip/engine_checkpoint.cpp): written bits and pages, exactly.
  template <class Archive>
  void serialize(Archive& archive) {
    archive(touched_pages_, written_, pages_);
  }
  // After loading: the geometry of construction (bitmaps and page tables empty or full-sized, no
  // pages in a timing-only SRAM) and the page count.
  [[nodiscard]] bool consistent() const;

  template <class F>
  void for_each_touched_page(F&& f) const {
    for (int s = 0; s < slices_; ++s) {
      const auto& table = pages_[static_cast<std::size_t>(s)];
      for (std::size_t p = 0; p < table.size(); ++p) {
        if (table[p]) {
          f(s, static_cast<int>(p),
            std::span<const std::uint8_t>(table[p]->rows[0].bytes.data(), kPageBytes));
        }
      }
    }
  }

 private:
  struct Page {
    std::array<Vector, kRowsPerPage> rows{};
    template <class Archive>
    void serialize(Archive& archive) {
      archive(rows);
    }
  };
  Page& page_for_write(int slice, int row);

  int slices_;
  int rows_;
  bool timing_only_;
  std::size_t touched_pages_ = 0;
  std::vector<std::uint64_t>& written_bits(int slice);
  std::vector<std::vector<std::uint64_t>> written_;        // [slice][row / 64]; empty: none
  std::vector<std::vector<std::unique_ptr<Page>>> pages_;  // [slice][page], sized on first write
};

// The per-slice, per-cycle port rule: at most one read-type access (READ, GATHER) and one
// write-type access (WRITE, SCATTER) per slice per cycle, and the two on different banks.
// Accesses are reserved in advance (the engine reserves at issue time for the cycle the access
// happens), at most `window` cycles ahead of the oldest cycle still reserved.
class BankPorts {
 public:
  enum class Access : std::uint8_t { read, write };
  // Why a reservation failed; owner is the value passed with the earlier, conflicting reservation.
  struct Conflict {
    enum class Kind : std::uint8_t { none, second_read, second_write, same_bank };
    Kind kind = Kind::none;
    std::int64_t owner = -1;
    [[nodiscard]] explicit operator bool() const { return kind != Kind::none; }
  };

  BankPorts(int slices, int window_cycles);

  // banks: bit b set if the access touches bank b (a GATHER/SCATTER may touch several).
  [[nodiscard]] Conflict reserve(int slice, Cycle cycle, Access access, std::uint32_t banks,
                                 std::int64_t owner);

  // Checkpoint/restart: the reservations still ahead.
  template <class Archive>
  void serialize(Archive& archive) {
    archive(uses_);
  }
  // After loading: the ring of construction.
  [[nodiscard]] bool consistent() const {
    return uses_.size() == static_cast<std::size_t>(slices_) * (mask_ + 1);
  }

 private:
  struct Use {
    Cycle cycle = INT64_MIN;
    std::uint32_t read_banks = 0;
    std::uint32_t write_banks = 0;
    std::int64_t read_owner = -1;
    std::int64_t write_owner = -1;
    template <class Archive>
    void serialize(Archive& archive) {
      archive(cycle, read_banks, write_banks, read_owner, write_owner);
    }
  };
  int slices_;
  std::uint64_t mask_;
  std::vector<Use> uses_;  // [slice][cycle & mask]
};

}  // namespace tspemu
