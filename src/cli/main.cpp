// The single tspemu executable: `tspemu <subcommand> ...` (docs/design.md section 3).
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "cli/command.hpp"

namespace {

// Transparent huge pages for the heap. A run allocates tens of megabytes it then touches once
// (a bundle's instructions, 13 MB for decoder_layer; stream files, SRAM pages), and on a virtual
// machine each 4 KiB first-touch fault costs microseconds: page faults were a third of a
// timing-only decoder_layer run. glibc (2.35+) backs malloc with THP when the tunable
// glibc.malloc.hugetlb=1 is set, but reads tunables only at start-up, so the process re-executes
// itself once with it added to GLIBC_TUNABLES (same PID, name, arguments and descriptors, before
// MPI or anything else starts; a failed exec just continues). Memory placement never reaches a
// result. TSPEMU_HUGE_PAGES=0 turns it off. Not under valgrind (its client would re-execute
// natively) or a debugger or strace (a traced process keeps its image).
bool under_a_tool() {
  const char* preload = std::getenv("LD_PRELOAD");
  if (preload != nullptr && std::strstr(preload, "vgpreload") != nullptr) return true;
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("TracerPid:", 0) == 0) return std::atoi(line.c_str() + 10) != 0;
  }
  return false;
}

void prefer_huge_pages(char** argv) {
  constexpr const char* kTunable = "glibc.malloc.hugetlb=1";
  const char* off = std::getenv("TSPEMU_HUGE_PAGES");
  if (off != nullptr && std::strcmp(off, "0") == 0) return;
  if (under_a_tool()) return;
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  const std::string current = tunables != nullptr ? tunables : "";
  if (current.find("glibc.malloc.hugetlb") != std::string::npos) return;  // set (by us or a user)
  const std::string wanted = current.empty() ? kTunable : current + ":" + kTunable;
  if (::setenv("GLIBC_TUNABLES", wanted.c_str(), 1) != 0) return;
  // The resolved path, not /proc/self/exe itself: the kernel names a process after the file it
  // executes, and `ps`, `top` and `pkill tspemu` must still see "tspemu".
  std::error_code error;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (!error) ::execv(self.c_str(), argv);
  ::setenv("GLIBC_TUNABLES", current.c_str(), 1);  // exec failed: carry on as we are
  if (tunables == nullptr) ::unsetenv("GLIBC_TUNABLES");
}

}  // namespace

int main(int argc, char** argv) {
  prefer_huge_pages(argv);
  return tspemu::cli::run_cli(argc, argv);
}
