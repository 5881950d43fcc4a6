#pragma once
// Model cards (programs/models/*.toml; docs/models.md): a transformer's architecture, how it is
// spread over TSPs (tensor parallel within a stage, pipeline stages over consecutive TSP groups)
// and what one run computes (a prefill, one decode step with a resident KV cache, or an encoder's
// inference). model/expand.hpp turns a card into a tensor graph of the existing graph ops, so every
// model is checked by the same reference evaluator as any graph.
//
// Loading is strict like every tspemu input: unknown keys, wrong types, values out of range and
// shapes that do not divide over the TSPs are InputErrors located at file:line:column with the
// dotted key, e.g.
//   m.toml:4:9: model.heads: 12 heads do not divide over tensor_parallel = 8 TSPs
//   m.toml:9:11: run.phase: 'decode' needs a decoder; this model is an encoder

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace tspemu {

enum class ModelArchitecture : std::uint8_t {
  decoder,  // causal self-attention, RMSNorm before each block (pre-norm), optional LM head
  encoder,  // bidirectional self-attention, LayerNorm after each residual add (post-norm, BERT)
};
enum class ModelActivation : std::uint8_t {
  gelu,    // MLP: gelu(x W1) W2, GELU in its tanh form
  swiglu,  // MLP: (silu(x W1) * (x W3)) W2, silu(a) = a sigmoid(a), sigmoid from tanh
};
enum class ModelWeights : std::uint8_t {
  fp16,  // fp16 weights and activations into the MXM, fp32 accumulation
  int8,  // int8 weights, activations quantised to int8 (saturating), int32 accumulation,
         // dequantised to fp32 by one scale per matmul
};
enum class ModelPhase : std::uint8_t {
  prefill,  // `tokens` tokens through every layer, causal (decoder)
  decode,   // one token attending to a resident KV cache of `context_tokens` tokens (decoder)
  encode,   // `tokens` tokens, bidirectional (encoder)
};

struct ModelCard {
  std::string name;
  ModelArchitecture architecture = ModelArchitecture::decoder;
  std::int64_t layers = 0;
  std::int64_t width = 0;  // d_model
  std::int64_t heads = 0;
  std::int64_t kv_heads = 0;  // grouped-query attention; == heads for multi-head attention
  std::int64_t ffn_width = 0;
  ModelActivation activation = ModelActivation::gelu;
  std::int64_t vocabulary = 0;
  std::int64_t max_context = 0;  // the model's context length
  ModelWeights weights = ModelWeights::fp16;
  bool lm_head = false;  // decoder: logits over the vocabulary after the last layer

  // [parallelism]
  std::int64_t tensor_parallel = 1;  // TSPs per stage: heads, KV heads and FFN split over them
  std::int64_t pipeline_stages = 1;  // layers spread over consecutive groups of TSPs
  std::int64_t first_tsp = 0;        // stage s uses TSPs first + s * tp .. first + (s + 1) * tp - 1

  // [run]
  ModelPhase phase = ModelPhase::prefill;
  std::int64_t tokens = 1;          // prefill / encode: sequence length; decode: 1
  std::int64_t context_tokens = 0;  // decode: tokens already in the KV cache
  std::uint64_t seed = 0;           // the weights' and inputs' recipes

  SourceLocation where;  // the card's file, for messages about the card as a whole

  [[nodiscard]] std::int64_t head_width() const { return width / heads; }
  [[nodiscard]] std::int64_t tsps() const { return tensor_parallel * pipeline_stages; }
  // Layers [first, end) of stage s: spread as evenly as possible, the first stages one more.
  [[nodiscard]] std::int64_t stage_first_layer(std::int64_t stage) const;
  // Parameters of the layers and the LM head (embeddings are not part of a run: the input is
  // the embedded tokens).
  [[nodiscard]] std::int64_t parameters() const;
};

[[nodiscard]] std::string_view model_phase_name(ModelPhase phase);

// True if the TOML text has a top-level [model] table (how `tspemu compile` tells a card from a
// graph). Parse errors are the caller's to report: false then.
[[nodiscard]] bool looks_like_model_card(std::string_view text);

[[nodiscard]] ModelCard load_model_card(const std::filesystem::path& path);
[[nodiscard]] ModelCard load_model_card_from_string(std::string_view text,
                                                    const std::string& name_for_errors);

}  // namespace tspemu
