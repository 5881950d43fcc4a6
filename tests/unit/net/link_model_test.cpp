#include "net/link_model.hpp"

#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "common/error.hpp"

namespace tspemu {
namespace {

// Exact values below come from tests/unit/net/link_model_reference.py, an independent Python
// implementation of the same definitions.

TEST(CounterRandom, MatchesTheReferenceImplementation) {
  EXPECT_EQ(counter_random(0, LinkId(0), TspId(0), 0, RandomStream::jitter), 0x5f319a2d70c155aeULL);
  EXPECT_EQ(counter_random(42, LinkId(3), TspId(5), 7, RandomStream::user), 0x47437c0a69c41c42ULL);
}

TEST(CounterRandom, EveryKeyWordMatters) {
  const auto base = counter_random(1, LinkId(2), TspId(3), 4, RandomStream::jitter);
  EXPECT_NE(base, counter_random(2, LinkId(2), TspId(3), 4, RandomStream::jitter));
  EXPECT_NE(base, counter_random(1, LinkId(3), TspId(3), 4, RandomStream::jitter));
  EXPECT_NE(base, counter_random(1, LinkId(2), TspId(4), 4, RandomStream::jitter));
  EXPECT_NE(base, counter_random(1, LinkId(2), TspId(3), 5, RandomStream::jitter));
  EXPECT_NE(base, counter_random(1, LinkId(2), TspId(3), 4, RandomStream::fec_corrected));
  // link and src are not interchangeable
  EXPECT_NE(counter_random(1, LinkId(2), TspId(3), 4, RandomStream::jitter),
            counter_random(1, LinkId(3), TspId(2), 4, RandomStream::jitter));
}

TEST(Jitter, ExactValuesPerDirection) {
  const LinkModelParams p;  // 217 in [209, 228]
  const std::vector<Cycle> forward = {-5, -5, 0, 0, -4, -6, 10, -1, 0, -1, 8, 2, 9, 0, 4, -1};
  const std::vector<Cycle> backward = {2, -7, 0, -3, 10, 4, 4, 9, 3, 4, 3, 3, -8, -4, 11, -5};
  for (std::uint64_t s = 0; s < 16; ++s) {
    EXPECT_EQ(jitter_cycles(p, 42, LinkId(3), TspId(5), s), forward[s]) << "sequence " << s;
    EXPECT_EQ(jitter_cycles(p, 42, LinkId(3), TspId(6), s), backward[s]) << "sequence " << s;
  }
}

TEST(Jitter, UniformOverTheWholeRange) {
  const LinkModelParams p;
  std::map<Cycle, int> histogram;
  std::int64_t sum = 0;
  for (std::uint64_t s = 0; s < 100000; ++s) {
    const Cycle j = jitter_cycles(p, 7, LinkId(1), TspId(0), s);
    ++histogram[j];
    sum += j;
  }
  // Reference: -8 -> 4977, -7 -> 5062, 10 -> 5076, 11 -> 4908 draws; mean 1.49913.
  ASSERT_EQ(histogram.size(), 20U);
  EXPECT_EQ(histogram.begin()->first, -8);
  EXPECT_EQ(histogram.rbegin()->first, 11);
  EXPECT_EQ(histogram[-8], 4977);
  EXPECT_EQ(histogram[-7], 5062);
  EXPECT_EQ(histogram[10], 5076);
  EXPECT_EQ(histogram[11], 4908);
  EXPECT_EQ(sum, 149913);
}

TEST(Jitter, ZeroWidthRangeHasNoJitter) {
  const LinkModelParams p{
      .latency_cycles = 300, .latency_min_cycles = 300, .latency_max_cycles = 300};
  for (std::uint64_t s = 0; s < 100; ++s) {
    EXPECT_EQ(jitter_cycles(p, 1, LinkId(0), TspId(0), s), 0);
  }
}

TEST(Serialisation, CyclesPerVector) {
  // 328 B x 8 = 2624 bits; at 100 Gb/s that is 26.24 ns = 23.616 cycles at 900 MHz.
  EXPECT_EQ(serialisation_cycles(100.0, 900.0), 24);
  // 4 lanes x 25.78125 Gb/s (the SDK's Ethernet rate): 2624 * 900 / 103125 = 22.9 -> 23.
  EXPECT_EQ(serialisation_cycles(103.125, 900.0), 23);
  // Cabled lanes at 28 Gb/s x 4 = 112 Gb/s at 1 GHz: 23.43 -> 24.
  EXPECT_EQ(serialisation_cycles(112.0, 1000.0), 24);
  // Exact divisions do not round up: 2624 bits at 2.624 Gb/s and 1 MHz... = 1000 cycles.
  EXPECT_EQ(serialisation_cycles(2.624, 1.0), 1);
  EXPECT_EQ(serialisation_cycles(2.624, 1000.0), 1000);
  EXPECT_EQ(serialisation_cycles(26.24, 900.0), 90);
  // Never below one cycle.
  EXPECT_EQ(serialisation_cycles(1e6, 900.0), 1);
  EXPECT_EQ(serialisation_cycles(100.0, 900.0, 320), 24);  // 23.04 -> 24
}

TEST(Serialisation, RejectsNonPositiveRates) {
  try {
    (void)serialisation_cycles(0.0, 900.0);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "link bandwidth of 0 Gb/s: it must be positive");
  }
  try {
    (void)serialisation_cycles(100.0, -1.0);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "chip clock of -1 MHz: it must be positive");
  }
}

TEST(FrameErrors, ProbabilityOfAtLeastOneBitError) {
  // 1 - (1 - ber)^2624, reference values from 50-digit decimal arithmetic.
  // The series (n * ber < 4) is accurate to a few ulps; the power beyond to 1e-12.
  EXPECT_NEAR(frame_error_probability(1e-4, 2624), 0.23080681170291260897729329995959977965, 1e-16);
  EXPECT_NEAR(frame_error_probability(1e-3, 2624), 0.92758290403291335570059686102918191013, 1e-15);
  EXPECT_NEAR(frame_error_probability(2e-3, 2624), 0.99476953454558984389442365069357991366, 1e-12);
  EXPECT_NEAR(frame_error_probability(1e-2, 2624), 0.99999999999647831405588552295000894468, 1e-12);
  // Tiny rates stay accurate (a naive power would round 1 - 1e-12 and lose digits).
  EXPECT_DOUBLE_EQ(frame_error_probability(1e-12, 2624), 2.623999996558624003007762622029e-9);
  EXPECT_EQ(frame_error_probability(0.0, 2624), 0.0);
  EXPECT_EQ(frame_error_probability(1.0, 2624), 1.0);
}

TEST(FrameErrors, Bernoulli) {
  EXPECT_FALSE(bernoulli(0, 0.0));
  EXPECT_TRUE(bernoulli(~0ULL, 1.0));
  EXPECT_TRUE(bernoulli(0, 1e-15));
  EXPECT_FALSE(bernoulli(~0ULL, 0.999999));
  EXPECT_TRUE(bernoulli(0x7FFFFFFFFFFFFFFFULL, 0.5000001));
  EXPECT_FALSE(bernoulli(0x8000000000000000ULL, 0.5));
}

TEST(FrameErrors, CorrectedAndUncorrectableCounts) {
  const LinkModelParams p{.bit_error_rate = 1e-4, .uncorrectable_rate = 0.01};
  int corrected = 0;
  int uncorrectable = 0;
  for (std::uint64_t s = 0; s < 100000; ++s) {
    const std::uint8_t flags = fec_flags(p, 7, LinkId(1), TspId(0), s);
    corrected += (flags & kFecCorrected) != 0 ? 1 : 0;
    uncorrectable += (flags & kFecUncorrectable) != 0 ? 1 : 0;
  }
  // Reference counts; expected 23,081 +- 133 and 1,000 +- 31.
  EXPECT_EQ(corrected, 22927);
  EXPECT_EQ(uncorrectable, 1016);
}

TEST(FrameErrors, NoErrorsAtRateZero) {
  const LinkModelParams p;
  for (std::uint64_t s = 0; s < 1000; ++s) {
    EXPECT_EQ(fec_flags(p, 7, LinkId(1), TspId(0), s), 0);
  }
}

TEST(Transmit, ArrivalIsSendPlusLatencyPlusJitter) {
  const LinkModelParams p;
  const Transmission t = transmit(p, 42, LinkId(3), TspId(5), 6, 1000);
  EXPECT_EQ(t, (Transmission{.arrival_cycle = 1000 + 217 + 10, .flags = 0}));
  InFlightVector v;
  v.link = LinkId(3);
  v.src = TspId(6);
  v.sequence = 14;
  v.send_cycle = -5;
  stamp(v, p, 42);
  EXPECT_EQ(v.arrival_cycle, -5 + 217 + 11);
  EXPECT_EQ(v.flags, 0);
}

TEST(Transmit, DoesNotDependOnCallOrder) {
  const LinkModelParams p{.bit_error_rate = 1e-3};
  std::vector<Transmission> forward;
  for (std::uint64_t s = 0; s < 50; ++s) {
    forward.push_back(transmit(p, 9, LinkId(4), TspId(1), s, 128 * static_cast<Cycle>(s)));
  }
  for (std::uint64_t s = 50; s-- > 0;) {
    EXPECT_EQ(transmit(p, 9, LinkId(4), TspId(1), s, 128 * static_cast<Cycle>(s)), forward[s]);
  }
}

TEST(LinkModelParams, ValidationNamesTheKey) {
  auto message = [](const LinkModelParams& p) -> std::string {
    try {
      validate_link_model_params(p, "link[3]");
    } catch (const InputError& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(message(LinkModelParams{}), "");
  EXPECT_EQ(message(LinkModelParams{.latency_min_cycles = 0}),
            "link[3].latency_min_cycles: 0 cycles: a link's smallest latency must be at least 1 "
            "cycle");
  EXPECT_EQ(message(LinkModelParams{.latency_min_cycles = 220}),
            "link[3].latency_min_cycles: 220 cycles exceeds latency_cycles = 217");
  EXPECT_EQ(message(LinkModelParams{.latency_max_cycles = 216}),
            "link[3].latency_max_cycles: 216 cycles is below latency_cycles = 217");
  EXPECT_EQ(message(LinkModelParams{.bandwidth_gbps = -1}),
            "link[3].bandwidth_gbps: -1 Gb/s: bandwidth must be positive");
  EXPECT_EQ(message(LinkModelParams{.bit_error_rate = 1.0}),
            "link[3].bit_error_rate: 1: a bit error rate must be in [0, 1)");
  EXPECT_EQ(message(LinkModelParams{.uncorrectable_rate = 1.5}),
            "link[3].uncorrectable_rate: 1.5: a probability must be in [0, 1]");
}

}  // namespace
}  // namespace tspemu

namespace tspemu {
namespace {

// Replay (docs/network.md): a replayed attempt draws FEC events from its own seed while every
// vector keeps its arrival; without a FEC seed the events are the run seed's.
TEST(Stamp, AReplaySeedRedrawsFecEventsButNotLatencies) {
  LinkModelParams p;
  p.uncorrectable_rate = 0.5;
  int differ = 0;
  for (std::uint64_t s = 0; s < 64; ++s) {
    InFlightVector a;
    a.link = LinkId{2};
    a.src = TspId{1};
    a.sequence = s;
    a.send_cycle = 100;
    InFlightVector b = a;
    InFlightVector c = a;
    stamp(a, p, 7);
    stamp(b, p, 7, 12345);
    stamp(c, p, 7, std::nullopt);
    EXPECT_EQ(a.arrival_cycle, b.arrival_cycle);
    EXPECT_EQ(a.flags, c.flags);
    EXPECT_EQ(b.flags, fec_flags(p, 12345, LinkId{2}, TspId{1}, s));
    differ += a.flags != b.flags ? 1 : 0;
  }
  EXPECT_GT(differ, 16);  // half the draws flag: about half of the pairs differ
  p.uncorrectable_rate = 1.0;
  EXPECT_EQ(fec_flags(p, 1, LinkId{0}, TspId{0}, 0) & kFecUncorrectable, kFecUncorrectable);
}

}  // namespace
}  // namespace tspemu
