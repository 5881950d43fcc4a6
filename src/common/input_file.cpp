#include "common/input_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <tuple>
#include <utility>

#include "common/error.hpp"
#include "common/memory_budget.hpp"

namespace tspemu {
namespace {

// The regular files this process has read, for is_input_file: device, inode and status-change
// time, so that an inode freed by a deleted file and reused by a new one is not mistaken for it.
using FileKey = std::tuple<dev_t, ino_t, std::int64_t, std::int64_t>;

FileKey key_of(const struct stat& st) {
  return {st.st_dev, st.st_ino, st.st_ctim.tv_sec, st.st_ctim.tv_nsec};
}

struct InputRegistry {
  std::mutex mutex;
  int scopes = 0;  // open CommandInputs objects
  std::vector<FileKey> files;
};

InputRegistry& registry() {
  static InputRegistry r;
  return r;
}

void remember(const struct stat& st) {
  InputRegistry& r = registry();
  const std::lock_guard lock(r.mutex);
  if (r.scopes == 0) return;
  const FileKey key = key_of(st);
  if (std::find(r.files.begin(), r.files.end(), key) == r.files.end()) r.files.push_back(key);
}

[[noreturn]] void fail(const std::filesystem::path& path, std::string_view what,
                       std::string reason) {
  throw InputFileError(path, what, std::move(reason));
}

// Closes the descriptor on every path out.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  [[nodiscard]] int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

InputFileError::InputFileError(const std::filesystem::path& path, std::string_view what,
                               std::string reason)
    : InputError(SourceLocation{path.string(), 0, 0},
                 fmt::format("cannot read {}: {}", what, reason)),
      reason_(std::move(reason)) {}

InputBytes read_input_bytes(const std::filesystem::path& path, std::uint64_t limit,
                            std::string_view what) {
  // O_NONBLOCK would make a FIFO without a writer read as empty; a FIFO is read as `cat` would.
  const Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0) fail(path, what, std::strerror(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) fail(path, what, std::strerror(errno));
  const bool regular = S_ISREG(st.st_mode);
  if (S_ISDIR(st.st_mode)) fail(path, what, "it is a directory");
  if (!regular && !S_ISCHR(st.st_mode) && !S_ISFIFO(st.st_mode)) {
    fail(path, what, "it is not a regular file, character device or pipe");
  }
  InputBytes out;
  out.regular = regular;
  if (regular) {
    remember(st);
    out.size = static_cast<std::uint64_t>(st.st_size);
    if (out.size > limit) return out;  // refused from the size: nothing read
    require_memory(out.size, fmt::format("reading {} '{}'", what, path.string()));
  }
  // Reads until the end (a regular file may change size meanwhile: what is read counts) or until
  // more than `limit` bytes came.
  constexpr std::size_t kChunk = std::size_t{1} << 16;
  // Room for the file and the last read that finds its end: a buffer of exactly the file's size
  // would be reallocated (and the whole file copied into fresh pages) by that last read.
  if (regular) out.bytes.reserve(static_cast<std::size_t>(out.size) + kChunk);
  std::uint64_t total = 0;
  for (;;) {
    const std::size_t old = out.bytes.size();
    const std::uint64_t room = limit + 1 - total;
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, room));
    out.bytes.resize(old + want);
    const ssize_t n = ::read(fd.get(), out.bytes.data() + old, want);
    if (n < 0) {
      if (errno == EINTR) {
        out.bytes.resize(old);
        continue;
      }
      fail(path, what, std::strerror(errno));
    }
    out.bytes.resize(old + static_cast<std::size_t>(n));
    total += static_cast<std::uint64_t>(n);
    if (n == 0 || total > limit) break;
  }
  out.size = regular ? std::max(out.size, total) : total;
  if (out.size > limit) out.bytes.clear();
  return out;
}

std::string read_input_file(const std::filesystem::path& path, std::uint64_t max_bytes,
                            std::string_view what) {
  InputBytes in = read_input_bytes(path, max_bytes, what);
  if (in.exceeds(max_bytes)) {
    fail(path, what,
         fmt::format("it holds more than {} (the limit for a {})", format_bytes(max_bytes), what));
  }
  return std::string(in.bytes.begin(), in.bytes.end());
}

CommandInputs::CommandInputs() {
  InputRegistry& r = registry();
  const std::lock_guard lock(r.mutex);
  ++r.scopes;
}

CommandInputs::~CommandInputs() {
  InputRegistry& r = registry();
  const std::lock_guard lock(r.mutex);
  if (--r.scopes == 0) r.files.clear();
}

bool is_input_file(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  InputRegistry& r = registry();
  const std::lock_guard lock(r.mutex);
  return std::find(r.files.begin(), r.files.end(), key_of(st)) != r.files.end();
}

}  // namespace tspemu
