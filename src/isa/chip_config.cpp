#include "isa/chip_config.hpp"

#include <string>

#include "common/error.hpp"

namespace tspemu {

void ChipConfig::validate() const {
  if (const std::string problem = shape.problem(); !problem.empty()) {
    throw InputError(problem, ErrorContext{.key = std::string("chip")});
  }
  if (barrier_notify_sync_cycles < 0) {
    throw InputError("barrier_notify_sync_cycles must be >= 0",
                     ErrorContext{.key = std::string("chip.barrier_notify_sync_cycles")});
  }
}

}  // namespace tspemu
