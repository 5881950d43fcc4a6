// Fault injection for the net layer under mpiexec: each mode makes the job fail one way, and the
// ctest entries in tests/mpi/CMakeLists.txt check that the whole job ends, with which exit code,
// how fast, and the exact message on stderr.
//
//   net_mpi_fault watchdog <victim rank> <window> <watchdog seconds>
//       The victim stops answering at <window> (sleeps for an hour); its neighbours' watchdogs
//       must end the job naming the window, the victim and what they waited for.
//   net_mpi_fault agree-stall <victim rank> <agreement> <watchdog seconds>
//       Every rank agrees over and over; the victim stops answering before <agreement>. Ranks wait
//       for the root (which waits for the victim) or for the victim itself: every report must
//       name the victim, never the root it waits through (issue 10).
//   net_mpi_fault throw <victim rank> <window>
//       The victim throws a RuntimeError at <window>; the job must end with its message, once.
//   net_mpi_fault rank-count <tsps>
//       check_rank_count for a topology of <tsps> TSPs: rank 0 prints, every rank exits 2.
//
// Usage (what ctest runs): mpiexec -n 2 --oversubscribe net_mpi_fault watchdog 1 3 2

#include "net_scenario.hpp"
#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "net/mpi_transport.hpp"
#include "net/watched_comm.hpp"

namespace {

using namespace tspemu;

int run(const std::vector<std::string>& args) {
  int rank = 0;
  int size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (args.size() == 2 && args[0] == "rank-count") {
    return check_rank_count(MPI_COMM_WORLD, std::stoll(args[1]));
  }
  if (args.size() == 4 && args[0] == "agree-stall") {
    const int victim = std::stoi(args[1]);
    const std::int64_t stall_at = std::stoll(args[2]);
    WatchedComm comm(MPI_COMM_WORLD, std::stod(args[3]));
    const net_test::Scenario scenario = net_test::ring_scenario(size, 1, 99);
    MpiTransport transport(comm, scenario.layout);
    for (std::int64_t k = 0;; ++k) {
      if (rank == victim && k == stall_at) std::this_thread::sleep_for(std::chrono::hours(1));
      ControlState mine;
      mine.tsps = 1;
      mine.active_tsps = 1;
      (void)transport.agree(mine);
    }
  }
  const bool watchdog = args.size() == 4 && args[0] == "watchdog";
  const bool throws = args.size() == 3 && args[0] == "throw";
  if (!watchdog && !throws) {
    throw InputError(
        "usage: net_mpi_fault watchdog <victim> <window> <seconds> | agree-stall <victim> "
        "<agreement> <seconds> | throw <victim> <window> | rank-count <tsps>");
  }
  const int victim = std::stoi(args[1]);
  const WindowIndex fault_window = std::stoll(args[2]);
  WatchedComm comm(MPI_COMM_WORLD, watchdog ? std::stod(args[3]) : 300.0);

  net_test::Scenario scenario = net_test::ring_scenario(size, fault_window + 10, 99);
  MpiTransport transport(comm, scenario.layout);
  std::vector<Outbox> outbox;
  outbox.emplace_back(*scenario.layout, transport.tsp());
  std::vector<std::vector<InFlightVector>> incoming(1);
  std::vector<InFlightVector> traffic;
  std::vector<std::uint64_t> sequence(scenario.layout->links().size(), 0);
  for (WindowIndex w = 0; w < scenario.windows; ++w) {
    if (rank == victim && w == fault_window) {
      if (watchdog) std::this_thread::sleep_for(std::chrono::hours(1));
      throw RuntimeError(
          "injected failure",
          ErrorContext{.tsp = transport.tsp().value, .cycle = scenario.layout->window().begin(w)});
    }
    outbox[0].clear();
    for (const LinkSpec& link : scenario.layout->links()) {
      if (link.a != transport.tsp() && link.b != transport.tsp()) continue;
      traffic.clear();
      sequence[link.id.index()] += static_cast<std::uint64_t>(net_test::direction_traffic(
          scenario, link, transport.tsp(), w, sequence[link.id.index()], traffic));
      for (const InFlightVector& v : traffic) outbox[0].add(v);
    }
    transport.exchange(w, outbox, incoming);
  }
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  int code = 0;
  try {
    code = run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const std::exception& e) {
    abort_job(e);
  }
  MPI_Finalize();
  return code;
}
