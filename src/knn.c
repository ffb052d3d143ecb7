/*
 * knn.c — k-nearest-neighbour estimators (docs/SPEC.md §5): argument checks, reading
 * and validating the samples, the seeded jitter, and every formula.  The
 * backends only search, count and reduce.
 *
 * The CPU backend (ops->knn, ops->range_count: host arrays) gets every input
 * read once into host doubles (O((N + M)·d)): that is where NaN/inf is
 * detected (naming the row), jitter is applied and the joint space of KSG
 * is assembled.
 *
 * A GPU backend (ops->knn_dev, src/knn_dev.h) keeps everything on the
 * device: the caller's tensors are loaded into compact float32 workspace
 * buffers (exact for float32/float16/bfloat16, which is all a GPU context
 * accepts) by a pass that also finds a non-finite row; the searches write
 * ie_knn's outputs in place and the estimators' k-th distances, counts and
 * ratios into device vectors; the per-point terms (knn_terms.h, the same
 * source on both paths) are reduced there and only KNN_STATS doubles a
 * reduction come back.  Host steps that stay on a GPU context: the jitter
 * (a sequential seeded stream over the samples as doubles, defined on the
 * host: the samples are read, jittered and uploaded once as float32) and,
 * after a failure, the one bad row that the message names.
 */
#define _DEFAULT_SOURCE /* lgamma_r: lgamma writes the global signgam */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "knn_dev.h"
#include "threads.h"
#include "kernels/knn_terms.h"

_Static_assert(KNN_DIV_KL == IE_DIV_KL && KNN_DIV_REVERSE_KL == IE_DIV_REVERSE_KL &&
                   KNN_DIV_JEFFREYS == IE_DIV_JEFFREYS && KNN_DIV_JS == IE_DIV_JS &&
                   KNN_DIV_TV == IE_DIV_TV && KNN_DIV_HELLINGER == IE_DIV_HELLINGER &&
                   KNN_DIV_CHI2 == IE_DIV_CHI2 && KNN_DIV_ALPHA == IE_DIV_ALPHA &&
                   KNN_DIV_TSALLIS == IE_DIV_TSALLIS,
               "src/kernels/knn_terms.h and include/infoest.h agree");

/* A call into the backend's device kNN table, through the fault-injection
 * hook like every other backend call (src/internal.h). */
#define KD_CALL(call, ...)                                                                   \
  (ie__fault() ? ie__error(ctx, IE_BACKEND_FAILURE, "injected fault: %s backend call 'knn_dev.%s' failed", \
                           ctx->ops->name, #call)                                            \
               : ctx->ops->knn_dev->call(ctx, __VA_ARGS__))

/* The dispatcher's workspace slots (the backend's start at IE_KNN_SLOT_BACKEND). */
enum {
  SL_X = IE_WS_KNN,  /* samples: x, queries */
  SL_Y,              /* y, refs */
  SL_J,              /* KSG's joint samples */
  SL_V0,             /* per-point vectors */
  SL_V1,
  SL_V2,
  SL_LX,             /* NNR's neighbour distances */
  SL_LY
};

/* ---- Special functions --------------------------------------------------------- */

/* log |Γ(x)| without lgamma's global signgam, so that contexts on different
 * threads do not race (ThreadSanitizer found it). */
static double log_gamma(double x) {
  int sign;
  return lgamma_r(x, &sign);
}

/* log V_d, V_d = π^(d/2) / Γ(d/2 + 1), the volume of the unit Euclidean ball. */
static double log_unit_ball(int64_t d) {
  return 0.5 * (double)d * log(M_PI) - log_gamma(0.5 * (double)d + 1);
}

static int on_device(const ie_context *ctx) { return ctx->ops->knn_dev != NULL; }

/* ---- Samples ------------------------------------------------------------------ */

/* One input: host doubles (compact n × d) on the CPU backend or for the
 * jitter, and on a GPU a compact float32 device copy in workspace slot
 * `slot`. */
typedef struct {
  ie__arg a;
  int64_t n, d;
  double *h;
  void *dev;
  int slot;
} pts;

static void pts_free(pts *p) {
  free(p->h);
  p->h = NULL;
}

/* The message of a non-finite element (row i, column c, value v). */
static ie_status nonfinite(ie_context *ctx, const char *fn, const char *name, int64_t i, int64_t c,
                           double v) {
  ie__locate(ctx, name, -1, i, c);
  return ie__error(ctx, IE_NONFINITE, "%s: tensor '%s' row %lld, column %lld: %s", fn, name,
                   (long long)i, (long long)c, isnan(v) ? "NaN" : v > 0 ? "+inf" : "-inf");
}

/* Rows [r0, r0 + rows) of the checked input as host doubles into dst
 * (compact); device tensors are downloaded. */
static ie_status read_rows(ie_context *ctx, const char *fn, const char *name, const pts *p, int64_t r0,
                           int64_t rows, double *dst) {
  const size_t esz = ie__dtype_size(p->a.m.dtype);
  const char *src = p->a.host;
  char *tmp = NULL;
  int64_t stride = p->a.host_stride;
  if (rows == 0) return IE_OK;
  if (!p->a.on_host) {
    stride = p->a.m.stride;
    size_t span = ((size_t)(rows - 1) * (size_t)stride + (size_t)p->d) * esz;
    tmp = ie__malloc(span);
    if (!tmp) return ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory to read tensor '%s'", fn, name);
    ie_status s = IE__BE(ctx, download, tmp, p->a.m.buf, p->a.m.offset + (size_t)r0 * (size_t)stride * esz, span);
    if (s != IE_OK) {
      free(tmp);
      return s;
    }
    src = tmp;
  } else {
    src += (size_t)r0 * (size_t)stride * esz;
  }
  for (int64_t i = 0; i < rows; i++) {
    const char *row = src + (size_t)i * (size_t)stride * esz;
    double *out = dst + (size_t)i * (size_t)p->d;
    if (p->a.m.dtype == IE_DT_F64) memcpy(out, row, (size_t)p->d * sizeof *out);
    else if (p->a.m.dtype == IE_DT_F32)
      for (int64_t c = 0; c < p->d; c++) out[c] = ((const float *)row)[c];
    else
      for (int64_t c = 0; c < p->d; c++) out[c] = ie__load_double(row + (size_t)c * esz, p->a.m.dtype);
  }
  free(tmp);
  return IE_OK;
}

/* On a GPU: the samples (host tensor staged first) into the float32 slot
 * buffer p->dev, columns [col0, col0 + p->d) of dst_cols; a non-finite row
 * is read back alone to name its column. */
static ie_status load_device(ie_context *ctx, const char *fn, const char *name, pts *p, int slot,
                             int64_t dst_cols, int64_t col0) {
  const size_t bytes = (size_t)p->n * (size_t)dst_cols * sizeof(float);
  void *dst = NULL;
  IE__CHECK(ie__ws_device(ctx, slot, bytes, &dst));
  ie__arg a = p->a;
  IE__CHECK(ie__stage_in(ctx, &a));
  int64_t bad = -1;
  ie_status s = KD_CALL(load, &a.m, dst, dst_cols, col0, &bad);
  ie__release(ctx, &a);
  if (s != IE_OK) return s;
  p->dev = dst;
  p->slot = slot;
  if (bad < 0) return IE_OK;
  double *row = ie__malloc((size_t)p->d * sizeof *row);
  if (!row) return ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory", fn);
  s = read_rows(ctx, fn, name, p, bad, 1, row);
  for (int64_t c = 0; s == IE_OK && c < p->d; c++)
    if (!isfinite(row[c])) s = nonfinite(ctx, fn, name, bad, c, row[c]);
  if (s == IE_OK) s = ie__error(ctx, IE_INTERNAL, "%s: tensor '%s' row %lld: not finite on the device", fn, name, (long long)bad);
  free(row);
  return s;
}

/* Check `t` as [n, d] samples.  host: read them into p->h (NaN or ±inf is
 * IE_NONFINITE naming the row and column); otherwise (a GPU context, no
 * jitter) load them on the device into `slot`. */
static ie_status read_points(ie_context *ctx, const char *fn, const char *name, const DLTensor *t,
                             pts *p, int host, int slot) {
  memset(p, 0, sizeof *p);
  IE__CHECK(ie__check_matrix(ctx, &p->a, fn, name, t, IE__FLOATS));
  if (t->ndim != 2)
    return ie__error(ctx, IE_BAD_SHAPE, "%s: tensor '%s' must be 2-D [n, d] samples; it has %d dimension%s",
                     fn, name, t->ndim, t->ndim == 1 ? "" : "s");
  p->n = p->a.m.rows;
  p->d = p->a.m.cols;
  if (p->d == 0)
    return ie__error(ctx, IE_BAD_SHAPE, "%s: tensor '%s' has d = 0 columns; samples need d >= 1", fn, name);
  const size_t cnt = (size_t)p->n * (size_t)p->d;
  if (p->n && cnt / (size_t)p->n != (size_t)p->d)
    return ie__error(ctx, IE_BAD_SHAPE, "%s: tensor '%s' is too large", fn, name);
  if (!host && on_device(ctx) && p->a.m.dtype != IE_DT_F64) return load_device(ctx, fn, name, p, slot, p->d, 0);
  p->slot = slot;
  p->h = ie__malloc((cnt ? cnt : 1) * sizeof *p->h);
  if (!p->h)
    return ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory to read tensor '%s' (%zu values)", fn,
                     name, cnt);
  ie_status s = read_rows(ctx, fn, name, p, 0, p->n, p->h);
  for (size_t e = 0; s == IE_OK && e < cnt; e++)
    if (!isfinite(p->h[e]))
      s = nonfinite(ctx, fn, name, (int64_t)(e / (size_t)p->d), (int64_t)(e % (size_t)p->d), p->h[e]);
  if (s != IE_OK) pts_free(p);
  return s;
}

/* splitmix64: a small, well-mixed 64-bit generator (Steele, Lea, Flood 2014). */
static uint64_t splitmix64(uint64_t *s) {
  uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

/* Uniform in (0, 1): 53 random bits, never 0. */
static double unit_open(uint64_t *s) { return ((double)(splitmix64(s) >> 11) + 0.5) * 0x1p-53; }

/* Add N(0, (jitter·s_c)²) to every coordinate (Box–Muller), s_c the column's
 * standard deviation (1 if 0); stream `which` of the seed. */
static void apply_jitter(pts *p, double jitter, uint64_t seed, uint64_t which) {
  const int64_t n = p->n, d = p->d;
  uint64_t st = seed ^ (which * UINT64_C(0xD1B54A32D192ED03));
  for (int64_t c = 0; c < d; c++) {
    double s1 = 0, c1 = 0;
    for (int64_t i = 0; i < n; i++) knn_kadd(&s1, &c1, p->h[i * d + c]);
    const double mu = (s1 + c1) / (double)(n ? n : 1);
    double s2 = 0, c2 = 0;
    for (int64_t i = 0; i < n; i++) knn_kadd(&s2, &c2, (p->h[i * d + c] - mu) * (p->h[i * d + c] - mu));
    double sd = n > 1 ? sqrt((s2 + c2) / (double)(n - 1)) : 0;
    if (!(sd > 0)) sd = 1;
    const double amp = jitter * sd;
    for (int64_t i = 0; i < n; i += 2) {
      const double u1 = unit_open(&st), u2 = unit_open(&st);
      const double r = sqrt(-2 * log(u1)), th = 2 * M_PI * u2;
      p->h[i * d + c] += amp * r * cos(th);
      if (i + 1 < n) p->h[(i + 1) * d + c] += amp * r * sin(th);
    }
  }
}

/* On a GPU, host samples (the jitter path, KSG's joint space of them) as a
 * float32 device copy in their slot; nothing to do when already there. */
static ie_status to_device(ie_context *ctx, const char *fn, pts *p) {
  if (!on_device(ctx) || p->dev) return IE_OK;
  const size_t cnt = (size_t)p->n * (size_t)p->d;
  float *f = NULL;
  void *dst = NULL;
  IE__CHECK(ie__ws_host(ctx, IE_WSH_KNN, (cnt ? cnt : 1) * sizeof *f, (void **)&f));
  IE__CHECK(ie__ws_device(ctx, p->slot, (cnt ? cnt : 1) * sizeof *f, &dst));
  for (size_t i = 0; i < cnt; i++) f[i] = (float)p->h[i];
  (void)fn;
  if (cnt) IE__CHECK(IE__BE(ctx, upload, dst, 0, f, cnt * sizeof *f));
  p->dev = dst;
  return IE_OK;
}

/* The matrix of samples the backend searches: host doubles on the CPU, the
 * float32 device copy on a GPU. */
static ie_mat mat_of(const ie_context *ctx, const pts *p) {
  ie_mat m;
  memset(&m, 0, sizeof m);
  m.rows = p->n;
  m.cols = p->d;
  m.stride = p->d;
  m.buf = on_device(ctx) ? p->dev : (void *)p->h;
  m.dtype = on_device(ctx) ? IE_DT_F32 : IE_DT_F64;
  return m;
}

static ie_status need_ops(ie_context *ctx, const char *fn, int range) {
  if (!ctx->ops->knn_dev && (!ctx->ops->knn || (range && !ctx->ops->range_count)))
    return ie__error(ctx, IE_UNSUPPORTED, "%s: the %s backend has no k-nearest-neighbour search", fn,
                     ctx->ops->name);
  return IE_OK;
}

/* ---- Per-point vectors and their reductions ---------------------------------------- */

/* n doubles: host (CPU backend) or a device workspace slot. */
typedef struct {
  double *h;
  void *dev;
  int64_t n;
} kvec;

static ie_status vec_make(ie_context *ctx, const char *fn, kvec *v, int64_t n, int slot) {
  memset(v, 0, sizeof *v);
  v->n = n;
  if (on_device(ctx)) return ie__ws_device(ctx, slot, (size_t)(n ? n : 1) * sizeof(double), &v->dev);
  v->h = ie__malloc((size_t)(n ? n : 1) * sizeof *v->h);
  if (!v->h) return ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory for %lld values", fn, (long long)n);
  return IE_OK;
}

static void vec_free(kvec *v) {
  free(v->h);
  v->h = NULL;
}

/* The statistics (knn_terms.h) of term op over v (and w, may be NULL). */
static ie_status reduce(ie_context *ctx, int op, int kind, const kvec *v, const kvec *w, double p0,
                        double p1, double p2, double p3, double p4, double *st) {
  if (on_device(ctx)) {
    ie_knn_red a = {v->dev, w ? w->dev : NULL, v->n, op, kind, {p0, p1, p2, p3, p4}};
    return KD_CALL(reduce, &a, st);
  }
  knn_acc acc;
  knn_acc_init(&acc);
  for (int64_t i = 0; i < v->n; i++) {
    const double vi = v->h[i], wi = w ? w->h[i] : 0;
    knn_acc_add(&acc, i, knn_term(op, kind, w != NULL, vi, wi, p0, p1, p2, p3, p4), vi, wi, w != NULL);
  }
  knn_acc_out(&acc, st);
  return IE_OK;
}

/* log((1/n) Σ exp(t·L_i)) / t for a real t ≠ 0, L_i = p0 + p1·(log v_i − log w_i)
 * with statistics st0 of L (term KNN_T_LOGR), computed about the mean m of
 * L: log((1/n) Σ exp(t(L_i − m)))/t + m.  For small |t·(L_i − m)| the inner
 * mean is 1 + mean(expm1(·)) and goes through log1p, so the value is
 * continuous as t → 0 (where it tends to m). */
static ie_status log_mean_exp_over(ie_context *ctx, const kvec *v, const kvec *w, double p0, double p1,
                                   const double *st0, double t, double *out) {
  const double n = (double)v->n, m = st0[0] / n;
  if (t == 0) {
    *out = m;
    return IE_OK;
  }
  const double mx = t > 0 ? t * (st0[2] - m) : t * (st0[3] - m);
  double st[KNN_STATS];
  if (mx < 0.5) {
    IE__CHECK(reduce(ctx, KNN_T_LME1, 0, v, w, p0, p1, t, m, 0, st));
    *out = log1p(st[0] / n) / t + m;
  } else {
    IE__CHECK(reduce(ctx, KNN_T_LME2, 0, v, w, p0, p1, t, m, mx, st));
    *out = (mx + log(st[0] / n)) / t + m;
  }
  return IE_OK;
}

/* k nearest neighbours of the rows of q among those of r into the sink
 * (host arrays idx, dist on the CPU; the device matrices of `out` on a GPU). */
static ie_status search(ie_context *ctx, const char *fn, const pts *q, const pts *r, int64_t k,
                        ie_knn_metric metric, int self, int64_t *idx, double *dist,
                        const ie_knn_sink *out) {
  const ie_mat qm = mat_of(ctx, q), rm = mat_of(ctx, r);
  ie_status s = on_device(ctx) ? KD_CALL(search, &qm, &rm, k, metric, self, out)
                               : IE__BE(ctx, knn, &qm, &rm, k, metric, self, idx, dist);
  if (s == IE_CANCELLED) s = ie__cancel(ctx, fn); /* named after the public call */
  return s;
}

/* A compact [rows, cols] double matrix at offset 0 of a device buffer. */
static ie_mat dmat(void *buf, int64_t rows, int64_t cols) {
  ie_mat m;
  memset(&m, 0, sizeof m);
  m.buf = buf;
  m.dtype = IE_DT_F64;
  m.rows = rows;
  m.cols = cols;
  m.stride = cols;
  return m;
}

/* The sorted k neighbour distances of the rows of q in r: out [q->n × k]
 * (host, or the device slot `slot`), or only the k-th (out [q->n]). */
static ie_status knn_dists(ie_context *ctx, const char *fn, const pts *q, const pts *r, int self,
                           int64_t k, ie_knn_metric metric, int kth_only, kvec *out, int slot) {
  const int64_t n = q->n, cols = kth_only ? 1 : k;
  if (on_device(ctx)) {
    IE__CHECK(vec_make(ctx, fn, out, n * cols, slot));
    out->n = n;
    const ie_mat dm = dmat(out->dev, n, cols);
    const ie_knn_sink sink = {NULL, &dm, kth_only ? k - 1 : 0};
    return search(ctx, fn, q, r, k, metric, self, NULL, NULL, &sink);
  }
  IE__CHECK(vec_make(ctx, fn, out, n * cols, slot));
  out->n = n;
  int64_t *idx = ie__malloc((size_t)n * (size_t)k * sizeof *idx + 1);
  double *dist = kth_only ? ie__malloc((size_t)n * (size_t)k * sizeof *dist + 1) : out->h;
  ie_status s = IE_OK;
  if (!idx || !dist)
    s = ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory for %lld x %lld neighbours", fn,
                  (long long)n, (long long)k);
  if (s == IE_OK) s = search(ctx, fn, q, r, k, metric, self, idx, dist, NULL);
  if (s == IE_OK && kth_only)
    for (int64_t i = 0; i < n; i++) out->h[i] = dist[(size_t)i * (size_t)k + (size_t)(k - 1)];
  free(idx);
  if (kth_only) free(dist);
  return s;
}

/* ---- Options -------------------------------------------------------------------- */

static ie_status common_options(ie_context *ctx, const char *fn, const ie_knn_estimator_options *in,
                                ie_knn_estimator_options *o) {
  IE__CHECK(ie__begin(ctx, fn, 1, ""));
  IE__CHECK(IE__OPTIONS(ctx, fn, *o, in, seed));
  if (o->k == 0) o->k = 3;
  if (o->k < 0)
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: k = %lld; k must be >= 1 (0 means 3)", fn,
                     (long long)o->k);
  if (!(o->jitter >= 0) || isinf(o->jitter))
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: jitter = %g; it must be finite and >= 0", fn,
                     o->jitter);
  if (o->has_alpha && (isnan(o->alpha) || isinf(o->alpha)))
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: alpha = %g; it must be finite", fn, o->alpha);
  return IE_OK;
}

static ie_status check_k(ie_context *ctx, const char *fn, int64_t k, int64_t n, const char *name,
                         const char *what) {
  if (k >= n)
    return ie__error(ctx, IE_INVALID_ARGUMENT,
                     "%s: k = %lld but tensor '%s' has %lld rows; %s needs k < %lld", fn,
                     (long long)k, name, (long long)n, what, (long long)n);
  return IE_OK;
}

static const char *ordinal(int64_t k) {
  if (k % 100 >= 11 && k % 100 <= 13) return "th";
  switch (k % 10) {
  case 1: return "st";
  case 2: return "nd";
  case 3: return "rd";
  default: return "th";
  }
}

/* Zero k-th distances where the formula takes a log (z of them, the first
 * at row `first`: statistics [4, 5] or [6, 7] of a reduction): an error
 * with counts. */
static ie_status zero_check(ie_context *ctx, const char *fn, double z, double first, int64_t n,
                            int64_t k, const char *qname, const char *rname) {
  if (!(z > 0)) return IE_OK;
  ie__locate(ctx, qname, -1, (int64_t)first, -1);
  return ie__error(ctx, IE_INVALID_ARGUMENT,
                   "%s: %lld of %lld points of '%s' (the first: row %lld) are at distance 0 from "
                   "their %lld%s nearest neighbour in '%s' (duplicate points); use a larger k, "
                   "remove duplicates, or set the jitter option",
                   fn, (long long)z, (long long)n, qname, (long long)first, (long long)k,
                   ordinal(k), rname);
}

static void fill_result(ie_knn_result *r, double est, int64_t n, int64_t m, int64_t d, int64_t k) {
  if (!r) return;
  r->estimate = est;
  r->n = n;
  r->m = m;
  r->d = d;
  r->k = k;
}

/* ---- ie_knn ---------------------------------------------------------------------- */

/* Write m × k int64 (ints = 1) or double values into an output tensor. */
static ie_status write_out(ie_context *ctx, ie__arg *o, const void *src, int ints, int64_t rows,
                           int64_t cols) {
  const ie_dtype dt = o->m.dtype;
  const size_t esz = ie__dtype_size(dt);
  const size_t cnt = (size_t)rows * (size_t)cols;
  char *buf = ie__malloc((cnt ? cnt : 1) * esz);
  if (!buf) return ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory for '%s'", o->fn, o->name);
  for (size_t i = 0; i < cnt; i++) {
    if (ints) {
      int64_t v = ((const int64_t *)src)[i];
      if (dt == IE_DT_I64) ((int64_t *)buf)[i] = v;
      else ((int32_t *)buf)[i] = (int32_t)v;
    } else {
      double v = ((const double *)src)[i];
      if (dt == IE_DT_F64) ((double *)buf)[i] = v;
      else ((float *)buf)[i] = (float)v;
    }
  }
  ie_status s = IE_OK;
  const size_t rowb = (size_t)cols * esz;
  for (int64_t r = 0; r < rows && s == IE_OK; r++) {
    if (o->on_host) memcpy(o->host + (size_t)r * (size_t)o->host_stride * esz, buf + (size_t)r * rowb, rowb);
    else if (rowb)
      s = IE__BE(ctx, upload, o->m.buf, o->m.offset + (size_t)r * (size_t)o->m.stride * esz,
                           buf + (size_t)r * rowb, rowb);
  }
  free(buf);
  return s;
}

IE_API ie_status ie_knn(ie_context *ctx, const DLTensor *queries, const DLTensor *refs, int64_t k,
                        DLTensor *indices, DLTensor *distances, const ie_knn_options *opt) {
  static const char *const fn = "ie_knn";
  IE__CHECK(ie__begin(ctx, fn, 1, ""));
  ie_knn_options o;
  IE__CHECK(IE__OPTIONS(ctx, fn, o, opt, exclude_self));
  if ((int)o.metric != IE_METRIC_EUCLIDEAN && (int)o.metric != IE_METRIC_CHEBYSHEV)
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: unknown metric %d", fn, (int)o.metric);
  IE__CHECK(need_ops(ctx, fn, 0));
  pts q, r;
  IE__CHECK(read_points(ctx, fn, "queries", queries, &q, 0, SL_X));
  ie_status s = read_points(ctx, fn, "refs", refs, &r, 0, SL_Y);
  if (s != IE_OK) {
    pts_free(&q);
    return s;
  }
  ie__arg ia, da;
  int staged_i = 0, staged_d = 0;
  const int64_t m = q.n;
  if (r.d != q.d)
    s = ie__error(ctx, IE_BAD_SHAPE, "%s: 'queries' has d = %lld columns but 'refs' has %lld", fn,
                  (long long)q.d, (long long)r.d);
  else if (o.exclude_self && r.n != m)
    s = ie__error(ctx, IE_BAD_SHAPE,
                  "%s: exclude_self needs the same set as queries and refs; they have %lld and %lld rows",
                  fn, (long long)m, (long long)r.n);
  else if (k < 1 || k > r.n - (o.exclude_self != 0))
    s = ie__error(ctx, IE_INVALID_ARGUMENT, "%s: k = %lld; it must be in [1, %lld] for %lld reference rows%s",
                  fn, (long long)k, (long long)(r.n - (o.exclude_self != 0)), (long long)r.n,
                  o.exclude_self ? " without self" : "");
  else if (!indices && !distances)
    s = ie__error(ctx, IE_INVALID_ARGUMENT, "%s: both 'indices' and 'distances' are NULL", fn);
  if (s == IE_OK && indices) {
    s = ie__check_matrix(ctx, &ia, fn, "indices", indices, IE__INTS | IE__OUTPUT);
    if (s == IE_OK && (indices->ndim != 2 || ia.m.rows != m || ia.m.cols != k))
      s = ie__error(ctx, IE_BAD_SHAPE, "%s: tensor 'indices' must be [%lld, %lld]", fn, (long long)m,
                    (long long)k);
    if (s == IE_OK && ia.m.dtype == IE_DT_I32 && r.n > INT32_MAX)
      s = ie__error(ctx, IE_BAD_DTYPE, "%s: 'refs' has %lld rows; int32 indices cannot hold them", fn,
                    (long long)r.n);
  }
  if (s == IE_OK && distances) {
    /* float64 on every backend: the GPUs' knn_emit writes it from the
     * double distances too */
    s = ie__check_matrix(ctx, &da, fn, "distances", distances,
                         (1u << IE_DT_F32) | (1u << IE_DT_F64) | IE__HOST_WRITTEN | IE__OUTPUT);
    if (s == IE_OK && (distances->ndim != 2 || da.m.rows != m || da.m.cols != k))
      s = ie__error(ctx, IE_BAD_SHAPE, "%s: tensor 'distances' must be [%lld, %lld]", fn,
                    (long long)m, (long long)k);
  }
  if (on_device(ctx)) {
    /* Straight into the caller's tensors (host ones through a staging buffer). */
    if (s == IE_OK && (s = to_device(ctx, fn, &q)) == IE_OK) s = to_device(ctx, fn, &r);
    if (s == IE_OK && indices && (s = ie__stage_out(ctx, &ia)) == IE_OK) staged_i = 1;
    if (s == IE_OK && distances && (s = ie__stage_out(ctx, &da)) == IE_OK) staged_d = 1;
    const ie_knn_sink sink = {indices ? &ia.m : NULL, distances ? &da.m : NULL, 0};
    if (s == IE_OK && m > 0) s = search(ctx, fn, &q, &r, k, o.metric, o.exclude_self != 0, NULL, NULL, &sink);
    /* synchronous: the outputs are written when the call returns */
    if (s == IE_OK && ctx->ops->synchronize) s = ctx->ops->synchronize(ctx);
    if (s == IE_OK && staged_i) s = ie__unstage_out(ctx, &ia);
    if (s == IE_OK && staged_d) s = ie__unstage_out(ctx, &da);
    if (staged_i) ie__release(ctx, &ia);
    if (staged_d) ie__release(ctx, &da);
    pts_free(&q);
    pts_free(&r);
    return s;
  }
  int64_t *idx = NULL;
  double *dist = NULL;
  if (s == IE_OK) {
    idx = ie__malloc(((size_t)m * (size_t)k + 1) * sizeof *idx);
    dist = ie__malloc(((size_t)m * (size_t)k + 1) * sizeof *dist);
    if (!idx || !dist)
      s = ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory for %lld x %lld neighbours", fn,
                    (long long)m, (long long)k);
  }
  if (s == IE_OK && m > 0) s = search(ctx, fn, &q, &r, k, o.metric, o.exclude_self != 0, idx, dist, NULL);
  if (s == IE_OK && indices) s = write_out(ctx, &ia, idx, 1, m, k);
  if (s == IE_OK && distances) s = write_out(ctx, &da, dist, 0, m, k);
  free(idx);
  free(dist);
  pts_free(&q);
  pts_free(&r);
  return s;
}

/* ---- Entropy --------------------------------------------------------------------- */

IE_API ie_status ie_knn_entropy(ie_context *ctx, const DLTensor *x, const ie_knn_estimator_options *opt,
                                ie_knn_result *result) {
  static const char *const fn = "ie_knn_entropy";
  ie_knn_estimator_options o;
  IE__CHECK(common_options(ctx, fn, opt, &o));
  const int64_t k = o.k;
  const double a = o.alpha;
  if (o.has_alpha && !(a > 0 && a < (double)k + 1))
    return ie__error(ctx, IE_INVALID_ARGUMENT,
                     "%s: alpha = %g; the Leonenko-Pronzato-Savani estimator needs 0 < alpha < k + 1 = %lld",
                     fn, a, (long long)(k + 1));
  IE__CHECK(need_ops(ctx, fn, 0));
  pts p;
  IE__CHECK(read_points(ctx, fn, "x", x, &p, o.jitter > 0, SL_X));
  const int64_t N = p.n, d = p.d;
  ie_status s = check_k(ctx, fn, k, N, "x", "the entropy");
  if (s == IE_OK && o.jitter > 0) apply_jitter(&p, o.jitter, o.seed, 0);
  if (s == IE_OK) s = to_device(ctx, fn, &p);
  kvec rho = {0};
  double st[KNN_STATS];
  if (s == IE_OK) s = knn_dists(ctx, fn, &p, &p, 1, k, IE_METRIC_EUCLIDEAN, 1, &rho, SL_V0);
  if (s == IE_OK) {
    const double lv = log_unit_ball(d);
    double est = NAN;
    if (!o.has_alpha) {
      /* Kozachenko–Leonenko: ψ(N) − ψ(k) + log V_d + (d/N) Σ log ρ_k(i). */
      s = reduce(ctx, KNN_T_LOGR, 0, &rho, NULL, 0, 1, 0, 0, 0, st);
      if (s == IE_OK) s = zero_check(ctx, fn, st[4], st[5], N, k, "x", "x");
      if (s == IE_OK)
        est = knn_digamma((double)N) - knn_digamma((double)k) + lv + (double)d * st[0] / (double)N;
    } else {
      /* Leonenko–Pronzato–Savani: log((1/N) Σ ζ_i^(1−α))/(1−α), with
       * log ζ_i = log(N−1) + log C_k + log V_d + d log ρ_k(i) and
       * log C_k = (lnΓ(k) − lnΓ(k+1−α))/(1−α) (→ −ψ(k) as α → 1). */
      const double t = 1 - a;
      const double lck = fabs(t) < 1e-8 ? -knn_digamma((double)k)
                                        : (log_gamma((double)k) - log_gamma((double)k + t)) / t;
      const double base = log((double)(N - 1)) + lck + lv;
      s = reduce(ctx, KNN_T_LOGR, 0, &rho, NULL, base, (double)d, 0, 0, 0, st);
      if (s == IE_OK) s = zero_check(ctx, fn, st[4], st[5], N, k, "x", "x");
      if (s == IE_OK) s = log_mean_exp_over(ctx, &rho, NULL, base, (double)d, st, t, &est);
    }
    if (s == IE_OK) fill_result(result, est, N, 0, d, k);
  }
  vec_free(&rho);
  pts_free(&p);
  return s;
}

/* ---- Divergences -------------------------------------------------------------------- */

static ie_status divergence_options(ie_context *ctx, const char *fn, ie_knn_divergence_method method,
                                    const ie_knn_estimator_options *o, double beta) {
  const int64_t k = o->k;
  const double a = o->alpha;
  if ((int)method < IE_KNN_DIV_KL || method > IE_KNN_DIV_NNR)
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: unknown method %d", fn, (int)method);
  if (method == IE_KNN_DIV_RENYI) {
    if (!o->has_alpha)
      return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: the Renyi divergence needs alpha (has_alpha = 1)", fn);
    if (!(a > 0) || !((double)k > fabs(a - 1)))
      return ie__error(ctx, IE_INVALID_ARGUMENT,
                       "%s: alpha = %g with k = %lld; the Poczos-Schneider estimator needs alpha > 0 and "
                       "k > |alpha - 1|",
                       fn, a, (long long)k);
  }
  if (method == IE_KNN_DIV_NNR) {
    const ie_divergence_kind nk = o->nnr_kind;
    if ((int)nk < 0 || nk >= IE_DIV_COUNT_)
      return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: unknown nnr_kind %d", fn, (int)nk);
    if (nk == IE_DIV_CROSS_ENTROPY || nk == IE_DIV_CAUCHY_SCHWARZ)
      return ie__error(ctx, IE_INVALID_ARGUMENT,
                       "%s: nnr_kind '%s' is not a function of the density ratio; the "
                       "nearest-neighbour-ratio estimator cannot give it",
                       fn, ie_divergence_name(nk));
    if ((nk == IE_DIV_RENYI || nk == IE_DIV_ALPHA || nk == IE_DIV_TSALLIS) && !o->has_alpha)
      return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: nnr_kind '%s' needs alpha (has_alpha = 1)", fn,
                       ie_divergence_name(nk));
    if (nk == IE_DIV_RENYI && !(a > 0 && a != 1))
      return ie__error(ctx, IE_INVALID_ARGUMENT,
                       "%s: alpha = %g; the NNR Renyi divergence needs alpha > 0, alpha != 1 (use "
                       "nnr_kind 'kl' for the limit)",
                       fn, a);
    if (nk == IE_DIV_JS && !(beta > 0 && beta < 1))
      return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: beta = %g; js needs 0 < beta < 1", fn, beta);
  }
  return IE_OK;
}

/* Noshad–Moon–Sekeh–Hero from the density ratios r_i (knn_terms.h). */
static ie_status nnr_estimate(ie_context *ctx, const ie_knn_estimator_options *o, double beta,
                              const kvec *r, double *est) {
  const double a = o->alpha, M = (double)r->n;
  const ie_divergence_kind nk = o->nnr_kind;
  double st[KNN_STATS];
  if (nk == IE_DIV_RENYI) {
    /* log((1/M) Σ r_i^α)/(α − 1), r_i = 0 terms contributing 0. */
    IE__CHECK(reduce(ctx, KNN_T_ID, 0, r, NULL, 0, 0, 0, 0, 0, st));
    const double mx = fmax(0, st[2]);
    IE__CHECK(reduce(ctx, KNN_T_POW, 0, r, NULL, a, mx, 0, 0, 0, st));
    *est = (a * log(mx) + log(st[0] / M)) / (a - 1);
  } else if (nk == IE_DIV_BHATTACHARYYA) {
    IE__CHECK(reduce(ctx, KNN_T_SQRT, 0, r, NULL, 0, 0, 0, 0, 0, st));
    *est = -log(st[0] / M);
  } else {
    IE__CHECK(reduce(ctx, KNN_T_NNR, (int)nk, r, NULL, a, beta, 0, 0, 0, st));
    *est = st[1] > 0 ? INFINITY : st[0] / M;
  }
  return IE_OK;
}

IE_API ie_status ie_knn_divergence(ie_context *ctx, ie_knn_divergence_method method,
                                   const DLTensor *x, const DLTensor *y,
                                   const ie_knn_estimator_options *opt, ie_knn_result *result) {
  static const char *const fn = "ie_knn_divergence";
  ie_knn_estimator_options o;
  IE__CHECK(common_options(ctx, fn, opt, &o));
  const int64_t k = o.k;
  const double a = o.alpha;
  const double beta = o.beta == 0 ? 0.5 : o.beta;
  IE__CHECK(divergence_options(ctx, fn, method, &o, beta));
  IE__CHECK(need_ops(ctx, fn, 0));
  pts px, py;
  IE__CHECK(read_points(ctx, fn, "x", x, &px, o.jitter > 0, SL_X));
  ie_status s = read_points(ctx, fn, "y", y, &py, o.jitter > 0, SL_Y);
  if (s != IE_OK) {
    pts_free(&px);
    return s;
  }
  const int64_t N = px.n, M = py.n, d = px.d;
  if (py.d != d)
    s = ie__error(ctx, IE_BAD_SHAPE, "%s: 'x' has d = %lld columns but 'y' has %lld", fn, (long long)d,
                  (long long)py.d);
  if (s == IE_OK) s = check_k(ctx, fn, k, N, "x", "the divergence");
  if (s == IE_OK) s = check_k(ctx, fn, k, M, "y", "the divergence");
  if (s == IE_OK && o.jitter > 0) {
    apply_jitter(&px, o.jitter, o.seed, 0);
    apply_jitter(&py, o.jitter, o.seed, 1);
  }
  if (s == IE_OK && (s = to_device(ctx, fn, &px)) == IE_OK) s = to_device(ctx, fn, &py);
  double est = NAN;
  kvec rho = {0}, nu = {0}, lx = {0}, ly = {0}, r = {0};
  if (s == IE_OK && method != IE_KNN_DIV_NNR) {
    double st[KNN_STATS];
    s = knn_dists(ctx, fn, &px, &px, 1, k, IE_METRIC_EUCLIDEAN, 1, &rho, SL_V0);
    if (s == IE_OK) s = knn_dists(ctx, fn, &px, &py, 0, k, IE_METRIC_EUCLIDEAN, 1, &nu, SL_V1);
    /* t_i = log((N−1) ρ^d / (M ν^d)) = log((N−1)/M) + d (log ρ − log ν). */
    const double c = log((double)(N - 1) / (double)M);
    if (s == IE_OK) s = reduce(ctx, KNN_T_LOGR, 0, &rho, &nu, c, (double)d, 0, 0, 0, st);
    if (s == IE_OK) s = zero_check(ctx, fn, st[4], st[5], N, k, "x", "x");
    if (s == IE_OK) s = zero_check(ctx, fn, st[6], st[7], N, k, "x", "y");
    if (s == IE_OK) {
      /* Wang–Kulkarni–Verdú: (d/N) Σ log(ν/ρ) + log(M/(N−1)) = −mean t_i;
       * Póczos–Schneider: (log B_{k,α} + log mean exp((1−α) t_i))/(α − 1),
       * log B = 2 lnΓ(k) − lnΓ(k−α+1) − lnΓ(k+α−1); α = 1: −mean t_i. */
      const double t = 1 - a;
      if (method == IE_KNN_DIV_KL || t == 0) {
        est = -st[0] / (double)N;
      } else {
        const double kd = (double)k;
        const double lb = 2 * log_gamma(kd) - log_gamma(kd - a + 1) - log_gamma(kd + a - 1);
        double lme = 0;
        s = log_mean_exp_over(ctx, &rho, &nu, c, (double)d, st, t, &lme);
        est = (lb + t * lme) / (a - 1);
      }
    }
  } else if (s == IE_OK) {
    /* Noshad–Moon–Sekeh–Hero: the ratios of y's points from their k
     * nearest in x and in y \ {y_i} (knn_nnr_ratio). */
    const double eta = (double)M / (double)N;
    s = knn_dists(ctx, fn, &py, &px, 0, k, IE_METRIC_EUCLIDEAN, 0, &lx, SL_LX);
    if (s == IE_OK) s = knn_dists(ctx, fn, &py, &py, 1, k, IE_METRIC_EUCLIDEAN, 0, &ly, SL_LY);
    if (s == IE_OK) s = vec_make(ctx, fn, &r, M, SL_V0);
    if (s == IE_OK && on_device(ctx)) s = KD_CALL(nnr, lx.dev, ly.dev, M, k, eta, r.dev);
    else if (s == IE_OK)
      for (int64_t i = 0; i < M; i++)
        r.h[i] = knn_nnr_ratio(lx.h + (size_t)i * (size_t)k, ly.h + (size_t)i * (size_t)k, k, eta);
    if (s == IE_OK) s = nnr_estimate(ctx, &o, beta, &r, &est);
  }
  if (s == IE_OK) fill_result(result, est, N, M, d, k);
  vec_free(&rho);
  vec_free(&nu);
  vec_free(&lx);
  vec_free(&ly);
  vec_free(&r);
  pts_free(&px);
  pts_free(&py);
  return s;
}

/* ---- Mutual information (KSG) ------------------------------------------------------- */

/* The range counts of the rows of p within radius eps (self excluded) as
 * doubles into out (slot `slot` on a GPU). */
static ie_status counts(ie_context *ctx, const char *fn, const pts *p, const kvec *eps, kvec *out,
                        int slot) {
  IE__CHECK(vec_make(ctx, fn, out, p->n, slot));
  const ie_mat m = mat_of(ctx, p);
  ie_status s;
  if (on_device(ctx)) {
    s = KD_CALL(range_count, &m, &m, eps->dev, 1, out->dev);
  } else {
    int64_t *c = ie__malloc((size_t)p->n * sizeof *c + 1);
    if (!c) return ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory", fn);
    s = IE__BE(ctx, range_count, &m, &m, eps->h, 1, c);
    for (int64_t i = 0; s == IE_OK && i < p->n; i++) out->h[i] = (double)c[i];
    free(c);
  }
  if (s == IE_CANCELLED) s = ie__cancel(ctx, fn);
  return s;
}

IE_API ie_status ie_knn_mutual_information(ie_context *ctx, const DLTensor *x, const DLTensor *y,
                                           const ie_knn_estimator_options *opt,
                                           ie_knn_result *result) {
  static const char *const fn = "ie_knn_mutual_information";
  ie_knn_estimator_options o;
  IE__CHECK(common_options(ctx, fn, opt, &o));
  const int64_t k = o.k;
  IE__CHECK(need_ops(ctx, fn, 1));
  pts px, py, pj;
  memset(&pj, 0, sizeof pj);
  const int host = o.jitter > 0;
  IE__CHECK(read_points(ctx, fn, "x", x, &px, host, SL_X));
  ie_status s = read_points(ctx, fn, "y", y, &py, host, SL_Y);
  if (s != IE_OK) {
    pts_free(&px);
    return s;
  }
  const int64_t N = px.n, dx = px.d, dy = py.d, dj = dx + dy;
  if (py.n != N)
    s = ie__error(ctx, IE_BAD_SHAPE, "%s: 'x' has %lld rows but 'y' has %lld; the samples must be paired",
                  fn, (long long)N, (long long)py.n);
  if (s == IE_OK) s = check_k(ctx, fn, k, N, "x", "the mutual information");
  if (s == IE_OK && o.jitter > 0) {
    apply_jitter(&px, o.jitter, o.seed, 0);
    apply_jitter(&py, o.jitter, o.seed, 1);
  }
  /* The joint samples (x_i, y_i), dx + dy columns. */
  pj.n = N;
  pj.d = dj;
  pj.slot = SL_J;
  if (s == IE_OK && !px.h) {
    /* both on the device already (checked): two loads side by side */
    int64_t bad = -1;
    pts jx = px, jy = py;
    s = load_device(ctx, fn, "x", &jx, SL_J, dj, 0);
    if (s == IE_OK) s = load_device(ctx, fn, "y", &jy, SL_J, dj, dx);
    (void)bad;
    pj.dev = jx.dev;
  } else if (s == IE_OK) {
    pj.h = ie__malloc((size_t)N * (size_t)dj * sizeof *pj.h + 1);
    if (!pj.h) s = ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory", fn);
    for (int64_t i = 0; s == IE_OK && i < N; i++) {
      for (int64_t c = 0; c < dx; c++) pj.h[i * dj + c] = px.h[i * dx + c];
      for (int64_t c = 0; c < dy; c++) pj.h[i * dj + dx + c] = py.h[i * dy + c];
    }
    if (s == IE_OK) s = to_device(ctx, fn, &pj);
    if (s == IE_OK && (s = to_device(ctx, fn, &px)) == IE_OK) s = to_device(ctx, fn, &py);
  }
  kvec eps = {0}, nx = {0}, ny = {0};
  /* ε_i: the k-th max-norm distance in the joint space; n_x(i), n_y(i): the
   * points strictly inside it in each marginal. */
  if (s == IE_OK) s = knn_dists(ctx, fn, &pj, &pj, 1, k, IE_METRIC_CHEBYSHEV, 1, &eps, SL_V0);
  pts_free(&pj);
  if (s == IE_OK) s = counts(ctx, fn, &px, &eps, &nx, SL_V1);
  if (s == IE_OK) s = counts(ctx, fn, &py, &eps, &ny, SL_V2);
  if (s == IE_OK) {
    /* ψ(k) + ψ(N) − (1/N) Σ [ψ(n_x(i) + 1) + ψ(n_y(i) + 1)] */
    double st[KNN_STATS];
    s = reduce(ctx, KNN_T_KSG, 0, &nx, &ny, 0, 0, 0, 0, 0, st);
    if (s == IE_OK)
      fill_result(result, knn_digamma((double)k) + knn_digamma((double)N) - st[0] / (double)N, N, N, dj, k);
  }
  vec_free(&eps);
  vec_free(&nx);
  vec_free(&ny);
  pts_free(&px);
  pts_free(&py);
  return s;
}
