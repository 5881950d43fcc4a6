#pragma once
// The reference evaluator (issue 6): an independent, plain-loop evaluation of a graph's semantics
// (docs/graph-format.md), with no TSP lowering. It gives every declared output's bytes on every
// TSP that holds it, which `tspemu run BUNDLE --check` compares bit for bit with the emulated
// outputs. fp16/fp32 results follow the chip's documented rounding and summation order
// (docs/numerics.md, programs/ISA.md), so equality is exact.
//
// Deterministic: the same graph gives the same bytes and digest on every host (host fp32
// arithmetic is checked to be IEEE round-to-nearest-even with subnormals; a host that is not makes
// evaluate() throw RuntimeError).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/digest.hpp"
#include "compiler/graph.hpp"

namespace tspemu {

// One TSP's value of a tensor: its local shape, row-major, little-endian elements.
struct Shard {
  TspId tsp;
  Shape shape;
  std::vector<std::uint8_t> bytes;
};

// A tensor's value on every TSP of its placement: shards[i] is on placement.tsps[i].
struct TensorValue {
  std::string name;
  DType dtype = DType::f32;
  Shape shape;  // logical
  Placement placement;
  std::vector<Shard> shards;

  // The shard on `tsp`, or nullptr if the tensor is not there.
  [[nodiscard]] const Shard* on(TspId tsp) const;
};

struct EvalResult {
  std::vector<TensorValue> outputs;  // in the graph's [outputs] order

  [[nodiscard]] const TensorValue* find(std::string_view name) const;
  // XXH3-128 over every output: name, dtype, logical shape, placement, then each shard's TSP,
  // shape and bytes, in order (docs/graph-format.md, "Digest").
  [[nodiscard]] Digest128 digest() const;
};

// Evaluates every op in program order and returns the declared outputs.
[[nodiscard]] EvalResult evaluate(const Graph& graph);

// The same, returning every tensor (indexed like graph.tensors): for tests and debugging.
[[nodiscard]] std::vector<TensorValue> evaluate_all(const Graph& graph);

// ---- comparing emulated outputs with expected ones ----------------------------------------------

struct OutputMismatch {
  std::string output;
  TspId tsp;
  Shape index;  // the first differing element, in the TSP's local coordinates (empty: no element)
  std::uint64_t expected_bits = 0;
  std::uint64_t got_bits = 0;
  // "output 'c' element [3, 17] on tsp 2: expected 0x3c00 (1.0), got 0x3c01 (1.000977)"
  std::string message;
};

// "0x3c00 (1.0)", "0xff (-1)", "0x7fc00000 (nan)": an element's bit pattern (zero-padded to the
// dtype's width) and its value.
[[nodiscard]] std::string format_element(DType dtype, std::uint64_t bits);

// Compares the bytes a run produced for `expected` on `tsp` with the expected shard; nothing if
// they are identical. A TSP the tensor is not on, or a byte count that differs, is a mismatch
// with an empty index.
[[nodiscard]] std::optional<OutputMismatch> first_difference(const TensorValue& expected, TspId tsp,
                                                             std::span<const std::uint8_t> got);

// One output shard as a run reports it.
struct EmulatedOutput {
  std::string name;
  TspId tsp;
  std::vector<std::uint8_t> bytes;
};

// The first mismatch over all expected outputs (in [outputs] order, TSPs ascending, elements
// row-major): a difference, a shard the run did not produce, or a shard the run produced that is
// not expected.
[[nodiscard]] std::optional<OutputMismatch> compare_outputs(const EvalResult& expected,
                                                            std::span<const EmulatedOutput> got);

}  // namespace tspemu
