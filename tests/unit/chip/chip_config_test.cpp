#include "chip/chip_config.hpp"

#include <gtest/gtest.h>

#include "topo/chip_params.hpp"

namespace tspemu {
namespace {

TEST(ChipConfig, FromDefaultTopologyParameters) {
  const ChipConfig config = chip_config_from_params(ChipParams{});
  EXPECT_EQ(config.shape, ChipShape{});
  EXPECT_EQ(config.timing, OpTimingTable{});
  EXPECT_EQ(config.barrier_notify_sync_cycles, 35);
  EXPECT_EQ(config.positions(), 93);
  EXPECT_EQ(config.mem_slices(), 88);
  EXPECT_EQ(config.slice_index(Hemisphere::east, 3), 47);
  EXPECT_EQ(config.bank_of(4095), 0);
  EXPECT_EQ(config.bank_of(4096), 1);
}

TEST(ChipConfig, OverridesAndSmallerChips) {
  ChipParams params;
  params.mem_slices_per_hemisphere = 8;
  params.barrier_notify_sync_cycles = 50;
  params.op_timing["IW"].occupancy_cycles = 16;
  params.op_timing["ADD_FP"].func_delay_cycles = 6;
  const ChipConfig config = chip_config_from_params(params);
  EXPECT_EQ(config.positions(), 21);
  EXPECT_EQ(config.barrier_notify_sync_cycles, 50);
  EXPECT_EQ(config.timing.get(Opcode::iw, DType::none).occupancy_cycles, 16);
  EXPECT_EQ(config.timing.get(Opcode::add, DType::f16).func_delay_cycles, 6);
  EXPECT_EQ(config.timing.get(Opcode::add, DType::i8).func_delay_cycles, 2);
}

TEST(ChipConfig, UnknownMnemonicIsAnInputError) {
  ChipParams params;
  params.op_timing["REED"].skew_cycles = 1;
  params.op_timing["REED"].where = SourceLocation{"chip.toml", 7, 1};
  try {
    (void)chip_config_from_params(params);
    ADD_FAILURE() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(e.message(), "unknown mnemonic 'REED' in [chip.op_timing]");
    EXPECT_EQ(e.context().where->line, 7);
  }
}

}  // namespace
}  // namespace tspemu
