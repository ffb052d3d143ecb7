/*
 * cpu/mauve.c — the CPU's share of MAUVE (docs/SPEC.md §8, src/mauve.h): unit
 * rows in float, the covariance by float products of chunks of rows (ssyrk)
 * added in double, then, in the register tiles of src/host/dots.c on OpenMP
 * threads, the projection and the k-means assignment (behind Yinyang's
 * group bounds), and the centroid update in double.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "../backend.h"
#include "../host/host.h"
#include "../kernels/kmeans_terms.h"
#include "../mauve.h"
#include "../threads.h"
#include "convert.h"
#include "mauve_seed.h"

static double elem(const char *row, ie_dtype dt, int64_t j) {
  switch (dt) {
  case IE_DT_F64: return ((const double *)row)[j];
  case IE_DT_F32: return ((const float *)row)[j];
  case IE_DT_F16: return ie__half_to_float(((const uint16_t *)row)[j]);
  default: return ie__bf16_to_float(((const uint16_t *)row)[j]);
  }
}

static ie_status cpu_unit_rows(ie_context *ctx, void *sess, const ie_mat *x, const ie_mat *z, int64_t row0,
                               int64_t *bad_row) {
  (void)sess;
  const size_t esz = ie__dtype_size(x->dtype);
  const int64_t d = x->cols;
  int64_t first_bad = INT64_MAX;
#pragma omp parallel for schedule(static) num_threads(ie__threads(ctx)) reduction(min : first_bad)
  for (int64_t i = 0; i < x->rows; i++) {
    const char *row = (const char *)x->buf + x->offset + (size_t)i * (size_t)x->stride * esz;
    float *out = (float *)((char *)z->buf + z->offset) + (size_t)(row0 + i) * (size_t)z->stride;
    double ss = 0;
    int bad = 0;
    if (x->dtype == IE_DT_F32) {
      const float *xr = (const float *)row;
      for (int64_t j = 0; j < d; j++) {
        const double v = xr[j];
        bad |= !isfinite(v);
        ss += v * v;
      }
    } else {
      for (int64_t j = 0; j < d; j++) {
        const double v = elem(row, x->dtype, j);
        bad |= !isfinite(v);
        ss += v * v;
      }
    }
    if (bad) {
      if (i < first_bad) first_bad = i;
      continue;
    }
    /* as sklearn.preprocessing.normalize: a zero row stays zero; the
     * quotient in double, rounded once to float */
    const double nrm = ss > 0 ? sqrt(ss) : 1;
    if (x->dtype == IE_DT_F32)
      for (int64_t j = 0; j < d; j++) out[j] = (float)((double)((const float *)row)[j] / nrm);
    else
      for (int64_t j = 0; j < d; j++) out[j] = (float)(elem(row, x->dtype, j) / nrm);
  }
  *bad_row = first_bad == INT64_MAX ? -1 : first_bad;
  return IE_OK;
}

/* Rows a float product sums before the covariance adds it in double.  A
 * float sum of m products is off by about √m·2⁻²⁴ of their magnitudes
 * (m·2⁻²⁴ at worst): 2048 rows keep that near 1e-6, with one double
 * addition of the d × d triangle a chunk (a serial pass: an OpenMP team
 * between OpenBLAS's calls would fight its threads). */
#define IE__COV_CHUNK 2048

/* Centres z in place (z ← z − μ, rounded to float) and writes μ (the
 * column means in double) and the covariance: Σ over chunks of rows of the
 * float product (ssyrk) of the chunk, added in double. */
static ie_status cpu_covariance(ie_context *ctx, void *sess, const ie_mat *z, double *mean, double *cov) {
  (void)sess;
  const int64_t n = z->rows, d = z->cols;
  const size_t ld = (size_t)z->stride;
  float *Z = (float *)((char *)z->buf + z->offset);
  const int64_t cn = n < IE__COV_CHUNK ? n : IE__COV_CHUNK;
  float *part = malloc((size_t)d * (size_t)d * sizeof *part);
  if (!part) return ie__error(ctx, IE_OUT_OF_MEMORY, "ie_mauve: no host memory for the covariance");
  memset(mean, 0, (size_t)d * sizeof *mean);
  for (int64_t i = 0; i < n; i++) /* row order: each column summed in row order */
    for (int64_t j = 0; j < d; j++) mean[j] += Z[(size_t)i * ld + (size_t)j];
  for (int64_t j = 0; j < d; j++) mean[j] /= (double)n;
#pragma omp parallel for schedule(static) num_threads(ie__threads(ctx))
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < d; j++) Z[(size_t)i * ld + (size_t)j] = (float)(Z[(size_t)i * ld + (size_t)j] - mean[j]);
  memset(cov, 0, (size_t)d * (size_t)d * sizeof *cov);
  for (int64_t b = 0; b < n; b += cn) {
    const int64_t m = n - b < cn ? n - b : cn;
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)m, 1.0f, Z + (size_t)b * ld, (int)ld, 0.0f,
                part, (int)d);
    for (int64_t i = 0; i < d; i++)
      for (int64_t j = i; j < d; j++) cov[(size_t)i * (size_t)d + (size_t)j] += part[(size_t)i * (size_t)d + (size_t)j];
  }
  free(part);
  const double sc = 1.0 / (double)(n - 1);
  for (int64_t i = 0; i < d; i++) {
    for (int64_t j = i; j < d; j++) cov[(size_t)i * (size_t)d + (size_t)j] *= sc;
    for (int64_t j = 0; j < i; j++) cov[(size_t)i * (size_t)d + (size_t)j] = cov[(size_t)j * (size_t)d + (size_t)i];
  }
  return IE_OK;
}

/* y = z V (z already centred by cpu_covariance), V rounded to float, in
 * the register tiles of src/host/dots.c on blocks of rows (V's columns
 * padded to 16 with zeros): no OpenBLAS call, whose pool would still be
 * spinning when the k-means++ start's OpenMP team begins. */
#define IE__PROJECT_BLOCK 64
static ie_status cpu_project(ie_context *ctx, void *sess, const ie_mat *z, const double *v, int64_t r,
                             const ie_mat *y) {
  (void)sess;
  const int64_t n = z->rows, d = z->cols, rp = (r + 15) / 16 * 16;
  const int threads = ie__threads(ctx);
  float *vf = calloc((size_t)d * (size_t)rp + (size_t)threads * IE__PROJECT_BLOCK * (size_t)rp, sizeof *vf);
  if (!vf) return ie__error(ctx, IE_OUT_OF_MEMORY, "ie_mauve: no host memory for the projection");
  for (int64_t i = 0; i < d; i++)
    for (int64_t c = 0; c < r; c++) vf[(size_t)i * (size_t)rp + (size_t)c] = (float)v[(size_t)i * (size_t)r + (size_t)c];
  const float *Z = (const float *)((const char *)z->buf + z->offset);
  float *Y = (float *)((char *)y->buf + y->offset), *tiles = vf + (size_t)d * (size_t)rp;
  const int64_t blocks = (n + IE__PROJECT_BLOCK - 1) / IE__PROJECT_BLOCK;
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int64_t b = 0; b < blocks; b++) {
    const int64_t i0 = b * IE__PROJECT_BLOCK, m = n - i0 < IE__PROJECT_BLOCK ? n - i0 : IE__PROJECT_BLOCK;
    float *tile = tiles + (size_t)omp_get_thread_num() * IE__PROJECT_BLOCK * (size_t)rp;
    ie__dots_f32(Z + (size_t)i0 * (size_t)z->stride, (size_t)z->stride, m, d, vf, (size_t)rp, rp, tile, (size_t)rp);
    for (int64_t i = 0; i < m; i++)
      memcpy(Y + (size_t)(i0 + i) * (size_t)y->stride, tile + (size_t)i * (size_t)rp, (size_t)r * sizeof *Y);
  }
  free(vf);
  return IE_OK;
}

/* ---- k-means: the assignment with group bounds ------------------------------------ */

/* Yinyang k-means (Ding et al., ICML 2015), its group filter: the centres
 * fall in groups of 16 (the columns of one strip of ie__dots_f32), and each
 * row keeps an upper bound on its distance to its centre and, for every
 * group, a lower bound on its distance to the group's other centres.  A
 * centre that moves by δ loosens the bounds by δ (a group's by its
 * centres' largest δ).  A row measures only the groups whose bound no
 * longer clears its upper bound, with its own centre's group, and keeps the
 * least of those: the others cannot win.  "Clears" allows for the float
 * formula argmin_j fl(‖c_j‖²) − 2 fl(y·c_j), off by less than E = (r + 4)·
 * 2⁻²⁴·(‖y‖ + max‖c‖)² (Higham, "Accuracy and Stability", §3.1: a sum of
 * r terms, in any order, is off by at most r·u·Σ|terms|): a group is
 * skipped only when lower² − upper² > 2E, so that no centre in it could
 * win or tie.  A dot product is the same chain whether its row is measured
 * in a block or alone, so the labels are those of measuring every row. */

/* Rows a block of the first assignment's products: a block (rows × k
 * floats) of each thread stays in its L2 cache. */
#define IE__KM_BLOCK 64

typedef struct {
  int64_t n, k, r, kp, groups; /* the sizes the buffers below are for; kp: k rounded up to 16, groups kp / 16 */
  int threads;          /* the scratch's thread slots */
  int fresh;            /* no bounds yet: measure every row */
  float *g;             /* a slot per thread: IE__KM_BLOCK × kp products */
  float *ct, *cn;       /* r × kp: the centres transposed (zero pad); kp: fl(‖c_j‖²) (+inf pad) */
  float *cprev;         /* k × r: the centres of the last assignment */
  int32_t *strips;      /* a slot per thread, groups: the groups a row measures */
  float *least;         /* a slot per thread, groups: their least values */
  double *drift, *gdrift, *acc; /* k: how far each centre moved; groups: the most in each; r: the update's sums */
  double *ynrm, *up, *lo; /* n: ‖y_i‖, the upper bounds; n × groups: the lower ones */
  int32_t *lab;         /* n: the last labels */
  int32_t *perm;        /* n: the rows grouped by cluster, for the update */
  int64_t *off;         /* 2k + 1: where each group begins, and scratch */
  /* the k-means++ starts, run `batch` side by side (seeds_of: the first
   * of the batch in `centres`, seeds_n of them, from the seed seeds_seed) */
  ie__mauve_seed seeding;
  float *centres;       /* batch × k × r */
  uint64_t *streams;    /* batch */
  uint64_t **stream_at; /* batch */
  float **centres_at;   /* batch */
  int64_t batch, seeds_of, seeds_n;
  uint64_t seeds_seed;
} cpu_km;

static void seeding_release(cpu_km *m) {
  ie__mauve_seed_free(&m->seeding);
  free(m->centres);
  free(m->streams);
  free(m->stream_at);
  free(m->centres_at);
  m->centres = NULL;
  m->streams = NULL;
  m->stream_at = NULL;
  m->centres_at = NULL;
  m->batch = m->seeds_n = 0;
}

/* The assignment's buffers (the seeding's are kept). */
static void km_release(cpu_km *m) {
  void *p[] = {m->g, m->ct, m->cn, m->cprev, m->strips, m->least, m->drift, m->gdrift, m->acc, m->ynrm, m->up, m->lo,
               m->lab, m->perm, m->off};
  for (size_t i = 0; i < sizeof p / sizeof *p; i++) free(p[i]);
  m->g = m->ct = m->cn = m->cprev = m->least = NULL;
  m->strips = m->lab = m->perm = NULL;
  m->drift = m->gdrift = m->acc = m->ynrm = m->up = m->lo = NULL;
  m->off = NULL;
  m->n = m->k = m->r = m->kp = m->groups = 0;
  m->threads = 0;
}

static ie_status cpu_begin(ie_context *ctx, void **sess) {
  cpu_km *m = calloc(1, sizeof *m);
  if (!m) return ie__error(ctx, IE_OUT_OF_MEMORY, "ie_mauve: no host memory for the k-means state");
  *sess = m;
  return IE_OK;
}

static void cpu_end(ie_context *ctx, void *sess) {
  (void)ctx;
  if (!sess) return;
  km_release(sess);
  seeding_release(sess);
  free(sess);
}

static void cpu_restart(ie_context *ctx, void *sess) {
  (void)ctx;
  ((cpu_km *)sess)->fresh = 1;
}

/* The buffers for n rows of r, k centres and `threads` threads, made at the
 * first assignment of an ie_mauve call (the sizes do not change within it). */
static ie_status km_ready(ie_context *ctx, cpu_km *m, int64_t n, int64_t k, int64_t r, int threads) {
  if (m->g && m->n == n && m->k == k && m->r == r && m->threads == threads) return IE_OK;
  km_release(m);
  const int64_t kp = (k + 15) / 16 * 16, G = kp / 16;
  const size_t T = (size_t)threads;
  m->n = n, m->k = k, m->r = r, m->kp = kp, m->groups = G, m->threads = threads, m->fresh = 1;
  m->g = malloc(T * IE__KM_BLOCK * (size_t)kp * sizeof *m->g);
  m->ct = calloc((size_t)r * (size_t)kp, sizeof *m->ct);
  m->cn = malloc((size_t)kp * sizeof *m->cn);
  m->cprev = malloc((size_t)k * (size_t)r * sizeof *m->cprev);
  m->strips = malloc(T * (size_t)G * sizeof *m->strips);
  m->least = malloc(T * (size_t)G * sizeof *m->least);
  m->drift = malloc((size_t)k * sizeof *m->drift);
  m->gdrift = malloc((size_t)G * sizeof *m->gdrift);
  m->acc = malloc((size_t)r * sizeof *m->acc);
  m->ynrm = malloc((size_t)n * sizeof *m->ynrm);
  m->up = malloc((size_t)n * sizeof *m->up);
  m->lo = malloc((size_t)n * (size_t)G * sizeof *m->lo);
  m->lab = malloc((size_t)n * sizeof *m->lab);
  m->perm = malloc((size_t)n * sizeof *m->perm);
  m->off = malloc((size_t)(2 * k + 1) * sizeof *m->off);
  if (!m->g || !m->ct || !m->cn || !m->cprev || !m->strips || !m->least || !m->drift || !m->gdrift || !m->acc ||
      !m->ynrm || !m->up || !m->lo || !m->lab || !m->perm || !m->off) {
    km_release(m);
    return ie__error(ctx, IE_OUT_OF_MEMORY, "ie_mauve: no host memory for the k-means assignment (%lld rows)",
                     (long long)n);
  }
  for (int64_t j = k; j < kp; j++) m->cn[j] = INFINITY; /* the pad: never the nearest */
  return IE_OK;
}

/* Row i's label and bounds from its formula values v (v[16q + l]: centre
 * 16·strips[q] + l) over `count` groups, its own among them: the least
 * value (the lowest index on a tie), each group's least but that one.
 * Inlined into the builds of km_block and km_row for each instruction set:
 * its float values are exact whatever the build (c − 2v: the product is
 * exact), and the bounds carry the margin E. */
static inline __attribute__((always_inline)) void km_settle(cpu_km *m, int64_t i, float *v, const int32_t *strips,
                                                            int64_t count, double e, int slot) {
  float *least = m->least + (size_t)slot * (size_t)m->groups; /* each group's least value */
  for (int64_t q = 0; q < count; q++) {
    float *vq = v + (size_t)q * 16, lo = INFINITY;
    const float *cn = m->cn + (size_t)strips[q] * 16;
#pragma omp simd reduction(min : lo)
    for (int l = 0; l < 16; l++) {
      vq[l] = cn[l] - 2.0f * vq[l];
      lo = vq[l] < lo ? vq[l] : lo;
    }
    least[q] = lo;
  }
  int64_t bq = 0;
  for (int64_t q = 1; q < count; q++) /* the groups ascend: the first least is the lowest index */
    if (least[q] < least[bq]) bq = q;
  const float *vb = v + (size_t)bq * 16;
  int bl = 0;
  while (vb[bl] != least[bq]) bl++;
  float rest = INFINITY; /* the best's group without it */
  for (int l = 0; l < 16; l++)
    if (l != bl && vb[l] < rest) rest = vb[l];
  const float best = least[bq];
  least[bq] = rest;
  const double yn2 = m->ynrm[i] * m->ynrm[i];
  double *lo = m->lo + (size_t)i * (size_t)m->groups;
  for (int64_t q = 0; q < count; q++) {
    const double l2 = (double)least[q] + yn2 - e;
    lo[strips[q]] = l2 > 0 ? sqrt(l2) : 0;
  }
  const double u2 = (double)best + yn2 + e;
  m->up[i] = sqrt(u2 > 0 ? u2 : 0);
  m->lab[i] = (int32_t)(strips[bq] * 16 + bl);
}

/* E for row i (above), from the largest centre norm cmax. */
static double km_error(const cpu_km *m, int64_t i, double eps, double cmax) {
  return eps * (m->ynrm[i] + cmax) * (m->ynrm[i] + cmax);
}

/* Every row of a block (rows i0 .. i0 + mb − 1), against every centre, in
 * thread slot `slot`. */
IE_CPU_CLONES static void km_block(cpu_km *m, const float *Y, size_t ys, int64_t i0, int64_t mb, int slot,
                                   double eps, double cmax) {
  const int64_t kp = m->kp, G = m->groups;
  float *g = m->g + (size_t)slot * IE__KM_BLOCK * (size_t)kp;
  int32_t *strips = m->strips + (size_t)slot * (size_t)G;
  for (int64_t q = 0; q < G; q++) strips[q] = (int32_t)q;
  ie__dots_f32(Y + (size_t)i0 * ys, ys, mb, m->r, m->ct, (size_t)kp, kp, g, (size_t)kp);
  for (int64_t q = 0; q < mb; q++)
    km_settle(m, i0 + q, g + (size_t)q * (size_t)kp, strips, G, km_error(m, i0 + q, eps, cmax), slot);
}

/* Row i after the centres moved: its bounds loosened, the groups they no
 * longer clear measured. */
static void km_row(cpu_km *m, const float *yi, int64_t i, int slot, double eps, double cmax) {
  const int64_t G = m->groups, own = m->lab[i] / 16;
  int32_t *strips = m->strips + (size_t)slot * (size_t)G;
  double *lo = m->lo + (size_t)i * (size_t)G;
  const double u = m->up[i] + m->drift[m->lab[i]], e = km_error(m, i, eps, cmax);
  m->up[i] = u;
  int64_t count = 0;
  for (int64_t q = 0; q < G; q++) {
    const double l = lo[q] - m->gdrift[q];
    lo[q] = l;
    if (q == own || !(l > 0 && l * l - u * u > 2 * e)) strips[count++] = (int32_t)q;
  }
  if (count == 1 && lo[own] > 0 && lo[own] * lo[own] - u * u > 2 * e) return; /* every group clears it */
  float *v = m->g + (size_t)slot * IE__KM_BLOCK * (size_t)m->kp;
  ie__dots_f32_strips(yi, m->r, m->ct, (size_t)m->kp, strips, count, v);
  km_settle(m, i, v, strips, count, e, slot);
}

static ie_status cpu_assign(ie_context *ctx, void *sess, const ie_mat *y, const ie_mat *c, void *labels,
                            const void *prev, int64_t *changed) {
  cpu_km *m = sess;
  const int64_t n = y->rows, k = c->rows, r = y->cols;
  const size_t ys = (size_t)y->stride, cs = (size_t)c->stride;
  const float *Y = (const float *)((const char *)y->buf + y->offset);
  const float *C = (const float *)((const char *)c->buf + c->offset);
  const int threads = ie__threads(ctx);
  const ie_status st = km_ready(ctx, m, n, k, r, threads);
  if (st != IE_OK) return st;
  const int64_t kp = m->kp, G = m->groups;
  double cmax = 0;
  for (int64_t j = 0; j < k; j++) {
    double a = 0;
    for (int64_t t = 0; t < r; t++) {
      const double v = C[(size_t)j * cs + (size_t)t];
      a += v * v;
      m->ct[(size_t)t * (size_t)kp + (size_t)j] = C[(size_t)j * cs + (size_t)t];
    }
    m->cn[j] = (float)a;
    if (a > cmax) cmax = a;
  }
  cmax = sqrt(cmax);
  const double eps = (double)(r + 4) * 0x1p-24 * 1.01;
  /* a team only when there is work for it; a row's label does not depend
   * on the thread that measures it */
  const int team = threads > 1 && n * k * r > 100000;
  if (m->fresh) {
    for (int64_t i = 0; i < n; i++) {
      double a = 0;
      for (int64_t t = 0; t < r; t++) {
        const double v = Y[(size_t)i * ys + (size_t)t];
        a += v * v;
      }
      m->ynrm[i] = sqrt(a);
    }
    const int64_t blocks = (n + IE__KM_BLOCK - 1) / IE__KM_BLOCK;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (team)
    for (int64_t b = 0; b < blocks; b++) {
      const int64_t i0 = b * IE__KM_BLOCK;
      km_block(m, Y, ys, i0, n - i0 < IE__KM_BLOCK ? n - i0 : IE__KM_BLOCK, omp_get_thread_num(), eps, cmax);
    }
  } else {
    for (int64_t q = 0; q < G; q++) m->gdrift[q] = 0;
    for (int64_t j = 0; j < k; j++) {
      double a = 0;
      for (int64_t t = 0; t < r; t++) {
        const double v = (double)C[(size_t)j * cs + (size_t)t] - (double)m->cprev[(size_t)j * (size_t)r + (size_t)t];
        a += v * v;
      }
      m->drift[j] = sqrt(a);
      if (m->drift[j] > m->gdrift[j / 16]) m->gdrift[j / 16] = m->drift[j];
    }
#pragma omp parallel for schedule(dynamic, 256) num_threads(threads) if (team)
    for (int64_t i = 0; i < n; i++) km_row(m, Y + (size_t)i * ys, i, omp_get_thread_num(), eps, cmax);
  }
  for (int64_t j = 0; j < k; j++) memcpy(m->cprev + (size_t)j * (size_t)r, C + (size_t)j * cs, (size_t)r * sizeof *C);
  m->fresh = 0;
  memcpy(labels, m->lab, (size_t)n * sizeof *m->lab);
  if (prev) {
    const int32_t *was = prev;
    int64_t moved = 0;
    for (int64_t i = 0; i < n; i++) moved += m->lab[i] != was[i];
    *changed = moved;
  }
  return IE_OK;
}

/* Rows grouped by cluster, in row order within each (a counting sort). */
static void group(const int32_t *lab, int64_t n, int64_t k, int32_t *perm, int64_t *off) {
  memset(off, 0, (size_t)(k + 1) * sizeof *off);
  for (int64_t i = 0; i < n; i++) off[lab[i] + 1]++;
  for (int64_t j = 0; j < k; j++) off[j + 1] += off[j];
  int64_t *pos = off + k + 1; /* k more entries of scratch */
  memcpy(pos, off, (size_t)k * sizeof *pos);
  for (int64_t i = 0; i < n; i++) perm[pos[lab[i]]++] = (int32_t)i;
}

/* Serial: n·r additions, less than waking a team costs. */
static ie_status cpu_update(ie_context *ctx, void *sess, const ie_mat *y, const void *labels, const ie_mat *c) {
  cpu_km *m = sess;
  const int64_t n = y->rows, k = c->rows, r = y->cols;
  const ie_status st = km_ready(ctx, m, n, k, r, ie__threads(ctx));
  if (st != IE_OK) return st;
  const float *Y = (const float *)((const char *)y->buf + y->offset);
  float *C = (float *)((char *)c->buf + c->offset);
  const int32_t *perm = m->perm;
  const int64_t *off = m->off;
  double *acc = m->acc;
  group(labels, n, k, m->perm, m->off);
  for (int64_t j = 0; j < k; j++) {
    if (off[j + 1] == off[j]) continue;
    memset(acc, 0, (size_t)r * sizeof *acc);
    for (int64_t q = off[j]; q < off[j + 1]; q++) {
      const float *yi = Y + (size_t)perm[q] * (size_t)y->stride;
      for (int64_t t = 0; t < r; t++) acc[t] += yi[t];
    }
    const double cnt = (double)(off[j + 1] - off[j]);
    for (int64_t t = 0; t < r; t++) C[(size_t)j * (size_t)c->stride + (size_t)t] = (float)(acc[t] / cnt);
  }
  return IE_OK;
}

/* Σ ‖y_i − c_{l_i}‖², in double from differences, in row order. */
static ie_status cpu_inertia(ie_context *ctx, void *sess, const ie_mat *y, const ie_mat *c, const void *labels,
                             double *inertia) {
  (void)ctx;
  (void)sess;
  const float *Y = (const float *)((const char *)y->buf + y->offset);
  const float *C = (const float *)((const char *)c->buf + c->offset);
  const int32_t *lab = labels;
  double s = 0;
  for (int64_t i = 0; i < y->rows; i++) {
    const float *yi = Y + (size_t)i * (size_t)y->stride, *ci = C + (size_t)lab[i] * (size_t)c->stride;
    double a = 0;
    for (int64_t j = 0; j < y->cols; j++) {
      const double d = (double)yi[j] - (double)ci[j];
      a += d * d;
    }
    s += a;
  }
  *inertia = s;
  return IE_OK;
}

static ie_status cpu_histogram(ie_context *ctx, void *sess, const void *labels, const int64_t *rows,
                               int64_t sets, int64_t k, double *hist) {
  (void)ctx;
  (void)sess;
  const int32_t *lab = labels;
  memset(hist, 0, (size_t)sets * (size_t)k * sizeof *hist);
  for (int64_t s = 0, i = 0; s < sets; s++)
    for (int64_t e = i + rows[s]; i < e; i++) hist[(size_t)s * (size_t)k + (size_t)lab[i]] += 1;
  return IE_OK;
}

/* The k-means++ starts of src/cpu/mauve_seed.c, as many side by side as
 * keep their products (n × 8 floats each) under 64 MiB: a start's centres
 * come from the batch that holds it, run when its first start is asked
 * for. */
static ie_status cpu_seed(ie_context *ctx, void *sess, const ie_mat *y, uint64_t seed, int64_t start,
                          int64_t starts, const ie_mat *c) {
  cpu_km *m = sess;
  const int64_t n = y->rows, r = y->cols, k = c->rows;
  const float *Y = (const float *)((const char *)y->buf + y->offset);
  int64_t batch = (int64_t)(((size_t)64 << 20) / ((size_t)n * 8 * sizeof(float)));
  batch = batch < 1 ? 1 : batch > starts ? starts : batch;
  ie__mauve_seed *sd = &m->seeding;
  if (!m->centres || sd->y != Y || sd->n != n || sd->r != r || sd->k != k || m->batch != batch) {
    seeding_release(m);
    const size_t ck = (size_t)k * (size_t)r;
    m->centres = malloc((size_t)batch * ck * sizeof *m->centres);
    m->streams = malloc((size_t)batch * sizeof *m->streams);
    m->stream_at = malloc((size_t)batch * sizeof *m->stream_at);
    m->centres_at = malloc((size_t)batch * sizeof *m->centres_at);
    if (!m->centres || !m->streams || !m->stream_at || !m->centres_at ||
        ie__mauve_seed_init(sd, Y, n, r, k, batch, ie__threads(ctx)) != 0) {
      seeding_release(m);
      return ie__error(ctx, IE_OUT_OF_MEMORY, "ie_mauve: no host memory for the k-means++ start (%lld rows, %lld clusters)",
                       (long long)n, (long long)k);
    }
    for (int64_t q = 0; q < batch; q++) {
      m->stream_at[q] = &m->streams[q];
      m->centres_at[q] = m->centres + (size_t)q * ck;
    }
    m->batch = batch;
  }
  if (!(m->seeds_n > 0 && m->seeds_seed == seed && start >= m->seeds_of && start < m->seeds_of + m->seeds_n)) {
    const int64_t count = starts - start < batch ? starts - start : batch;
    for (int64_t q = 0; q < count; q++) m->streams[q] = km_stream(seed, start + q);
    ie__mauve_seed_run(sd, count, m->stream_at, m->centres_at);
    m->seeds_seed = seed;
    m->seeds_of = start;
    m->seeds_n = count;
  }
  const float *from = m->centres_at[start - m->seeds_of];
  float *C = (float *)((char *)c->buf + c->offset);
  for (int64_t j = 0; j < k; j++)
    memcpy(C + (size_t)j * (size_t)c->stride, from + (size_t)j * (size_t)r, (size_t)r * sizeof *C);
  return IE_OK;
}

const ie_mauve_ops ie__cpu_mauve_ops = {
    .zdt = IE_DT_F32,
    .begin = cpu_begin,
    .end = cpu_end,
    .restart = cpu_restart,
    .unit_rows = cpu_unit_rows,
    .covariance = cpu_covariance,
    .project = cpu_project,
    .seed = cpu_seed,
    .assign = cpu_assign,
    .update = cpu_update,
    .inertia = cpu_inertia,
    .histogram = cpu_histogram,
};
