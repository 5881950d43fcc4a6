# Finds every dependency; a missing one stops configure with one line naming the Debian 12 package.
# launch/setup installs all of them.

macro(tspemu_require found debian_package what)
  if(NOT ${found})
    # NOTICE prints the line as is (FATAL_ERROR text gets re-wrapped), so the hint stays one line.
    message(NOTICE "tspemu: ${what} not found: install the Debian package '${debian_package}' "
                   "(or run launch/setup, which installs everything)")
    message(FATAL_ERROR "tspemu: missing dependency ${what}")
  endif()
endmacro()

find_package(MPI QUIET COMPONENTS C CXX)
tspemu_require(MPI_FOUND "libopenmpi-dev" "MPI")
find_program(TSPEMU_MPIRUN NAMES mpirun mpiexec)

find_package(Kokkos 3.4 QUIET)
tspemu_require(Kokkos_FOUND "libtrilinos-kokkos-dev" "Kokkos")
# Debian's Kokkos::kokkos points its include directory at a path that does not exist; the real
# headers are in Kokkos_INCLUDE_DIRS (/usr/include/trilinos). Repair the imported target.
if(Kokkos_INCLUDE_DIRS)
  file(REAL_PATH "${Kokkos_INCLUDE_DIRS}" _tspemu_kokkos_inc)
  get_target_property(_tspemu_kokkos_old Kokkos::kokkos INTERFACE_INCLUDE_DIRECTORIES)
  set_target_properties(Kokkos::kokkos PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_tspemu_kokkos_inc}")
endif()

find_package(cereal QUIET)
tspemu_require(cereal_FOUND "libcereal-dev" "cereal")
find_package(tomlplusplus 3 QUIET)
tspemu_require(tomlplusplus_FOUND "libtomlplusplus-dev" "toml++")
find_package(CLI11 QUIET)
tspemu_require(CLI11_FOUND "libcli11-dev" "CLI11")
find_package(fmt QUIET)
tspemu_require(fmt_FOUND "libfmt-dev" "fmt")
find_package(spdlog QUIET)
tspemu_require(spdlog_FOUND "libspdlog-dev" "spdlog")
find_package(nlohmann_json 3 QUIET)
tspemu_require(nlohmann_json_FOUND "nlohmann-json3-dev" "nlohmann-json")

find_package(PkgConfig QUIET)
tspemu_require(PKG_CONFIG_FOUND "pkg-config" "pkg-config")
pkg_check_modules(HWLOC QUIET IMPORTED_TARGET hwloc)
tspemu_require(HWLOC_FOUND "libhwloc-dev" "hwloc")
pkg_check_modules(XXHASH QUIET IMPORTED_TARGET libxxhash)
tspemu_require(XXHASH_FOUND "libxxhash-dev" "xxhash")

if(TSPEMU_BUILD_TESTS)
  find_package(GTest QUIET)
  tspemu_require(GTest_FOUND "libgtest-dev" "GoogleTest")
endif()
if(TSPEMU_BUILD_BENCH)
  find_package(benchmark QUIET)
  tspemu_require(benchmark_FOUND "libbenchmark-dev" "Google Benchmark")
endif()
