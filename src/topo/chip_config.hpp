#pragma once
// The [chip] table of a topology as the ISA-level chip description (isa/chip_config.hpp): shape,
// timing overrides, barrier latency. The topology layer sits above the ISA layer, so it can check
// the [chip.op_timing.*] mnemonics against the op table.

#include "isa/chip_config.hpp"
#include "topo/chip_params.hpp"

namespace tspemu {

// Throws InputError for parameters the chip model cannot represent and for unknown op_timing
// mnemonics (located at the override's table).
[[nodiscard]] ChipConfig chip_config_from_params(const ChipParams& params);

}  // namespace tspemu
