#pragma once
// Bundles for `tspemu run --check` tests, built by hand while the compiler's lowering is not there:
// a graph `c = a + b` of fp16 [rows, 330] tensors (a literal, b seeded), whose expected output is
// computed with the reference evaluator and stored in `.data` output segments: tile 0 (lanes
// 0..319) of every row in segment "c_lo", tile 1 (10 lanes) in "c_hi" in reverse row order, so
// extraction across segments, tiles and row order is exercised. The program does nothing else:
// its outputs are its initial data.
//   chip: one TSP, c is [2, 330] on tsp 0.
//   pair: two TSPs, a, b and c are [4, 330] split along axis 0 over tsps 0 and 1.
// `corrupt` flips the low bit of element [1, 325] of c on the last TSP.

#include <cstdint>
#include <string>

#include "compiler/compiled_graph.hpp"
#include "compiler/graph_loader.hpp"
#include "isa/assembler.hpp"
#include "isa/bundle.hpp"
#include "topo/loader.hpp"

namespace tspemu::test {

inline std::string check_graph_text(bool pair) {
  const int rows = pair ? 4 : 2;
  const std::string placement = pair ? "{tsps = [0, 1], split_axis = 0}" : "{tsp = 0}";
  std::string values;
  for (int i = 0; i < rows * 330; ++i) {
    values += (i == 0 ? "" : ", ") + std::to_string(i % 700) + ".125";
  }
  std::string text;
  for (const char* name : {"a", "b"}) {
    text += std::string("[[tensor]]\nname = \"") + name + "\"\nshape = [" + std::to_string(rows) +
            ", 330]\ndtype = \"fp16\"\nplacement = " + placement + "\n";
    text += name[0] == 'a' ? "init = {values = [" + values + "]}\n\n"
                           : "init = {recipe = \"uniform\", lo = -2.0, hi = 2.0}\n\n";
  }
  text += "[[op]]\nkind = \"add\"\ninputs = [\"a\", \"b\"]\noutput = \"c\"\n\n";
  text += "[outputs]\nnames = [\"c\"]\n";
  return text;
}

// The bundle; with `with_record` false it has no compiled-graph record.
inline Bundle check_bundle(const Topology& topology, bool pair, bool corrupt,
                           bool with_record = true) {
  const Graph graph = load_graph_from_string(check_graph_text(pair), "check_add.toml", topology);
  const EvalResult expected = evaluate(graph);
  const TensorValue& c = expected.outputs.at(0);
  std::string text;
  for (const Shard& shard : c.shards) {
    text += ".tsp " + std::to_string(shard.tsp.value) + "\n";
    text += ".data c_lo dtype=f16 shape=[2,320] at=W0,W1:0 init=zero\n";
    text += ".data c_hi dtype=f16 shape=[2,10] at=W2,W3:0 init=zero\n";
    text += ".output c_lo c_hi\n";
  }
  Bundle bundle;
  bundle.topology_name = topology.name();
  bundle.topology_digest = topology.digest();
  bundle.program = assemble(text, "check_add.tsa");
  CompiledGraph record;
  record.graph = graph;
  record.predicted_cycles = 7;
  for (std::size_t s = 0; s < c.shards.size(); ++s) {
    const Shard& shard = c.shards[s];
    std::vector<std::uint8_t> lo(2 * 320 * 2);
    std::vector<std::uint8_t> hi(2 * 10 * 2);
    OutputShardLayout layout{"c", shard.tsp, DType::f16, shard.shape, {"c_lo", "c_hi"}, {}};
    for (std::size_t r = 0; r < 2; ++r) {
      const std::uint8_t* row = shard.bytes.data() + r * 330 * 2;
      std::copy(row, row + 320 * 2, lo.begin() + static_cast<std::ptrdiff_t>(r * 320 * 2));
      std::copy(row + 320 * 2, row + 330 * 2,
                hi.begin() + static_cast<std::ptrdiff_t>((1 - r) * 10 * 2));
      layout.vectors.push_back(OutputVectorRef{0, static_cast<std::int32_t>(r)});
      layout.vectors.push_back(OutputVectorRef{1, static_cast<std::int32_t>(1 - r)});
    }
    if (corrupt && s + 1 == c.shards.size()) hi[(0 * 10 + 5) * 2] ^= 1;  // row 1 is hi's row 0
    auto& data = bundle.program.tsps[s].data;
    data[0].init = DataInit{DataInit::Kind::literal, lo};
    data[1].init = DataInit{DataInit::Kind::literal, hi};
    record.outputs.push_back(layout);
  }
  if (with_record) {
    bundle.attachments.push_back(
        BundleAttachment{std::string(kCompiledGraphAttachment), encode_compiled_graph(record)});
  }
  return bundle;
}

}  // namespace tspemu::test
