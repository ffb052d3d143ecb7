/*
 * cpu/mauve.c — the CPU's share of MAUVE (docs/SPEC.md §8, src/mauve.h): unit
 * rows in float, the covariance by float products of chunks of rows (ssyrk)
 * added in double, the projection by sgemm, the k-means assignment by float
 * GEMM (sgemm) and an argmin, and the centroid update in double.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "../backend.h"
#include "../mauve.h"
#include "convert.h"

static double elem(const char *row, ie_dtype dt, int64_t j) {
  switch (dt) {
  case IE_DT_F64: return ((const double *)row)[j];
  case IE_DT_F32: return ((const float *)row)[j];
  case IE_DT_F16: return ie__half_to_float(((const uint16_t *)row)[j]);
  default: return ie__bf16_to_float(((const uint16_t *)row)[j]);
  }
}

static ie_status cpu_unit_rows(ie_context *ctx, void *sess, const ie_mat *x, const ie_mat *z, int64_t row0,
                               ie_rowerr *err) {
  (void)sess;
  (void)ctx;
  const size_t esz = ie__dtype_size(x->dtype);
  const int64_t d = x->cols;
#pragma omp parallel for schedule(static)
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
      err[i] = IE_ROW_NONFINITE;
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
  return IE_OK;
}

/* Rows a float product sums before the covariance adds it in double: short
 * enough that float's rounding stays near 1e-7 relative. */
#define IE__COV_CHUNK 512

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
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < d; j++) Z[(size_t)i * ld + (size_t)j] = (float)(Z[(size_t)i * ld + (size_t)j] - mean[j]);
  memset(cov, 0, (size_t)d * (size_t)d * sizeof *cov);
  for (int64_t b = 0; b < n; b += cn) {
    const int64_t m = n - b < cn ? n - b : cn;
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)m, 1.0f, Z + (size_t)b * ld, (int)ld, 0.0f,
                part, (int)d);
#pragma omp parallel for schedule(dynamic, 16)
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

/* y = z V (z already centred by cpu_covariance) by one float GEMM, V
 * rounded to float. */
static ie_status cpu_project(ie_context *ctx, void *sess, const ie_mat *z, const double *v, int64_t r,
                             const ie_mat *y) {
  (void)sess;
  const int64_t n = z->rows, d = z->cols;
  float *vf = malloc((size_t)d * (size_t)r * sizeof *vf);
  if (!vf) return ie__error(ctx, IE_OUT_OF_MEMORY, "ie_mauve: no host memory for the projection");
  for (size_t i = 0; i < (size_t)d * (size_t)r; i++) vf[i] = (float)v[i];
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)r, (int)d, 1.0f,
              (const float *)((const char *)z->buf + z->offset), (int)z->stride, vf, (int)r, 0.0f,
              (float *)((char *)y->buf + y->offset), (int)y->stride);
  free(vf);
  return IE_OK;
}

/* ---- k-means: the assignment with Hamerly's bounds ------------------------------ */

/* Hamerly (2010), "Making k-means even faster": each row keeps an upper
 * bound on its distance to its centre and a lower bound on its distance to
 * every other centre; a centre that moves by δ loosens them by δ.  A row
 * keeps its label without a product when its bounds separate its centre
 * from the others by more than the float formula argmin_j fl(‖c_j‖²) −
 * 2 fl(y·c_j) can err; the other rows are gathered and measured by one
 * sgemm a block.  The formula is off by less than E = (r + 4)·2⁻²⁴·(‖y‖ +
 * max‖c‖)² (Higham, "Accuracy and Stability", §3.1: a sum of r terms, in
 * any order, is off by at most r·u·Σ|terms|), so a row is kept only when
 * lower² − upper² > 2E: the formula could neither pick another centre nor
 * tie.  The labels are those of measuring every row. */

/* Rows a block of the assignment's products: the block (rows × k floats)
 * stays in the L2 cache. */
#define IE__KM_BLOCK 256

typedef struct {
  int64_t n, k, r;      /* the sizes the buffers below are for */
  int fresh;            /* no bounds yet: measure every row */
  float *g, *yg;        /* IE__KM_BLOCK × k products; IE__KM_BLOCK × r gathered rows */
  float *cn, *cprev;    /* k: fl(‖c_j‖²); k × r: the centres of the last assignment */
  float *bmin;          /* k / 16: a row's least value in each block of 16 centres */
  double *drift, *acc;  /* k: how far each centre moved; r: the update's sums */
  double *ynrm, *up, *lo; /* n: ‖y_i‖, the bounds */
  int32_t *lab, *remeasure;  /* n: the last labels; the rows to measure */
} cpu_km;

static void km_release(cpu_km *m) {
  void *p[] = {m->g, m->yg, m->bmin, m->cn, m->cprev, m->drift, m->acc, m->ynrm, m->up, m->lo, m->lab, m->remeasure};
  for (size_t i = 0; i < sizeof p / sizeof *p; i++) free(p[i]);
  memset(m, 0, sizeof *m);
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
  free(sess);
}

static void cpu_restart(ie_context *ctx, void *sess) {
  (void)ctx;
  ((cpu_km *)sess)->fresh = 1;
}

/* The buffers for n rows of r and k centres, made at the first assignment
 * of an ie_mauve call (the sizes do not change within it). */
static ie_status km_ready(ie_context *ctx, cpu_km *m, int64_t n, int64_t k, int64_t r) {
  if (m->g && m->n == n && m->k == k && m->r == r) return IE_OK;
  km_release(m);
  m->n = n, m->k = k, m->r = r, m->fresh = 1;
  m->g = malloc((size_t)IE__KM_BLOCK * (size_t)k * sizeof *m->g);
  m->yg = malloc((size_t)IE__KM_BLOCK * (size_t)r * sizeof *m->yg);
  m->cn = malloc((size_t)k * sizeof *m->cn);
  m->bmin = malloc((size_t)((k + 15) / 16) * sizeof *m->bmin);
  m->cprev = malloc((size_t)k * (size_t)r * sizeof *m->cprev);
  m->drift = malloc((size_t)k * sizeof *m->drift);
  m->acc = malloc((size_t)r * sizeof *m->acc);
  m->ynrm = malloc((size_t)n * sizeof *m->ynrm);
  m->up = malloc((size_t)n * sizeof *m->up);
  m->lo = malloc((size_t)n * sizeof *m->lo);
  m->lab = malloc((size_t)n * sizeof *m->lab);
  m->remeasure = malloc((size_t)n * sizeof *m->remeasure);
  if (!m->g || !m->yg || !m->bmin || !m->cn || !m->cprev || !m->drift || !m->acc || !m->ynrm || !m->up || !m->lo ||
      !m->lab || !m->remeasure) {
    km_release(m);
    return ie__error(ctx, IE_OUT_OF_MEMORY, "ie_mauve: no host memory for the k-means assignment (%lld rows)",
                     (long long)n);
  }
  return IE_OK;
}

static ie_status cpu_assign(ie_context *ctx, void *sess, const ie_mat *y, const ie_mat *c, int32_t *labels) {
  cpu_km *m = sess;
  const int64_t n = y->rows, k = c->rows, r = y->cols;
  const size_t ys = (size_t)y->stride, cs = (size_t)c->stride;
  const float *Y = (const float *)((const char *)y->buf + y->offset);
  const float *C = (const float *)((const char *)c->buf + c->offset);
  const ie_status st = km_ready(ctx, m, n, k, r);
  if (st != IE_OK) return st;
  double cmax = 0;
  for (int64_t j = 0; j < k; j++) {
    double a = 0;
    for (int64_t t = 0; t < r; t++) {
      const double v = C[(size_t)j * cs + (size_t)t];
      a += v * v;
    }
    m->cn[j] = (float)a;
    if (a > cmax) cmax = a;
  }
  cmax = sqrt(cmax);
  const double eps = (double)(r + 4) * 0x1p-24 * 1.01;
  int64_t nt = 0;
  if (m->fresh) {
    for (int64_t i = 0; i < n; i++) {
      double a = 0;
      for (int64_t t = 0; t < r; t++) {
        const double v = Y[(size_t)i * ys + (size_t)t];
        a += v * v;
      }
      m->ynrm[i] = sqrt(a);
      m->remeasure[nt++] = (int32_t)i;
    }
  } else {
    double dmax = 0, dmax2 = 0; /* the two largest drifts, the largest at jmax */
    int64_t jmax = -1;
    for (int64_t j = 0; j < k; j++) {
      double a = 0;
      for (int64_t t = 0; t < r; t++) {
        const double v = (double)C[(size_t)j * cs + (size_t)t] - (double)m->cprev[(size_t)j * (size_t)r + (size_t)t];
        a += v * v;
      }
      m->drift[j] = sqrt(a);
      if (m->drift[j] > dmax) {
        dmax2 = dmax;
        dmax = m->drift[j];
        jmax = j;
      } else if (m->drift[j] > dmax2) {
        dmax2 = m->drift[j];
      }
    }
    for (int64_t i = 0; i < n; i++) {
      /* the other centres came at most the largest drift but the row's own nearer */
      const double u = m->up[i] + m->drift[m->lab[i]], l = m->lo[i] - (m->lab[i] == jmax ? dmax2 : dmax);
      m->up[i] = u;
      m->lo[i] = l;
      const double e = eps * (m->ynrm[i] + cmax) * (m->ynrm[i] + cmax);
      if (!(l > 0 && l * l - u * u > 2 * e)) m->remeasure[nt++] = (int32_t)i;
    }
  }
  for (int64_t b = 0; b < nt; b += IE__KM_BLOCK) {
    const int64_t mb = nt - b < IE__KM_BLOCK ? nt - b : IE__KM_BLOCK;
    for (int64_t q = 0; q < mb; q++)
      memcpy(m->yg + (size_t)q * (size_t)r, Y + (size_t)m->remeasure[b + q] * ys, (size_t)r * sizeof *m->yg);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)mb, (int)k, (int)r, 1.0f, m->yg, (int)r, C, (int)cs,
                0.0f, m->g, (int)k);
    /* serial: no OpenMP team to wake between OpenBLAS's calls.  Per row:
     * the values into gi in place and the minimum of each block of 16
     * (exact in any order, so vectorised), the first block holding the
     * least, the first index in it, and the runner-up's value. */
    for (int64_t q = 0; q < mb; q++) {
      float *gi = m->g + (size_t)q * (size_t)k, *bm = m->bmin;
      const int64_t nbk = (k + 15) / 16;
      for (int64_t jb = 0; jb < nbk; jb++) {
        const int64_t j0 = jb * 16, j1 = j0 + 16 < k ? j0 + 16 : k;
        float lo = INFINITY;
#pragma omp simd reduction(min : lo)
        for (int64_t j = j0; j < j1; j++) {
          const float v = m->cn[j] - 2.0f * gi[j];
          gi[j] = v;
          lo = v < lo ? v : lo;
        }
        bm[jb] = lo;
      }
      int64_t bb = 0;
      for (int64_t jb = 1; jb < nbk; jb++)
        if (bm[jb] < bm[bb]) bb = jb;
      const float best = bm[bb];
      int64_t j0 = bb * 16;
      while (gi[j0] != best) j0++;
      float second = INFINITY;
      for (int64_t jb = 0; jb < nbk; jb++)
        if (jb != bb && bm[jb] < second) second = bm[jb];
      for (int64_t j = bb * 16; j < (bb * 16 + 16 < k ? bb * 16 + 16 : k); j++)
        if (j != j0 && gi[j] < second) second = gi[j];
      const int64_t i = m->remeasure[b + q];
      const double yn2 = m->ynrm[i] * m->ynrm[i], e = eps * (m->ynrm[i] + cmax) * (m->ynrm[i] + cmax);
      const double u2 = (double)best + yn2 + e, l2 = (double)second + yn2 - e;
      m->lab[i] = (int32_t)j0;
      m->up[i] = sqrt(u2 > 0 ? u2 : 0);
      m->lo[i] = l2 > 0 ? sqrt(l2) : 0; /* k = 1: +inf */
    }
  }
  for (int64_t j = 0; j < k; j++) memcpy(m->cprev + (size_t)j * (size_t)r, C + (size_t)j * cs, (size_t)r * sizeof *C);
  m->fresh = 0;
  memcpy(labels, m->lab, (size_t)n * sizeof *labels);
  return IE_OK;
}

/* Serial: n·r additions, less than waking a team costs between OpenBLAS's calls. */
static ie_status cpu_update(ie_context *ctx, void *sess, const ie_mat *y, const int32_t *perm,
                            const int64_t *off, const ie_mat *c) {
  (void)ctx;
  cpu_km *m = sess;
  const int64_t k = c->rows, r = y->cols;
  const float *Y = (const float *)((const char *)y->buf + y->offset);
  float *C = (float *)((char *)c->buf + c->offset);
  double *acc = m->acc; /* made by the assignment that comes first */
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

const ie_mauve_ops ie__cpu_mauve_ops = {
    .zdt = IE_DT_F32,
    .begin = cpu_begin,
    .end = cpu_end,
    .restart = cpu_restart,
    .unit_rows = cpu_unit_rows,
    .covariance = cpu_covariance,
    .project = cpu_project,
    .assign = cpu_assign,
    .update = cpu_update,
};
