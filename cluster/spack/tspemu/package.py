# Spack recipe for tspemu. To use it, put it in a Spack package repository (see cluster/README.md):
#   spack repo create ~/spack-tspemu && cp -r cluster/spack/tspemu ~/spack-tspemu/packages/
#   spack repo add ~/spack-tspemu && spack install tspemu@main ^openmpi
# or build a checkout in place:  spack dev-build -d . tspemu@main

from spack.package import *


class Tspemu(CMakePackage):
    """Distributed, deterministic emulator of Tensor Streaming Processor (TSP) systems: every MPI
    rank emulates one chip cycle by cycle, and ranks exchange 320-byte vectors in lockstep windows,
    so a run gives bit-identical results at every rank count and placement."""

    homepage = "https://github.com/tspemu/tspemu"
    # The project's repository; point this at your fork or mirror if you build from one.
    git = "https://github.com/tspemu/tspemu.git"

    version("main", branch="main")

    depends_on("c", type="build")
    depends_on("cxx", type="build")
    depends_on("cmake@3.25:", type="build")
    depends_on("pkgconfig", type="build")  # hwloc and xxhash are found through pkg-config

    depends_on("mpi")
    depends_on("hwloc@2:")
    depends_on("cereal")
    depends_on("tomlplusplus@3:")
    depends_on("kokkos@3.4:")
    depends_on("cli11")
    depends_on("spdlog")
    depends_on("fmt")
    depends_on("nlohmann-json@3:")
    depends_on("xxhash")

    depends_on("googletest+gmock", type="test")
    depends_on("benchmark", type="test")

    # C++20 throughout (toml++ 3 needs C++17 or later; Kokkos 3.4 builds with either).
    conflicts("%gcc@:10", msg="tspemu needs C++20 (GCC 11 or later)")

    def cmake_args(self):
        return [
            self.define("TSPEMU_BUILD_TESTS", self.run_tests),
            # Benchmarks are run on demand from a build tree, never installed.
            self.define("TSPEMU_BUILD_BENCH", False),
            # -march=native would tie the installed binary to the build host's CPU.
            self.define("TSPEMU_NATIVE", False),
            self.define("TSPEMU_WERROR", False),
        ]

    @run_after("install")
    def install_launch_and_cluster_scripts(self):
        # The mpirun wrapper and the Slurm job scripts next to the installed programs and
        # topologies (share/tspemu), so TSPEMU_HOME=<prefix>/share/tspemu works like a checkout.
        share = join_path(self.prefix.share, "tspemu")
        mkdirp(join_path(share, "launch"))
        install("launch/tspemu-mpirun", join_path(share, "launch"))
        install("launch/tspemu-mpirun", self.prefix.bin)
        install_tree("cluster", join_path(share, "cluster"))

    def setup_run_environment(self, env):
        env.set("TSPEMU_HOME", join_path(self.prefix.share, "tspemu"))
