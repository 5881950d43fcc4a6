#pragma once
// Chip parameters: the [chip] table of a topology (docs/design.md section 4). Every number the chip
// model uses comes from here; code never hard-codes them. Defaults are the first-generation TSP as
// published (docs/references.md); topologies/README.md lists every key with type, default, unit
// and range, and chip_int_params() is the same list in code (the loader, the resolved-TOML writer
// and the digest all walk it, so a new parameter is added in one place).

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "common/ids.hpp"

namespace tspemu {

// One [chip.op_timing.<MNEMONIC>] table: overrides of an instruction's timing, kept by name with
// the table's position; chip_config_from_params (topo/chip_config.hpp) checks the names against the
// op table and rejects unknown ones, pointing at `where`.
struct OpTimingOverride {
  std::optional<Cycle> skew_cycles;        // operand read at issue + skew
  std::optional<Cycle> func_delay_cycles;  // result written at issue + skew + func_delay
  std::optional<Cycle> occupancy_cycles;   // cycles before the unit accepts the next op
  SourceLocation where;                    // the table header; excluded from digests
};

struct ChipParams {
  double clock_mhz = 900.0;                 // core clock (ISCA'20; 900 MHz product point)
  std::int64_t superlanes = 20;             // active superlanes, 1..20
  std::int64_t lanes_per_superlane = 16;    // fixed: a 320-byte vector is 20 x 16 lanes
  std::int64_t streams_per_direction = 32;  // 32 eastward + 32 westward, 1 byte per lane
  std::int64_t mem_slices_per_hemisphere = 44;
  std::int64_t mem_slice_bytes = 2'621'440;  // 2.5 MiB = 2 banks x 4096 words x 320 bytes
  std::int64_t banks_per_slice = 2;
  std::int64_t sxm_queues_per_hemisphere = 14;
  std::int64_t mxm_queues_per_hemisphere = 6;
  std::int64_t vxm_queues = 16;
  std::int64_t mxm_planes = 4;  // 320x320 int8 planes, half per hemisphere
  std::int64_t vxm_alus_per_lane = 16;
  std::int64_t hac_period_cycles = 256;               // HAC overflow period = epoch
  std::int64_t barrier_notify_sync_cycles = 35;       // NOTIFY -> SYNC latency
  std::int64_t c2c_ports = 16;                        // chip-to-chip link ports, at most 16
  std::map<std::string, OpTimingOverride> op_timing;  // by mnemonic, as written

  // Derived: 2 x (MEM + SXM + MXM queues per hemisphere) + VXM queues = 144 by default.
  [[nodiscard]] std::int64_t instruction_queues() const {
    return 2 * (mem_slices_per_hemisphere + sxm_queues_per_hemisphere + mxm_queues_per_hemisphere) +
           vxm_queues;
  }
  [[nodiscard]] std::int64_t lanes() const { return superlanes * lanes_per_superlane; }
  // Total SRAM: 88 slices x 2.5 MiB = 220 MiB by default.
  [[nodiscard]] std::int64_t sram_bytes() const {
    return 2 * mem_slices_per_hemisphere * mem_slice_bytes;
  }
};

// Description of one integer [chip] key: how the loader reads it, the writer prints it and the
// digest covers it. The range is inclusive and values must be multiples of `multiple_of`; the
// constraints that involve other keys (mem_slice_bytes against banks_per_slice, hac_period_cycles a
// power of two) are checked by the loader. topologies/README.md documents all of them. Every value
// the loader accepts must give a chip the ISA and engine accept (tested).
struct ChipIntParam {
  std::string_view key;
  std::int64_t ChipParams::*member;
  std::int64_t min;
  std::int64_t max;
  std::int64_t multiple_of;
  std::string_view doc;
};

// Each bank of a MEM slice holds whole SRAM pages of this many 320-byte words (the engine
// allocates SRAM by page): mem_slice_bytes is a multiple of banks_per_slice x 16 x 320.
inline constexpr std::int64_t kSramPageWords = 16;

// Every integer [chip] key in the order the writer prints them. clock_mhz (a float) and the
// op_timing tables are handled separately.
[[nodiscard]] std::span<const ChipIntParam> chip_int_params();

inline constexpr double kMinClockMhz = 1.0;
inline constexpr double kMaxClockMhz = 100'000.0;

}  // namespace tspemu
