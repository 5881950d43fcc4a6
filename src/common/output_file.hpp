#pragma once
// Where tspemu writes its results (bundles, reports, dumps, disassembly), and what it never
// replaces. One set of rules for every output path of every subcommand:
//
// - A path that does not exist is created atomically: the bytes go to an anonymous file in the
//   target's directory (O_TMPFILE), which is flushed, given a temporary name and renamed into
//   place. Nobody ever sees a half-written file, and a killed write leaves nothing behind (where
//   the file system lacks O_TMPFILE, a named temporary is used and removed on every error path).
// - An existing regular file is replaced the same way and keeps its permission bits. A read-only
//   one (no write permission bit, even for root) is refused, not replaced.
// - A character device or a FIFO (/dev/null, a pipe, a terminal) is written through, in place:
//   never renamed over.
// - A symbolic link is never replaced: the rules apply to what it points to (a link to a regular
//   file replaces that file atomically, the link stays). Links through /proc (/dev/stdout,
//   /dev/fd/N) name an open file of this process: they are written through, appending, so what the
//   process already wrote there is kept. A link to nothing is refused.
// - Anything else (a directory, a block device, a socket) is refused.
//
// Refusals are InputErrors naming the option and the path; I/O failures are RuntimeErrors naming
// the path and the OS error. Either way nothing at the path has changed.
//
// Inputs are protected too: an output path that names a file this process has read as input
// (common/input_file.hpp) is refused, so `tspemu asm p.tsa -o p.tsa` cannot destroy its source.

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tspemu {

// Writes `bytes` to `path` by the rules above. `option` names the path in messages ("--report",
// "-o"); empty: the path alone.
void write_output_file(const std::filesystem::path& path, std::span<const std::uint8_t> bytes,
                       std::string_view option = {});
void write_output_file(const std::filesystem::path& path, std::string_view text,
                       std::string_view option = {});

// One path a command line names, for check_output_paths.
struct NamedPath {
  std::string option;  // "-o", "--report", "--dump e", "graph"
  std::filesystem::path path;
};

// Checks, before any work is done, that every output could be written by the rules above (not
// empty, not a directory, block device, socket, read-only file or dangling link; its directory
// exists), and that no output names an input or another output (the same file by device and
// inode, or the same path once resolved). Throws InputError naming both options. Outputs that
// are character devices or FIFOs may repeat (two reports to /dev/null are fine).
void check_output_paths(std::span<const NamedPath> inputs, std::span<const NamedPath> outputs);

}  // namespace tspemu
