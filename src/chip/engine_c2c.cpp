// The engine's C2C rules: SEND puts the vector passing its port on the link when it completes;
// RECEIVE takes the oldest vector its port holds. The runtime delivers vectors into the ports
// (deliver) and collects sends (take_sends) between windows.
#include <fmt/format.h>

#include <algorithm>

#include "chip/engine_impl.hpp"

namespace tspemu {

// RECEIVE takes the oldest vector of its port, which must have arrived by its operand cycle. It
// is taken here, in the serial issue phase (a port has one queue, so no two RECEIVEs race), and
// parked in a pool vector that execute_item puts on the stream.
void Engine::Impl::issue_receive(int queue, int index, ExecItem& item) {
  const QueueState& q = queues_[static_cast<std::size_t>(queue)];
  const int port = q.id.index;
  auto& buffer = port_buffers_[static_cast<std::size_t>(port)];
  // The port's occupancy only grows until this RECEIVE: its peak is what has arrived by now.
  std::int64_t waiting = 0;
  for (const Buffered& b : buffer) waiting += b.arrival <= item.exec ? 1 : 0;
  if (waiting > options_.c2c_buffer_vectors) {
    fail(queue, index, item.exec,
         fmt::format("C2C port {} buffer overflow: {} vectors arrived and wait for a RECEIVE by "
                     "cycle {} (capacity {})",
                     port, waiting, item.exec, options_.c2c_buffer_vectors));
  }
  if (buffer.empty()) {
    fail(queue, index, item.exec,
         fmt::format("late arrival: RECEIVE on C2C port {} in cycle {} finds no vector (none has "
                     "arrived on this port yet)",
                     port, item.exec));
  }
  const Buffered& front = buffer.front();
  if (front.arrival > item.exec) {
    fail(queue, index, item.exec,
         fmt::format("late arrival: RECEIVE on C2C port {} in cycle {}, but the vector from TSP {} "
                     "on link {} arrives in cycle {}",
                     port, item.exec, front.src.value, front.link.value, front.arrival));
  }
  const std::uint32_t staged = vectors_.acquire();
  vectors_[staged] = front.data;
  item.address = staged;
  buffer.pop_front();
  ++received_;
}

std::vector<C2cSend> Engine::Impl::take_sends() {
  std::vector<C2cSend> out;
  out.swap(sends_);
  // (send_cycle, port) is unique (a port's queue issues at most one SEND per cycle), so std::sort
  // gives the one order. Not std::stable_sort: libstdc++ 12 gives it a temporary buffer that
  // ignores alignas(64) of Vector, and -march=native code for AVX-512 hosts then crashes in it.
  std::sort(out.begin(), out.end(), [](const C2cSend& a, const C2cSend& b) {
    return a.send_cycle != b.send_cycle ? a.send_cycle < b.send_cycle : a.port < b.port;
  });
  return out;
}

void Engine::Impl::deliver(PortId port, Cycle arrival_cycle, const Vector& data, TspId src,
                           LinkId link, GlobalTime arrival_time_as) {
  if (port.value < 0 || port.index() >= port_buffers_.size()) {
    throw RuntimeError(fmt::format("tsp {}: vector delivered to C2C port {}, which does not exist",
                                   program_.tsp.value, port.value));
  }
  if (!clock_.ideal()) {
    // The sender stamped the arrival in global time; this chip's clock says which of its cycles
    // that is. A drift larger than the window's lookahead would put it in cycles already run.
    const Cycle sender_estimate = arrival_cycle;
    arrival_cycle = clock_.first_cycle_at_or_after(arrival_time_as);
    if (arrival_cycle <= current_) {
      throw RuntimeError(fmt::format(
          "tsp {}: the vector from TSP {} on link {} for C2C port {} arrives in this TSP's cycle "
          "{} (cycle {} on the sender's clock), which it has already run: the two clocks drifted "
          "{} cycles apart, more than the lockstep window allows; deskew more often "
          "(RUNTIME_DESKEW, docs/clocks.md)",
          program_.tsp.value, src.value, link.value, port.value, arrival_cycle, sender_estimate,
          sender_estimate - arrival_cycle));
    }
  }
  if (arrival_cycle <= current_) {
    throw RuntimeError(fmt::format(
        "tsp {}: vector for C2C port {} arriving in cycle {} was delivered after the engine ran "
        "cycle {} (window longer than the link latency?)",
        program_.tsp.value, port.value, arrival_cycle, current_));
  }
  auto& buffer = port_buffers_[port.index()];
  Buffered b{arrival_cycle, arrival_time_as, data, src, link};
  // Arrival order; equal arrivals keep delivery order (the transport's canonical order).
  const auto at = std::upper_bound(buffer.begin(), buffer.end(), arrival_cycle,
                                   [](Cycle a, const Buffered& x) { return a < x.arrival; });
  buffer.insert(at, std::move(b));
  ++delivered_;
  // An arrival is activity of this chip (docs/network.md: the run's final cycle covers it).
  final_cycle_ = std::max(final_cycle_, arrival_cycle);
}

void Engine::Impl::reconvert_arrivals(Cycle cycle) {
  for (auto& buffer : port_buffers_) {
    for (Buffered& b : buffer) {
      if (b.arrival > cycle) {
        b.arrival = std::max(cycle + 1, clock_.first_cycle_at_or_after(b.arrival_time_as));
        final_cycle_ = std::max(final_cycle_, b.arrival);
      }
    }
    // One link per port and vectors on a link never overtake each other: the order holds.
  }
}

void Engine::Impl::execute_c2c(ExecItem& item, Effect* effects) {
  [[maybe_unused]] const auto [q, instr, ops, position] = op_at(item);
  switch (instr.opcode) {
    case Opcode::send: {
      // The vector passing the port's position now goes on the link when the SEND completes.
      vec(item, 0) = read_stream(item, ops[0].stream.index, ops[0].stream.direction, position);
      Effect& e = add_effect(item, effects, Effect::Kind::c2c_send);
      e.unit = static_cast<std::int16_t>(q.id.index);
      e.vecs[0] = vec_id(item, 0);
      return;
    }
    case Opcode::receive:
      vec(item, 0) = vectors_[static_cast<std::size_t>(item.address)];  // taken at issue
      emit_streams(item, effects, ops[0].stream, 1, position, 0);
      return;
    case Opcode::sac: {
      // The SAC at the issue cycle, little-endian in lanes 0..7; the other lanes 0.
      Vector& v = vec(item, 0);
      v = Vector{};
      const auto sac = static_cast<std::uint64_t>(clock_.sac(item.issue));
      for (std::size_t b = 0; b < 8; ++b) v[b] = static_cast<std::uint8_t>(sac >> (8 * b));
      emit_streams(item, effects, ops[0].stream, 1, position, 0);
      return;
    }
    default:
      TSPEMU_ASSERT(false, "C2C op without an execution rule");
  }
}

}  // namespace tspemu
