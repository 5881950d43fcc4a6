// Every malformed-topology case gives one exact, located message (file:line:column: key: text).
#include "test_util.hpp"
#include <gtest/gtest.h>

#include <ostream>

namespace tspemu {
namespace {

struct BadCase {
  const char* name;
  const char* text;
  const char* expected;
  friend void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }
};

// Two TSPs in node 0, for link cases.
#define TWO_TSPS "[[tsp]]\n[[tsp]]\n"

const BadCase kBadCases[] = {
    // ---- TOML syntax ----
    {"SyntaxError", "[chip\nc2c_ports = 3\n",
     "t.toml:1:6: invalid TOML: Error while parsing table header: expected ']', saw '\\n'"},
    {"DuplicateKey", "[chip]\nc2c_ports = 3\nc2c_ports = 4\n",
     "t.toml:3:13: invalid TOML: Error while parsing key-value pair: cannot redefine existing "
     "integer 'c2c_ports'"},
    // ---- unknown keys ----
    {"UnknownKeyInLinkClass", "[link_class.local]\nlatncy_cycles = 3\n",
     "t.toml:2:1: unknown key 'latncy_cycles' in [link_class.local] (did you mean "
     "'latency_cycles'?)"},
    {"UnknownTopLevelKey", "tsps = 3\n",
     "t.toml:1:1: unknown key 'tsps' at the top level (did you mean 'tsp'?)"},
    {"UnknownChipKeyNoHint", "[chip]\nfrobnicate = 1\n",
     "t.toml:2:1: unknown key 'frobnicate' in [chip]"},
    {"FirstUnknownKeyInFileOrder", "[chip]\nzzz = 1\naaa = 2\n",
     "t.toml:2:1: unknown key 'zzz' in [chip]"},
    {"UnknownLinkClass", "[link_class.wormhole]\nlatency_cycles = 3\n",
     "t.toml:1:13: unknown key 'wormhole' in [link_class]"},
    {"UnknownOpTimingKey", "[chip.op_timing.VADD]\nskew = 1\n",
     "t.toml:2:1: unknown key 'skew' in [chip.op_timing.VADD]"},
    {"UnknownTspKey", "[[tsp]]\nnod = 1\n",
     "t.toml:2:1: unknown key 'nod' in tsp[0] (did you mean 'node'?)"},
    {"UnknownEndpointKey",
     TWO_TSPS "[[link]]\na = {tsp = 0, prt = 0}\nb = {tsp = 1, port = 0}\nclass = \"local\"\n",
     "t.toml:4:15: unknown key 'prt' in link[0].a (did you mean 'port'?)"},
    {"UnknownGeneratorKey", "[generator]\nkind = \"rack\"\nnode_per_rack = 9\n",
     "t.toml:3:1: unknown key 'node_per_rack' in [generator] (did you mean 'nodes_per_rack'?)"},
    // ---- wrong types ----
    {"IntegerExpected", "[chip]\nsuperlanes = 2.5\n",
     "t.toml:2:14: chip.superlanes: expected an integer, got a floating-point number"},
    {"NumberExpected", "[link_class.global]\nbit_error_rate = \"high\"\n",
     "t.toml:2:18: link_class.global.bit_error_rate: expected a number, got a string"},
    {"TableExpected", "chip = 3\n", "t.toml:1:8: chip: expected a table, got an integer"},
    {"ArrayOfTablesExpected", "tsp = 5\n",
     "t.toml:1:7: tsp: expected an array of tables ([[tsp]]), got an integer"},
    {"OpTimingEntryNotTable", "[chip.op_timing]\nVADD = 3\n",
     "t.toml:2:8: chip.op_timing.VADD: expected a table, got an integer"},
    {"BooleanExpected", "[[tsp]]\nspare = 1\n",
     "t.toml:2:9: tsp[0].spare: expected a boolean, got an integer"},
    // ---- out of range ----
    {"SuperlanesOutOfRange", "[chip]\nsuperlanes = 21\n",
     "t.toml:2:14: chip.superlanes: value 21 is out of range [1, 20]"},
    {"LanesFixed", "[chip]\nlanes_per_superlane = 8\n",
     "t.toml:2:23: chip.lanes_per_superlane: value 8 is not supported (must be 16)"},
    {"MoreThan16C2cPorts", "[chip]\nc2c_ports = 17\n",
     "t.toml:2:13: chip.c2c_ports: value 17 is out of range [2, 16]"},
    // Issue 10: values the loader accepted and the ISA or engine then refused or asserted on.
    {"C2cPortsOdd", "[chip]\nc2c_ports = 1\n",
     "t.toml:2:13: chip.c2c_ports: value 1 is out of range [2, 16]"},
    {"C2cPortsOddInRange", "[chip]\nc2c_ports = 7\n",
     "t.toml:2:13: chip.c2c_ports: value 7 is not a multiple of 2 (chip-to-chip link ports (even: "
     "half on each edge))"},
    {"StreamsNotAMultipleOf4", "[chip]\nstreams_per_direction = 31\n",
     "t.toml:2:25: chip.streams_per_direction: value 31 is not a multiple of 4 (stream registers "
     "per direction (eastward and westward; 32-bit stream groups of 4 tile them))"},
    {"SliceBytesTwoWords", "[chip]\nmem_slice_bytes = 640\n",
     "t.toml:2:19: chip.mem_slice_bytes: value 640 is out of range [5120, 1073741824]"},
    {"SliceBytesNotWholePages", "[chip]\nmem_slice_bytes = 21120\n",
     "t.toml:2:19: chip.mem_slice_bytes: value 21120 is not a multiple of banks_per_slice x 16 x "
     "320 = 10240 (each bank holds whole SRAM pages of 16 320-byte words)"},
    {"SliceBytesTwoWordsOverDefault", "[chip]\nmem_slice_bytes = 2622080\n",
     "t.toml:2:19: chip.mem_slice_bytes: value 2622080 is not a multiple of banks_per_slice x 16 "
     "x 320 = 10240 (each bank holds whole SRAM pages of 16 320-byte words)"},
    {"ClockOutOfRange", "[chip]\nclock_mhz = 0\n",
     "t.toml:2:13: chip.clock_mhz: value 0 is out of range [1, 100000]"},
    {"MxmPlanesOdd", "[chip]\nmxm_planes = 3\n",
     "t.toml:2:14: chip.mxm_planes: value 3 is not a multiple of 2 (MXM planes (even: half per "
     "hemisphere))"},
    {"HacPeriodNotPowerOfTwo", "[chip]\nhac_period_cycles = 250\n",
     "t.toml:2:21: chip.hac_period_cycles: value 250 is not a power of two"},
    {"SliceBytesBelowOnePage", "[chip]\nmem_slice_bytes = 1000\n",
     "t.toml:2:19: chip.mem_slice_bytes: value 1000 is out of range [5120, 1073741824]"},
    {"SliceBytesNotWholeWords", "[chip]\nmem_slice_bytes = 10250\n",
     "t.toml:2:19: chip.mem_slice_bytes: value 10250 is not a multiple of banks_per_slice x 16 x "
     "320 = 10240 (each bank holds whole SRAM pages of 16 320-byte words)"},
    {"InstructionQueuesDisagree",
     "[chip]\nmxm_queues_per_hemisphere = 8\ninstruction_queues = 144\n",
     "t.toml:3:22: chip.instruction_queues: value 144 disagrees with the derived count 2 x "
     "(mem_slices_per_hemisphere 44 + sxm_queues_per_hemisphere 14 + mxm_queues_per_hemisphere 8) "
     "+ vxm_queues 16 = 148 (instruction_queues is derived: omit it, or fix the counts it derives "
     "from)"},
    {"OccupancyZero", "[chip.op_timing.VADD]\noccupancy_cycles = 0\n",
     "t.toml:2:20: chip.op_timing.VADD.occupancy_cycles: value 0 is out of range [1, 1000000]"},
    {"BandwidthZero", "[link_class.local]\nbandwidth_gbps = 0.0\n",
     "t.toml:2:18: link_class.local.bandwidth_gbps: value 0 is out of range (0, 1000000]"},
    {"NegativeLatency", "[link_class.local]\nlatency_cycles = -3\n",
     "t.toml:2:18: link_class.local.latency_cycles: value -3 is out of range [1, 1000000000]"},
    {"LatencyOutsideJitterRange", "[link_class.local]\nlatency_cycles = 300\n",
     "t.toml:2:18: link_class.local.latency_cycles: latency_cycles 300 is outside "
     "[latency_min_cycles, latency_max_cycles] = [209, 228]"},
    {"LinkLatencyOutsideJitterRange",
     TWO_TSPS "[[link]]\na = {tsp = 0, port = 0}\nb = {tsp = 1, port = 0}\nclass = \"local\"\n"
              "latency_max_cycles = 210\n",
     "t.toml:7:22: link[0].latency_max_cycles: latency_cycles 217 is outside "
     "[latency_min_cycles, latency_max_cycles] = [209, 210]"},
    // ---- links ----
    {"PortUsedTwice",
     TWO_TSPS "[[link]]\na = {tsp = 0, port = 0}\nb = {tsp = 1, port = 0}\nclass = \"local\"\n"
              "[[link]]\na = {tsp = 1, port = 1}\nb = {tsp = 0, port = 0}\nclass = \"local\"\n",
     "t.toml:9:5: link[1].b: TSP 0 port 0 is already used by link[0] at t.toml:3:1"},
    {"LinkToMissingTsp",
     TWO_TSPS "[[link]]\na = {tsp = 0, port = 0}\nb = {tsp = 2, port = 0}\nclass = \"local\"\n",
     "t.toml:5:12: link[0].b.tsp: TSP 2 does not exist (the topology has 2 TSPs: 0..1)"},
    {"LinkToNegativeTsp",
     TWO_TSPS "[[link]]\na = {tsp = -1, port = 0}\nb = {tsp = 1, port = 0}\nclass = \"local\"\n",
     "t.toml:4:12: link[0].a.tsp: TSP -1 does not exist (the topology has 2 TSPs: 0..1)"},
    {"PortBeyondC2cPorts",
     "[chip]\nc2c_ports = 4\n" TWO_TSPS
     "[[link]]\na = {tsp = 0, port = 4}\nb = {tsp = 1, port = 0}\nclass = \"local\"\n",
     "t.toml:6:22: link[0].a.port: port 4 is out of range [0, 3] (chip.c2c_ports = 4)"},
    {"SelfLoop",
     TWO_TSPS "[[link]]\na = {tsp = 1, port = 0}\nb = {tsp = 1, port = 1}\nclass = \"local\"\n",
     "t.toml:5:12: link[0].b.tsp: the link joins TSP 1 to itself"},
    {"MissingClass", TWO_TSPS "[[link]]\na = {tsp = 0, port = 0}\nb = {tsp = 1, port = 0}\n",
     "t.toml:3:1: link[0]: missing required key 'class' in link[0] (local, global or optical)"},
    {"BadClass",
     TWO_TSPS "[[link]]\na = {tsp = 0, port = 0}\nb = {tsp = 1, port = 0}\nclass = \"loacl\"\n",
     "t.toml:6:9: link[0].class: unknown link class 'loacl' (expected local, global or optical)"},
    {"MissingEndpoint", TWO_TSPS "[[link]]\na = {tsp = 0, port = 0}\nclass = \"local\"\n",
     "t.toml:3:1: link[0]: missing required key 'b' in link[0]"},
    {"MissingPort",
     TWO_TSPS "[[link]]\na = {tsp = 0}\nb = {tsp = 1, port = 0}\nclass = \"local\"\n",
     "t.toml:4:5: link[0].a: missing required key 'port' in link[0].a"},
    {"LocalLinkOnGlobalPort",
     "[port_plan]\nlocal_ports = 7\nglobal_ports = 4\n" TWO_TSPS
     "[[link]]\na = {tsp = 0, port = 7}\nb = {tsp = 1, port = 0}\nclass = \"local\"\n",
     "t.toml:7:22: link[0].a.port: a local link on port 7, which is not a local port (port_plan: "
     "local ports 0..6)"},
    {"GlobalLinkOnLocalPort",
     "[port_plan]\nlocal_ports = 7\nglobal_ports = 4\n" TWO_TSPS
     "[[link]]\na = {tsp = 0, port = 7}\nb = {tsp = 1, port = 3}\nclass = \"global\"\n",
     "t.toml:8:22: link[0].b.port: a global link on port 3, which is not a global port (port_plan: "
     "global ports 7..10)"},
    {"PortPlanTooBig", "[port_plan]\nlocal_ports = 10\nglobal_ports = 7\n[[tsp]]\n",
     "t.toml:3:16: port_plan.global_ports: local_ports + global_ports = 17 exceeds chip.c2c_ports "
     "= 16"},
    // ---- TSPs, nodes, racks ----
    {"NoTsps", "name = \"empty\"\n",
     "t.toml:1:1: the topology has no TSPs: give [[tsp]] entries or a [generator] table"},
    {"NodeIdGap", "[[tsp]]\nnode = 1\n",
     "t.toml:2:8: tsp[0].node: node ids must run 0..N-1 without gaps, but no TSP is in node 0 and "
     "this TSP is in node 1"},
    {"NodeInTwoRacks", "[[tsp]]\n[[tsp]]\nrack = 1\n[[tsp]]\nnode = 1\nrack = 1\n",
     "t.toml:3:8: tsp[1].rack: TSP 1 is in rack 1, but tsp[0] put its node 0 in rack 0 (a node "
     "lies in one rack)"},
    {"SpareNotWholeNode", "[[tsp]]\nspare = true\n[[tsp]]\n",
     "t.toml:3:1: tsp[1].spare: spare = false disagrees with tsp[0] (spare = true) of the same "
     "node 0 (spare is a property of a whole node)"},
    // ---- generators ----
    {"GeneratorMissingKind", "[generator]\nracks = 3\n",
     "t.toml:1:1: generator: missing required key 'kind' in [generator]"},
    {"GeneratorUnknownKind", "[generator]\nkind = \"torus\"\n",
     "t.toml:2:8: generator.kind: unknown generator kind 'torus' (expected node, rack or "
     "dragonfly)"},
    {"GeneratorKeyOfOtherKind", "[generator]\nkind = \"node\"\nracks = 3\n",
     "t.toml:3:9: generator.racks: key 'racks' does not apply to kind = \"node\" (it is a "
     "parameter "
     "of kind = \"dragonfly\")"},
    {"GeneratorRackKeyOnNode", "[generator]\nkind = \"node\"\nspare_node = 3\n",
     "t.toml:3:14: generator.spare_node: key 'spare_node' does not apply to kind = \"node\" (it is "
     "a parameter of kinds \"rack\" and \"dragonfly\")"},
    {"DragonflyNeedsRacks", "[generator]\nkind = \"dragonfly\"\n",
     "t.toml:1:1: generator: missing required key 'racks' in [generator]"},
    {"TooManyRacks", "[generator]\nkind = \"dragonfly\"\nracks = 146\n",
     "t.toml:3:9: generator.racks: each rack needs (racks - 1) x links_per_rack_pair = 145 global "
     "ports for inter-rack links but has only 144 left after its intra-rack links"},
    {"TooManyGlobalPorts", "[generator]\nkind = \"node\"\nglobal_ports_per_tsp = 10\n",
     "t.toml:3:24: generator.global_ports_per_tsp: tsps_per_node = 8 needs 7 local ports and "
     "global_ports_per_tsp = 10 more, 17 ports per TSP, but chip.c2c_ports = 16"},
    {"TooManyNodePairLinks", "[generator]\nkind = \"rack\"\nlinks_per_node_pair = 5\n",
     "t.toml:3:23: generator.links_per_node_pair: each node needs (nodes_per_rack - 1) x "
     "links_per_node_pair = 40 global ports for intra-rack links but has only tsps_per_node x "
     "global_ports_per_tsp = 32"},
    {"SpareNodeOutsideRack", "[generator]\nkind = \"rack\"\nnodes_per_rack = 4\nspare_node = 4\n",
     "t.toml:4:14: generator.spare_node: value 4 is out of range [0, 3] (nodes_per_rack = 4)"},
    {"GeneratorWithExplicitTsps", "[generator]\nkind = \"node\"\n[[tsp]]\n",
     "t.toml:3:1: tsp: 'tsp' cannot be combined with [generator]: a generated machine is described "
     "by its generator alone"},
    {"GeneratorBadLinkClass",
     "[generator]\nkind = \"dragonfly\"\nracks = 2\ninter_rack_class = \"copper\"\n",
     "t.toml:4:20: generator.inter_rack_class: unknown link class 'copper' (expected local, global "
     "or optical)"},
    {"GeneratorLocalInterRackClass",
     "[generator]\nkind = \"dragonfly\"\nracks = 2\ninter_rack_class = \"local\"\n",
     "t.toml:4:20: generator.inter_rack_class: inter-rack links use global ports, so their class "
     "is "
     "global or optical, not local"},
};

class LoaderErrors : public testing::TestWithParam<BadCase> {};

TEST_P(LoaderErrors, GivesTheLocatedMessage) {
  EXPECT_EQ(test::load_error(GetParam().text), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(Topo, LoaderErrors, testing::ValuesIn(kBadCases),
                         [](const testing::TestParamInfo<BadCase>& param) {
                           return std::string(param.param.name);
                         });

TEST(LoaderErrors, ErrorIsAnInputErrorWithKeyAndLocation) {
  try {
    (void)load_topology_from_string("[chip]\nsuperlanes = 21\n", "cfg/x.toml");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(e.exit_code(), 2);
    ASSERT_TRUE(e.context().where.has_value());
    EXPECT_EQ(e.context().where->file, "cfg/x.toml");
    EXPECT_EQ(e.context().where->line, 2);
    EXPECT_EQ(e.context().where->column, 14);
    EXPECT_EQ(e.context().key, "chip.superlanes");
    EXPECT_EQ(e.message(), "value 21 is out of range [1, 20]");
  }
}

TEST(LoaderErrors, MissingFileNamesThePath) {
  try {
    (void)load_topology("/nonexistent/dir/topo.toml");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_STREQ(
        e.what(),
        "/nonexistent/dir/topo.toml: cannot read topology file: No such file or directory");
  }
}

}  // namespace
}  // namespace tspemu
