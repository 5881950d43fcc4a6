#include "isa/op_table.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace tspemu {
namespace {

TEST(OpTable, EveryOpcodeHasItsOwnEntryInOrder) {
  ASSERT_EQ(all_ops().size(), static_cast<std::size_t>(kOpcodeCount));
  std::set<std::string> mnemonics;
  for (int i = 0; i < kOpcodeCount; ++i) {
    const OpInfo& info = op_info(static_cast<Opcode>(i));
    EXPECT_EQ(static_cast<int>(info.opcode), i);
    EXPECT_TRUE(mnemonics.insert(std::string(info.mnemonic)).second) << info.mnemonic;
    for (char c : info.mnemonic) EXPECT_TRUE((c >= 'A' && c <= 'Z') || c == '_') << info.mnemonic;
    EXPECT_EQ(find_op(info.mnemonic), &info);
    EXPECT_FALSE(info.summary.empty()) << info.mnemonic;
  }
  EXPECT_EQ(find_op("read"), nullptr);  // the assembler upper-cases; the table is exact
  EXPECT_EQ(find_op("ADDD"), nullptr);
}

TEST(OpTable, OperandSignaturesAreWellFormed) {
  for (const OpInfo& info : all_ops()) {
    ASSERT_LE(info.operand_count, kMaxOperands) << info.mnemonic;
    bool seen_optional = false;
    for (int i = 0; i < info.operand_count; ++i) {
      const OperandSpec& spec = info.operands[static_cast<std::size_t>(i)];
      EXPECT_FALSE(spec.name.empty()) << info.mnemonic;
      if (seen_optional) {
        EXPECT_TRUE(spec.optional) << info.mnemonic << ": optional must trail";
      }
      seen_optional = seen_optional || spec.optional;
      // Only roles with a defined "absent" form may be optional.
      if (spec.optional) {
        EXPECT_TRUE(spec.role == OperandRole::stride || spec.role == OperandRole::clear ||
                    spec.role == OperandRole::mask)
            << info.mnemonic;
      }
    }
  }
  EXPECT_EQ(op_signature(op_info(Opcode::read)), "READ addr, Sd");
  EXPECT_EQ(op_signature(op_info(Opcode::add)), "ADD.T[.sat] Sd|-, a, b");
  EXPECT_EQ(op_signature(op_info(Opcode::cvt)), "CVT.D.S[.sat] Sd|-, a");
  EXPECT_EQ(op_signature(op_info(Opcode::repeat)), "REPEAT n, d [, stride]");
  EXPECT_EQ(op_signature(op_info(Opcode::abc)), "ABC[.T] Sa, accN [, clear]");
  EXPECT_EQ(op_signature(op_info(Opcode::iw)), "IW");
}

TEST(OpTable, QueuesFollowTheUnit) {
  for (const OpInfo& info : all_ops()) {
    for (int k = 0; k <= static_cast<int>(QueueKind::c2c); ++k) {
      const auto kind = static_cast<QueueKind>(k);
      bool expected = false;
      switch (info.unit) {
        case Unit::icu:
          expected = true;
          break;
        case Unit::mem:
          expected = kind == QueueKind::mem;
          break;
        case Unit::vxm:
          expected = kind == QueueKind::vxm;
          break;
        case Unit::sxm:
          expected = kind == QueueKind::sxm;
          break;
        case Unit::c2c:
          expected = kind == QueueKind::c2c;
          break;
        case Unit::mxm:
          expected = (info.opcode == Opcode::lw || info.opcode == Opcode::iw)
                         ? kind == QueueKind::mxm_weights
                     : info.opcode == Opcode::abc ? kind == QueueKind::mxm_activations
                                                  : kind == QueueKind::mxm_accumulate;
          break;
      }
      EXPECT_EQ(info.allows_queue(kind), expected) << info.mnemonic << " kind " << k;
    }
  }
}

TEST(OpTable, TypeRulesAreConsistent) {
  for (const OpInfo& info : all_ops()) {
    if (info.dtype_rule == DtypeRule::none) {
      EXPECT_EQ(info.dtypes, 0) << info.mnemonic;
      EXPECT_FALSE(info.saturate) << info.mnemonic;
    } else {
      EXPECT_NE(info.dtypes, 0) << info.mnemonic;
      EXPECT_FALSE(info.allows_dtype(DType::none)) << info.mnemonic;
    }
    if (info.dtype_rule == DtypeRule::optional && info.default_dtype != DType::none) {
      EXPECT_TRUE(info.allows_dtype(info.default_dtype)) << info.mnemonic;
    }
    if (info.dtype_rule == DtypeRule::required) {
      EXPECT_EQ(info.unit, Unit::vxm) << info.mnemonic;
    }
    if (info.saturate) {
      EXPECT_NE(info.dtypes & kAllElementTypes, 0) << info.mnemonic;
    }
  }
  EXPECT_EQ(op_info(Opcode::bit_and).dtypes & (dtype_bit(DType::f16) | dtype_bit(DType::f32)), 0);
  EXPECT_TRUE(op_info(Opcode::exp).allows_dtype(DType::f16));
  EXPECT_FALSE(op_info(Opcode::exp).allows_dtype(DType::i16));
  EXPECT_EQ(op_info(Opcode::abc).default_dtype, DType::i8);
  EXPECT_EQ(op_info(Opcode::acc).default_dtype, DType::i32);
}

TEST(OpTable, DefaultTimingIsTheDesignNote) {
  const OpTimingTable table;
  auto timing = [&](Opcode op, DType t) { return table.get(op, t); };
  EXPECT_EQ(timing(Opcode::read, DType::none), (OpTiming{0, 3, 1}));
  EXPECT_EQ(timing(Opcode::write, DType::none), (OpTiming{0, 1, 1}));
  EXPECT_EQ(timing(Opcode::gather, DType::none), (OpTiming{0, 4, 1}));
  EXPECT_EQ(timing(Opcode::scatter, DType::none), (OpTiming{0, 2, 1}));
  EXPECT_EQ(timing(Opcode::add, DType::i8), (OpTiming{0, 2, 1}));
  EXPECT_EQ(timing(Opcode::add, DType::f16), (OpTiming{0, 4, 1}));
  EXPECT_EQ(timing(Opcode::max, DType::f32), (OpTiming{0, 4, 1}));
  EXPECT_EQ(timing(Opcode::cmp_lt, DType::f16), (OpTiming{0, 2, 1}));
  EXPECT_EQ(timing(Opcode::cvt, DType::f32), (OpTiming{0, 3, 1}));
  EXPECT_EQ(timing(Opcode::relu, DType::f16), (OpTiming{0, 2, 1}));
  EXPECT_EQ(timing(Opcode::exp, DType::f16), (OpTiming{0, 8, 1}));
  EXPECT_EQ(timing(Opcode::lw, DType::none), (OpTiming{0, 1, 1}));
  EXPECT_EQ(timing(Opcode::iw, DType::none), (OpTiming{0, 8, 8}));
  EXPECT_EQ(timing(Opcode::abc, DType::i8), (OpTiming{0, 20, 1}));
  EXPECT_EQ(timing(Opcode::acc, DType::i32), (OpTiming{0, 2, 1}));
  EXPECT_EQ(timing(Opcode::transpose, DType::none), (OpTiming{0, 6, 1}));
  EXPECT_EQ(timing(Opcode::permute, DType::none), (OpTiming{0, 3, 1}));
  EXPECT_EQ(timing(Opcode::nop, DType::none), (OpTiming{0, 0, 1}));
  EXPECT_EQ(timing(Opcode::send, DType::none), (OpTiming{0, 1, 1}));
  for (int i = 0; i < static_cast<int>(timing_keys().size()); ++i) {
    EXPECT_GE(table.row(i).occupancy_cycles, 1);
  }
}

TEST(OpTable, TimingKeysAndIndex) {
  const auto keys = timing_keys();
  ASSERT_EQ(keys.size(), static_cast<std::size_t>(kOpcodeCount) + 5);
  EXPECT_EQ(keys[static_cast<std::size_t>(timing_index(Opcode::add, DType::f16))].name, "ADD_FP");
  EXPECT_EQ(keys[static_cast<std::size_t>(timing_index(Opcode::add, DType::f32))].name, "ADD_FP");
  EXPECT_EQ(keys[static_cast<std::size_t>(timing_index(Opcode::add, DType::i32))].name, "ADD");
  EXPECT_EQ(keys[static_cast<std::size_t>(timing_index(Opcode::min, DType::f16))].name, "MIN_FP");
  EXPECT_EQ(timing_index(Opcode::cmp_eq, DType::f16), static_cast<int>(Opcode::cmp_eq));
  std::set<std::string_view> names;
  for (const TimingKey& key : keys) EXPECT_TRUE(names.insert(key.name).second) << key.name;
}

TEST(OpTable, TimingOverrides) {
  std::vector<TimingOverride> overrides(2);
  overrides[0].name = "ADD_FP";
  overrides[0].func_delay_cycles = 7;
  overrides[1].name = "IW";
  overrides[1].skew_cycles = 2;
  overrides[1].occupancy_cycles = 40;
  const OpTimingTable table = OpTimingTable::with_overrides(overrides);
  EXPECT_EQ(table.get(Opcode::add, DType::f16), (OpTiming{0, 7, 1}));
  EXPECT_EQ(table.get(Opcode::add, DType::i8), (OpTiming{0, 2, 1}));
  EXPECT_EQ(table.get(Opcode::iw, DType::none), (OpTiming{2, 8, 40}));
  EXPECT_EQ(OpTimingTable::with_overrides({}), OpTimingTable());
}

TEST(OpTable, TimingOverrideErrorsAreLocated) {
  TimingOverride bad;
  bad.name = "REED";
  bad.skew_cycles = 1;
  bad.where = SourceLocation{"chip.toml", 3, 1};
  try {
    (void)OpTimingTable::with_overrides(std::span<const TimingOverride>(&bad, 1));
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "chip.toml:3:1: unknown mnemonic 'REED' in [chip.op_timing]");
  }
  bad.name = "IW";
  bad.skew_cycles.reset();
  bad.occupancy_cycles = 0;
  try {
    (void)OpTimingTable::with_overrides(std::span<const TimingOverride>(&bad, 1));
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(),
                 "chip.toml:3:1: [chip.op_timing.IW] occupancy_cycles = 0: must be 1..1000000");
  }
}

TEST(OpTable, DtypeNames) {
  for (DType t : {DType::i8, DType::u8, DType::i16, DType::i32, DType::f16, DType::f32}) {
    EXPECT_EQ(parse_dtype(dtype_name(t)), t);
  }
  EXPECT_EQ(parse_dtype("f64"), std::nullopt);
  EXPECT_EQ(dtype_list(kAllElementTypes), "i8, u8, i16, i32, f16, f32");
  EXPECT_EQ(dtype_streams(DType::none), 1);
  EXPECT_EQ(dtype_streams(DType::f16), 2);
  EXPECT_EQ(dtype_streams(DType::i32), 4);
}

}  // namespace
}  // namespace tspemu
