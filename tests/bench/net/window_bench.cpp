// Wall time per lockstep window of MpiTransport::exchange against a bare MPI program doing the same
// neighbour exchange (the lower bound). Run by run_window_bench.sh, which prints the table; by
// hand:
//
//   export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_mpi_yield_when_idle=1
//   export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_coll_tuned_use_dynamic_rules=1
//   export OMPI_MCA_coll_tuned_barrier_algorithm=1 OMPI_MCA_coll_tuned_allreduce_algorithm=1
//   timeout 300 mpirun -n 8 --oversubscribe net_window_bench transport 10000 0
//   timeout 300 mpirun -n 8 --oversubscribe net_window_bench bare 10000 0
//
// Arguments: <transport|bare> <windows> <vectors per neighbour per window>. The network is the
// full mesh of one 8-TSP node for up to 8 ranks, and the rack pattern (7 local + 4 global links,
// 11 neighbours per TSP) for 8 x 2..9 ranks. Both modes exchange one message per neighbour per
// window of the same size (16-byte header + k x 368-byte vectors). Prints, on rank 0, the slowest
// rank's wall time per window in microseconds.

#include "net_scenario.hpp"
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "net/link_model.hpp"
#include "net/mpi_transport.hpp"
#include "net/watched_comm.hpp"

namespace {

using namespace tspemu;
using Clock = std::chrono::steady_clock;

constexpr WindowIndex kWarmupWindows = 200;

std::shared_ptr<const NetworkLayout> bench_layout(int size) {
  if (size <= 8) return net_test::mesh_scenario(size, 1, 1).layout;
  if (size % 8 != 0 || size / 8 > 9) {
    throw InputError("net_window_bench runs on up to 8 ranks or on 8 x 2..9 ranks");
  }
  return net_test::rack_scenario(size / 8, 1, 1).layout;
}

// k vectors toward every neighbour, legal for window w (spaced by the serialisation time).
void fill(Outbox& outbox, const NetworkLayout& layout, TspId tsp, WindowIndex w, int k,
          std::vector<std::uint64_t>& sequence) {
  outbox.clear();
  for (const TspId other : layout.neighbours(tsp)) {
    int put = 0;
    for (const LinkSpec& l : layout.links()) {
      if (put == k) break;
      const bool forward = l.a == tsp && l.b == other;
      if (!forward && !(l.b == tsp && l.a == other)) continue;
      for (; put < k; ++put) {
        InFlightVector v;
        v.link = l.id;
        v.src = tsp;
        v.src_port = forward ? l.a_port : l.b_port;
        v.dst = other;
        v.dst_port = forward ? l.b_port : l.a_port;
        v.send_cycle = layout.window().begin(w) + 24 * put;
        v.sequence = sequence[l.id.index()]++;
        stamp(v, l.params, 1);
        outbox.add(v);
      }
    }
  }
}

double run_transport(const std::shared_ptr<const NetworkLayout>& layout, WindowIndex windows,
                     int k) {
  WatchedComm comm(MPI_COMM_WORLD, 300);
  MpiTransport transport(comm, layout);
  std::vector<Outbox> outbox;
  outbox.emplace_back(*layout, transport.tsp());
  std::vector<std::vector<InFlightVector>> incoming(1);
  std::vector<std::uint64_t> sequence(layout->links().size(), 0);
  Clock::time_point start;
  for (WindowIndex w = 0; w < kWarmupWindows + windows; ++w) {
    if (w == kWarmupWindows) {
      MPI_Barrier(MPI_COMM_WORLD);
      start = Clock::now();
    }
    if (k > 0) fill(outbox[0], *layout, transport.tsp(), w, k, sequence);
    transport.exchange(w, outbox, incoming);
  }
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double run_bare(const std::shared_ptr<const NetworkLayout>& layout, WindowIndex windows, int k) {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  const auto neighbours = layout->neighbours(TspId(rank));
  const std::size_t n = neighbours.size();
  const int bytes = 16 + k * 368;
  const std::size_t capacity = 16 + 12 * 368;
  std::vector<char> send(n * capacity, 1);
  std::vector<char> recv(n * capacity, 0);
  std::vector<MPI_Request> requests(2 * n);
  Clock::time_point start;
  for (WindowIndex w = 0; w < kWarmupWindows + windows; ++w) {
    if (w == kWarmupWindows) {
      MPI_Barrier(MPI_COMM_WORLD);
      start = Clock::now();
    }
    for (std::size_t i = 0; i < n; ++i) {
      MPI_Irecv(recv.data() + i * capacity, static_cast<int>(capacity), MPI_BYTE,
                neighbours[i].value, 7, MPI_COMM_WORLD, &requests[i]);
    }
    for (std::size_t i = 0; i < n; ++i) {
      MPI_Isend(send.data() + i * capacity, bytes, MPI_BYTE, neighbours[i].value, 7, MPI_COMM_WORLD,
                &requests[n + i]);
    }
    MPI_Waitall(static_cast<int>(2 * n), requests.data(), MPI_STATUSES_IGNORE);
  }
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  int rank = 0;
  int size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  try {
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (args.size() != 3 || (args[0] != "transport" && args[0] != "bare")) {
      throw InputError(
          "usage: net_window_bench <transport|bare> <windows> <vectors per neighbour>");
    }
    const WindowIndex windows = std::stoll(args[1]);
    const int k = std::stoi(args[2]);
    const auto layout = bench_layout(size);
    const double seconds =
        args[0] == "transport" ? run_transport(layout, windows, k) : run_bare(layout, windows, k);
    double slowest = 0;
    MPI_Reduce(&seconds, &slowest, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    if (rank == 0) {
      std::printf("mode=%s ranks=%d neighbours=%zu windows=%lld vectors=%d us_per_window=%.2f\n",
                  args[0].c_str(), size, layout->neighbours(TspId(0)).size(),
                  static_cast<long long>(windows), k, 1e6 * slowest / static_cast<double>(windows));
    }
  } catch (const std::exception& e) {
    abort_job(e);
  }
  MPI_Finalize();
  return 0;
}
