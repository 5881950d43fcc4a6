#include "topo/chip_config.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "chip/engine.hpp"
#include "topo/chip_params.hpp"
#include "topo/loader.hpp"

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

// Issue 10: every [chip] value the topology loader accepts must give a chip the ISA layer and the
// engine accept (mem_slice_bytes = 21120 used to pass `topo` and then fail an SRAM assertion in
// `run`). Each integer key is tried at the edges of what the loader takes, alone and with the
// keys it depends on, and the chip must build and run an empty program.
TEST(ChipConfig, EveryValueTheLoaderAcceptsBuildsAChip) {
  std::vector<std::string> tables;
  for (const ChipIntParam& p : chip_int_params()) {
    const std::int64_t top = p.max - p.max % p.multiple_of;
    const std::int64_t bottom =
        p.min % p.multiple_of == 0 ? p.min : p.min + p.multiple_of - p.min % p.multiple_of;
    for (const std::int64_t v : {bottom, bottom + p.multiple_of, top}) {
      if (v > p.max) continue;
      if (p.key == "mem_slice_bytes") continue;                          // below, per bank count
      if (p.key == "hac_period_cycles" && (v & (v - 1)) != 0) continue;  // powers of two only
      tables.push_back(fmt::format("[chip]\n{} = {}\n", p.key, v));
    }
  }
  for (int banks = 1; banks <= 8; ++banks) {
    const std::int64_t page_group = std::int64_t{banks} * kSramPageWords * 320;
    for (const std::int64_t bytes :
         {page_group, 2 * page_group, (std::int64_t{1} << 30) / page_group * page_group}) {
      tables.push_back(
          fmt::format("[chip]\nbanks_per_slice = {}\nmem_slice_bytes = {}\n", banks, bytes));
    }
  }
  for (const std::string& chip : tables) {
    SCOPED_TRACE(chip);
    const Topology topology = load_topology_from_string(chip + "[[tsp]]\n", "t.toml");
    ChipConfig config;
    ASSERT_NO_THROW(config = chip_config_from_params(topology.chip()));
    TspProgram empty;
    Engine engine(empty, config);
    EXPECT_NO_THROW((void)engine.run_until(1024));
    EXPECT_NO_THROW((void)engine.finish());
  }
}

}  // namespace
}  // namespace tspemu
