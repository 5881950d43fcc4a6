#include "model/expand.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "compiler/graph_loader.hpp"

namespace tspemu {
namespace {

// The graph's TOML, written tensor by tensor and op by op. Every name is unique: layer tensors
// carry their layer ("l3_wq0"), constants their stage ("s1_eps").
class GraphText {
 public:
  explicit GraphText(const ModelCard& card) : card_(card) {}
  void tensor(const std::string& name, const std::vector<std::int64_t>& shape,
              std::string_view dtype, const std::string& placement, const std::string& init) {
    out_ += fmt::format("[[tensor]]\nname = \"{}\"\nshape = [{}]\ndtype = \"{}\"\n", name,
                        fmt::join(shape, ", "), dtype);
    out_ += fmt::format("placement = {}\ninit = {}\n\n", placement, init);
    ++tensors_;
  }
  // An op; `extra` holds its options as TOML lines.
  std::string op(std::string_view kind, const std::vector<std::string>& inputs,
                 const std::string& output, const std::string& extra = "") {
    // A card is a few lines; its graph grows with layers x heads per TSP. Stop before a card that
    // asks for millions of heads or layers builds gigabytes of text.
    if (ops() >= kMaxExpandedOps) {
      throw InputError(card_.where,
                       fmt::format("model '{}' expands into more than {} graph ops (layers x "
                                   "heads per TSP are too many for one graph)",
                                   card_.name, kMaxExpandedOps));
    }
    std::string list;
    for (const auto& i : inputs) list += (list.empty() ? "\"" : ", \"") + i + "\"";
    out_ += fmt::format("[[op]]\nkind = \"{}\"\ninputs = [{}]\noutput = \"{}\"\n{}\n", kind, list,
                        output, extra);
    op_layers_.push_back(layer_);
    return output;
  }
  void raw(const std::string& text) { out_ += text; }
  // The layer the ops emitted from now on belong to (model/model_record.hpp).
  void set_layer(std::int32_t layer) { layer_ = layer; }
  [[nodiscard]] const std::vector<std::int32_t>& op_layers() const { return op_layers_; }
  [[nodiscard]] const std::string& text() const { return out_; }
  [[nodiscard]] std::int64_t tensors() const { return tensors_; }
  [[nodiscard]] std::int64_t ops() const { return static_cast<std::int64_t>(op_layers_.size()); }

 private:
  std::string out_;
  std::int64_t tensors_ = 0;
  std::int32_t layer_ = kLayerNone;
  std::vector<std::int32_t> op_layers_;
  const ModelCard& card_;
};

std::string uniform(double lo, double hi) {
  return fmt::format("{{recipe = \"uniform\", lo = {}, hi = {}}}", lo, hi);
}
std::string value(double v) {
  return fmt::format("{{values = [{}]}}", v);
}

class Expander {
 public:
  explicit Expander(const ModelCard& card) : c_(card), g_(card) {}

  std::string run(ModelGraphSummary* summary) {
    g_.raw(fmt::format(
        "# Expanded from model card '{}' by tspemu (model/expand.hpp): {} {} layers, width {}, "
        "{} heads ({} KV), FFN {}, {}, {} weights; {} stage(s) x {} TSP(s); {}, {} token(s){}.\n\n",
        c_.name, c_.layers, c_.architecture == ModelArchitecture::decoder ? "decoder" : "encoder",
        c_.width, c_.heads, c_.kv_heads, c_.ffn_width,
        c_.activation == ModelActivation::gelu ? "GELU" : "SwiGLU", int8() ? "int8" : "fp16",
        c_.pipeline_stages, c_.tensor_parallel, model_phase_name(c_.phase), c_.tokens,
        decode() ? fmt::format(", KV cache of {} tokens", c_.context_tokens) : ""));
    g_.raw(fmt::format("[graph]\nname = \"{}_{}\"\nseed = {}\n\n", c_.name,
                       model_phase_name(c_.phase), c_.seed));
    std::string x = "x";
    g_.tensor(x, {c_.tokens, c_.width}, "fp32", replicated(0), uniform(-1.0, 1.0));
    for (std::int64_t s = 0; s < c_.pipeline_stages; ++s) {
      constants(s);
      const std::int64_t end = s + 1 < c_.pipeline_stages ? c_.stage_first_layer(s + 1) : c_.layers;
      for (std::int64_t l = c_.stage_first_layer(s); l < end; ++l) {
        g_.set_layer(static_cast<std::int32_t>(l));
        x = layer(s, l, x);
      }
      g_.set_layer(kLayerLmHead);
      if (c_.lm_head && s + 1 == c_.pipeline_stages) x = lm_head(x);
      g_.set_layer(kLayerNone);
      max_stage_bytes_ = std::max(max_stage_bytes_, stage_bytes_);
      if (s + 1 < c_.pipeline_stages) {
        x = g_.op(
            "broadcast", {x}, fmt::format("s{}_in", s + 1),
            fmt::format("to = \"{}..{}\"\n", tsp(s + 1, 0), tsp(s + 1, c_.tensor_parallel - 1)));
      }
    }
    g_.raw(fmt::format("[outputs]\nnames = [\"{}\"]\n", x));
    if (summary != nullptr) {
      summary->tsps = c_.tsps();
      summary->tensors = g_.tensors();
      summary->ops = g_.ops();
      summary->parameters = c_.parameters();
      summary->weight_bytes_per_tsp = max_stage_bytes_;
      summary->op_layers = g_.op_layers();
    }
    return g_.text();
  }

 private:
  [[nodiscard]] bool int8() const { return c_.weights == ModelWeights::int8; }
  [[nodiscard]] bool decode() const { return c_.phase == ModelPhase::decode; }
  [[nodiscard]] bool decoder() const { return c_.architecture == ModelArchitecture::decoder; }
  [[nodiscard]] std::int64_t tp() const { return c_.tensor_parallel; }
  [[nodiscard]] std::int64_t dh() const { return c_.head_width(); }
  [[nodiscard]] std::int64_t tsp(std::int64_t stage, std::int64_t i) const {
    return c_.first_tsp + stage * tp() + i;
  }
  [[nodiscard]] std::string group(std::int64_t stage) const {
    return fmt::format("tsps = \"{}..{}\"", tsp(stage, 0), tsp(stage, tp() - 1));
  }
  [[nodiscard]] std::string replicated(std::int64_t stage) const {
    return "{" + group(stage) + "}";
  }
  [[nodiscard]] std::string split(std::int64_t stage, int axis) const {
    return fmt::format("{{{}, split_axis = {}}}", group(stage), axis);
  }
  [[nodiscard]] std::string weight_dtype() const { return int8() ? "int8" : "fp16"; }

  // A weight [rows, columns] split along `axis` over the stage's TSPs, values ~ 1/sqrt(fan_in).
  std::string weight(std::int64_t stage, const std::string& name, std::int64_t rows,
                     std::int64_t columns, int axis) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(rows));
    g_.tensor(name, {rows, columns}, weight_dtype(), split(stage, axis),
              int8() ? uniform(-127, 127) : uniform(-bound, bound));
    stage_bytes_ += rows * columns * (int8() ? 1 : 2) / tp();
    return name;
  }

  // Per-stage constants (every stage's TSPs hold their own copies).
  void constants(std::int64_t s) {
    stage_bytes_ = 0;
    const std::string p = replicated(s);
    const auto c = [&](const std::string& name, std::string_view dtype, double v) {
      g_.tensor(fmt::format("s{}_{}", s, name), {1, 1}, dtype, p, value(v));
    };
    c("inv_width", "fp32", 1.0 / static_cast<double>(c_.width));
    c("eps", "fp32", decoder() ? 1e-5 : 1e-12);
    c("score_scale", "fp32", 1.0 / std::sqrt(static_cast<double>(dh())));
    c("half32", "fp32", 0.5);
    c("gelu_cubic", "fp16", 0.044715);
    c("gelu_scale", "fp16", 0.7978845608);
    c("one", "fp16", 1.0);
    c("half", "fp16", 0.5);
    if (int8()) {
      // Activations: |x| up to 4 maps onto the int8 range (larger values saturate); weights are
      // integers in [-127, 127] standing for w / (127 sqrt(fan_in)).
      c("act_quant", "fp32", 127.0 / 4.0);
    }
    if (decoder() && !decode() && c_.tokens > 1) {
      std::string mask = "{values = [";
      for (std::int64_t i = 0; i < c_.tokens; ++i) {
        for (std::int64_t j = 0; j < c_.tokens; ++j) mask += j <= i ? "0, " : "-inf, ";
        mask += "\n";
      }
      mask += "]}";
      g_.tensor(fmt::format("s{}_causal_mask", s), {c_.tokens, c_.tokens}, "fp32", p, mask);
    }
  }

  // The MXM's input from an fp32 tensor: cast to fp16, or quantised to int8.
  std::string mxm_input(std::int64_t s, const std::string& x32) {
    if (!int8()) return g_.op("cast", {x32}, x32 + "_h", "dtype = \"fp16\"\n");
    const std::string scaled = g_.op("mul", {x32, fmt::format("s{}_act_quant", s)}, x32 + "_qs");
    return g_.op("cast", {scaled}, x32 + "_q", "dtype = \"int8\"\n");
  }
  // x (fp32) times a weight, the result in fp32.
  std::string project(std::int64_t s, const std::string& in, const std::string& w,
                      const std::string& out, std::int64_t fan_in) {
    if (!int8()) return g_.op("matmul", {in, w}, out);
    const std::string acc = g_.op("matmul", {in, w}, out + "_i32");
    const std::string f = g_.op("cast", {acc}, out + "_f32", "dtype = \"fp32\"\n");
    // (4 / 127) for the activation, 1 / (127 sqrt(fan_in)) for the weight.
    const std::string scale = out + "_dq";
    g_.tensor(scale, {1, 1}, "fp32", replicated(s),
              value(4.0 / 127.0 / (127.0 * std::sqrt(static_cast<double>(fan_in)))));
    return g_.op("mul", {f, scale}, out);
  }

  std::string rms_norm(std::int64_t s, const std::string& x, const std::string& gamma,
                       const std::string& p) {
    const std::string sq = g_.op("mul", {x, x}, p + "_sq");
    const std::string sum = g_.op("reduce", {sq}, p + "_sqsum", "op = \"sum\"\naxis = 1\n");
    const std::string ms = g_.op("mul", {sum, fmt::format("s{}_inv_width", s)}, p + "_ms");
    const std::string mse = g_.op("add", {ms, fmt::format("s{}_eps", s)}, p + "_mse");
    const std::string inv = g_.op("rsqrt", {mse}, p + "_inv");
    const std::string n = g_.op("mul", {x, inv}, p + "_n");
    return g_.op("mul", {n, gamma}, p);
  }

  std::string layer_norm(std::int64_t s, const std::string& x, const std::string& gamma,
                         const std::string& beta, const std::string& p) {
    const std::string sum = g_.op("reduce", {x}, p + "_sum", "op = \"sum\"\naxis = 1\n");
    const std::string mean = g_.op("mul", {sum, fmt::format("s{}_inv_width", s)}, p + "_mean");
    const std::string xc = g_.op("sub", {x, mean}, p + "_c");
    const std::string sq = g_.op("mul", {xc, xc}, p + "_sq");
    const std::string vs = g_.op("reduce", {sq}, p + "_vsum", "op = \"sum\"\naxis = 1\n");
    const std::string var = g_.op("mul", {vs, fmt::format("s{}_inv_width", s)}, p + "_var");
    const std::string ve = g_.op("add", {var, fmt::format("s{}_eps", s)}, p + "_ve");
    const std::string inv = g_.op("rsqrt", {ve}, p + "_inv");
    const std::string n = g_.op("mul", {xc, inv}, p + "_n");
    const std::string scaled = g_.op("mul", {n, gamma}, p + "_g");
    return g_.op("add", {scaled, beta}, p);
  }

  // Softmax along axis 1 of an fp32 tensor, as fp16 (docs/graph-format.md, "Softmax without a
  // divide": 1 / sum = rsqrt(sum)^2).
  std::string softmax16(const std::string& x, const std::string& p) {
    const std::string mx = g_.op("reduce", {x}, p + "_max", "op = \"max\"\naxis = 1\n");
    const std::string sh = g_.op("sub", {x, mx}, p + "_sh");
    const std::string e = g_.op("exp", {sh}, p + "_e");
    const std::string sum = g_.op("reduce", {e}, p + "_esum", "op = \"sum\"\naxis = 1\n");
    const std::string r = g_.op("rsqrt", {sum}, p + "_r");
    const std::string inv = g_.op("mul", {r, r}, p + "_rinv");
    const std::string pr = g_.op("mul", {e, inv}, p + "_p");
    return g_.op("cast", {pr}, p + "_p16", "dtype = \"fp16\"\n");
  }

  std::string attention(std::int64_t s, std::int64_t l, const std::string& xn) {
    const std::string L = fmt::format("l{}", l);
    const std::int64_t qg = c_.heads / tp();      // query heads per TSP
    const std::int64_t kvg = c_.kv_heads / tp();  // KV heads per TSP
    const std::string in = mxm_input(s, xn);
    std::vector<std::string> k16t(static_cast<std::size_t>(kvg));
    std::vector<std::string> v16(static_cast<std::size_t>(kvg));
    std::vector<std::string> kcache(static_cast<std::size_t>(kvg));
    std::vector<std::string> vcache(static_cast<std::size_t>(kvg));
    for (std::int64_t g = 0; g < kvg; ++g) {
      const auto gi = static_cast<std::size_t>(g);
      const std::string wk = weight(s, fmt::format("{}_wk{}", L, g), c_.width, dh() * tp(), 1);
      const std::string wv = weight(s, fmt::format("{}_wv{}", L, g), c_.width, dh() * tp(), 1);
      const std::string k = project(s, in, wk, fmt::format("{}_k{}", L, g), c_.width);
      const std::string v = project(s, in, wv, fmt::format("{}_v{}", L, g), c_.width);
      const std::string k16 = g_.op("cast", {k}, k + "_h", "dtype = \"fp16\"\n");
      k16t[gi] = g_.op("transpose", {k16}, k + "_t");
      v16[gi] = g_.op("cast", {v}, v + "_h", "dtype = \"fp16\"\n");
      if (decode()) {
        kcache[gi] = fmt::format("{}_kcache{}", L, g);
        vcache[gi] = fmt::format("{}_vcache{}", L, g);
        g_.tensor(kcache[gi], {dh() * tp(), c_.context_tokens}, "fp16", split(s, 0),
                  uniform(-1.0, 1.0));
        g_.tensor(vcache[gi], {c_.context_tokens, dh() * tp()}, "fp16", split(s, 1),
                  uniform(-1.0, 1.0));
        stage_bytes_ += 2 * dh() * c_.context_tokens * 2;
      }
    }
    std::string heads_sum;  // the partial output projections of this TSP's heads
    for (std::int64_t j = 0; j < qg; ++j) {
      const auto g = static_cast<std::size_t>(j * kvg / qg);  // the KV head query head j reads
      const std::string H = fmt::format("{}_h{}", L, j);
      const std::string wq = weight(s, fmt::format("{}_wq{}", L, j), c_.width, dh() * tp(), 1);
      const std::string wo = weight(s, fmt::format("{}_wo{}", L, j), dh() * tp(), c_.width, 0);
      const std::string q = project(s, in, wq, H + "_q", c_.width);
      const std::string q16 = g_.op("cast", {q}, H + "_qh", "dtype = \"fp16\"\n");
      std::string o;
      const std::string scale = fmt::format("s{}_score_scale", s);
      if (decode()) {
        // Softmax over the cache's scores and the new token's, without concatenating them (a
        // concatenation along lanes would move elements between lanes): one maximum, one sum.
        const std::string sc = g_.op("matmul", {q16, kcache[g]}, H + "_sc");
        const std::string sn = g_.op("matmul", {q16, k16t[g]}, H + "_sn");
        const std::string scs = g_.op("mul", {sc, scale}, H + "_scs");
        const std::string sns = g_.op("mul", {sn, scale}, H + "_sns");
        const std::string mc = g_.op("reduce", {scs}, H + "_mc", "op = \"max\"\naxis = 1\n");
        const std::string m = g_.op("max", {mc, sns}, H + "_m");
        const std::string ec = g_.op("exp", {g_.op("sub", {scs, m}, H + "_dc")}, H + "_ec");
        const std::string en = g_.op("exp", {g_.op("sub", {sns, m}, H + "_dn")}, H + "_en");
        const std::string sumc = g_.op("reduce", {ec}, H + "_sumc", "op = \"sum\"\naxis = 1\n");
        const std::string sum = g_.op("add", {sumc, en}, H + "_sum");
        const std::string r = g_.op("rsqrt", {sum}, H + "_r");
        const std::string inv = g_.op("mul", {r, r}, H + "_inv");
        const std::string pc =
            g_.op("cast", {g_.op("mul", {ec, inv}, H + "_pc32")}, H + "_pc", "dtype = \"fp16\"\n");
        const std::string pn =
            g_.op("cast", {g_.op("mul", {en, inv}, H + "_pn32")}, H + "_pn", "dtype = \"fp16\"\n");
        const std::string oc = g_.op("matmul", {pc, vcache[g]}, H + "_oc");
        const std::string on = g_.op("matmul", {pn, v16[g]}, H + "_on");
        o = g_.op("add", {oc, on}, H + "_o");
      } else {
        const std::string scores = g_.op("matmul", {q16, k16t[g]}, H + "_s");
        std::string scaled = g_.op("mul", {scores, scale}, H + "_ss");
        if (decoder() && c_.tokens > 1) {
          scaled = g_.op("add", {scaled, fmt::format("s{}_causal_mask", s)}, H + "_sm");
        }
        o = g_.op("matmul", {softmax16(scaled, H + "_a"), v16[g]}, H + "_o");
      }
      const std::string part = project(s, mxm_input(s, o), wo, H + "_out", dh());
      heads_sum = heads_sum.empty() ? part : g_.op("add", {heads_sum, part}, H + "_acc");
    }
    return g_.op("all_reduce", {heads_sum}, L + "_attn");
  }

  std::string mlp(std::int64_t s, std::int64_t l, const std::string& xn) {
    const std::string L = fmt::format("l{}", l);
    const std::string in = mxm_input(s, xn);
    const std::string w1 = weight(s, L + "_w1", c_.width, c_.ffn_width, 1);
    const std::string u = project(s, in, w1, L + "_u", c_.width);
    std::string mx;  // the second matmul's input
    if (c_.activation == ModelActivation::gelu) {
      // 0.5 u (1 + tanh(sqrt(2/pi) (u + 0.044715 u^3))) in fp16, as decoder_layer.toml
      const std::string P = fmt::format("s{}_", s);
      const std::string u16 = g_.op("cast", {u}, L + "_uh", "dtype = \"fp16\"\n");
      const std::string u2 = g_.op("mul", {u16, u16}, L + "_gelu_u2");
      const std::string u3 = g_.op("mul", {u2, u16}, L + "_gelu_u3");
      const std::string cu = g_.op("mul", {u3, P + "gelu_cubic"}, L + "_gelu_cu");
      const std::string in2 = g_.op("add", {u16, cu}, L + "_gelu_in");
      const std::string sc = g_.op("mul", {in2, P + "gelu_scale"}, L + "_gelu_sc");
      const std::string t = g_.op("tanh", {sc}, L + "_gelu_t");
      const std::string t1 = g_.op("add", {t, P + "one"}, L + "_gelu_t1");
      const std::string hu = g_.op("mul", {u16, P + "half"}, L + "_gelu_hu");
      const std::string g16 = g_.op("mul", {hu, t1}, L + "_gelu");
      mx = int8() ? mxm_input(s, g_.op("cast", {g16}, L + "_gelu32", "dtype = \"fp32\"\n")) : g16;
    } else {
      // silu(u) * (x W3), silu(u) = u sigmoid(u), sigmoid(u) = 0.5 + 0.5 tanh(0.5 u), in fp32
      const std::string w3 = weight(s, L + "_w3", c_.width, c_.ffn_width, 1);
      const std::string b = project(s, in, w3, L + "_b", c_.width);
      const std::string half = fmt::format("s{}_half32", s);
      const std::string hu = g_.op("mul", {u, half}, L + "_su");
      const std::string t = g_.op("tanh", {hu}, L + "_st");
      const std::string ht = g_.op("mul", {t, half}, L + "_sth");
      const std::string sig = g_.op("add", {ht, half}, L + "_sig");
      const std::string silu = g_.op("mul", {u, sig}, L + "_silu");
      mx = mxm_input(s, g_.op("mul", {silu, b}, L + "_gate"));
    }
    const std::string w2 = weight(s, L + "_w2", c_.ffn_width, c_.width, 0);
    const std::string y = project(s, mx, w2, L + "_mlp_part", c_.ffn_width);
    return g_.op("all_reduce", {y}, L + "_mlp");
  }

  std::string norm_params(std::int64_t s, const std::string& name, double lo, double hi) {
    g_.tensor(name, {1, c_.width}, "fp32", replicated(s), uniform(lo, hi));
    return name;
  }

  std::string layer(std::int64_t s, std::int64_t l, const std::string& x) {
    const std::string L = fmt::format("l{}", l);
    if (decoder()) {
      const std::string g1 = norm_params(s, L + "_norm1_g", 0.5, 1.5);
      const std::string g2 = norm_params(s, L + "_norm2_g", 0.5, 1.5);
      const std::string xn = rms_norm(s, x, g1, L + "_xn");
      const std::string h = g_.op("add", {x, attention(s, l, xn)}, L + "_h");
      const std::string hn = rms_norm(s, h, g2, L + "_hn");
      return g_.op("add", {h, mlp(s, l, hn)}, L + "_y");
    }
    const std::string g1 = norm_params(s, L + "_norm1_g", 0.5, 1.5);
    const std::string b1 = norm_params(s, L + "_norm1_b", -0.1, 0.1);
    const std::string g2 = norm_params(s, L + "_norm2_g", 0.5, 1.5);
    const std::string b2 = norm_params(s, L + "_norm2_b", -0.1, 0.1);
    const std::string r1 = g_.op("add", {x, attention(s, l, x)}, L + "_r1");
    const std::string h = layer_norm(s, r1, g1, b1, L + "_h");
    const std::string r2 = g_.op("add", {h, mlp(s, l, h)}, L + "_r2");
    return layer_norm(s, r2, g2, b2, L + "_y");
  }

  std::string lm_head(const std::string& x) {
    const std::int64_t s = c_.pipeline_stages - 1;
    const std::string g = norm_params(s, "final_g", 0.5, 1.5);
    const std::string xn = rms_norm(s, x, g, "final_n");
    const std::string w = weight(s, "lm_head", c_.width, c_.vocabulary, 1);
    return project(s, mxm_input(s, xn), w, "logits", c_.width);
  }

  const ModelCard& c_;
  GraphText g_;
  std::int64_t stage_bytes_ = 0;
  std::int64_t max_stage_bytes_ = 0;
};

}  // namespace

std::string model_graph_toml(const ModelCard& card, ModelGraphSummary* summary) {
  return Expander(card).run(summary);
}

ModelRecord model_record(const ModelCard& card, const ModelGraphSummary& summary) {
  ModelRecord r;
  r.name = card.name;
  r.architecture = card.architecture;
  r.phase = card.phase;
  r.layers = card.layers;
  r.tokens = card.tokens;
  r.context_tokens = card.context_tokens;
  r.tensor_parallel = card.tensor_parallel;
  r.pipeline_stages = card.pipeline_stages;
  r.parameters = card.parameters();
  r.op_layers = summary.op_layers;
  return r;
}

Graph expand_model(const ModelCard& card, const Topology& topology, ModelGraphSummary* summary,
                   std::string* toml) {
  const std::int64_t last = card.first_tsp + card.tsps() - 1;
  if (last >= static_cast<std::int64_t>(topology.tsp_count())) {
    throw InputError(card.where,
                     fmt::format("model '{}' needs TSPs {}..{} ({} stage(s) x {}), but topology "
                                 "'{}' has TSPs 0..{}",
                                 card.name, card.first_tsp, last, card.pipeline_stages,
                                 card.tensor_parallel, topology.name(), topology.tsp_count() - 1));
  }
  std::string text = model_graph_toml(card, summary);
  Graph graph = load_graph_from_string(text, card.where.file + " (expanded)", topology);
  if (toml != nullptr) *toml = std::move(text);
  return graph;
}

}  // namespace tspemu
