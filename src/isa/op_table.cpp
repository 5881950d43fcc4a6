#include "isa/op_table.hpp"

#include <fmt/format.h>

#include <initializer_list>

namespace tspemu {
namespace {

constexpr std::uint8_t kAnyQueue = 0x7f;
constexpr std::uint8_t kMemQ = queue_kind_bit(QueueKind::mem);
constexpr std::uint8_t kVxmQ = queue_kind_bit(QueueKind::vxm);
constexpr std::uint8_t kSxmQ = queue_kind_bit(QueueKind::sxm);
constexpr std::uint8_t kMxmW = queue_kind_bit(QueueKind::mxm_weights);
constexpr std::uint8_t kMxmA = queue_kind_bit(QueueKind::mxm_activations);
constexpr std::uint8_t kMxmC = queue_kind_bit(QueueKind::mxm_accumulate);
constexpr std::uint8_t kC2cQ = queue_kind_bit(QueueKind::c2c);

constexpr std::uint8_t kInts =
    dtype_bit(DType::i8) | dtype_bit(DType::u8) | dtype_bit(DType::i16) | dtype_bit(DType::i32);
constexpr std::uint8_t kFloats = dtype_bit(DType::f16) | dtype_bit(DType::f32);
constexpr std::uint8_t kAll = kInts | kFloats;
constexpr std::uint8_t kSignedOrFloat =
    dtype_bit(DType::i8) | dtype_bit(DType::i16) | dtype_bit(DType::i32) | kFloats;

using R = OperandRole;

constexpr OperandSpec opd(OperandRole role, std::string_view name, bool optional = false) {
  return OperandSpec{role, name, optional};
}

OpInfo make(Opcode opcode, std::string_view mnemonic, Unit unit, std::uint8_t queues,
            std::initializer_list<OperandSpec> operands, OpTiming timing,
            std::string_view summary) {
  OpInfo info;
  info.opcode = opcode;
  info.mnemonic = mnemonic;
  info.unit = unit;
  info.queue_kinds = queues;
  TSPEMU_ASSERT(operands.size() <= static_cast<std::size_t>(kMaxOperands), "too many operands");
  info.operand_count = static_cast<std::uint8_t>(operands.size());
  std::size_t i = 0;
  for (const auto& spec : operands) info.operands[i++] = spec;
  info.timing = timing;
  info.summary = summary;
  return info;
}

OpInfo typed(OpInfo info, DtypeRule rule, std::uint8_t dtypes, DType default_dtype = DType::none) {
  info.dtype_rule = rule;
  info.dtypes = dtypes;
  info.default_dtype = default_dtype;
  return info;
}

OpInfo saturating(OpInfo info) {
  info.saturate = true;
  return info;
}

OpInfo float_timed(OpInfo info, OpTiming timing) {
  info.has_float_timing = true;
  info.float_timing = timing;
  return info;
}

constexpr OpTiming t(int skew, int func, int occupancy) {
  return OpTiming{skew, func, occupancy};
}

OpInfo vxm_binary(Opcode opcode, std::string_view mnemonic, std::uint8_t dtypes,
                  std::string_view summary) {
  return typed(make(opcode, mnemonic, Unit::vxm, kVxmQ,
                    {opd(R::dst_or_none, "Sd|-"), opd(R::value, "a"), opd(R::value, "b")},
                    t(0, 2, 1), summary),
               DtypeRule::required, dtypes);
}

OpInfo vxm_unary(Opcode opcode, std::string_view mnemonic, std::uint8_t dtypes, OpTiming timing,
                 std::string_view summary) {
  return typed(make(opcode, mnemonic, Unit::vxm, kVxmQ,
                    {opd(R::dst_or_none, "Sd|-"), opd(R::value, "a")}, timing, summary),
               DtypeRule::required, dtypes);
}

std::vector<OpInfo> build_table() {
  std::vector<OpInfo> ops;
  ops.reserve(kOpcodeCount);
  // ICU: valid in every queue.
  ops.push_back(make(Opcode::nop, "NOP", Unit::icu, kAnyQueue, {opd(R::count, "n")}, t(0, 0, 1),
                     "the queue issues nothing for n cycles (n >= 1)"));
  ops.push_back(make(Opcode::repeat, "REPEAT", Unit::icu, kAnyQueue,
                     {opd(R::count, "n"), opd(R::spacing, "d"), opd(R::stride, "stride", true)},
                     t(0, 0, 1),
                     "repeat the previous instruction n more times, d cycles apart; MEM addresses "
                     "advance by stride per repetition (stride: a tspemu extension)"));
  ops.push_back(make(Opcode::sync, "SYNC", Unit::icu, kAnyQueue, {}, t(0, 0, 1),
                     "park the queue until a NOTIFY releases it"));
  ops.push_back(
      make(Opcode::notify, "NOTIFY", Unit::icu, kAnyQueue, {}, t(0, 0, 1),
           "release every parked queue of the chip barrier_notify_sync_cycles (35) later"));
  ops.push_back(make(Opcode::ifetch, "IFETCH", Unit::icu, kAnyQueue, {}, t(0, 0, 1),
                     "instruction fetch: timing only, no effect on data"));
  ops.push_back(make(Opcode::config, "CONFIG", Unit::icu, kAnyQueue,
                     {opd(R::superlanes, "superlanes=n")}, t(0, 0, 1),
                     "power configuration: recorded in the report only"));
  // MEM
  ops.push_back(make(Opcode::read, "READ", Unit::mem, kMemQ,
                     {opd(R::address, "addr"), opd(R::dst, "Sd")}, t(0, 3, 1),
                     "vector at addr onto stream Sd, leaving the slice in Sd's direction"));
  ops.push_back(make(Opcode::write, "WRITE", Unit::mem, kMemQ,
                     {opd(R::address, "addr"), opd(R::src, "Ss")}, t(0, 1, 1),
                     "stream Ss as seen at the slice into addr"));
  ops.push_back(make(Opcode::gather, "GATHER", Unit::mem, kMemQ,
                     {opd(R::dst, "Sd"), opd(R::lane_addresses, "Smap")}, t(0, 4, 1),
                     "lane l of Sd = lane l of the vector at address map[l] (Smap: SG2 of u16)"));
  ops.push_back(make(Opcode::scatter, "SCATTER", Unit::mem, kMemQ,
                     {opd(R::src, "Ss"), opd(R::lane_addresses, "Smap")}, t(0, 2, 1),
                     "lane l of Ss into lane l of the vector at address map[l]; other lanes keep "
                     "their values"));
  // VXM
  ops.push_back(float_timed(saturating(vxm_binary(Opcode::add, "ADD", kAll,
                                                  "a + b (integers modulo 2^n, .sat saturates)")),
                            t(0, 4, 1)));
  ops.push_back(float_timed(saturating(vxm_binary(Opcode::sub, "SUB", kAll,
                                                  "a - b (integers modulo 2^n, .sat saturates)")),
                            t(0, 4, 1)));
  ops.push_back(float_timed(
      saturating(vxm_binary(Opcode::mul, "MUL", kAll,
                            "a * b (integers: low n bits of the product, .sat saturates)")),
      t(0, 4, 1)));
  ops.push_back(
      float_timed(vxm_binary(Opcode::min, "MIN", kAll, "minimum of a and b"), t(0, 4, 1)));
  ops.push_back(
      float_timed(vxm_binary(Opcode::max, "MAX", kAll, "maximum of a and b"), t(0, 4, 1)));
  ops.push_back(vxm_binary(Opcode::bit_and, "AND", kInts, "bitwise and"));
  ops.push_back(vxm_binary(Opcode::bit_or, "OR", kInts, "bitwise or"));
  ops.push_back(vxm_binary(Opcode::bit_xor, "XOR", kInts, "bitwise exclusive or"));
  ops.push_back(vxm_binary(Opcode::shl, "SHL", kInts, "a shifted left by b bits"));
  ops.push_back(vxm_binary(Opcode::shr, "SHR", kInts,
                           "a shifted right by b bits (arithmetic for signed, logical for u8)"));
  ops.push_back(vxm_binary(Opcode::cmp_eq, "CMPEQ", kAll, "mask: all ones if a == b, else 0"));
  ops.push_back(vxm_binary(Opcode::cmp_lt, "CMPLT", kAll, "mask: all ones if a < b, else 0"));
  ops.push_back(vxm_binary(Opcode::cmp_le, "CMPLE", kAll, "mask: all ones if a <= b, else 0"));
  ops.push_back(typed(make(Opcode::select, "SELECT", Unit::vxm, kVxmQ,
                           {opd(R::dst_or_none, "Sd|-"), opd(R::value, "mask"), opd(R::value, "a"),
                            opd(R::value, "b")},
                           t(0, 2, 1), "per element: mask != 0 ? a : b"),
                      DtypeRule::required, kAll));
  ops.push_back(
      vxm_unary(Opcode::neg, "NEG", kSignedOrFloat, t(0, 2, 1), "-a (integers modulo 2^n)"));
  ops.push_back(
      vxm_unary(Opcode::abs, "ABS", kSignedOrFloat, t(0, 2, 1),
                "absolute value of a (integers modulo 2^n: ABS of the minimum is the minimum)"));
  ops.push_back(vxm_unary(Opcode::bit_not, "NOT", kInts, t(0, 2, 1), "bitwise not"));
  ops.push_back(vxm_unary(Opcode::relu, "RELU", kSignedOrFloat, t(0, 2, 1), "max(a, 0)"));
  ops.push_back(vxm_unary(Opcode::tanh, "TANH", kFloats, t(0, 8, 1), "tanh(a)"));
  ops.push_back(vxm_unary(Opcode::exp, "EXP", kFloats, t(0, 8, 1), "e^a"));
  ops.push_back(vxm_unary(Opcode::rsqrt, "RSQRT", kFloats, t(0, 8, 1), "1 / sqrt(a)"));
  ops.push_back(vxm_unary(Opcode::mov, "MOV", kAll, t(0, 2, 1), "a (copy; chains ALU results)"));
  {
    OpInfo cvt = saturating(vxm_unary(
        Opcode::cvt, "CVT", kAll, t(0, 3, 1),
        "convert a from type S to type D (int narrowing modulo, .sat saturates; float to int: "
        "nearest-even, saturating, NaN to 0)"));
    cvt.src_dtypes = kAll;
    ops.push_back(cvt);
  }
  // MXM
  ops.push_back(make(Opcode::lw, "LW", Unit::mxm, kMxmW,
                     {opd(R::weight_row, "row"), opd(R::src_range, "Sa..Sb")}, t(0, 1, 1),
                     "weight-buffer rows row .. row+n-1 from n consecutive streams"));
  ops.push_back(make(Opcode::iw, "IW", Unit::mxm, kMxmW, {}, t(0, 8, 8),
                     "install the weight buffer into the plane's 320x320 array (double-buffered)"));
  ops.push_back(
      typed(make(Opcode::abc, "ABC", Unit::mxm, kMxmA,
                 {opd(R::src, "Sa"), opd(R::accumulator, "accN"), opd(R::clear, "clear", true)},
                 t(0, 20, 1), "`accN[n] (+)= sum_k a[k] * W[k][n]`; f16 uses planes p and p+1"),
            DtypeRule::optional,
            dtype_bit(DType::i8) | dtype_bit(DType::u8) | dtype_bit(DType::f16), DType::i8));
  ops.push_back(
      typed(make(Opcode::acc, "ACC", Unit::mxm, kMxmC,
                 {opd(R::dst, "Sd"), opd(R::accumulator, "accN"), opd(R::clear, "clear", true)},
                 t(0, 2, 1), "accumulator N onto the SG4 Sd..Sd+3, optionally cleared"),
            DtypeRule::optional, dtype_bit(DType::i32) | dtype_bit(DType::f32), DType::i32));
  // SXM
  ops.push_back(typed(make(Opcode::shift, "SHIFT", Unit::sxm, kSxmQ,
                           {opd(R::dst, "Sd"), opd(R::src, "Ss"), opd(R::lane_shift, "n"),
                            opd(R::mask, "Smask", true)},
                           t(0, 3, 1),
                           "lanes moved north (+n) or south (-n), zero fill; with Smask, lanes "
                           "whose mask is 0 keep Ss"),
                      DtypeRule::optional, kAll));
  ops.push_back(typed(make(Opcode::permute, "PERMUTE", Unit::sxm, kSxmQ,
                           {opd(R::dst, "Sd"), opd(R::src, "Ss"), opd(R::lane_map, "map")},
                           t(0, 3, 1), "lane l of Sd = lane map[l] of Ss (map: a bijection)"),
                      DtypeRule::optional, kAll));
  ops.push_back(
      typed(make(Opcode::distribute, "DISTRIBUTE", Unit::sxm, kSxmQ,
                 {opd(R::dst, "Sd"), opd(R::src, "Ss"), opd(R::lane_map, "map")}, t(0, 3, 1),
                 "within each superlane, lane i of Sd = lane map[i] of Ss, or 0 if "
                 "map[i] = -1"),
            DtypeRule::optional, kAll));
  ops.push_back(
      make(Opcode::rotate, "ROTATE", Unit::sxm, kSxmQ,
           {opd(R::dst_range, "Sd..(n*n)"), opd(R::src_range, "Ss..(n)"), opd(R::rotate_size, "n")},
           t(0, 3, 1), "n streams in, n*n out: `out[r*n + j]` = `in[j]` rotated north by r lanes"));
  ops.push_back(make(Opcode::transpose, "TRANSPOSE", Unit::sxm, kSxmQ,
                     {opd(R::dst_range, "Sd..(16)"), opd(R::src_range, "Ss..(16)")}, t(0, 6, 1),
                     "16x16 byte transpose within each group of 16 lanes across 16 streams"));
  // C2C
  ops.push_back(make(Opcode::send, "SEND", Unit::c2c, kC2cQ, {opd(R::src, "Ss")}, t(0, 1, 1),
                     "vector on stream Ss onto the port's link"));
  ops.push_back(make(Opcode::receive, "RECEIVE", Unit::c2c, kC2cQ, {opd(R::dst, "Sd")}, t(0, 1, 1),
                     "the oldest vector received on the port onto stream Sd"));
  ops.push_back(make(Opcode::deskew, "DESKEW", Unit::c2c, kC2cQ, {}, t(0, 0, 1),
                     "stall the queue until the next HAC overflow"));
  ops.push_back(make(Opcode::runtime_deskew, "RUNTIME_DESKEW", Unit::c2c, kC2cQ,
                     {opd(R::cycles, "t")}, t(0, 0, 1),
                     "pause the whole chip for t cycles plus the measured drift correction "
                     "(program time stands still; docs/clocks.md)"));
  ops.push_back(make(Opcode::sac, "SAC", Unit::c2c, kC2cQ, {opd(R::dst, "Sd")}, t(0, 1, 1),
                     "the software aligned counter (HAC epochs / 16 since the program's start, "
                     "int64 in lanes 0..7) onto stream Sd"));
  TSPEMU_ASSERT(ops.size() == static_cast<std::size_t>(kOpcodeCount), "op table incomplete");
  for (std::size_t i = 0; i < ops.size(); ++i) {
    TSPEMU_ASSERT(static_cast<std::size_t>(ops[i].opcode) == i, "op table out of opcode order");
  }
  return ops;
}

const std::vector<OpInfo>& table() {
  static const std::vector<OpInfo> ops = build_table();
  return ops;
}

std::vector<TimingKey> build_timing_keys() {
  std::vector<TimingKey> keys;
  for (const OpInfo& info : table()) keys.push_back(TimingKey{info.mnemonic, info.opcode, false});
  // The float rows, after every opcode row so timing_index(op, int) == opcode.
  static const std::array<std::string_view, 5> kFloatNames = {"ADD_FP", "SUB_FP", "MUL_FP",
                                                              "MIN_FP", "MAX_FP"};
  std::size_t next = 0;
  for (const OpInfo& info : table()) {
    if (!info.has_float_timing) continue;
    TSPEMU_ASSERT(next < kFloatNames.size(), "float timing names");
    keys.push_back(TimingKey{kFloatNames[next++], info.opcode, true});
  }
  TSPEMU_ASSERT(next == kFloatNames.size(), "float timing names");
  return keys;
}

const std::vector<TimingKey>& timing_key_table() {
  static const std::vector<TimingKey> keys = build_timing_keys();
  return keys;
}

std::string queue_column(std::uint8_t mask) {
  if (mask == kAnyQueue) return "any";
  std::string out;
  auto add = [&](std::uint8_t bit, std::string_view name) {
    if ((mask & bit) == 0) return;
    if (!out.empty()) out += ", ";
    out += name;
  };
  add(kMemQ, "MEM");
  add(kVxmQ, "VXM");
  add(kSxmQ, "SXM");
  add(kMxmW, "MXMp.W");
  add(kMxmA, "MXMp.A");
  add(kMxmC, "MXMp.C");
  add(kC2cQ, "C2C");
  return out;
}

std::string dtype_column(const OpInfo& info) {
  switch (info.dtype_rule) {
    case DtypeRule::none:
      return "-";
    case DtypeRule::required:
      if (info.src_dtypes != 0) {
        return fmt::format("D, S: {} (D != S)", dtype_list(info.dtypes));
      }
      return dtype_list(info.dtypes);
    case DtypeRule::optional:
      if (info.default_dtype == DType::none) {
        return fmt::format("{} (none: 1 stream)", dtype_list(info.dtypes));
      }
      return fmt::format("{} (default {})", dtype_list(info.dtypes),
                         dtype_name(info.default_dtype));
  }
  return "?";
}

}  // namespace

int OpInfo::required_operand_count() const {
  int n = 0;
  for (int i = 0; i < operand_count; ++i) {
    if (!operands[static_cast<std::size_t>(i)].optional) ++n;
  }
  return n;
}

const OpInfo& op_info(Opcode opcode) {
  const auto index = static_cast<std::size_t>(opcode);
  TSPEMU_ASSERT(index < table().size(), "opcode out of range");
  return table()[index];
}

const OpInfo* find_op(std::string_view mnemonic) {
  for (const OpInfo& info : table()) {
    if (info.mnemonic == mnemonic) return &info;
  }
  return nullptr;
}

std::span<const OpInfo> all_ops() {
  return table();
}

std::string op_signature(const OpInfo& info) {
  std::string out(info.mnemonic);
  if (info.src_dtypes != 0) {
    out += ".D.S";
  } else if (info.dtype_rule == DtypeRule::required) {
    out += ".T";
  } else if (info.dtype_rule == DtypeRule::optional) {
    out += "[.T]";
  }
  if (info.saturate) out += "[.sat]";
  for (int i = 0; i < info.operand_count; ++i) {
    const OperandSpec& spec = info.operands[static_cast<std::size_t>(i)];
    if (spec.optional) {
      out += fmt::format("{}{}]", i == 0 ? " [" : " [, ", spec.name);
    } else {
      out += fmt::format("{}{}", i == 0 ? " " : ", ", spec.name);
    }
  }
  return out;
}

std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::none:
      return "";
    case DType::i8:
      return "i8";
    case DType::u8:
      return "u8";
    case DType::i16:
      return "i16";
    case DType::i32:
      return "i32";
    case DType::f16:
      return "f16";
    case DType::f32:
      return "f32";
  }
  return "?";
}

std::optional<DType> parse_dtype(std::string_view name) {
  for (DType t : {DType::i8, DType::u8, DType::i16, DType::i32, DType::f16, DType::f32}) {
    if (dtype_name(t) == name) return t;
  }
  return std::nullopt;
}

std::string dtype_list(std::uint8_t mask) {
  std::string out;
  for (DType t : {DType::i8, DType::u8, DType::i16, DType::i32, DType::f16, DType::f32}) {
    if ((mask & dtype_bit(t)) == 0) continue;
    if (!out.empty()) out += ", ";
    out += dtype_name(t);
  }
  return out;
}

std::span<const TimingKey> timing_keys() {
  return timing_key_table();
}

int timing_index(Opcode opcode, DType dtype) {
  const int op = static_cast<int>(opcode);
  TSPEMU_ASSERT(op >= 0 && op < kOpcodeCount, "opcode out of range");
  if (is_float(dtype) && op_info(opcode).has_float_timing) {
    const auto& keys = timing_key_table();
    for (std::size_t i = static_cast<std::size_t>(kOpcodeCount); i < keys.size(); ++i) {
      if (keys[i].opcode == opcode) return static_cast<int>(i);
    }
  }
  return op;
}

OpTimingTable::OpTimingTable() {
  for (const TimingKey& key : timing_keys()) {
    const OpInfo& info = op_info(key.opcode);
    rows_.push_back(key.floating ? info.float_timing : info.timing);
  }
}

OpTimingTable OpTimingTable::with_overrides(std::span<const TimingOverride> overrides) {
  OpTimingTable table;
  const auto& keys = timing_key_table();
  for (const TimingOverride& o : overrides) {
    std::size_t index = keys.size();
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (keys[i].name == o.name) index = i;
    }
    if (index == keys.size()) {
      throw InputError(o.where, fmt::format("unknown mnemonic '{}' in [chip.op_timing]", o.name));
    }
    constexpr Cycle kMaxTiming = 1'000'000;
    auto apply = [&](const std::optional<Cycle>& value, std::string_view field, Cycle min,
                     int& out) {
      if (!value) return;
      if (*value < min || *value > kMaxTiming) {
        throw InputError(o.where, fmt::format("[chip.op_timing.{}] {} = {}: must be {}..{}", o.name,
                                              field, *value, min, kMaxTiming));
      }
      out = static_cast<int>(*value);
    };
    OpTiming& row = table.rows_[index];
    apply(o.skew_cycles, "skew_cycles", 0, row.skew_cycles);
    apply(o.func_delay_cycles, "func_delay_cycles", 0, row.func_delay_cycles);
    apply(o.occupancy_cycles, "occupancy_cycles", 1, row.occupancy_cycles);
  }
  return table;
}

std::string render_op_table_markdown() {
  std::string out =
      "| Mnemonic | Syntax | Queues | Types | Meaning |\n"
      "|---|---|---|---|---|\n";
  for (const OpInfo& info : table()) {
    // A '|' inside a table cell, even in a code span, must be escaped in GitHub markdown.
    std::string signature = op_signature(info);
    for (std::size_t at = signature.find('|'); at != std::string::npos;
         at = signature.find('|', at + 2)) {
      signature.insert(at, "\\");
    }
    out += fmt::format("| `{}` | `{}` | {} | {} | {} |\n", info.mnemonic, signature,
                       queue_column(info.queue_kinds), dtype_column(info), info.summary);
  }
  return out;
}

std::string render_timing_table_markdown() {
  std::string out =
      "| Timing key | Applies to | skew_cycles | func_delay_cycles | occupancy_cycles |\n"
      "|---|---|---|---|---|\n";
  const OpTimingTable defaults;
  const auto& keys = timing_key_table();
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const OpInfo& info = op_info(keys[i].opcode);
    std::string applies;
    if (keys[i].floating) {
      applies = fmt::format("{}.f16, {}.f32", info.mnemonic, info.mnemonic);
    } else if (info.has_float_timing) {
      applies = fmt::format("{} on integer types", info.mnemonic);
    } else {
      applies = std::string(info.mnemonic);
    }
    const OpTiming& row = defaults.row(static_cast<int>(i));
    out += fmt::format("| `{}` | {} | {} | {} | {} |\n", keys[i].name, applies, row.skew_cycles,
                       row.func_delay_cycles, row.occupancy_cycles);
  }
  return out;
}

}  // namespace tspemu
