// runtime/binding under mpiexec (registered at np=2 and np=4): node-local ranks, and how many ranks
// share a core when tspemu pins (`--bind core`) and when nothing is pinned. The expected values are
// computed from the rank layout alone, so they hold whatever binding the launcher applied first and
// on any core count.
#include <gtest/gtest.h>
#include <hwloc.h>
#include <mpi.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <string>
#include <vector>

#include "net/watched_comm.hpp"
#include "runtime/binding.hpp"

namespace tspemu {
namespace {

// Restores the launcher's binding after each test; offers "unbind" (the whole allowed set).
class MpiBinding : public ::testing::Test {
 protected:
  void SetUp() override {
    hwloc_topology_init(&topology_);
    hwloc_topology_load(topology_);
    saved_ = hwloc_bitmap_alloc();
    hwloc_get_cpubind(topology_, saved_, HWLOC_CPUBIND_PROCESS);
  }
  void TearDown() override {
    hwloc_set_cpubind(topology_, saved_, HWLOC_CPUBIND_PROCESS);
    hwloc_bitmap_free(saved_);
    hwloc_topology_destroy(topology_);
    MPI_Barrier(MPI_COMM_WORLD);
  }
  void unbind() const {
    hwloc_set_cpubind(topology_, hwloc_topology_get_allowed_cpuset(topology_),
                      HWLOC_CPUBIND_PROCESS);
  }

  hwloc_topology_t topology_ = nullptr;
  hwloc_bitmap_t saved_ = nullptr;
};

// Every rank's combined binding, on every rank (the run's exchange, watched).
std::vector<RankBinding> all_bindings() {
  WatchedComm comm(MPI_COMM_WORLD, 60);
  return exchange_bindings(comm);
}

RankBinding my_binding() {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return all_bindings().at(static_cast<std::size_t>(rank));
}

// Every rank's host name, in rank order.
std::vector<std::string> all_hosts(const std::string& mine) {
  constexpr int kWidth = 256;
  std::array<char, kWidth> buffer{};
  std::copy_n(mine.begin(), std::min<std::size_t>(mine.size(), kWidth - 1), buffer.begin());
  int size = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  std::vector<char> all(static_cast<std::size_t>(size) * kWidth);
  MPI_Allgather(buffer.data(), kWidth, MPI_CHAR, all.data(), kWidth, MPI_CHAR, MPI_COMM_WORLD);
  std::vector<std::string> hosts;
  for (int r = 0; r < size; ++r) hosts.emplace_back(&all[static_cast<std::size_t>(r) * kWidth]);
  return hosts;
}

TEST_F(MpiBinding, LocalRanksFollowHostsInRankOrder) {
  const RankBinding b = my_binding();
  int rank = 0;
  int size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  EXPECT_EQ(b.rank, rank);
  EXPECT_EQ(b.size, size);
  const std::vector<std::string> hosts = all_hosts(b.host);
  const auto same_host = [&](int r) { return hosts[static_cast<std::size_t>(r)] == b.host; };
  int before = 0;
  int local = 0;
  for (int r = 0; r < size; ++r) {
    if (!same_host(r)) continue;
    ++local;
    if (r < rank) ++before;
  }
  EXPECT_EQ(b.local_rank, before);
  EXPECT_EQ(b.local_size, local);
}

TEST_F(MpiBinding, BindCoreSharesCoresRoundRobin) {
  const RankBinding before = my_binding();
  bind_to_core(BindPolicy::core, before.local_rank);
  const RankBinding b = my_binding();
  // Local rank i sits on core i mod C: its core holds every local rank j with j = i (mod C).
  const int cores = b.host_cores;
  int expected = 0;
  for (int j = 0; j < b.local_size; ++j) {
    if (j % cores == b.local_rank % cores) ++expected;
  }
  EXPECT_EQ(b.ranks_sharing_core, expected)
      << "local rank " << b.local_rank << " of " << b.local_size << " on " << cores << " cores";
  EXPECT_GE(b.numa_node, 0);

  // Every rank's view of everyone, as the report and the run header will use it.
  const std::vector<RankBinding> all = all_bindings();
  ASSERT_EQ(all.size(), static_cast<std::size_t>(b.size));
  for (int r = 0; r < b.size; ++r) EXPECT_EQ(all[static_cast<std::size_t>(r)].rank, r);
  EXPECT_EQ(all[static_cast<std::size_t>(b.rank)], b);
}

TEST_F(MpiBinding, UnboundRanksAllShareEveryCore) {
  unbind();
  MPI_Barrier(MPI_COMM_WORLD);
  const RankBinding b = my_binding();
  EXPECT_EQ(b.ranks_sharing_core, b.local_size);
  const std::vector<RankBinding> all = all_bindings();
  if (b.rank == 0 && b.local_size == b.size) {
    EXPECT_EQ(sharing_summary(all), std::to_string(b.size) + " ranks on " + b.host + " (" +
                                        std::to_string(b.host_cores) +
                                        (b.host_cores == 1 ? " core" : " cores") + "): up to " +
                                        std::to_string(b.size) + " ranks share a core");
  }
}

TEST_F(MpiBinding, LauncherAgreesWithTheWorld) {
  int size = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  EXPECT_EQ(launcher_mismatch_hint(size), std::nullopt);
}

// Ranks other than 0 print only their failures, tagged with the rank.
class RankFailurePrinter : public ::testing::EmptyTestEventListener {
 public:
  explicit RankFailurePrinter(int rank) : rank_(rank) {}
  void OnTestPartResult(const ::testing::TestPartResult& result) override {
    if (!result.failed()) return;
    std::fprintf(stderr, "[rank %d] %s:%d: %s\n", rank_,
                 result.file_name() != nullptr ? result.file_name() : "?", result.line_number(),
                 result.summary());
  }

 private:
  int rank_;
};

}  // namespace
}  // namespace tspemu

// MPI-aware gtest main: every rank runs every test; only rank 0 prints; the exit code is the worst
// over all ranks, so a failure on any rank fails the CTest test.
int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new tspemu::RankFailurePrinter(rank));
  }
  int result = RUN_ALL_TESTS();
  MPI_Allreduce(MPI_IN_PLACE, &result, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Finalize();
  return result;
}
