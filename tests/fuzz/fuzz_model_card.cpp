// libFuzzer target: model cards (model/model_card.hpp) and, for cards small enough to expand in a
// moment, their expansion into a graph on the 8-TSP node (model/expand.hpp: the generated text
// must be a valid graph or a located refusal). Seeds: programs/models/.
#include "fuzz_support.hpp"

#include <filesystem>

#include "model/expand.hpp"
#include "model/model_card.hpp"
#include "topo/loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const tspemu::Topology node =
      tspemu::load_topology(std::filesystem::path(TSPEMU_SOURCE_DIR) / "topologies/node.toml");
  tspemu::fuzz::accept_or_refuse([&] {
    const tspemu::ModelCard card =
        tspemu::load_model_card_from_string(tspemu::fuzz::text_of(data, size), "fuzz.toml");
    // Full-size cards expand in seconds; the fuzzer wants thousands of inputs a second.
    const std::int64_t heads_per_tsp = card.heads / card.tensor_parallel;
    if (card.layers * (heads_per_tsp + 1) > 64 || card.width > 4096 || card.ffn_width > 16384 ||
        card.vocabulary > 65536 || card.tokens * card.tokens > 1 << 16 ||
        card.context_tokens > 4096) {
      return;
    }
    (void)tspemu::expand_model(card, node);
  });
  return 0;
}
