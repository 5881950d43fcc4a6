// RUNTIME_DESKEW insertion for drifting clocks (docs/clocks.md, "How often to deskew").
//
// Every TSP with a program gets a RUNTIME_DESKEW t at each multiple of the deskew period, all in
// the SAME cycle: the pause realigns each chip to TSP 0's time counting every earlier pause's t, so
// two chips that paused at different cycles would be t apart in between. The cycle is the first at
// or after the multiple at which every such TSP has a C2C queue with nothing to issue; a queue of a
// port without a link always qualifies, so on the shipped topologies it is the multiple itself.
// Nothing is placed at or after the program's last active cycle (the run is over by then).
#include <algorithm>

#include "compiler/lower/context.hpp"
#include "isa/queue.hpp"

namespace tspemu::detail {

std::int64_t Lowering::insert_runtime_deskews() {
  if (clock_.deskew_period_cycles <= 0 || schedules_.empty()) return 0;
  Cycle last = -1;
  for (const auto& [id, s] : schedules_) last = std::max(last, s->last_active_cycle());
  const int ports = static_cast<int>(topology_.chip().c2c_ports);
  // The C2C queue of `s` free at `cycle` (highest port first: the least likely to carry a link),
  // or -1.
  auto free_queue = [&](const TspSchedule& s, Cycle cycle) {
    for (int port = ports - 1; port >= 0; --port) {
      if (s.queue_free(s.queue_index(c2c_queue(port)), cycle, 1)) return port;
    }
    return -1;
  };
  std::int64_t placed = 0;
  for (Cycle target = clock_.deskew_period_cycles; target < last;
       target += clock_.deskew_period_cycles) {
    Cycle cycle = target;
    for (;; ++cycle) {
      bool all = true;
      for (const auto& [id, s] : schedules_) all = all && free_queue(*s, cycle) >= 0;
      if (all) break;
    }
    if (cycle >= last) break;
    for (auto& [id, s] : schedules_) {
      Chain chain;
      ChainOp op;
      op.queue = c2c_queue(free_queue(*s, cycle));
      op.instr.opcode = Opcode::runtime_deskew;
      op.instr.operand_count = 1;
      op.instr.operands[0] = Operand{.kind = OperandKind::integer, .value = clock_.deskew_t_cycles};
      chain.ops.push_back(op);
      const Placement p = s->place(chain, cycle);
      TSPEMU_ASSERT(p.anchor == cycle, "a RUNTIME_DESKEW goes where its queue was free");
      ++placed;
    }
  }
  return placed;
}

}  // namespace tspemu::detail
