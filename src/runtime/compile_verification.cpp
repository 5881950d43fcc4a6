#include "runtime/compile_verification.hpp"

#include <fmt/format.h>

#include "chip/kokkos_session.hpp"
#include "common/error.hpp"
#include "net/local_transport.hpp"
#include "runtime/run.hpp"
#include "runtime/send_schedule.hpp"
#include "topo/chip_config.hpp"

namespace tspemu {

VerifiedRun verify_compiled_bundle(const CompileOutput& out, const Topology& topology,
                                   const VerifyOptions& options, const std::string& source_name) {
  const SendSchedule derived = derive_send_schedule(out.bundle.program, topology);
  const SendSchedule& built = out.bundle.send_schedule;
  if (derived != built) {
    std::size_t k = 0;
    while (k < derived.size() && k < built.size() && derived[k] == built[k]) ++k;
    const auto describe = [](const SendSchedule& rows, std::size_t i) {
      if (i >= rows.size()) return std::string("(none)");
      const SendRow& r = rows[i];
      return fmt::format("tsp {} port {} at {} -> tsp {} port {}, RECEIVE at {} (instruction {})",
                         r.src_tsp.value, r.src_port.value, r.send_cycle, r.dst_tsp.value,
                         r.dst_port.value, r.receive_cycle, r.receive_instruction);
    };
    throw ScheduleError(fmt::format(
        "compiler bug: the send schedule derived from the queues differs from the one the "
        "compiler built at row {}: derived {}, built {}",
        k, describe(derived, k), describe(built, k)));
  }
  ensure_kokkos_initialized();
  const ChipConfig chip = chip_config_from_params(topology.chip());
  LocalTransport transport(network_layout_of(topology));
  DriverOptions driver_options;
  driver_options.timing_only = options.timing_only;
  driver_options.program_validated = options.program_validated;
  driver_options.trace = options.trace;
  driver_options.trace_begin = options.trace_begin;
  driver_options.trace_end = options.trace_end;
  driver_options.time_base = options.time_base;
  VerifiedRun verified;
  try {
    RunDriver driver(topology, chip, out.bundle, transport, driver_options);
    verified.outcome = driver.run();
  } catch (const Error& e) {
    throw ScheduleError(fmt::format(
        "compiler bug: the compiled schedule of {} fails verification: {}", source_name, e.what()));
  }
  verified.cycles = verified.outcome.final_cycle + 1;
  if (!options.timing_only) {
    for (const TspOutcome& t : verified.outcome.local) {
      for (auto& o : extract_tsp_outputs(out.record, t.tsp, t.result.outputs)) {
        verified.outputs.push_back(std::move(o));
      }
    }
  }
  return verified;
}

}  // namespace tspemu
