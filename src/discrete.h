/*
 * discrete.h — PRIVATE.  The discrete-information sub-table a backend fills
 * (docs/SPEC.md §9), reached through ie_backend_ops.discrete, and what the
 * dispatcher (src/discrete.c, src/discrete_pid.c) hands it.
 *
 * Tables are compact matrices in backend memory (ie_mat, stride = cols):
 * `sets` tables of X rows stacked into sets·X rows of Y columns.  Small
 * per-row or per-table results go to HOST arrays; the dispatcher reduces
 * them in a fixed order (bit-identical results run after run).  A GPU
 * backend folds what it can on the device (first bad indices, the PMI
 * map's statistics, each table's MI) so that only those few bytes cross;
 * its temporaries are slots IE_WS_DISCRETE + 0..11 and IE_WSH_DISCRETE +
 * 0..3 of the workspace (ie_pid: IE_WS_DISCRETE + 2..4 in the backends —
 * +2 the verdicts, +3 the values and BROJA's step counts, +4 BROJA's
 * scratch — and IE_WSH_DISCRETE + 2..3 in the dispatcher).  The cell
 * formulas are those of src/kernels/discrete.h, BROJA's solver that of
 * src/kernels/broja.h, on every backend.
 */
#ifndef IE_DISCRETE_H
#define IE_DISCRETE_H

#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What the PMI map needs besides the table. */
typedef struct {
  int kind;          /* DISC_PMI, DISC_NPMI, DISC_PPMI */
  double min_count;  /* on the raw count */
  double smooth;     /* k added to every cell */
  double n;          /* N after smoothing */
} ie_disc_pmi_args;

typedef struct ie_disc_ops {
  /* Whether `sums` keeps the marginals for the pmi or mi_rows after it (a
   * GPU backend: then they need not cross twice). */
  int keeps_marginals;
  /* Count pairs: for i < x->n and j < y->cols, table[x_i·Y + y_ij] += 1,
   * `table` a compact int64 X × Y array in backend memory at byte offset
   * table_off.  Every label is checked first (pairs where either equals
   * `ignore` are skipped when has_ignore); *bad gets the flat index i·k + j
   * of the first pair with a label out of range (−1 when none), and then
   * nothing is added.  verdict NULL: the call waits for the check.  Else
   * (the asynchronous mode): the flat index, or INT64_MAX, is to be written
   * to the host memory *verdict, which a GPU backend may do as its queue or
   * stream reaches it (the add runs on the device only after a clean check),
   * the call returning without waiting (*bad then −1). */
  ie_status (*count)(ie_context *ctx, const ie_vec *x, const ie_mat *y, int64_t X, int64_t Y,
                     int has_ignore, int64_t ignore, void *table, size_t table_off,
                     int64_t *bad, int64_t *verdict);
  /* Row sums (t->rows entries) and column sums (sets·t->cols) of each of
   * the `sets` tables, and when rowmax / colmax are not NULL the row and
   * column maxima likewise (host); totals (host, sets): each table's sum of
   * its row sums, in row order.  *bad gets the flat index of the first cell
   * that is NaN/inf (*code = IE_ROW_NONFINITE) or negative
   * (IE_ROW_NEGATIVE), −1 when none (nothing else is then computed).
   * A backend that keeps_marginals also keeps the sums in its own memory
   * for the pmi or mi_rows of the same call, and takes rowsum = colsum =
   * NULL as "not wanted on the host". */
  ie_status (*sums)(ie_context *ctx, const ie_mat *t, int64_t sets, double *rowsum,
                    double *colsum, double *rowmax, double *colmax, double *totals,
                    int64_t *bad, ie_rowerr *code);
  /* The PMI map of one table t [X, Y] with (unsmoothed) marginals rowm [X],
   * colm [Y] (host; both NULL: the sums kept by the last `sums`, on a
   * backend that keeps_marginals), into out (X × Y, f32/f64, backend memory; NULL: none).
   * stats (host, 4·X): per row min and max of the asked kind, min and max
   * of nPMI; or, from a GPU backend, those folded over the rows on the
   * device into stats[0..3], the other rows left as the caller set them
   * (±inf: neutral for the min and max the caller takes). */
  ie_status (*pmi)(ie_context *ctx, const ie_mat *t, const ie_disc_pmi_args *a,
                   const double *rowm, const double *colm, const ie_mat *out, double *stats);
  /* Per row r of t (sets·X rows), Σ_y disc_mi_term(t_ry, rowsum_r, colsum_(set, y),
   * n_set) into rowmi (host, t->rows; rowsum and colsum host, or both NULL:
   * the sums kept by the last `sums`); or, from a GPU backend, each
   * table's sum of them (folded on the device) in its first row
   * rowmi[b·X], the other rows left as the caller set them (0).  n: host,
   * one total a table. */
  ie_status (*mi_rows)(ie_context *ctx, const ie_mat *t, int64_t sets, const double *rowsum,
                       const double *colsum, const double *n, double *rowmi);
  /* imin, mmi or broja (DISC_PID_*) of each joint: j is B rows of S1·S2·T
   * masses.  Every joint is checked first (disc_joint_check): *bad gets
   * the first joint that fails and *code its DISC_* code (−1 and IE_ROW_OK
   * when none), and then nothing is written.  Otherwise res (host, 7·B as
   * disc_pid_joint; NULL: not wanted), iters (host, B: BROJA's Newton steps
   * a joint; NULL: not wanted; only with DISC_PID_BROJA) and out (1 × 4·B,
   * f32/f64, backend memory; NULL: none: R, U1, U2, S of each joint) are
   * filled.  BROJA is broja_joint of src/kernels/broja.h on every backend,
   * one joint a thread with its own slice of scratch.  A GPU backend folds
   * the check on the device and writes out there, so that only the verdict
   * crosses (and res and iters when asked for).
   * verdict NULL: the call waits for it.  Else (res and iters NULL; the
   * asynchronous mode): the verdict, INT64_MAX or 4·joint + code, is to be
   * written to the host memory *verdict, which a GPU backend may do as its
   * queue or stream reaches it, the call returning without waiting (*bad
   * then −1). */
  ie_status (*pid)(ie_context *ctx, const ie_mat *j, int64_t S1, int64_t S2, int64_t T,
                   int measure, double *res, int64_t *iters, const ie_mat *out, int64_t *bad,
                   ie_rowerr *code, int64_t *verdict);
  /* Pointwise MMI of three maps (1 × n each) into up to four outputs
   * (NULL: skip).  *bad: first element where an input is NaN/inf, −1 if none. */
  ie_status (*pointwise)(ie_context *ctx, const ie_mat *i1, const ie_mat *i2,
                         const ie_mat *i12, const ie_mat *out[4], int64_t *bad);
} ie_disc_ops;

/* The pairs a batch of the CPU's banded count (src/cpu/discrete.c) takes
 * at most; tests lower it to reach the batches with small inputs. */
extern int64_t ie__cpu_count_batch_pairs;

/* Where a GPU backend keeps a table call's numbers: one scratch of doubles
 * (slot IE_WS_DISCRETE + 1), sized by `sums` for the pmi or mi_rows after
 * it, so that the sums stay where they were written.  From `sums`: the
 * row sums at rs, row maxima at rm, column sums at cs, maxima at cm, each
 * table's total at tot.  Then the later op's own: pmi's 4 statistics a row
 * at pmi_stats and the 4 folded at pmi_fold; mi_rows' totals N at mi_n, a
 * term a row at mi_terms, one folded a table at mi_fold. */
typedef struct {
  int64_t rs, rm, cs, cm, tot;
  int64_t pmi_stats, pmi_fold, mi_n, mi_terms, mi_fold;
  int64_t doubles;
} ie__disc_layout;
static inline ie__disc_layout ie__disc_layout_of(int64_t rows, int64_t cols, int64_t sets) {
  const int64_t nc = sets * cols;
  ie__disc_layout L;
  L.rs = 0;
  L.rm = rows;
  L.cs = 2 * rows;
  L.cm = 2 * rows + nc;
  L.tot = 2 * rows + 2 * nc;
  const int64_t free = L.tot + sets; /* the later op's numbers from here */
  L.pmi_stats = free;
  L.pmi_fold = free + 4 * rows;
  L.mi_n = free;
  L.mi_terms = free + sets;
  L.mi_fold = free + sets + rows;
  const int64_t pmi = L.pmi_fold + 4, mi = L.mi_fold + sets;
  L.doubles = pmi > mi ? pmi : mi;
  return L;
}

/* BROJA on a GPU (src/kernels/broja.h): each thread solves its joints in
 * its own slice of `words` 8-byte words of scratch (slot IE_WS_DISCRETE +
 * 4); this many slices, so that the scratch stays within IE__BROJA_SCRATCH
 * bytes (at least one slice; a thread then solves several joints). */
#define IE__BROJA_SCRATCH ((int64_t)256 << 20)
static inline int64_t ie__broja_slices(int64_t B, int64_t words) {
  const int64_t most = IE__BROJA_SCRATCH / (8 * (words > 0 ? words : 1));
  const int64_t s = B < most ? B : most;
  return s > 0 ? s : 1;
}

#ifdef __cplusplus
}
#endif
#endif
