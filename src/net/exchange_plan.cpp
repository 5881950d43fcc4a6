#include "net/exchange_plan.hpp"

#include <algorithm>

namespace tspemu {

void ExchangePlan::add(TspId from, TspId to, WindowIndex window) {
  auto& list = windows_[{from.value, to.value}];
  if (!list.empty() && list.back() >= window) sorted_ = false;
  if (list.empty() || list.back() != window) list.push_back(window);
}

void ExchangePlan::normalise() const {
  if (sorted_) return;
  for (auto& [pair, list] : windows_) {
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
  }
  sorted_ = true;
}

bool ExchangePlan::has_traffic(TspId from, TspId to, WindowIndex window) const {
  normalise();
  const auto it = windows_.find({from.value, to.value});
  if (it == windows_.end()) return false;
  return std::binary_search(it->second.begin(), it->second.end(), window);
}

std::size_t ExchangePlan::size() const {
  normalise();
  std::size_t n = 0;
  for (const auto& [pair, list] : windows_) n += list.size();
  return n;
}

}  // namespace tspemu
