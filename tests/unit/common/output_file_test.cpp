// common/output_file.hpp: the rules for every output path (issue 10, item 1 and its siblings).
#include "common/output_file.hpp"

#include "scratch_dir.hpp"
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/error.hpp"
#include "common/input_file.hpp"

namespace tspemu {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void spit(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0);
  return st.st_mode;
}

std::string error_of(const fs::path& path, const std::string& text = "x",
                     std::string_view option = "--report") {
  try {
    write_output_file(path, std::string_view(text), option);
  } catch (const InputError& e) {
    return std::string("input: ") + e.what();
  } catch (const RuntimeError& e) {
    return std::string("runtime: ") + e.what();
  }
  return "no error";
}

TEST(OutputFile, CreatesAndReplacesAtomicallyLeavingNoTemporaries) {
  const testing::ScratchDir dir("tspemu_output_file");
  write_output_file(dir / "report.json", std::string_view("first"));
  EXPECT_EQ(slurp(dir / "report.json"), "first");
  EXPECT_EQ(mode_of(dir / "report.json") & 07777, 0644U);
  write_output_file(dir / "report.json", std::string_view("second"));
  EXPECT_EQ(slurp(dir / "report.json"), "second");
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>{"report.json"});
}

TEST(OutputFile, ReplacingKeepsThePermissionBits) {
  const testing::ScratchDir dir("tspemu_output_file");
  spit(dir / "r.json", "old");
  fs::permissions(dir / "r.json", fs::perms::owner_read | fs::perms::owner_write);
  write_output_file(dir / "r.json", std::string_view("new"));
  EXPECT_EQ(slurp(dir / "r.json"), "new");
  EXPECT_EQ(mode_of(dir / "r.json") & 07777, 0600U);
}

TEST(OutputFile, ReadOnlyFileIsRefusedEvenForRoot) {
  const testing::ScratchDir dir("tspemu_output_file");
  spit(dir / "keep.json", "precious");
  fs::permissions(dir / "keep.json", fs::perms::owner_read | fs::perms::group_read);
  EXPECT_EQ(error_of(dir / "keep.json"),
            "input: cannot write --report '" + (dir / "keep.json").string() +
                "': it is read-only (mode 0440); tspemu does not replace it");
  EXPECT_EQ(slurp(dir / "keep.json"), "precious");
}

TEST(OutputFile, CharacterDeviceIsWrittenThroughNotReplaced) {
  // The defect: `--report /dev/null` renamed a regular file over /dev/null.
  write_output_file("/dev/null", std::string_view("report"));
  EXPECT_TRUE(S_ISCHR(mode_of("/dev/null")));
}

TEST(OutputFile, FifoIsWrittenThrough) {
  const testing::ScratchDir dir("tspemu_output_file");
  const fs::path fifo = dir / "pipe";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::string got;
  std::thread reader([&] { got = slurp(fifo); });
  write_output_file(fifo, std::string_view("through the pipe"));
  reader.join();
  EXPECT_EQ(got, "through the pipe");
  EXPECT_TRUE(S_ISFIFO(mode_of(fifo)));
}

TEST(OutputFile, SymlinkStaysAndItsTargetIsReplaced) {
  const testing::ScratchDir dir("tspemu_output_file");
  spit(dir / "target.json", "old");
  fs::create_symlink("target.json", dir / "link.json");
  write_output_file(dir / "link.json", std::string_view("new"));
  EXPECT_TRUE(S_ISLNK(mode_of(dir / "link.json")));
  EXPECT_EQ(slurp(dir / "target.json"), "new");
  EXPECT_EQ(entries(dir.path()), (std::vector<std::string>{"link.json", "target.json"}));
}

TEST(OutputFile, DanglingSymlinkDirectoryAndEmptyPathAreRefused) {
  const testing::ScratchDir dir("tspemu_output_file");
  fs::create_symlink("nowhere", dir / "dangling");
  EXPECT_EQ(error_of(dir / "dangling"),
            "input: cannot write --report '" + (dir / "dangling").string() +
                "': it is a symbolic link to nothing (tspemu does not replace links)");
  EXPECT_TRUE(S_ISLNK(mode_of(dir / "dangling")));
  EXPECT_EQ(error_of(dir.path()),
            "input: cannot write --report '" + dir.path().string() + "': it is a directory");
  EXPECT_EQ(error_of(""), "input: cannot write --report '': the path is empty");
  EXPECT_EQ(error_of(dir / "no" / "such.json"),
            "input: cannot write --report '" + (dir / "no" / "such.json").string() +
                "': directory '" + (dir / "no").string() + "' does not exist");
}

TEST(OutputFile, ProcFdLinkAppendsToTheOpenFile) {
  // `--report /dev/stdout > log.txt`: what the process already wrote to log.txt stays.
  const testing::ScratchDir dir("tspemu_output_file");
  const int fd = ::open((dir / "log.txt").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "header\n", 7), 7);
  write_output_file(fs::path("/proc/self/fd") / std::to_string(fd), std::string_view("report\n"));
  ::close(fd);
  EXPECT_EQ(slurp(dir / "log.txt"), "header\nreport\n");
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>{"log.txt"});
}

TEST(OutputFile, AFileThisProcessReadIsNeverOverwritten) {
  const testing::ScratchDir dir("tspemu_output_file");
  spit(dir / "p.tsa", "; source");
  const CommandInputs command;
  (void)read_input_file(dir / "p.tsa", 1024, "assembly file");
  EXPECT_EQ(error_of(dir / "p.tsa", "bundle bytes", "-o"),
            "input: cannot write -o '" + (dir / "p.tsa").string() +
                "': it is an input of this command; tspemu does not overwrite its inputs");
  EXPECT_EQ(slurp(dir / "p.tsa"), "; source");
}

TEST(OutputFile, OutsideACommandScopeInputsAreNotRecorded) {
  const testing::ScratchDir dir("tspemu_output_file");
  spit(dir / "b.tspb", "old");
  (void)read_input_file(dir / "b.tspb", 1024, "bundle");
  EXPECT_FALSE(is_input_file(dir / "b.tspb"));
  write_output_file(dir / "b.tspb", std::string_view("new"));
  EXPECT_EQ(slurp(dir / "b.tspb"), "new");
}

TEST(OutputFile, AKilledWriteLeavesNothingBehind) {
  // The child is killed by SIGXFSZ in the middle of writing (its file-size limit is 64 KiB, the
  // file 1 MiB): the anonymous temporary disappears with it.
  const testing::ScratchDir dir("tspemu_output_file");
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::signal(SIGXFSZ, SIG_DFL);
    struct rlimit limit {
      64 * 1024, 64 * 1024
    };
    ::setrlimit(RLIMIT_FSIZE, &limit);
    const std::string big(1 << 20, 'x');
    write_output_file(dir / "big.bin", std::string_view(big));
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGXFSZ);
  EXPECT_TRUE(entries(dir.path()).empty());
}

TEST(OutputFile, ReadOnlySystemFileIsRefused) {
  EXPECT_EQ(error_of("/proc/version"),
            "input: cannot write --report '/proc/version': it is read-only (mode 0444); tspemu "
            "does not replace it");
}

TEST(OutputPaths, AnOutputThatIsAnInputIsRefused) {
  const testing::ScratchDir dir("tspemu_output_paths");
  spit(dir / "g.toml", "graph");
  const std::vector<NamedPath> inputs = {{"the graph", dir / "g.toml"},
                                         {"--topology", dir / "t.toml"}};
  // Spelled differently: ./ and a .. detour name the same file.
  const fs::path detour = dir / "sub" / ".." / "g.toml";
  fs::create_directory(dir / "sub");
  const std::vector<NamedPath> outputs = {{"-o", detour}};
  try {
    check_output_paths(inputs, outputs);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              "cannot write -o '" + detour.string() + "': it is the same file as the graph '" +
                  (dir / "g.toml").string() + "'; tspemu does not overwrite its inputs");
  }
}

TEST(OutputPaths, TwoOutputsNamingOneFileAreRefusedButDevicesMayRepeat) {
  const testing::ScratchDir dir("tspemu_output_paths");
  const std::vector<NamedPath> none;
  const std::vector<NamedPath> same = {{"-o", dir / "out"}, {"--report", dir / "." / "out"}};
  try {
    check_output_paths(none, same);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), "-o and --report name the same file '" +
                                         (dir / "." / "out").string() +
                                         "': give each output its own");
  }
  const std::vector<NamedPath> devices = {{"-o", "/dev/null"}, {"--report", "/dev/null"}};
  EXPECT_NO_THROW(check_output_paths(none, devices));
}

}  // namespace
}  // namespace tspemu
