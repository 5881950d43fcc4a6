#include "isa/validate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string_view>
#include <vector>

#include "isa/detail/values.hpp"
#include "isa/queue.hpp"

namespace tspemu {
namespace {

constexpr Cycle kMaxCount = Cycle{1} << 40;  // NOP/REPEAT counts and spacings: no overflow

char direction_letter(Direction d) {
  return d == Direction::east ? 'E' : 'W';
}

std::string hex(std::int64_t value) {
  return value < 0 ? fmt::format("-{:#x}", -value) : fmt::format("{:#x}", value);
}

bool is_identifier(const std::string& name) {
  if (name.empty() || name.size() > 128) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!alpha(name[0])) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return alpha(c) || (c >= '0' && c <= '9'); });
}

// The element type that sets the width of a stream operand in this role.
DType operand_type(const Instruction& instruction, OperandRole role) {
  if (role == OperandRole::value && instruction.opcode == Opcode::cvt) return instruction.src_dtype;
  return instruction.dtype;
}

std::string out_of_range_stream(const StreamRef& s, int index, const ChipShape& shape) {
  const char d = direction_letter(s.direction);
  return fmt::format("stream S{}{} out of range S0{}..S{}{}", index, d, d,
                     shape.streams_per_direction - 1, d);
}

std::optional<std::string> check_group(const StreamRef& s, int width, std::string_view type,
                                       const ChipShape& shape) {
  if (s.count != 1) {
    return fmt::format("expected one stream group, not the range {}", stream_text(s));
  }
  if (s.index < 0 || s.index >= shape.streams_per_direction) {
    return out_of_range_stream(s, s.index, shape);
  }
  if (width > 1 && s.index % width != 0) {
    return fmt::format("{} operand {} must be aligned to {} streams (SG{})", type, stream_text(s),
                       width, width);
  }
  return std::nullopt;
}

std::optional<std::string> check_range(const StreamRef& s, const ChipShape& shape) {
  if (s.count < 1) return fmt::format("stream range of {} streams", s.count);
  if (s.index < 0 || s.index >= shape.streams_per_direction) {
    return out_of_range_stream(s, s.index, shape);
  }
  const int end = s.index + s.count - 1;
  if (end >= shape.streams_per_direction) return out_of_range_stream(s, end, shape);
  return std::nullopt;
}

bool is_permutation(const LaneMap& map, int lanes) {
  if (static_cast<int>(map.lanes.size()) != lanes) return false;
  std::vector<bool> seen(static_cast<std::size_t>(lanes), false);
  for (std::int16_t lane : map.lanes) {
    if (lane < 0 || lane >= lanes || seen[static_cast<std::size_t>(lane)]) return false;
    seen[static_cast<std::size_t>(lane)] = true;
  }
  return true;
}

bool kind_fits(OperandRole role, OperandKind kind) {
  switch (role) {
    case OperandRole::dst:
    case OperandRole::src:
    case OperandRole::lane_addresses:
    case OperandRole::dst_range:
    case OperandRole::src_range:
      return kind == OperandKind::stream;
    case OperandRole::dst_or_none:
    case OperandRole::mask:
      return kind == OperandKind::stream || kind == OperandKind::none;
    case OperandRole::value:
      return kind == OperandKind::stream || kind == OperandKind::alu ||
             kind == OperandKind::immediate;
    case OperandRole::address:
      return kind == OperandKind::address;
    case OperandRole::lane_map:
      return kind == OperandKind::symbol;
    case OperandRole::weight_row:
    case OperandRole::count:
    case OperandRole::spacing:
    case OperandRole::stride:
    case OperandRole::lane_shift:
    case OperandRole::rotate_size:
    case OperandRole::accumulator:
    case OperandRole::clear:
    case OperandRole::superlanes:
    case OperandRole::cycles:
      return kind == OperandKind::integer;
  }
  return false;
}

bool valid_dtype(DType t) {
  return static_cast<int>(t) <= static_cast<int>(DType::f32);
}

}  // namespace

std::string stream_text(const StreamRef& s) {
  const char d = direction_letter(s.direction);
  if (s.count == 1) return fmt::format("S{}{}", s.index, d);
  return fmt::format("S{}{}..S{}{}", s.index, d, s.index + s.count - 1, d);
}

std::optional<std::string> check_op_queue(const OpInfo& info, QueueId queue,
                                          const ChipShape& shape) {
  (void)shape;
  if (info.allows_queue(queue.kind)) return std::nullopt;
  std::string allowed;
  for (int k = 0; k <= static_cast<int>(QueueKind::c2c); ++k) {
    const auto kind = static_cast<QueueKind>(k);
    if (!info.allows_queue(kind)) continue;
    if (!allowed.empty()) allowed += ", ";
    allowed += queue_kind_description(kind);
  }
  return fmt::format("{} is not valid in queue {} ({} only)", info.mnemonic, queue_name(queue),
                     allowed);
}

bool needs_large_alu(const Instruction& instruction) {
  return instruction.opcode == Opcode::cvt && instruction.src_dtype == DType::f32 &&
         instruction.dtype == DType::f16;
}

std::optional<std::string> check_alu_class(const Instruction& instruction, QueueId queue,
                                           const ChipShape& shape) {
  if (queue.kind != QueueKind::vxm || !needs_large_alu(instruction) || is_large_alu(queue.index)) {
    return std::nullopt;
  }
  std::string large;
  for (int alu = 0; alu < shape.vxm_alus; ++alu) {
    if (!is_large_alu(alu)) continue;
    large += large.empty() ? fmt::format("VXM{}", alu) : fmt::format(", {}", alu);
  }
  return fmt::format("CVT.f16.f32 needs a large VXM ALU ({}), not {}", large, queue_name(queue));
}

std::optional<std::string> check_op_types(const OpInfo& info, DType dtype, DType src_dtype,
                                          bool saturate) {
  const bool two_types = info.src_dtypes != 0;
  switch (info.dtype_rule) {
    case DtypeRule::none:
      if (dtype != DType::none) {
        return fmt::format("{} takes no type suffix (got .{})", info.mnemonic, dtype_name(dtype));
      }
      break;
    case DtypeRule::required:
      if (dtype == DType::none) {
        if (two_types) {
          return fmt::format("{} needs two type suffixes, destination then source ({}.f32.f16)",
                             info.mnemonic, info.mnemonic);
        }
        return fmt::format("{} needs a type suffix ({}.<type>, type one of {})", info.mnemonic,
                           info.mnemonic, dtype_list(info.dtypes));
      }
      [[fallthrough]];
    case DtypeRule::optional:
      if (dtype != DType::none && !info.allows_dtype(dtype)) {
        return fmt::format("{} does not take {} ({})", info.mnemonic, dtype_name(dtype),
                           dtype_list(info.dtypes));
      }
      break;
  }
  if (two_types) {
    if (src_dtype == DType::none) {
      return fmt::format("{} needs two type suffixes, destination then source ({}.f32.f16)",
                         info.mnemonic, info.mnemonic);
    }
    if ((info.src_dtypes & dtype_bit(src_dtype)) == 0) {
      return fmt::format("{} does not take source type {} ({})", info.mnemonic,
                         dtype_name(src_dtype), dtype_list(info.src_dtypes));
    }
    if (src_dtype == dtype) {
      return fmt::format("{}.{}.{} converts a type to itself (use MOV.{})", info.mnemonic,
                         dtype_name(dtype), dtype_name(src_dtype), dtype_name(dtype));
    }
  } else if (src_dtype != DType::none) {
    return fmt::format("{} takes one type suffix, not two", info.mnemonic);
  }
  if (saturate) {
    if (!info.saturate) return fmt::format(".sat is not valid for {}", info.mnemonic);
    if (two_types && (!is_integer(dtype) || !is_integer(src_dtype))) {
      return fmt::format(
          ".sat is not valid for {}.{}.{} (integer to integer only, float to "
          "integer always saturates)",
          info.mnemonic, dtype_name(dtype), dtype_name(src_dtype));
    }
    if (!is_integer(dtype)) {
      return fmt::format(".sat is not valid for {}.{} (integer types only)", info.mnemonic,
                         dtype_name(dtype));
    }
  }
  return std::nullopt;
}

std::optional<Problem> check_operands(const Instruction& instruction, QueueId queue,
                                      const ChipShape& shape, std::span<const LaneMap> maps) {
  const OpInfo& info = op_info(instruction.opcode);
  const int position = queue_position(queue, shape);
  const int last_position = shape.position_count() - 1;
  // Named only in messages: built on demand (this runs for every instruction of every bundle).
  const auto qname = [&] { return queue_name(queue); };

  auto check_read = [&](const StreamRef& s) -> std::optional<std::string> {
    if (position == 0 && s.direction == Direction::east) {
      return fmt::format(
          "{} is at the west edge of the chip: no eastward stream reaches it, so it "
          "cannot read {}",
          qname(), stream_text(s));
    }
    if (position == last_position && s.direction == Direction::west) {
      return fmt::format(
          "{} is at the east edge of the chip: no westward stream reaches it, so it "
          "cannot read {}",
          qname(), stream_text(s));
    }
    return std::nullopt;
  };
  auto check_write = [&](const StreamRef& s) -> std::optional<std::string> {
    if (position == 0 && s.direction == Direction::west) {
      return fmt::format(
          "{} is at the west edge of the chip: a result on westward stream {} "
          "would leave the chip",
          qname(), stream_text(s));
    }
    if (position == last_position && s.direction == Direction::east) {
      return fmt::format(
          "{} is at the east edge of the chip: a result on eastward stream {} "
          "would leave the chip",
          qname(), stream_text(s));
    }
    return std::nullopt;
  };

  for (int i = 0; i < info.operand_count; ++i) {
    const OperandSpec& spec = info.operands[static_cast<std::size_t>(i)];
    const Operand& op = instruction.operands[i];
    auto problem = [&](std::string message) { return Problem{i, std::move(message)}; };
    const DType type = operand_type(instruction, spec.role);
    std::optional<std::string> issue;
    switch (spec.role) {
      case OperandRole::dst:
      case OperandRole::dst_or_none:
      case OperandRole::src:
      case OperandRole::mask:
      case OperandRole::value:
      case OperandRole::lane_addresses: {
        if (op.kind == OperandKind::none) break;  // allowed by kind_fits for these roles
        if (op.kind == OperandKind::alu) {
          if (op.value < 0 || op.value >= shape.vxm_alus) {
            issue = fmt::format("ALU{} out of range ALU0..ALU{}", op.value, shape.vxm_alus - 1);
          }
          break;
        }
        if (op.kind == OperandKind::immediate) {
          const int bits = 8 * dtype_bytes(type);
          if (op.value < 0 || (bits < 63 && op.value >= (std::int64_t{1} << bits))) {
            issue = fmt::format("immediate bit pattern {} does not fit {}", hex(op.value),
                                dtype_name(type));
          }
          break;
        }
        const bool map = spec.role == OperandRole::lane_addresses;
        issue = check_group(op.stream, map ? 2 : dtype_streams(type),
                            map ? std::string_view("u16 map") : dtype_name(type), shape);
        if (!issue) {
          const bool writes =
              spec.role == OperandRole::dst || spec.role == OperandRole::dst_or_none;
          issue = writes ? check_write(op.stream) : check_read(op.stream);
        }
        break;
      }
      case OperandRole::dst_range:
      case OperandRole::src_range:
        issue = check_range(op.stream, shape);
        if (!issue) {
          issue =
              spec.role == OperandRole::dst_range ? check_write(op.stream) : check_read(op.stream);
        }
        break;
      case OperandRole::address:
        if (op.value < 0 || op.value >= shape.mem_rows_per_slice) {
          issue = fmt::format("address {} out of range 0..{}", hex(op.value),
                              hex(shape.mem_rows_per_slice - 1));
        }
        break;
      case OperandRole::weight_row:
        if (op.value < 0 || op.value >= shape.lanes()) {
          issue = fmt::format("weight row {} out of range 0..{}", op.value, shape.lanes() - 1);
        }
        break;
      case OperandRole::count:
        if (op.value < 1 || op.value > kMaxCount) {
          issue = fmt::format("{} count must be 1..{}, got {}", info.mnemonic, kMaxCount, op.value);
        }
        break;
      case OperandRole::spacing:
        if (op.value < 1 || op.value > kMaxCount) {
          issue = fmt::format("{} spacing must be 1..{} cycles, got {}", info.mnemonic, kMaxCount,
                              op.value);
        }
        break;
      case OperandRole::stride:
        if (op.value < -shape.mem_rows_per_slice || op.value > shape.mem_rows_per_slice) {
          issue = fmt::format("{} stride {} out of range -{}..{}", info.mnemonic, op.value,
                              shape.mem_rows_per_slice, shape.mem_rows_per_slice);
        }
        break;
      case OperandRole::lane_shift:
        if (op.value <= -shape.lanes() || op.value >= shape.lanes()) {
          issue = fmt::format("shift of {} lanes out of range -{}..{}", op.value, shape.lanes() - 1,
                              shape.lanes() - 1);
        }
        break;
      case OperandRole::rotate_size:
        if (op.value != 3 && op.value != 4) {
          issue = fmt::format("{} size must be 3 or 4, got {}", info.mnemonic, op.value);
        }
        break;
      case OperandRole::accumulator:
        if (op.value < 0 || op.value >= shape.mxm_accumulators) {
          issue = fmt::format("accumulator acc{} out of range acc0..acc{}", op.value,
                              shape.mxm_accumulators - 1);
        }
        break;
      case OperandRole::clear:
        if (op.value != 0 && op.value != 1)
          issue = fmt::format("clear flag {} is not 0 or 1", op.value);
        break;
      case OperandRole::lane_map: {
        if (op.value < 0 || op.value >= static_cast<std::int64_t>(maps.size())) {
          issue =
              fmt::format("map index {} out of range (the TSP has {} maps)", op.value, maps.size());
          break;
        }
        const LaneMap& map = maps[static_cast<std::size_t>(op.value)];
        if (instruction.opcode == Opcode::permute && !is_permutation(map, shape.lanes())) {
          issue = fmt::format("PERMUTE needs a {}-entry permutation map, '{}' has {} entries",
                              shape.lanes(), map.name, map.lanes.size());
          if (static_cast<int>(map.lanes.size()) == shape.lanes()) {
            issue = fmt::format("PERMUTE needs a permutation map, '{}' is not one", map.name);
          }
        } else if (instruction.opcode == Opcode::distribute &&
                   (map.lanes.size() != kLanesPerSuperlane ||
                    std::any_of(map.lanes.begin(), map.lanes.end(), [](std::int16_t v) {
                      return v < -1 || v >= kLanesPerSuperlane;
                    }))) {
          issue =
              fmt::format("DISTRIBUTE needs a {}-entry map of -1..{}, '{}' has {} entries",
                          kLanesPerSuperlane, kLanesPerSuperlane - 1, map.name, map.lanes.size());
        }
        break;
      }
      case OperandRole::superlanes:
        if (op.value < 1 || op.value > shape.superlanes) {
          issue =
              fmt::format("CONFIG superlanes={} out of range 1..{}", op.value, shape.superlanes);
        }
        break;
      case OperandRole::cycles:
        if (op.value < 0 || op.value > kMaxCount) {
          issue =
              fmt::format("{} cycles must be 0..{}, got {}", info.mnemonic, kMaxCount, op.value);
        }
        break;
    }
    if (issue) return problem(std::move(*issue));
  }

  // Cross-operand rules.
  const Operand* ops = instruction.operands;
  switch (instruction.opcode) {
    case Opcode::lw: {
      const std::int64_t end = ops[0].value + ops[1].stream.count - 1;
      if (end >= shape.lanes()) {
        return Problem{1, fmt::format("LW rows {}..{} exceed the weight buffer (rows 0..{})",
                                      ops[0].value, end, shape.lanes() - 1)};
      }
      break;
    }
    case Opcode::rotate: {
      const std::int64_t n = ops[2].value;
      if (ops[1].stream.count != n) {
        return Problem{1, fmt::format("ROTATE {} reads {} streams, got {} ({})", n, n,
                                      ops[1].stream.count, stream_text(ops[1].stream))};
      }
      if (ops[0].stream.count != n * n) {
        return Problem{0, fmt::format("ROTATE {} writes {} streams, got {} ({})", n, n * n,
                                      ops[0].stream.count, stream_text(ops[0].stream))};
      }
      break;
    }
    case Opcode::transpose:
      for (int i = 0; i < 2; ++i) {
        if (ops[i].stream.count != kLanesPerSuperlane) {
          return Problem{
              i, fmt::format("TRANSPOSE {} 16 streams, got {} ({})", i == 0 ? "writes" : "reads",
                             ops[i].stream.count, stream_text(ops[i].stream))};
        }
      }
      break;
    case Opcode::abc:
      if (instruction.dtype == DType::f16) {
        const int plane = queue.index;
        if (plane % 2 != 0 || plane + 1 >= shape.mxm_planes ||
            mxm_hemisphere(plane, shape) != mxm_hemisphere(plane + 1, shape)) {
          return Problem{-1, fmt::format("ABC.f16 uses planes p and p+1 (p even, one hemisphere), "
                                         "{} cannot be p",
                                         qname())};
        }
      }
      break;
    default:
      break;
  }
  return std::nullopt;
}

std::optional<Problem> check_instruction(const Instruction& instruction, QueueId queue,
                                         const ChipShape& shape, std::span<const LaneMap> maps) {
  if (static_cast<int>(instruction.opcode) >= kOpcodeCount) {
    return Problem{-1,
                   fmt::format("opcode {} does not exist", static_cast<int>(instruction.opcode))};
  }
  const OpInfo& info = op_info(instruction.opcode);
  if (!valid_dtype(instruction.dtype) || !valid_dtype(instruction.src_dtype)) {
    return Problem{-1, "element type out of range"};
  }
  if (instruction.operand_count != info.operand_count) {
    return Problem{-1, fmt::format("{} has {} operands, the op table says {}", info.mnemonic,
                                   instruction.operand_count, info.operand_count)};
  }
  if (instruction.issue_cycle < -1 || instruction.issue_cycle > kMaxIssueCycle) {
    return Problem{-1, fmt::format("issue cycle {} is invalid (0..{}, or -1: at the cursor)",
                                   instruction.issue_cycle, kMaxIssueCycle)};
  }
  for (int i = 0; i < info.operand_count; ++i) {
    const Operand& op = instruction.operands[i];
    const OperandSpec& spec = info.operands[static_cast<std::size_t>(i)];
    if (static_cast<int>(op.kind) > static_cast<int>(OperandKind::symbol) ||
        static_cast<int>(op.stream.direction) > static_cast<int>(Direction::west) ||
        !kind_fits(spec.role, op.kind)) {
      return Problem{i, fmt::format("operand {} of {} ({}) has the wrong kind", i + 1,
                                    info.mnemonic, spec.name)};
    }
  }
  if (auto message = check_op_queue(info, queue, shape)) return Problem{-1, *message};
  if (auto message =
          check_op_types(info, instruction.dtype, instruction.src_dtype, instruction.saturate)) {
    return Problem{-1, *message};
  }
  if (auto message = check_alu_class(instruction, queue, shape)) return Problem{-1, *message};
  if (info.dtype_rule == DtypeRule::optional && info.default_dtype != DType::none &&
      instruction.dtype == DType::none) {
    return Problem{-1, fmt::format("{} without its type (the assembler stores {})", info.mnemonic,
                                   dtype_name(info.default_dtype))};
  }
  return check_operands(instruction, queue, shape, maps);
}

std::optional<std::string> IssueCursor::advance(const Instruction& instruction,
                                                const Instruction* previous, QueueId queue,
                                                const ChipShape& shape) {
  const Cycle t = instruction.issue_cycle;
  if (instruction.opcode == Opcode::repeat) {
    if (previous == nullptr) {
      return fmt::format("REPEAT needs a previous instruction to repeat in queue {}",
                         queue_name(queue));
    }
    const OpInfo& prev = op_info(previous->opcode);
    if (prev.unit == Unit::icu) {
      return fmt::format("REPEAT cannot repeat {} (only non-ICU instructions repeat)",
                         prev.mnemonic);
    }
    const std::int64_t n = instruction.operands[0].value;
    const std::int64_t d = instruction.operands[1].value;
    const std::int64_t stride = instruction.operands[2].value;
    if (stride != 0) {
      if (previous->opcode != Opcode::read && previous->opcode != Opcode::write) {
        return fmt::format("REPEAT stride needs a READ or WRITE to repeat, not {}", prev.mnemonic);
      }
      const std::int64_t last = previous->operands[0].value + n * stride;
      if (last < 0 || last >= shape.mem_rows_per_slice) {
        return fmt::format("REPEAT moves {}'s address to {}, out of range 0..{}", prev.mnemonic,
                           hex(last), hex(shape.mem_rows_per_slice - 1));
      }
    }
    if (known_ && t != -1 && t != next_) {
      return fmt::format("REPEAT issues at the queue's next free cycle {}, not {}", next_, t);
    }
    // The repetitions run at last + k*d (k = 1..n); the queue is free again after the last one.
    // n and d are each at most 2^40 (check_operands): n * d may overflow 64 bits. The span is
    // bounded even when the start is known only at run time, so the engine's sums cannot overflow.
    Cycle span = 0;
    if (__builtin_mul_overflow(n, d, &span) || span > kMaxIssueCycle) {
      return fmt::format("REPEAT {}, {} spans more than {} cycles, the most a program may use", n,
                         d, kMaxIssueCycle);
    }
    if (known_ && last_issue_ >= 0) {
      if (last_issue_ + span > kMaxIssueCycle) {
        return fmt::format(
            "REPEAT {}, {} after the {} at cycle {} would issue past cycle {}, the last a program "
            "may use",
            n, d, prev.mnemonic, last_issue_, kMaxIssueCycle);
      }
      next_ = last_issue_ + span + 1;
    } else {
      known_ = false;
    }
    last_issue_ = -1;  // a REPEAT cannot itself be repeated
    return std::nullopt;
  }
  Cycle issue = t;
  if (known_) {
    if (t >= 0 && t < next_) {
      return fmt::format("issue cycle @{} is before the queue's next free cycle {}", t, next_);
    }
    if (t == -1) issue = next_;
  }
  if (issue > kMaxIssueCycle) {
    return fmt::format("issue cycle {} is past cycle {}, the last a program may use", issue,
                       kMaxIssueCycle);
  }
  last_issue_ = issue;
  if (issue < 0) {
    known_ = false;  // issues whenever the unknown cursor allows
  } else {
    known_ = true;
    // issue <= 2^50 and a NOP count <= 2^40: no overflow; past kMaxIssueCycle nothing may issue.
    next_ = issue + (instruction.opcode == Opcode::nop ? instruction.operands[0].value : 1);
  }
  // The release of SYNC and the end of a DESKEW stall are known only at run time.
  if (instruction.opcode == Opcode::sync || instruction.opcode == Opcode::deskew ||
      instruction.opcode == Opcode::runtime_deskew) {
    known_ = false;
  }
  return std::nullopt;
}

std::optional<Problem> check_lane_map(const LaneMap& map, const ChipShape& shape) {
  if (!is_identifier(map.name)) {
    return Problem{-1, fmt::format("map name '{}' is not an identifier", map.name)};
  }
  const int lanes = shape.lanes();
  const int size = static_cast<int>(map.lanes.size());
  if (size == kLanesPerSuperlane) {
    for (int i = 0; i < size; ++i) {
      const int v = map.lanes[static_cast<std::size_t>(i)];
      if (v < -1 || v >= kLanesPerSuperlane) {
        return Problem{i, fmt::format("map '{}' entry {} is {}: DISTRIBUTE entries must be -1..{}",
                                      map.name, i, v, kLanesPerSuperlane - 1)};
      }
    }
    return std::nullopt;
  }
  if (size == lanes) {
    std::vector<int> first(static_cast<std::size_t>(lanes), -1);
    for (int i = 0; i < size; ++i) {
      const int v = map.lanes[static_cast<std::size_t>(i)];
      if (v < 0 || v >= lanes) {
        return Problem{i, fmt::format("map '{}' entry {} is {}: PERMUTE entries must be 0..{}",
                                      map.name, i, v, lanes - 1)};
      }
      int& seen = first[static_cast<std::size_t>(v)];
      if (seen >= 0) {
        return Problem{i, fmt::format("map '{}' is not a permutation: lane {} appears twice "
                                      "(entries {} and {})",
                                      map.name, v, seen, i)};
      }
      seen = i;
    }
    return std::nullopt;
  }
  return Problem{-1, fmt::format("map '{}' has {} entries: a PERMUTE map needs {}, a DISTRIBUTE "
                                 "map {}",
                                 map.name, size, lanes, kLanesPerSuperlane)};
}

std::optional<Problem> check_data_segment(const DataSegment& data, const ChipShape& shape) {
  auto problem = [](DataPart part, std::string message) {
    return Problem{static_cast<int>(part), std::move(message)};
  };
  if (!is_identifier(data.name)) {
    return problem(DataPart::name, fmt::format("data name '{}' is not an identifier", data.name));
  }
  if (!valid_dtype(data.dtype) || data.dtype == DType::none) {
    return problem(DataPart::dtype, fmt::format("data '{}' has no element type", data.name));
  }
  const int bytes = dtype_bytes(data.dtype);
  if (data.rows < 1 || data.rows > shape.mem_rows_per_slice) {
    return problem(DataPart::shape, fmt::format("shape [{},{}]: rows must be 1..{}", data.rows,
                                                data.columns, shape.mem_rows_per_slice));
  }
  if (data.columns < 1 || data.columns > shape.lanes()) {
    return problem(DataPart::shape, fmt::format("shape [{},{}]: columns must be 1..{} (lanes)",
                                                data.rows, data.columns, shape.lanes()));
  }
  const auto& slices = data.at.slices;
  if (static_cast<int>(slices.size()) != bytes) {
    return problem(
        DataPart::at,
        fmt::format("{} data needs {} {} in at= (one per byte plane), got {}",
                    dtype_name(data.dtype), bytes, bytes == 1 ? "slice" : "slices", slices.size()));
  }
  for (std::size_t i = 0; i < slices.size(); ++i) {
    const QueueId& slice = slices[i];
    if (slice.kind != QueueKind::mem || !queue_exists(slice, shape)) {
      const char h = slice.hemisphere == Hemisphere::west ? 'W' : 'E';
      return problem(DataPart::at, fmt::format("slice {}{} out of range {}0..{}{}", h, slice.index,
                                               h, h, shape.mem_slices_per_hemisphere - 1));
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (slices[j] == slice) {
        return problem(DataPart::at,
                       fmt::format("slice {} appears twice in at=", queue_name(slice).substr(4)));
      }
    }
  }
  const std::int64_t rows = shape.mem_rows_per_slice;
  if (data.at.address < 0 || data.at.address >= rows) {
    return problem(DataPart::address, fmt::format("address {} out of range 0..{}",
                                                  hex(data.at.address), hex(rows - 1)));
  }
  const std::int64_t end = std::int64_t{data.at.address} + data.rows - 1;
  if (end >= rows) {
    return problem(DataPart::address,
                   fmt::format("data '{}' rows {}..{} do not fit in a slice (0..{})", data.name,
                               hex(data.at.address), hex(end), hex(rows - 1)));
  }
  const DataInit& init = data.init;
  const std::size_t expected = static_cast<std::size_t>(data.rows) *
                               static_cast<std::size_t>(data.columns) *
                               static_cast<std::size_t>(bytes);
  if (!data.initialized && (init.kind != DataInit::Kind::zero || !init.bytes.empty())) {
    return problem(DataPart::init, fmt::format("region '{}' cannot have an init", data.name));
  }
  switch (init.kind) {
    case DataInit::Kind::zero:
      if (!init.bytes.empty()) return problem(DataPart::init, "zero init carries bytes");
      break;
    case DataInit::Kind::literal:
    case DataInit::Kind::file_bytes:
      if (init.bytes.size() != expected) {
        return problem(
            DataPart::init,
            fmt::format("init has {} bytes, shape [{},{}] of {} needs {}", init.bytes.size(),
                        data.rows, data.columns, dtype_name(data.dtype), expected));
      }
      break;
    case DataInit::Kind::seeded_uniform: {
      if (!init.bytes.empty()) return problem(DataPart::init, "seeded init carries bytes");
      if (!std::isfinite(init.low) || !std::isfinite(init.high)) {
        return problem(DataPart::init, "seeded lo and hi must be finite numbers");
      }
      if (is_integer(data.dtype)) {
        const std::int64_t bits = 8 * dtype_bytes(data.dtype);
        const double min =
            data.dtype == DType::u8 ? 0.0 : -std::ldexp(1.0, static_cast<int>(bits - 1));
        const double max =
            data.dtype == DType::u8 ? 255.0 : std::ldexp(1.0, static_cast<int>(bits - 1)) - 1;
        for (double v : {init.low, init.high}) {
          if (v != std::floor(v)) {
            return problem(DataPart::init,
                           fmt::format("seeded lo and hi must be integers for {}, got {}",
                                       dtype_name(data.dtype), v));
          }
          if (v < min || v > max) {
            return problem(DataPart::init, fmt::format("seeded bound {} out of range {}..{} for {}",
                                                       v, min, max, dtype_name(data.dtype)));
          }
        }
        if (init.low > init.high) {
          return problem(DataPart::init,
                         fmt::format("seeded range is empty: lo={} > hi={}", init.low, init.high));
        }
      } else {
        const double max = data.dtype == DType::f16 ? 65504.0 : 3.4028234663852886e38;
        if (!(init.low < init.high)) {
          return problem(DataPart::init, fmt::format("seeded range [lo, hi) is empty: lo={} hi={}",
                                                     init.low, init.high));
        }
        if (init.low < -max || init.high > max) {
          return problem(DataPart::init,
                         fmt::format("seeded range [{}, {}) exceeds the finite range of {} "
                                     "(+-{})",
                                     init.low, init.high, dtype_name(data.dtype), max));
        }
      }
      break;
    }
    default:
      return problem(DataPart::init, "init kind out of range");
  }
  return std::nullopt;
}

std::optional<std::string> check_data_overlap(const DataSegment& later,
                                              const DataSegment& earlier) {
  const std::int64_t begin = std::max(later.at.address, earlier.at.address);
  const std::int64_t end = std::min(std::int64_t{later.at.address} + later.rows,
                                    std::int64_t{earlier.at.address} + earlier.rows);
  if (begin >= end) return std::nullopt;
  for (const QueueId& slice : later.at.slices) {
    for (const QueueId& other : earlier.at.slices) {
      if (slice == other) {
        return fmt::format("data '{}' overlaps data '{}' in {} rows {}..{}", later.name,
                           earlier.name, queue_name(slice), begin, end - 1);
      }
    }
  }
  return std::nullopt;
}

namespace {

// Whether two segments of `data` share a slice and a row. A sweep over (slice, first row) in
// O(n log n): comparing every pair, as the exact check below does, was quadratic in the segments of
// a TSP (a compiled layer has thousands). Empty row ranges overlap nothing, as in
// check_data_overlap; a segment naming one slice twice only makes the exact check run.
bool any_data_overlap(const std::vector<DataSegment>& data) {
  struct Rows {
    QueueId slice;
    std::int64_t begin = 0;
    std::int64_t end = 0;
  };
  std::vector<Rows> rows;
  for (const DataSegment& d : data) {
    const std::int64_t begin = d.at.address;
    const std::int64_t end = begin + d.rows;
    if (begin >= end) continue;
    for (const QueueId& slice : d.at.slices) rows.push_back(Rows{slice, begin, end});
  }
  std::sort(rows.begin(), rows.end(), [](const Rows& a, const Rows& b) {
    return a.slice != b.slice ? a.slice < b.slice : a.begin < b.begin;
  });
  for (std::size_t i = 1; i < rows.size(); ++i) {
    if (rows[i].slice != rows[i - 1].slice) continue;
    if (rows[i].begin < rows[i - 1].end) return true;
    // Carry the furthest end forward, so that a long segment is compared with all it covers.
    rows[i].end = std::max(rows[i].end, rows[i - 1].end);
  }
  return false;
}

}  // namespace

void validate_program(const Program& program, const ChipShape& shape, const std::string& origin) {
  auto fail = [&](std::string message) {
    throw InputError(SourceLocation{origin, 0, 0}, std::move(message));
  };
  for (std::size_t t = 0; t < program.tsps.size(); ++t) {
    const TspProgram& tsp = program.tsps[t];
    if (tsp.tsp.value < 0) fail(fmt::format("tsp id {} is negative", tsp.tsp.value));
    if (t > 0 && !(program.tsps[t - 1].tsp < tsp.tsp)) {
      fail(fmt::format("tsp {} is out of order or duplicated", tsp.tsp.value));
    }
    const std::string where_tsp = fmt::format("tsp {}", tsp.tsp.value);
    std::set<std::string_view> names;  // views of the program's own strings
    auto check_name = [&](const std::string& name) {
      if (!names.insert(name).second) fail(fmt::format("{}: duplicate name '{}'", where_tsp, name));
    };
    for (const LaneMap& map : tsp.maps) {
      if (auto p = check_lane_map(map, shape)) fail(fmt::format("{}: {}", where_tsp, p->message));
      check_name(map.name);
    }
    // The pairwise check below reports the first overlap in declaration order; it runs only when
    // the sweep found one.
    const bool overlaps = any_data_overlap(tsp.data);
    for (std::size_t d = 0; d < tsp.data.size(); ++d) {
      const DataSegment& data = tsp.data[d];
      if (auto p = check_data_segment(data, shape)) {
        fail(fmt::format("{}: {}", where_tsp, p->message));
      }
      check_name(data.name);
      for (std::size_t e = 0; overlaps && e < d; ++e) {
        if (auto message = check_data_overlap(data, tsp.data[e])) {
          fail(fmt::format("{}: {}", where_tsp, *message));
        }
      }
    }
    for (std::size_t q = 0; q < tsp.queues.size(); ++q) {
      const QueueProgram& queue = tsp.queues[q];
      if (!queue_exists(queue.queue, shape)) {
        fail(fmt::format("{}: queue {} does not exist on this chip", where_tsp,
                         queue_name(queue.queue)));
      }
      if (q > 0 && !(tsp.queues[q - 1].queue < queue.queue)) {
        fail(fmt::format("{}: queue {} is out of order or duplicated", where_tsp,
                         queue_name(queue.queue)));
      }
      IssueCursor cursor;
      for (std::size_t i = 0; i < queue.instructions.size(); ++i) {
        const Instruction& instruction = queue.instructions[i];
        const auto where = [&] {
          return fmt::format("{}, queue {}, instruction {}", where_tsp, queue_name(queue.queue), i);
        };
        if (auto p = check_instruction(instruction, queue.queue, shape, tsp.maps)) {
          fail(fmt::format("{}: {}", where(), p->message));
        }
        const Instruction* previous = i > 0 ? &queue.instructions[i - 1] : nullptr;
        if (auto message = cursor.advance(instruction, previous, queue.queue, shape)) {
          fail(fmt::format("{}: {}", where(), *message));
        }
      }
    }
  }
}

}  // namespace tspemu
