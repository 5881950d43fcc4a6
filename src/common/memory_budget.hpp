#pragma once
// How much memory this process may still use, so that work whose size is known up front (all-pairs
// routes of a large machine, a file to load, a graph's tensors) is refused with a clear message
// instead of ending in std::bad_alloc, the OOM killer or swap.
//
// The budget is the smallest of: the address-space limit (ulimit -v) minus what the process has
// mapped, the cgroup v2 memory limit minus its usage (a Slurm job or container), and the
// kernel's MemAvailable. Each is read when asked (cheap: a few small /proc and /sys files); one
// that cannot be read does not limit.
//
// An estimate is a floor, not a promise: code that allocates more than it estimated still ends in
// std::bad_alloc, which the command line reports as "out of memory" (cli/app.cpp), not as a bug.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tspemu {

// Bytes this process can still allocate, or nullopt if no limit could be read.
[[nodiscard]] std::optional<std::uint64_t> available_memory_bytes();

// Throws RuntimeError "<what> needs about <bytes>, but this process can use only <available> more
// (...)" when `bytes` exceeds available_memory_bytes().
void require_memory(std::uint64_t bytes, std::string_view what);

// The one-line message for a std::bad_alloc that reached the top of a command: "out of memory:
// ..." with what this process could still use, never "internal error".
[[nodiscard]] std::string out_of_memory_message();

// "1.5 GiB", "256 MiB", "12 KiB", "100 bytes".
[[nodiscard]] std::string format_bytes(std::uint64_t bytes);

}  // namespace tspemu
