#include "runtime/binding.hpp"

#include <fmt/format.h>
#include <hwloc.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <system_error>

#include "common/error.hpp"

namespace tspemu {
namespace {

// --- hwloc RAII
// -----------------------------------------------------------------------------------

struct BitmapDeleter {
  void operator()(hwloc_bitmap_s* bitmap) const { hwloc_bitmap_free(bitmap); }
};
using Bitmap = std::unique_ptr<hwloc_bitmap_s, BitmapDeleter>;

Bitmap new_bitmap() {
  Bitmap bitmap{hwloc_bitmap_alloc()};
  if (!bitmap) throw RuntimeError("hwloc: out of memory allocating a cpuset");
  return bitmap;
}

std::string errno_text(int error) {
  return std::error_code(error, std::generic_category()).message();
}

class Topology {
 public:
  Topology() {
    if (hwloc_topology_init(&topology_) != 0) {
      throw RuntimeError("hwloc: cannot initialise a topology: " + errno_text(errno));
    }
    if (hwloc_topology_load(topology_) != 0) {
      const int error = errno;
      hwloc_topology_destroy(topology_);
      throw RuntimeError("hwloc: cannot load this machine's topology: " + errno_text(error));
    }
  }
  ~Topology() { hwloc_topology_destroy(topology_); }
  Topology(const Topology&) = delete;
  Topology& operator=(const Topology&) = delete;
  Topology(Topology&&) = delete;
  Topology& operator=(Topology&&) = delete;

  [[nodiscard]] hwloc_topology_t get() const { return topology_; }

  // Cores intersecting the allowed cpuset (the cgroup / cpuset the OS lets this process use), in
  // hwloc's logical order, which is stable for a given machine.
  [[nodiscard]] std::vector<hwloc_obj_t> allowed_cores() const {
    std::vector<hwloc_obj_t> cores;
    hwloc_const_cpuset_t allowed = hwloc_topology_get_allowed_cpuset(topology_);
    for (hwloc_obj_t core = hwloc_get_next_obj_by_type(topology_, HWLOC_OBJ_CORE, nullptr);
         core != nullptr; core = hwloc_get_next_obj_by_type(topology_, HWLOC_OBJ_CORE, core)) {
      if (hwloc_bitmap_intersects(core->cpuset, allowed)) cores.push_back(core);
    }
    if (cores.empty()) {
      // Some virtual machines report PUs without cores: treat each allowed PU as a core.
      for (hwloc_obj_t pu = hwloc_get_next_obj_by_type(topology_, HWLOC_OBJ_PU, nullptr);
           pu != nullptr; pu = hwloc_get_next_obj_by_type(topology_, HWLOC_OBJ_PU, pu)) {
        if (hwloc_bitmap_intersects(pu->cpuset, allowed)) cores.push_back(pu);
      }
    }
    return cores;
  }

  // The PUs this process may run on now (every thread's binding, merged).
  [[nodiscard]] Bitmap current_binding() const {
    Bitmap set = new_bitmap();
    if (hwloc_get_cpubind(topology_, set.get(), HWLOC_CPUBIND_PROCESS) != 0 &&
        hwloc_get_cpubind(topology_, set.get(), HWLOC_CPUBIND_THREAD) != 0) {
      // No binding support on this OS: the process may run anywhere it is allowed to.
      hwloc_bitmap_copy(set.get(), hwloc_topology_get_allowed_cpuset(topology_));
    }
    return set;
  }

 private:
  hwloc_topology_t topology_ = nullptr;
};

std::string list_syntax(hwloc_const_bitmap_t set) {
  char* text = nullptr;
  if (hwloc_bitmap_list_asprintf(&text, set) < 0 || text == nullptr) {
    throw RuntimeError("hwloc: out of memory printing a cpuset");
  }
  std::string result{text};
  std::free(text);  // NOLINT(cppcoreguidelines-no-malloc): hwloc allocates with malloc
  return result;
}

int numa_node_of(const Topology& topology, hwloc_const_bitmap_t set) {
  for (hwloc_obj_t node = hwloc_get_next_obj_by_type(topology.get(), HWLOC_OBJ_NUMANODE, nullptr);
       node != nullptr;
       node = hwloc_get_next_obj_by_type(topology.get(), HWLOC_OBJ_NUMANODE, node)) {
    if (node->cpuset != nullptr && hwloc_bitmap_isincluded(set, node->cpuset)) {
      return static_cast<int>(node->os_index);
    }
  }
  return -1;
}

std::string host_name() {
  std::array<char, 256> buffer{};
  if (gethostname(buffer.data(), buffer.size() - 1) != 0) return "unknown";
  return std::string{buffer.data()};
}

// A positive integer from the environment, or nullopt if unset or not a number.
std::optional<int> env_count(const char* name) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return std::nullopt;
  int value = 0;
  const char* end = text + std::strlen(text);
  auto [ptr, error] = std::from_chars(text, end, value);
  if (error != std::errc{} || ptr != end || value < 1) return std::nullopt;
  return value;
}

bool env_set(const char* name) {
  return std::getenv(name) != nullptr;
}

constexpr std::string_view kLaunchAdvice =
    "launch with `srun --mpi=pmix ...` (or set MpiDefault=pmix in slurm.conf), or with mpirun "
    "(launch/tspemu-mpirun builds the right line)";

}  // namespace

BindPolicy parse_bind_policy(std::string_view text) {
  if (text == "none") return BindPolicy::none;
  if (text == "core") return BindPolicy::core;
  throw InputError(fmt::format("unknown binding policy '{}' (expected core or none)", text),
                   ErrorContext{.key = "--bind"});
}

std::string_view to_string(BindPolicy policy) {
  switch (policy) {
    case BindPolicy::none:
      return "none";
    case BindPolicy::core:
      return "core";
  }
  TSPEMU_ASSERT(false, "unknown BindPolicy");
  return "";
}

RankBinding local_binding() {
  RankBinding binding;
  binding.host = host_name();
  const Topology topology;
  const Bitmap cpuset = topology.current_binding();
  binding.cpuset = list_syntax(cpuset.get());
  binding.numa_node = numa_node_of(topology, cpuset.get());
  const std::vector<hwloc_obj_t> cores = topology.allowed_cores();
  binding.host_cores = static_cast<int>(cores.size());
  for (hwloc_obj_t core : cores) {
    if (hwloc_bitmap_intersects(core->cpuset, cpuset.get())) {
      binding.cores.push_back(hwloc_bitmap_first(core->cpuset));
    }
  }
  std::sort(binding.cores.begin(), binding.cores.end());
  return binding;
}

void combine_bindings(std::span<RankBinding> bindings) {
  const int size = static_cast<int>(bindings.size());
  for (int r = 0; r < size; ++r) {
    RankBinding& b = bindings[static_cast<std::size_t>(r)];
    b.rank = r;
    b.size = size;
    b.local_rank = 0;
    b.local_size = 0;
    b.ranks_sharing_core = 0;
    for (int q = 0; q < size; ++q) {
      const RankBinding& other = bindings[static_cast<std::size_t>(q)];
      if (other.host != b.host) continue;
      ++b.local_size;
      if (q < r) ++b.local_rank;
    }
    for (const int core : b.cores) {
      int sharing = 0;
      for (const RankBinding& other : bindings) {
        if (other.host == b.host &&
            std::binary_search(other.cores.begin(), other.cores.end(), core)) {
          ++sharing;
        }
      }
      b.ranks_sharing_core = std::max(b.ranks_sharing_core, sharing);
    }
  }
}

std::vector<RankBinding> exchange_bindings(WatchedComm& comm) {
  // Serialised as JSON text: a handful of short strings per rank, once per run.
  std::vector<RankBinding> all;
  for (const std::string& text :
       comm.allgather(nlohmann::json(local_binding()).dump(), "the exchange of rank bindings")) {
    all.push_back(nlohmann::json::parse(text).get<RankBinding>());
  }
  combine_bindings(all);
  return all;
}

void bind_to_core(BindPolicy policy, int local_rank) {
  if (policy == BindPolicy::none) return;
  TSPEMU_ASSERT(local_rank >= 0, "bind_to_core: negative local rank");
  const Topology topology;
  const std::vector<hwloc_obj_t> cores = topology.allowed_cores();
  if (cores.empty()) throw RuntimeError("--bind core: hwloc finds no core this process may use");
  const std::size_t index = static_cast<std::size_t>(local_rank) % cores.size();
  const Bitmap target = new_bitmap();
  hwloc_bitmap_and(target.get(), cores[index]->cpuset,
                   hwloc_topology_get_allowed_cpuset(topology.get()));
  // PROCESS: every thread (MPI's progress threads too), not only the calling one.
  if (hwloc_set_cpubind(topology.get(), target.get(), HWLOC_CPUBIND_PROCESS) != 0) {
    throw RuntimeError(fmt::format("--bind core: cannot pin local rank {} to core {} (PUs {}): {}",
                                   local_rank, index, list_syntax(target.get()),
                                   errno_text(errno)));
  }
}

std::string describe_binding(const RankBinding& b) {
  return fmt::format("rank {}/{} on {}: local rank {}/{}, cpuset {}, NUMA node {}, {}", b.rank,
                     b.size, b.host, b.local_rank, b.local_size, b.cpuset,
                     b.numa_node >= 0 ? std::to_string(b.numa_node) : std::string("several"),
                     b.ranks_sharing_core <= 1
                         ? std::string("a core to itself")
                         : fmt::format("{} ranks may share a core", b.ranks_sharing_core));
}

std::string sharing_summary(std::span<const RankBinding> bindings) {
  struct Host {
    std::string name;
    int ranks = 0;
    int cores = 0;
    int worst = 0;
  };
  std::vector<Host> hosts;  // in order of first appearance: deterministic for a given placement
  for (const RankBinding& b : bindings) {
    auto it =
        std::find_if(hosts.begin(), hosts.end(), [&](const Host& h) { return h.name == b.host; });
    if (it == hosts.end()) {
      hosts.push_back(Host{.name = b.host});
      it = std::prev(hosts.end());
    }
    ++it->ranks;
    it->cores = std::max(it->cores, b.host_cores);
    it->worst = std::max(it->worst, b.ranks_sharing_core);
  }
  std::string text;
  for (const Host& h : hosts) {
    if (!text.empty()) text += "; ";
    text += fmt::format("{} rank{} on {} ({} core{}): ", h.ranks, h.ranks == 1 ? "" : "s", h.name,
                        h.cores, h.cores == 1 ? "" : "s");
    text += h.worst <= 1 ? std::string("one rank per core")
                         : fmt::format("up to {} ranks share a core", h.worst);
  }
  return text;
}

void to_json(nlohmann::json& json, const RankBinding& b) {
  json = nlohmann::json{{"host", b.host},
                        {"rank", b.rank},
                        {"size", b.size},
                        {"local_rank", b.local_rank},
                        {"local_size", b.local_size},
                        {"cpuset", b.cpuset},
                        {"numa_node", b.numa_node},
                        {"host_cores", b.host_cores},
                        {"ranks_sharing_core", b.ranks_sharing_core},
                        {"cores", b.cores}};
}

void from_json(const nlohmann::json& json, RankBinding& b) {
  json.at("host").get_to(b.host);
  json.at("rank").get_to(b.rank);
  json.at("size").get_to(b.size);
  json.at("local_rank").get_to(b.local_rank);
  json.at("local_size").get_to(b.local_size);
  json.at("cpuset").get_to(b.cpuset);
  json.at("numa_node").get_to(b.numa_node);
  json.at("host_cores").get_to(b.host_cores);
  json.at("ranks_sharing_core").get_to(b.ranks_sharing_core);
  json.at("cores").get_to(b.cores);
}

std::optional<std::string> launcher_mismatch_hint_before_init() {
  const std::optional<int> tasks = env_count("SLURM_STEP_NUM_TASKS");
  if (!tasks || *tasks <= 1) return std::nullopt;
  // Any of these means a process-management interface is there for MPI_Init to use.
  for (const char* name :
       {"PMIX_RANK", "PMIX_NAMESPACE", "OMPI_COMM_WORLD_SIZE", "PMI_RANK", "PMI_FD", "PMI_SIZE"}) {
    if (env_set(name)) return std::nullopt;
  }
  return fmt::format(
      "srun started this process as one of {} tasks (SLURM_STEP_NUM_TASKS={}) without a "
      "process-management interface for MPI (no PMIx), so the tasks cannot form one MPI job; {}",
      *tasks, *tasks, kLaunchAdvice);
}

std::optional<std::string> launcher_mismatch_hint(int comm_size) {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS"}) {
    const std::optional<int> started = env_count(name);
    if (!started) continue;
    if (*started == comm_size) return std::nullopt;
    return fmt::format("the launcher started {} processes ({}={}) but MPI sees {} rank{}{}; {}",
                       *started, name, *started, comm_size, comm_size == 1 ? "" : "s",
                       comm_size == 1 ? " (every process is an MPI singleton)" : "", kLaunchAdvice);
  }
  return std::nullopt;
}

}  // namespace tspemu
