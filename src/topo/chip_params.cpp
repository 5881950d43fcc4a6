#include "topo/chip_params.hpp"

#include <array>

namespace tspemu {

std::span<const ChipIntParam> chip_int_params() {
  // Ranges: the architectural limits where the paper fixes one (20 superlanes, 16 lanes, 32
  // streams per direction, 16 C2C ports), otherwise generous bounds that keep "what if" studies
  // possible while catching typos (a 10x slip lands outside them).
  static const std::array<ChipIntParam, 14> params{{
      {"superlanes", &ChipParams::superlanes, 1, 20, 1, "active superlanes (of 16 lanes each)"},
      {"lanes_per_superlane", &ChipParams::lanes_per_superlane, 16, 16, 1,
       "lanes per superlane (fixed)"},
      {"streams_per_direction", &ChipParams::streams_per_direction, 4, 32, 4,
       "stream registers per direction (eastward and westward; 32-bit stream groups of 4 tile "
       "them)"},
      {"mem_slices_per_hemisphere", &ChipParams::mem_slices_per_hemisphere, 1, 64, 1,
       "MEM slices per hemisphere"},
      {"mem_slice_bytes", &ChipParams::mem_slice_bytes, kSramPageWords * 320, 1LL << 30, 1,
       "SRAM bytes per MEM slice (multiple of banks_per_slice x 16 x 320)"},
      {"banks_per_slice", &ChipParams::banks_per_slice, 1, 8, 1, "SRAM banks per MEM slice"},
      {"sxm_queues_per_hemisphere", &ChipParams::sxm_queues_per_hemisphere, 1, 64, 1,
       "SXM instruction queues per hemisphere"},
      {"mxm_queues_per_hemisphere", &ChipParams::mxm_queues_per_hemisphere, 1, 64, 1,
       "MXM instruction queues per hemisphere"},
      {"vxm_queues", &ChipParams::vxm_queues, 1, 64, 1, "VXM instruction queues"},
      {"mxm_planes", &ChipParams::mxm_planes, 2, 8, 2, "MXM planes (even: half per hemisphere)"},
      {"vxm_alus_per_lane", &ChipParams::vxm_alus_per_lane, 1, 64, 1, "VXM ALUs per lane"},
      {"hac_period_cycles", &ChipParams::hac_period_cycles, 16, 65536, 1,
       "HAC overflow period = epoch (power of two)"},
      {"barrier_notify_sync_cycles", &ChipParams::barrier_notify_sync_cycles, 1, 100'000, 1,
       "barrier NOTIFY -> SYNC latency"},
      {"c2c_ports", &ChipParams::c2c_ports, 2, 16, 2,
       "chip-to-chip link ports (even: half on each edge)"},
  }};
  return params;
}

}  // namespace tspemu
