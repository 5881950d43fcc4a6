#include "isa/queue.hpp"

#include <gtest/gtest.h>

#include <set>

namespace tspemu {
namespace {

TEST(Queue, AllQueuesOfTheDefaultChip) {
  const ChipShape shape;
  EXPECT_TRUE(shape.problem().empty());
  const auto queues = all_queues(shape);
  // 144 published queues (2 x (44 MEM + 14 SXM + 6 MXM) + 16 VXM) plus 16 C2C.
  EXPECT_EQ(queues.size(), 160U);
  int non_c2c = 0;
  for (std::size_t i = 0; i < queues.size(); ++i) {
    if (i > 0) {
      EXPECT_LT(queues[i - 1], queues[i]);
    }
    EXPECT_TRUE(queue_exists(queues[i], shape));
    if (queues[i].kind != QueueKind::c2c) ++non_c2c;
  }
  EXPECT_EQ(non_c2c, 144);
}

TEST(Queue, NamesRoundTrip) {
  const ChipShape shape;
  std::set<std::string> names;
  for (const QueueId& q : all_queues(shape)) {
    const std::string name = queue_name(q);
    EXPECT_TRUE(names.insert(name).second) << name;
    const auto parsed = parse_queue_name(name);
    ASSERT_TRUE(parsed.has_value()) << name;
    EXPECT_EQ(*parsed, q) << name;
  }
  EXPECT_EQ(queue_name(mem_queue(Hemisphere::west, 12)), "MEM_W12");
  EXPECT_EQ(queue_name(vxm_queue(3)), "VXM3");
  EXPECT_EQ(queue_name(sxm_queue(Hemisphere::east, 0)), "SXM_E0");
  EXPECT_EQ(queue_name(mxm_queue(QueueKind::mxm_weights, 2)), "MXM2.W");
  EXPECT_EQ(queue_name(mxm_queue(QueueKind::mxm_activations, 2)), "MXM2.A");
  EXPECT_EQ(queue_name(mxm_queue(QueueKind::mxm_accumulate, 2)), "MXM2.C");
  EXPECT_EQ(queue_name(c2c_queue(5)), "C2C5");
  for (const char* bad : {"MEM_W012", "mem_w1", "MEM_X1", "MEM_W", "MXM0.X", "MXM.W", "VXM",
                          "VXM-1", "C2C+1", "SXM_E1a", "", "MXM10"}) {
    EXPECT_EQ(parse_queue_name(bad), std::nullopt) << bad;
  }
  EXPECT_FALSE(queue_exists(mem_queue(Hemisphere::west, 44), shape));
  EXPECT_FALSE(queue_exists(vxm_queue(16), shape));
  EXPECT_FALSE(queue_exists(QueueId{QueueKind::vxm, Hemisphere::east, 0}, shape));
  EXPECT_EQ(queue_range_text(mem_queue(Hemisphere::west, 50), shape), "MEM_W0..MEM_W43");
  EXPECT_EQ(queue_range_text(mxm_queue(QueueKind::mxm_activations, 9), shape), "MXM0.A..MXM3.A");
}

TEST(Queue, FloorplanPositions) {
  const ChipShape shape;
  EXPECT_EQ(shape.position_count(), 93);
  EXPECT_EQ(queue_position(mxm_queue(QueueKind::mxm_weights, 0), shape), 0);
  EXPECT_EQ(queue_position(mxm_queue(QueueKind::mxm_accumulate, 1), shape), 0);
  EXPECT_EQ(queue_position(sxm_queue(Hemisphere::west, 13), shape), 1);
  EXPECT_EQ(queue_position(mem_queue(Hemisphere::west, 43), shape), 2);
  EXPECT_EQ(queue_position(mem_queue(Hemisphere::west, 0), shape), 45);
  EXPECT_EQ(queue_position(vxm_queue(7), shape), 46);
  EXPECT_EQ(queue_position(mem_queue(Hemisphere::east, 0), shape), 47);
  EXPECT_EQ(queue_position(mem_queue(Hemisphere::east, 43), shape), 90);
  EXPECT_EQ(queue_position(sxm_queue(Hemisphere::east, 0), shape), 91);
  EXPECT_EQ(queue_position(mxm_queue(QueueKind::mxm_activations, 2), shape), 92);
  EXPECT_EQ(queue_position(c2c_queue(7), shape), 0);
  EXPECT_EQ(queue_position(c2c_queue(8), shape), 92);
  EXPECT_EQ(mxm_hemisphere(1, shape), Hemisphere::west);
  EXPECT_EQ(mxm_hemisphere(2, shape), Hemisphere::east);
  // Every position has a name, and the MEM slices name themselves.
  for (int p = 0; p < shape.position_count(); ++p) EXPECT_FALSE(position_name(p, shape).empty());
  for (const QueueId& q : all_queues(shape)) {
    if (q.kind == QueueKind::mem) {
      EXPECT_EQ(position_name(queue_position(q, shape), shape), queue_name(q));
    }
  }
  EXPECT_EQ(position_name(46, shape), "VXM");
  EXPECT_EQ(position_name(92, shape), "MXM_E");
}

TEST(Queue, SmallerChip) {
  ChipShape shape;
  shape.mem_slices_per_hemisphere = 4;
  shape.mxm_planes = 2;
  shape.c2c_ports = 2;
  EXPECT_TRUE(shape.problem().empty());
  EXPECT_EQ(shape.position_count(), 13);
  EXPECT_EQ(queue_position(mem_queue(Hemisphere::west, 0), shape), 5);
  EXPECT_EQ(queue_position(vxm_queue(0), shape), 6);
  EXPECT_EQ(queue_position(mxm_queue(QueueKind::mxm_weights, 1), shape), 12);
  EXPECT_EQ(all_queues(shape).size(), 2U * 4 + 16 + 2 * 14 + 3 * 2 + 2);
  shape.mxm_planes = 3;
  EXPECT_EQ(shape.problem(), "mxm_planes = 3: must be even, 2..16");
}

}  // namespace
}  // namespace tspemu
