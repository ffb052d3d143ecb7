/*
 * kmeans.cl — the device math of MAUVE (docs/SPEC.md §8, src/mauve.h), written
 * once for CUDA (src/cuda/mauve.cu includes this file) and OpenCL (embedded
 * by cmake/embed.cmake).  Every kernel is launched 1-D; the tiled products
 * use work-groups of KM_TILE² = 256 items, item l at (l / 16, l % 16) of its
 * tile.  Sums run in a fixed order, so a launch gives the same bits every
 * time:
 *   mauve_unit_rows   a row scaled to unit L2 norm (double), NaN/inf flagged
 *   mauve_col_mean    column means, rows summed in order (as the CPU)
 *   mauve_center      z ← z − μ
 *   mauve_syrk        scale · zᵀz in double (OpenCL; CUDA uses cublasDsyrk)
 *   mauve_project     y = z V in double, rounded to float (OpenCL; CUDA
 *                     uses cublasDgemm and km_to_float)
 *   km_sqnorm         ‖c_j‖² summed in double, rounded to float
 *   km_dots           G = Y Cᵀ in float (OpenCL; CUDA uses cublasSgemm)
 *   km_argmin         argmin_j fl(‖c_j‖²) − 2 G_ij, ties to the lowest j
 *   km_update         c_j = mean of its rows (given grouped by the host),
 *                     summed in double in row order, as the CPU
 */
#include "vendor.h"
#include "widen.h"

#define KM_TILE 16
#define KM_GROUP 256 /* KM_TILE * KM_TILE; also the row kernels' group size */


/* One work-group a row (groups loop over rows): z[row0 + i] = x_i / ‖x_i‖ in
 * double (a zero row stays zero); err[i] = 1 when the sum of squares is not
 * finite (a NaN or inf in the row). */
KERNEL void mauve_unit_rows(GLOBAL const ie_u8 *x, ie_i64 x_off, ie_i64 stride, ie_i64 rows,
                            ie_i64 d, int dt, GLOBAL double *z, ie_i64 row0, GLOBAL ie_i32 *err) {
  LOCAL_ARRAY(double, part, KM_GROUP);
  const ie_i64 l = LOCAL_ID();
  const ie_i64 esz = dt == 0 ? 4 : 2;
  for (ie_i64 i = GROUP_ID(); i < rows; i += NUM_GROUPS()) {
    GLOBAL const ie_u8 *row = x + x_off + i * stride * esz;
    double s = 0;
    for (ie_i64 j = l; j < d; j += KM_GROUP) {
      const double v = (double)widen_load_f(row, j, dt);
      s += v * v;
    }
    part[l] = s;
    BARRIER();
    for (ie_i64 h = KM_GROUP / 2; h > 0; h /= 2) {
      if (l < h) part[l] += part[l + h];
      BARRIER();
    }
    const double ss = part[0];
    BARRIER();
    const int bad = !(ss <= DBL_MAX);
    if (l == 0) err[i] = bad;
    const double nrm = sqrt(ss);
    GLOBAL double *out = z + (row0 + i) * d;
    for (ie_i64 j = l; j < d; j += KM_GROUP) {
      const double v = (double)widen_load_f(row, j, dt);
      out[j] = (!bad && nrm > 0) ? v / nrm : v;
    }
  }
}

KERNEL void mauve_col_mean(GLOBAL const double *z, ie_i64 n, ie_i64 d, GLOBAL double *mean) {
  const ie_i64 j = GLOBAL_ID();
  if (j >= d) return;
  double s = 0;
  for (ie_i64 i = 0; i < n; i++) s += z[i * d + j];
  mean[j] = s / (double)n;
}

KERNEL void mauve_center(GLOBAL double *z, ie_i64 n, ie_i64 d, GLOBAL const double *mean) {
  for (ie_i64 e = GLOBAL_ID(); e < n * d; e += GLOBAL_SIZE()) z[e] -= mean[e % d];
}

/* cov = scale · zᵀz (z: n × d), one KM_TILE² tile of cov a work-group. */
KERNEL void mauve_syrk(GLOBAL const double *z, ie_i64 n, ie_i64 d, double scale, GLOBAL double *cov) {
  LOCAL_ARRAY(double, ta, KM_GROUP);
  LOCAL_ARRAY(double, tb, KM_GROUP);
  const ie_i64 l = LOCAL_ID(), ty = l / KM_TILE, tx = l % KM_TILE;
  const ie_i64 nt = (d + KM_TILE - 1) / KM_TILE, g = GROUP_ID();
  const ie_i64 i0 = (g / nt) * KM_TILE, j0 = (g % nt) * KM_TILE;
  double acc = 0;
  for (ie_i64 t0 = 0; t0 < n; t0 += KM_TILE) {
    const ie_i64 row = t0 + ty;
    ta[l] = (row < n && i0 + tx < d) ? z[row * d + i0 + tx] : 0.0;
    tb[l] = (row < n && j0 + tx < d) ? z[row * d + j0 + tx] : 0.0;
    BARRIER();
    for (int t = 0; t < KM_TILE; t++) acc += ta[t * KM_TILE + ty] * tb[t * KM_TILE + tx];
    BARRIER();
  }
  if (i0 + ty < d && j0 + tx < d) cov[(i0 + ty) * d + j0 + tx] = acc * scale;
}

/* y = z V (z: n × d, V: d × r, double), rounded to float; tiles of y. */
KERNEL void mauve_project(GLOBAL const double *z, GLOBAL const double *v, ie_i64 n, ie_i64 d, ie_i64 r,
                          GLOBAL float *y) {
  LOCAL_ARRAY(double, ta, KM_GROUP);
  LOCAL_ARRAY(double, tb, KM_GROUP);
  const ie_i64 l = LOCAL_ID(), ty = l / KM_TILE, tx = l % KM_TILE;
  const ie_i64 nt = (r + KM_TILE - 1) / KM_TILE, g = GROUP_ID();
  const ie_i64 i0 = (g / nt) * KM_TILE, j0 = (g % nt) * KM_TILE;
  double acc = 0;
  for (ie_i64 t0 = 0; t0 < d; t0 += KM_TILE) {
    ta[l] = (i0 + ty < n && t0 + tx < d) ? z[(i0 + ty) * d + t0 + tx] : 0.0; /* z[i0+ty][t0+tx] */
    tb[l] = (t0 + ty < d && j0 + tx < r) ? v[(t0 + ty) * r + j0 + tx] : 0.0; /* V[t0+ty][j0+tx] */
    BARRIER();
    for (int t = 0; t < KM_TILE; t++) acc += ta[ty * KM_TILE + t] * tb[t * KM_TILE + tx];
    BARRIER();
  }
  if (i0 + ty < n && j0 + tx < r) y[(i0 + ty) * r + j0 + tx] = (float)acc;
}

KERNEL void km_to_float(GLOBAL const double *a, ie_i64 count, GLOBAL float *out) {
  for (ie_i64 e = GLOBAL_ID(); e < count; e += GLOBAL_SIZE()) out[e] = (float)a[e];
}

KERNEL void km_sqnorm(GLOBAL const float *c, ie_i64 k, ie_i64 r, GLOBAL float *cn) {
  const ie_i64 j = GLOBAL_ID();
  if (j >= k) return;
  double s = 0;
  for (ie_i64 t = 0; t < r; t++) {
    const double v = c[j * r + t];
    s += v * v;
  }
  cn[j] = (float)s;
}

/* G = Y Cᵀ (Y: the m × r rows of y from row row0, C: k × r), float; tiles of
 * G (m × k). */
KERNEL void km_dots(GLOBAL const float *y, ie_i64 row0, GLOBAL const float *c, ie_i64 m, ie_i64 k,
                    ie_i64 r, GLOBAL float *g) {
  y += row0 * r;
  LOCAL_ARRAY(float, ta, KM_GROUP);
  LOCAL_ARRAY(float, tb, KM_GROUP);
  const ie_i64 l = LOCAL_ID(), ty = l / KM_TILE, tx = l % KM_TILE;
  const ie_i64 nt = (k + KM_TILE - 1) / KM_TILE, gr = GROUP_ID();
  const ie_i64 i0 = (gr / nt) * KM_TILE, j0 = (gr % nt) * KM_TILE;
  float acc = 0;
  for (ie_i64 t0 = 0; t0 < r; t0 += KM_TILE) {
    ta[l] = (i0 + ty < m && t0 + tx < r) ? y[(i0 + ty) * r + t0 + tx] : 0.0f; /* Y[i0+ty][t0+tx] */
    tb[l] = (j0 + ty < k && t0 + tx < r) ? c[(j0 + ty) * r + t0 + tx] : 0.0f; /* C[j0+ty][t0+tx] */
    BARRIER();
    for (int t = 0; t < KM_TILE; t++) acc += ta[ty * KM_TILE + t] * tb[tx * KM_TILE + t];
    BARRIER();
  }
  if (i0 + ty < m && j0 + tx < k) g[(i0 + ty) * k + j0 + tx] = acc;
}

/* labels[row0 + i] = argmin_j cn[j] − 2 g[i][j] (float), ties to the lowest j. */
KERNEL void km_argmin(GLOBAL const float *g, ie_i64 m, ie_i64 k, GLOBAL const float *cn, ie_i64 row0,
                      GLOBAL ie_i32 *labels) {
  const ie_i64 i = GLOBAL_ID();
  if (i >= m) return;
  GLOBAL const float *gi = g + i * k;
  float best = cn[0] - 2.0f * gi[0];
  ie_i32 arg = 0;
  for (ie_i64 j = 1; j < k; j++) {
    const float v = cn[j] - 2.0f * gi[j];
    if (v < best) {
      best = v;
      arg = (ie_i32)j;
    }
  }
  labels[row0 + i] = arg;
}

/* c[j][t] = mean over m in [off[j], off[j+1]) of y[perm[m]][t], in double in
 * that order; an empty cluster keeps its centre.  One item per (j, t). */
KERNEL void km_update(GLOBAL const float *y, ie_i64 r, GLOBAL const ie_i32 *perm, GLOBAL const ie_i64 *off,
                      ie_i64 k, GLOBAL float *c) {
  const ie_i64 e = GLOBAL_ID();
  if (e >= k * r) return;
  const ie_i64 j = e / r, t = e % r, a = off[j], b = off[j + 1];
  if (a == b) return;
  double s = 0;
  for (ie_i64 m = a; m < b; m++) s += y[(ie_i64)perm[m] * r + t];
  c[e] = (float)(s / (double)(b - a));
}
