#include "topo/loader.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <tuple>
#include <vector>

#include "common/error.hpp"
#include "common/input_file.hpp"
#include "common/toml_reader.hpp"
#include "topo/generator.hpp"

namespace tspemu {
namespace {

// Topology files suggest any known key within two edits, even for a one- or two-letter key
// (an unknown 'c' in a [[link]] suggests 'a'): their documented messages predate the graph format's
// stricter rule.
constexpr HintReach kHints = HintReach::two_edits;

constexpr std::int64_t kMaxId = kMaxTsps - 1;

const std::vector<std::string_view>& link_param_keys() {
  static const std::vector<std::string_view> keys{
      "latency_cycles", "latency_min_cycles",    "latency_max_cycles", "bandwidth_gbps",
      "bit_error_rate", "wire_bytes_per_vector", "jitter_std_cycles",  "uncorrectable_rate"};
  return keys;
}

std::vector<std::string_view> with_link_params(std::vector<std::string_view> keys) {
  const auto& params = link_param_keys();
  keys.insert(keys.end(), params.begin(), params.end());
  return keys;
}

// ---- [chip] ----

void read_op_timing(const TomlReader& chip_reader, ChipParams& chip) {
  const toml::table* op_timing = chip_reader.table("op_timing");
  if (op_timing == nullptr) return;
  const std::string& file = chip_reader.file();
  for (auto&& [key, node] : *op_timing) {
    const std::string name(key.str());
    const std::string path = "chip.op_timing." + name;
    const toml::table* entry = node.as_table();
    if (entry == nullptr) {
      throw InputError(fmt::format("expected a table, got {}", toml_type_name(node)),
                       ErrorContext{.where = toml_location(node.source(), file), .key = path});
    }
    const TomlReader r(*entry, path, fmt::format("in [{}]", path), file,
                       {"skew_cycles", "func_delay_cycles", "occupancy_cycles"}, kHints);
    OpTimingOverride o;
    o.skew_cycles = r.integer("skew_cycles", 0, 1'000'000);
    o.func_delay_cycles = r.integer("func_delay_cycles", 0, 1'000'000);
    o.occupancy_cycles = r.integer("occupancy_cycles", 1, 1'000'000);
    o.where = r.where();
    chip.op_timing.emplace(name, std::move(o));
  }
}

ChipParams read_chip(const TomlReader& top) {
  ChipParams chip;
  const toml::table* table = top.table("chip");
  if (table == nullptr) return chip;
  std::vector<std::string_view> keys{"clock_mhz", "instruction_queues", "op_timing"};
  for (const ChipIntParam& p : chip_int_params()) keys.push_back(p.key);
  const TomlReader r(*table, "chip", "in [chip]", top.file(), keys, kHints);

  if (auto v = r.number("clock_mhz", kMinClockMhz, false, kMaxClockMhz)) chip.clock_mhz = *v;
  for (const ChipIntParam& p : chip_int_params()) {
    const auto v = r.integer(p.key, p.min, p.max);
    if (!v) continue;
    if (*v % p.multiple_of != 0) {
      r.fail(p.key, fmt::format("value {} is not a multiple of {} ({})", *v, p.multiple_of, p.doc));
    }
    chip.*(p.member) = *v;
  }
  const std::int64_t page_group = chip.banks_per_slice * kSramPageWords * 320;
  if (chip.mem_slice_bytes % page_group != 0) {
    r.fail("mem_slice_bytes",
           fmt::format("value {} is not a multiple of banks_per_slice x 16 x 320 = {} (each bank "
                       "holds whole SRAM pages of 16 320-byte words)",
                       chip.mem_slice_bytes, page_group));
  }
  if (!std::has_single_bit(static_cast<std::uint64_t>(chip.hac_period_cycles))) {
    r.fail("hac_period_cycles",
           fmt::format("value {} is not a power of two", chip.hac_period_cycles));
  }
  if (auto v = r.integer("instruction_queues", 1, 1'000'000)) {
    if (*v != chip.instruction_queues()) {
      r.fail(
          "instruction_queues",
          fmt::format("value {} disagrees with the derived count 2 x (mem_slices_per_hemisphere "
                      "{} + sxm_queues_per_hemisphere {} + mxm_queues_per_hemisphere {}) + "
                      "vxm_queues {} = {} (instruction_queues is derived: omit it, or fix the "
                      "counts it derives from)",
                      *v, chip.mem_slices_per_hemisphere, chip.sxm_queues_per_hemisphere,
                      chip.mxm_queues_per_hemisphere, chip.vxm_queues, chip.instruction_queues()));
    }
  }
  read_op_timing(r, chip);
  return chip;
}

// ---- [clock]: the oscillators and the HAC alignment protocol (topo/clock_params.hpp) ----

ClockParams read_clock(const TomlReader& top) {
  ClockParams clock;
  const toml::table* table = top.table("clock");
  if (table == nullptr) return clock;
  const TomlReader r(*table, "clock", "in [clock]", top.file(),
                     {"ppm_spread", "seed", "echo_iterations", "alignment_block_exchanges",
                      "alignment_step_cycles"},
                     kHints);
  clock.present = true;
  if (auto v = r.number("ppm_spread", 0.0, false, kMaxPpmSpread)) clock.ppm_spread = *v;
  if (auto v = r.integer("seed", 0, std::numeric_limits<std::int64_t>::max())) {
    clock.seed = static_cast<std::uint64_t>(*v);
  }
  if (auto v = r.integer("echo_iterations", 1, kMaxEchoIterations)) clock.echo_iterations = *v;
  if (auto v = r.integer("alignment_block_exchanges", 1, 4096)) {
    clock.alignment_block_exchanges = *v;
  }
  if (auto v = r.integer("alignment_step_cycles", 1, 65536)) clock.alignment_step_cycles = *v;
  return clock;
}

// ---- link parameters: [link_class.<name>] and per-link overrides ----

void read_link_params(const TomlReader& r, LinkParams& p) {
  if (auto v = r.integer("latency_cycles", kMinLatencyCycles, kMaxLatencyCycles)) {
    p.latency_cycles = *v;
  }
  if (auto v = r.integer("latency_min_cycles", kMinLatencyCycles, kMaxLatencyCycles)) {
    p.latency_min_cycles = *v;
  }
  if (auto v = r.integer("latency_max_cycles", kMinLatencyCycles, kMaxLatencyCycles)) {
    p.latency_max_cycles = *v;
  }
  if (auto v = r.number("bandwidth_gbps", 0.0, true, kMaxBandwidthGbps)) p.bandwidth_gbps = *v;
  if (auto v = r.number("bit_error_rate", 0.0, false, kMaxBitErrorRate)) p.bit_error_rate = *v;
  if (auto v = r.number("uncorrectable_rate", 0.0, false, 1.0)) p.uncorrectable_rate = *v;
  if (auto v = r.number("jitter_std_cycles", 0.0, false, kMaxJitterStdCycles)) {
    p.jitter_std_cycles = *v;
  }
  if (auto v = r.integer("wire_bytes_per_vector", kMinWireBytesPerVector, kMaxWireBytesPerVector)) {
    p.wire_bytes_per_vector = *v;
  }
  if (p.latency_min_cycles <= p.latency_cycles && p.latency_cycles <= p.latency_max_cycles) return;
  const std::string message = fmt::format(
      "latency_cycles {} is outside [latency_min_cycles, latency_max_cycles] = [{}, {}]",
      p.latency_cycles, p.latency_min_cycles, p.latency_max_cycles);
  for (std::string_view key : {"latency_cycles", "latency_min_cycles", "latency_max_cycles"}) {
    if (r.has(key)) r.fail(key, message);
  }
  r.fail_table(message);
}

LinkClassTable read_link_classes(const TomlReader& top, LinkClassTable classes) {
  const toml::table* table = top.table("link_class");
  if (table == nullptr) return classes;
  const TomlReader r(*table, "link_class", "in [link_class]", top.file(),
                     {"local", "global", "optical"}, kHints);
  for (LinkClass cls : kLinkClasses) {
    const std::string_view name = link_class_name(cls);
    const toml::table* entry = r.table(name);
    if (entry == nullptr) continue;
    const std::string path = fmt::format("link_class.{}", name);
    const TomlReader c(*entry, path, fmt::format("in [{}]", path), top.file(), link_param_keys(),
                       kHints);
    read_link_params(c, classes[static_cast<std::size_t>(cls)]);
  }
  return classes;
}

LinkClass read_class_name(const TomlReader& r, std::string_view key, std::string_view fallback) {
  const std::string name = r.string(key).value_or(std::string(fallback));
  auto cls = parse_link_class(name);
  if (!cls) {
    r.fail(key, fmt::format("unknown link class '{}' (expected local, global or optical)", name));
  }
  return *cls;
}

// ---- [generator] ----

GeneratorParams read_generator(const TomlReader& top, const toml::table& table,
                               const ChipParams& chip) {
  static const std::vector<std::string_view> node_keys{"kind", "tsps_per_node",
                                                       "global_ports_per_tsp"};
  static const std::vector<std::string_view> rack_keys{"nodes_per_rack", "links_per_node_pair",
                                                       "spare_node"};
  static const std::vector<std::string_view> dragonfly_keys{"racks", "links_per_rack_pair",
                                                            "inter_rack_class"};
  std::vector<std::string_view> all = node_keys;
  all.insert(all.end(), rack_keys.begin(), rack_keys.end());
  all.insert(all.end(), dragonfly_keys.begin(), dragonfly_keys.end());
  const TomlReader r(table, "generator", "in [generator]", top.file(), all, kHints);

  GeneratorParams p;
  const std::string kind = r.required_string("kind");
  auto parsed = parse_generator_kind(kind);
  if (!parsed) {
    r.fail("kind",
           fmt::format("unknown generator kind '{}' (expected node, rack or dragonfly)", kind));
  }
  p.kind = *parsed;

  // A key of a bigger kind given to a smaller one is a mistake, not something to ignore.
  std::vector<std::string_view> applicable = node_keys;
  if (p.kind != GeneratorKind::node) {
    applicable.insert(applicable.end(), rack_keys.begin(), rack_keys.end());
  }
  if (p.kind == GeneratorKind::dragonfly) {
    applicable.insert(applicable.end(), dragonfly_keys.begin(), dragonfly_keys.end());
  }
  const toml::key* misplaced = nullptr;
  auto position = [](const toml::key& k) {
    return std::tuple(k.source().begin.line, k.source().begin.column);
  };
  for (auto&& [key, node] : table) {
    if (std::find(applicable.begin(), applicable.end(), key.str()) != applicable.end()) continue;
    if (misplaced == nullptr || position(key) < position(*misplaced)) misplaced = &key;
  }
  if (misplaced != nullptr) {
    const bool dragonfly_only = std::find(dragonfly_keys.begin(), dragonfly_keys.end(),
                                          misplaced->str()) != dragonfly_keys.end();
    r.fail(
        misplaced->str(),
        fmt::format("key '{}' does not apply to kind = \"{}\" (it is a parameter of {})",
                    misplaced->str(), kind,
                    dragonfly_only ? "kind = \"dragonfly\"" : "kinds \"rack\" and \"dragonfly\""));
  }

  if (auto v = r.integer("tsps_per_node", 2, 16)) p.tsps_per_node = *v;
  if (auto v = r.integer("global_ports_per_tsp", 0, 15)) p.global_ports_per_tsp = *v;
  if (p.kind != GeneratorKind::node) {
    if (auto v = r.integer("nodes_per_rack", 2, 64)) p.nodes_per_rack = *v;
    if (auto v = r.integer("links_per_node_pair", 1, 16)) p.links_per_node_pair = *v;
    p.spare_node = r.integer("spare_node", 0, 63);
  }
  if (p.kind == GeneratorKind::dragonfly) {
    p.racks = r.required_integer("racks", 2, 4096);
    if (auto v = r.integer("links_per_rack_pair", 1, 64)) p.links_per_rack_pair = *v;
    p.inter_rack_class = read_class_name(r, "inter_rack_class", "optical");
  }
  if (auto problem = check_generator_fit(p, chip)) r.fail(problem->key, problem->message);
  return p;
}

// ---- explicit form: [port_plan], [[tsp]], [[link]] ----

std::optional<PortPlan> read_port_plan(const TomlReader& top, const ChipParams& chip) {
  const toml::table* table = top.table("port_plan");
  if (table == nullptr) return std::nullopt;
  const TomlReader r(*table, "port_plan", "in [port_plan]", top.file(),
                     {"local_ports", "global_ports"}, kHints);
  PortPlan plan;
  plan.local_ports = r.required_integer("local_ports", 0, chip.c2c_ports);
  plan.global_ports = r.required_integer("global_ports", 0, chip.c2c_ports);
  if (plan.local_ports + plan.global_ports > chip.c2c_ports) {
    r.fail("global_ports",
           fmt::format("local_ports + global_ports = {} exceeds chip.c2c_ports = {}",
                       plan.local_ports + plan.global_ports, chip.c2c_ports));
  }
  return plan;
}

std::vector<TspInfo> read_tsps(const TomlReader& top) {
  const toml::array* array = top.array_of_tables("tsp");
  if (array == nullptr || array->empty()) {
    top.fail_table("the topology has no TSPs: give [[tsp]] entries or a [generator] table");
  }
  if (static_cast<std::int64_t>(array->size()) > kMaxTsps) {
    top.fail("tsp", fmt::format("{} TSPs are more than the {} a topology may hold", array->size(),
                                kMaxTsps));
  }
  std::vector<TspInfo> tsps;
  std::vector<TomlReader> readers;
  tsps.reserve(array->size());
  readers.reserve(array->size());
  for (std::size_t i = 0; i < array->size(); ++i) {
    const std::string path = fmt::format("tsp[{}]", i);
    readers.emplace_back(*(*array)[i].as_table(), path, "in " + path, top.file(),
                         std::vector<std::string_view>{"node", "rack", "spare"}, kHints);
    const TomlReader& r = readers.back();
    TspInfo t;
    t.id = TspId{static_cast<std::int32_t>(i)};
    t.node = NodeId{static_cast<std::int32_t>(r.integer("node", 0, kMaxId).value_or(0))};
    t.rack = RackId{static_cast<std::int32_t>(r.integer("rack", 0, kMaxId).value_or(0))};
    t.spare = r.boolean("spare").value_or(false);
    tsps.push_back(t);
  }

  // Dense node and rack ids (checked first: the membership checks below index by node id).
  auto check_dense = [&](auto id_of, std::string_view what, std::string_view key) {
    std::vector<bool> used(tsps.size(), false);
    for (const TspInfo& t : tsps) {
      const auto v = static_cast<std::size_t>(id_of(t));
      if (v < used.size()) used[v] = true;
    }
    const auto missing =
        static_cast<std::size_t>(std::find(used.begin(), used.end(), false) - used.begin());
    for (std::size_t i = 0; i < tsps.size(); ++i) {
      const auto v = static_cast<std::size_t>(id_of(tsps[i]));
      if (v > missing) {
        readers[i].fail(key, fmt::format("{} ids must run 0..N-1 without gaps, but no TSP is in "
                                         "{} {} and this TSP is in {} {}",
                                         what, what, missing, what, v));
      }
    }
  };
  check_dense([](const TspInfo& t) { return t.node.value; }, "node", "node");
  check_dense([](const TspInfo& t) { return t.rack.value; }, "rack", "rack");
  // Every node in one rack, spare flags whole per node; the first TSP of a node defines both.
  std::vector<std::int64_t> first_of_node(array->size(), -1);
  for (std::size_t i = 0; i < tsps.size(); ++i) {
    std::int64_t& first = first_of_node[tsps[i].node.index()];
    if (first < 0) {
      first = static_cast<std::int64_t>(i);
      continue;
    }
    const TspInfo& f = tsps[static_cast<std::size_t>(first)];
    if (f.rack != tsps[i].rack) {
      readers[i].fail("rack",
                      fmt::format("TSP {} is in rack {}, but tsp[{}] put its node {} in "
                                  "rack {} (a node lies in one rack)",
                                  i, tsps[i].rack.value, first, f.node.value, f.rack.value));
    }
    if (f.spare != tsps[i].spare) {
      readers[i].fail("spare", fmt::format("spare = {} disagrees with tsp[{}] (spare = {}) of the "
                                           "same node {} (spare is a property of a whole node)",
                                           tsps[i].spare, first, f.spare, f.node.value));
    }
  }
  return tsps;
}

struct EndpointRead {
  Endpoint endpoint;
  SourceLocation where;  // the endpoint's inline table
  SourceLocation tsp_where;
  SourceLocation port_where;
};

EndpointRead read_endpoint(const TomlReader& link, std::string_view side, std::size_t tsp_count,
                           const ChipParams& chip) {
  const toml::table& table = link.required_table(side);
  const std::string path = link.key_path(side);
  const TomlReader r(table, path, "in " + path, link.file(), {"tsp", "port"}, kHints);
  // Read unbounded, then checked against this machine, so the message can say what exists.
  constexpr std::int64_t lowest = std::numeric_limits<std::int64_t>::min();
  constexpr std::int64_t highest = std::numeric_limits<std::int64_t>::max();
  const std::int64_t tsp = r.required_integer("tsp", lowest, highest);
  if (tsp < 0 || tsp >= static_cast<std::int64_t>(tsp_count)) {
    r.fail("tsp", fmt::format("TSP {} does not exist (the topology has {} TSP{}: 0..{})", tsp,
                              tsp_count, tsp_count == 1 ? "" : "s", tsp_count - 1));
  }
  const std::int64_t port = r.required_integer("port", lowest, highest);
  if (port < 0 || port >= chip.c2c_ports) {
    r.fail("port", fmt::format("port {} is out of range [0, {}] (chip.c2c_ports = {})", port,
                               chip.c2c_ports - 1, chip.c2c_ports));
  }
  return {{TspId{static_cast<std::int32_t>(tsp)}, PortId{static_cast<std::int32_t>(port)}},
          r.where(),
          r.where("tsp"),
          r.where("port")};
}

void check_port_role(const TomlReader& link, std::string_view side, const EndpointRead& end,
                     LinkClass cls, const PortPlan& plan) {
  const std::int64_t port = end.endpoint.port.value;
  auto fail = [&](std::string message) {
    throw InputError(
        std::move(message),
        ErrorContext{.where = end.port_where, .key = link.key_path(fmt::format("{}.port", side))});
  };
  if (cls == LinkClass::local) {
    if (port >= plan.local_ports) {
      fail(
          fmt::format("a local link on port {}, which is not a local port "
                      "(port_plan: local ports {})",
                      port,
                      plan.local_ports == 0 ? std::string("none")
                                            : fmt::format("0..{}", plan.local_ports - 1)));
    }
    return;
  }
  const std::int64_t first = plan.local_ports;
  const std::int64_t last = plan.local_ports + plan.global_ports - 1;
  if (port < first || port > last) {
    fail(fmt::format(
        "a {} link on port {}, which is not a global port (port_plan: global "
        "ports {})",
        link_class_name(cls), port,
        plan.global_ports == 0 ? std::string("none") : fmt::format("{}..{}", first, last)));
  }
}

std::vector<Link> read_links(const TomlReader& top, const ChipParams& chip,
                             const LinkClassTable& classes, const std::optional<PortPlan>& plan,
                             std::size_t tsp_count) {
  std::vector<Link> links;
  const toml::array* array = top.array_of_tables("link");
  if (array == nullptr) return links;
  const auto ports = static_cast<std::size_t>(chip.c2c_ports);
  // Which link holds each port so far, and where that link was written.
  std::vector<std::int32_t> port_owner(tsp_count * ports, -1);
  std::vector<SourceLocation> link_where;
  links.reserve(array->size());
  link_where.reserve(array->size());
  static const std::vector<std::string_view> keys = with_link_params({"a", "b", "class"});
  for (std::size_t i = 0; i < array->size(); ++i) {
    const std::string path = fmt::format("link[{}]", i);
    const TomlReader r(*(*array)[i].as_table(), path, "in " + path, top.file(), keys, kHints);
    Link l;
    l.id = LinkId{static_cast<std::int32_t>(i)};
    const EndpointRead a = read_endpoint(r, "a", tsp_count, chip);
    const EndpointRead b = read_endpoint(r, "b", tsp_count, chip);
    l.a = a.endpoint;
    l.b = b.endpoint;
    if (!r.has("class")) {
      r.fail_table(
          fmt::format("missing required key 'class' in {} (local, global or optical)", path));
    }
    l.cls = read_class_name(r, "class", "");
    l.params = classes[static_cast<std::size_t>(l.cls)];
    read_link_params(r, l.params);
    if (l.a.tsp == l.b.tsp) {
      throw InputError(fmt::format("the link joins TSP {} to itself", l.a.tsp.value),
                       ErrorContext{.where = b.tsp_where, .key = r.key_path("b.tsp")});
    }
    if (plan) {
      check_port_role(r, "a", a, l.cls, *plan);
      check_port_role(r, "b", b, l.cls, *plan);
    }
    for (const auto* end : {&a, &b}) {
      const Endpoint& e = end->endpoint;
      std::int32_t& owner = port_owner[e.tsp.index() * ports + e.port.index()];
      if (owner >= 0) {
        const std::string side = end == &a ? "a" : "b";
        const std::string used_by =
            static_cast<std::size_t>(owner) == i
                ? std::string("this link's other end")
                : fmt::format("link[{}] at {}", owner,
                              link_where[static_cast<std::size_t>(owner)].to_string());
        throw InputError(
            fmt::format("TSP {} port {} is already used by {}", e.tsp.value, e.port.value, used_by),
            ErrorContext{.where = end->where, .key = r.key_path(side)});
      }
      owner = static_cast<std::int32_t>(i);
    }
    link_where.push_back(r.where());
    links.push_back(l);
  }
  return links;
}

std::string stem_of(const std::string& file) {
  std::string stem = std::filesystem::path(file).stem().string();
  return stem.empty() ? std::string("topology") : stem;
}

}  // namespace

Topology load_topology_from_string(std::string_view text, const std::string& name_for_errors) {
  const std::string& file = name_for_errors;
  const toml::table root = parse_toml(text, file);
  const TomlReader top(root, "", "at the top level", file,
                       {"name", "description", "chip", "clock", "link_class", "port_plan",
                        "generator", "tsp", "link"},
                       kHints);
  std::string name = top.string("name").value_or(stem_of(file));
  (void)top.string("description");  // free text; type-checked only
  ChipParams chip = read_chip(top);
  const ClockParams clock = read_clock(top);

  if (const toml::table* generator = top.table("generator")) {
    for (std::string_view key : {"port_plan", "tsp", "link"}) {
      if (top.has(key)) {
        top.fail(key,
                 fmt::format("'{}' cannot be combined with [generator]: a generated machine is "
                             "described by its generator alone",
                             key));
      }
    }
    const GeneratorParams params = read_generator(top, *generator, chip);
    LinkClassTable defaults = default_link_classes();
    if (params.kind == GeneratorKind::dragonfly) {
      defaults[static_cast<std::size_t>(LinkClass::optical)] =
          inter_rack_link_params(chip.clock_mhz);
    }
    const LinkClassTable classes = read_link_classes(top, defaults);
    GeneratedMachine m = generate_machine(params, chip, classes);
    Topology t = Topology::assemble(std::move(name), std::move(chip), classes, m.port_plan,
                                    std::move(m.tsps), std::move(m.links));
    t.set_clock(clock);
    return t;
  }
  const LinkClassTable classes = read_link_classes(top, default_link_classes());
  const std::optional<PortPlan> plan = read_port_plan(top, chip);
  std::vector<TspInfo> tsps = read_tsps(top);
  std::vector<Link> links = read_links(top, chip, classes, plan, tsps.size());
  Topology t = Topology::assemble(std::move(name), std::move(chip), classes, plan, std::move(tsps),
                                  std::move(links));
  t.set_clock(clock);
  return t;
}

Topology load_topology(const std::filesystem::path& path) {
  return load_topology_from_string(read_input_file(path, kMaxTextInputBytes, "topology file"),
                                   path.string());
}

}  // namespace tspemu
