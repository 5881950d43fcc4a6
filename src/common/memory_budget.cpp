#include "common/memory_budget.hpp"

#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

#include "common/error.hpp"

namespace tspemu {
namespace {

std::optional<std::uint64_t> parse_u64(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return v;
}

std::optional<std::string> slurp_small(const char* path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// ulimit -v minus the current virtual size.
std::optional<std::uint64_t> address_space_room() {
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_AS, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return std::nullopt;
  const auto statm = slurp_small("/proc/self/statm");
  if (!statm) return std::nullopt;
  const auto pages = parse_u64(statm->substr(0, statm->find(' ')));
  if (!pages) return std::nullopt;
  const std::uint64_t used = *pages * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  const auto cap = static_cast<std::uint64_t>(limit.rlim_cur);
  return cap > used ? cap - used : 0;
}

// The cgroup v2 limit of this process's group minus its usage.
std::optional<std::uint64_t> cgroup_room() {
  const auto self = slurp_small("/proc/self/cgroup");  // "0::/path\n" on cgroup v2
  if (!self || self->rfind("0::", 0) != 0) return std::nullopt;
  std::string group = self->substr(3);
  while (!group.empty() && group.back() == '\n') group.pop_back();
  const std::string dir = "/sys/fs/cgroup" + (group == "/" ? std::string() : group);
  const auto max = slurp_small((dir + "/memory.max").c_str());
  const auto current = slurp_small((dir + "/memory.current").c_str());
  if (!max || !current) return std::nullopt;
  const auto cap = parse_u64(*max);  // "max" does not parse: no limit
  const auto used = parse_u64(*current);
  if (!cap || !used) return std::nullopt;
  return *cap > *used ? *cap - *used : 0;
}

std::optional<std::uint64_t> mem_available() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  std::uint64_t kib = 0;
  std::string unit;
  while (in >> key >> kib >> unit) {
    if (key == "MemAvailable:") return kib * 1024;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::uint64_t> available_memory_bytes() {
  std::optional<std::uint64_t> room;
  for (const auto& bound : {address_space_room(), cgroup_room(), mem_available()}) {
    if (bound) room = room ? std::min(*room, *bound) : *bound;
  }
  return room;
}

void require_memory(std::uint64_t bytes, std::string_view what) {
  const auto room = available_memory_bytes();
  if (!room || bytes <= *room) return;
  throw RuntimeError(fmt::format(
      "{} needs about {}, but this process can use only {} more (the smallest of ulimit -v, the "
      "cgroup memory limit and the memory the system has available)",
      what, format_bytes(bytes), format_bytes(*room)));
}

std::string out_of_memory_message() {
  const auto room = available_memory_bytes();
  return fmt::format(
      "out of memory: an allocation failed{}; run it where more memory is available (or raise "
      "ulimit -v / the job's memory limit), or on a smaller machine description or graph",
      room ? fmt::format(" (this process could still use about {})", format_bytes(*room)) : "");
}

std::string format_bytes(std::uint64_t bytes) {
  constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return fmt::format("{} byte{}", bytes, bytes == 1 ? "" : "s");
  double value = static_cast<double>(bytes) / 1024.0;
  int unit = 0;
  while (value >= 1024.0 && unit < 5) {
    value /= 1024.0;
    ++unit;
  }
  if (value == static_cast<double>(static_cast<std::uint64_t>(value))) {
    return fmt::format("{} {}", static_cast<std::uint64_t>(value), kUnits[unit]);
  }
  return fmt::format("{:.1f} {}", value, kUnits[unit]);
}

}  // namespace tspemu
