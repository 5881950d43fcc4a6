// Seeded sweeps over the lowerings issue 11 rewrote, each graph compiled and run
// (compile_harness.hpp: bit-exact against the reference evaluator, cycles == predicted): chains of
// element-wise ops fused into one VXM chain, reductions along every axis in the halving-tree
// order, matmuls summing K in the MXM accumulators; and what the scheduler promises about SRAM
// reuse and op order.
#include "compile_harness.hpp"
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/compile.hpp"
#include "compiler/graph_loader.hpp"
#include "topo/loader.hpp"

namespace tspemu {
namespace {

std::string tensor(std::string_view name, std::string_view shape, std::string_view dtype,
                   std::string_view lo, std::string_view hi) {
  return fmt::format(R"(
[[tensor]]
name = "{}"
shape = {}
dtype = "{}"
placement = {{tsp = 0}}
init = {{recipe = "uniform", lo = {}, hi = {}}}
)",
                     name, shape, dtype, lo, hi);
}

std::string op(std::string_view kind, std::string_view inputs, std::string_view output,
               std::string_view extra = "") {
  return fmt::format("\n[[op]]\nkind = \"{}\"\n{}inputs = [{}]\noutput = \"{}\"\n", kind, extra,
                     inputs, output);
}

template <class T>
const T& pick(const std::vector<T>& list, std::uint64_t& state) {
  return list[splitmix64(state) % list.size()];
}

// How many instructions of `opcode` the bundle holds (over every TSP and queue), and of those,
// how many have integer operand `operand` equal to `value` (-1: any).
std::int64_t count_instructions(const CompileOutput& out, Opcode opcode, int operand = -1,
                                std::int64_t value = 0) {
  std::int64_t n = 0;
  for (const TspProgram& tsp : out.bundle.program.tsps) {
    for (const QueueProgram& queue : tsp.queues) {
      for (const Instruction& instr : queue.instructions) {
        if (instr.opcode != opcode) continue;
        if (operand >= 0 && instr.operands[operand].value != value) continue;
        ++n;
      }
    }
  }
  return n;
}

// ---- element-wise chains: one VXM chain per output vector, intermediates never stored ----------

TEST(CompileSweep, ElementwiseChainsAreFusedAndBitExact) {
  const std::vector<std::string> float_ops = {"add", "sub",  "mul",  "min", "max",  "neg",
                                              "abs", "relu", "tanh", "exp", "rsqrt"};
  const std::vector<std::string> int_ops = {"add", "sub", "mul", "min",
                                            "max", "neg", "abs", "relu"};
  const std::vector<std::string> rows = {"1", "3", "17"};
  const std::vector<std::string> columns = {"1", "5", "320", "333", "700"};
  std::uint64_t state = 1101;
  for (int g = 0; g < 12; ++g) {
    const std::string dtype = g % 3 == 0 ? "fp32" : g % 3 == 1 ? "fp16" : "int32";
    const bool floating = dtype != "int32";
    const std::string shape =
        fmt::format("[{}, {}]", rows[static_cast<std::size_t>(g) % 3], pick(columns, state));
    const std::string lo = floating ? "-2.0" : "-1000";
    const std::string hi = floating ? "2.0" : "1000";
    std::string text = fmt::format("[graph]\nseed = {}\n", 7 + g);
    text += tensor("x", shape, dtype, lo, hi) + tensor("y", shape, dtype, lo, hi);
    const int length = 2 + static_cast<int>(splitmix64(state) % 9);  // 2 .. 10 ops
    std::string current = "x";
    std::string trace;
    for (int i = 0; i < length; ++i) {
      const std::string& kind = pick(floating ? float_ops : int_ops, state);
      const std::string out = fmt::format("v{}", i);
      const bool binary =
          kind == "add" || kind == "sub" || kind == "mul" || kind == "min" || kind == "max";
      const bool swap = splitmix64(state) % 2 == 0;
      const std::string inputs = !binary ? fmt::format("\"{}\"", current)
                                 : swap  ? fmt::format("\"y\", \"{}\"", current)
                                         : fmt::format("\"{}\", \"y\"", current);
      text += op(kind, inputs, out);
      trace += kind + " ";
      current = out;
    }
    text += fmt::format("\n[outputs]\nnames = [\"{}\"]\n", current);
    SCOPED_TRACE(fmt::format("{} {}: {}", dtype, shape, trace));
    const Graph graph = load_graph_from_string(text, "g.toml", chip_topology());
    const CompileOutput out = compile_graph(graph, chip_topology());
    (void)compile_and_check(text, chip_topology());
    // Fused: only the result is written, once per output vector and byte plane.
    const Shape shape_of = graph.tensor(graph.outputs[0]).local_shape();
    const std::int64_t tiles = (shape_of.back() + 319) / 320;
    EXPECT_EQ(count_instructions(out, Opcode::write),
              shape_of[0] * tiles * dtype_bytes(graph.tensor(graph.outputs[0]).dtype));
  }
}

// ---- reductions along every axis of rank-1 to rank-3 tensors, in the halving-tree order --------

TEST(CompileSweep, ReductionsAlongEveryAxis) {
  const std::vector<std::string> shapes = {"[700]",        "[5, 333]",  "[17, 640]", "[3, 4, 330]",
                                           "[2, 9, 1000]", "[6, 1, 5]", "[33, 321]", "[1, 8, 700]"};
  const std::vector<std::string> fns = {"sum", "max", "min"};
  const std::vector<std::string> dtypes = {"fp32", "fp16", "int32", "int8"};
  std::uint64_t state = 1102;
  for (std::size_t g = 0; g < shapes.size(); ++g) {
    const std::string& dtype = dtypes[g % dtypes.size()];
    const bool floating = dtype[0] == 'f';
    const std::string& shape = shapes[g];
    const auto rank = static_cast<int>(std::count(shape.begin(), shape.end(), ',') + 1);
    std::string text = fmt::format("[graph]\nseed = {}\n", 31 + g);
    text += tensor("x", shape, dtype, floating ? "-100.0" : "-100", floating ? "100.0" : "100");
    std::string names;
    for (int axis = 0; axis < rank; ++axis) {
      const std::string& fn = pick(fns, state);
      const std::string out = fmt::format("r{}", axis);
      text += op("reduce", "\"x\"", out, fmt::format("op = \"{}\"\naxis = {}\n", fn, axis));
      names += fmt::format("{}\"{}\"", names.empty() ? "" : ", ", out);
    }
    text += fmt::format("\n[outputs]\nnames = [{}]\n", names);
    SCOPED_TRACE(fmt::format("{} {}", dtype, shape));
    (void)compile_and_check(text, chip_topology());
  }
}

// ---- matmul with K summed in the MXM accumulators (A of up to 4 rows) --------------------------

TEST(CompileSweep, MatmulAccumulatesKInTheMxm) {
  const std::vector<std::int64_t> ms = {1, 2, 3, 4};
  const std::vector<std::int64_t> ks = {5, 320, 641, 1000, 1300};
  const std::vector<std::int64_t> ns = {1, 320, 333, 1000};
  std::uint64_t state = 1103;
  for (int g = 0; g < 12; ++g) {
    const bool int8 = g % 2 == 0;
    const std::int64_t m = ms[static_cast<std::size_t>(g) % ms.size()];
    const std::int64_t k = g < 5 ? ks[static_cast<std::size_t>(g)] : pick(ks, state);
    const std::int64_t n = g < 4 ? ns[static_cast<std::size_t>(g)] : pick(ns, state);
    const std::string dtype = int8 ? "int8" : "fp16";
    std::string text = fmt::format("[graph]\nseed = {}\n", 51 + g);
    text += tensor("a", fmt::format("[{}, {}]", m, k), dtype, int8 ? "-128" : "-2.0",
                   int8 ? "127" : "2.0");
    text += tensor("b", fmt::format("[{}, {}]", k, n), dtype, int8 ? "-128" : "-2.0",
                   int8 ? "127" : "2.0");
    text += op("matmul", "\"a\", \"b\"", "c") + "\n[outputs]\nnames = [\"c\"]\n";
    SCOPED_TRACE(fmt::format("{} [{}, {}] x [{}, {}]", dtype, m, k, k, n));
    (void)compile_and_check(text, chip_topology());
    const CompileOutput out =
        compile_graph(load_graph_from_string(text, "g.toml", chip_topology()), chip_topology());
    // Every chunk after a column's first adds into an accumulator (ABC without clear), and every
    // LW after the first of a buffer loads up to 32 rows.
    const std::int64_t k_tiles = (k + 319) / 320;
    if (k_tiles > 1) {
      EXPECT_GT(count_instructions(out, Opcode::abc, 2, 0), 0);
    }
    EXPECT_EQ(
        count_instructions(out, Opcode::abc, 2, 0) + count_instructions(out, Opcode::abc, 2, 1),
        m * k_tiles * ((n + 319) / 320));
  }
}

// ---- SRAM: a program bigger than the SRAM runs because dead tensors' rows are reused ------------

TEST(CompileSram, ALongChainFitsBecauseDeadTensorsRowsAreReused) {
  // 64 rows per slice (88 slices x 64 rows x 320 B = 1.8 MB); every tensor below is [64, 640]
  // fp32 = 160 KiB, and the chain makes 24 of them (3.8 MB).
  std::ifstream file(source_path("topologies/chip.toml"));
  std::string chip((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  const std::string from = "mem_slice_bytes = 2621440";
  chip.replace(chip.find(from), from.size(), "mem_slice_bytes = 20480");
  const Topology small = load_topology_from_string(chip, "small.toml");
  std::string text = "[graph]\nseed = 5\n" + tensor("y0", "[64, 640]", "fp32", "-1.0", "1.0");
  for (int i = 0; i < 24; ++i) {
    // Each result read twice: not fused, every one stored.
    text += op(i % 2 == 0 ? "add" : "mul", fmt::format("\"y{0}\", \"y{0}\"", i),
               fmt::format("y{}", i + 1));
  }
  text += "\n[outputs]\nnames = [\"y24\"]\n";
  const CompileStats stats = compile_and_check(text, small);
  const std::int64_t tensor_bytes = 64 * 640 * 4;
  EXPECT_EQ(stats.sram_bytes_per_tsp, 88 * 64 * 320);
  EXPECT_GT(25 * tensor_bytes, stats.sram_bytes_per_tsp);
  // The input, the output and two in flight (each stored in 320-lane rows: 2 tiles of 320).
  EXPECT_LE(stats.sram_peak_bytes, 4 * 64 * 2 * 4 * 320);
}

// ---- op order: the longest path first
// ------------------------------------------------------------

std::string branches(bool side, bool chain) {
  std::string text = "[graph]\nseed = 3\n";
  if (side) text += tensor("s0", "[256, 1280]", "fp32", "-1.0", "1.0");
  if (chain) {
    text += tensor("x", "[1, 1024]", "fp16", "-1.0", "1.0");
    for (int i = 0; i < 6; ++i)
      text += tensor(fmt::format("w{}", i), "[1024, 1024]", "fp16", "-0.05", "0.05");
  }
  std::string names;
  if (side) {
    for (int k = 0; k < 6; ++k) {
      text += op(k % 2 == 0 ? "add" : "mul", fmt::format("\"s{0}\", \"s{0}\"", k),
                 fmt::format("s{}", k + 1));
    }
    names += "\"s6\"";
  }
  if (chain) {
    std::string current = "x";
    for (int i = 0; i < 6; ++i) {
      text += op("matmul", fmt::format("\"{}\", \"w{}\"", current, i), fmt::format("h{}", i));
      text += op("cast", fmt::format("\"h{}\"", i), fmt::format("c{}", i), "dtype = \"fp16\"\n");
      current = fmt::format("c{}", i);
    }
    names += fmt::format("{}\"{}\"", names.empty() ? "" : ", ", current);
  }
  return text + fmt::format("\n[outputs]\nnames = [{}]\n", names);
}

TEST(CompileOrder, AnIndependentBranchListedFirstDoesNotHoldBackTheCriticalPath) {
  // Six element-wise ops on a [256, 1280] tensor, listed first, and a chain of six dependent
  // [1, 1024] x [1024, 1024] fp16 matvecs: the chain is the longer path, so it is lowered first
  // and takes the resources it needs; the side branch fills in around it.
  const CompileStats chain = compile_and_check(branches(false, true), chip_topology());
  const CompileStats side = compile_and_check(branches(true, false), chip_topology());
  const CompileStats both = compile_and_check(branches(true, true), chip_topology());
  EXPECT_LT(side.predicted_cycles, chain.predicted_cycles);
  // The chain's last op (the last in program order) ends within 30 % of the chain alone. (In
  // program order it ended 75 % later: every matvec waited for the side branch's MEM traffic.)
  EXPECT_LE(both.op_finish_cycles.back(), chain.predicted_cycles * 13 / 10);
  EXPECT_LT(both.predicted_cycles, chain.predicted_cycles + side.predicted_cycles);
}

}  // namespace
}  // namespace tspemu
