// topology_to_toml(): the explicit, resolved form of a topology (declared in topo/loader.hpp).
#include <fmt/format.h>

#include <string>

#include "common/text.hpp"
#include "topo/loader.hpp"

namespace tspemu {
namespace {

// Shortest round-trip text that TOML reads as a float (fmt prints 100.0 as "100").
std::string toml_float(double value) {
  std::string text = fmt::format("{}", value);
  if (text.find_first_of(".eEn") == std::string::npos) text += ".0";
  return text;
}

void append_link_params(std::string& out, const LinkParams& p, const LinkParams* defaults) {
  auto differs = [&](auto member) { return defaults == nullptr || p.*member != defaults->*member; };
  if (differs(&LinkParams::latency_cycles)) {
    out += fmt::format("latency_cycles = {}\n", p.latency_cycles);
  }
  if (differs(&LinkParams::latency_min_cycles)) {
    out += fmt::format("latency_min_cycles = {}\n", p.latency_min_cycles);
  }
  if (differs(&LinkParams::latency_max_cycles)) {
    out += fmt::format("latency_max_cycles = {}\n", p.latency_max_cycles);
  }
  if (differs(&LinkParams::jitter_std_cycles)) {
    out += fmt::format("jitter_std_cycles = {}\n", toml_float(p.jitter_std_cycles));
  }
  if (differs(&LinkParams::bandwidth_gbps)) {
    out += fmt::format("bandwidth_gbps = {}\n", toml_float(p.bandwidth_gbps));
  }
  if (differs(&LinkParams::bit_error_rate)) {
    out += fmt::format("bit_error_rate = {}\n", toml_float(p.bit_error_rate));
  }
  if (differs(&LinkParams::uncorrectable_rate)) {
    out += fmt::format("uncorrectable_rate = {}\n", toml_float(p.uncorrectable_rate));
  }
  if (differs(&LinkParams::wire_bytes_per_vector)) {
    out += fmt::format("wire_bytes_per_vector = {}\n", p.wire_bytes_per_vector);
  }
}

}  // namespace

std::string topology_to_toml(const Topology& topology) {
  std::string out;
  // The name quoted here too: a newline in it would otherwise end the comment (issue 10).
  out += fmt::format("# Resolved topology written by tspemu: the explicit form of {}.\n",
                     quoted_text(topology.name()));
  out += fmt::format("# digest {}\n", topology.digest().hex());
  out += fmt::format("name = {}\n\n", quoted_text(topology.name()));

  const ChipParams& chip = topology.chip();
  out += "[chip]\n";
  out += fmt::format("clock_mhz = {}\n", toml_float(chip.clock_mhz));
  for (const ChipIntParam& p : chip_int_params()) {
    out += fmt::format("{} = {}\n", p.key, chip.*(p.member));
  }
  for (const auto& [mnemonic, o] : chip.op_timing) {
    out += fmt::format("\n[chip.op_timing.{}]\n", quoted_text(mnemonic));
    if (o.skew_cycles) out += fmt::format("skew_cycles = {}\n", *o.skew_cycles);
    if (o.func_delay_cycles) out += fmt::format("func_delay_cycles = {}\n", *o.func_delay_cycles);
    if (o.occupancy_cycles) out += fmt::format("occupancy_cycles = {}\n", *o.occupancy_cycles);
  }
  if (const ClockParams& c = topology.clock(); c.present) {
    out += fmt::format(
        "\n[clock]\nppm_spread = {}\nseed = {}\necho_iterations = {}\n"
        "alignment_block_exchanges = {}\nalignment_step_cycles = {}\n",
        toml_float(c.ppm_spread), c.seed, c.echo_iterations, c.alignment_block_exchanges,
        c.alignment_step_cycles);
  }
  for (LinkClass cls : kLinkClasses) {
    out += fmt::format("\n[link_class.{}]\n", link_class_name(cls));
    append_link_params(out, topology.link_classes()[static_cast<std::size_t>(cls)], nullptr);
  }
  if (const auto& plan = topology.port_plan()) {
    out += fmt::format("\n[port_plan]\nlocal_ports = {}\nglobal_ports = {}\n", plan->local_ports,
                       plan->global_ports);
  }
  for (const TspInfo& t : topology.tsps()) {
    out += fmt::format("\n[[tsp]]  # {}\nnode = {}\nrack = {}\n", t.id.value, t.node.value,
                       t.rack.value);
    if (t.spare) out += "spare = true\n";
  }
  for (const Link& l : topology.links()) {
    out += fmt::format(
        "\n[[link]]  # {}\na = {{ tsp = {}, port = {} }}\nb = {{ tsp = {}, port = {} }}\nclass = "
        "\"{}\"\n",
        l.id.value, l.a.tsp.value, l.a.port.value, l.b.tsp.value, l.b.port.value,
        link_class_name(l.cls));
    append_link_params(out, l.params, &topology.link_classes()[static_cast<std::size_t>(l.cls)]);
  }
  return out;
}

}  // namespace tspemu
