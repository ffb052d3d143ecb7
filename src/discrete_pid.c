/*
 * discrete_pid.c — partial information decomposition (docs/SPEC.md §9):
 * imin, MMI and BROJA of batches of joints (the backends, one joint a
 * thread: src/kernels/discrete.h, src/kernels/broja.h), Gaussian MMI from a
 * covariance.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discrete.h"
#include "discrete_private.h"
#include "internal.h"
#include "kernels/broja.h"
#include "kernels/discrete.h"

/* ---- ie_pid ------------------------------------------------------------------------ */

/* The first bad joint b: its cell [s1, s2, t] named when the joint is host
 * memory (the first negative one, or the first NaN or inf; a joint with no
 * mass has none), the joint's index in the batch in any case. */
static ie_status joint_error(ie_context *ctx, const char *fn, const ie__arg *a, int batched, int64_t b,
                             int64_t S2, int64_t T, int code) {
  char which[48] = "", cell[96] = "";
  if (batched) snprintf(which, sizeof which, ", joint %lld", (long long)b);
  ie__locate(ctx, "joint", batched ? b : -1, -1, -1);
  if (a->on_host && code != DISC_EMPTY) {
    const size_t esz = ie__dtype_size(a->m.dtype);
    const char *row = a->host + (size_t)b * (size_t)a->host_stride * esz;
    for (int64_t c = 0; c < a->m.cols; c++) {
      const double v = ie__load_double(row + (size_t)c * esz, a->m.dtype);
      if (code == DISC_NEGATIVE ? v < 0 : !isfinite(v)) {
        snprintf(cell, sizeof cell, " at [%lld, %lld, %lld] (%g)", (long long)(c / (S2 * T)),
                 (long long)(c / T % S2), (long long)(c % T), v);
        break;
      }
    }
  }
  switch (code) {
  case DISC_NEGATIVE:
    return ie__error(ctx, IE_NEGATIVE, "%s: tensor 'joint'%s holds a negative value%s", fn, which, cell);
  case DISC_EMPTY:
    return ie__error(ctx, IE_EMPTY_ROW, "%s: tensor 'joint'%s has no mass (it sums to 0)", fn, which);
  default:
    return ie__error(ctx, IE_NONFINITE, "%s: tensor 'joint'%s holds NaN or inf%s", fn, which, cell);
  }
}

/* An ie_pid call left in flight (the asynchronous mode): its verdict is
 * read to host memory of the outcome ring as the device reaches it. */
typedef struct {
  const char *fn;
  int batched, has_out;
  int64_t S2, T;
  const int64_t *verdict; /* INT64_MAX, or 4·joint + code */
  ie__arg out;            /* device memory: its view only */
} pid_job;

static ie_status pid_finish(ie_context *ctx, void *job, ie_status prior) {
  pid_job *j = job;
  ie_status s = prior;
  const int64_t v = *j->verdict;
  if (s == IE_OK && v != INT64_MAX) {
    ie__arg device; /* the joint is device memory: its cell is not named */
    memset(&device, 0, sizeof device);
    s = joint_error(ctx, j->fn, &device, j->batched, v / 4, j->S2, j->T, (int)(v % 4));
  }
  /* A bad joint wrote nothing (out untouched, as a synchronous call); a
   * failed wait may have left out half written. */
  if (prior != IE_OK && j->has_out) ie__spoil(ctx, &j->out);
  return s;
}

/* The asynchronous mode's ie_pid: the work enqueued, its verdict pending. */
static ie_status pid_enqueue(ie_context *ctx, const char *fn, const ie__disc_tensor *jv, const ie__arg *out,
                             int batched, int64_t S1, int64_t S2, int64_t T, int measure) {
  void *dev = NULL;
  size_t dev_off = 0;
  uint64_t *host = NULL;
  IE__CHECK(ie__async_outcome(ctx, fn, 0, &dev, &dev_off, &host));
  int64_t bad = -1;
  ie_rowerr code = IE_ROW_OK;
  pid_job j;
  memset(&j, 0, sizeof j);
  j.fn = fn;
  j.batched = batched;
  j.has_out = out != NULL;
  j.S2 = S2;
  j.T = T;
  j.verdict = (const int64_t *)host;
  if (out) {
    j.out = *out;
    j.out.t = NULL; /* the caller's struct need not outlive the call */
  }
  IE__CHECK(IE__BE(ctx, discrete->pid, &jv->a.m, S1, S2, T, measure, NULL, NULL, out ? &out->m : NULL, &bad,
                   &code, (int64_t *)host));
  if (ie__async_push(ctx, fn, pid_finish, &j, sizeof j) == IE_OK) {
    ie__async_outcome_keep(ctx);
    return IE_OK;
  }
  /* No record: finish it here, once the device is done. */
  return pid_finish(ctx, &j, ctx->ops->synchronize(ctx));
}

IE_API ie_status ie_pid(ie_context *ctx, const DLTensor *joint, const ie_pid_options *opt,
                        ie_pid_result *results, DLTensor *out) {
  static const char fn[] = "ie_pid";
  IE__CHECK(ie__begin(ctx, fn, ctx && ctx->ops && ctx->ops->discrete, "discrete information"));
  ie_pid_options o;
  IE__CHECK(IE__OPTIONS(ctx, fn, o, opt, measure));
  if ((unsigned)o.measure > IE_PID_BROJA)
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: unknown measure %d", fn, (int)o.measure);
  ie__disc_tensor jv, ov;
  IE__CHECK(ie__disc_view(ctx, &jv, fn, "joint", joint, 3, 4,
                          IE__INTS | (1u << IE_DT_F32) | (1u << IE_DT_F64)));
  const int batched = jv.ndim == 4;
  const int64_t B = batched ? jv.dims[0] : 1;
  const int64_t S1 = jv.dims[jv.ndim - 3], S2 = jv.dims[jv.ndim - 2], T = jv.dims[jv.ndim - 1];
  const int64_t n = S1 * S2 * T;
  if (out) {
    IE__CHECK(ie__disc_view(ctx, &ov, fn, "out", out, 1, 2, (1u << IE_DT_F32) | (1u << IE_DT_F64) | IE__OUTPUT));
    const int ok = batched ? (ov.ndim == 2 && ov.dims[0] == B && ov.dims[1] == 4)
                           : (ov.shape[0] * ov.shape[1] == 4 && ov.dims[ov.ndim - 1] == 4);
    if (!ok)
      return ie__error(ctx, IE_BAD_SHAPE, "%s: tensor 'out' must be [%s4] (R, U1, U2, S per joint)", fn,
                       batched ? "B, " : "");
  }
  if (B == 0) return IE_OK;
  if (n == 0) return ie__error(ctx, IE_EMPTY_ROW, "%s: tensor 'joint' has an empty dimension", fn);
  /* One joint a row; `out` one row of R, U1, U2, S per joint. */
  jv.a.m.rows = B;
  jv.a.m.cols = jv.a.m.stride = jv.a.host_stride = n;
  if (out) {
    ov.a.m.rows = 1;
    ov.a.m.cols = ov.a.m.stride = ov.a.host_stride = 4 * B;
  }
  const int broja = o.measure == IE_PID_BROJA;
  if (broja) {
    /* BROJA's scratch a joint (src/kernels/broja.h): a dense Hessian of
     * (S1 − 1)(S2 − 1)T cycles squared; refuse sizes whose count overflows. */
    const double words = (double)broja_scratch_words(S1, S2, T) * 8.0;
    const double nc = (double)T * (double)(S1 - 1) * (double)(S2 - 1);
    if (!(nc * nc < 1e15) || !(words < 1e15))
      return ie__error(ctx, IE_OUT_OF_MEMORY,
                       "%s: joints [%lld, %lld, %lld] are too large for BROJA's dense Newton solver", fn,
                       (long long)S1, (long long)S2, (long long)T);
  }
  /* Host temporaries (the 7 values and BROJA's steps a joint, only when the
   * call returns them): the workspace's on a GPU context, so that a warm
   * call allocates nothing; the heap on the CPU's. */
  const int heap = ctx->backend == IE_BACKEND_CPU;
  double *res = NULL;
  int64_t *iters = NULL;
  ie_status s = IE_OK;
  if (results) {
    const size_t rb = (size_t)B * 7 * sizeof *res, ib = broja ? (size_t)B * sizeof *iters : 0;
    if (heap) {
      res = ie__malloc(rb);
      iters = ib ? ie__calloc((size_t)B, sizeof *iters) : NULL;
      if (!res || (ib && !iters)) s = ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory", fn);
    } else {
      s = ie__ws_host(ctx, IE_WSH_DISCRETE + 2, rb, (void **)&res);
      if (s == IE_OK && ib) s = ie__ws_host(ctx, IE_WSH_DISCRETE + 3, ib, (void **)&iters);
      if (s == IE_OK && ib) memset(iters, 0, ib);
    }
  }
  /* In the asynchronous mode, with device tensors and no host results:
   * enqueued, its verdict left to ie_synchronize. */
  if (s == IE_OK && ctx->async && ctx->ops->synchronize && !results && !jv.a.on_host && !(out && ov.a.on_host))
    return pid_enqueue(ctx, fn, &jv, out ? &ov.a : NULL, batched, S1, S2, T, (int)o.measure);
  if (s == IE_OK) {
    /* Every measure on the backend: joints checked there, `out` written
     * there (staged when it is host memory on a GPU); the first bad joint
     * and its code come back, and the values (and BROJA's steps) only when
     * `results` asks for them. */
    int64_t bad = -1;
    ie_rowerr code = IE_ROW_OK;
    s = ie__stage_in(ctx, &jv.a);
    if (s == IE_OK && out) s = ie__stage_out(ctx, &ov.a);
    if (s == IE_OK)
      s = IE__BE(ctx, discrete->pid, &jv.a.m, S1, S2, T, (int)o.measure, results ? res : NULL,
                 results ? iters : NULL, out ? &ov.a.m : NULL, &bad, &code, NULL);
    if (s == IE_OK && bad >= 0) s = joint_error(ctx, fn, &jv.a, batched, bad, S2, T, (int)code);
    if (s == IE_OK && out) s = ie__unstage_out(ctx, &ov.a);
    if (out) ie__release(ctx, &ov.a);
    ie__release(ctx, &jv.a);
  }
  if (s == IE_OK && results)
    for (int64_t b = 0; b < B; b++) {
      const double *r = res + 7 * b;
      ie_pid_result x = {r[0], r[1], r[2], r[3], r[4], r[5], r[6], iters ? iters[b] : 0};
      results[b] = x;
    }
  if (heap) {
    free(res);
    free(iters);
  }
  return s;
}

/* ---- Gaussian MMI ------------------------------------------------------------------ */

/* Digamma ψ(x), x > 0: ψ(x) = ψ(x+1) − 1/x up to x >= 12, then the
 * asymptotic series in 1/x². */
static double psi(double x) {
  double r = 0;
  for (; x < 12; x += 1) r -= 1 / x;
  const double z = 1 / (x * x);
  return r + log(x) - 0.5 / x -
         z * (1.0 / 12 - z * (1.0 / 120 - z * (1.0 / 252 - z * (1.0 / 240 - z / 132))));
}

/* log det of the principal submatrix of c (d × d) on the index list idx. */
static int logdet_sub(const double *c, int64_t d, const int64_t *idx, int64_t m, double *work,
                      double *out) {
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < m; j++) work[i * m + j] = c[idx[i] * d + idx[j]];
  if (!disc_cholesky(work, m)) return 0;
  double s = 0;
  for (int64_t i = 0; i < m; i++) s += log(work[i * m + i]);
  *out = 2 * s;
  return 1;
}

IE_API ie_status ie_pid_gaussian(ie_context *ctx, const DLTensor *cov, const int64_t sizes[3],
                                 const ie_pid_gaussian_options *opt, ie_pid_result *result) {
  static const char fn[] = "ie_pid_gaussian";
  IE__CHECK(ie__begin(ctx, fn, 1, ""));
  ie_pid_gaussian_options o;
  IE__CHECK(IE__OPTIONS(ctx, fn, o, opt, samples));
  if (!sizes || !result)
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: %s is NULL", fn, sizes ? "result" : "sizes");
  ie__disc_tensor cv;
  IE__CHECK(ie__disc_view(ctx, &cv, fn, "cov", cov, 2, 2, (1u << IE_DT_F32) | (1u << IE_DT_F64)));
  const int64_t d = cv.dims[0];
  if (cv.dims[1] != d)
    return ie__error(ctx, IE_BAD_SHAPE, "%s: tensor 'cov' is [%lld, %lld]; it must be square", fn,
                     (long long)d, (long long)cv.dims[1]);
  for (int k = 0; k < 3; k++)
    if (sizes[k] < 1)
      return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: sizes[%d] = %lld; every block needs >= 1 variable",
                       fn, k, (long long)sizes[k]);
  if (sizes[0] + sizes[1] + sizes[2] != d)
    return ie__error(ctx, IE_BAD_SHAPE, "%s: sizes %lld + %lld + %lld do not add up to the %lld rows of 'cov'",
                     fn, (long long)sizes[0], (long long)sizes[1], (long long)sizes[2], (long long)d);
  if (o.samples < 0 || (o.samples > 0 && o.samples <= d))
    return ie__error(ctx, IE_INVALID_ARGUMENT,
                     "%s: samples = %lld; the bias correction needs more samples than the %lld dimensions",
                     fn, (long long)o.samples, (long long)d);
  double *c = ie__malloc((size_t)(d * d) * 2 * sizeof *c + (size_t)d * sizeof(int64_t));
  if (!c) return ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory", fn);
  double *work = c + d * d;
  int64_t *idx = (int64_t *)(work + d * d);
  ie_status s = IE_OK;
  for (int64_t i = 0; i < d && s == IE_OK; i++) {
    double *row = NULL;
    s = ie__fetch_row(ctx, &cv.a, i, &row);
    if (s != IE_OK) break;
    memcpy(c + i * d, row, (size_t)d * sizeof *row);
    free(row);
    for (int64_t j = 0; j < d; j++)
      if (!isfinite(c[i * d + j])) {
        s = ie__error(ctx, IE_NONFINITE, "%s: tensor 'cov', row %lld, column %lld is NaN or inf", fn,
                      (long long)i, (long long)j);
        ie__locate(ctx, "cov", -1, i, j);
        break;
      }
  }
  const double eps = cv.a.m.dtype == IE_DT_F32 ? 1e-6 : 1e-12;
  for (int64_t i = 0; i < d && s == IE_OK; i++)
    for (int64_t j = 0; j < i; j++)
      if (fabs(c[i * d + j] - c[j * d + i]) > eps * sqrt(fabs(c[i * d + i] * c[j * d + j]))) {
        s = ie__error(ctx, IE_INVALID_ARGUMENT, "%s: tensor 'cov' is not symmetric at row %lld, column %lld",
                      fn, (long long)i, (long long)j);
        ie__locate(ctx, "cov", -1, i, j);
        break;
      }
  /* Blocks: X1 = [0, a), X2 = [a, a+b), Y = [a+b, d).  Sets: X1, X2, Y,
   * X1∪Y, X2∪Y, X1∪X2, all. */
  const int64_t a = sizes[0], b = sizes[1], y = sizes[2];
  double ld[7];
  static const char *const set_names[7] = {"X1", "X2", "Y", "(X1, Y)", "(X2, Y)", "(X1, X2)", "(X1, X2, Y)"};
  for (int k = 0; k < 7 && s == IE_OK; k++) {
    int64_t m = 0;
    const int in1 = k == 0 || k == 3 || k == 5 || k == 6, in2 = k == 1 || k == 4 || k == 5 || k == 6,
              inY = k == 2 || k == 3 || k == 4 || k == 6;
    if (in1)
      for (int64_t i = 0; i < a; i++) idx[m++] = i;
    if (in2)
      for (int64_t i = 0; i < b; i++) idx[m++] = a + i;
    if (inY)
      for (int64_t i = 0; i < y; i++) idx[m++] = a + b + i;
    if (!logdet_sub(c, d, idx, m, work, &ld[k])) {
      s = ie__error(ctx, IE_INVALID_ARGUMENT, "%s: tensor 'cov': the block of %s is not positive definite",
                    fn, set_names[k]);
      ie__locate(ctx, "cov", -1, -1, -1);
      break;
    }
    if (o.samples > 0) { /* E log det Σ̂_A − log det Σ_A under Wishart(n − 1) */
      const double nn = (double)o.samples, l = log((nn - 1) / 2);
      for (int64_t q = 1; q <= m; q++) ld[k] -= psi((nn - (double)q) / 2) - l;
    }
  }
  free(c);
  if (s != IE_OK) return s;
  double mi1 = 0.5 * (ld[0] + ld[2] - ld[3]);
  double mi2 = 0.5 * (ld[1] + ld[2] - ld[4]);
  double mi12 = 0.5 * (ld[5] + ld[2] - ld[6]);
  mi1 = mi1 > 0 ? mi1 : 0.0;
  mi2 = mi2 > 0 ? mi2 : 0.0;
  mi12 = mi12 > 0 ? mi12 : 0.0;
  const double red = fmin(mi1, mi2);
  double syn = mi12 - fmax(mi1, mi2); /* >= 0 exactly; an estimate may not be */
  if (syn < 0 && (o.samples == 0 || syn > -1e-12 * fmax(1.0, mi12))) syn = 0;
  ie_pid_result r = {red, mi1 - red, mi2 - red, syn, mi1, mi2, mi12, 0};
  *result = r;
  return IE_OK;
}
