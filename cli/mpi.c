/*
 * mpi.c — the command under `mpirun -n R`: ranks, agreement on failure, and
 * the few collectives the row-wise commands need.  Built only with MPI
 * (IE_WITH_MPI); the library itself never links MPI.
 *
 * Failure protocol: a rank that fails keeps its message (cli_defer_messages)
 * and goes on to the next agreement — wherever the others are, the next
 * collective they all make is an agreement (cli_mpi_agree's MPI_Allgather of
 * every rank's status), so a rank that failed early meets the others at
 * their next agreement.  There every rank learns every status: the first
 * failing rank in rank order prints its message, and every rank exits with
 * its status.  After a failed agreement no collective is made but
 * MPI_Finalize.
 */
#define _POSIX_C_SOURCE 200809L
#include "cmd.h"

#include <mpi.h>
#include <stdlib.h>

static int on, rank, size = 1, local_rank, agreed;

/* Launched by mpirun / mpiexec / srun (Open MPI, MPICH's Hydra, PMIx)?  A
 * plain `infoest` run does not start MPI at all, so that it behaves as a
 * build without MPI does. */
static int launched(void) {
  static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE",
                                     "MPI_LOCALNRANKS"};
  for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
    if (getenv(vars[i])) return 1;
  return 0;
}

int cli_mpi_begin(int *argc, char ***argv) {
  if (!launched()) return 1;
  int provided = 0;
  /* Only the main thread calls MPI (the reader thread only reads files). */
  if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) return 1;
  on = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Comm node;
  if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
    MPI_Comm_rank(node, &local_rank);
    MPI_Comm_free(&node);
  }
  if (size > 1) cli_defer_messages = 1;
  return size;
}

int cli_mpi_rank(void) { return rank; }
int cli_mpi_size(void) { return size; }
int cli_mpi_local_rank(void) { return local_rank; }

int cli_mpi_agree(int rc, int final) {
  if (!on || size == 1 || agreed) {
    if (final) agreed = 1;
    return rc;
  }
  int *all = malloc((size_t)size * sizeof *all);
  if (!all) MPI_Abort(MPI_COMM_WORLD, CLI_EXIT_FAIL); /* cannot agree: stop the job */
  MPI_Allgather(&rc, 1, MPI_INT, all, 1, MPI_INT, MPI_COMM_WORLD);
  int first = -1;
  for (int r = 0; r < size && first < 0; r++)
    if (all[r] != CLI_EXIT_OK) first = r;
  int out = first < 0 ? CLI_EXIT_OK : all[first];
  free(all);
  if (first >= 0 || final) agreed = 1;
  if (first == rank) {
    cli_print_deferred();
    fprintf(stderr, "infoest: (MPI rank %d of %d failed first; every rank stops with status %d)\n", rank,
            size, out);
  }
  return out;
}

void cli_mpi_bcast(void *buf, int bytes) {
  if (on && size > 1) MPI_Bcast(buf, bytes, MPI_BYTE, 0, MPI_COMM_WORLD);
}

void cli_mpi_allgather(const void *mine, void *all, int bytes) {
  if (on && size > 1) MPI_Allgather(mine, bytes, MPI_BYTE, all, bytes, MPI_BYTE, MPI_COMM_WORLD);
  else memcpy(all, mine, (size_t)bytes);
}

int cli_mpi_end(int rc) {
  if (!on) return rc;
  rc = cli_mpi_agree(rc, 1);
  MPI_Finalize();
  on = 0;
  return rc;
}

/* Sums of 64-bit counts onto rank 0 (exact: integers), in pieces that fit
 * MPI's int counts. */
void cli_mpi_sum_to_root(int64_t *buf, int64_t n) {
  if (!on || size == 1) return;
  const int64_t piece = INT64_C(1) << 24;
  for (int64_t at = 0; at < n; at += piece) {
    const int k = (int)(n - at < piece ? n - at : piece);
    if (rank == 0) MPI_Reduce(MPI_IN_PLACE, buf + at, k, MPI_INT64_T, MPI_SUM, 0, MPI_COMM_WORLD);
    else MPI_Reduce(buf + at, NULL, k, MPI_INT64_T, MPI_SUM, 0, MPI_COMM_WORLD);
  }
}

void cli_mpi_max(int64_t *v, int n) {
  if (on && size > 1) MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_INT64_T, MPI_MAX, MPI_COMM_WORLD);
}
