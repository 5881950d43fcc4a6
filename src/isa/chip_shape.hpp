#pragma once
// The shape of one chip as far as the ISA layer needs it: how many queues of each kind exist, how
// many streams, lanes, SRAM rows and accumulators operands may name, and where every slice sits on
// the east-west axis (programs/ISA.md, "Floorplan"). The ISA layer must not depend on the topology
// layer, so the runtime fills a ChipShape from the topology's [chip] table; the defaults are the
// published first-generation TSP (docs/references.md sections 1.2-1.4).

#include <string>

#include "common/vector.hpp"

namespace tspemu {

// Vectors one C2C port holds between their arrival and the RECEIVE that takes them (tspemu's
// choice: the hardware's clock-domain-crossing buffers are shallow and unpublished). The engine
// reports more as a schedule error; the compiler paces its sends to stay within it.
inline constexpr int kC2cPortBufferVectors = 16;

struct ChipShape {
  int mem_slices_per_hemisphere = 44;  // MEM_W0..MEM_W43, MEM_E0..MEM_E43
  int mem_rows_per_slice = 8192;       // 320-byte vectors per slice (2.5 MiB): addresses 0..8191
  int mem_banks_per_slice = 2;         // bank = address / (rows / banks): 4096 rows per bank
  int streams_per_direction = 32;      // S0E..S31E and S0W..S31W
  int vxm_alus = 16;                   // VXM0..VXM15 (= ALU0..ALU15 of every lane)
  int sxm_per_hemisphere = 14;         // SXM_W0..SXM_W13, SXM_E0..SXM_E13
  int mxm_planes = 4;                  // planes 0..planes/2-1 west, the rest east
  int mxm_accumulators = 4;            // acc0..acc3 per plane, 320 x 32 bits each
  int c2c_ports = 16;                  // C2C0..C2C15; ports 0..ports/2-1 at the west edge
  int superlanes = 20;                 // active superlanes; lanes = 16 x superlanes

  [[nodiscard]] int lanes() const { return superlanes * kLanesPerSuperlane; }
  // Positions on the east-west axis: 0 .. position_count()-1 (93 by default).
  [[nodiscard]] int position_count() const { return 2 * mem_slices_per_hemisphere + 5; }
  [[nodiscard]] int rows_per_bank() const { return mem_rows_per_slice / mem_banks_per_slice; }

  // Empty if the shape is consistent, else the first problem as "<field> must be ...". The
  // topology layer checks its [chip] keys itself; this guards shapes built in code and tests.
  [[nodiscard]] std::string problem() const;

  friend bool operator==(const ChipShape&, const ChipShape&) = default;
};

}  // namespace tspemu
