#include "net/link_model.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "common/error.hpp"

namespace tspemu {
namespace {

__extension__ using U128 = unsigned __int128;

constexpr std::uint64_t kGolden = 0x9E3779B97F4A7C15ULL;

std::uint64_t word_of(LinkId link, TspId src) {
  return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(link.value)) << 32) |
         static_cast<std::uint32_t>(src.value);
}

void require(bool ok, const std::string& key, const std::string& message) {
  if (!ok) throw InputError(message, ErrorContext{.key = key});
}

}  // namespace

void validate_link_model_params(const LinkModelParams& p, const std::string& key_prefix) {
  require(p.latency_min_cycles >= 1, key_prefix + ".latency_min_cycles",
          fmt::format("{} cycles: a link's smallest latency must be at least 1 cycle",
                      p.latency_min_cycles));
  require(
      p.latency_min_cycles <= p.latency_cycles, key_prefix + ".latency_min_cycles",
      fmt::format("{} cycles exceeds latency_cycles = {}", p.latency_min_cycles, p.latency_cycles));
  require(p.latency_cycles <= p.latency_max_cycles, key_prefix + ".latency_max_cycles",
          fmt::format("{} cycles is below latency_cycles = {}", p.latency_max_cycles,
                      p.latency_cycles));
  require(
      std::isfinite(p.jitter_std_cycles) && p.jitter_std_cycles >= 0,
      key_prefix + ".jitter_std_cycles",
      fmt::format("{}: a standard deviation must be finite and non-negative", p.jitter_std_cycles));
  require(std::isfinite(p.bandwidth_gbps) && p.bandwidth_gbps > 0, key_prefix + ".bandwidth_gbps",
          fmt::format("{} Gb/s: bandwidth must be positive", p.bandwidth_gbps));
  require(p.bit_error_rate >= 0 && p.bit_error_rate < 1, key_prefix + ".bit_error_rate",
          fmt::format("{}: a bit error rate must be in [0, 1)", p.bit_error_rate));
  require(p.uncorrectable_rate >= 0 && p.uncorrectable_rate <= 1,
          key_prefix + ".uncorrectable_rate",
          fmt::format("{}: a probability must be in [0, 1]", p.uncorrectable_rate));
}

std::uint64_t counter_random(std::uint64_t seed, LinkId link, TspId src, std::uint64_t sequence,
                             RandomStream stream) {
  std::uint64_t h = mix64(seed + kGolden);
  h = mix64(h ^ mix64(word_of(link, src) + 2 * kGolden));
  h = mix64(h ^ mix64(sequence + 3 * kGolden));
  h = mix64(h ^ mix64(static_cast<std::uint64_t>(stream) + 4 * kGolden));
  return h;
}

Cycle serialisation_cycles(double bandwidth_gbps, double clock_mhz, int wire_bytes) {
  if (!(std::isfinite(bandwidth_gbps) && bandwidth_gbps > 0)) {
    throw InputError(fmt::format("link bandwidth of {} Gb/s: it must be positive", bandwidth_gbps));
  }
  if (!(std::isfinite(clock_mhz) && clock_mhz > 0)) {
    throw InputError(fmt::format("chip clock of {} MHz: it must be positive", clock_mhz));
  }
  TSPEMU_ASSERT(wire_bytes > 0, "a vector occupies at least one byte on the wire");
  // bits / (kbps * 1000 bit/s) seconds * (khz * 1000 Hz) = bits * khz / kbps cycles.
  const auto clock_khz = static_cast<std::uint64_t>(std::llround(clock_mhz * 1e3));
  const auto bandwidth_kbps = static_cast<std::uint64_t>(std::llround(bandwidth_gbps * 1e6));
  if (clock_khz == 0 || bandwidth_kbps == 0) {
    throw InputError(fmt::format(
        "link bandwidth {} Gb/s or clock {} MHz rounds to zero at 1 kb/s / 1 kHz resolution",
        bandwidth_gbps, clock_mhz));
  }
  const U128 numerator = static_cast<U128>(8 * static_cast<std::uint64_t>(wire_bytes)) * clock_khz;
  const U128 cycles = (numerator + bandwidth_kbps - 1) / bandwidth_kbps;
  return cycles < 1 ? 1 : static_cast<Cycle>(cycles);
}

Cycle jitter_cycles(const LinkModelParams& params, std::uint64_t seed, LinkId link, TspId src,
                    std::uint64_t sequence, RandomStream stream) {
  const Cycle low = params.latency_min_cycles - params.latency_cycles;
  if (params.jitter_std_cycles > 0) {
    const Cycle high = params.latency_max_cycles - params.latency_cycles;
    // Three 64-bit draws give twelve 16-bit uniforms; their sum S has mean 12 x 32767.5.
    std::int64_t sum = 0;
    std::uint64_t r = counter_random(seed, link, src, sequence, stream);
    for (int word = 0; word < 3; ++word) {
      for (int k = 0; k < 4; ++k) sum += static_cast<std::int64_t>((r >> (16 * k)) & 0xFFFFU);
      r = mix64(r + 0x9E3779B97F4A7C15ULL);
    }
    // z x 65536 = S + 6 - 6 x 65536: each uniform is (u + 0.5) / 65536.
    const double z = static_cast<double>(sum + 6 - 6 * 65536) / 65536.0;
    const auto j = static_cast<Cycle>(std::llround(z * params.jitter_std_cycles));
    return std::clamp(j, low, high);
  }
  const auto range =
      static_cast<std::uint64_t>(params.latency_max_cycles - params.latency_min_cycles + 1);
  const std::uint64_t r = counter_random(seed, link, src, sequence, stream);
  // Multiply-high maps 64 random bits onto [0, range) with a bias below range / 2^64.
  const auto offset = static_cast<std::uint64_t>((static_cast<U128>(r) * range) >> 64);
  return low + static_cast<Cycle>(offset);
}

double frame_error_probability(double bit_error_rate, int bits) {
  if (bit_error_rate <= 0 || bits <= 0) return 0.0;
  if (bit_error_rate >= 1) return 1.0;
  const double n = bits;
  if (n * bit_error_rate < 4.0) {
    // 1 - (1-p)^n = sum_k (-1)^(k+1) C(n,k) p^k. Accurate to a few ulps here (the largest term
    // is below 11), where the power below would carry the rounding of 1 - p, amplified n times
    // (relative error up to n * 2^-53 = 3e-13 at 2,624 bits).
    double term = n * bit_error_rate;
    double sum = term;
    for (int k = 1; k < bits; ++k) {
      term *= -(n - k) / (k + 1) * bit_error_rate;
      sum += term;
      if (std::fabs(term) < 1e-20 * sum) break;
    }
    return sum;
  }
  // p > 0.98 here: the power's absolute error (< 1e-12) no longer matters.
  double base = 1.0 - bit_error_rate;
  double survive = 1.0;
  for (unsigned e = static_cast<unsigned>(bits); e != 0; e >>= 1U) {
    if ((e & 1U) != 0) survive *= base;
    base *= base;
  }
  return 1.0 - survive;
}

bool bernoulli(std::uint64_t random, double probability) {
  if (!(probability > 0)) return false;
  if (probability >= 1) return true;
  const auto threshold = static_cast<std::uint64_t>(probability * 9007199254740992.0);  // 2^53
  return (random >> 11) < threshold;
}

std::uint8_t fec_flags(const LinkModelParams& params, std::uint64_t seed, LinkId link, TspId src,
                       std::uint64_t sequence) {
  std::uint8_t flags = 0;
  if (params.bit_error_rate > 0) {
    const double p = frame_error_probability(params.bit_error_rate, 8 * kWireBytesPerVector);
    if (bernoulli(counter_random(seed, link, src, sequence, RandomStream::fec_corrected), p)) {
      flags |= kFecCorrected;
    }
  }
  if (params.uncorrectable_rate > 0 &&
      bernoulli(counter_random(seed, link, src, sequence, RandomStream::fec_uncorrectable),
                params.uncorrectable_rate)) {
    flags |= kFecUncorrectable;
  }
  return flags;
}

Transmission transmit(const LinkModelParams& params, std::uint64_t seed, LinkId link, TspId src,
                      std::uint64_t sequence, Cycle send_cycle) {
  return Transmission{.arrival_cycle = send_cycle + params.latency_cycles +
                                       jitter_cycles(params, seed, link, src, sequence),
                      .flags = fec_flags(params, seed, link, src, sequence)};
}

void stamp(InFlightVector& vector, const LinkModelParams& params, std::uint64_t seed,
           std::optional<std::uint64_t> fec_seed) {
  // One draw of each: the latency from the run seed, the FEC events from the attempt's seed.
  vector.arrival_cycle = vector.send_cycle + params.latency_cycles +
                         jitter_cycles(params, seed, vector.link, vector.src, vector.sequence);
  vector.flags =
      fec_flags(params, fec_seed.value_or(seed), vector.link, vector.src, vector.sequence);
}

}  // namespace tspemu
