#include "model/model_card.hpp"

#include <fmt/format.h>

#include <limits>

#include "common/input_file.hpp"
#include "common/toml_reader.hpp"

namespace tspemu {
namespace {

// Bounds that keep every derived shape inside the graph format's (2^24 per dimension) and every
// product of them inside 64 bits.
constexpr std::int64_t kMaxDim = std::int64_t{1} << 24;
constexpr std::int64_t kMaxLayers = 4096;
constexpr std::int64_t kMaxTsps = 1 << 20;

template <class Enum>
Enum read_choice(const TomlReader& r, std::string_view key,
                 std::initializer_list<std::pair<std::string_view, Enum>> choices,
                 std::optional<Enum> fallback = std::nullopt) {
  const auto text = r.string(key);
  if (!text) {
    if (fallback) return *fallback;
    r.missing(key);
  }
  std::string names;
  for (const auto& [name, value] : choices) {
    if (*text == name) return value;
    names += names.empty() ? std::string(name) : ", " + std::string(name);
  }
  r.fail(key, fmt::format("unknown value '{}' ({})", *text, names));
}

}  // namespace

std::int64_t ModelCard::stage_first_layer(std::int64_t stage) const {
  const std::int64_t base = layers / pipeline_stages;
  const std::int64_t extra = layers % pipeline_stages;
  return stage * base + std::min(stage, extra);
}

std::int64_t ModelCard::parameters() const {
  const std::int64_t kv_width = kv_heads * head_width();
  const std::int64_t attention = width * width * 2 + width * kv_width * 2;  // q, o; k, v
  const std::int64_t mlp =
      width * ffn_width * (activation == ModelActivation::swiglu ? 3 : 2);  // w1 (w3) w2
  const std::int64_t norms = width * (architecture == ModelArchitecture::encoder ? 4 : 2);
  return layers * (attention + mlp + norms) + (lm_head ? width * vocabulary + width : 0);
}

std::string_view model_phase_name(ModelPhase phase) {
  switch (phase) {
    case ModelPhase::prefill:
      return "prefill";
    case ModelPhase::decode:
      return "decode";
    case ModelPhase::encode:
      return "encode";
  }
  return "?";
}

bool looks_like_model_card(std::string_view text) {
  try {
    const toml::table root = parse_toml(text, "");
    return root.contains("model");
  } catch (const InputError&) {
    return false;
  }
}

ModelCard load_model_card_from_string(std::string_view text, const std::string& name_for_errors) {
  const std::string& file = name_for_errors;
  const toml::table root = parse_toml(text, file);
  const TomlReader top(root, "", "at the top level", file, {"model", "parallelism", "run"});
  ModelCard card;
  card.where = SourceLocation{file, 0, 0};

  const TomlReader m(top.required_table("model"), "model", "in [model]", file,
                     {"name", "architecture", "layers", "width", "heads", "kv_heads", "ffn_width",
                      "activation", "vocabulary", "context", "weights", "lm_head"});
  card.name = m.required_string("name");
  if (card.name.empty()) m.fail("name", "the model name must not be empty");
  card.architecture = read_choice<ModelArchitecture>(
      m, "architecture",
      {{"decoder", ModelArchitecture::decoder}, {"encoder", ModelArchitecture::encoder}});
  card.layers = m.required_integer("layers", 1, kMaxLayers);
  card.width = m.required_integer("width", 1, kMaxDim);
  card.heads = m.required_integer("heads", 1, kMaxDim);
  card.kv_heads = m.integer("kv_heads", 1, kMaxDim).value_or(card.heads);
  card.ffn_width = m.required_integer("ffn_width", 1, kMaxDim);
  card.activation = read_choice<ModelActivation>(
      m, "activation", {{"gelu", ModelActivation::gelu}, {"swiglu", ModelActivation::swiglu}});
  card.vocabulary = m.required_integer("vocabulary", 1, kMaxDim);
  card.max_context = m.required_integer("context", 1, kMaxDim);
  card.weights = read_choice<ModelWeights>(
      m, "weights", {{"fp16", ModelWeights::fp16}, {"int8", ModelWeights::int8}},
      ModelWeights::fp16);
  card.lm_head = m.boolean("lm_head").value_or(false);
  if (card.width % card.heads != 0) {
    m.fail("heads", fmt::format("width {} is not a multiple of {} heads", card.width, card.heads));
  }
  if (card.heads % card.kv_heads != 0) {
    m.fail("kv_heads",
           fmt::format("{} heads do not share {} KV heads evenly", card.heads, card.kv_heads));
  }
  if (card.lm_head && card.architecture != ModelArchitecture::decoder) {
    m.fail("lm_head", "an LM head belongs to a decoder; this model is an encoder");
  }

  if (const toml::table* p = top.table("parallelism")) {
    const TomlReader r(*p, "parallelism", "in [parallelism]", file,
                       {"tensor_parallel", "pipeline_stages", "first_tsp"});
    card.tensor_parallel = r.integer("tensor_parallel", 1, kMaxTsps).value_or(1);
    card.pipeline_stages = r.integer("pipeline_stages", 1, kMaxLayers).value_or(1);
    card.first_tsp = r.integer("first_tsp", 0, kMaxTsps).value_or(0);
    const std::int64_t tp = card.tensor_parallel;
    const auto divides = [&](std::int64_t n, std::string_view what) {
      if (n % tp != 0) {
        r.fail("tensor_parallel",
               fmt::format("{} {} do not divide over tensor_parallel = {} TSPs", n, what, tp));
      }
    };
    divides(card.heads, "heads");
    divides(card.kv_heads, "KV heads");
    divides(card.ffn_width, "FFN columns");
    if (card.lm_head) divides(card.vocabulary, "vocabulary entries");
    if (card.pipeline_stages > card.layers) {
      r.fail("pipeline_stages", fmt::format("{} stages for {} layers: every stage needs a layer",
                                            card.pipeline_stages, card.layers));
    }
  }

  const TomlReader r(top.required_table("run"), "run", "in [run]", file,
                     {"phase", "tokens", "context_tokens", "seed"});
  card.phase = read_choice<ModelPhase>(r, "phase",
                                       {{"prefill", ModelPhase::prefill},
                                        {"decode", ModelPhase::decode},
                                        {"encode", ModelPhase::encode}});
  const bool decoder = card.architecture == ModelArchitecture::decoder;
  if (decoder == (card.phase == ModelPhase::encode)) {
    r.fail("phase",
           fmt::format("'{}' needs {}; this model is {}", model_phase_name(card.phase),
                       decoder ? "an encoder" : "a decoder", decoder ? "a decoder" : "an encoder"));
  }
  if (card.phase == ModelPhase::decode) {
    card.tokens = r.integer("tokens", 1, 1).value_or(1);
    card.context_tokens = r.required_integer("context_tokens", 1, card.max_context - 1);
  } else {
    card.tokens = r.required_integer("tokens", 1, card.max_context);
    if (r.has("context_tokens")) {
      r.fail("context_tokens",
             fmt::format("context_tokens belongs to a decode step; this run is a {}",
                         model_phase_name(card.phase)));
    }
  }
  card.seed = static_cast<std::uint64_t>(
      r.integer("seed", 0, std::numeric_limits<std::int64_t>::max()).value_or(0));
  return card;
}

ModelCard load_model_card(const std::filesystem::path& path) {
  return load_model_card_from_string(read_input_file(path, kMaxTextInputBytes, "model card"),
                                     path.string());
}

}  // namespace tspemu
