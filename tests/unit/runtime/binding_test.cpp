// Single-process tests of runtime/binding: the process is an MPI singleton (MPI_Init without a
// launcher), set up once by a gtest environment so the normal gtest main and test discovery work.
#include "runtime/binding.hpp"

#include <gtest/gtest.h>
#include <hwloc.h>
#include <mpi.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "net/watched_comm.hpp"

namespace tspemu {
namespace {

class MpiSingleton : public ::testing::Environment {
 public:
  void SetUp() override {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (initialized == 0) MPI_Init(nullptr, nullptr);
  }
  void TearDown() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (finalized == 0) MPI_Finalize();
  }
};
// gtest owns the environment; registering from a static initialiser keeps the stock gtest main.
[[maybe_unused]] ::testing::Environment* const kMpi =
    ::testing::AddGlobalTestEnvironment(new MpiSingleton);

// The launcher variables the hints read, cleared for each test and restored afterwards so that a
// test run under mpirun or srun still sees a clean slate.
class LauncherEnv : public ::testing::Test {
 protected:
  static constexpr std::array kNames = {
      "SLURM_STEP_NUM_TASKS", "SLURM_NTASKS", "PMIX_RANK", "PMIX_NAMESPACE",
      "OMPI_COMM_WORLD_SIZE", "PMI_RANK",     "PMI_FD",    "PMI_SIZE"};
  void SetUp() override {
    for (const char* name : kNames) {
      if (const char* value = std::getenv(name)) saved_[name] = value;
      unsetenv(name);
    }
  }
  void TearDown() override {
    for (const char* name : kNames) unsetenv(name);
    for (const auto& [name, value] : saved_) setenv(name.c_str(), value.c_str(), 1);
  }

 private:
  std::map<std::string, std::string> saved_;
};

// Saves the process's binding and restores it, so tests that pin do not leak into others.
class BindingRestore : public ::testing::Test {
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
  }
  // hwloc list syntax of allowed core `index` (mod the allowed core count).
  [[nodiscard]] std::string core_cpuset(int index) const {
    std::vector<hwloc_obj_t> cores;
    for (hwloc_obj_t c = hwloc_get_next_obj_by_type(topology_, HWLOC_OBJ_CORE, nullptr); c;
         c = hwloc_get_next_obj_by_type(topology_, HWLOC_OBJ_CORE, c)) {
      if (hwloc_bitmap_intersects(c->cpuset, hwloc_topology_get_allowed_cpuset(topology_))) {
        cores.push_back(c);
      }
    }
    std::array<char, 256> text{};
    hwloc_bitmap_list_snprintf(text.data(), text.size(),
                               cores.at(static_cast<std::size_t>(index) % cores.size())->cpuset);
    return text.data();
  }
  [[nodiscard]] std::string allowed_cpuset() const {
    std::array<char, 256> text{};
    hwloc_bitmap_list_snprintf(text.data(), text.size(),
                               hwloc_topology_get_allowed_cpuset(topology_));
    return text.data();
  }
  void unbind() const {
    hwloc_set_cpubind(topology_, hwloc_topology_get_allowed_cpuset(topology_),
                      HWLOC_CPUBIND_PROCESS);
  }

  hwloc_topology_t topology_ = nullptr;
  hwloc_bitmap_t saved_ = nullptr;
};

// This process's combined binding (an MPI singleton: rank 0 of 1).
RankBinding my_binding() {
  WatchedComm comm(MPI_COMM_WORLD, 60);
  return exchange_bindings(comm).at(0);
}

TEST(BindPolicy, ParsesCoreAndNone) {
  EXPECT_EQ(parse_bind_policy("core"), BindPolicy::core);
  EXPECT_EQ(parse_bind_policy("none"), BindPolicy::none);
  EXPECT_EQ(to_string(BindPolicy::core), "core");
  EXPECT_EQ(to_string(BindPolicy::none), "none");
}

TEST(BindPolicy, RejectsAnythingElseNamingTheOption) {
  try {
    (void)parse_bind_policy("socket");
    FAIL() << "expected InputError";
  } catch (const InputError& error) {
    EXPECT_STREQ(error.what(), "--bind: unknown binding policy 'socket' (expected core or none)");
    EXPECT_EQ(error.exit_code(), kExitInputError);
  }
}

TEST_F(BindingRestore, SingletonSeesItselfAlone) {
  unbind();
  const RankBinding b = my_binding();
  std::array<char, 256> host{};
  gethostname(host.data(), host.size() - 1);
  EXPECT_EQ(b.host, host.data());
  EXPECT_EQ(b.rank, 0);
  EXPECT_EQ(b.size, 1);
  EXPECT_EQ(b.local_rank, 0);
  EXPECT_EQ(b.local_size, 1);
  EXPECT_EQ(b.cpuset, allowed_cpuset());
  EXPECT_GE(b.host_cores, 1);
  EXPECT_EQ(b.ranks_sharing_core, 1);  // alone on the host, so alone on every core
  // Unbound on a machine with one NUMA node: that node; with several: "spans several" (-1).
  EXPECT_GE(b.numa_node, hwloc_get_nbobjs_by_type(topology_, HWLOC_OBJ_NUMANODE) == 1 ? 0 : -1);
}

TEST_F(BindingRestore, BindCorePinsLocalRankModuloCores) {
  const int cores = my_binding().host_cores;
  for (int local_rank : {0, 1, cores, cores + 1}) {
    bind_to_core(BindPolicy::core, local_rank);
    const RankBinding b = my_binding();
    EXPECT_EQ(b.cpuset, core_cpuset(local_rank)) << "local rank " << local_rank;
    EXPECT_GE(b.numa_node, 0) << "a single core lies in one NUMA node";
    EXPECT_EQ(b.ranks_sharing_core, 1);
  }
}

TEST_F(BindingRestore, BindNoneLeavesTheBindingAlone) {
  bind_to_core(BindPolicy::core, 0);
  bind_to_core(BindPolicy::none, 1);
  EXPECT_EQ(my_binding().cpuset, core_cpuset(0));
}

TEST(RankBinding, JsonRoundTripAndFieldNames) {
  const RankBinding b{.host = "vm",
                      .rank = 3,
                      .size = 72,
                      .local_rank = 3,
                      .local_size = 72,
                      .cpuset = "0-1",
                      .numa_node = 0,
                      .host_cores = 2,
                      .ranks_sharing_core = 72,
                      .cores = {0, 1}};
  const nlohmann::json json = b;
  EXPECT_EQ(json.dump(),
            R"({"cores":[0,1],"cpuset":"0-1","host":"vm","host_cores":2,"local_rank":3,)"
            R"("local_size":72,"numa_node":0,"rank":3,"ranks_sharing_core":72,"size":72})");
  EXPECT_EQ(json.get<RankBinding>(), b);
}

TEST(RankBinding, CombineCountsLocalRanksAndCoreSharingPerHost) {
  // Rank order a, b, a, a: host a's ranks are local 0, 1, 2; ranks 0 and 2 share core 1.
  std::vector<RankBinding> all = {{.host = "a", .cores = {0, 1}},
                                  {.host = "b", .cores = {0}},
                                  {.host = "a", .cores = {1}},
                                  {.host = "a", .cores = {2}}};
  combine_bindings(all);
  EXPECT_EQ(all[2].rank, 2);
  EXPECT_EQ(all[2].size, 4);
  EXPECT_EQ(all[0].local_rank, 0);
  EXPECT_EQ(all[2].local_rank, 1);
  EXPECT_EQ(all[3].local_rank, 2);
  EXPECT_EQ(all[1].local_rank, 0);
  EXPECT_EQ(all[0].local_size, 3);
  EXPECT_EQ(all[1].local_size, 1);
  EXPECT_EQ(all[0].ranks_sharing_core, 2);  // core 1 with rank 2
  EXPECT_EQ(all[1].ranks_sharing_core, 1);  // another host's core 0
  EXPECT_EQ(all[2].ranks_sharing_core, 2);
  EXPECT_EQ(all[3].ranks_sharing_core, 1);
}

TEST(RankBinding, DescribeAndSummary) {
  const RankBinding shared{.host = "vm",
                           .rank = 3,
                           .size = 72,
                           .local_rank = 3,
                           .local_size = 72,
                           .cpuset = "0-1",
                           .numa_node = 0,
                           .host_cores = 2,
                           .ranks_sharing_core = 72};
  EXPECT_EQ(describe_binding(shared),
            "rank 3/72 on vm: local rank 3/72, cpuset 0-1, NUMA node 0, 72 ranks may share a core");
  RankBinding alone = shared;
  alone.host = "n2";
  alone.cpuset = "5";
  alone.numa_node = -1;
  alone.ranks_sharing_core = 1;
  EXPECT_EQ(describe_binding(alone),
            "rank 3/72 on n2: local rank 3/72, cpuset 5, NUMA node several, a core to itself");

  const std::vector<RankBinding> all = {shared, shared, alone};
  EXPECT_EQ(sharing_summary(all),
            "2 ranks on vm (2 cores): up to 72 ranks share a core; "
            "1 rank on n2 (2 cores): one rank per core");
  EXPECT_EQ(sharing_summary({}), "");
}

TEST_F(LauncherEnv, NoLauncherNoHint) {
  EXPECT_EQ(launcher_mismatch_hint_before_init(), std::nullopt);
  EXPECT_EQ(launcher_mismatch_hint(1), std::nullopt);
}

TEST_F(LauncherEnv, BareSrunWithoutPmixIsRefusedBeforeInit) {
  setenv("SLURM_STEP_NUM_TASKS", "8", 1);
  setenv("SLURM_NTASKS", "8", 1);
  EXPECT_EQ(launcher_mismatch_hint_before_init(),
            "srun started this process as one of 8 tasks (SLURM_STEP_NUM_TASKS=8) without a "
            "process-management interface for MPI (no PMIx), so the tasks cannot form one MPI "
            "job; launch with `srun --mpi=pmix ...` (or set MpiDefault=pmix in slurm.conf), or "
            "with mpirun (launch/tspemu-mpirun builds the right line)");
}

TEST_F(LauncherEnv, SrunWithPmixOrOneTaskIsFine) {
  setenv("SLURM_STEP_NUM_TASKS", "8", 1);
  setenv("PMIX_RANK", "0", 1);
  EXPECT_EQ(launcher_mismatch_hint_before_init(), std::nullopt);
  EXPECT_EQ(launcher_mismatch_hint(8), std::nullopt);
  unsetenv("PMIX_RANK");
  setenv("SLURM_STEP_NUM_TASKS", "1", 1);
  EXPECT_EQ(launcher_mismatch_hint_before_init(), std::nullopt);
  EXPECT_EQ(launcher_mismatch_hint(1), std::nullopt);
}

TEST_F(LauncherEnv, SingletonsUnderSrunAreDetectedAfterInit) {
  setenv("SLURM_STEP_NUM_TASKS", "8", 1);
  EXPECT_EQ(launcher_mismatch_hint(1),
            "the launcher started 8 processes (SLURM_STEP_NUM_TASKS=8) but MPI sees 1 rank (every "
            "process is an MPI singleton); launch with `srun --mpi=pmix ...` (or set "
            "MpiDefault=pmix in slurm.conf), or with mpirun (launch/tspemu-mpirun builds the right "
            "line)");
}

TEST_F(LauncherEnv, MpirunSizeWinsOverSlurmStep) {
  // mpirun inside an allocation: its orted step has one task per node, the world has 72 ranks.
  setenv("SLURM_STEP_NUM_TASKS", "2", 1);
  setenv("OMPI_COMM_WORLD_SIZE", "72", 1);
  EXPECT_EQ(launcher_mismatch_hint(72), std::nullopt);
  EXPECT_EQ(launcher_mismatch_hint(36),
            "the launcher started 72 processes (OMPI_COMM_WORLD_SIZE=72) but MPI sees 36 ranks; "
            "launch with `srun --mpi=pmix ...` (or set MpiDefault=pmix in slurm.conf), or with "
            "mpirun (launch/tspemu-mpirun builds the right line)");
}

TEST_F(LauncherEnv, MalformedCountsAreIgnored) {
  setenv("SLURM_STEP_NUM_TASKS", "8(x2)", 1);
  EXPECT_EQ(launcher_mismatch_hint_before_init(), std::nullopt);
  EXPECT_EQ(launcher_mismatch_hint(1), std::nullopt);
}

}  // namespace
}  // namespace tspemu
