#include "topo/chip_config.hpp"

#include <fmt/format.h>

#include <vector>

#include "common/error.hpp"

namespace tspemu {

ChipConfig chip_config_from_params(const ChipParams& params) {
  ChipConfig config;
  auto narrow = [](std::int64_t value, const char* key) {
    if (value < 0 || value > (std::int64_t{1} << 30)) {
      throw InputError(fmt::format("{} = {} is out of range", key, value),
                       ErrorContext{.key = fmt::format("chip.{}", key)});
    }
    return static_cast<int>(value);
  };
  ChipShape& s = config.shape;
  s.mem_slices_per_hemisphere =
      narrow(params.mem_slices_per_hemisphere, "mem_slices_per_hemisphere");
  s.mem_banks_per_slice = narrow(params.banks_per_slice, "banks_per_slice");
  s.mem_rows_per_slice =
      narrow(params.mem_slice_bytes / static_cast<std::int64_t>(sizeof(Vector)), "mem_slice_bytes");
  s.streams_per_direction = narrow(params.streams_per_direction, "streams_per_direction");
  s.vxm_alus = narrow(params.vxm_queues, "vxm_queues");
  s.sxm_per_hemisphere = narrow(params.sxm_queues_per_hemisphere, "sxm_queues_per_hemisphere");
  s.mxm_planes = narrow(params.mxm_planes, "mxm_planes");
  s.c2c_ports = narrow(params.c2c_ports, "c2c_ports");
  s.superlanes = narrow(params.superlanes, "superlanes");
  config.barrier_notify_sync_cycles = params.barrier_notify_sync_cycles;
  std::vector<TimingOverride> overrides;
  for (const auto& [name, o] : params.op_timing) {  // std::map: sorted, deterministic
    overrides.push_back(
        TimingOverride{name, o.skew_cycles, o.func_delay_cycles, o.occupancy_cycles, o.where});
  }
  config.timing = OpTimingTable::with_overrides(overrides);
  config.validate();
  return config;
}

}  // namespace tspemu
