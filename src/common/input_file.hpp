#pragma once
// Reading input files (topologies, graphs, assembly, bundles, data files) with a bound. Every
// loader reads through here, so none of them can be made to read without end (`topo /dev/zero`)
// or to load a file that does not fit in memory before saying so.
//
// - A directory is refused ("is a directory"), as is anything that is not a regular file,
//   character device or FIFO.
// - A regular file larger than max_bytes is refused from its size, before a byte is read; a device
//   or pipe is read until it ends or delivers more than max_bytes, which is refused.
// - While a CommandInputs scope is open (the command line opens one per command), every regular
//   file read is recorded as an input of that command, and output_file.hpp refuses to write over
//   it. Library users that read and write files in turn (tests) open no scope and see no refusal.
//
// Errors are InputFileErrors located at the file: "<path>: cannot read <what>: <reason>".

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace tspemu {

// An input that could not be read; reason() is the part after "cannot read <what>: ", for callers
// that locate the error elsewhere (at the file name inside a program).
class InputFileError : public InputError {
 public:
  InputFileError(const std::filesystem::path& path, std::string_view what, std::string reason);
  [[nodiscard]] const std::string& reason() const { return reason_; }

 private:
  std::string reason_;
};

// Limits for the text inputs: large enough for any machine or program a user writes by hand or
// generates (the 10,440-TSP system written out as explicit [[tsp]] and [[link]] tables is about
// 3 MB), small enough that a mistaken path fails at once.
inline constexpr std::uint64_t kMaxTextInputBytes = std::uint64_t{256} << 20;  // 256 MiB

// The whole file as bytes. `what` names the input in messages ("topology file", "graph file").
[[nodiscard]] std::string read_input_file(const std::filesystem::path& path,
                                          std::uint64_t max_bytes, std::string_view what);

// What read_input_bytes found: at most `limit` bytes of the input, and its size. For a regular file
// `size` is its size (then bytes are read only if size <= limit); for a device or pipe it is what
// was read, and limit + 1 when there was more.
struct InputBytes {
  std::vector<std::uint8_t> bytes;
  std::uint64_t size = 0;
  bool regular = false;  // a regular file: size is exact even when it exceeds the limit
  [[nodiscard]] bool exceeds(std::uint64_t limit) const { return size > limit; }
};

// For inputs whose size the program fixes (a data file of a declared shape): the caller compares
// `size` with what it needs and words the mismatch itself. Throws only for what read_input_file
// throws other than the size.
[[nodiscard]] InputBytes read_input_bytes(const std::filesystem::path& path, std::uint64_t limit,
                                          std::string_view what);

// The inputs of one command: while an object of this class lives, regular files read through this
// header are recorded, and is_input_file() reports them. Scopes nest; the records go with the
// outermost.
class CommandInputs {
 public:
  CommandInputs();
  ~CommandInputs();
  CommandInputs(const CommandInputs&) = delete;
  CommandInputs& operator=(const CommandInputs&) = delete;
};

// True if the open CommandInputs scope has read `path` (the same file by device, inode and status
// change time; regular files only). False when no scope is open.
[[nodiscard]] bool is_input_file(const std::filesystem::path& path);

}  // namespace tspemu
