#pragma once
#include <string>

namespace tspemu::cli {

extern const char* const kVersion;      // project version, e.g. "0.1.0"
extern const char* const kGitDescribe;  // `git describe --always --dirty --tags` at build time

// The multi-line text `tspemu --version` prints: version, git describe, compiler, MPI library,
// Kokkos version and enabled backends.
std::string version_text();

}  // namespace tspemu::cli
