// A card's expansion: the graph it gives (names, shapes, placements), determinism, the TSP check,
// and small cards compiled and run bit-exact against the reference evaluator.
#include "model/expand.hpp"

#include "compile_harness.hpp"
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>

#include "compiler/graph_loader.hpp"
#include "model/model_card.hpp"
#include "model/model_record.hpp"
#include "topo/loader.hpp"

namespace tspemu {
namespace {

ModelCard small_decoder(ModelWeights weights, ModelPhase phase) {
  ModelCard c;
  c.name = "tiny";
  c.architecture = ModelArchitecture::decoder;
  c.layers = 2;
  c.width = 256;
  c.heads = 4;
  c.kv_heads = 2;
  c.ffn_width = 512;
  c.activation = ModelActivation::swiglu;
  c.vocabulary = 640;
  c.max_context = 64;
  c.weights = weights;
  c.lm_head = true;
  c.tensor_parallel = 2;
  c.pipeline_stages = 2;
  c.phase = phase;
  c.tokens = phase == ModelPhase::decode ? 1 : 8;
  c.context_tokens = phase == ModelPhase::decode ? 15 : 0;
  c.seed = 9;
  c.where = SourceLocation{"tiny.toml", 0, 0};
  return c;
}

// The small decoder's shape as a one-stage encoder (LayerNorm, GELU, no LM head).
ModelCard small_encoder() {
  ModelCard c = small_decoder(ModelWeights::fp16, ModelPhase::encode);
  c.architecture = ModelArchitecture::encoder;
  c.activation = ModelActivation::gelu;
  c.lm_head = false;
  return c;
}

// The message of the InputError `f` throws, or a marker.
template <class F>
std::string input_error_of(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

const Tensor& tensor(const Graph& g, const std::string& name) {
  for (const Tensor& t : g.tensors) {
    if (t.name == name) return t;
  }
  ADD_FAILURE() << "no tensor " << name;
  return g.tensors.front();
}

TEST(ModelExpansion, DecoderDecodeStep) {
  const ModelCard card = small_decoder(ModelWeights::fp16, ModelPhase::decode);
  ModelGraphSummary summary;
  const Graph g = expand_model(card, node_topology(), &summary);
  EXPECT_EQ(g.name, "tiny_decode");
  EXPECT_EQ(summary.tsps, 4);
  EXPECT_EQ(summary.parameters, card.parameters());
  EXPECT_EQ(summary.ops, static_cast<std::int64_t>(g.ops.size()));
  EXPECT_EQ(summary.tensors + summary.ops, static_cast<std::int64_t>(g.tensors.size()));
  // The input: the embedded token on stage 0's TSPs.
  const Tensor& x = tensor(g, "x");
  EXPECT_EQ(x.shape, (Shape{1, 256}));
  EXPECT_EQ(x.placement.tsps, (std::vector<TspId>{TspId{0}, TspId{1}}));
  // Layer 1 lives on stage 1 (TSPs 2, 3): its query weights split by columns, one head per TSP.
  const Tensor& wq = tensor(g, "l1_wq0");
  EXPECT_EQ(wq.shape, (Shape{256, 128}));
  EXPECT_EQ(wq.dtype, DType::f16);
  EXPECT_EQ(wq.placement.kind, Placement::Kind::split);
  EXPECT_EQ(wq.placement.split_axis, 1);
  EXPECT_EQ(wq.placement.tsps, (std::vector<TspId>{TspId{2}, TspId{3}}));
  // The resident KV cache of 15 tokens: K^T by rows (head_width per TSP), V by columns.
  EXPECT_EQ(tensor(g, "l0_kcache0").shape, (Shape{128, 15}));
  EXPECT_EQ(tensor(g, "l0_vcache0").shape, (Shape{15, 128}));
  // The stage hand-off and the logits on the last stage.
  EXPECT_EQ(tensor(g, "s1_in").placement.tsps, (std::vector<TspId>{TspId{2}, TspId{3}}));
  ASSERT_EQ(g.outputs.size(), 1U);
  const Tensor& logits = g.tensors[static_cast<std::size_t>(g.outputs[0])];
  EXPECT_EQ(logits.name, "logits");
  EXPECT_EQ(logits.shape, (Shape{1, 640}));
  EXPECT_EQ(logits.dtype, DType::f32);
}

TEST(ModelExpansion, RecordsEveryOpsLayer) {
  const ModelCard card = small_decoder(ModelWeights::fp16, ModelPhase::decode);
  ModelGraphSummary summary;
  const Graph g = expand_model(card, node_topology(), &summary);
  ASSERT_EQ(summary.op_layers.size(), g.ops.size());
  std::vector<int> per_layer(2, 0);
  int lm_head = 0;
  int other = 0;
  for (std::size_t i = 0; i < g.ops.size(); ++i) {
    const std::int32_t layer = summary.op_layers[i];
    if (layer >= 0) {
      ++per_layer[static_cast<std::size_t>(layer)];
    } else if (layer == kLayerLmHead) {
      ++lm_head;
    } else {
      ++other;
      EXPECT_EQ(g.ops[i].kind, OpKind::broadcast);  // the hand-off between the two stages
    }
  }
  EXPECT_EQ(per_layer[0], per_layer[1]);  // the same layer twice
  EXPECT_GT(per_layer[0], 50);
  EXPECT_EQ(other, 1);
  EXPECT_GT(lm_head, 3);
  // The record a compiled bundle carries round-trips, and a damaged one is refused.
  const ModelRecord record = model_record(card, summary);
  EXPECT_EQ(record.parameters, card.parameters());
  const std::vector<std::uint8_t> bytes = encode_model_record(record);
  EXPECT_EQ(decode_model_record(bytes, "b.tspb"), record);
  std::vector<std::uint8_t> bad = bytes;
  bad[0] = 9;
  EXPECT_EQ(input_error_of([&] { (void)decode_model_record(bad, "b.tspb"); }),
            "b.tspb: malformed model record (record version 9; this tspemu reads version 1)");
  bad = bytes;
  bad.resize(bad.size() - 1);
  EXPECT_THROW((void)decode_model_record(bad, "b.tspb"), InputError);
  // 1 ms of a 900 MHz chip for a decode step: 1,000 tokens/s per user.
  const ModelRunFigures f = model_run_figures(record, 900000, 900.0);
  EXPECT_DOUBLE_EQ(f.latency_seconds, 1e-3);
  EXPECT_DOUBLE_EQ(f.tokens_per_second, 1000.0);
}

TEST(ModelExpansion, IsDeterministic) {
  const ModelCard card = small_decoder(ModelWeights::int8, ModelPhase::prefill);
  EXPECT_EQ(model_graph_toml(card), model_graph_toml(card));
  ModelCard other = card;
  other.seed = 10;
  EXPECT_NE(model_graph_toml(card), model_graph_toml(other));
}

TEST(ModelExpansion, TheTspsMustExist) {
  ModelCard card = small_decoder(ModelWeights::fp16, ModelPhase::decode);
  card.first_tsp = 6;
  EXPECT_EQ(input_error_of([&] { (void)expand_model(card, node_topology()); }),
            "tiny.toml: model 'tiny' needs TSPs 6..9 (2 stage(s) x 2), but topology 'node' "
            "has TSPs 0..7");
}

TEST(ModelExpansion, RefusesGraphsOfMillionsOfOps) {
  ModelCard card = small_decoder(ModelWeights::fp16, ModelPhase::decode);
  card.heads = 1 << 20;  // 2^20 heads of width 1 ...
  card.kv_heads = 1 << 20;
  card.width = 1 << 20;
  card.tensor_parallel = 1;
  EXPECT_EQ(input_error_of([&] { (void)model_graph_toml(card); }),
            "tiny.toml: model 'tiny' expands into more than 1000000 graph ops (layers x "
            "heads per TSP are too many for one graph)");
}

// Small cards through the whole compiler, bit-exact against the reference evaluator, predicted
// == emulated == timing-only cycles (compile_harness.hpp).
TEST(ModelExpansion, Int8DecodeCompilesAndChecks) {
  compile_and_check(model_graph_toml(small_decoder(ModelWeights::int8, ModelPhase::decode)),
                    node_topology());
}

// A pipeline hand-off of [16, 512] fp32 (128 vectors over one link): its RECEIVEs slipped behind
// the next stage's busy queues and 26 vectors waited at a port that holds 16, which the compile's
// verification caught as a "compiler bug". SENDs now wait for the RECEIVE 16 places ahead
// (found by a sweep of random small cards).
TEST(ModelExpansion, PipelineHandOffStaysWithinThePortBuffer) {
  ModelCard card = small_encoder();
  card.width = 512;
  card.heads = 8;
  card.kv_heads = 8;
  card.tensor_parallel = 4;
  card.pipeline_stages = 2;
  card.tokens = 16;
  card.seed = 351;
  compile_and_check(model_graph_toml(card), node_topology());
}

// Seeded random small cards (architecture, phase, weights, activation, heads and KV heads, tensor
// and pipeline parallelism, tokens) through the compiler, each bit-exact against the reference
// evaluator: the sweep that found the port-buffer defect above. The seed is fixed; a failure
// prints the card.
TEST(ModelExpansion, RandomSmallCardsCompileAndCheck) {
  std::uint64_t state = 20261207;
  auto pick = [&](std::initializer_list<std::int64_t> values) {
    const auto i = splitmix64(state) % values.size();
    return *(values.begin() + static_cast<std::ptrdiff_t>(i));
  };
  for (int n = 0; n < 6; ++n) {
    ModelCard c;
    c.name = fmt::format("sweep{}", n);
    c.where = SourceLocation{"sweep.toml", 0, 0};
    c.architecture = pick({0, 1}) == 0 ? ModelArchitecture::decoder : ModelArchitecture::encoder;
    const bool decoder = c.architecture == ModelArchitecture::decoder;
    c.tensor_parallel = pick({1, 2, 4});
    c.pipeline_stages = pick({1, 2});
    c.heads = c.tensor_parallel * pick({1, 2});
    c.kv_heads = decoder ? pick({1, 2}) == 1 ? c.heads : c.tensor_parallel : c.heads;
    c.width = c.heads * pick({32, 64});
    c.layers = c.pipeline_stages * pick({1, 2});
    c.ffn_width = c.tensor_parallel * pick({64, 160});
    c.activation = pick({0, 1}) == 0 ? ModelActivation::gelu : ModelActivation::swiglu;
    c.weights = pick({0, 1}) == 0 ? ModelWeights::fp16 : ModelWeights::int8;
    c.lm_head = decoder && pick({0, 1}) == 1;
    c.vocabulary = c.tensor_parallel * pick({80, 320});
    c.max_context = 64;
    c.phase = decoder ? (pick({0, 1}) == 0 ? ModelPhase::prefill : ModelPhase::decode)
                      : ModelPhase::encode;
    c.tokens = c.phase == ModelPhase::decode ? 1 : pick({1, 3, 16});
    c.context_tokens = c.phase == ModelPhase::decode ? pick({3, 17, 40}) : 0;
    c.seed = splitmix64(state) % 1000;
    const std::string toml = model_graph_toml(c);
    SCOPED_TRACE(toml.substr(0, 400));  // the header line: the card's every choice
    compile_and_check(toml, node_topology());
  }
}

TEST(ModelExpansion, EncoderCompilesAndChecks) {
  ModelCard card = small_encoder();
  card.layers = 1;
  card.pipeline_stages = 1;
  compile_and_check(model_graph_toml(card), node_topology());
}

}  // namespace
}  // namespace tspemu
