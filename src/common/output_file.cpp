#include "common/output_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <system_error>

#include "common/error.hpp"
#include "common/input_file.hpp"

namespace fs = std::filesystem;

namespace tspemu {
namespace {

// How a path is written (output_file.hpp has the rules).
enum class How : std::uint8_t {
  create,          // nothing there: atomic create
  replace,         // a regular file: atomic replace, keeping its mode
  write_through,   // a character device or FIFO: opened and written in place
  append_through,  // a regular file named through /proc (/dev/stdout): appended to
};

struct Resolved {
  How how = How::create;
  fs::path file;       // what create/replace act on (a link's target for a link)
  mode_t mode = 0644;  // permission bits of the result
  struct stat st {};   // of the existing file (not for create)
};

// New files get rw-r--r--: results are ordinary user files.
constexpr mode_t kNewFileMode = 0644;

std::string named(const fs::path& path, std::string_view option) {
  if (option.empty()) return fmt::format("'{}'", path.string());
  return fmt::format("{} '{}'", option, path.string());
}

[[noreturn]] void refuse(const fs::path& path, std::string_view option, std::string_view why) {
  throw InputError(fmt::format("cannot write {}: {}", named(path, option), why));
}

[[noreturn]] void io_failure(const fs::path& path, std::string_view step, int err) {
  throw RuntimeError(
      fmt::format("cannot write '{}': {} failed: {}", path.string(), step, std::strerror(err)));
}

std::string_view kind_refusal(mode_t mode) {
  if (S_ISDIR(mode)) return "it is a directory";
  if (S_ISBLK(mode))
    return "it is a block device (tspemu writes regular files, character devices "
           "and pipes)";
  if (S_ISSOCK(mode)) return "it is a socket";
  return "it is not a regular file, character device or pipe";
}

bool read_only(const fs::path& path, const struct stat& st) {
  // Root may write anything, so access(2) says yes; a file without any write bit is still one its
  // owner marked as not to be changed.
  if (::geteuid() == 0) return (st.st_mode & 0222) == 0;
  return ::faccessat(AT_FDCWD, path.c_str(), W_OK, AT_EACCESS) != 0;
}

// True if resolving `path` passes through /proc: a link into /proc (/dev/stdout ->
// /proc/self/fd/1) or a directory inside it (/dev/fd/1, /proc/self/fd/1). Such a name is an open
// file of this process, which must be written to, never replaced.
bool through_proc(const fs::path& path) {
  fs::path p = path;
  for (int hop = 0; hop < 40; ++hop) {
    std::error_code ec;
    const fs::path dir = fs::canonical(p.has_parent_path() ? p.parent_path() : fs::path("."), ec);
    if (!ec && dir.string().rfind("/proc/", 0) == 0) return true;
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return false;
    fs::path target = fs::read_symlink(p, ec);
    if (ec) return false;
    if (target.is_relative()) target = p.parent_path() / target;
    if (target.string().rfind("/proc/", 0) == 0) return true;
    p = target;
  }
  return false;
}

Resolved resolve(const fs::path& path, std::string_view option) {
  if (path.empty()) refuse(path, option, "the path is empty");
  Resolved r;
  r.file = path;
  struct stat lst {};
  if (::lstat(path.c_str(), &lst) != 0) {
    if (errno != ENOENT) io_failure(path, "looking up the path", errno);
    const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
    struct stat dst {};
    if (::stat(dir.c_str(), &dst) != 0 || !S_ISDIR(dst.st_mode)) {
      refuse(path, option, fmt::format("directory '{}' does not exist", dir.string()));
    }
    r.how = How::create;
    r.mode = kNewFileMode;
    return r;
  }
  struct stat st = lst;
  if (S_ISLNK(lst.st_mode)) {
    if (::stat(path.c_str(), &st) != 0) {
      refuse(path, option, "it is a symbolic link to nothing (tspemu does not replace links)");
    }
    if (through_proc(path)) {
      if (S_ISREG(st.st_mode)) {
        r.how = How::append_through;
      } else if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) {
        r.how = How::write_through;
      } else {
        refuse(path, option, kind_refusal(st.st_mode));
      }
      r.st = st;
      return r;
    }
    std::error_code ec;
    r.file = fs::canonical(path, ec);
    if (ec) io_failure(path, "resolving the symbolic link", ec.value());
  }
  r.st = st;
  if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) {
    r.how = How::write_through;
    return r;
  }
  if (!S_ISREG(st.st_mode)) refuse(path, option, kind_refusal(st.st_mode));
  if (read_only(r.file, st)) {
    refuse(path, option,
           fmt::format("it is read-only (mode {:04o}); tspemu does not replace it",
                       st.st_mode & 07777));
  }
  if (is_input_file(r.file)) {
    refuse(path, option, "it is an input of this command; tspemu does not overwrite its inputs");
  }
  r.how = How::replace;
  r.mode = st.st_mode & 07777;
  return r;
}

void write_all(int fd, std::span<const std::uint8_t> bytes, const fs::path& path) {
  const std::uint8_t* p = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      io_failure(path, "write", errno);
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

void write_through(const fs::path& path, std::span<const std::uint8_t> bytes, bool append) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY | (append ? O_APPEND : 0));
  if (fd < 0) io_failure(path, "open", errno);
  try {
    write_all(fd, bytes, path);
  } catch (...) {
    ::close(fd);
    throw;
  }
  if (::close(fd) != 0) io_failure(path, "close", errno);
}

// A name for the temporary link: hidden, next to the target, unique enough to retry on a clash.
std::string temporary_name(const fs::path& target) {
  static std::atomic<std::uint64_t> counter{0};
  const auto ticks =
      static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  return fmt::format(".{}.tmp.{}.{:x}", target.filename().string(), ::getpid(),
                     (ticks * 0x9E3779B97F4A7C15ULL) ^ counter.fetch_add(1));
}

void write_atomically(const fs::path& target, std::span<const std::uint8_t> bytes, mode_t mode) {
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  // An anonymous file first: if this process dies before the rename, nothing is left behind.
  int fd = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
  const bool anonymous = fd >= 0;
  fs::path temporary;
  if (!anonymous) {
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
      io_failure(target, "creating a temporary file", errno);
    }
    // File systems without O_TMPFILE: a named temporary, removed on every error path.
    std::string pattern = (dir / (temporary_name(target) + "XXXXXX")).string();
    fd = ::mkstemp(pattern.data());
    if (fd < 0) io_failure(target, "creating a temporary file", errno);
    temporary = pattern;
  }
  auto discard = [&] {
    ::close(fd);
    if (!temporary.empty()) ::unlink(temporary.c_str());
  };
  try {
    write_all(fd, bytes, target);
  } catch (...) {
    discard();
    throw;
  }
  if (::fchmod(fd, mode) != 0 || ::fsync(fd) != 0) {
    const int err = errno;
    discard();
    io_failure(target, "flushing the temporary file", err);
  }
  if (anonymous) {
    // Give the anonymous file a name (linkat through /proc works without privileges), then rename.
    const std::string self = fmt::format("/proc/self/fd/{}", fd);
    for (int attempt = 0;; ++attempt) {
      temporary = dir / temporary_name(target);
      if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, temporary.c_str(), AT_SYMLINK_FOLLOW) == 0) {
        break;
      }
      if (errno != EEXIST || attempt == 8) {
        const int err = errno;
        temporary.clear();
        discard();
        io_failure(target, "naming the temporary file", err);
      }
    }
  }
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(temporary.c_str());
    io_failure(target, "close", err);
  }
  if (::rename(temporary.c_str(), target.c_str()) != 0) {
    const int err = errno;
    ::unlink(temporary.c_str());
    io_failure(target, "rename", err);
  }
  // The rename is durable once the directory is (best effort: some file systems refuse).
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    (void)::fsync(dir_fd);
    ::close(dir_fd);
  }
}

// What identifies a path's file for the "same file" checks.
struct Identity {
  std::optional<std::pair<dev_t, ino_t>> inode;  // existing files
  fs::path resolved;                             // weakly canonical path
  bool device = false;                           // character device or FIFO
};

Identity identify(const fs::path& path) {
  Identity id;
  std::error_code ec;
  id.resolved = fs::weakly_canonical(path, ec);
  if (ec) id.resolved = fs::absolute(path, ec).lexically_normal();
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    id.inode = std::make_pair(st.st_dev, st.st_ino);
    id.device = S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode);
  }
  return id;
}

bool same_file(const Identity& a, const Identity& b) {
  if (a.inode && b.inode) return *a.inode == *b.inode;
  return a.resolved == b.resolved;
}

}  // namespace

void write_output_file(const fs::path& path, std::span<const std::uint8_t> bytes,
                       std::string_view option) {
  const Resolved r = resolve(path, option);
  switch (r.how) {
    case How::create:
    case How::replace:
      write_atomically(r.file, bytes, r.mode);
      return;
    case How::write_through:
      write_through(path, bytes, false);
      return;
    case How::append_through:
      write_through(path, bytes, true);
      return;
  }
}

void write_output_file(const fs::path& path, std::string_view text, std::string_view option) {
  write_output_file(
      path, std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()), option);
}

void check_output_paths(std::span<const NamedPath> inputs, std::span<const NamedPath> outputs) {
  std::vector<Identity> input_ids;
  input_ids.reserve(inputs.size());
  for (const NamedPath& in : inputs) input_ids.push_back(identify(in.path));
  std::vector<Identity> output_ids;
  for (const NamedPath& out : outputs) {
    (void)resolve(out.path, out.option);  // refusals: empty, directory, read-only, ...
    const Identity id = identify(out.path);
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      if (!input_ids[i].device && same_file(id, input_ids[i])) {
        throw InputError(fmt::format(
            "cannot write {}: it is the same file as {} '{}'; tspemu does not overwrite its "
            "inputs",
            named(out.path, out.option), inputs[i].option, inputs[i].path.string()));
      }
    }
    for (std::size_t j = 0; j < output_ids.size(); ++j) {
      if (!id.device && same_file(id, output_ids[j])) {
        throw InputError(fmt::format("{} and {} name the same file '{}': give each output its own",
                                     outputs[j].option, out.option, out.path.string()));
      }
    }
    output_ids.push_back(id);
  }
}

}  // namespace tspemu
