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

/* Rows at a time in the assignment: the block of dot products stays in cache. */
#define IE__KM_BLOCK 4096

static ie_status cpu_assign(ie_context *ctx, void *sess, const ie_mat *y, const ie_mat *c, int32_t *labels) {
  (void)sess;
  const int64_t n = y->rows, k = c->rows, r = y->cols;
  const float *Y = (const float *)((const char *)y->buf + y->offset);
  const float *C = (const float *)((const char *)c->buf + c->offset);
  float *cn = malloc((size_t)k * sizeof *cn);
  float *g = malloc((size_t)(n < IE__KM_BLOCK ? n : IE__KM_BLOCK) * (size_t)k * sizeof *g);
  if (!cn || !g) {
    free(cn);
    free(g);
    return ie__error(ctx, IE_OUT_OF_MEMORY, "ie_mauve: no host memory for the k-means assignment");
  }
  for (int64_t j = 0; j < k; j++) {
    double a = 0;
    for (int64_t t = 0; t < r; t++) {
      const double v = C[(size_t)j * (size_t)c->stride + (size_t)t];
      a += v * v;
    }
    cn[j] = (float)a;
  }
  for (int64_t b = 0; b < n; b += IE__KM_BLOCK) {
    const int64_t m = n - b < IE__KM_BLOCK ? n - b : IE__KM_BLOCK;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)k, (int)r, 1.0f,
                Y + (size_t)b * (size_t)y->stride, (int)y->stride, C, (int)c->stride, 0.0f, g, (int)k);
    /* serial: a few ms, and no OpenMP team to wake between OpenBLAS's calls.
     * Per row: the values into gi in place and their minimum (exact in any
     * order, so vectorised), then the first index holding it. */
    for (int64_t i = 0; i < m; i++) {
      float *gi = g + (size_t)i * (size_t)k;
      float best = INFINITY;
#pragma omp simd reduction(min : best)
      for (int64_t j = 0; j < k; j++) {
        const float v = cn[j] - 2.0f * gi[j];
        gi[j] = v;
        best = v < best ? v : best;
      }
      int64_t j0 = 0; /* the first block of 16 holding it, then the place */
      for (; j0 + 16 <= k; j0 += 16) {
        int hit = 0;
        for (int64_t j = j0; j < j0 + 16; j++) hit |= gi[j] == best;
        if (hit) break;
      }
      while (j0 < k - 1 && gi[j0] != best) j0++;
      labels[b + i] = (int32_t)j0;
    }
  }
  free(cn);
  free(g);
  return IE_OK;
}

/* Serial: n·r additions, less than waking a team costs between OpenBLAS's calls. */
static ie_status cpu_update(ie_context *ctx, void *sess, const ie_mat *y, const int32_t *perm,
                            const int64_t *off, const ie_mat *c) {
  (void)sess;
  const int64_t k = c->rows, r = y->cols;
  const float *Y = (const float *)((const char *)y->buf + y->offset);
  float *C = (float *)((char *)c->buf + c->offset);
  double *acc = malloc((size_t)r * sizeof *acc);
  if (!acc) return ie__error(ctx, IE_OUT_OF_MEMORY, "ie_mauve: no host memory for the centroid update");
  for (int64_t j = 0; j < k; j++) {
    if (off[j + 1] == off[j]) continue;
    memset(acc, 0, (size_t)r * sizeof *acc);
    for (int64_t m = off[j]; m < off[j + 1]; m++) {
      const float *yi = Y + (size_t)perm[m] * (size_t)y->stride;
      for (int64_t t = 0; t < r; t++) acc[t] += yi[t];
    }
    const double cnt = (double)(off[j + 1] - off[j]);
    for (int64_t t = 0; t < r; t++) C[(size_t)j * (size_t)c->stride + (size_t)t] = (float)(acc[t] / cnt);
  }
  free(acc);
  return IE_OK;
}

const ie_mauve_ops ie__cpu_mauve_ops = {
    .zdt = IE_DT_F32,
    .unit_rows = cpu_unit_rows,
    .covariance = cpu_covariance,
    .project = cpu_project,
    .assign = cpu_assign,
    .update = cpu_update,
};
