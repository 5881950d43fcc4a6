// How to wait for a window's neighbour messages under oversubscription (docs/network.md, "Waiting
// and the watchdog"). Each rank exchanges one small message with each neighbour per window
// (full mesh up to 8 ranks; the rack pattern, 11 neighbours, at 72) and completes the requests by
//   mode 0: MPI_Waitall
//   mode 1: MPI_Testall polling (what MpiTransport does, so its watchdog can run in the same
//   thread) mode 2: MPI_Testall polling + sched_yield() after each unsuccessful poll mode 3:
//   MPI_Waitsome until all are done mode 4: MPI_Testall polling + a clock read every 64 polls
// and prints the slowest rank's wall time per window. With the environment of run_window_bench.sh:
//   timeout 300 mpirun -n 8 --oversubscribe net_wait_bench <mode> 10000
//   timeout 300 mpirun -n 72 --oversubscribe net_wait_bench <mode> 2000
#define _GNU_SOURCE  // sched_yield
#include <mpi.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

static int neighbours(int rank, int size, int* out) {
  int n = 0;
  if (size <= 8) {
    for (int r = 0; r < size; ++r)
      if (r != rank) out[n++] = r;
    return n;
  }
  // rack: 9 nodes x 8; local full mesh + 4 global neighbours (see notes).
  int node = rank / 8, t = rank % 8, nodes = size / 8;
  for (int u = 0; u < 8; ++u)
    if (u != t) out[n++] = node * 8 + u;
  for (int b = 0; b < nodes; ++b) {
    if (b == node) continue;
    int j = ((b - node) % nodes + nodes) % nodes - 1;
    for (int k = 0; k < 4; ++k) {
      if ((4 * j + k) % 8 != t) continue;
      int jb = ((node - b) % nodes + nodes) % nodes - 1;
      // the same link seen from b: k is the same, TSP (4*jb+k)%8
      out[n++] = b * 8 + (4 * jb + k) % 8;
    }
  }
  return n;
}

int main(int argc, char** argv) {
  int provided;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int mode = atoi(argv[1]);
  int windows = atoi(argv[2]);
  int bytes = argc > 3 ? atoi(argv[3]) : 16;
  int nb[64];
  int n = neighbours(rank, size, nb);
  char* sbuf = calloc(64, 4096);
  char* rbuf = calloc(64, 4096);
  MPI_Request req[128];
  MPI_Barrier(MPI_COMM_WORLD);
  double t0 = now();
  long polls = 0;
  for (int w = 0; w < windows; ++w) {
    for (int i = 0; i < n; ++i)
      MPI_Irecv(rbuf + i * 4096, 4096, MPI_BYTE, nb[i], 1, MPI_COMM_WORLD, &req[i]);
    for (int i = 0; i < n; ++i) {
      memcpy(sbuf + i * 4096, &w, 4);
      MPI_Isend(sbuf + i * 4096, bytes, MPI_BYTE, nb[i], 1, MPI_COMM_WORLD, &req[n + i]);
    }
    if (mode == 0) {
      MPI_Waitall(2 * n, req, MPI_STATUSES_IGNORE);
    } else if (mode == 1 || mode == 2 || mode == 4) {
      int flag = 0;
      for (;;) {
        MPI_Testall(2 * n, req, &flag, MPI_STATUSES_IGNORE);
        if (flag) break;
        ++polls;
        if (mode == 2) sched_yield();
        if (mode == 4) {
          if ((polls & 63) == 0) (void)now();
        }
      }
    } else if (mode == 3) {
      int remaining = 2 * n, outcount, idx[128];
      while (remaining > 0) {
        MPI_Waitsome(2 * n, req, &outcount, idx, MPI_STATUSES_IGNORE);
        remaining -= outcount;
      }
    }
  }
  double dt = now() - t0;
  double maxdt;
  MPI_Reduce(&dt, &maxdt, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
  long tp;
  MPI_Reduce(&polls, &tp, 1, MPI_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
  if (rank == 0)
    printf("np=%d nb=%d mode=%d windows=%d bytes=%d: %.2f us/window (polls/rank/window %.1f)\n",
           size, n, mode, windows, bytes, 1e6 * maxdt / windows, (double)tp / size / windows);
  MPI_Finalize();
  return 0;
}
