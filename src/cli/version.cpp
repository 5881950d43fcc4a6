#include "cli/version.hpp"

#include <Kokkos_Core.hpp>
#include <fmt/format.h>
#include <mpi.h>

#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace tspemu::cli {
namespace {

std::string kokkos_backends() {
  std::vector<std::string> names;
#ifdef KOKKOS_ENABLE_SERIAL
  names.emplace_back("Serial");
#endif
#ifdef KOKKOS_ENABLE_OPENMP
  names.emplace_back("OpenMP");
#endif
#ifdef KOKKOS_ENABLE_THREADS
  names.emplace_back("Threads");
#endif
#ifdef KOKKOS_ENABLE_CUDA
  names.emplace_back("Cuda");
#endif
#ifdef KOKKOS_ENABLE_HIP
  names.emplace_back("HIP");
#endif
#ifdef KOKKOS_ENABLE_SYCL
  names.emplace_back("SYCL");
#endif
  return fmt::format("{}", fmt::join(names, ", "));
}

std::string mpi_library() {
  // MPI_Get_library_version may be called before MPI_Init (MPI-3.0 section 8.1.1).
  char text[MPI_MAX_LIBRARY_VERSION_STRING] = {};
  int length = 0;
  MPI_Get_library_version(text, &length);
  std::string s(text, static_cast<std::size_t>(length));
  // Open MPI appends a long build description after the first comma; keep the first line only.
  if (const auto cut = s.find_first_of(",\n"); cut != std::string::npos) s.resize(cut);
  return s;
}

// Whether this process runs with glibc's transparent-huge-page malloc (cli/main.cpp).
std::string malloc_pages() {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables != nullptr &&
      std::string_view(tunables).find("glibc.malloc.hugetlb=1") != std::string_view::npos) {
    return "transparent huge pages (glibc.malloc.hugetlb=1; TSPEMU_HUGE_PAGES=0 turns it off)";
  }
  return "4 KiB pages";
}

}  // namespace

std::string version_text() {
  constexpr int kokkos_major = KOKKOS_VERSION / 10000;
  constexpr int kokkos_minor = (KOKKOS_VERSION / 100) % 100;
  constexpr int kokkos_patch = KOKKOS_VERSION % 100;
  return fmt::format(
      "tspemu {}\n"
      "git: {}\n"
      "compiler: {}\n"
      "mpi: {} (MPI {}.{})\n"
      "kokkos: {}.{}.{} (backends: {})\n"
      "malloc: {}\n",
      kVersion, kGitDescribe, TSPEMU_COMPILER_ID, mpi_library(), MPI_VERSION, MPI_SUBVERSION,
      kokkos_major, kokkos_minor, kokkos_patch, kokkos_backends(), malloc_pages());
}

}  // namespace tspemu::cli
