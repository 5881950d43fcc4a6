#pragma once
// What a bundle compiled from a model card remembers of it (attachment kModelAttachment): the
// model's shape and run phase, so `tspemu run` can state per-token figures, and per graph op the
// layer it belongs to, so the compile report and `tspemu report` can break the time down by layer.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/model_card.hpp"

namespace tspemu {

inline constexpr std::string_view kModelAttachment = "tspemu.model";
inline constexpr std::uint32_t kModelRecordVersion = 1;

// Op layers that are not a transformer layer.
inline constexpr std::int32_t kLayerNone = -1;    // the input's constants, stage hand-offs
inline constexpr std::int32_t kLayerLmHead = -2;  // the final norm and the LM head

struct ModelRecord {
  std::string name;
  ModelArchitecture architecture = ModelArchitecture::decoder;
  ModelPhase phase = ModelPhase::prefill;
  std::int64_t layers = 0;
  std::int64_t tokens = 0;
  std::int64_t context_tokens = 0;
  std::int64_t tensor_parallel = 1;
  std::int64_t pipeline_stages = 1;
  std::int64_t parameters = 0;
  std::vector<std::int32_t> op_layers;  // per graph op: its layer, kLayerNone or kLayerLmHead
  friend bool operator==(const ModelRecord&, const ModelRecord&) = default;
};

[[nodiscard]] std::vector<std::uint8_t> encode_model_record(const ModelRecord& record);
// "<name>: malformed model record (...)" as an InputError.
[[nodiscard]] ModelRecord decode_model_record(std::span<const std::uint8_t> bytes,
                                              const std::string& name);

// "l3", "lm_head" or "-".
[[nodiscard]] std::string layer_name(std::int32_t layer);

// Per-token figures of a run of `cycles` at `clock_mhz`: decode, one token per step; prefill and
// encode, `tokens` tokens at once.
struct ModelRunFigures {
  double latency_seconds = 0;    // the run: one step, one prefill or one inference
  double tokens_per_second = 0;  // tokens the run handles / latency (per user: one sequence)
};
[[nodiscard]] ModelRunFigures model_run_figures(const ModelRecord& record, std::int64_t cycles,
                                                double clock_mhz);

}  // namespace tspemu
