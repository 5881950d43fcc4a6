// Routes and transfers over C2C links; every transfer is a row of the send schedule.
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

#include "common/error.hpp"
#include "compiler/lower/context.hpp"
#include "isa/op_table.hpp"
#include "isa/queue.hpp"

namespace tspemu::detail {

// ---- network ------------------------------------------------------------------------------------

std::pair<LinkId, Cycle> Lowering::soonest_link(TspId a, TspId b) {
  const std::vector<LinkId> links = routing_->next_hop_links(a, b);
  std::pair<LinkId, Cycle> best{links.front(), Cycle{1} << 62};
  for (LinkId l : links) {
    const Link& link = topology_.link(l);
    if (link.far_end(a).tsp != b) continue;
    const Cycle free = link_lanes_[{l.value, link.a.tsp == a}].next_free;
    if (free < best.second) best = {l, free};
  }
  return best;
}

Cycle Lowering::link_free(TspId a, TspId b) {
  return soonest_link(a, b).second;
}

Cycle Lowering::link_latency_cycles(TspId a, TspId b) {
  return topology_.link(routing().next_hop_links(a, b).front()).params.latency_max_cycles;
}

// Minimal routes, the next hop chosen at every step among the equal-cost ones by the link that is
// free soonest (ties: the lowest TSP id), so traffic spreads over parallel paths as links fill.
// A one-hop transfer whose direct link is backed up takes a two-hop detour through a common
// neighbour when that is estimated to arrive sooner (the paper's non-minimal spreading of large
// tensors over several links, decided by volume already scheduled, deterministically).
std::vector<TspId> Lowering::route(TspId src, TspId dst, Cycle ready) {
  if (!routing_) routing_ = std::make_unique<Routing>(topology_);
  std::vector<TspId> path{src};
  TspId at = src;
  while (at != dst) {
    const std::vector<TspId> hops = routing_->next_hops(at, dst);
    TSPEMU_ASSERT(!hops.empty(), "a route between two TSPs");
    TspId best = hops.front();
    Cycle best_free = link_free(at, best);
    for (TspId h : hops) {
      const Cycle free = link_free(at, h);
      if (free < best_free) {
        best_free = free;
        best = h;
      }
    }
    path.push_back(best);
    at = best;
  }
  if (path.size() != 2) return path;
  // Detour estimate: send when the link frees, arrive a worst-case latency later, forward after
  // kForwardCycles (RECEIVE, WRITE, READ, SEND through one chip).
  constexpr Cycle kForwardCycles = 64;
  const Cycle latency =
      topology_.link(routing_->next_hop_links(src, dst).front()).params.latency_max_cycles;
  const Cycle direct = std::max(ready, link_free(src, dst)) + latency;
  Cycle best_arrival = direct;
  TspId via = dst;
  for (TspId c : routing_->neighbours(src)) {
    if (c == dst || routing_->distance(c, dst) != 1) continue;
    const Cycle first = std::max(ready, link_free(src, c)) + latency + kForwardCycles;
    const Cycle arrival = std::max(first, link_free(c, dst)) + latency;
    if (arrival < best_arrival) {
      best_arrival = arrival;
      via = c;
    }
  }
  if (via != dst) return {src, via, dst};
  return path;
}

Cycle Lowering::transfer(const PlaneRef& source, TspId dst_tsp, const VectorLoc& dst,
                         int dst_plane) {
  const std::vector<TspId> path = route(source.tsp, dst_tsp, source.loc.ready);
  TSPEMU_ASSERT(path.size() >= 2, "a transfer needs a route between two TSPs");
  VectorLoc here = source.loc;
  int plane = source.plane;
  Cycle ready = here.ready;
  for (std::size_t hop = 0; hop + 1 < path.size(); ++hop) {
    const TspId a = path[hop];
    const TspId b = path[hop + 1];
    // The least loaded parallel link towards b (the one free soonest; ties: lowest id).
    const LinkId link = soonest_link(a, b).first;
    const Link& l = topology_.link(link);
    const bool forward = l.a.tsp == a;
    const PortId src_port = l.near_end(a).port;
    const PortId dst_port = l.far_end(a).port;
    LinkLane& lane = link_lanes_[{link.value, forward}];
    const Cycle spacing =
        std::max(vector_serialisation_cycles(l.params, topology_.chip().clock_mhz),
                 l.params.latency_max_cycles - l.params.latency_min_cycles + 1);
    // SEND on a.
    TspSchedule& sa = sched(a);
    Cycle send_cycle = 0;
    {
      Chain chain;
      ChainBuilder cb(sa, chain);
      const QueueId port_queue = c2c_queue(src_port.value);
      const int port_pos = queue_position(port_queue, config_.shape);
      const OpTiming& t_send = sa.config().timing.get(Opcode::send, DType::none);
      Cycle earliest = lane.next_free;
      // The far port holds at most kC2cPortBufferVectors vectors that wait for a RECEIVE: this
      // vector may arrive (at the link's shortest latency) only after the RECEIVE of the one that
      // many places ahead of it on that port. Without it, RECEIVEs that slip behind busy queues
      // let a long transfer overflow the port (a pipeline hand-off of [16, 512] fp32 did).
      // On drifting clocks the receiver's cycles may run ahead of the sender's by the receive
      // margin, and a RUNTIME_DESKEW pause in flight moves the arrival earlier by its t.
      const auto& receives = port_receives_[{b.value, dst_port.value}];
      if (receives.size() >= static_cast<std::size_t>(kC2cPortBufferVectors)) {
        const Cycle shortest =
            l.params.latency_min_cycles - clock_.receive_margin_cycles - clock_.deskew_t_cycles;
        earliest = std::max(earliest, receives.front() - shortest + 1);
      }
      const int value =
          cb.value(cb.direction_from(here, port_pos), 1, t_send.skew_cycles, port_pos);
      here.ready = ready;
      cb.read(here, value, plane, 1, port_pos, t_send.skew_cycles, earliest);
      ChainOp send;
      send.queue = port_queue;
      send.instr.opcode = Opcode::send;
      send.instr.operand_count = 1;
      send.instr.operands[0] = stream_placeholder();
      send.operand_value[0] = static_cast<std::int8_t>(value);
      cb.op(send);
      send_cycle = sa.place(chain, earliest).anchor;
      lane.next_free = send_cycle + spacing;
    }
    // RECEIVE on b, at or after the worst-case arrival, in send order per port.
    TspSchedule& sb = sched(b);
    const bool last_hop = hop + 2 == path.size();
    VectorLoc target = dst;
    int target_plane = dst_plane;
    if (!last_hop) {
      const auto alloc = sb.allocate(1, 1);
      target = VectorLoc{};
      target.group = alloc.group;
      target.address = alloc.address;
      target_plane = 0;
    }
    {
      Chain chain;
      ChainBuilder cb(sb, chain);
      const QueueId port_queue = c2c_queue(dst_port.value);
      const int port_pos = queue_position(port_queue, config_.shape);
      const OpTiming& t_recv = sb.config().timing.get(Opcode::receive, DType::none);
      Cycle& last = last_receive_[{b.value, dst_port.value}];
      // The receive margin absorbs the clocks' skew on a drifting machine (0 on ideal clocks).
      const Cycle earliest = std::max(send_cycle + l.params.latency_max_cycles +
                                          clock_.receive_margin_cycles - t_recv.skew_cycles,
                                      last + 1);
      const Cycle write_offset = t_recv.skew_cycles + t_recv.func_delay_cycles;
      // Only the target plane's slice is written.
      VectorLoc one = target;
      one.group.width = 1;
      one.group.slices[0] = target.group.slices[static_cast<std::size_t>(target_plane)];
      const Direction dir =
          sb.slice_position(one.group.slices[0]) > port_pos ? Direction::east : Direction::west;
      const int value = cb.value(dir, 1, write_offset, port_pos);
      cb.from(value, port_pos);
      ChainOp recv;
      recv.queue = port_queue;
      recv.instr.opcode = Opcode::receive;
      recv.instr.operand_count = 1;
      recv.instr.operands[0] = stream_placeholder();
      recv.operand_value[0] = static_cast<std::int8_t>(value);
      cb.op(recv);
      const Cycle landing = cb.write(one, value, port_pos, write_offset);
      const auto placed = sb.place(chain, earliest);
      last = placed.anchor;
      auto& receives = port_receives_[{b.value, dst_port.value}];
      receives.push_back(placed.anchor + t_recv.skew_cycles);  // the cycle it takes the vector
      if (receives.size() > static_cast<std::size_t>(kC2cPortBufferVectors)) receives.pop_front();
      ready = placed.anchor + landing;
      SendRow row;
      row.src_tsp = a;
      row.src_port = src_port;
      row.send_cycle = send_cycle;
      row.dst_tsp = b;
      row.dst_port = dst_port;
      row.arrival_cycle = send_cycle + l.params.latency_cycles;
      row.receive_cycle = placed.anchor;
      send_rows_.push_back(row);
    }
    here = target;
    plane = target_plane;
  }
  return ready;
}

Cycle Lowering::transfer_vector(TspId src_tsp, const VectorLoc& src, TspId dst_tsp,
                                VectorLoc& dst) {
  Cycle ready = 0;
  for (int k = 0; k < src.group.width; ++k) {
    ready = std::max(ready, transfer(PlaneRef{src_tsp, src, k}, dst_tsp, dst, k));
  }
  dst.ready = ready;
  return ready;
}

}  // namespace tspemu::detail
