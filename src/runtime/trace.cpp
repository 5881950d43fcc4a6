#include "runtime/trace.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <sstream>
#include <tuple>

#include "common/error.hpp"
#include "common/text.hpp"
#include "isa/op_table.hpp"
#include "isa/queue.hpp"
#include "topo/chip_config.hpp"

namespace tspemu {
namespace {

struct Slice {
  std::int32_t tsp = 0;
  std::int32_t queue = 0;  // QueueId packed: kind, hemisphere, index
  std::int32_t queue_index = 0;
  std::int32_t instruction = 0;
  std::int32_t opcode = 0;
  Cycle issue = 0;
  Cycle end = 0;
};

std::int32_t pack(QueueId q) {
  return (static_cast<std::int32_t>(q.kind) << 16) |
         (static_cast<std::int32_t>(q.hemisphere) << 8) | static_cast<std::int32_t>(q.index);
}

QueueId unpack(std::int32_t v) {
  QueueId q;
  q.kind = static_cast<QueueKind>((v >> 16) & 0xff);
  q.hemisphere = static_cast<Hemisphere>((v >> 8) & 0xff);
  q.index = static_cast<std::int16_t>(v & 0xff);
  return q;
}

}  // namespace

std::string encode_trace_part(const DriverOutcome& outcome) {
  std::string out;
  for (const TspOutcome& t : outcome.local) {
    for (const TraceSlice& s : t.result.trace) {
      out += fmt::format("{} {} {} {} {} {} {}\n", t.tsp.value, pack(s.queue), s.queue_index,
                         s.instruction, static_cast<int>(s.opcode), s.issue, s.end);
    }
  }
  return out;
}

std::pair<Cycle, Cycle> parse_trace_cycles(const std::string& text) {
  const auto colon = text.find(':');
  Cycle a = -1;
  Cycle b = -1;
  bool ok = colon != std::string::npos;
  if (ok) {
    const char* p = text.data();
    ok = std::from_chars(p, p + colon, a).ptr == p + colon &&
         std::from_chars(p + colon + 1, p + text.size(), b).ptr == p + text.size() && a >= 0 &&
         b >= a;
  }
  if (!ok) {
    throw InputError(fmt::format(
        "--trace-cycles {}: expected FIRST:LAST, two cycles with 0 <= FIRST <= LAST", text));
  }
  return {a, b};
}

std::pair<Cycle, Cycle> trace_range(bool trace, const std::optional<std::string>& trace_cycles) {
  if (!trace_cycles) return {0, Cycle{1} << 62};
  if (!trace) throw InputError("--trace-cycles selects what --trace writes: give --trace FILE too");
  return parse_trace_cycles(*trace_cycles);
}

std::string write_trace_json(const std::vector<std::string>& parts, const Topology& topology,
                             const Bundle& bundle, const CompiledGraph* record,
                             const std::vector<WindowIndex>& windows, Cycle window_cycles,
                             Cycle trace_begin, Cycle trace_end) {
  std::vector<Slice> slices;
  for (const std::string& part : parts) {
    std::istringstream in(part);
    Slice s;
    while (in >> s.tsp >> s.queue >> s.queue_index >> s.instruction >> s.opcode >> s.issue >>
           s.end) {
      slices.push_back(s);
    }
    if (!in.eof()) throw RuntimeError("a rank's trace part is malformed (this is a tspemu bug)");
  }
  std::sort(slices.begin(), slices.end(), [](const Slice& a, const Slice& b) {
    return std::tie(a.tsp, a.issue, a.queue_index, a.instruction) <
           std::tie(b.tsp, b.issue, b.queue_index, b.instruction);
  });
  // Thread ids: a queue's position in the chip's queue order, the same on every TSP.
  const std::vector<QueueId> queues = all_queues(chip_config_from_params(topology.chip()).shape);
  std::map<std::int32_t, std::size_t> tid_of;
  for (std::size_t i = 0; i < queues.size(); ++i) tid_of[pack(queues[i])] = i;
  const auto tid = [&](QueueId q) {
    const auto it = tid_of.find(pack(q));
    return it == tid_of.end() ? queues.size() : it->second;
  };

  std::string out = "{\"displayTimeUnit\": \"ns\",\n";
  out += fmt::format(
      "\"otherData\": {{\"tool\": \"tspemu\", \"topology\": {}, \"program\": {}, \"time_unit\": "
      "\"1 us in the viewer = 1 TSP cycle\", \"trace_cycles\": \"{}:{}\"}},\n",
      quoted_text(topology.name()), quoted_text(bundle.program.source_name), trace_begin,
      trace_end);
  out += "\"traceEvents\": [\n";
  bool first = true;
  const auto emit = [&](const std::string& event) {
    if (!first) out += ",\n";
    out += event;
    first = false;
  };
  // Names: every TSP with a slice, and the queues it used.
  std::map<std::int32_t, std::map<std::size_t, QueueId>> used;
  for (const Slice& s : slices) used[s.tsp][tid(unpack(s.queue))] = unpack(s.queue);
  for (const auto& [tsp, threads] : used) {
    emit(fmt::format(
        R"({{"ph": "M", "name": "process_name", "pid": {}, "args": {{"name": "TSP {}"}}}})", tsp,
        tsp));
    emit(fmt::format(
        R"({{"ph": "M", "name": "process_sort_index", "pid": {}, "args": {{"sort_index": {}}}}})",
        tsp, tsp));
    for (const auto& [t, q] : threads) {
      emit(fmt::format(
          R"({{"ph": "M", "name": "thread_name", "pid": {}, "tid": {}, "args": {{"name": "{}"}}}})",
          tsp, t, queue_name(q)));
      emit(fmt::format(
          R"({{"ph": "M", "name": "thread_sort_index", "pid": {}, "tid": {}, "args": {{"sort_index": {}}}}})",
          tsp, t, t));
    }
  }
  for (const Slice& s : slices) {
    const auto opcode = static_cast<Opcode>(s.opcode);
    std::string args =
        fmt::format(R"("instruction": {}, "issue_cycle": {})", s.instruction, s.issue);
    if (record != nullptr) {
      const std::int32_t op = record->op_of(TspId(s.tsp), static_cast<std::size_t>(s.queue_index),
                                            static_cast<std::size_t>(s.instruction));
      if (op >= 0) {
        args = fmt::format(R"("op": {}, )",
                           quoted_text(record->graph.ops[static_cast<std::size_t>(op)].label())) +
               args;
      }
    }
    emit(fmt::format(
        R"({{"ph": "X", "pid": {}, "tid": {}, "ts": {}, "dur": {}, "name": "{}", "args": {{{}}}}})",
        s.tsp, tid(unpack(s.queue)), s.issue, std::max<Cycle>(1, s.end - s.issue),
        op_info(opcode).mnemonic, args));
  }
  // Flows: every vector of the send schedule whose SEND lies in the traced range.
  for (std::size_t r = 0; r < bundle.send_schedule.size(); ++r) {
    const SendRow& row = bundle.send_schedule[r];
    if (row.send_cycle < trace_begin || row.send_cycle > trace_end) continue;
    const QueueId src = c2c_queue(row.src_port.value);
    const QueueId dst = c2c_queue(row.dst_port.value);
    emit(fmt::format(
        R"({{"ph": "s", "id": {}, "cat": "c2c", "name": "vector", "pid": {}, "tid": {}, "ts": {}}})",
        r, row.src_tsp.value, tid(src), row.send_cycle));
    emit(fmt::format(
        R"({{"ph": "f", "bp": "e", "id": {}, "cat": "c2c", "name": "vector", "pid": {}, "tid": {}, "ts": {}}})",
        r, row.dst_tsp.value, tid(dst), row.receive_cycle));
  }
  for (const WindowIndex w : windows) {
    const Cycle begin = w * window_cycles;
    if (begin < trace_begin || begin > trace_end) continue;
    emit(fmt::format(
        R"({{"ph": "i", "s": "g", "name": "window {}", "pid": 0, "tid": 0, "ts": {}}})", w, begin));
  }
  out += "\n]}\n";
  return out;
}

}  // namespace tspemu
