#include "net/local_transport.hpp"

#include "net_scenario.hpp"
#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "common/error.hpp"
#include "net/mpi_transport.hpp"
#include "net/watched_comm.hpp"

namespace tspemu {
namespace {

using net_test::Scenario;

// A deterministic scenario gives the same digests every time and matches what each TSP computes
// it must receive.
TEST(LocalTransport, RingDeliversExactlyTheExpectedSequence) {
  const Scenario scenario = net_test::ring_scenario(5, 200, 3);
  LocalTransport transport(scenario.layout);
  const auto outcome = net_test::run_scenario(transport, scenario);
  EXPECT_EQ(outcome.problem, "");
  EXPECT_GT(outcome.vectors_delivered, 1000);
  EXPECT_GE(outcome.final_cycle, 200 * 128 - 128);
  EXPECT_TRUE(outcome.last_agreement.finished());
  EXPECT_EQ(outcome.last_agreement.tsps, 5);
  EXPECT_EQ(transport.stats().vectors_sent, outcome.vectors_delivered);
  EXPECT_EQ(transport.stats().vectors_received, outcome.vectors_delivered);
  EXPECT_EQ(transport.stats().messages_elided, 0);

  LocalTransport again(scenario.layout);
  const auto repeat = net_test::run_scenario(again, scenario);
  EXPECT_EQ(repeat.tsp_digests, outcome.tsp_digests);
  EXPECT_EQ(repeat.final_cycle, outcome.final_cycle);
}

TEST(LocalTransport, MeshWithLongLinksAndBitErrors) {
  const Scenario scenario = net_test::mesh_scenario(6, 150, 4);
  LocalTransport transport(scenario.layout);
  const auto outcome = net_test::run_scenario(transport, scenario);
  EXPECT_EQ(outcome.problem, "");
  EXPECT_GT(outcome.corrected, 0);
  EXPECT_GT(outcome.uncorrectable, 0);
  // The long links (630..672 cycles) deliver up to 5 windows after the traffic stops.
  EXPECT_GT(outcome.final_cycle, 150 * 128);
}

TEST(LocalTransport, DigestsDependOnTheSeed) {
  const Scenario a = net_test::ring_scenario(4, 50, 1);
  const Scenario b = net_test::ring_scenario(4, 50, 2);
  LocalTransport ta(a.layout);
  LocalTransport tb(b.layout);
  EXPECT_NE(net_test::run_scenario(ta, a).tsp_digests, net_test::run_scenario(tb, b).tsp_digests);
}

TEST(LocalTransport, FinalCycleDoesNotDependOnTheAgreementInterval) {
  Scenario scenario = net_test::mesh_scenario(4, 100, 5);
  std::vector<Cycle> finals;
  std::vector<std::vector<Digest128>> digests;
  for (const std::int64_t k : {1, 2, 7}) {
    scenario.agree_every_epochs = k;
    LocalTransport transport(scenario.layout);
    const auto outcome = net_test::run_scenario(transport, scenario);
    EXPECT_EQ(outcome.problem, "");
    finals.push_back(outcome.final_cycle);
    digests.push_back(outcome.tsp_digests);
  }
  EXPECT_EQ(finals[0], finals[1]);
  EXPECT_EQ(finals[0], finals[2]);
  EXPECT_EQ(digests[0], digests[2]);
}

TEST(LocalTransport, ElisionKeepsResultsIdentical) {
  Scenario scenario = net_test::rack_scenario(2, 100, 6);
  scenario.traffic_percent = 15;
  LocalTransport plain(scenario.layout);
  const auto reference = net_test::run_scenario(plain, scenario);
  LocalTransport elided(scenario.layout);
  elided.set_plan(net_test::make_plan(scenario));
  const auto outcome = net_test::run_scenario(elided, scenario);
  EXPECT_EQ(outcome.problem, "");
  EXPECT_EQ(outcome.tsp_digests, reference.tsp_digests);
  EXPECT_EQ(outcome.final_cycle, reference.final_cycle);
  EXPECT_GT(elided.stats().messages_elided, 4 * elided.stats().messages_sent);
}

TEST(LocalTransport, RackPatternHasElevenNeighboursPerTsp) {
  const Scenario scenario = net_test::rack_scenario(9, 1, 1);
  EXPECT_EQ(scenario.layout->links().size(), 9U * 28U + 36U * 4U);
  for (std::int32_t t = 0; t < 72; ++t) {
    EXPECT_EQ(scenario.layout->neighbours(TspId(t)).size(), 11U) << "TSP " << t;
  }
}

class LocalTransportErrors : public ::testing::Test {
 protected:
  Scenario scenario_ = net_test::ring_scenario(3, 10, 7);
  LocalTransport transport_{scenario_.layout};
  std::vector<Outbox> outboxes_;
  std::vector<std::vector<InFlightVector>> incoming_{3};

  void SetUp() override {
    for (std::int32_t t = 0; t < 3; ++t) outboxes_.emplace_back(*scenario_.layout, TspId(t));
  }
  // A stamped vector from TSP 0 to TSP 1 over link 0 sent at `cycle`.
  InFlightVector vector_at(Cycle cycle, std::uint64_t sequence = 0) const {
    const LinkSpec& l = scenario_.layout->link(LinkId(0));
    InFlightVector v;
    v.link = l.id;
    v.src = l.a;
    v.src_port = l.a_port;
    v.dst = l.b;
    v.dst_port = l.b_port;
    v.send_cycle = cycle;
    v.sequence = sequence;
    stamp(v, l.params, 1);
    return v;
  }
  std::string exchange_error(WindowIndex window) {
    try {
      transport_.exchange(window, outboxes_, incoming_);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
};

TEST_F(LocalTransportErrors, OutboxRejectsANonNeighbour) {
  InFlightVector v = vector_at(10);
  v.dst = TspId(2);  // not a neighbour of TSP 0 in a ring of 4
  const Scenario four = net_test::ring_scenario(4, 1, 1);
  Outbox outbox(*four.layout, TspId(0));
  try {
    outbox.add(v);
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_STREQ(e.what(),
                 "vector on link 0 is addressed to TSP 2, which shares no link with TSP 0 "
                 "(tsp 0, cycle 10)");
  }
  v.src = TspId(1);
  try {
    outbox.add(v);
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_STREQ(e.what(),
                 "vector from TSP 1 on link 0 was put in the outbox of TSP 0 (tsp 0, cycle 10)");
  }
}

TEST_F(LocalTransportErrors, TooManyVectorsTowardOneNeighbour) {
  // Ring of 3: one link 0-1, capacity ceil(128 / 24) = 6 per window.
  for (int i = 0; i < 7; ++i) outboxes_[0].add(vector_at(10 + 17 * i, static_cast<unsigned>(i)));
  EXPECT_EQ(exchange_error(0),
            "TSP 0 put 7 vectors toward TSP 1 in window 0 (cycles 0..127), but its links to TSP "
            "1 carry at most 6 per window at their serialisation rate (tsp 0, cycle 10)");
}

TEST_F(LocalTransportErrors, TrafficThePlanDoesNotAnnounce) {
  auto plan = std::make_shared<ExchangePlan>();
  plan->add(TspId(0), TspId(1), 1);
  transport_.set_plan(plan);
  outboxes_[0].add(vector_at(100));
  EXPECT_EQ(exchange_error(0),
            "TSP 0 sent a vector on link 0 to TSP 1 at cycle 100 (window 0), but the exchange "
            "plan announces no traffic from TSP 0 to TSP 1 in that window (tsp 0, cycle 100)");
}

TEST_F(LocalTransportErrors, WindowsMustIncrease) {
  EXPECT_EQ(exchange_error(4), "");
  EXPECT_EQ(exchange_error(4),
            "exchange of window 4 after window 4: windows must be exchanged in increasing order");
  EXPECT_EQ(exchange_error(9), "");  // skipping windows is allowed
}

TEST_F(LocalTransportErrors, AgreementMustCountEveryTsp) {
  try {
    (void)transport_.agree(ControlState{.tsps = 2});
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_STREQ(e.what(),
                 "the agreement combined the state of 2 TSPs, but the network has 3: every TSP "
                 "must contribute exactly once");
  }
}

TEST_F(LocalTransportErrors, DeliversAVectorInCanonicalOrderToItsReceiver) {
  outboxes_[0].add(vector_at(100, 1));
  outboxes_[0].add(vector_at(20, 0));
  EXPECT_EQ(exchange_error(0), "");
  ASSERT_EQ(incoming_[1].size(), 2U);
  EXPECT_TRUE(incoming_[0].empty());
  EXPECT_TRUE(incoming_[2].empty());
  EXPECT_EQ(incoming_[1][0], vector_at(20, 0));
  EXPECT_EQ(incoming_[1][1], vector_at(100, 1));
}

TEST(LocalTransportDeathTest, AbortPrintsOnceAndExitsWithTheErrorsCode) {
  const Scenario scenario = net_test::ring_scenario(2, 1, 1);
  LocalTransport transport(scenario.layout);
  EXPECT_EXIT(transport.abort(ScheduleError("late arrival", ErrorContext{.tsp = 1, .cycle = 99})),
              ::testing::ExitedWithCode(1),
              "^tspemu: error: late arrival \\(tsp 1, cycle 99\\)\n$");
}

TEST(AbortJobDeathTest, WithoutMpiItPrintsAndExits) {
  // MPI_Initialized may be called before MPI_Init: abort_job works in programs that never start
  // MPI (and after MPI_Finalize).
  EXPECT_EXIT(abort_job(InputError("bad topology")), ::testing::ExitedWithCode(2),
              "^tspemu: error: bad topology\n$");
  EXPECT_EXIT(abort_job(std::logic_error("oops")), ::testing::ExitedWithCode(1),
              "^tspemu: error: internal error: oops \\(this is a tspemu bug\\)\n$");
}

TEST(MpiMessages, RankCountProblem) {
  // One or more TSPs per rank: only more ranks than TSPs is a problem.
  EXPECT_EQ(rank_count_problem(72, 72), std::nullopt);
  EXPECT_EQ(rank_count_problem(8, 72), std::nullopt);
  EXPECT_EQ(rank_count_problem(1, 8), std::nullopt);
  EXPECT_EQ(rank_count_problem(2, 1),
            "the topology has 1 TSP but this job has 2 ranks: tspemu runs one or more TSPs per MPI "
            "rank, so start it with at most 1 rank (`mpirun -n 1 ...` or fewer, or `srun "
            "--mpi=pmix -n 1 ...`)");
}

TEST(MpiMessages, WatchdogVerdictNamesTheRankThatDoesNotRespond) {
  const std::vector<std::string> awaited = {"the message from rank 5 (TSP 5)",
                                            "rank 7 (TSP 7) to accept our message"};
  const std::vector<std::string> silent = {"rank 5 (TSP 5)"};
  const std::vector<std::string> waiting = {
      "rank 7 (TSP 7) in the exchange of window 12 (cycles 1536..1663) of TSP 7"};
  EXPECT_EQ(watchdog_verdict(30, "the exchange of window 12 (cycles 1536..1663) of TSP 6", awaited,
                             silent, waiting),
            "watchdog: waited 30 s in the exchange of window 12 (cycles 1536..1663) of TSP 6 for "
            "the message from rank 5 (TSP 5), rank 7 (TSP 7) to accept our message; rank 5 (TSP 5) "
            "does not respond: it stopped, crashed or is slower than the watchdog limit (waiting "
            "for it: rank 7 (TSP 7) in the exchange of window 12 (cycles 1536..1663) of TSP 7)");
  EXPECT_EQ(watchdog_verdict(2, "agreement 3 (after window 95)",
                             std::vector<std::string>{"the agreed record from rank 0"},
                             std::vector<std::string>{"rank 0", "rank 4"}, {}),
            "watchdog: waited 2 s in agreement 3 (after window 95) for the agreed record from rank "
            "0; rank 0, rank 4 do not respond: they stopped, crashed or are slower than the "
            "watchdog limit");
  EXPECT_EQ(watchdog_verdict(2, "agreement 3 (after window 95)",
                             std::vector<std::string>{"the record from rank 1"}, {},
                             std::vector<std::string>{"rank 1 in the exchange of window 96"}),
            "watchdog: waited 2 s in agreement 3 (after window 95) for the record from rank 1; "
            "every rank on the way waits for another (rank 1 in the exchange of window 96): the "
            "ranks disagree on the order of their exchanges");
}

}  // namespace
}  // namespace tspemu
