// Model cards: what a card holds, and one exact, located message for every malformed card.
#include "model/model_card.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <string>

namespace tspemu {
namespace {

// A valid small decoder card; lines 1-13 [model], 14-16 [parallelism], 17-20 [run].
const std::string kCard =
    "[model]\n"                     // 1
    "name = \"m\"\n"                // 2
    "architecture = \"decoder\"\n"  // 3
    "layers = 2\n"                  // 4
    "width = 256\n"                 // 5
    "heads = 4\n"                   // 6
    "kv_heads = 2\n"                // 7
    "ffn_width = 512\n"             // 8
    "activation = \"swiglu\"\n"     // 9
    "vocabulary = 640\n"            // 10
    "context = 64\n"                // 11
    "weights = \"int8\"\n"          // 12
    "lm_head = true\n"              // 13
    "[parallelism]\n"               // 14
    "tensor_parallel = 2\n"         // 15
    "pipeline_stages = 2\n"         // 16
    "[run]\n"                       // 17
    "phase = \"decode\"\n"          // 18
    "context_tokens = 31\n"         // 19
    "seed = 5\n";                   // 20

// `text` with `from` replaced by `to` (which must occur in it).
std::string edit(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}
std::string with(const std::string& from, const std::string& to) {
  return edit(kCard, from, to);
}

std::string error_of(const std::string& text) {
  try {
    (void)load_model_card_from_string(text, "m.toml");
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ModelCard, ReadsEveryField) {
  const ModelCard c = load_model_card_from_string(kCard, "m.toml");
  EXPECT_EQ(c.name, "m");
  EXPECT_EQ(c.architecture, ModelArchitecture::decoder);
  EXPECT_EQ(c.layers, 2);
  EXPECT_EQ(c.width, 256);
  EXPECT_EQ(c.heads, 4);
  EXPECT_EQ(c.kv_heads, 2);
  EXPECT_EQ(c.head_width(), 64);
  EXPECT_EQ(c.ffn_width, 512);
  EXPECT_EQ(c.activation, ModelActivation::swiglu);
  EXPECT_EQ(c.vocabulary, 640);
  EXPECT_EQ(c.max_context, 64);
  EXPECT_EQ(c.weights, ModelWeights::int8);
  EXPECT_TRUE(c.lm_head);
  EXPECT_EQ(c.tensor_parallel, 2);
  EXPECT_EQ(c.pipeline_stages, 2);
  EXPECT_EQ(c.tsps(), 4);
  EXPECT_EQ(c.phase, ModelPhase::decode);
  EXPECT_EQ(c.tokens, 1);
  EXPECT_EQ(c.context_tokens, 31);
  EXPECT_EQ(c.seed, 5U);
  // q, o: 256 x 256 each; k, v: 256 x 128 each; SwiGLU: 3 x 256 x 512; 2 RMSNorm gammas; the LM
  // head 256 x 640 and the final gamma.
  EXPECT_EQ(c.parameters(), 2 * (2 * 65536 + 2 * 32768 + 3 * 131072 + 512) + 163840 + 256);
}

TEST(ModelCard, DefaultsAndStages) {
  const std::string model = with("kv_heads = 2\n", "");
  const ModelCard c = load_model_card_from_string(
      model.substr(0, model.find("[parallelism]")) + "[run]\nphase = \"prefill\"\ntokens = 16\n",
      "m.toml");
  EXPECT_EQ(c.kv_heads, 4);  // multi-head attention
  EXPECT_EQ(c.tensor_parallel, 1);
  EXPECT_EQ(c.pipeline_stages, 1);
  EXPECT_EQ(c.tokens, 16);
  EXPECT_EQ(c.seed, 0U);
  // 80 layers over 72 stages: the first 8 stages take 2 layers, the others 1.
  ModelCard big = c;
  big.layers = 80;
  big.pipeline_stages = 72;
  EXPECT_EQ(big.stage_first_layer(0), 0);
  EXPECT_EQ(big.stage_first_layer(1), 2);
  EXPECT_EQ(big.stage_first_layer(8), 16);
  EXPECT_EQ(big.stage_first_layer(9), 17);
  EXPECT_EQ(big.stage_first_layer(72), 80);
}

TEST(ModelCard, TellsCardsFromGraphs) {
  EXPECT_TRUE(looks_like_model_card(kCard));
  EXPECT_FALSE(looks_like_model_card("[graph]\nname = \"g\"\n"));
  EXPECT_FALSE(looks_like_model_card("not = toml = at all"));
}

struct BadCard {
  const char* name;
  std::string text;
  const char* expected;
  friend void PrintTo(const BadCard& c, std::ostream* os) { *os << c.name; }
};

const BadCard kBadCards[] = {
    {"UnknownTopLevelTable", kCard + "[modle]\nx = 1\n",
     "m.toml:21:2: unknown key 'modle' at the top level (did you mean 'model'?)"},
    {"MissingModel", "[run]\nphase = \"prefill\"\ntokens = 1\n",
     "m.toml:1:1: missing required key 'model' at the top level"},
    {"UnknownModelKey", with("layers = 2", "layer = 2"),
     "m.toml:4:1: unknown key 'layer' in [model] (did you mean 'layers'?)"},
    {"UnknownArchitecture", with("\"decoder\"", "\"decodr\""),
     "m.toml:3:16: model.architecture: unknown value 'decodr' (decoder, encoder)"},
    {"ZeroLayers", with("layers = 2", "layers = 0"),
     "m.toml:4:10: model.layers: value 0 is out of range [1, 4096]"},
    {"WidthNotAMultipleOfHeads", with("heads = 4", "heads = 3"),
     "m.toml:6:9: model.heads: width 256 is not a multiple of 3 heads"},
    {"KvHeadsDoNotDivideHeads", with("kv_heads = 2", "kv_heads = 3"),
     "m.toml:7:12: model.kv_heads: 4 heads do not share 3 KV heads evenly"},
    {"WrongActivation", with("\"swiglu\"", "\"relu\""),
     "m.toml:9:14: model.activation: unknown value 'relu' (gelu, swiglu)"},
    {"WeightsType", with("\"int8\"", "\"fp32\""),
     "m.toml:12:11: model.weights: unknown value 'fp32' (fp16, int8)"},
    {"TensorParallelDoesNotDivideKvHeads", with("tensor_parallel = 2", "tensor_parallel = 4"),
     "m.toml:15:19: parallelism.tensor_parallel: 2 KV heads do not divide over tensor_parallel = 4 "
     "TSPs"},
    {"MoreStagesThanLayers", with("pipeline_stages = 2", "pipeline_stages = 3"),
     "m.toml:16:19: parallelism.pipeline_stages: 3 stages for 2 layers: every stage needs a layer"},
    {"DecodeOfAnEncoder", edit(with("\"decoder\"", "\"encoder\""), "lm_head = true\n", ""),
     "m.toml:17:9: run.phase: 'decode' needs a decoder; this model is an encoder"},
    {"LmHeadOnAnEncoder", with("\"decoder\"", "\"encoder\""),
     "m.toml:13:11: model.lm_head: an LM head belongs to a decoder; this model is an encoder"},
    {"ContextTokensBeyondTheContext", with("context_tokens = 31", "context_tokens = 64"),
     "m.toml:19:18: run.context_tokens: value 64 is out of range [1, 63]"},
    {"DecodeWithoutContext", with("context_tokens = 31\n", ""),
     "m.toml:17:1: run: missing required key 'context_tokens' in [run]"},
    {"ContextTokensInAPrefill", with("phase = \"decode\"", "phase = \"prefill\"\ntokens = 8"),
     "m.toml:20:18: run.context_tokens: context_tokens belongs to a decode step; this run is a "
     "prefill"},
};

class ModelCardErrors : public testing::TestWithParam<BadCard> {};

TEST_P(ModelCardErrors, ExactLocatedMessage) {
  EXPECT_EQ(error_of(GetParam().text), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(All, ModelCardErrors, testing::ValuesIn(kBadCards),
                         [](const testing::TestParamInfo<BadCard>& card_info) {
                           return std::string(card_info.param.name);
                         });

}  // namespace
}  // namespace tspemu
