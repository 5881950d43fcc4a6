#pragma once
// The link model: latency, jitter, serialisation and FEC events of one C2C link (docs/design.md
// sections 6 and 8).
//
// Everything here is a pure function of its arguments. Randomness comes from a counter-based
// generator keyed by (run seed, link, direction, vector sequence, stream): the jitter and the error
// events of a vector depend on which vector it is, never on when it was sent in wall-clock time,
// on the rank count or on the order in which ranks call the model.
//
// The model, per vector sent at cycle s on a link with parameters p (see docs/network.md):
//   arrival = s + p.latency_cycles + jitter,
//   jitter  uniform over the integers [p.latency_min_cycles - p.latency_cycles,
//                                      p.latency_max_cycles - p.latency_cycles].
//     Uniform, not the measured bell shape (ISCA'22 Table 2: range 209..228 around a mean of 217,
//     std 2.6-2.9 cycles, so the extremes are 2.7 and 3.8 standard deviations out and rare): a
//     uniform draw hits each end of the range once in 20 vectors, which is what tests a schedule's
//     receive margins. The range, not the shape, is what the compiler must respect.
//   With p.jitter_std_cycles = s > 0 the shape is the measured bell instead:
//     jitter = clip(round_half_away(z x s), [min - latency, max - latency]),
//     z = (U_1 + ... + U_12) - 6 with U_k uniform 16-bit fractions (Irwin-Hall: mean 0, variance
//     1, within +-6). Integer sums and one IEEE multiplication: identical on every host. Table 2's
//     shape (mean 216.3-217.4, std 2.6-2.9 of the echo estimate) needs s = 4 on a 209/217/228
//     link (docs/clocks.md).
//   FEC corrected:     with probability 1 - (1 - p.bit_error_rate)^(8 * 328), i.e. at least one
//     wire bit of the 328-byte frame flipped. The FEC corrects it in place (data unchanged); the
//     vector carries kFecCorrected so reports can count it.
//   FEC uncorrectable: independently, with probability p.uncorrectable_rate per vector (an error
//     burst the code only detects). The vector carries kFecUncorrectable; net does not corrupt the
//     payload, the runtime must not use it and replays from its last checkpoint.
// Serialisation (the minimum spacing of two sends on one link direction) is
//   ceil(8 * 328 bytes * clock / bandwidth) cycles; it does not add to the latency above (the
// latency is measured send-to-arrival of a whole vector).

#include <cstdint>
#include <optional>
#include <string>

#include "common/ids.hpp"
#include "common/mix64.hpp"
#include "net/in_flight.hpp"

namespace tspemu {

// Bytes one 320-byte vector occupies on the wire (framing and FEC included): 328.
inline constexpr int kWireBytesPerVector = 328;

// Timing and error parameters of one link (both directions alike). The defaults are the
// intra-node link of ISCA'22 Table 2 (latency min 209 / mean 217 / max 228 cycles) at 100 Gb/s
// (4 lanes x 25 Gb/s); topologies set their own.
struct LinkModelParams {
  Cycle latency_cycles = 217;       // nominal send-to-arrival latency
  Cycle latency_min_cycles = 209;   // smallest latency jitter can give (>= 1)
  Cycle latency_max_cycles = 228;   // largest latency jitter can give
  double jitter_std_cycles = 0.0;   // 0: uniform jitter; > 0: clipped rounded normal (above)
  double bandwidth_gbps = 100.0;    // per direction, decimal gigabits per second
  double bit_error_rate = 0.0;      // probability that one wire bit flips, in [0, 1)
  double uncorrectable_rate = 0.0;  // probability that one vector is uncorrectable, in [0, 1]

  friend bool operator==(const LinkModelParams&, const LinkModelParams&) = default;
};

// Throws InputError naming `key_prefix` + field (e.g. "link[3].latency_min_cycles") unless
// 1 <= latency_min <= latency <= latency_max, bandwidth_gbps > 0 and the rates are in range.
void validate_link_model_params(const LinkModelParams& params, const std::string& key_prefix);

// Independent streams of randomness of one vector.
enum class RandomStream : std::uint64_t {
  jitter = 1,
  fec_corrected = 2,
  fec_uncorrectable = 3,
  hac_protocol = 4,  // HAC echoes and parent/child exchanges (clock/hac_sync.hpp)
  user = 1024,       // first stream free for callers (tests and synthetic traffic use user + k)
};

// 64 random bits, a pure function of the key: the seed and each key word pass through mix64 in
// turn. `src` names the direction of the link (the sending TSP).
[[nodiscard]] std::uint64_t counter_random(std::uint64_t seed, LinkId link, TspId src,
                                           std::uint64_t sequence, RandomStream stream);

// Serialisation time of one vector: ceil(8 * wire_bytes * clock_mhz / (1000 * bandwidth_gbps))
// cycles, at least 1. Computed exactly in integers after rounding the clock to 1 kHz and the
// bandwidth to 1 kb/s, so 100 Gb/s at 900 MHz gives ceil(23.616) = 24 on every host.
// Throws InputError unless both are positive.
[[nodiscard]] Cycle serialisation_cycles(double bandwidth_gbps, double clock_mhz,
                                         int wire_bytes = kWireBytesPerVector);

// Jitter of one vector, in [latency_min - latency, latency_max - latency]. Protocol messages (the
// HAC's) draw from their own stream, so they never share a draw with a data vector.
[[nodiscard]] Cycle jitter_cycles(const LinkModelParams& params, std::uint64_t seed, LinkId link,
                                  TspId src, std::uint64_t sequence,
                                  RandomStream stream = RandomStream::jitter);

// Probability that at least one of `bits` bits flips at `bit_error_rate`, computed with IEEE
// multiplications only (exponentiation by squaring), so it is identical on every host.
[[nodiscard]] double frame_error_probability(double bit_error_rate, int bits);

// True with probability `probability`, decided by the 53 high bits of `random`.
[[nodiscard]] bool bernoulli(std::uint64_t random, double probability);

// InFlightFlag bits of one vector.
[[nodiscard]] std::uint8_t fec_flags(const LinkModelParams& params, std::uint64_t seed, LinkId link,
                                     TspId src, std::uint64_t sequence);

struct Transmission {
  Cycle arrival_cycle = 0;
  std::uint8_t flags = 0;  // InFlightFlag bits
  friend bool operator==(const Transmission&, const Transmission&) = default;
};

[[nodiscard]] Transmission transmit(const LinkModelParams& params, std::uint64_t seed, LinkId link,
                                    TspId src, std::uint64_t sequence, Cycle send_cycle);

// Fills vector.arrival_cycle and vector.flags from its link, src, sequence and send_cycle.
// `fec_seed` keys the FEC events (default: `seed`): a replayed attempt draws its error events anew
// while every vector keeps its latency (docs/network.md, "Replay").
void stamp(InFlightVector& vector, const LinkModelParams& params, std::uint64_t seed,
           std::optional<std::uint64_t> fec_seed = std::nullopt);

}  // namespace tspemu
