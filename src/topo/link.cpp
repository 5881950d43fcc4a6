#include "topo/link.hpp"

#include <algorithm>
#include <cmath>

namespace tspemu {

std::string_view link_class_name(LinkClass cls) {
  switch (cls) {
    case LinkClass::local:
      return "local";
    case LinkClass::global:
      return "global";
    case LinkClass::optical:
      return "optical";
  }
  return "?";
}

std::optional<LinkClass> parse_link_class(std::string_view name) {
  for (LinkClass cls : kLinkClasses) {
    if (link_class_name(cls) == name) return cls;
  }
  return std::nullopt;
}

LinkClassTable default_link_classes() {
  // All three classes start from the measured intra-node figures (see LinkParams): nothing
  // published distinguishes them, and inventing a difference would look like data.
  return {LinkParams{}, LinkParams{}, LinkParams{}};
}

LinkParams inter_rack_link_params(double clock_mhz) {
  LinkParams p;
  const LinkParams intra;
  p.latency_cycles = static_cast<Cycle>(std::llround(kInterRackHopNs * clock_mhz / 1000.0));
  p.latency_min_cycles = p.latency_cycles - (intra.latency_cycles - intra.latency_min_cycles);
  p.latency_max_cycles = p.latency_cycles + (intra.latency_max_cycles - intra.latency_cycles);
  p.latency_min_cycles = std::max<Cycle>(p.latency_min_cycles, kMinLatencyCycles);
  p.latency_cycles = std::max(p.latency_cycles, p.latency_min_cycles);
  p.latency_max_cycles = std::max(p.latency_max_cycles, p.latency_cycles);
  return p;
}

Cycle vector_serialisation_cycles(const LinkParams& params, double clock_mhz) {
  const double cycles = static_cast<double>(params.wire_bytes_per_vector) * 8.0 * clock_mhz /
                        (params.bandwidth_gbps * 1000.0);
  // The epsilon keeps an exact integer (e.g. 24.000000000001 from rounding) from becoming 25.
  return static_cast<Cycle>(std::ceil(cycles - 1e-9));
}

}  // namespace tspemu
