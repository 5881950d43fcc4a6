#include "runtime/profile.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <utility>

#include "common/error.hpp"

namespace tspemu {

std::vector<OpAttribution> attribute_cycles(std::span<const OpSpan> ops, Cycle cycles) {
  // Events: an op becomes active at start and inactive after finish.
  std::vector<std::pair<Cycle, std::size_t>> begins;
  std::vector<std::pair<Cycle, std::size_t>> ends;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (ops[i].start < 0 || ops[i].finish < ops[i].start) continue;
    begins.emplace_back(std::min(ops[i].start, cycles), i);
    ends.emplace_back(std::min(ops[i].finish + 1, cycles), i);
  }
  std::sort(begins.begin(), begins.end());
  std::sort(ends.begin(), ends.end());
  std::vector<Cycle> charged(ops.size(), 0);
  std::set<std::pair<Cycle, std::size_t>> active;  // (start, index): the last is charged
  std::size_t b = 0;
  std::size_t e = 0;
  Cycle at = 0;
  while (b < begins.size() || e < ends.size()) {
    const Cycle next = std::min(b < begins.size() ? begins[b].first : cycles,
                                e < ends.size() ? ends[e].first : cycles);
    if (!active.empty() && next > at) charged[active.rbegin()->second] += next - at;
    at = std::max(at, next);
    while (e < ends.size() && ends[e].first == at) {
      const std::size_t i = ends[e++].second;
      active.erase({ops[i].start, i});
    }
    while (b < begins.size() && begins[b].first == at) {
      const std::size_t i = begins[b++].second;
      active.insert({ops[i].start, i});
    }
    if (b >= begins.size() && e >= ends.size()) break;
  }
  std::vector<OpAttribution> out;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (ops[i].start < 0) continue;
    out.push_back({ops[i].op, ops[i].start, ops[i].finish, charged[i], ops[i].layer});
  }
  std::stable_sort(out.begin(), out.end(), [](const OpAttribution& x, const OpAttribution& y) {
    return x.attributed > y.attributed;
  });
  return out;
}

std::vector<CycleGroup> cycles_by_layer(std::span<const OpAttribution> ops) {
  // Order: layer number, then lm_head, then anything else ("-").
  auto key = [](const std::string& layer) -> std::pair<int, long long> {
    if (layer.size() > 1 && layer[0] == 'l' &&
        layer.find_first_not_of("0123456789", 1) == std::string::npos && layer.size() < 12) {
      return {0, std::stoll(layer.substr(1))};
    }
    return {layer == "lm_head" ? 1 : 2, 0};
  };
  std::map<std::pair<int, long long>, CycleGroup> groups;
  for (const OpAttribution& o : ops) {
    if (o.layer.empty()) continue;
    CycleGroup& g = groups[key(o.layer)];
    g.name = o.layer;
    g.cycles += o.attributed;
    ++g.ops;
  }
  std::vector<CycleGroup> out;
  for (auto& entry : groups) out.push_back(std::move(entry.second));
  return out;
}

std::vector<CycleGroup> cycles_by_phase(std::span<const OpAttribution> ops) {
  std::vector<CycleGroup> out = {
      {"matmul", 0, 0}, {"element-wise", 0, 0}, {"collective", 0, 0}, {"pipeline transfer", 0, 0}};
  for (const OpAttribution& o : ops) {
    // "op[3] (matmul)" or "op[3] (matmul 'w1')": the kind follows the parenthesis.
    const auto open = o.op.find('(');
    const auto end = o.op.find_first_of(" )", open == std::string::npos ? 0 : open);
    const std::string kind = open == std::string::npos || end == std::string::npos
                                 ? std::string()
                                 : o.op.substr(open + 1, end - open - 1);
    std::size_t g = 1;
    if (kind == "matmul") g = 0;
    if (kind == "all_reduce" || kind == "reduce_scatter" || kind == "all_gather") g = 2;
    if (kind == "broadcast" || kind == "send") g = 3;
    out[g].cycles += o.attributed;
    ++out[g].ops;
  }
  return out;
}

std::vector<UnitClassBusy> unit_class_busy(const nlohmann::json& run_report) {
  if (!run_report.is_object() || !run_report.contains("per_tsp") ||
      !run_report["per_tsp"].is_array()) {
    throw InputError("not a run report (no per_tsp array): give `tspemu run --report` output");
  }
  static constexpr std::array<const char*, 6> kClasses = {"MEM", "VXM", "MXM", "SXM", "C2C", "ICU"};
  std::vector<UnitClassBusy> out;
  for (const char* c : kClasses) out.push_back(UnitClassBusy{c});
  std::vector<double> utilisation_sum(out.size(), 0.0);
  for (const auto& tsp : run_report["per_tsp"]) {
    for (const auto& unit : tsp.value("units", nlohmann::json::array())) {
      const std::string name = unit.value("unit", "");
      std::size_t k = out.size();
      for (std::size_t i = 0; i < kClasses.size(); ++i) {
        if (name.rfind(kClasses[i], 0) == 0) k = i;
      }
      if (k == out.size()) continue;
      ++out[k].units;
      out[k].instructions += unit.value("instructions", std::int64_t{0});
      out[k].busy_cycles += unit.value("busy_cycles", std::int64_t{0});
      utilisation_sum[k] += unit.value("utilisation", 0.0);
    }
  }
  for (std::size_t k = 0; k < out.size(); ++k) {
    if (out[k].units > 0)
      out[k].utilisation = utilisation_sum[k] / static_cast<double>(out[k].units);
  }
  return out;
}

}  // namespace tspemu
