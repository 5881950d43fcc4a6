// MpiTransport against the LocalTransport reference, at whatever rank count mpiexec gives
// (registered at np=1, 2, 8 and 72 in tests/mpi/CMakeLists.txt). The scenarios are built for comm
// size TSPs (one per rank), or a multiple of it with a rank placement (several per rank). Every
// rank checks that it receives exactly the canonical sequence the scenario implies; rank 0 runs the
// same scenario on LocalTransport and every rank compares its digest and the final cycle with that
// reference.
//
// Own main: MPI_Init_thread(FUNNELED); ranks other than 0 replace the gtest printer with one that
// prints only failures, tagged with the rank; the exit code is the MAX over ranks.

#include "net_scenario.hpp"
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <vector>

#include "net/local_transport.hpp"
#include "net/mpi_transport.hpp"
#include "net/watched_comm.hpp"

namespace tspemu::net_test {
namespace {

int world_rank() {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

int world_size() {
  int size = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

// Fewer windows at high rank counts: 72 ranks share 2 cores.
WindowIndex windows_for(WindowIndex small) {
  return world_size() > 8 ? small / 4 : small;
}

struct Reference {
  std::vector<Digest128> digests;  // per TSP
  Cycle final_cycle = -1;
  std::int64_t vectors = 0;
};

// Rank 0 runs the scenario on LocalTransport and broadcasts the per-TSP digests and final cycle.
Reference local_reference(const Scenario& scenario, const RunOptions& options) {
  const int tsps = static_cast<int>(scenario.layout->tsp_count());
  std::vector<std::uint64_t> words(2 * static_cast<std::size_t>(tsps) + 2, 0);
  if (world_rank() == 0) {
    LocalTransport local(scenario.layout);
    const RunOutcome outcome = run_scenario(local, scenario, options);
    EXPECT_EQ(outcome.problem, "");
    for (int t = 0; t < tsps; ++t) {
      words[2 * static_cast<std::size_t>(t)] =
          outcome.tsp_digests[static_cast<std::size_t>(t)].high;
      words[2 * static_cast<std::size_t>(t) + 1] =
          outcome.tsp_digests[static_cast<std::size_t>(t)].low;
    }
    words[words.size() - 2] = static_cast<std::uint64_t>(outcome.final_cycle);
    words[words.size() - 1] = static_cast<std::uint64_t>(outcome.vectors_delivered);
  }
  MPI_Bcast(words.data(), static_cast<int>(words.size()), MPI_UINT64_T, 0, MPI_COMM_WORLD);
  Reference ref;
  for (int t = 0; t < tsps; ++t) {
    ref.digests.push_back(Digest128{words[2 * static_cast<std::size_t>(t)],
                                    words[2 * static_cast<std::size_t>(t) + 1]});
  }
  ref.final_cycle = static_cast<Cycle>(words[words.size() - 2]);
  ref.vectors = static_cast<std::int64_t>(words[words.size() - 1]);
  return ref;
}

std::int64_t sum_over_ranks(std::int64_t value) {
  std::int64_t sum = 0;
  MPI_Allreduce(&value, &sum, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
  return sum;
}

// Runs `scenario` under MPI and checks it against the local reference on every rank.
void expect_matches_reference(const Scenario& scenario, const MpiTransportOptions& options = {},
                              std::shared_ptr<const ExchangePlan> plan = nullptr) {
  const RunOptions run_options;
  const Reference ref = local_reference(scenario, run_options);
  WatchedComm comm(MPI_COMM_WORLD, 300);
  MpiTransport transport(comm, scenario.layout, options);
  transport.set_plan(std::move(plan));
  const RunOutcome outcome = run_scenario(transport, scenario, run_options);
  EXPECT_EQ(outcome.problem, "") << "rank " << world_rank();
  const auto local = transport.local_tsps();
  EXPECT_EQ(outcome.tsp_digests.size(), local.size());
  for (std::size_t i = 0; i < local.size() && i < outcome.tsp_digests.size(); ++i) {
    EXPECT_EQ(outcome.tsp_digests[i].hex(), ref.digests[local[i].index()].hex())
        << scenario.name << ": TSP " << local[i].value << " on rank " << world_rank();
  }
  EXPECT_EQ(outcome.final_cycle, ref.final_cycle) << scenario.name;
  EXPECT_EQ(sum_over_ranks(outcome.vectors_delivered), ref.vectors) << scenario.name;
  if (world_size() > 1) {
    EXPECT_GT(ref.vectors, 0) << scenario.name << ": no traffic at all";
  }
}

TEST(MpiTransport, RingMatchesLocalReference) {
  expect_matches_reference(ring_scenario(world_size(), windows_for(400), 11));
}

TEST(MpiTransport, FullMeshMatchesLocalReference) {
  Scenario scenario = mesh_scenario(world_size(), windows_for(200), 12);
  if (world_size() > 8) {
    scenario.windows = 12;  // 71 neighbours per rank: keep the 72-rank run short
    scenario.traffic_percent = 30;
  }
  expect_matches_reference(scenario);
}

TEST(MpiTransport, RackPatternMatchesLocalReference) {
  if (world_size() % 8 != 0 || world_size() / 8 > 9) GTEST_SKIP() << "needs 8 x (1..9) ranks";
  expect_matches_reference(rack_scenario(world_size() / 8, windows_for(200), 13));
}

TEST(MpiTransport, ElisionByPlanGivesTheSameDigests) {
  const int size = world_size();
  Scenario scenario = size <= 8                          ? mesh_scenario(size, 200, 14)
                      : (size % 8 == 0 && size / 8 <= 9) ? rack_scenario(size / 8, 50, 14)
                                                         : ring_scenario(size, 50, 14);
  scenario.traffic_percent = 10;  // mostly empty windows
  expect_matches_reference(scenario, {}, make_plan(scenario));
}

TEST(MpiTransport, PlanElidesMessagesBothWays) {
  Scenario scenario = ring_scenario(world_size(), 64, 15);
  scenario.traffic_percent = 10;
  const auto plan = make_plan(scenario);
  WatchedComm comm(MPI_COMM_WORLD, 300);
  MpiTransport transport(comm, scenario.layout);
  transport.set_plan(plan);
  const RunOutcome outcome = run_scenario(transport, scenario);
  EXPECT_EQ(outcome.problem, "");
  if (world_size() > 1) {
    EXPECT_GT(transport.stats().messages_elided, transport.stats().messages_sent);
  }
  // One message per announced (from, to, window), none otherwise.
  EXPECT_EQ(sum_over_ranks(transport.stats().messages_sent),
            static_cast<std::int64_t>(plan->size()));
}

TEST(MpiTransport, ReversedRankPlacementGivesTheSameDigests) {
  MpiTransportOptions options;
  for (int t = 0; t < world_size(); ++t) options.rank_of_tsp.push_back(world_size() - 1 - t);
  Scenario scenario = ring_scenario(world_size(), windows_for(200), 16);
  expect_matches_reference(scenario, options);
}

// Several TSPs per rank: three per rank in contiguous blocks, and dealt out round-robin (so that
// every TSP's ring neighbours are on other ranks), give the reference's digests.
TEST(MpiTransport, SeveralTspsPerRankMatchTheLocalReference) {
  const int size = world_size();
  const int tsps = 3 * size;
  for (const bool round_robin : {false, true}) {
    MpiTransportOptions options;
    for (int t = 0; t < tsps; ++t) options.rank_of_tsp.push_back(round_robin ? t % size : t / 3);
    Scenario scenario = size <= 8 ? mesh_scenario(tsps, windows_for(100), 20)
                                  : ring_scenario(tsps, windows_for(100), 20);
    scenario.traffic_percent = 40;
    expect_matches_reference(scenario, options, make_plan(scenario));
  }
}

// Messages between ranks: at most one per pair of ranks, direction and window, however many TSP
// pairs cross; the per-TSP-pair counts equal LocalTransport's.
TEST(MpiTransport, OneMessagePerPairOfRanksAndWindow) {
  const int size = world_size();
  if (size > 8) GTEST_SKIP() << "a full mesh of 3 x 72 TSPs is too slow for this check";
  const Scenario scenario = mesh_scenario(3 * size, 16, 21);
  MpiTransportOptions options;
  for (int t = 0; t < 3 * size; ++t) options.rank_of_tsp.push_back(t / 3);
  WatchedComm comm(MPI_COMM_WORLD, 300);
  MpiTransport transport(comm, scenario.layout, options);
  const RunOutcome outcome = run_scenario(transport, scenario);
  EXPECT_EQ(outcome.problem, "");
  EXPECT_EQ(transport.local_tsps().size(), 3U);
  const std::int64_t windows = transport.stats().windows;
  EXPECT_EQ(transport.stats().rank_messages_sent, windows * (size - 1));
  // Without a plan every TSP sends one logical message per neighbour per window.
  EXPECT_EQ(sum_over_ranks(transport.stats().messages_sent), windows * (3 * size) * (3 * size - 1));
}

TEST(MpiTransport, FinalCycleDoesNotDependOnTheAgreementInterval) {
  for (const std::int64_t k : {1, 3}) {
    Scenario scenario = ring_scenario(world_size(), windows_for(100), 17);
    scenario.agree_every_epochs = k;
    expect_matches_reference(scenario);
  }
}

TEST(MpiTransport, AgreementCombinesEveryFieldExactly) {
  const int size = world_size();
  const int rank = world_rank();
  for (const int fanout : {256, 2, 1}) {
    MpiTransportOptions options;
    options.agree_fanout = fanout;
    const Scenario scenario = ring_scenario(size, 1, 18);
    WatchedComm comm(MPI_COMM_WORLD, 300);
    MpiTransport transport(comm, scenario.layout, options);
    for (int round = 0; round < 3; ++round) {
      const ControlState mine{.tsps = 1,
                              .active_tsps = rank % 2,
                              .vectors_sent = 1000 + rank,
                              .vectors_received = rank,
                              .vectors_pending = round,
                              .last_active_cycle = 10 * rank + round,
                              .next_event_cycle = 500 - rank,
                              .flags = rank == size - 1 ? std::uint64_t{kCheckpointRequested} : 0U};
      const ControlState agreed = transport.agree(mine);
      const std::int64_t n = size;
      EXPECT_EQ(agreed.tsps, n);
      EXPECT_EQ(agreed.active_tsps, n / 2);
      EXPECT_EQ(agreed.vectors_sent, 1000 * n + n * (n - 1) / 2);
      EXPECT_EQ(agreed.vectors_received, n * (n - 1) / 2);
      EXPECT_EQ(agreed.vectors_pending, round * n);
      EXPECT_EQ(agreed.last_active_cycle, 10 * (n - 1) + round);
      EXPECT_EQ(agreed.next_event_cycle, 500 - (n - 1));
      EXPECT_EQ(agreed.flags, static_cast<std::uint64_t>(kCheckpointRequested));
    }
    EXPECT_EQ(transport.stats().agreements, 3);
  }
}

TEST(MpiTransport, AgreementRejectsAWrongTspCount) {
  const Scenario scenario = ring_scenario(world_size(), 1, 19);
  WatchedComm comm(MPI_COMM_WORLD, 300);
  MpiTransport transport(comm, scenario.layout);
  const ControlState mine{.tsps = 2};
  try {
    (void)transport.agree(mine);
    FAIL() << "expected RuntimeError";
  } catch (const RuntimeError& e) {
    EXPECT_EQ(e.message(),
              fmt::format("the agreement combined the state of {} TSPs, but the network has {}: "
                          "every TSP must contribute exactly once",
                          2 * world_size(), world_size()));
  }
}

TEST(MpiTransport, RankCountCheckPassesForTheRightSize) {
  EXPECT_EQ(check_rank_count(MPI_COMM_WORLD, world_size()), kExitOk);
}

// gtest printer for ranks other than 0: failures only, tagged with the rank.
class FailurePrinter : public ::testing::EmptyTestEventListener {
 public:
  explicit FailurePrinter(int rank) : rank_(rank) {}
  void OnTestPartResult(const ::testing::TestPartResult& result) override {
    if (!result.failed()) return;
    std::fprintf(stderr, "[rank %d] %s:%d: Failure\n%s\n", rank_,
                 result.file_name() != nullptr ? result.file_name() : "?", result.line_number(),
                 result.summary());
  }

 private:
  int rank_;
};

}  // namespace
}  // namespace tspemu::net_test

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  ::testing::InitGoogleTest(&argc, argv);
  // An exception must end the whole job (abort_job below), not just this rank's test: the other
  // ranks would wait for this one in the next collective.
  ::testing::GTEST_FLAG(catch_exceptions) = false;
  const int rank = tspemu::net_test::world_rank();
  if (rank != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new tspemu::net_test::FailurePrinter(rank));
  }
  int result = 0;
  try {
    result = RUN_ALL_TESTS();
  } catch (const std::exception& e) {
    tspemu::abort_job(e);
  }
  int worst = 0;
  MPI_Allreduce(&result, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Finalize();
  return worst;
}
