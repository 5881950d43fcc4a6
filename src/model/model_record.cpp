#include "model/model_record.hpp"

#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <fmt/format.h>

#include "isa/bundle_archive.hpp"

namespace tspemu {

std::vector<std::uint8_t> encode_model_record(const ModelRecord& r) {
  std::vector<std::uint8_t> out;
  detail::BundleOutputArchive archive(out);
  archive(kModelRecordVersion, r.name, r.architecture, r.phase, r.layers, r.tokens,
          r.context_tokens, r.tensor_parallel, r.pipeline_stages, r.parameters, r.op_layers);
  return out;
}

ModelRecord decode_model_record(std::span<const std::uint8_t> bytes, const std::string& name) {
  auto fail = [&](const std::string& what) {
    throw InputError(SourceLocation{name, 0, 0}, fmt::format("malformed model record ({})", what));
  };
  ModelRecord r;
  try {
    detail::BoundedInputArchive archive(bytes);
    std::uint32_t version = 0;
    archive(version);
    if (version != kModelRecordVersion) {
      fail(fmt::format("record version {}; this tspemu reads version {}", version,
                       kModelRecordVersion));
    }
    archive(r.name, r.architecture, r.phase, r.layers, r.tokens, r.context_tokens,
            r.tensor_parallel, r.pipeline_stages, r.parameters, r.op_layers);
    if (archive.remaining() != 0) fail(fmt::format("{} bytes left over", archive.remaining()));
  } catch (const detail::PayloadError& e) {
    fail(e.message);
  }
  if (static_cast<int>(r.architecture) > static_cast<int>(ModelArchitecture::encoder) ||
      static_cast<int>(r.phase) > static_cast<int>(ModelPhase::encode)) {
    fail("architecture or phase out of range");
  }
  if (r.tokens < 1 || r.layers < 1) fail("no tokens or no layers");
  for (const std::int32_t layer : r.op_layers) {
    if (layer < kLayerLmHead || layer >= r.layers) {
      fail(fmt::format("an op's layer {} is not one of the model's {}", layer, r.layers));
    }
  }
  return r;
}

std::string layer_name(std::int32_t layer) {
  if (layer == kLayerLmHead) return "lm_head";
  if (layer < 0) return "-";
  return fmt::format("l{}", layer);
}

ModelRunFigures model_run_figures(const ModelRecord& record, std::int64_t cycles,
                                  double clock_mhz) {
  ModelRunFigures f;
  if (cycles <= 0 || clock_mhz <= 0) return f;
  f.latency_seconds = static_cast<double>(cycles) / (clock_mhz * 1e6);
  f.tokens_per_second = static_cast<double>(record.tokens) / f.latency_seconds;
  return f;
}

}  // namespace tspemu
