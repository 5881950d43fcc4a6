// `tspemu run`'s outputs: --dump files (data segments, and graph outputs reassembled whole), the
// output shards --check compares and their gather to rank 0, and the comparison itself.
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <fmt/format.h>

#include <algorithm>

#include "common/error.hpp"
#include "common/memory_budget.hpp"
#include "common/output_file.hpp"
#include "isa/bundle_archive.hpp"
#include "runtime/run_parts.hpp"

namespace tspemu {
namespace detail {
namespace {

// The bytes of a graph output as --dump writes it (docs/graph-format.md, "Outputs of a run"):
// with tspN:, that TSP's shard; else replicated: the value (the first TSP's shard), split: the
// shards joined along the split axis (the logical tensor, row-major), per_tsp: the shards one after
// another in placement order.
std::vector<std::uint8_t> graph_dump_bytes(const std::string& spec, const Tensor& t,
                                           const RunSetup& setup,
                                           std::span<const EmulatedOutput> shards) {
  const auto shard_of = [&](TspId tsp) -> const std::vector<std::uint8_t>& {
    for (const EmulatedOutput& o : shards) {
      if (o.name == t.name && o.tsp == tsp) return o.bytes;
    }
    throw RuntimeError(fmt::format("--dump {}: the run produced no shard of '{}' on TSP {}", spec,
                                   t.name, tsp.value));
  };
  if (names_a_tsp(spec)) {
    return shard_of(parse_dump_name(spec, setup.topology->tsp_count()).first);
  }
  const auto& tsps = t.placement.tsps;
  std::vector<std::uint8_t> out;
  if (t.placement.kind == Placement::Kind::replicated) return shard_of(tsps.front());
  if (t.placement.kind == Placement::Kind::per_tsp) {
    for (const TspId tsp : tsps) {
      const auto& b = shard_of(tsp);
      out.insert(out.end(), b.begin(), b.end());
    }
    return out;
  }
  // Split along axis k: per outer index (the dimensions before k), each shard's contiguous block.
  const auto k = static_cast<std::size_t>(t.placement.split_axis);
  const Shape local = t.placement.local_shape(t.shape);
  std::int64_t outer = 1;
  for (std::size_t d = 0; d < k; ++d) outer *= t.shape[d];
  std::int64_t block = dtype_bytes(t.dtype);
  for (std::size_t d = k; d < local.size(); ++d) block *= local[d];
  std::vector<const std::vector<std::uint8_t>*> parts;
  for (const TspId tsp : tsps) parts.push_back(&shard_of(tsp));
  for (std::int64_t o = 0; o < outer; ++o) {
    for (const auto* part : parts) {
      const auto begin = part->begin() + o * block;
      out.insert(out.end(), begin, begin + block);
    }
  }
  return out;
}

}  // namespace

// This process's output shards for --check (extract_tsp_outputs over its TSPs).
std::vector<EmulatedOutput> extract_local_outputs(const RunSetup& setup,
                                                  const DriverOutcome& outcome) {
  std::vector<EmulatedOutput> out;
  for (const auto& t : outcome.local) {
    for (auto& o : extract_tsp_outputs(*setup.compiled, t.tsp, t.result.outputs)) {
      out.push_back(std::move(o));
    }
  }
  return out;
}

// One rank's CheckInput as bytes for the gather (the job's own data: the archive's bounds are a
// safeguard, not a trust boundary): has-error flag, then the error or the shards.
std::string encode_check_part(const CheckInput& part) {
  std::vector<std::uint8_t> bytes;
  detail::BundleOutputArchive archive(bytes);
  archive(part.error.has_value());
  if (part.error) {
    archive(*part.error);
  } else {
    archive(static_cast<std::uint64_t>(part.outputs.size()));
    for (const auto& o : part.outputs) archive(o.name, o.tsp.value, o.bytes);
  }
  return std::string(bytes.begin(), bytes.end());
}

// Rank 0: the parts in rank order merged; the lowest rank's error wins.
CheckInput merge_check_parts(const std::vector<std::string>& parts) {
  CheckInput merged;
  for (const std::string& text : parts) {
    const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(text.data()),
                                              text.size());
    detail::BoundedInputArchive archive(bytes);
    bool has_error = false;
    archive(has_error);
    if (has_error) {
      std::string error;
      archive(error);
      if (!merged.error) merged.error = std::move(error);
      continue;
    }
    std::uint64_t count = 0;
    archive(count);
    for (std::uint64_t i = 0; i < count; ++i) {
      EmulatedOutput o;
      archive(o.name, o.tsp.value, o.bytes);
      merged.outputs.push_back(std::move(o));
    }
  }
  return merged;
}

void write_graph_dumps(const RunRequest& request, const RunSetup& setup,
                       std::span<const EmulatedOutput> shards) {
  for (const auto& [spec, path] : request.dumps) {
    const Tensor* t = graph_dump_tensor(spec, setup);
    if (t == nullptr) continue;
    write_output_file(path,
                      std::span<const std::uint8_t>(graph_dump_bytes(spec, *t, setup, shards)),
                      "--dump " + spec);
  }
}

void write_dumps(const RunRequest& request, const RunSetup& setup, const DriverOutcome& outcome) {
  for (const auto& [spec, path] : request.dumps) {
    if (graph_dump_tensor(spec, setup) != nullptr) continue;  // written from the gathered shards
    const auto [tsp, name] = parse_dump_name(spec, setup.topology->tsp_count());
    for (const auto& t : outcome.local) {
      if (t.tsp != tsp) continue;
      for (const auto& o : t.result.outputs) {
        if (o.name == name) {
          write_output_file(path, std::span<const std::uint8_t>(o.bytes), "--dump " + spec);
        }
      }
    }
  }
}

}  // namespace detail

std::vector<EmulatedOutput> extract_tsp_outputs(const CompiledGraph& record, TspId tsp,
                                                std::span<const OutputData> outputs) {
  std::vector<OutputSegmentView> views;
  views.reserve(outputs.size());
  for (const auto& o : outputs) {
    views.push_back(OutputSegmentView{o.name, o.dtype, o.rows, o.columns, o.bytes});
  }
  std::vector<EmulatedOutput> out;
  for (const auto& layout : record.outputs) {
    if (layout.tsp == tsp) out.push_back(extract_output(layout, views));
  }
  return out;
}

CheckResult check_outputs(const CompiledGraph& record, std::span<const EmulatedOutput> got) {
  require_memory(
      graph_tensor_bytes(record.graph, false),
      fmt::format("--check: evaluating graph '{}' (every tensor on every TSP)", record.graph.name));
  const EvalResult expected = evaluate(record.graph);
  CheckResult result;
  for (const auto& v : expected.outputs)
    result.shards += static_cast<std::int64_t>(v.shards.size());
  const auto mismatch = compare_outputs(expected, got);
  result.passed = !mismatch;
  if (mismatch) {
    result.mismatch = mismatch->message;
    return result;
  }
  // The digests of what the run produced: the expected values' structure with the emulated bytes
  // (equal to the expected ones here, but taken from the run).
  EvalResult emulated = expected;
  for (TensorValue& v : emulated.outputs) {
    for (Shard& shard : v.shards) {
      for (const EmulatedOutput& o : got) {
        if (o.name == v.name && o.tsp == shard.tsp) shard.bytes = o.bytes;
      }
    }
  }
  result.output_digest = emulated.digest();
  for (const TensorValue& v : emulated.outputs) {
    EvalResult one;
    one.outputs.push_back(v);
    result.outputs.emplace_back(v.name, one.digest());
  }
  return result;
}

}  // namespace tspemu
