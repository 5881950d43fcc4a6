// A stand-in for `tspemu run`, so the launch and Slurm plumbing (launch/tspemu-mpirun,
// cluster/slurm/*.sbatch, the determinism array) is tested before the real run driver exists, and
// keeps a small, fast MPI workload for those tests afterwards.
//
//   tspemu_stand_in run PROGRAM --topology T --report R [--report-binding] [ignored...]
//   tspemu_stand_in topo|verify|...   -> exec the real tspemu (TSPEMU_STAND_IN_REAL, else the
//   build's)
//
// `run` does what the real driver must do around the emulation itself: refuse a launch without
// PMIx before MPI_Init, check one rank per TSP, query and gather every rank's binding, and have
// rank 0 write a report with a digest combined in rank order. The digest covers the program and
// topology bytes and each rank's number, so it is identical at every placement; setting
// TSPEMU_STAND_IN_VARY=1 mixes in SLURM_ARRAY_TASK_ID, to prove that verify catches a difference.
#include <mpi.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "common/atomic_file.hpp"
#include "common/digest.hpp"
#include "common/error.hpp"
#include "net/mpi_transport.hpp"
#include "runtime/binding.hpp"
#include "topo/loader.hpp"

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw tspemu::InputError(path + ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

struct RunOptions {
  std::string program;
  std::string topology;
  std::string report;
  bool report_binding = false;
};

RunOptions parse_run(int argc, char** argv) {
  RunOptions options;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--topology" && i + 1 < argc) {
      options.topology = argv[++i];
    } else if (arg == "--report" && i + 1 < argc) {
      options.report = argv[++i];
    } else if (arg == "--report-binding") {
      options.report_binding = true;
    } else if (options.program.empty() && arg.rfind('-', 0) != 0) {
      options.program = arg;
    }
  }
  if (options.program.empty() || options.topology.empty()) {
    throw tspemu::InputError("usage: tspemu_stand_in run PROGRAM --topology T [--report R]");
  }
  return options;
}

int run(int argc, char** argv) {
  const RunOptions options = parse_run(argc, argv);
  if (const auto hint = tspemu::launcher_mismatch_hint_before_init()) {
    std::fprintf(stderr, "tspemu: error: %s\n", hint->c_str());
    return tspemu::kExitInputError;
  }
  MPI_Init(&argc, &argv);
  int rank = 0;
  int size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int status = 0;
  std::string error;
  try {
    if (const auto hint = tspemu::launcher_mismatch_hint(size)) throw tspemu::InputError(*hint);
    // The run driver's own rank-count check and message (net/mpi_transport.hpp).
    const auto tsps =
        static_cast<std::int64_t>(tspemu::load_topology(options.topology).tsp_count());
    if (const auto problem = tspemu::rank_count_problem(size, tsps)) {
      throw tspemu::InputError(*problem);
    }
  } catch (const tspemu::Error& e) {
    error = e.what();
    status = e.exit_code();
  }
  // Every rank checks the same inputs; agree on the outcome so all exit together.
  MPI_Allreduce(MPI_IN_PLACE, &status, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (status != 0) {
    if (rank == 0) std::fprintf(stderr, "tspemu: error: %s\n", error.c_str());
    MPI_Finalize();
    return status;
  }

  const tspemu::RankBinding mine = tspemu::query_binding(MPI_COMM_WORLD);
  const std::vector<tspemu::RankBinding> all = tspemu::gather_bindings(MPI_COMM_WORLD, mine);

  tspemu::Hasher hasher;
  hasher.str(read_file(options.program)).str(read_file(options.topology)).i64(rank);
  if (const char* vary = std::getenv("TSPEMU_STAND_IN_VARY"); vary && std::strcmp(vary, "1") == 0) {
    const char* task = std::getenv("SLURM_ARRAY_TASK_ID");
    hasher.str(task != nullptr ? task : "");
  }
  const tspemu::Digest128 local = hasher.finish();
  std::vector<std::uint64_t> words(rank == 0 ? 2 * static_cast<std::size_t>(size) : 0);
  const std::array<std::uint64_t, 2> mine_words = {local.high, local.low};
  MPI_Gather(mine_words.data(), 2, MPI_UINT64_T, words.data(), 2, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  if (rank == 0) {
    tspemu::Hasher combined;
    for (std::uint64_t word : words) combined.u64(word);
    const std::string digest = combined.finish().hex();
    std::printf("binding: %s\n", tspemu::sharing_summary(all).c_str());
    if (options.report_binding) {
      for (const auto& b : all) std::printf("binding: %s\n", tspemu::describe_binding(b).c_str());
    }
    if (!options.report.empty()) {
      const nlohmann::json report = {{"stand_in", true},
                                     {"program", options.program},
                                     {"topology", options.topology},
                                     {"ranks", size},
                                     {"binding_summary", tspemu::sharing_summary(all)},
                                     {"bindings", all},
                                     {"digest", digest}};
      tspemu::write_file_atomically(options.report, report.dump(2) + "\n");
    }
    std::printf("digest: %s\n", digest.c_str());
  }
  MPI_Finalize();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "run") == 0) {
    try {
      return run(argc, argv);
    } catch (const tspemu::Error& e) {
      std::fprintf(stderr, "tspemu: error: %s\n", e.what());
      return e.exit_code();
    }
  }
  const char* real = std::getenv("TSPEMU_STAND_IN_REAL");
  if (real == nullptr || *real == '\0') real = TSPEMU_REAL_PATH;
  argv[0] = const_cast<char*>(real);  // NOLINT(cppcoreguidelines-pro-type-const-cast): execv's API
  execv(real, argv);
  std::fprintf(stderr, "tspemu_stand_in: cannot run the real tspemu at %s: %s\n", real,
               std::strerror(errno));
  return 1;
}
