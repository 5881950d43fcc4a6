#include "runtime/send_schedule.hpp"

#include <gtest/gtest.h>

#include "net/local_transport.hpp"
#include "runtime/driver.hpp"
#include "runtime/program_source.hpp"
#include "topo/chip_config.hpp"
#include "topo/loader.hpp"

namespace tspemu {
namespace {

const std::string kRoot = TSPEMU_SOURCE_DIR;

struct Pingpong {
  Topology topology = load_topology(kRoot + "/topologies/pair.toml");
  ChipConfig chip = chip_config_from_params(topology.chip());
  Digest128 program_digest;
  Bundle bundle =
      load_program_for(kRoot + "/programs/asm/pingpong.tsa", topology, chip.shape, program_digest);
};

std::string run_error(const Pingpong& p, const Bundle& bundle) {
  LocalTransport transport(network_layout_of(p.topology));
  RunDriver driver(p.topology, p.chip, bundle, transport, DriverOptions{});
  try {
    (void)driver.run();
  } catch (const ScheduleError& e) {
    return e.what();
  }
  return "no error";
}

TEST(SendSchedule, DerivedFromAssemblyOverTheTopologysLinks) {
  const Pingpong p;
  ASSERT_EQ(p.bundle.send_schedule.size(), 2U);
  // pingpong.tsa: both TSPs SEND on port 0 at cycle 48 (nominal arrival 48 + 217). TSP 1 RECEIVEs
  // at 276 (the worst-case arrival 48 + 228: the peer's vector is the first of its reduction
  // chain), TSP 0 two cycles later (its own vector comes first in TSP order).
  for (int i = 0; i < 2; ++i) {
    const SendRow& row = p.bundle.send_schedule[static_cast<std::size_t>(i)];
    EXPECT_EQ(row.src_tsp, TspId{i});
    EXPECT_EQ(row.src_port, PortId{0});
    EXPECT_EQ(row.send_cycle, 48);
    EXPECT_EQ(row.dst_tsp, TspId{1 - i});
    EXPECT_EQ(row.dst_port, PortId{0});
    EXPECT_EQ(row.arrival_cycle, 48 + 217);
    EXPECT_EQ(row.receive_cycle, i == 0 ? 276 : 278);
    EXPECT_GE(row.receive_instruction, 0);
  }
}

TEST(SendSchedule, TrafficMustMatchTheBundlesSchedule) {
  const Pingpong p;
  EXPECT_EQ(run_error(p, p.bundle), "no error");

  Bundle moved = p.bundle;
  moved.send_schedule[0].send_cycle = 47;
  EXPECT_EQ(run_error(p, moved), run_error(p, moved));  // deterministic
  EXPECT_NE(run_error(p, moved).find(
                "send schedule mismatch: SEND number 1 on TSP 0 port 0 happened at cycle 48 toward "
                "TSP 1 port 0, but the schedule says cycle 47 toward TSP 1 port 0 (tsp 0, cycle "
                "48, queue C2C0"),
            std::string::npos)
      << run_error(p, moved);

  Bundle missing = p.bundle;
  missing.send_schedule.erase(missing.send_schedule.begin());
  EXPECT_NE(run_error(p, missing)
                .find("send schedule mismatch: SEND number 1 on TSP 0 port 0 at "
                      "cycle 48 is not in the bundle's send schedule (0 row(s) "
                      "for that port)"),
            std::string::npos)
      << run_error(p, missing);
}

TEST(SendSchedule, NoStaticScheduleAfterSync) {
  const Topology topology = load_topology(kRoot + "/topologies/pair.toml");
  Program program;
  TspProgram tsp;
  QueueProgram queue;
  queue.queue = QueueId{QueueKind::c2c, Hemisphere::west, 0};
  Instruction send;
  send.opcode = Opcode::send;
  send.issue_cycle = -1;  // after a SYNC: known only at run time
  queue.instructions.push_back(send);
  tsp.queues.push_back(queue);
  program.tsps.push_back(tsp);
  EXPECT_TRUE(derive_send_schedule(program, topology).empty());
}

}  // namespace
}  // namespace tspemu
