#include "runtime/program_source.hpp"

#include <fmt/format.h>

#include "common/input_file.hpp"
#include "isa/assembler.hpp"
#include "runtime/send_schedule.hpp"

namespace tspemu {

Bundle load_program_for(const std::filesystem::path& path, const Topology& topology,
                        const ChipShape& shape, Digest128& program_digest) {
  Bundle bundle;
  if (path.extension() == ".tsa") {
    // Read once: assembled, and its digest is the program digest (as a bundle file's bytes are).
    const std::string text = read_input_file(path, kMaxTextInputBytes, "assembly file");
    program_digest =
        digest_of(std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
    bundle.program = assemble(text, path.string(), shape);
    bundle.topology_name = topology.name();
    bundle.topology_digest = topology.digest();
  } else {
    bundle = read_bundle(path, shape, program_digest);
    // A zero digest marks a bundle assembled without a topology: it runs on any machine whose
    // chips match its shape (checked by read_bundle) and that has its TSPs (checked below).
    if (bundle.topology_digest != Digest128{} && bundle.topology_digest != topology.digest()) {
      throw InputError(fmt::format(
          "{}: bundle was built for topology '{}' (digest {}), not for '{}' (digest {}); "
          "rebuild it with --topology",
          path.string(), bundle.topology_name, bundle.topology_digest.hex(), topology.name(),
          topology.digest().hex()));
    }
  }
  for (const auto& tsp : bundle.program.tsps) {
    if (tsp.tsp.value < 0 || tsp.tsp.index() >= topology.tsp_count()) {
      throw InputError(
          fmt::format("{}: program has a section for TSP {}, but topology '{}' has {} TSP{}",
                      path.string(), tsp.tsp.value, topology.name(), topology.tsp_count(),
                      topology.tsp_count() == 1 ? "" : "s"));
    }
  }
  if (path.extension() == ".tsa") {
    bundle.send_schedule = derive_send_schedule(bundle.program, topology);
  }
  return bundle;
}

}  // namespace tspemu
