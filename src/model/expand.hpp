#pragma once
// A model card (model/model_card.hpp) as a tensor graph of the existing graph ops
// (docs/graph-format.md): the graph's TOML text, which the graph loader then checks like any graph
// file, so a model runs through the same compiler, engine and reference evaluator (`--check`).
// docs/models.md gives the construction op by op; in short, per layer:
//
//   decoder (pre-norm):  h = x + Attention(RMSNorm(x));  y = h + MLP(RMSNorm(h))
//   encoder (post-norm): h = LayerNorm(x + Attention(x)); y = LayerNorm(h + MLP(h))
//
// Tensor parallel in the Megatron style within a stage's TSPs: every TSP holds heads/tp query heads
// and kv_heads/tp KV heads (the columns of Wq, Wk, Wv for them, the rows of Wo), ffn/tp columns of
// W1 (and W3) and rows of W2; the partial sums of Wo and W2 are combined by an all_reduce. Stages
// hand the hidden state to the next stage's TSPs with a broadcast. A decode step's KV cache is
// resident: per layer and KV head, K^T [head_width, context_tokens] and V [context_tokens,
// head_width] as initial data; the step's own key and value join them without a copy (scores of
// the cache and of the new token are concatenated; the softmax is split again for the two value
// products).
//
// Not modelled (documented in docs/models.md): the embedding lookup (the input is the embedded
// tokens, seeded), rotary position embeddings, attention biases, the sampling of the next token.

#include <cstdint>
#include <string>
#include <vector>

#include "compiler/graph.hpp"
#include "model/model_card.hpp"
#include "model/model_record.hpp"
#include "topo/topology.hpp"

namespace tspemu {

// The most graph ops a card may expand into (Llama-2 70B's decode step has about 24,000).
inline constexpr std::int64_t kMaxExpandedOps = 1'000'000;

// What the expansion built, for `tspemu model` and reports.
struct ModelGraphSummary {
  std::int64_t tsps = 0;
  std::int64_t tensors = 0;
  std::int64_t ops = 0;
  std::int64_t parameters = 0;
  std::int64_t weight_bytes_per_tsp = 0;  // the largest over the TSPs: weights and KV cache
  std::vector<std::int32_t> op_layers;    // per graph op, in order (model/model_record.hpp)
};

// The graph's TOML text. Deterministic: the same card gives the same bytes.
[[nodiscard]] std::string model_graph_toml(const ModelCard& card,
                                           ModelGraphSummary* summary = nullptr);

// The record a bundle compiled from the card carries (attachment kModelAttachment).
[[nodiscard]] ModelRecord model_record(const ModelCard& card, const ModelGraphSummary& summary);

// The card's TSPs must exist in `topology` (an InputError at the card otherwise); the expanded
// text is then loaded as a graph named after the model ("<card> (expanded)" in messages). With
// `toml`, the text itself is handed back too (`tspemu model -o` writes it).
[[nodiscard]] Graph expand_model(const ModelCard& card, const Topology& topology,
                                 ModelGraphSummary* summary = nullptr, std::string* toml = nullptr);

}  // namespace tspemu
