#include "compiler/graph_loader.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

#include "common/error.hpp"
#include "common/input_file.hpp"
#include "common/numerics/half.hpp"
#include "common/toml_reader.hpp"
#include "isa/data_init.hpp"
#include "isa/op_table.hpp"

namespace tspemu {
namespace {

bool is_identifier(std::string_view name) {
  if (name.empty()) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (!alpha(name[0])) return false;
  return std::all_of(name.begin(), name.end(), [&](char c) { return alpha(c) || digit(c); });
}

std::string dtype_list(std::initializer_list<DType> types) {
  std::string out;
  for (DType t : types) {
    if (!out.empty()) out += ", ";
    out += graph_dtype_name(t);
  }
  return out;
}

std::string stem_of(const std::string& file) {
  std::string stem = std::filesystem::path(file).stem().string();
  return stem.empty() ? std::string("graph") : stem;
}

// Elements of a shape of up to 4 dimensions of up to 2^24 each, or -1 beyond 2^40 (the product
// itself could overflow int64; no TSP holds 2^40 elements anyway).
std::int64_t bounded_elements(const Shape& shape) {
  constexpr std::int64_t kLimit = std::int64_t{1} << 40;
  std::int64_t n = 1;
  for (std::int64_t d : shape) {
    if (n > kLimit / d) return -1;
    n *= d;
  }
  return n;
}

std::string mib(std::int64_t bytes) {
  return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
}

// The shape each TSP holds, and how the TSPs' values form the logical tensor.
struct Typed {
  DType dtype = DType::f32;
  Shape local;
  Placement placement;
};

class GraphLoader {
 public:
  GraphLoader(const std::string& file, const Topology& topology, std::filesystem::path base_dir)
      : file_(file), topology_(topology), base_dir_(std::move(base_dir)) {}

  Graph load(const toml::table& root) {
    const TomlReader top(root, "", "at the top level", file_, {"graph", "tensor", "op", "outputs"});
    graph_.source_name = file_;
    graph_.topology_tsps = topology_.tsp_count();
    read_graph_table(top);
    read_tensors(top);
    read_ops(top);
    read_outputs(top);
    return std::move(graph_);
  }

 private:
  // ---- [graph] ----

  void read_graph_table(const TomlReader& top) {
    graph_.name = stem_of(file_);
    const toml::table* table = top.table("graph");
    if (table == nullptr) return;
    const TomlReader r(*table, "graph", "in [graph]", file_,
                       {"name", "description", "topology", "seed"});
    if (auto name = r.string("name")) {
      if (name->empty()) r.fail("name", "the graph name must not be empty");
      graph_.name = *name;
    }
    graph_.description = r.string("description").value_or("");
    graph_.topology_hint = r.string("topology").value_or("");
    graph_.seed = static_cast<std::uint64_t>(
        r.integer("seed", 0, std::numeric_limits<std::int64_t>::max()).value_or(0));
  }

  // ---- TSP lists and placements ----

  [[noreturn]] void fail_tsp(const TomlReader& r, std::string_view key, std::int64_t element,
                             std::int64_t tsp) const {
    const std::string message = fmt::format("tsp {} is not in topology '{}' (TSPs 0..{})", tsp,
                                            topology_.name(), topology_.tsp_count() - 1);
    if (element < 0) r.fail(key, message);
    r.fail_element(key, static_cast<std::size_t>(element), message);
  }

  std::vector<TspId> tsp_list(const TomlReader& r, std::string_view key) const {
    const auto count = static_cast<std::int64_t>(topology_.tsp_count());
    const toml::node* node = r.get(key);
    std::vector<TspId> out;
    if (const auto* text = node->as_string()) {
      // "first..last", inclusive.
      const std::string& s = text->get();
      const std::size_t dots = s.find("..");
      std::int64_t first = -1;
      std::int64_t last = -1;
      auto parse = [](std::string_view part, std::int64_t& value) {
        if (part.empty() || part.size() > 9) return false;
        value = 0;
        for (char c : part) {
          if (c < '0' || c > '9') return false;
          value = value * 10 + (c - '0');
        }
        return true;
      };
      if (dots == std::string::npos || !parse(std::string_view(s).substr(0, dots), first) ||
          !parse(std::string_view(s).substr(dots + 2), last)) {
        r.fail(key, fmt::format("expected an array of TSP ids or a range \"first..last\", got "
                                "\"{}\"",
                                s));
      }
      if (first > last) r.fail(key, fmt::format("empty TSP range \"{}\" (first > last)", s));
      if (last >= count) fail_tsp(r, key, -1, last);
      for (std::int64_t t = first; t <= last; ++t) out.emplace_back(static_cast<std::int32_t>(t));
      return out;
    }
    const auto* array = node->as_array();
    if (array == nullptr) {
      r.wrong_type(key, "an array of TSP ids or a range \"first..last\"");
    }
    if (array->empty()) r.fail(key, "expected at least one TSP");
    for (std::size_t i = 0; i < array->size(); ++i) {
      const auto* v = (*array)[i].as_integer();
      if (v == nullptr) {
        r.fail_element(key, i,
                       fmt::format("expected an integer, got {}", toml_type_name((*array)[i])));
      }
      const std::int64_t t = v->get();
      if (t < 0 || t >= count) fail_tsp(r, key, static_cast<std::int64_t>(i), t);
      if (!out.empty() && t <= out.back().value) {
        r.fail_element(
            key, i,
            fmt::format("TSP ids must be strictly ascending ({} after {})", t, out.back().value));
      }
      out.emplace_back(static_cast<std::int32_t>(t));
    }
    return out;
  }

  // A placement table. `shape` is the logical shape it is checked against.
  Placement read_placement(const toml::table& table, const std::string& path,
                           const Shape& shape) const {
    const TomlReader r(table, path, "in " + path, file_,
                       {"tsp", "tsps", "node", "rack", "split_axis", "per_tsp"});
    Placement p;
    std::vector<std::string_view> given;
    for (std::string_view key : {"tsp", "tsps", "node", "rack"}) {
      if (r.has(key)) given.push_back(key);
    }
    if (given.empty()) r.fail_table("a placement needs one of tsp, tsps, node, rack");
    if (given.size() > 1) {
      // Report the one that comes later in the file.
      std::string_view later = given[1];
      std::string_view earlier = given[0];
      const auto& a = r.get(given[0])->source().begin;
      const auto& b = r.get(given[1])->source().begin;
      if (std::tie(a.line, a.column) > std::tie(b.line, b.column)) std::swap(later, earlier);
      r.fail(later, fmt::format("'{}' cannot be combined with '{}': give one of tsp, tsps, node, "
                                "rack",
                                later, earlier));
    }
    const std::string_view how = given[0];
    if (how == "tsp") {
      const auto t = *r.integer("tsp", std::numeric_limits<std::int64_t>::min(),
                                std::numeric_limits<std::int64_t>::max());
      if (t < 0 || t >= static_cast<std::int64_t>(topology_.tsp_count())) fail_tsp(r, "tsp", -1, t);
      p.tsps.emplace_back(static_cast<std::int32_t>(t));
    } else if (how == "tsps") {
      p.tsps = tsp_list(r, "tsps");
    } else if (how == "node") {
      const auto n = *r.integer("node", 0, std::numeric_limits<std::int64_t>::max());
      if (n >= static_cast<std::int64_t>(topology_.node_count())) {
        r.fail("node", fmt::format("node {} is not in topology '{}' (nodes 0..{})", n,
                                   topology_.name(), topology_.node_count() - 1));
      }
      p.tsps = topology_.node(NodeId(static_cast<std::int32_t>(n))).tsps;
    } else {
      const auto k = *r.integer("rack", 0, std::numeric_limits<std::int64_t>::max());
      if (k >= static_cast<std::int64_t>(topology_.rack_count())) {
        r.fail("rack", fmt::format("rack {} is not in topology '{}' (racks 0..{})", k,
                                   topology_.name(), topology_.rack_count() - 1));
      }
      for (NodeId n : topology_.rack(RackId(static_cast<std::int32_t>(k))).nodes) {
        const auto& tsps = topology_.node(n).tsps;
        p.tsps.insert(p.tsps.end(), tsps.begin(), tsps.end());
      }
      std::sort(p.tsps.begin(), p.tsps.end());
    }
    const bool per_tsp = r.boolean("per_tsp").value_or(false);
    if (r.has("split_axis")) {
      if (per_tsp) r.fail("split_axis", "'split_axis' cannot be combined with per_tsp = true");
      if (how == "tsp") {
        r.fail("split_axis", "'split_axis' needs a set of TSPs (tsps, node or rack), not one tsp");
      }
      const auto axis = *r.integer("split_axis", 0, static_cast<std::int64_t>(shape.size()) - 1);
      const auto n = static_cast<std::int64_t>(p.tsps.size());
      const std::int64_t dim = shape[static_cast<std::size_t>(axis)];
      if (dim % n != 0) {
        r.fail("split_axis",
               fmt::format("dimension {} ({}) of shape {} is not divisible by the {} TSPs it is "
                           "split over",
                           axis, dim, format_shape(shape), n));
      }
      p.kind = Placement::Kind::split;
      p.split_axis = static_cast<std::int32_t>(axis);
    } else if (per_tsp) {
      if (how == "tsp") {
        r.fail("per_tsp", "per_tsp = true needs a set of TSPs (tsps, node or rack), not one tsp");
      }
      p.kind = Placement::Kind::per_tsp;
    }
    return p;
  }

  // ---- [[tensor]] ----

  void check_fits(const Tensor& t, const TomlReader& r, std::string_view key) const {
    const std::int64_t sram = topology_.chip().sram_bytes();
    if (t.local_bytes() > sram) {
      r.fail(key, fmt::format("tensor '{}' needs {} on each TSP, more than the {} of SRAM a TSP "
                              "has",
                              t.name, mib(t.local_bytes()), mib(sram)));
    }
  }

  void read_tensors(const TomlReader& top) {
    const toml::array* tables = top.array_of_tables("tensor");
    if (tables == nullptr) return;
    for (std::size_t i = 0; i < tables->size(); ++i) {
      const std::string path = fmt::format("tensor[{}]", i);
      const TomlReader r(*(*tables)[i].as_table(), path, "in " + path, file_,
                         {"name", "shape", "dtype", "placement", "init"});
      Tensor t;
      t.declared = true;
      t.where = r.where();
      t.name = r.required_string("name");
      if (!is_identifier(t.name)) {
        r.fail("name", fmt::format("tensor name '{}' is not an identifier (letters, digits and "
                                   "'_', not starting with a digit)",
                                   t.name));
      }
      if (const std::int32_t other = graph_.find_tensor(t.name); other >= 0) {
        r.fail("name", fmt::format("duplicate tensor name '{}' (first declared at {})", t.name,
                                   graph_.tensor(other).where.to_string()));
      }
      t.shape = r.integer_array("shape", 1, kMaxTensorDim, kMaxTensorRank);
      if (bounded_elements(t.shape) < 0) {
        r.fail("shape", fmt::format("shape {} has more than 2^40 elements", format_shape(t.shape)));
      }
      const std::string dtype = r.required_string("dtype");
      const auto parsed = parse_graph_dtype(dtype);
      if (!parsed) {
        r.fail("dtype", fmt::format("unknown dtype '{}' (int8, int16, int32, fp16, fp32)", dtype));
      }
      t.dtype = *parsed;
      const bool has_placement = r.has("placement");
      if (has_placement) {
        t.placement = read_placement(*r.table("placement"), path + ".placement", t.shape);
        check_fits(t, r, "placement");
      }
      if (const toml::table* init = r.table("init")) {
        if (!has_placement) {
          r.fail_table(
              fmt::format("missing required key 'placement' in {} (a tensor with init "
                          "data needs one)",
                          path));
        }
        t.init = read_init(*init, path + ".init", t, i);
      }
      declared_placement_.push_back(has_placement);
      graph_.tensors.push_back(std::move(t));
    }
  }

  // ---- init ----

  // Bit pattern of one element value for `values = [...]`.
  std::uint64_t value_bits(const TomlReader& r, std::size_t element, const toml::node& node,
                           DType dtype) const {
    if (is_integer(dtype)) {
      const auto* v = node.as_integer();
      if (v == nullptr) {
        r.fail_element("values", element,
                       fmt::format("expected an integer for {}, got {}", graph_dtype_name(dtype),
                                   toml_type_name(node)));
      }
      const int bits = 8 * dtype_bytes(dtype);
      const std::int64_t lo = -(std::int64_t{1} << (bits - 1));
      const std::int64_t hi = (std::int64_t{1} << (bits - 1)) - 1;
      if (v->get() < lo || v->get() > hi) {
        r.fail_element("values", element,
                       fmt::format("value {} is out of range [{}, {}] for {}", v->get(), lo, hi,
                                   graph_dtype_name(dtype)));
      }
      return static_cast<std::uint64_t>(v->get()) & ((std::uint64_t{1} << bits) - 1);
    }
    double value = 0.0;
    if (const auto* f = node.as_floating_point()) {
      value = f->get();
    } else if (const auto* i = node.as_integer()) {
      constexpr std::int64_t kExact = std::int64_t{1} << 53;
      if (i->get() > kExact || i->get() < -kExact) {
        r.fail_element(
            "values", element,
            fmt::format("integer {} is not exact as a double: write it as a float", i->get()));
      }
      value = static_cast<double>(i->get());
    } else {
      r.fail_element("values", element,
                     fmt::format("expected a number for {}, got {}", graph_dtype_name(dtype),
                                 toml_type_name(node)));
    }
    if (dtype == DType::f16) return double_to_half(value).bits;
    return std::bit_cast<std::uint32_t>(double_to_float(value));
  }

  DataInit read_init(const toml::table& table, const std::string& path, Tensor& t,
                     std::size_t tensor_index) const {
    const TomlReader r(table, path, "in " + path, file_,
                       {"recipe", "seed", "lo", "hi", "values", "bits", "file"});
    std::vector<std::string_view> given;
    for (std::string_view key : {"recipe", "values", "bits", "file"}) {
      if (r.has(key)) given.push_back(key);
    }
    if (given.size() != 1) {
      r.fail_table("init needs exactly one of recipe, values, bits, file");
    }
    const std::string_view how = given[0];
    if (how != "recipe") {
      for (std::string_view key : {"seed", "lo", "hi"}) {
        if (r.has(key)) r.fail(key, fmt::format("'{}' belongs to recipe = \"uniform\"", key));
      }
    }
    const auto element_bytes = static_cast<std::size_t>(dtype_bytes(t.dtype));
    std::int64_t count = t.elements();
    std::string what = fmt::format("{} {}", format_shape(t.shape), graph_dtype_name(t.dtype));
    if (t.placement.kind == Placement::Kind::per_tsp) {
      count *= static_cast<std::int64_t>(t.placement.tsps.size());
      what = fmt::format("{} TSPs x {} {}", t.placement.tsps.size(), format_shape(t.shape),
                         graph_dtype_name(t.dtype));
    }
    DataInit init;
    if (how == "recipe") {
      const std::string recipe = r.required_string("recipe");
      if (recipe == "zero") {
        for (std::string_view key : {"seed", "lo", "hi"}) {
          if (r.has(key)) r.fail(key, fmt::format("'{}' belongs to recipe = \"uniform\"", key));
        }
        init.kind = DataInit::Kind::zero;
        return init;
      }
      if (recipe != "uniform") {
        r.fail("recipe", fmt::format("unknown recipe '{}' (uniform, zero)", recipe));
      }
      init.kind = DataInit::Kind::seeded_uniform;
      if (r.has("seed")) {
        init.seed = static_cast<std::uint64_t>(
            *r.integer("seed", 0, std::numeric_limits<std::int64_t>::max()));
      } else {
        init.seed = splitmix64_at(graph_.seed, tensor_index);
      }
      read_bounds(r, t.dtype, init);
      return init;
    }
    if (how == "values" || how == "bits") {
      const toml::array& values = r.required_array(how);
      if (static_cast<std::int64_t>(values.size()) != count) {
        r.fail(how, fmt::format("expected {} {} for {}, got {}", count,
                                how == "values" ? "values" : "bit patterns", what, values.size()));
      }
      init.kind = DataInit::Kind::literal;
      init.bytes.resize(values.size() * element_bytes);
      for (std::size_t i = 0; i < values.size(); ++i) {
        std::uint64_t bits = 0;
        if (how == "values") {
          bits = value_bits(r, i, values[i], t.dtype);
        } else {
          const auto* v = values[i].as_integer();
          if (v == nullptr) {
            r.fail_element(
                "bits", i,
                fmt::format("expected an integer bit pattern, got {}", toml_type_name(values[i])));
          }
          const std::uint64_t max = (std::uint64_t{1} << (8 * element_bytes)) - 1;
          if (v->get() < 0 || static_cast<std::uint64_t>(v->get()) > max) {
            r.fail_element("bits", i,
                           fmt::format("bit pattern {} does not fit in {} (0x0..{:#x})", v->get(),
                                       graph_dtype_name(t.dtype), max));
          }
          bits = static_cast<std::uint64_t>(v->get());
        }
        for (std::size_t k = 0; k < element_bytes; ++k) {
          init.bytes[i * element_bytes + k] = static_cast<std::uint8_t>(bits >> (8 * k));
        }
      }
      return init;
    }
    // file
    const std::string name = *r.string("file");
    if (name.empty()) r.fail("file", "the init file name must not be empty");
    const std::filesystem::path full = base_dir_ / name;
    const std::size_t needed = static_cast<std::size_t>(count) * element_bytes;
    InputBytes data;
    try {
      data = read_input_bytes(full, needed, "init file");
    } catch (const InputFileError& e) {
      r.fail("file", fmt::format("cannot read init file '{}': {}", full.string(), e.reason()));
    }
    if (data.size != needed) {
      const bool unknown = !data.regular && data.exceeds(needed);  // a pipe that kept going
      r.fail("file",
             fmt::format("init file '{}' holds {}{} bytes; {} needs {}", full.string(),
                         unknown ? "more than " : "", unknown ? needed : data.size, what, needed));
    }
    init.kind = DataInit::Kind::file_bytes;
    init.bytes = std::move(data.bytes);
    t.init_file = name;
    return init;
  }

  // lo and hi of a uniform recipe, with the same rules as assembly data (programs/ISA.md).
  static void read_bounds(const TomlReader& r, DType dtype, DataInit& init) {
    for (std::string_view key : {"lo", "hi"}) {
      if (!r.has(key)) r.missing(key);
    }
    double bound[2] = {0.0, 0.0};
    int index = 0;
    for (std::string_view key : {"lo", "hi"}) {
      const toml::node& node = *r.get(key);
      if (is_integer(dtype)) {
        const auto* v = node.as_integer();
        if (v == nullptr) {
          r.fail(key, fmt::format("expected an integer for {}, got {}", graph_dtype_name(dtype),
                                  toml_type_name(node)));
        }
        const int bits = 8 * dtype_bytes(dtype);
        const std::int64_t lo = -(std::int64_t{1} << (bits - 1));
        const std::int64_t hi = (std::int64_t{1} << (bits - 1)) - 1;
        if (v->get() < lo || v->get() > hi) {
          r.fail(key, fmt::format("value {} is out of range [{}, {}] for {}", v->get(), lo, hi,
                                  graph_dtype_name(dtype)));
        }
        bound[index] = static_cast<double>(v->get());
      } else {
        double value = 0.0;
        if (const auto* f = node.as_floating_point()) {
          value = f->get();
        } else if (const auto* i = node.as_integer()) {
          value = static_cast<double>(i->get());
        } else {
          r.fail(key, fmt::format("expected a number, got {}", toml_type_name(node)));
        }
        const double max =
            dtype == DType::f16 ? 65504.0 : double{std::numeric_limits<float>::max()};
        if (!std::isfinite(value) || value < -max || value > max) {
          r.fail(key, fmt::format("value {} is outside the finite range of {} (+-{})", value,
                                  graph_dtype_name(dtype), static_cast<float>(max)));
        }
        bound[index] = value;
      }
      ++index;
    }
    if (is_integer(dtype) ? bound[0] > bound[1] : !(bound[0] < bound[1])) {
      r.fail("hi", fmt::format("empty range: lo = {} {} hi = {}", bound[0],
                               is_integer(dtype) ? ">" : ">=", bound[1]));
    }
    init.low = bound[0];
    init.high = bound[1];
  }

  // ---- [[op]] ----

  struct OpHeader {
    OpKind kind;
    std::string output;
    std::vector<std::string> inputs;
  };

  void read_ops(const TomlReader& top) {
    const toml::array* tables = top.array_of_tables("op");
    // Pass 1: kinds, names, inputs and outputs, so that pass 2 can tell a tensor produced later
    // from one that is unknown, and a cycle from a mere ordering problem.
    std::vector<TomlReader> readers;
    std::vector<OpHeader> headers;
    std::map<std::string, std::int32_t, std::less<>> producer;
    const std::size_t count = tables == nullptr ? 0 : tables->size();
    for (std::size_t i = 0; i < count; ++i) {
      const std::string path = fmt::format("op[{}]", i);
      const toml::table& table = *(*tables)[i].as_table();
      const toml::node* kind_node = table.get("kind");
      if (kind_node == nullptr) {
        throw InputError(fmt::format("missing required key 'kind' in {}", path),
                         ErrorContext{.where = toml_location(table.source(), file_), .key = path});
      }
      const auto* kind_text = kind_node->as_string();
      if (kind_text == nullptr) {
        throw InputError(fmt::format("expected a string, got {}", toml_type_name(*kind_node)),
                         ErrorContext{.where = toml_location(kind_node->source(), file_),
                                      .key = path + ".kind"});
      }
      const auto kind = parse_op_kind(kind_text->get());
      if (!kind) {
        std::vector<std::string_view> names;
        for (const OpSpec& s : op_specs()) names.push_back(s.name);
        std::string message = fmt::format("unknown op kind '{}'", kind_text->get());
        if (auto hint = closest_name(kind_text->get(), names)) {
          message += fmt::format(" (did you mean '{}'?)", *hint);
        }
        throw InputError(std::move(message),
                         ErrorContext{.where = toml_location(kind_node->source(), file_),
                                      .key = path + ".kind"});
      }
      const OpSpec& spec = op_spec(*kind);
      std::vector<std::string_view> keys{"kind", "name", "inputs", "output"};
      keys.insert(keys.end(), spec.options.begin(), spec.options.end());
      readers.emplace_back(table, path, fmt::format("in {} ({})", path, spec.name), file_, keys);
      const TomlReader& r = readers.back();

      Op op;
      op.kind = *kind;
      op.index = static_cast<std::int32_t>(i);
      op.where = r.where();
      if (auto name = r.string("name")) {
        if (!is_identifier(*name)) {
          r.fail("name", fmt::format("op name '{}' is not an identifier (letters, digits and "
                                     "'_', not starting with a digit)",
                                     *name));
        }
        for (const Op& other : graph_.ops) {
          if (other.name == *name) {
            r.fail("name", fmt::format("duplicate op name '{}' (first used by {} at {})", *name,
                                       other.label(), other.where.to_string()));
          }
        }
        op.name = *name;
      }
      OpHeader header{*kind, {}, {}};
      const toml::array& inputs = r.required_array("inputs");
      const auto n = static_cast<std::int32_t>(inputs.size());
      if (n < spec.min_inputs || (spec.max_inputs >= 0 && n > spec.max_inputs)) {
        if (spec.max_inputs < 0) {
          r.fail("inputs",
                 fmt::format("{} takes at least {} inputs, got {}", spec.name, spec.min_inputs, n));
        }
        r.fail("inputs", fmt::format("{} takes {} input{}, got {}", spec.name, spec.min_inputs,
                                     spec.min_inputs == 1 ? "" : "s", n));
      }
      for (std::size_t k = 0; k < inputs.size(); ++k) {
        const auto* s = inputs[k].as_string();
        if (s == nullptr) {
          r.fail_element("inputs", k,
                         fmt::format("expected a tensor name, got {}", toml_type_name(inputs[k])));
        }
        header.inputs.push_back(s->get());
      }
      header.output = r.required_string("output");
      if (!is_identifier(header.output)) {
        r.fail("output", fmt::format("tensor name '{}' is not an identifier (letters, digits and "
                                     "'_', not starting with a digit)",
                                     header.output));
      }
      if (const std::int32_t t = graph_.find_tensor(header.output);
          t >= 0 && graph_.tensor(t).init) {
        r.fail("output", fmt::format("tensor '{}' has init data (at {}), so no op may produce it",
                                     header.output, graph_.tensor(t).where.to_string()));
      }
      if (auto it = producer.find(header.output); it != producer.end()) {
        const Op& first = graph_.ops[static_cast<std::size_t>(it->second)];
        r.fail("output", fmt::format("tensor '{}' is already the output of {} at {}", header.output,
                                     first.label(), first.where.to_string()));
      }
      producer.emplace(header.output, op.index);
      graph_.ops.push_back(std::move(op));
      headers.push_back(std::move(header));
    }
    // A declared tensor without data must be some op's output.
    for (std::size_t i = 0; i < graph_.tensors.size(); ++i) {
      const Tensor& t = graph_.tensors[i];
      if (!t.init && producer.find(t.name) == producer.end()) {
        throw InputError(fmt::format("tensor '{}' has no init data and no op produces it", t.name),
                         ErrorContext{.where = t.where, .key = fmt::format("tensor[{}]", i)});
      }
    }
    // Pass 2, in program order.
    for (std::size_t i = 0; i < count; ++i) {
      Op& op = graph_.ops[i];
      const TomlReader& r = readers[i];
      for (std::size_t k = 0; k < headers[i].inputs.size(); ++k) {
        op.inputs.push_back(resolve_input(r, k, headers, producer, op));
      }
      const Typed typed = infer(r, op);
      attach_output(r, op, headers[i].output, typed);
    }
  }

  // The tensor index of op.inputs' k-th name, which must be initial data or an earlier op's
  // output.
  std::int32_t resolve_input(const TomlReader& r, std::size_t k,
                             const std::vector<OpHeader>& headers,
                             const std::map<std::string, std::int32_t, std::less<>>& producer,
                             const Op& op) const {
    const std::string& name = headers[static_cast<std::size_t>(op.index)].inputs[k];
    const std::int32_t t = graph_.find_tensor(name);
    const auto made = producer.find(name);
    if (made == producer.end()) {
      if (t >= 0 && graph_.tensor(t).init) return t;
      std::vector<std::string_view> known;
      for (const Tensor& x : graph_.tensors) known.push_back(x.name);
      for (const auto& [output, index] : producer) known.push_back(output);
      std::string message = fmt::format("unknown tensor '{}'", name);
      if (auto hint = closest_name(name, known))
        message += fmt::format(" (did you mean '{}'?)", *hint);
      r.fail_element("inputs", k, std::move(message));
    }
    const std::int32_t p = made->second;
    if (p < op.index) return t;  // attach_output registered it (declared or inferred)
    // Produced by this op or a later one: a cycle if that op depends on this one, else an order
    // problem. Depth-first search back through producers, recording the path.
    std::vector<std::int32_t> path{p};
    std::vector<bool> seen(headers.size(), false);
    auto depends = [&](auto&& self, std::int32_t from) -> bool {
      if (from == op.index) return true;
      if (seen[static_cast<std::size_t>(from)]) return false;
      seen[static_cast<std::size_t>(from)] = true;
      for (const std::string& input : headers[static_cast<std::size_t>(from)].inputs) {
        const auto it = producer.find(input);
        if (it == producer.end()) continue;
        path.push_back(it->second);
        if (self(self, it->second)) return true;
        path.pop_back();
      }
      return false;
    };
    const Op& maker = graph_.ops[static_cast<std::size_t>(p)];
    if (p == op.index || depends(depends, p)) {
      // path: p, ..., op.index. The message walks op -> p -> ... -> op.
      std::string message =
          fmt::format("cycle: {} needs '{}' from {}", op.label(), name, maker.label());
      // Each later op on the path needs the output of the next one.
      for (std::size_t j = 1; j < path.size(); ++j) {
        const Op& next = graph_.ops[static_cast<std::size_t>(path[j])];
        message += fmt::format(", which needs '{}' from {}",
                               headers[static_cast<std::size_t>(next.index)].output, next.label());
      }
      r.fail_element("inputs", k, std::move(message));
    }
    r.fail_element("inputs", k,
                   fmt::format("tensor '{}' is used before {} at {} produces it (ops run in file "
                               "order: move this op after that one)",
                               name, maker.label(), maker.where.to_string()));
  }

  // ---- inference ----

  const Tensor& in(const Op& op, std::size_t k) const { return graph_.tensor(op.inputs[k]); }

  static std::string names_and_dtypes(const std::vector<const Tensor*>& ts) {
    std::string out;
    for (const Tensor* t : ts) {
      if (!out.empty()) out += ", ";
      out += fmt::format("'{}' is {}", t->name, graph_dtype_name(t->dtype));
    }
    return out;
  }

  void require_dtype(const TomlReader& r, const Op& op, const Tensor& t,
                     std::initializer_list<DType> allowed) const {
    if (std::find(allowed.begin(), allowed.end(), t.dtype) != allowed.end()) return;
    r.fail("inputs",
           fmt::format("{} does not support dtype {} ('{}'; it takes {})", op_kind_name(op.kind),
                       graph_dtype_name(t.dtype), t.name, dtype_list(allowed)));
  }

  static std::string local_note(const std::vector<const Tensor*>& ts) {
    for (const Tensor* t : ts) {
      if (t->placement.kind == Placement::Kind::split) return " (per-TSP shapes)";
    }
    return "";
  }

  std::int32_t read_axis(const TomlReader& r, const Tensor& t, const Shape& local) const {
    if (!r.has("axis")) r.missing("axis");
    const auto axis = *r.integer("axis", std::numeric_limits<std::int64_t>::min(),
                                 std::numeric_limits<std::int64_t>::max());
    if (axis < 0 || axis >= static_cast<std::int64_t>(local.size())) {
      r.fail("axis", fmt::format("axis {} is out of range for '{}' {} (0..{})", axis, t.name,
                                 format_shape(local), local.size() - 1));
    }
    return static_cast<std::int32_t>(axis);
  }

  ReduceFn read_reduce_fn(const TomlReader& r, bool required) const {
    if (!r.has("op")) {
      if (required) r.missing("op");
      return ReduceFn::sum;
    }
    const std::string fn = *r.string("op");
    for (ReduceFn f : {ReduceFn::sum, ReduceFn::max, ReduceFn::min}) {
      if (reduce_fn_name(f) == fn) return f;
    }
    r.fail("op", fmt::format("unknown reduction '{}' (sum, max, min)", fn));
  }

  bool read_saturate(const TomlReader& r, DType dtype, std::string_view what) const {
    const bool saturate = r.boolean("saturate").value_or(false);
    if (saturate && !is_integer(dtype)) {
      r.fail("saturate", fmt::format("saturate applies to integer dtypes; {} is {}", what,
                                     graph_dtype_name(dtype)));
    }
    return saturate;
  }

  // All inputs of a local op must live on the same TSPs.
  void require_same_tsps(const TomlReader& r, const std::vector<const Tensor*>& ts) const {
    for (const Tensor* t : ts) {
      if (t->placement.tsps != ts[0]->placement.tsps) {
        r.fail("inputs",
               fmt::format("inputs are on different TSPs: '{}' on {}, '{}' on {}", ts[0]->name,
                           ts[0]->placement.describe(), t->name, t->placement.describe()));
      }
    }
  }

  void require_same_dtype(const TomlReader& r, const Op& op,
                          const std::vector<const Tensor*>& ts) const {
    for (const Tensor* t : ts) {
      if (t->dtype != ts[0]->dtype) {
        r.fail("inputs", fmt::format("{} of different dtypes: {} (cast one first)",
                                     op_kind_name(op.kind), names_and_dtypes(ts)));
      }
    }
  }

  // Placement of a local op's output from its inputs' (docs/graph-format.md, "Placement of
  // computed tensors").
  static Placement combined_placement(const std::vector<const Tensor*>& ts) {
    Placement p;
    p.tsps = ts[0]->placement.tsps;
    bool per_tsp = false;
    std::int32_t axis = -1;
    for (const Tensor* t : ts) {
      switch (t->placement.kind) {
        case Placement::Kind::replicated:
          break;
        case Placement::Kind::per_tsp:
          per_tsp = true;
          break;
        case Placement::Kind::split:
          if (axis < 0) {
            axis = t->placement.split_axis;
          } else if (axis != t->placement.split_axis) {
            per_tsp = true;
          }
          break;
      }
    }
    if (per_tsp) {
      p.kind = Placement::Kind::per_tsp;
    } else if (axis >= 0) {
      p.kind = Placement::Kind::split;
      p.split_axis = axis;
    }
    return p;
  }

  // The node and rack of each TSP an all_reduce / reduce_scatter combines (its input's placement).
  void record_tree(Op& op, const Tensor& x) const {
    op.tsp_nodes.clear();
    op.tsp_racks.clear();
    for (const TspId tsp : x.placement.tsps) {
      const TspInfo& info = topology_.tsp(tsp);
      op.tsp_nodes.push_back(info.node.value);
      op.tsp_racks.push_back(info.rack.value);
    }
  }

  static void to_per_tsp(Placement& p) {
    p.kind = Placement::Kind::per_tsp;
    p.split_axis = -1;
  }

  Typed infer(const TomlReader& r, Op& op) const {
    std::vector<const Tensor*> ts;
    for (std::size_t k = 0; k < op.inputs.size(); ++k) ts.push_back(&in(op, k));
    const Tensor& x = *ts[0];
    const Shape x_local = x.local_shape();
    Typed out;
    out.dtype = x.dtype;
    out.local = x_local;
    out.placement = x.placement;
    if (!is_collective(op.kind)) require_same_tsps(r, ts);

    switch (op.kind) {
      case OpKind::matmul: {
        const Tensor& b = *ts[1];
        const Shape b_local = b.local_shape();
        if (!((x.dtype == DType::i8 && b.dtype == DType::i8) ||
              (x.dtype == DType::f16 && b.dtype == DType::f16))) {
          r.fail("inputs", fmt::format("matmul takes int8 x int8 or fp16 x fp16, got {} x {}",
                                       graph_dtype_name(x.dtype), graph_dtype_name(b.dtype)));
        }
        for (const Tensor* t : ts) {
          if (t->shape.size() != 2) {
            r.fail("inputs", fmt::format("matmul takes 2-D tensors; '{}' is {}", t->name,
                                         format_shape(t->shape)));
          }
        }
        if (x_local[1] != b_local[0]) {
          r.fail("inputs",
                 fmt::format("matmul inner dimensions differ: '{}' is {}, '{}' is {}{}", x.name,
                             format_shape(x_local), b.name, format_shape(b_local), local_note(ts)));
        }
        out.dtype = x.dtype == DType::i8 ? DType::i32 : DType::f32;
        out.local = {x_local[0], b_local[1]};
        const auto ak = x.placement.kind;
        const auto bk = b.placement.kind;
        using K = Placement::Kind;
        if (ak == K::replicated && bk == K::replicated) {
          out.placement.kind = K::replicated;
        } else if (ak == K::replicated && bk == K::split && b.placement.split_axis == 1) {
          out.placement = b.placement;  // column split: C's columns follow B's
        } else if (ak == K::split && x.placement.split_axis == 0 && bk == K::replicated) {
          out.placement = x.placement;  // row split: C's rows follow A's
        } else {
          to_per_tsp(out.placement);  // e.g. K split: partial sums
        }
        break;
      }
      case OpKind::add:
      case OpKind::sub:
      case OpKind::mul:
      case OpKind::min:
      case OpKind::max: {
        require_same_dtype(r, op, ts);
        const Tensor& b = *ts[1];
        const Shape b_local = b.local_shape();
        if (x_local.size() != b_local.size()) {
          r.fail("inputs", fmt::format("{} of different ranks: '{}' is {}, '{}' is {}{}",
                                       op_kind_name(op.kind), x.name, format_shape(x_local), b.name,
                                       format_shape(b_local), local_note(ts)));
        }
        for (std::size_t d = 0; d < x_local.size(); ++d) {
          if (x_local[d] != b_local[d] && x_local[d] != 1 && b_local[d] != 1) {
            r.fail("inputs",
                   fmt::format("{} shapes do not broadcast: '{}' is {}, '{}' is {} (dimension "
                               "{}: {} vs {}){}",
                               op_kind_name(op.kind), x.name, format_shape(x_local), b.name,
                               format_shape(b_local), d, x_local[d], b_local[d], local_note(ts)));
          }
          out.local[d] = std::max(x_local[d], b_local[d]);
        }
        if (op.kind == OpKind::add || op.kind == OpKind::sub || op.kind == OpKind::mul) {
          op.saturate = read_saturate(r, x.dtype, fmt::format("'{}'", x.name));
        }
        out.placement = combined_placement(ts);
        break;
      }
      case OpKind::neg:
      case OpKind::abs:
      case OpKind::relu:
        break;
      case OpKind::tanh:
      case OpKind::exp:
      case OpKind::rsqrt:
        require_dtype(r, op, x, {DType::f16, DType::f32});
        break;
      case OpKind::cast: {
        const std::string to = [&] {
          if (!r.has("dtype")) r.missing("dtype");
          return *r.string("dtype");
        }();
        const auto dtype = parse_graph_dtype(to);
        if (!dtype) {
          r.fail("dtype", fmt::format("unknown dtype '{}' (int8, int16, int32, fp16, fp32)", to));
        }
        if (*dtype == x.dtype) {
          r.fail("dtype", fmt::format("cast to {}, which '{}' already is", to, x.name));
        }
        op.to_dtype = *dtype;
        op.saturate = r.boolean("saturate").value_or(false);
        if (op.saturate && !(is_integer(x.dtype) && is_integer(*dtype))) {
          r.fail("saturate",
                 fmt::format("saturate applies to integer-to-integer casts; this casts {} to {} "
                             "(float-to-integer casts always saturate)",
                             graph_dtype_name(x.dtype), to));
        }
        out.dtype = *dtype;
        break;
      }
      case OpKind::reduce: {
        op.reduce_fn = read_reduce_fn(r, true);
        op.axis = read_axis(r, x, x_local);
        if (r.has("saturate") && op.reduce_fn != ReduceFn::sum) {
          r.fail("saturate", "saturate applies to op = \"sum\"");
        }
        op.saturate = read_saturate(r, x.dtype, fmt::format("'{}'", x.name));
        out.local[static_cast<std::size_t>(op.axis)] = 1;
        if (x.placement.kind == Placement::Kind::split && x.placement.split_axis == op.axis) {
          to_per_tsp(out.placement);  // partial reductions
        }
        break;
      }
      case OpKind::transpose: {
        const std::size_t rank = x_local.size();
        if (r.has("perm")) {
          const auto perm =
              r.integer_array("perm", std::numeric_limits<std::int64_t>::min(),
                              std::numeric_limits<std::int64_t>::max(), kMaxTensorRank);
          std::vector<bool> used(rank, false);
          bool ok = perm.size() == rank;
          for (std::int64_t a : perm) {
            if (!ok) break;
            if (a < 0 || a >= static_cast<std::int64_t>(rank) ||
                used[static_cast<std::size_t>(a)]) {
              ok = false;
            } else {
              used[static_cast<std::size_t>(a)] = true;
            }
          }
          if (!ok) {
            r.fail("perm",
                   fmt::format("perm {} must list each axis of '{}' {} once (0..{})",
                               format_shape(perm), x.name, format_shape(x_local), rank - 1));
          }
          for (std::int64_t a : perm) op.perm.push_back(static_cast<std::int32_t>(a));
        } else {
          for (std::size_t j = 0; j < rank; ++j) {
            op.perm.push_back(static_cast<std::int32_t>(rank - 1 - j));
          }
        }
        for (std::size_t j = 0; j < rank; ++j) {
          out.local[j] = x_local[static_cast<std::size_t>(op.perm[j])];
        }
        if (x.placement.kind == Placement::Kind::split) {
          for (std::size_t j = 0; j < rank; ++j) {
            if (op.perm[j] == x.placement.split_axis) {
              out.placement.split_axis = static_cast<std::int32_t>(j);
            }
          }
        }
        break;
      }
      case OpKind::reshape: {
        if (x.placement.kind == Placement::Kind::split) {
          r.fail("inputs", fmt::format("reshape of '{}', which is split along axis {} over {} "
                                       "TSPs: all_gather it first",
                                       x.name, x.placement.split_axis, x.placement.tsps.size()));
        }
        op.new_shape = r.integer_array("shape", 1, kMaxTensorDim, kMaxTensorRank);
        if (bounded_elements(op.new_shape) != shape_elements(x_local)) {
          const std::int64_t n = bounded_elements(op.new_shape);
          r.fail("shape", fmt::format("reshape of '{}' {} ({} elements) to {} ({} elements)",
                                      x.name, format_shape(x_local), shape_elements(x_local),
                                      format_shape(op.new_shape),
                                      n < 0 ? std::string("more than 2^40") : std::to_string(n)));
        }
        out.local = op.new_shape;
        break;
      }
      case OpKind::slice: {
        op.axis = read_axis(r, x, x_local);
        const std::int64_t dim = x_local[static_cast<std::size_t>(op.axis)];
        for (std::string_view key : {"start", "end"}) {
          if (!r.has(key)) r.missing(key);
        }
        op.start = *r.integer("start", std::numeric_limits<std::int64_t>::min(),
                              std::numeric_limits<std::int64_t>::max());
        op.end = *r.integer("end", std::numeric_limits<std::int64_t>::min(),
                            std::numeric_limits<std::int64_t>::max());
        if (!(0 <= op.start && op.start < op.end && op.end <= dim)) {
          r.fail("end", fmt::format("slice [{}, {}) is not a non-empty range within dimension {} "
                                    "({}) of '{}' {}",
                                    op.start, op.end, op.axis, dim, x.name, format_shape(x_local)));
        }
        out.local[static_cast<std::size_t>(op.axis)] = op.end - op.start;
        if (x.placement.kind == Placement::Kind::split && x.placement.split_axis == op.axis) {
          to_per_tsp(out.placement);
        }
        break;
      }
      case OpKind::concat: {
        require_same_dtype(r, op, ts);
        op.axis = read_axis(r, x, x_local);
        const auto axis = static_cast<std::size_t>(op.axis);
        out.local[axis] = 0;
        for (const Tensor* t : ts) {
          const Shape local = t->local_shape();
          bool ok = local.size() == x_local.size();
          for (std::size_t d = 0; ok && d < local.size(); ++d) {
            if (d != axis && local[d] != x_local[d]) ok = false;
          }
          if (!ok) {
            r.fail("inputs", fmt::format("concat along axis {} needs equal other dimensions: "
                                         "'{}' is {}, '{}' is {}{}",
                                         axis, x.name, format_shape(x_local), t->name,
                                         format_shape(local), local_note(ts)));
          }
          out.local[axis] += local[axis];
        }
        if (out.local[axis] > kMaxTensorDim) {
          r.fail("inputs", fmt::format("concat gives dimension {} = {}, more than {}", axis,
                                       out.local[axis], kMaxTensorDim));
        }
        out.placement = combined_placement(ts);
        if (out.placement.kind == Placement::Kind::split && out.placement.split_axis == op.axis) {
          to_per_tsp(out.placement);
        }
        break;
      }
      case OpKind::all_reduce:
        record_tree(op, x);
        op.reduce_fn = read_reduce_fn(r, false);
        if (r.has("saturate") && op.reduce_fn != ReduceFn::sum) {
          r.fail("saturate", "saturate applies to op = \"sum\"");
        }
        op.saturate = read_saturate(r, x.dtype, fmt::format("'{}'", x.name));
        out.placement.kind = Placement::Kind::replicated;
        out.placement.split_axis = -1;
        break;
      case OpKind::reduce_scatter: {
        record_tree(op, x);
        op.reduce_fn = read_reduce_fn(r, false);
        if (r.has("saturate") && op.reduce_fn != ReduceFn::sum) {
          r.fail("saturate", "saturate applies to op = \"sum\"");
        }
        op.saturate = read_saturate(r, x.dtype, fmt::format("'{}'", x.name));
        op.axis = read_axis(r, x, x_local);
        const auto n = static_cast<std::int64_t>(x.placement.tsps.size());
        const std::int64_t dim = x_local[static_cast<std::size_t>(op.axis)];
        if (dim % n != 0) {
          r.fail("axis", fmt::format("dimension {} ({}) of '{}' {} is not divisible by its {} "
                                     "TSPs",
                                     op.axis, dim, x.name, format_shape(x_local), n));
        }
        out.local[static_cast<std::size_t>(op.axis)] = dim / n;
        out.placement.kind = Placement::Kind::split;
        out.placement.split_axis = op.axis;
        break;
      }
      case OpKind::all_gather: {
        op.axis = read_axis(r, x, x_local);
        const auto n = static_cast<std::int64_t>(x.placement.tsps.size());
        out.local[static_cast<std::size_t>(op.axis)] *= n;
        if (out.local[static_cast<std::size_t>(op.axis)] > kMaxTensorDim) {
          r.fail("axis", fmt::format("all_gather gives dimension {} = {}, more than {}", op.axis,
                                     out.local[static_cast<std::size_t>(op.axis)], kMaxTensorDim));
        }
        out.placement.kind = Placement::Kind::replicated;
        out.placement.split_axis = -1;
        break;
      }
      case OpKind::broadcast:
      case OpKind::send: {
        // A replicated tensor is the same on each of its TSPs: the copy on its first TSP moves
        // (how a pipeline stage hands its output to the next stage's TSPs).
        if (!x.placement.on_one_tsp() && x.placement.kind != Placement::Kind::replicated) {
          r.fail("inputs", fmt::format("{} takes a tensor on one TSP or replicated; '{}' is on {}",
                                       op_kind_name(op.kind), x.name, x.placement.describe()));
        }
        if (!r.has("to")) r.missing("to");
        if (op.kind == OpKind::broadcast) {
          op.to_tsps = tsp_list(r, "to");
        } else {
          const auto t = *r.integer("to", std::numeric_limits<std::int64_t>::min(),
                                    std::numeric_limits<std::int64_t>::max());
          if (t < 0 || t >= static_cast<std::int64_t>(topology_.tsp_count())) {
            fail_tsp(r, "to", -1, t);
          }
          if (std::find(x.placement.tsps.begin(), x.placement.tsps.end(),
                        TspId(static_cast<std::int32_t>(t))) != x.placement.tsps.end()) {
            r.fail("to", fmt::format("'{}' is already on tsp {}", x.name, t));
          }
          op.to_tsps = {TspId(static_cast<std::int32_t>(t))};
        }
        out.placement = Placement{Placement::Kind::replicated, op.to_tsps, -1};
        break;
      }
    }
    return out;
  }

  void attach_output(const TomlReader& r, const Op& op, const std::string& name,
                     const Typed& typed) {
    const Shape logical = typed.placement.logical_shape(typed.local);
    const std::int32_t existing = graph_.find_tensor(name);
    if (existing >= 0) {
      Tensor& t = graph_.tensors[static_cast<std::size_t>(existing)];
      if (t.dtype != typed.dtype || t.shape != logical) {
        r.fail("output",
               fmt::format("{} produces {} {} but tensor '{}' is declared {} {} at {}", op.label(),
                           format_shape(logical), graph_dtype_name(typed.dtype), name,
                           format_shape(t.shape), graph_dtype_name(t.dtype), t.where.to_string()));
      }
      if (declared_placement_[static_cast<std::size_t>(existing)] &&
          t.placement != typed.placement) {
        r.fail("output", fmt::format("{} produces '{}' on {} but it is declared on {} at {}",
                                     op.label(), name, typed.placement.describe(),
                                     t.placement.describe(), t.where.to_string()));
      }
      t.placement = typed.placement;
      t.producer = op.index;
      check_fits(t, r, "output");
      graph_.ops[static_cast<std::size_t>(op.index)].output = existing;
      return;
    }
    Tensor t;
    t.name = name;
    t.dtype = typed.dtype;
    t.shape = logical;
    t.placement = typed.placement;
    t.producer = op.index;
    t.where = op.where;
    for (std::int64_t d : t.shape) {
      if (d > kMaxTensorDim) {
        r.fail("output", fmt::format("{} produces '{}' {}, a dimension beyond {}", op.label(), name,
                                     format_shape(t.shape), kMaxTensorDim));
      }
    }
    check_fits(t, r, "output");
    graph_.ops[static_cast<std::size_t>(op.index)].output =
        static_cast<std::int32_t>(graph_.tensors.size());
    graph_.tensors.push_back(std::move(t));
    declared_placement_.push_back(false);
  }

  // ---- [outputs] ----

  void read_outputs(const TomlReader& top) {
    if (!top.has("outputs")) {
      top.fail_table(
          "missing required key 'outputs' at the top level (list the results: "
          "[outputs] names = [...])");
    }
    const TomlReader r(*top.table("outputs"), "outputs", "in [outputs]", file_, {"names"});
    const toml::array& names = r.required_array("names");
    if (names.empty()) r.fail("names", "a graph needs at least one output");
    for (std::size_t i = 0; i < names.size(); ++i) {
      const auto* s = names[i].as_string();
      if (s == nullptr) {
        r.fail_element("names", i,
                       fmt::format("expected a tensor name, got {}", toml_type_name(names[i])));
      }
      const std::int32_t t = graph_.find_tensor(s->get());
      if (t < 0) {
        std::vector<std::string_view> known;
        for (const Tensor& x : graph_.tensors) known.push_back(x.name);
        std::string message = fmt::format("unknown tensor '{}'", s->get());
        if (auto hint = closest_name(s->get(), known)) {
          message += fmt::format(" (did you mean '{}'?)", *hint);
        }
        r.fail_element("names", i, std::move(message));
      }
      if (std::find(graph_.outputs.begin(), graph_.outputs.end(), t) != graph_.outputs.end()) {
        r.fail_element("names", i, fmt::format("output '{}' is listed twice", s->get()));
      }
      graph_.outputs.push_back(t);
    }
  }

  const std::string& file_;
  const Topology& topology_;
  std::filesystem::path base_dir_;
  Graph graph_;
  std::vector<bool> declared_placement_;  // per tensor: placement given in its [[tensor]] table
};

}  // namespace

Graph load_graph_from_string(std::string_view text, const std::string& name_for_errors,
                             const Topology& topology, const std::filesystem::path& base_dir) {
  const std::string& file = name_for_errors;
  const toml::table root = parse_toml(text, file);
  GraphLoader loader(file, topology, base_dir);
  return loader.load(root);
}

Graph load_graph(const std::filesystem::path& path, const Topology& topology) {
  return load_graph_from_string(read_input_file(path, kMaxTextInputBytes, "graph file"),
                                path.string(), topology, path.parent_path());
}

}  // namespace tspemu
