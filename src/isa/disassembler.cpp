#include "isa/disassembler.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "isa/detail/values.hpp"
#include "isa/queue.hpp"
#include "isa/validate.hpp"

namespace tspemu {
namespace {

constexpr std::size_t kValuesPerLine = 16;
constexpr std::size_t kAnnotationColumn = 44;

std::string hex(std::int64_t value) {
  return value < 0 ? fmt::format("-{:#x}", -value) : fmt::format("{:#x}", value);
}

bool is_absent(OperandRole role, const Operand& op) {
  if (role == OperandRole::mask) return op.kind == OperandKind::none;
  if (role == OperandRole::stride || role == OperandRole::clear) {
    return op.kind == OperandKind::integer && op.value == 0;
  }
  return false;
}

std::string operand_text(const Instruction& in, OperandRole role, const Operand& op,
                         std::span<const LaneMap> maps) {
  switch (op.kind) {
    case OperandKind::none:
      return "-";
    case OperandKind::stream:
      return stream_text(op.stream);
    case OperandKind::alu:
      return fmt::format("ALU{}", op.value);
    case OperandKind::immediate: {
      const DType type = in.opcode == Opcode::cvt ? in.src_dtype : in.dtype;
      return "#" + detail::format_element(static_cast<std::uint64_t>(op.value), type);
    }
    case OperandKind::address:
      return hex(op.value);
    case OperandKind::symbol:
      if (op.value >= 0 && op.value < static_cast<std::int64_t>(maps.size())) {
        return maps[static_cast<std::size_t>(op.value)].name;
      }
      return fmt::format("map#{}", op.value);
    case OperandKind::integer:
      switch (role) {
        case OperandRole::accumulator:
          return fmt::format("acc{}", op.value);
        case OperandRole::clear:
          return op.value != 0 ? "clear" : "noclear";
        case OperandRole::superlanes:
          return fmt::format("superlanes={}", op.value);
        default:
          return fmt::format("{}", op.value);
      }
  }
  return "?";
}

std::string slice_text(QueueId slice) {
  return queue_name(slice).substr(4);
}  // "MEM_W3" -> "W3"

void append_list(std::string& out, const std::vector<std::string>& values) {
  if (values.size() <= kValuesPerLine) {
    out += "[";
    for (std::size_t i = 0; i < values.size(); ++i) out += (i == 0 ? "" : ", ") + values[i];
    out += "]";
    return;
  }
  out += "[";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i % kValuesPerLine == 0) out += "\n    ";
    out += values[i];
    if (i + 1 < values.size()) out += i % kValuesPerLine == kValuesPerLine - 1 ? "," : ", ";
  }
  out += "\n]";
}

std::string init_text(const DataSegment& data) {
  const DataInit& init = data.init;
  switch (init.kind) {
    case DataInit::Kind::zero:
      return "zero";
    case DataInit::Kind::literal: {
      const std::size_t bytes = static_cast<std::size_t>(dtype_bytes(data.dtype));
      std::vector<std::string> values;
      for (std::size_t i = 0; i + bytes <= init.bytes.size(); i += bytes) {
        std::uint64_t bits = 0;
        for (std::size_t k = 0; k < bytes; ++k) {
          bits |= static_cast<std::uint64_t>(init.bytes[i + k]) << (8 * k);
        }
        values.push_back(detail::format_element(bits, data.dtype));
      }
      std::string out;
      append_list(out, values);
      return out;
    }
    case DataInit::Kind::file_bytes: {
      std::string out = "bytes(\"";
      out.reserve(init.bytes.size() * 2 + 10);
      for (std::uint8_t b : init.bytes) out += fmt::format("{:02x}", b);
      return out + "\")";
    }
    case DataInit::Kind::seeded_uniform:
      return fmt::format("seeded(seed={}, dist=uniform, lo={}, hi={})", init.seed, init.low,
                         init.high);
  }
  return "zero";
}

std::string pad_to(std::string text, std::size_t column) {
  if (text.size() + 1 < column)
    text.append(column - text.size(), ' ');
  else
    text += "  ";
  return text;
}

std::string timing_note(const Instruction& in, Cycle previous_issue, const Instruction* previous,
                        const OpTimingTable& table, int superlanes) {
  const OpInfo& info = op_info(in.opcode);
  if (in.opcode == Opcode::repeat) {
    if (previous == nullptr || previous_issue < 0) {
      return "; repetitions at run time (after SYNC or DESKEW)";
    }
    const std::int64_t n = in.operands[0].value;
    const std::int64_t d = in.operands[1].value;
    std::string out = fmt::format("; repeats {} at", op_info(previous->opcode).mnemonic);
    if (n <= 4) {
      for (std::int64_t k = 1; k <= n; ++k) {
        out += fmt::format("{} {}", k == 1 ? "" : ",", previous_issue + k * d);
      }
    } else {
      out += fmt::format(" {}, {}, ..., {} ({} times, every {})", previous_issue + d,
                         previous_issue + 2 * d, previous_issue + n * d, n, d);
    }
    return out;
  }
  if (in.issue_cycle < 0) return "; issue at run time (after SYNC or DESKEW)";
  const Cycle t = in.issue_cycle;
  switch (in.opcode) {
    case Opcode::nop:
      return fmt::format("; issue {} | queue waits until {}", t, t + in.operands[0].value);
    case Opcode::sync:
      return fmt::format("; issue {} | parks until a NOTIFY releases it", t);
    case Opcode::notify:
      return fmt::format("; issue {} | releases parked queues barrier_notify_sync_cycles later", t);
    default:
      break;
  }
  if (info.unit == Unit::icu) return fmt::format("; issue {}", t);
  const OpTiming& timing = table.of(in);
  const Cycle operands = t + timing.skew_cycles;
  const Cycle result = operands + timing.func_delay_cycles;
  return fmt::format("; issue {} | operands {} | result {} | busy [{}, {}) | sweep done {}", t,
                     operands, result, t, t + timing.occupancy_cycles, result + superlanes - 1);
}

}  // namespace

std::string disassemble_instruction(const Instruction& in, std::span<const LaneMap> maps) {
  if (static_cast<int>(in.opcode) >= kOpcodeCount) {
    return fmt::format("<opcode {}>", static_cast<int>(in.opcode));
  }
  const OpInfo& info = op_info(in.opcode);
  std::string out(info.mnemonic);
  if (info.dtype_rule != DtypeRule::none && in.dtype != DType::none) {
    out += fmt::format(".{}", dtype_name(in.dtype));
  }
  if (in.src_dtype != DType::none) out += fmt::format(".{}", dtype_name(in.src_dtype));
  if (in.saturate) out += ".sat";
  int count = std::min<int>(in.operand_count, info.operand_count);
  while (count > 0) {
    const OperandSpec& spec = info.operands[static_cast<std::size_t>(count - 1)];
    if (!spec.optional || !is_absent(spec.role, in.operands[count - 1])) break;
    --count;
  }
  for (int k = 0; k < count; ++k) {
    out += k == 0 ? " " : ", ";
    out += operand_text(in, info.operands[static_cast<std::size_t>(k)].role, in.operands[k], maps);
  }
  return out;
}

std::string disassemble(const Program& program, const DisassembleOptions& options) {
  const OpTimingTable defaults;
  const OpTimingTable& table = options.timing_table != nullptr ? *options.timing_table : defaults;
  std::string out = fmt::format("; tspemu disassembly of {}\n", program.source_name);
  for (const TspProgram& tsp : program.tsps) {
    out += fmt::format("\n.tsp {}\n", tsp.tsp.value);
    for (const LaneMap& map : tsp.maps) {
      std::vector<std::string> values;
      values.reserve(map.lanes.size());
      for (std::int16_t lane : map.lanes) values.push_back(fmt::format("{}", lane));
      out += fmt::format(".map {} ", map.name);
      append_list(out, values);
      out += "\n";
    }
    std::string outputs;
    for (const DataSegment& data : tsp.data) {
      std::string at;
      for (const QueueId& slice : data.at.slices) at += (at.empty() ? "" : ",") + slice_text(slice);
      out += fmt::format("{} {} dtype={} shape=[{},{}] at={}:{}",
                         data.initialized ? ".data" : ".region", data.name, dtype_name(data.dtype),
                         data.rows, data.columns, at, hex(data.at.address));
      if (data.initialized) out += " init=" + init_text(data);
      out += "\n";
      if (data.is_output) outputs += " " + data.name;
    }
    if (!outputs.empty()) out += ".output" + outputs + "\n";
    for (std::size_t qi = 0; qi < tsp.queues.size(); ++qi) {
      const QueueProgram& queue = tsp.queues[qi];
      out += fmt::format(".queue {}\n", queue_name(queue.queue));
      Cycle previous_issue = -1;
      const Instruction* previous = nullptr;
      for (std::size_t ii = 0; ii < queue.instructions.size(); ++ii) {
        const Instruction& in = queue.instructions[ii];
        std::string line = "    ";
        if (in.issue_cycle >= 0 && in.opcode != Opcode::repeat) {
          line += fmt::format("@{} ", in.issue_cycle);
        }
        line += disassemble_instruction(in, tsp.maps);
        if (options.timing) {
          line = pad_to(std::move(line), kAnnotationColumn) +
                 timing_note(in, previous_issue, previous, table, options.superlanes);
        }
        if (options.annotate) {
          const std::string note = options.annotate(tsp.tsp, qi, ii);
          if (!note.empty()) {
            line = (options.timing ? line + "  " : pad_to(std::move(line), kAnnotationColumn)) +
                   "; " + note;
          }
        }
        out += line + "\n";
        if (in.opcode != Opcode::repeat) previous_issue = in.issue_cycle;
        previous = &in;
      }
    }
  }
  return out;
}

}  // namespace tspemu
