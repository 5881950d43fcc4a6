#pragma once
// `tspemu run --trace FILE`: the run as a timeline in the Chrome trace-event JSON format, which
// Perfetto (ui.perfetto.dev) and chrome://tracing open.
//
//   - a process per TSP ("TSP 5"), a thread per instruction queue ("MEM_W3", "VXM0", "C2C2"), in
//     the chip's queue order;
//   - a complete event ("X") per executed instruction: from its issue cycle until its result lands
//     (issue + skew + functional delay; at least 1), named by its mnemonic, with args: the graph op
//     it was lowered from (compiled bundles), the instruction's index in its queue, its issue
//     cycle;
//   - a flow (an arrow, "s" -> "f") per vector of the send schedule, from the SEND on the source
//     TSP's C2C queue to the RECEIVE on the destination's;
//   - an instant event per lockstep window the run executed ("window 12", global scope).
// Time: ts and dur count TSP cycles; the viewer shows them as microseconds (one cycle = 1 "us"),
// so readings are exact cycle numbers. `--trace-cycles A:B` keeps instructions issued in cycles
// A..B (a large program's whole trace may not open).
//
// The file is a function of the program, topology, seed and range only: under MPI every rank
// encodes its TSPs' slices (encode_trace_part), rank 0 gathers them and writes the same bytes as
// `--local` (tests/e2e/compiler: cmp).

#include <optional>
#include <string>
#include <vector>

#include "compiler/compiled_graph.hpp"
#include "isa/bundle.hpp"
#include "net/window.hpp"
#include "runtime/driver.hpp"
#include "topo/topology.hpp"

namespace tspemu {

// This process's TSPs' slices as text (one line per slice, TSP blocks in any order).
[[nodiscard]] std::string encode_trace_part(const DriverOutcome& outcome);

// The trace file's text from every part (any order, any partition: TSPs are sorted here).
// `record`: the compiled-graph record for op names, or null. Throws RuntimeError for a malformed
// part (a tspemu bug).
[[nodiscard]] std::string write_trace_json(const std::vector<std::string>& parts,
                                           const Topology& topology, const Bundle& bundle,
                                           const CompiledGraph* record,
                                           const std::vector<WindowIndex>& windows,
                                           Cycle window_cycles, Cycle trace_begin, Cycle trace_end);

// Parses `--trace-cycles A:B` (A <= B, both >= 0); InputError otherwise.
[[nodiscard]] std::pair<Cycle, Cycle> parse_trace_cycles(const std::string& text);

// The issue-cycle range `--trace` records, from the two options of `run` and `compile`: every
// cycle without --trace-cycles; InputError for --trace-cycles without --trace or a bad range.
[[nodiscard]] std::pair<Cycle, Cycle> trace_range(bool trace,
                                                  const std::optional<std::string>& trace_cycles);

}  // namespace tspemu
