/*
 * knn.c — k-nearest-neighbour estimators (docs/SPEC.md §5): argument checks, reading
 * and validating the samples, the seeded jitter, and every formula.  The
 * backends only search (ops->knn: exact k nearest neighbours, distances from
 * coordinate differences in double) and count (ops->range_count: points
 * strictly inside a max-norm radius).
 *
 * Every input is read once into host memory as double (O((N + M)·d)): that
 * is where NaN/inf is detected (naming the row), jitter is applied and the
 * joint space of KSG is assembled.  The backend then gets a compact copy:
 * the double array itself on the CPU, float32 on the GPUs (exact for
 * float32/float16/bfloat16 inputs, which is all a GPU context accepts).
 */
#define _DEFAULT_SOURCE /* lgamma_r: lgamma writes the global signgam */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "threads.h"

/* ---- Special functions --------------------------------------------------------- */

/* Digamma ψ(x) for x > 0: the recurrence ψ(x) = ψ(x+1) − 1/x up to x ≥ 10,
 * then the asymptotic series log x − 1/(2x) − Σ B_2j/(2j x^2j). */
static double digamma(double x) {
  double acc = 0;
  while (x < 10) {
    acc -= 1 / x;
    x += 1;
  }
  const double r = 1 / (x * x);
  const double series =
      r * (1.0 / 12 - r * (1.0 / 120 - r * (1.0 / 252 - r * (1.0 / 240 - r * (1.0 / 132)))));
  return acc + log(x) - 0.5 / x - series;
}

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

/* Neumaier's compensated sum, so the mean of N terms does not drift. */
typedef struct {
  double s, c;
} ksum;
static void kadd(ksum *k, double v) {
  double t = k->s + v;
  if (fabs(k->s) >= fabs(v)) k->c += (k->s - t) + v;
  else k->c += (v - t) + k->s;
  k->s = t;
}
static double kval(const ksum *k) { return k->s + k->c; }

/* log((1/n) Σ exp(t·L_i)) / t for a real t ≠ 0, computed about the mean m of
 * L: log((1/n) Σ exp(t(L_i − m)))/t + m.  For small |t·(L_i − m)| the inner
 * mean is 1 + mean(expm1(·)) and goes through log1p, so the value is
 * continuous as t → 0 (where it tends to m). */
static double log_mean_exp_over(const double *L, int64_t n, double t) {
  ksum ms = {0, 0};
  for (int64_t i = 0; i < n; i++) kadd(&ms, L[i]);
  const double m = kval(&ms) / (double)n;
  if (t == 0) return m;
  double mx = -INFINITY;
  for (int64_t i = 0; i < n; i++) mx = fmax(mx, t * (L[i] - m));
  if (mx < 0.5) {
    ksum e = {0, 0};
    for (int64_t i = 0; i < n; i++) kadd(&e, expm1(t * (L[i] - m)));
    return log1p(kval(&e) / (double)n) / t + m;
  }
  ksum e = {0, 0};
  for (int64_t i = 0; i < n; i++) kadd(&e, exp(t * (L[i] - m) - mx));
  return (mx + log(kval(&e) / (double)n)) / t + m;
}

/* ---- Samples ------------------------------------------------------------------ */

/* One input, read to host doubles (compact n × d). */
typedef struct {
  ie__arg a;
  int64_t n, d;
  double *h;
} pts;

static void pts_free(pts *p) {
  free(p->h);
  p->h = NULL;
}

/* Check `t` as [n, d] samples and read them into p->h; NaN or ±inf is
 * IE_NONFINITE naming the row and column. */
static ie_status read_points(ie_context *ctx, const char *fn, const char *name,
                             const DLTensor *t, pts *p) {
  memset(p, 0, sizeof *p);
  IE__CHECK(ie__check_matrix(ctx, &p->a, fn, name, t, IE__FLOATS));
  if (t->ndim != 2)
    return ie__error(ctx, IE_BAD_SHAPE, "%s: tensor '%s' must be 2-D [n, d] samples; it has %d dimension%s",
                     fn, name, t->ndim, t->ndim == 1 ? "" : "s");
  p->n = p->a.m.rows;
  p->d = p->a.m.cols;
  if (p->d == 0)
    return ie__error(ctx, IE_BAD_SHAPE, "%s: tensor '%s' has d = 0 columns; samples need d >= 1", fn, name);
  const size_t esz = ie__dtype_size(p->a.m.dtype);
  const size_t cnt = (size_t)p->n * (size_t)p->d;
  if (p->n && cnt / (size_t)p->n != (size_t)p->d)
    return ie__error(ctx, IE_BAD_SHAPE, "%s: tensor '%s' is too large", fn, name);
  p->h = ie__malloc((cnt ? cnt : 1) * sizeof *p->h);
  if (!p->h)
    return ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory to read tensor '%s' (%zu values)", fn,
                     name, cnt);
  const char *src = p->a.host;
  char *tmp = NULL;
  int64_t stride = p->a.host_stride;
  if (!p->a.on_host && cnt) {
    stride = p->a.m.stride;
    size_t span = ((size_t)(p->n - 1) * (size_t)stride + (size_t)p->d) * esz;
    tmp = ie__malloc(span);
    if (!tmp) {
      pts_free(p);
      return ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory to read tensor '%s'", fn, name);
    }
    ie_status s = IE__BE(ctx, download, tmp, p->a.m.buf, p->a.m.offset, span);
    if (s != IE_OK) {
      free(tmp);
      pts_free(p);
      return s;
    }
    src = tmp;
  }
  ie_status s = IE_OK;
  for (int64_t i = 0; i < p->n && s == IE_OK; i++) {
    const char *row = src + (size_t)i * (size_t)stride * esz;
    double *dst = p->h + (size_t)i * (size_t)p->d;
    if (p->a.m.dtype == IE_DT_F64) memcpy(dst, row, (size_t)p->d * sizeof *dst);
    else if (p->a.m.dtype == IE_DT_F32)
      for (int64_t c = 0; c < p->d; c++) dst[c] = ((const float *)row)[c];
    else
      for (int64_t c = 0; c < p->d; c++) dst[c] = ie__load_double(row + (size_t)c * esz, p->a.m.dtype);
    for (int64_t c = 0; c < p->d; c++)
      if (!isfinite(dst[c])) {
        ie__locate(ctx, name, -1, i, c);
        s = ie__error(ctx, IE_NONFINITE, "%s: tensor '%s' row %lld, column %lld: %s", fn, name,
                      (long long)i, (long long)c, isnan(dst[c]) ? "NaN" : dst[c] > 0 ? "+inf" : "-inf");
        break;
      }
  }
  free(tmp);
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
    ksum s1 = {0, 0};
    for (int64_t i = 0; i < n; i++) kadd(&s1, p->h[i * d + c]);
    const double mu = kval(&s1) / (double)(n ? n : 1);
    ksum s2 = {0, 0};
    for (int64_t i = 0; i < n; i++) kadd(&s2, (p->h[i * d + c] - mu) * (p->h[i * d + c] - mu));
    double sd = n > 1 ? sqrt(kval(&s2) / (double)(n - 1)) : 0;
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

/* A compact n × d host double array as a backend matrix: itself on the CPU,
 * a float32 device copy elsewhere (*owned, to free). */
static ie_status to_backend(ie_context *ctx, const char *fn, const double *h, int64_t n, int64_t d,
                            ie_mat *m, void **owned) {
  *owned = NULL;
  memset(m, 0, sizeof *m);
  m->rows = n;
  m->cols = d;
  m->stride = d;
  if (ctx->backend == IE_BACKEND_CPU) {
    m->buf = (void *)h;
    m->dtype = IE_DT_F64;
    return IE_OK;
  }
  const size_t cnt = (size_t)n * (size_t)d;
  float *f = ie__malloc((cnt ? cnt : 1) * sizeof *f);
  if (!f) return ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory to stage the samples", fn);
  for (size_t i = 0; i < cnt; i++) f[i] = (float)h[i];
  void *dev = NULL;
  ie_status s = ie__be_alloc(ctx, cnt * sizeof *f, &dev);
  if (s == IE_OK) s = IE__BE(ctx, upload, dev, 0, f, cnt * sizeof *f);
  free(f);
  if (s != IE_OK) {
    if (dev) ctx->ops->free(ctx, dev);
    return s;
  }
  m->buf = dev;
  m->dtype = IE_DT_F32;
  *owned = dev;
  return IE_OK;
}

static void drop(ie_context *ctx, void *owned) {
  if (owned) ctx->ops->free(ctx, owned);
}

static ie_status need_ops(ie_context *ctx, const char *fn, int range) {
  if (!ctx->ops->knn || (range && !ctx->ops->range_count))
    return ie__error(ctx, IE_UNSUPPORTED, "%s: the %s backend has no k-nearest-neighbour search", fn,
                     ctx->ops->name);
  return IE_OK;
}

/* k nearest neighbours of the rows of q among those of r (host arrays out). */
static ie_status search(ie_context *ctx, const char *fn, const double *q, int64_t m,
                        const double *r, int64_t n, int64_t d, int64_t k, ie_knn_metric metric,
                        int self, int64_t *idx, double *dist) {
  ie_mat qm, rm;
  void *qo = NULL, *ro = NULL;
  IE__CHECK(to_backend(ctx, fn, q, m, d, &qm, &qo));
  ie_status s = IE_OK;
  if (r == q && n == m) rm = qm;
  else s = to_backend(ctx, fn, r, n, d, &rm, &ro);
  if (s == IE_OK) s = IE__BE(ctx, knn, &qm, &rm, k, metric, self, idx, dist);
  if (s == IE_CANCELLED) s = ie__cancel(ctx, fn); /* named after the public call */
  drop(ctx, ro);
  drop(ctx, qo);
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

/* Zero k-th distances where the formula takes a log: an error with counts. */
static ie_status zero_check(ie_context *ctx, const char *fn, const double *kth, int64_t n,
                            int64_t k, const char *qname, const char *rname) {
  int64_t z = 0, first = -1;
  for (int64_t i = 0; i < n; i++)
    if (kth[i] == 0) {
      if (first < 0) first = i;
      z++;
    }
  if (!z) return IE_OK;
  ie__locate(ctx, qname, -1, first, -1);
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

/* The k-th distances of the rows of x in x (self excluded): out[n]. */
static ie_status kth_distance(ie_context *ctx, const char *fn, const pts *q, const pts *r, int self,
                              int64_t k, ie_knn_metric metric, double *out) {
  const int64_t n = q->n;
  int64_t *idx = ie__malloc((size_t)n * (size_t)k * sizeof *idx);
  double *dist = ie__malloc((size_t)n * (size_t)k * sizeof *dist);
  ie_status s = IE_OK;
  if (!idx || !dist)
    s = ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory for %lld x %lld neighbours", fn,
                  (long long)n, (long long)k);
  if (s == IE_OK) s = search(ctx, fn, q->h, n, r->h, r->n, q->d, k, metric, self, idx, dist);
  if (s == IE_OK)
    for (int64_t i = 0; i < n; i++) out[i] = dist[(size_t)i * (size_t)k + (size_t)(k - 1)];
  free(idx);
  free(dist);
  return s;
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
  IE__CHECK(read_points(ctx, fn, "queries", queries, &q));
  ie_status s = read_points(ctx, fn, "refs", refs, &r);
  if (s != IE_OK) {
    pts_free(&q);
    return s;
  }
  ie__arg ia, da;
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
    s = ie__check_matrix(ctx, &ia, fn, "indices", indices, IE__INTS);
    if (s == IE_OK && (indices->ndim != 2 || ia.m.rows != m || ia.m.cols != k))
      s = ie__error(ctx, IE_BAD_SHAPE, "%s: tensor 'indices' must be [%lld, %lld]", fn, (long long)m,
                    (long long)k);
    if (s == IE_OK && ia.m.dtype == IE_DT_I32 && r.n > INT32_MAX)
      s = ie__error(ctx, IE_BAD_DTYPE, "%s: 'refs' has %lld rows; int32 indices cannot hold them", fn,
                    (long long)r.n);
  }
  if (s == IE_OK && distances) {
    /* written by write_out from double values: f64 on every backend */
    s = ie__check_matrix(ctx, &da, fn, "distances", distances,
                         (1u << IE_DT_F32) | (1u << IE_DT_F64) | IE__HOST_WRITTEN);
    if (s == IE_OK && (distances->ndim != 2 || da.m.rows != m || da.m.cols != k))
      s = ie__error(ctx, IE_BAD_SHAPE, "%s: tensor 'distances' must be [%lld, %lld]", fn,
                    (long long)m, (long long)k);
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
  if (s == IE_OK && m > 0)
    s = search(ctx, fn, q.h, m, r.h, r.n, q.d, k, o.metric, o.exclude_self != 0, idx, dist);
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
  IE__CHECK(read_points(ctx, fn, "x", x, &p));
  const int64_t N = p.n, d = p.d;
  ie_status s = check_k(ctx, fn, k, N, "x", "the entropy");
  if (s == IE_OK && o.jitter > 0) apply_jitter(&p, o.jitter, o.seed, 0);
  double *rho = s == IE_OK ? ie__malloc((size_t)N * sizeof *rho) : NULL;
  if (s == IE_OK && !rho) s = ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory", fn);
  if (s == IE_OK) s = kth_distance(ctx, fn, &p, &p, 1, k, IE_METRIC_EUCLIDEAN, rho);
  if (s == IE_OK) s = zero_check(ctx, fn, rho, N, k, "x", "x");
  if (s == IE_OK) {
    const double lv = log_unit_ball(d);
    double est;
    if (!o.has_alpha) {
      /* Kozachenko–Leonenko: ψ(N) − ψ(k) + log V_d + (d/N) Σ log ρ_k(i). */
      ksum sl = {0, 0};
      for (int64_t i = 0; i < N; i++) kadd(&sl, log(rho[i]));
      est = digamma((double)N) - digamma((double)k) + lv + (double)d * kval(&sl) / (double)N;
    } else {
      /* Leonenko–Pronzato–Savani: log((1/N) Σ ζ_i^(1−α))/(1−α), with
       * log ζ_i = log(N−1) + log C_k + log V_d + d log ρ_k(i) and
       * log C_k = (lnΓ(k) − lnΓ(k+1−α))/(1−α) (→ −ψ(k) as α → 1). */
      const double t = 1 - a;
      const double lck = fabs(t) < 1e-8 ? -digamma((double)k)
                                        : (log_gamma((double)k) - log_gamma((double)k + t)) / t;
      const double base = log((double)(N - 1)) + lck + lv;
      for (int64_t i = 0; i < N; i++) rho[i] = base + (double)d * log(rho[i]);
      est = log_mean_exp_over(rho, N, t);
    }
    fill_result(result, est, N, 0, d, k);
  }
  free(rho);
  pts_free(&p);
  return s;
}

/* ---- Divergences -------------------------------------------------------------------- */

/* NNR: g(t) for E_y[g(p_x/p_y)] (docs/SPEC.md §3 kinds written as f-divergences). */
static double nnr_term(ie_divergence_kind kind, double t, double a, double b) {
  switch (kind) {
  case IE_DIV_KL: return t > 0 ? t * log(t) : 0;
  case IE_DIV_REVERSE_KL: return -log(t); /* +inf at t = 0 */
  case IE_DIV_JEFFREYS: return t > 0 ? (t - 1) * log(t) : INFINITY;
  case IE_DIV_JS: {
    /* β KL(p‖m) + (1−β) KL(q‖m), m = βp + (1−β)q, over q: with u = βt + 1 − β,
     * β t log(t/u) − (1−β) log u. */
    const double u = b * t + (1 - b);
    return (t > 0 ? b * t * log(t / u) : 0) - (1 - b) * log(u);
  }
  case IE_DIV_TV: return 0.5 * fabs(t - 1);
  case IE_DIV_HELLINGER: {
    const double r = sqrt(t) - 1;
    return 0.5 * r * r;
  }
  case IE_DIV_CHI2: return (t - 1) * (t - 1);
  case IE_DIV_ALPHA:
    /* (t^α − α t − (1 − α))/(α(α − 1)): Amari's (1 − Σ p^α q^(1−α))/(α(1−α))
     * when E_y[t] = 1, and continuous in α: α → 1 gives t log t − t + 1,
     * α → 0 gives −log t + t − 1. */
    if (a == 1) return (t > 0 ? t * log(t) : 0) - t + 1;
    if (a == 0) return -log(t) + t - 1;
    if (t == 0) return a < 0 ? INFINITY : (a - 1) / (a * (a - 1));
    return (expm1(a * log(t)) - a * (t - 1)) / (a * (a - 1));
  case IE_DIV_TSALLIS:
    /* (t^α − t)/(α − 1): Tsallis' (Σ p^α q^(1−α) − 1)/(α − 1) when
     * E_y[t] = 1; α → 1 gives t log t. */
    if (a == 1) return t > 0 ? t * log(t) : 0;
    if (t == 0) return (a > 0 ? 0.0 : a == 0 ? 1.0 : INFINITY) / (a - 1);
    return (t * expm1((a - 1) * log(t))) / (a - 1);
  default: return NAN;
  }
}

IE_API ie_status ie_knn_divergence(ie_context *ctx, ie_knn_divergence_method method,
                                   const DLTensor *x, const DLTensor *y,
                                   const ie_knn_estimator_options *opt, ie_knn_result *result) {
  static const char *const fn = "ie_knn_divergence";
  ie_knn_estimator_options o;
  IE__CHECK(common_options(ctx, fn, opt, &o));
  const int64_t k = o.k;
  const double a = o.alpha;
  double beta = o.beta == 0 ? 0.5 : o.beta;
  if ((int)method < IE_KNN_DIV_KL || method > IE_KNN_DIV_NNR)
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: unknown method %d", fn, (int)method);
  if (method == IE_KNN_DIV_RENYI) {
    if (!o.has_alpha)
      return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: the Renyi divergence needs alpha (has_alpha = 1)", fn);
    if (!(a > 0) || !((double)k > fabs(a - 1)))
      return ie__error(ctx, IE_INVALID_ARGUMENT,
                       "%s: alpha = %g with k = %lld; the Poczos-Schneider estimator needs alpha > 0 and "
                       "k > |alpha - 1|",
                       fn, a, (long long)k);
  }
  if (method == IE_KNN_DIV_NNR) {
    const ie_divergence_kind nk = o.nnr_kind;
    if ((int)nk < 0 || nk >= IE_DIV_COUNT_)
      return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: unknown nnr_kind %d", fn, (int)nk);
    if (nk == IE_DIV_CROSS_ENTROPY || nk == IE_DIV_CAUCHY_SCHWARZ)
      return ie__error(ctx, IE_INVALID_ARGUMENT,
                       "%s: nnr_kind '%s' is not a function of the density ratio; the "
                       "nearest-neighbour-ratio estimator cannot give it",
                       fn, ie_divergence_name(nk));
    if ((nk == IE_DIV_RENYI || nk == IE_DIV_ALPHA || nk == IE_DIV_TSALLIS) && !o.has_alpha)
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
  IE__CHECK(need_ops(ctx, fn, 0));
  pts px, py;
  IE__CHECK(read_points(ctx, fn, "x", x, &px));
  ie_status s = read_points(ctx, fn, "y", y, &py);
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
  double est = NAN;
  if (s == IE_OK && method != IE_KNN_DIV_NNR) {
    double *rho = ie__malloc((size_t)N * sizeof *rho), *nu = ie__malloc((size_t)N * sizeof *nu);
    if (!rho || !nu) s = ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory", fn);
    if (s == IE_OK) s = kth_distance(ctx, fn, &px, &px, 1, k, IE_METRIC_EUCLIDEAN, rho);
    if (s == IE_OK) s = kth_distance(ctx, fn, &px, &py, 0, k, IE_METRIC_EUCLIDEAN, nu);
    if (s == IE_OK) s = zero_check(ctx, fn, rho, N, k, "x", "x");
    if (s == IE_OK) s = zero_check(ctx, fn, nu, N, k, "x", "y");
    if (s == IE_OK) {
      /* t_i = log((N−1) ρ^d / (M ν^d)) = log((N−1)/M) + d (log ρ − log ν). */
      const double c = log((double)(N - 1) / (double)M);
      for (int64_t i = 0; i < N; i++) rho[i] = c + (double)d * (log(rho[i]) - log(nu[i]));
      if (method == IE_KNN_DIV_KL) {
        /* Wang–Kulkarni–Verdú: (d/N) Σ log(ν/ρ) + log(M/(N−1)) = −mean t_i. */
        ksum st = {0, 0};
        for (int64_t i = 0; i < N; i++) kadd(&st, rho[i]);
        est = -kval(&st) / (double)N;
      } else {
        /* Póczos–Schneider: (log B_{k,α} + log mean exp((1−α) t_i))/(α − 1),
         * log B = 2 lnΓ(k) − lnΓ(k−α+1) − lnΓ(k+α−1); α = 1: −mean t_i. */
        const double t = 1 - a;
        if (t == 0) {
          ksum st = {0, 0};
          for (int64_t i = 0; i < N; i++) kadd(&st, rho[i]);
          est = -kval(&st) / (double)N;
        } else {
          const double kd = (double)k;
          const double lb = 2 * log_gamma(kd) - log_gamma(kd - a + 1) - log_gamma(kd + a - 1);
          est = (lb + t * log_mean_exp_over(rho, N, t)) / (a - 1);
        }
      }
    }
    free(rho);
    free(nu);
  } else if (s == IE_OK) {
    /* Noshad–Moon–Sekeh–Hero: the k nearest of y_i in x ∪ y (itself
     * excluded) are the first k of the merge of its k nearest in x and in
     * y \ {y_i}; on equal distance x comes first (its indices come first
     * in x ∪ y), then the smaller index. */
    const size_t mk = (size_t)M * (size_t)k;
    int64_t *ix = ie__malloc(mk * sizeof *ix), *iy = ie__malloc(mk * sizeof *iy);
    double *dx = ie__malloc(mk * sizeof *dx), *dy = ie__malloc(mk * sizeof *dy);
    double *r = ie__malloc((size_t)M * sizeof *r);
    if (!ix || !iy || !dx || !dy || !r)
      s = ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory for %lld x %lld neighbours", fn,
                    (long long)M, (long long)k);
    if (s == IE_OK) s = search(ctx, fn, py.h, M, px.h, N, d, k, IE_METRIC_EUCLIDEAN, 0, ix, dx);
    if (s == IE_OK) s = search(ctx, fn, py.h, M, py.h, M, d, k, IE_METRIC_EUCLIDEAN, 1, iy, dy);
    if (s == IE_OK) {
      const double eta = (double)M / (double)N;
      for (int64_t i = 0; i < M; i++) {
        const double *ax = dx + (size_t)i * (size_t)k, *ay = dy + (size_t)i * (size_t)k;
        int64_t a0 = 0, b0 = 0;
        while (a0 + b0 < k) {
          if (b0 >= k || (a0 < k && ax[a0] <= ay[b0])) a0++;
          else b0++;
        }
        r[i] = eta * (double)a0 / (double)(b0 + 1); /* r_i = η N_i / (M_i + 1) */
      }
      const ie_divergence_kind nk = o.nnr_kind;
      if (nk == IE_DIV_RENYI) {
        /* log((1/M) Σ r_i^α)/(α − 1), r_i = 0 terms contributing 0. */
        double mx = 0;
        for (int64_t i = 0; i < M; i++) mx = fmax(mx, r[i]);
        ksum sp = {0, 0};
        for (int64_t i = 0; i < M; i++)
          if (r[i] > 0) kadd(&sp, exp(a * (log(r[i]) - log(mx))));
        est = (a * log(mx) + log(kval(&sp) / (double)M)) / (a - 1);
      } else if (nk == IE_DIV_BHATTACHARYYA) {
        ksum sp = {0, 0};
        for (int64_t i = 0; i < M; i++) kadd(&sp, sqrt(r[i]));
        est = -log(kval(&sp) / (double)M);
      } else {
        ksum sp = {0, 0};
        int inf = 0;
        for (int64_t i = 0; i < M; i++) {
          double g = nnr_term(nk, r[i], a, beta);
          if (isinf(g)) inf = 1;
          else kadd(&sp, g);
        }
        est = inf ? INFINITY : kval(&sp) / (double)M;
      }
    }
    free(ix);
    free(iy);
    free(dx);
    free(dy);
    free(r);
  }
  if (s == IE_OK) fill_result(result, est, N, M, d, k);
  pts_free(&px);
  pts_free(&py);
  return s;
}

/* ---- Mutual information (KSG) ------------------------------------------------------- */

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
  IE__CHECK(read_points(ctx, fn, "x", x, &px));
  ie_status s = read_points(ctx, fn, "y", y, &py);
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
  double *eps = NULL;
  int64_t *nx = NULL, *ny = NULL;
  if (s == IE_OK) {
    /* The joint samples (x_i, y_i), dx + dy columns. */
    pj.n = N;
    pj.d = dj;
    pj.h = ie__malloc((size_t)N * (size_t)dj * sizeof *pj.h + 1);
    eps = ie__malloc((size_t)N * sizeof *eps + 1);
    nx = ie__malloc((size_t)N * sizeof *nx + 1);
    ny = ie__malloc((size_t)N * sizeof *ny + 1);
    if (!pj.h || !eps || !nx || !ny) s = ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory", fn);
  }
  if (s == IE_OK) {
    for (int64_t i = 0; i < N; i++) {
      for (int64_t c = 0; c < dx; c++) pj.h[i * dj + c] = px.h[i * dx + c];
      for (int64_t c = 0; c < dy; c++) pj.h[i * dj + dx + c] = py.h[i * dy + c];
    }
    /* ε_i: the k-th max-norm distance in the joint space. */
    s = kth_distance(ctx, fn, &pj, &pj, 1, k, IE_METRIC_CHEBYSHEV, eps);
  }
  pts_free(&pj);
  for (int side = 0; side < 2 && s == IE_OK; side++) {
    const pts *p = side ? &py : &px;
    ie_mat m;
    void *owned = NULL;
    s = to_backend(ctx, fn, p->h, N, p->d, &m, &owned);
    if (s == IE_OK) s = IE__BE(ctx, range_count, &m, &m, eps, 1, side ? ny : nx);
    if (s == IE_CANCELLED) s = ie__cancel(ctx, fn);
    drop(ctx, owned);
  }
  if (s == IE_OK) {
    /* ψ(k) + ψ(N) − (1/N) Σ [ψ(n_x(i) + 1) + ψ(n_y(i) + 1)]; the terms in
     * parallel (in eps, done with), their sum in order */
#pragma omp parallel for schedule(static) if (N > 10000) num_threads(ie__threads(ctx))
    for (int64_t i = 0; i < N; i++) eps[i] = digamma((double)nx[i] + 1) + digamma((double)ny[i] + 1);
    ksum sp = {0, 0};
    for (int64_t i = 0; i < N; i++) kadd(&sp, eps[i]);
    fill_result(result, digamma((double)k) + digamma((double)N) - kval(&sp) / (double)N, N, N, dj, k);
  }
  free(eps);
  free(nx);
  free(ny);
  pts_free(&px);
  pts_free(&py);
  return s;
}
