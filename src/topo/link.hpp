#pragma once
// Chip-to-chip links (docs/design.md section 6): endpoints (TSP + C2C port), class, latency with
// its jitter range, bandwidth and bit-error rate. Every link's values are resolved at load time:
// the class defaults of [link_class.<name>], then the link's own overrides.

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "common/ids.hpp"

namespace tspemu {

// local: inside an 8-TSP node (backplane cable); global: between nodes of a rack; optical: between
// racks. The class sets defaults and lets reports group links; it changes no semantics.
enum class LinkClass : std::uint8_t { local = 0, global = 1, optical = 2 };
inline constexpr std::size_t kLinkClassCount = 3;
inline constexpr std::array<LinkClass, kLinkClassCount> kLinkClasses{
    LinkClass::local, LinkClass::global, LinkClass::optical};

[[nodiscard]] std::string_view link_class_name(LinkClass cls);
[[nodiscard]] std::optional<LinkClass> parse_link_class(std::string_view name);

// Per-class defaults ([link_class.<name>]) and, resolved, the values of one link.
struct LinkParams {
  // Mean one-way latency, and the range the network layer draws jitter from. 217 / 209 / 228:
  // ISCA'22 Table 2, mean / min / max of HAC-measured intra-node link latency (reference/
  // docs/references.md section 3.2). Global and optical links: no published figure, same defaults.
  Cycle latency_cycles = 217;
  Cycle latency_min_cycles = 209;
  Cycle latency_max_cycles = 228;
  // 0: jitter uniform over [min, max] (hits each end once in 20 vectors: what tests a schedule's
  // receive margins). > 0: a rounded normal of this standard deviation around latency_cycles,
  // clipped to [min, max], the bell shape ISCA'22 Table 2 measured (net/link_model.hpp).
  double jitter_std_cycles = 0.0;
  double bandwidth_gbps = 100.0;  // per direction (ISCA'22: 100 Gb/s per C2C link)
  // Raw bit-error rate before FEC. Not published; 1e-12 is the IEEE 802.3 objective for electrical
  // SerDes links, a conservative stand-in until measured.
  double bit_error_rate = 1e-12;
  // Probability per vector of an error burst the FEC only detects: the run replays (docs/
  // network.md, "Replay"). Not published; 0 unless a topology sets it.
  double uncorrectable_rate = 0.0;
  // Bytes on the wire per 320-byte vector: 8 bytes of framing (ISCA'22 Fig. 11, 97.5 % efficient).
  std::int64_t wire_bytes_per_vector = 328;

  friend bool operator==(const LinkParams&, const LinkParams&) = default;
};

// Class defaults, indexed by LinkClass.
using LinkClassTable = std::array<LinkParams, kLinkClassCount>;
[[nodiscard]] LinkClassTable default_link_classes();

// The published per-hop latency of the multi-rack network: 722 ns, pipelined (ISCA'22, "A
// Software-defined Tensor Streaming Multiprocessor for Large-scale Machine Learning": a 256-TSP
// Dragonfly's 3-hop all-reduce takes 3 x 722 ns). Generated multi-rack machines give it to their
// inter-rack (`optical`) class, at the chip's clock (650 cycles at 900 MHz), with the intra-node
// links' jitter spread (-8 .. +11 cycles) around it: what a file writes in [link_class.optical]
// still wins.
inline constexpr double kInterRackHopNs = 722.0;
[[nodiscard]] LinkParams inter_rack_link_params(double clock_mhz);

// Limits the loader enforces (inclusive unless noted); topologies/README.md repeats them.
inline constexpr Cycle kMinLatencyCycles = 1;
inline constexpr Cycle kMaxLatencyCycles = 1'000'000'000;
inline constexpr double kMaxBandwidthGbps = 1'000'000.0;    // (0, max]
inline constexpr double kMaxBitErrorRate = 0.01;            // [0, max]
inline constexpr double kMaxJitterStdCycles = 1'000'000.0;  // [0, max]
inline constexpr std::int64_t kMinWireBytesPerVector = 320;
inline constexpr std::int64_t kMaxWireBytesPerVector = 4096;

struct Endpoint {
  TspId tsp;
  PortId port;
  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

struct Link {
  LinkId id;
  Endpoint a;  // orientation is as written; links are full duplex, so it carries no meaning
  Endpoint b;  // beyond a stable order (digests and resolved TOML keep it)
  LinkClass cls = LinkClass::local;
  LinkParams params;

  // The endpoint at the other side from TSP `from` (which must be a or b).
  [[nodiscard]] const Endpoint& far_end(TspId from) const { return from == a.tsp ? b : a; }
  [[nodiscard]] const Endpoint& near_end(TspId from) const { return from == a.tsp ? a : b; }
};

// Cycles one vector occupies the link: ceil(wire_bytes x 8 bits / bandwidth, in cycles of a
// clock_mhz core clock). 328 B at 100 Gb/s and 900 MHz: 23.6 -> 24 cycles.
[[nodiscard]] Cycle vector_serialisation_cycles(const LinkParams& params, double clock_mhz);

}  // namespace tspemu
