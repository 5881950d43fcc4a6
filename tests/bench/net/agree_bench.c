// How to run the global agreement (docs/network.md, "Agreement"): an allreduce of 8 int64 fields
// with a mixed max/min/sum/or operation, by
//   mode 0: MPI_Allreduce with a user-defined MPI_Op on a contiguous 8 x int64 type
//   mode 1: linear reduce to rank 0 + send back, point-to-point, MPI_Testall polling (what
//           MpiTransport does with its default fan-out, so its watchdog covers agreements too)
//   mode 2: MPI_Iallreduce + MPI_Test polling
// Prints the slowest rank's wall time per agreement. With the environment of run_window_bench.sh
// (and once without the OMPI_MCA_coll_tuned_* variables, to see Open MPI's default algorithm):
//   timeout 300 mpirun -n 72 --oversubscribe net_agree_bench <mode> 500
#define _POSIX_C_SOURCE 200809L  // clock_gettime
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#define F 8
static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}
static void combine(const int64_t* a, int64_t* b) {
  b[0] = a[0] > b[0] ? a[0] : b[0];
  b[1] = a[1] < b[1] ? a[1] : b[1];
  for (int i = 2; i < 7; ++i) b[i] += a[i];
  b[7] |= a[7];
}
static void op_fn(void* in, void* inout, int* len, MPI_Datatype* dt) {
  (void)dt;
  for (int i = 0; i < *len; ++i) combine((const int64_t*)in + F * i, (int64_t*)inout + F * i);
}
int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int mode = atoi(argv[1]), iters = atoi(argv[2]);
  MPI_Datatype t;
  MPI_Type_contiguous(F, MPI_INT64_T, &t);
  MPI_Type_commit(&t);
  MPI_Op op;
  MPI_Op_create(op_fn, 1, &op);
  int64_t in[F], out[F], all[F * 256];
  MPI_Request reqs[512];
  MPI_Barrier(MPI_COMM_WORLD);
  double t0 = now();
  for (int it = 0; it < iters; ++it) {
    for (int i = 0; i < F; ++i) in[i] = rank + it + i;
    if (mode == 0) {
      MPI_Allreduce(in, out, 1, t, op, MPI_COMM_WORLD);
    } else if (mode ==
               1) {  // hand-rolled linear: gather to 0 + combine + send back, Testall polling
      if (rank == 0) {
        for (int r = 1; r < size; ++r)
          MPI_Irecv(all + F * r, F, MPI_INT64_T, r, 7, MPI_COMM_WORLD, &reqs[r - 1]);
        int flag = 0;
        while (!flag) MPI_Testall(size - 1, reqs, &flag, MPI_STATUSES_IGNORE);
        for (int i = 0; i < F; ++i) out[i] = in[i];
        for (int r = 1; r < size; ++r) combine(all + F * r, out);
        for (int r = 1; r < size; ++r)
          MPI_Isend(out, F, MPI_INT64_T, r, 8, MPI_COMM_WORLD, &reqs[r - 1]);
        flag = 0;
        while (!flag) MPI_Testall(size - 1, reqs, &flag, MPI_STATUSES_IGNORE);
      } else {
        MPI_Isend(in, F, MPI_INT64_T, 0, 7, MPI_COMM_WORLD, &reqs[0]);
        MPI_Irecv(out, F, MPI_INT64_T, 0, 8, MPI_COMM_WORLD, &reqs[1]);
        int flag = 0;
        while (!flag) MPI_Testall(2, reqs, &flag, MPI_STATUSES_IGNORE);
      }
    } else if (mode == 2) {
      MPI_Request r;
      MPI_Iallreduce(in, out, 1, t, op, MPI_COMM_WORLD, &r);
      int flag = 0;
      while (!flag) MPI_Test(&r, &flag, MPI_STATUS_IGNORE);
    }
  }
  double dt = now() - t0, mx;
  MPI_Reduce(&dt, &mx, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
  if (rank == 0) printf("np=%d mode=%d: %.1f us/agree\n", size, mode, 1e6 * mx / iters);
  MPI_Finalize();
}
