/*
 * discrete.c (opencl) — host side of the discrete-information kernels
 * (src/kernels/discrete.cl; the sub-table of src/discrete.h): launch shapes,
 * the scratch layout, and the copies of the small per-row results to the
 * host arrays of the contract.  BROJA runs one joint a work-item (disc_broja),
 * each with its slice of a scratch buffer in the workspace.
 *
 * Small results share one workspace slot of doubles (the `d` of the
 * kernels, arrays at element offsets); first-bad-index searches write one
 * long a work-group into a second, whose minimum is folded on the device
 * (disc_fold_min), as are the PMI map's statistics and each table's MI, so
 * that only those few bytes cross.  Every read back is
 * blocking, so a call has finished its work when it returns, except the
 * count, which leaves its additions queued in order before the caller's next
 * command (the dispatcher reads a staged table back, blocking).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ocl.h"
#include "../discrete.h"
#include "../kernels/broja.h"
#include "../kernels/discrete.h"

extern const ie_disc_ops ie__opencl_disc_ops;

_Static_assert(IE_DT_F32 == DISC_DT_F32 && IE_DT_F64 == DISC_DT_F64 && IE_DT_I32 == DISC_DT_I32 &&
                   IE_DT_I64 == DISC_DT_I64,
               "discrete.cl dtype codes");
_Static_assert(IE_ROW_NONFINITE == DISC_NONFINITE && IE_ROW_NEGATIVE == DISC_NEGATIVE &&
                   IE_ROW_EMPTY == DISC_EMPTY,
               "discrete.cl error codes");

enum { MAX_WG = 256, MAX_GROUPS = 4096, MAX_ROW_GROUPS = 65536 }; /* MAX_WG: DISC_WG */

/* ---- Kernels, arguments, launches ------------------------------------------------- */

typedef struct {
  size_t n;
  const void *p;
} darg;
#define DA(T, v) ((darg){sizeof(T), &(T){v}})
#define DMEM(m) ((darg){sizeof(cl_mem), &(cl_mem){(cl_mem)(m)}})
#define NARGS(a) ((int)(sizeof(a) / sizeof(a)[0]))

typedef struct {
  ie_ocl *s;
  cl_kernel k;
  size_t wg; /* work-group size for k: a power of two <= MAX_WG */
} kern;

/* Build the program if needed and make kernel `name`. */
static ie_status kern_make(ie_context *ctx, const char *name, kern *out) {
  ie_ocl *s = ctx->state;
  memset(out, 0, sizeof *out);
  out->s = s;
  if (!s->fp64)
    return ie__error(ctx, IE_UNSUPPORTED,
                     "discrete information: this OpenCL device has no cl_khr_fp64 (the sums "
                     "are taken in double)");
  ie_status st = ie__ocl_build(ctx, s);
  if (st != IE_OK) return st;
  cl_int e = CL_SUCCESS;
  out->k = clCreateKernel(s->program, name, &e);
  if (e != CL_SUCCESS) {
    out->k = NULL;
    if (e == CL_INVALID_KERNEL_NAME && !strcmp(name, "disc_count_add"))
      return ie__error(ctx, IE_UNSUPPORTED,
                       "ie_count_pairs: this OpenCL device has no cl_khr_int64_base_atomics "
                       "(64-bit counts are added atomically)");
    return IE_CL_FAIL(ctx, "clCreateKernel", e);
  }
  size_t kmax = 0;
  e = clGetKernelWorkGroupInfo(out->k, s->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof kmax, &kmax,
                               NULL);
  if (e != CL_SUCCESS) {
    clReleaseKernel(out->k);
    out->k = NULL;
    return IE_CL_FAIL(ctx, "clGetKernelWorkGroupInfo", e);
  }
  size_t wg = s->wg < MAX_WG ? s->wg : MAX_WG;
  while (wg > 1 && wg > kmax) wg >>= 1;
  out->wg = wg ? wg : 1;
  return IE_OK;
}

static void kern_free(kern *k) {
  if (k->k) clReleaseKernel(k->k);
  k->k = NULL;
}

/* Set the arguments and enqueue `groups` work-groups. */
static ie_status kern_run(ie_context *ctx, kern *k, const darg *a, int na, size_t groups) {
  for (int i = 0; i < na; i++)
    IE_CL_TRY(ctx, "clSetKernelArg", clSetKernelArg(k->k, (cl_uint)i, a[i].n, a[i].p));
  if (groups == 0) groups = 1;
  size_t global = groups * k->wg, local = k->wg;
  IE_CL_TRY(ctx, "clEnqueueNDRangeKernel",
            clEnqueueNDRangeKernel(k->s->queue, k->k, 1, NULL, &global, &local, 0, NULL, NULL));
  return IE_OK;
}

/* Groups for a grid-stride loop over `items` work-items' worth of work. */
static size_t groups_for(const kern *k, int64_t items, size_t cap) {
  const size_t g = (size_t)((items + (int64_t)k->wg - 1) / (int64_t)k->wg);
  return g < 1 ? 1 : g > cap ? cap : g;
}

/* The family's temporaries: workspace slots IE_WS_DISCRETE + these. */
enum { SL_PART = 0, SL_D = 1, SL_PID_PART = 2, SL_PID_RES = 3, SL_BROJA = 4 };

static ie_status slot(ie_context *ctx, int which, size_t bytes, cl_mem *m) {
  void *buf = NULL;
  ie_status st = ie__ws_device(ctx, IE_WS_DISCRETE + which, bytes, &buf);
  *m = (cl_mem)buf;
  return st;
}

static ie_status scratch_d(ie_context *ctx, size_t doubles, cl_mem *d) {
  return slot(ctx, SL_D, doubles * sizeof(double), d);
}

static ie_status upload(ie_context *ctx, cl_mem d, int64_t off, const double *src, int64_t n) {
  if (n <= 0) return IE_OK;
  ie_ocl *s = ctx->state;
  IE_CL_TRY(ctx, "clEnqueueWriteBuffer",
            clEnqueueWriteBuffer(s->queue, d, CL_TRUE, (size_t)off * sizeof(double),
                                 (size_t)n * sizeof(double), src, 0, NULL, NULL));
  ie__ws_copied(ctx, 1, (size_t)n * sizeof(double));
  return IE_OK;
}

static ie_status download(ie_context *ctx, cl_mem d, int64_t off, double *dst, int64_t n) {
  if (n <= 0) return IE_OK;
  ie_ocl *s = ctx->state;
  IE_CL_TRY(ctx, "clEnqueueReadBuffer",
            clEnqueueReadBuffer(s->queue, d, CL_TRUE, (size_t)off * sizeof(double),
                                (size_t)n * sizeof(double), dst, 0, NULL, NULL));
  ie__ws_copied(ctx, 0, (size_t)n * sizeof(double));
  return IE_OK;
}

/* Run a first-bad-index kernel (its last argument the part buffer), fold
 * the groups' minima on the device (disc_fold_min) and read that one long
 * into *first (INT64_MAX: none). */
static ie_status run_search(ie_context *ctx, kern *k, darg *a, int na, size_t groups,
                            int64_t *first) {
  ie_ocl *s = ctx->state;
  cl_mem part = NULL;
  ie_status st = slot(ctx, SL_PART, (groups + 1) * sizeof(cl_long), &part);
  if (st != IE_OK) return st;
  a[na - 1] = DMEM(part);
  st = kern_run(ctx, k, a, na, groups);
  if (st != IE_OK) return st;
  kern kf;
  if ((st = kern_make(ctx, "disc_fold_min", &kf)) != IE_OK) return st;
  darg af[] = {DMEM(part), DA(cl_long, (cl_long)groups)};
  st = kern_run(ctx, &kf, af, NARGS(af), 1);
  kern_free(&kf);
  if (st != IE_OK) return st;
  cl_long m = INT64_MAX;
  IE_CL_TRY(ctx, "clEnqueueReadBuffer",
            clEnqueueReadBuffer(s->queue, part, CL_TRUE, groups * sizeof(cl_long), sizeof m, &m, 0,
                                NULL, NULL));
  ie__ws_copied(ctx, 0, sizeof m);
  *first = m;
  return IE_OK;
}

/* Run fold kernel `name` with arguments a (one work-group, or `groups`). */
static ie_status run_fold(ie_context *ctx, const char *name, const darg *a, int na, size_t groups) {
  kern k;
  ie_status st = kern_make(ctx, name, &k);
  if (st != IE_OK) return st;
  st = kern_run(ctx, &k, a, na, groups);
  kern_free(&k);
  return st;
}

/* ---- Counting ------------------------------------------------------------------------ */

/* The check, its fold and the add (which reads the folded verdict on the
 * device) run back to back; only the verdict is read, waiting for it
 * unless `verdict` takes it later. */
static ie_status ocl_count(ie_context *ctx, const ie_vec *x, const ie_mat *y, int64_t X, int64_t Y,
                           int has_ignore, int64_t ignore, void *table, size_t table_off,
                           int64_t *bad, int64_t *verdict) {
  ie_ocl *s = ctx->state;
  *bad = -1;
  kern kc, ka;
  ie_status st = kern_make(ctx, "disc_count_check", &kc);
  if (st != IE_OK) return st;
  st = kern_make(ctx, "disc_count_add", &ka);
  if (st != IE_OK) {
    kern_free(&kc);
    return st;
  }
  const size_t groups = groups_for(&kc, x->n, MAX_GROUPS);
  cl_mem part = NULL;
  st = slot(ctx, SL_PART, (groups + 1) * sizeof(cl_long), &part);
  darg a[] = {DMEM(x->buf),          DA(cl_long, (cl_long)x->offset), DA(cl_int, (cl_int)x->dtype),
              DA(cl_long, x->stride), DMEM(y->buf),                   DA(cl_long, (cl_long)y->offset),
              DA(cl_int, (cl_int)y->dtype), DA(cl_long, y->stride),  DA(cl_long, x->n),
              DA(cl_long, y->cols),  DA(cl_long, X),                  DA(cl_long, Y),
              DA(cl_int, has_ignore != 0), DA(cl_long, ignore),       DMEM(table),
              DA(cl_long, (cl_long)table_off), DMEM(part),            DA(cl_long, (cl_long)groups)};
  /* The check takes the same first 14 arguments and its part buffer. */
  darg ac[15];
  memcpy(ac, a, 14 * sizeof *a);
  ac[14] = DMEM(part);
  darg af[] = {DMEM(part), DA(cl_long, (cl_long)groups)};
  if (st == IE_OK) st = kern_run(ctx, &kc, ac, 15, groups);
  if (st == IE_OK) st = run_fold(ctx, "disc_fold_min", af, NARGS(af), 1);
  if (st == IE_OK) st = kern_run(ctx, &ka, a, NARGS(a), groups_for(&ka, x->n, MAX_GROUPS));
  kern_free(&kc);
  kern_free(&ka);
  if (st != IE_OK) return st;
  cl_long first = INT64_MAX;
  IE_CL_TRY(ctx, "clEnqueueReadBuffer",
            clEnqueueReadBuffer(s->queue, part, verdict ? CL_FALSE : CL_TRUE, groups * sizeof(cl_long),
                                sizeof first, verdict ? (void *)verdict : (void *)&first, 0, NULL, NULL));
  ie__ws_copied(ctx, 0, sizeof first);
  if (!verdict && first != INT64_MAX) *bad = first;
  return IE_OK;
}

/* ---- Table sums ------------------------------------------------------------------------ */

/* The sums stay in the scratch (ie__disc_layout) for the pmi or mi_rows
 * of the same call; the host gets the totals, and the sums and maxima it
 * asks for. */
static ie_status ocl_sums(ie_context *ctx, const ie_mat *t, int64_t sets, double *rowsum,
                          double *colsum, double *rowmax, double *colmax, double *totals,
                          int64_t *bad, ie_rowerr *code) {
  *bad = -1;
  *code = IE_ROW_OK;
  const int64_t rows = t->rows, Y = t->cols, X = rows / sets, nc = sets * Y;
  const ie__disc_layout L = ie__disc_layout_of(rows, Y, sets);
  kern kc, kr, kcol;
  ie_status st = kern_make(ctx, "disc_cells_check", &kc);
  if (st != IE_OK) return st;
  darg ac[] = {DMEM(t->buf), DA(cl_long, (cl_long)t->offset), DA(cl_int, (cl_int)t->dtype),
               DA(cl_long, rows * Y), DMEM(NULL)};
  int64_t first = INT64_MAX;
  st = run_search(ctx, &kc, ac, NARGS(ac), groups_for(&kc, rows * Y, MAX_GROUPS), &first);
  kern_free(&kc);
  if (st != IE_OK) return st;
  if (first != INT64_MAX) {
    *bad = first / 4;
    *code = (ie_rowerr)(first % 4);
    return IE_OK;
  }
  const int maxima = rowmax != NULL;
  cl_mem d = NULL;
  st = scratch_d(ctx, (size_t)L.doubles, &d);
  if (st != IE_OK) return st;
  st = kern_make(ctx, "disc_row_sums", &kr);
  if (st != IE_OK) return st;
  darg ar[] = {DMEM(t->buf),      DA(cl_long, (cl_long)t->offset), DA(cl_int, (cl_int)t->dtype),
               DA(cl_long, rows), DA(cl_long, Y),                  DMEM(d),
               DA(cl_long, L.rs), DA(cl_long, L.rm),               DA(cl_int, maxima)};
  st = kern_run(ctx, &kr, ar, NARGS(ar), groups_for(&kr, rows, MAX_ROW_GROUPS));
  kern_free(&kr);
  if (st == IE_OK) st = kern_make(ctx, "disc_col_sums", &kcol);
  if (st != IE_OK) return st;
  darg acol[] = {DMEM(t->buf),      DA(cl_long, (cl_long)t->offset), DA(cl_int, (cl_int)t->dtype),
                 DA(cl_long, sets), DA(cl_long, X),                  DA(cl_long, Y),
                 DMEM(d),           DA(cl_long, L.cs),               DA(cl_long, L.cm),
                 DA(cl_int, maxima)};
  st = kern_run(ctx, &kcol, acol, NARGS(acol), groups_for(&kcol, nc, MAX_ROW_GROUPS));
  kern_free(&kcol);
  darg at[] = {DMEM(d), DA(cl_long, L.rs), DA(cl_long, sets), DA(cl_long, X), DA(cl_long, L.tot)};
  if (st == IE_OK) st = run_fold(ctx, "disc_fold_totals", at, NARGS(at), 1);
  if (st == IE_OK) st = download(ctx, d, L.tot, totals, sets);
  if (st == IE_OK && rowsum) st = download(ctx, d, L.rs, rowsum, rows);
  if (st == IE_OK && colsum) st = download(ctx, d, L.cs, colsum, nc);
  if (st == IE_OK && maxima) st = download(ctx, d, L.rm, rowmax, rows);
  if (st == IE_OK && maxima) st = download(ctx, d, L.cm, colmax, nc);
  return st;
}

/* ---- PMI map and MI terms ---------------------------------------------------------------- */

static ie_status ocl_pmi(ie_context *ctx, const ie_mat *t, const ie_disc_pmi_args *pa,
                         const double *rowm, const double *colm, const ie_mat *out,
                         double *stats) {
  const int64_t X = t->rows, Y = t->cols;
  const ie__disc_layout L = ie__disc_layout_of(X, Y, 1);
  const int64_t o_stats = L.pmi_stats, o_fold = L.pmi_fold;
  cl_mem d = NULL;
  ie_status st = scratch_d(ctx, (size_t)L.doubles, &d); /* the buffer `sums` left its sums in */
  if (st == IE_OK && rowm) st = upload(ctx, d, L.rs, rowm, X);
  if (st == IE_OK && colm) st = upload(ctx, d, L.cs, colm, Y);
  kern k;
  if (st == IE_OK) st = kern_make(ctx, "disc_pmi", &k);
  if (st != IE_OK) return st;
  const double logn = log(pa->n);
  darg a[] = {DMEM(t->buf),
              DA(cl_long, (cl_long)t->offset),
              DA(cl_int, (cl_int)t->dtype),
              DA(cl_long, X),
              DA(cl_long, Y),
              DA(cl_int, pa->kind),
              DA(cl_double, pa->min_count),
              DA(cl_double, pa->smooth),
              DA(cl_double, logn),
              DA(cl_double, pa->smooth * (double)Y),
              DA(cl_double, pa->smooth * (double)X),
              DMEM(d),
              DA(cl_long, L.rs),
              DA(cl_long, L.cs),
              DA(cl_long, o_stats),
              DMEM(out ? out->buf : (void *)d), /* not written without an output */
              DA(cl_long, out ? (cl_long)out->offset : 0),
              DA(cl_int, out ? (cl_int)out->dtype : DISC_DT_F32),
              DA(cl_int, out != NULL)};
  st = kern_run(ctx, &k, a, NARGS(a), (size_t)(X < MAX_ROW_GROUPS ? X : MAX_ROW_GROUPS));
  kern_free(&k);
  /* The rows' statistics folded on the device: 4 doubles cross. */
  darg af[] = {DMEM(d), DA(cl_long, o_stats), DA(cl_long, X), DA(cl_long, o_fold)};
  if (st == IE_OK) st = run_fold(ctx, "disc_fold_stats", af, NARGS(af), 1);
  if (st == IE_OK) st = download(ctx, d, o_fold, stats, 4);
  return st;
}

static ie_status ocl_mi_rows(ie_context *ctx, const ie_mat *t, int64_t sets, const double *rowsum,
                             const double *colsum, const double *n, double *rowmi) {
  const int64_t rows = t->rows, Y = t->cols, X = rows / sets, nc = sets * Y;
  const ie__disc_layout L = ie__disc_layout_of(rows, Y, sets);
  const int64_t o_n = L.mi_n, o_mi = L.mi_terms, o_fold = L.mi_fold;
  cl_mem d = NULL;
  ie_status st = scratch_d(ctx, (size_t)L.doubles, &d); /* the buffer `sums` left its sums in */
  if (st == IE_OK && rowsum) st = upload(ctx, d, L.rs, rowsum, rows);
  if (st == IE_OK && colsum) st = upload(ctx, d, L.cs, colsum, nc);
  if (st == IE_OK) st = upload(ctx, d, o_n, n, sets);
  kern k;
  if (st == IE_OK) st = kern_make(ctx, "disc_mi_rows", &k);
  if (st != IE_OK) return st;
  darg a[] = {DMEM(t->buf),      DA(cl_long, (cl_long)t->offset), DA(cl_int, (cl_int)t->dtype),
              DA(cl_long, rows), DA(cl_long, X),                  DA(cl_long, Y),
              DMEM(d),           DA(cl_long, L.rs),               DA(cl_long, L.cs),
              DA(cl_long, o_n),  DA(cl_long, o_mi)};
  st = kern_run(ctx, &k, a, NARGS(a), (size_t)(rows < MAX_ROW_GROUPS ? rows : MAX_ROW_GROUPS));
  kern_free(&k);
  /* Each table's rows folded on the device: one double a table crosses,
   * into its first row (src/discrete.h). */
  darg af[] = {DMEM(d), DA(cl_long, o_mi), DA(cl_long, sets), DA(cl_long, X), DA(cl_long, o_fold)};
  if (st == IE_OK)
    st = run_fold(ctx, "disc_fold_mi", af, NARGS(af), (size_t)(sets < MAX_ROW_GROUPS ? sets : MAX_ROW_GROUPS));
  void *h = NULL;
  if (st == IE_OK) st = ie__ws_host(ctx, IE_WSH_DISCRETE + 1, (size_t)sets * sizeof(double), &h);
  if (st == IE_OK) st = download(ctx, d, o_fold, h, sets);
  for (int64_t b = 0; st == IE_OK && b < sets; b++) rowmi[b * X] = ((const double *)h)[b];
  return st;
}

/* ---- PID ---------------------------------------------------------------------------------- */

/* The check pass folds the first bad joint on the device, and the values
 * are written only when it found none (the pid kernel reads the verdict
 * there): then out is filled on the device, and what crosses is the
 * verdict's one long, and the 7·B values (and BROJA's B step counts) when
 * res asks for them.  BROJA's scratch (slot SL_BROJA) holds one slice of
 * broja_scratch_words a work-item, for at most IE__BROJA_SCRATCH bytes of
 * slices; with fewer slices than joints, a work-item solves several. */
static ie_status ocl_pid(ie_context *ctx, const ie_mat *j, int64_t S1, int64_t S2, int64_t T,
                         int measure, double *res, int64_t *iters, const ie_mat *out, int64_t *bad,
                         ie_rowerr *code, int64_t *verdict) {
  ie_ocl *s = ctx->state;
  *bad = -1;
  *code = IE_ROW_OK;
  const int64_t B = j->rows, n = S1 * S2 * T;
  const int broja = measure == DISC_PID_BROJA;
  kern kc, kp;
  ie_status st = kern_make(ctx, "disc_pid_check", &kc);
  if (st != IE_OK) return st;
  const size_t groups = groups_for(&kc, B, MAX_GROUPS);
  cl_mem part = NULL, d = NULL, w = NULL;
  st = slot(ctx, SL_PID_PART, (groups + 1) * sizeof(cl_long), &part);
  if (st == IE_OK && res) st = slot(ctx, SL_PID_RES, (size_t)((broja ? 8 : 7) * B) * sizeof(double), &d);
  darg ac[] = {DMEM(j->buf), DA(cl_long, (cl_long)j->offset), DA(cl_int, (cl_int)j->dtype),
               DA(cl_long, B), DA(cl_long, n), DMEM(part)};
  if (st == IE_OK) st = kern_run(ctx, &kc, ac, NARGS(ac), groups);
  kern_free(&kc);
  darg af[] = {DMEM(part), DA(cl_long, (cl_long)groups)};
  if (st == IE_OK) st = run_fold(ctx, "disc_fold_min", af, NARGS(af), 1);
  if (st == IE_OK) st = kern_make(ctx, broja ? "disc_broja" : "disc_pid", &kp);
  if (st != IE_OK) return st;
  if (broja && (res || out)) {
    const int64_t words = broja_scratch_words(S1, S2, T);
    const int64_t slices = ie__broja_slices(B, words);
    st = slot(ctx, SL_BROJA, (size_t)(slices * words) * sizeof(double), &w);
    darg a[] = {DMEM(j->buf),
                DA(cl_long, (cl_long)j->offset),
                DA(cl_int, (cl_int)j->dtype),
                DA(cl_long, B),
                DA(cl_long, S1),
                DA(cl_long, S2),
                DA(cl_long, T),
                DMEM(part),
                DA(cl_long, (cl_long)groups),
                DMEM(w),
                DA(cl_long, words),
                DA(cl_long, slices),
                DMEM(res ? d : part), /* not written without res */
                DA(cl_long, 0),
                DA(cl_int, res != NULL),
                DMEM(out ? out->buf : (void *)part), /* not written without an output */
                DA(cl_long, out ? (cl_long)out->offset : 0),
                DA(cl_int, out ? (cl_int)out->dtype : DISC_DT_F32),
                DA(cl_int, out != NULL)};
    if (st == IE_OK) st = kern_run(ctx, &kp, a, NARGS(a), groups_for(&kp, slices, (size_t)slices));
  } else if (res || out) {
    darg a[] = {DMEM(j->buf),
                DA(cl_long, (cl_long)j->offset),
                DA(cl_int, (cl_int)j->dtype),
                DA(cl_long, B),
                DA(cl_long, S1),
                DA(cl_long, S2),
                DA(cl_long, T),
                DA(cl_int, measure),
                DMEM(part),
                DA(cl_long, (cl_long)groups),
                DMEM(res ? d : part), /* not written without res */
                DA(cl_long, 0),
                DA(cl_int, res != NULL),
                DMEM(out ? out->buf : (void *)part), /* not written without an output */
                DA(cl_long, out ? (cl_long)out->offset : 0),
                DA(cl_int, out ? (cl_int)out->dtype : DISC_DT_F32),
                DA(cl_int, out != NULL)};
    st = kern_run(ctx, &kp, a, NARGS(a), groups_for(&kp, B, MAX_GROUPS));
  }
  kern_free(&kp);
  if (st == IE_OK && verdict) { /* read as the queue reaches it; the call does not wait */
    IE_CL_TRY(ctx, "clEnqueueReadBuffer",
              clEnqueueReadBuffer(s->queue, part, CL_FALSE, groups * sizeof(cl_long), sizeof *verdict, verdict,
                                  0, NULL, NULL));
    ie__ws_copied(ctx, 0, sizeof *verdict);
    return IE_OK;
  }
  cl_long first = INT64_MAX;
  if (st == IE_OK) {
    IE_CL_TRY(ctx, "clEnqueueReadBuffer",
              clEnqueueReadBuffer(s->queue, part, CL_TRUE, groups * sizeof(cl_long), sizeof first, &first,
                                  0, NULL, NULL));
    ie__ws_copied(ctx, 0, sizeof first);
  }
  if (st == IE_OK && first != INT64_MAX) {
    *bad = first / 4;
    *code = (ie_rowerr)(first % 4);
    return IE_OK;
  }
  if (st == IE_OK && res) st = download(ctx, d, 0, res, 7 * B);
  if (st == IE_OK && res && broja && iters) {
    IE_CL_TRY(ctx, "clEnqueueReadBuffer",
              clEnqueueReadBuffer(s->queue, d, CL_TRUE, (size_t)(7 * B) * sizeof(double),
                                  (size_t)B * sizeof(int64_t), iters, 0, NULL, NULL));
    ie__ws_copied(ctx, 0, (size_t)B * sizeof(int64_t));
  }
  return st;
}

static ie_status ocl_pointwise(ie_context *ctx, const ie_mat *i1, const ie_mat *i2,
                               const ie_mat *i12, const ie_mat *out[4], int64_t *bad) {
  *bad = -1;
  const int64_t n = i1->cols;
  cl_int mask = 0;
  for (int o = 0; o < 4; o++)
    if (out[o]) mask |= (1 << o) | (out[o]->dtype == IE_DT_F64 ? 16 << o : 0);
  kern k;
  ie_status st = kern_make(ctx, "disc_pointwise", &k);
  if (st != IE_OK) return st;
#define OUT_ARGS(o) DMEM(out[o] ? out[o]->buf : i1->buf), DA(cl_long, out[o] ? (cl_long)out[o]->offset : 0)
  darg a[] = {DMEM(i1->buf),  DA(cl_long, (cl_long)i1->offset),  DA(cl_int, (cl_int)i1->dtype),
              DMEM(i2->buf),  DA(cl_long, (cl_long)i2->offset),  DA(cl_int, (cl_int)i2->dtype),
              DMEM(i12->buf), DA(cl_long, (cl_long)i12->offset), DA(cl_int, (cl_int)i12->dtype),
              DA(cl_long, n), OUT_ARGS(0), OUT_ARGS(1), OUT_ARGS(2), OUT_ARGS(3),
              DA(cl_int, mask), DMEM(NULL)};
#undef OUT_ARGS
  int64_t first = INT64_MAX;
  st = run_search(ctx, &k, a, NARGS(a), groups_for(&k, n, MAX_GROUPS), &first);
  kern_free(&k);
  if (st == IE_OK && first != INT64_MAX) *bad = first;
  return st;
}

const ie_disc_ops ie__opencl_disc_ops = {
    .keeps_marginals = 1,
    .count = ocl_count,
    .sums = ocl_sums,
    .pmi = ocl_pmi,
    .mi_rows = ocl_mi_rows,
    .pid = ocl_pid,
    .pointwise = ocl_pointwise,
};
