#pragma once
// Rank-tagged logging to stderr (STYLE.md habit 5). Library code logs through tspemu::log(); it
// never writes to stdout, which carries results (summaries, the final `digest:` line).
//
// Lines look like "[tspemu r3] warning: ...": the rank tag appears once MPI has given us a rank
// (set_log_rank), so messages from 72 ranks can be told apart and sorted.

#include <spdlog/spdlog.h>

#include <string_view>

namespace tspemu {

// The process-wide logger (created on first use, writes to stderr).
spdlog::logger& log();

// Tag subsequent lines with this MPI rank (-1 removes the tag).
void set_log_rank(int rank);

// "off", "error", "warn", "info", "debug", "trace"; throws InputError on anything else.
void set_log_level(std::string_view level);

}  // namespace tspemu
