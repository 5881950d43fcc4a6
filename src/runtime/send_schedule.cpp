#include "runtime/send_schedule.hpp"

#include <algorithm>
#include <vector>

namespace tspemu {
namespace {

struct Issue {
  Cycle cycle;
  std::int64_t
      instruction;  // index of the instruction in its queue (a REPEAT's iterations share it)
};

// Issue cycles of every `opcode` in one queue, REPEATs expanded; nullopt if any is not static.
std::optional<std::vector<Issue>> static_issues(const QueueProgram& queue, Opcode opcode) {
  std::vector<Issue> out;
  const auto& instructions = queue.instructions;
  for (std::size_t i = 0; i < instructions.size(); ++i) {
    const Instruction& instr = instructions[i];
    if (instr.opcode != opcode) continue;
    if (instr.issue_cycle < 0) return std::nullopt;
    out.push_back({instr.issue_cycle, static_cast<std::int64_t>(i)});
    if (i + 1 < instructions.size() && instructions[i + 1].opcode == Opcode::repeat) {
      const Instruction& repeat = instructions[i + 1];
      for (std::int64_t r = 1; r <= repeat.operands[0].value; ++r) {
        out.push_back(
            {instr.issue_cycle + r * repeat.operands[1].value, static_cast<std::int64_t>(i)});
      }
    }
  }
  return out;
}

}  // namespace

SendSchedule derive_send_schedule(const Program& program, const Topology& topology) {
  SendSchedule rows;
  // RECEIVE issue cycles per (tsp, port), to pair with the vectors sent into that port.
  std::map<std::pair<std::int32_t, std::int32_t>, std::vector<Issue>> receives;
  for (const TspProgram& tsp : program.tsps) {
    for (const QueueProgram& queue : tsp.queues) {
      if (queue.queue.kind != QueueKind::c2c) continue;
      auto r = static_issues(queue, Opcode::receive);
      if (!r) return {};
      receives[{tsp.tsp.value, queue.queue.index}] = std::move(*r);
    }
  }
  for (const TspProgram& tsp : program.tsps) {
    for (const QueueProgram& queue : tsp.queues) {
      if (queue.queue.kind != QueueKind::c2c) continue;
      auto sends = static_issues(queue, Opcode::send);
      if (!sends) return {};
      const PortId port{queue.queue.index};
      const auto link_id = topology.link_at(tsp.tsp, port);
      if (!link_id) continue;  // the run reports "no link is attached to that port"
      const Link& link = topology.link(*link_id);
      const Endpoint& far = link.far_end(tsp.tsp);
      const auto& rx = receives[{far.tsp.value, far.port.value}];
      for (std::size_t k = 0; k < sends->size(); ++k) {
        SendRow row;
        row.src_tsp = tsp.tsp;
        row.src_port = port;
        row.send_cycle = (*sends)[k].cycle;
        row.dst_tsp = far.tsp;
        row.dst_port = far.port;
        row.arrival_cycle = row.send_cycle + link.params.latency_cycles;
        row.receive_cycle = k < rx.size() ? rx[k].cycle : -1;
        row.receive_instruction = k < rx.size() ? rx[k].instruction : -1;
        rows.push_back(row);
      }
    }
  }
  std::sort(rows.begin(), rows.end(), [](const SendRow& a, const SendRow& b) {
    return std::tie(a.send_cycle, a.src_tsp, a.src_port) <
           std::tie(b.send_cycle, b.src_tsp, b.src_port);
  });
  return rows;
}

SendScheduleIndex::SendScheduleIndex(const SendSchedule& schedule) {
  // Rows of one port in send order give each its per-port index k.
  std::vector<const SendRow*> sorted;
  sorted.reserve(schedule.size());
  for (const SendRow& row : schedule) sorted.push_back(&row);
  std::stable_sort(sorted.begin(), sorted.end(), [](const SendRow* a, const SendRow* b) {
    return std::tie(a->src_tsp, a->src_port, a->send_cycle) <
           std::tie(b->src_tsp, b->src_port, b->send_cycle);
  });
  for (const SendRow* row : sorted)
    ports_[{row->src_tsp.value, row->src_port.value}].push_back(row);
}

const SendRow* SendScheduleIndex::find(TspId tsp, PortId port, std::int64_t k) const {
  const auto it = ports_.find({tsp.value, port.value});
  if (it == ports_.end() || k < 0 || k >= static_cast<std::int64_t>(it->second.size())) {
    return nullptr;
  }
  return it->second[static_cast<std::size_t>(k)];
}

std::int64_t SendScheduleIndex::rows_for(TspId tsp, PortId port) const {
  const auto it = ports_.find({tsp.value, port.value});
  return it == ports_.end() ? 0 : static_cast<std::int64_t>(it->second.size());
}

}  // namespace tspemu
