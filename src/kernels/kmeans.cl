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
 *   km_changed        how many labels differ from the last ones
 *   km_group_count, km_group_offsets, km_group_place
 *                     the rows grouped by cluster, in row order within
 *                     each (a counting sort over chunks of rows)
 *   km_update         c_j = mean of its rows (so grouped), summed in double
 *                     in row order, as the CPU
 *   km_inertia        Σ ‖y_i − c_{l_i}‖² in double
 *   km_histogram      the rows of a set in each cluster
 *   km_first_flag     the first row flagged (mauve_unit_rows' NaN or inf)
 * The reductions to one number (km_changed, km_inertia, km_first_flag) run
 * in one group, in a fixed order; so only that number leaves the device.
 * The k-means++ start is kmeans_seed.cl's.
 */
#include "vendor.h"
#include "widen.h"

#define KM_TILE 16
#define KM_GROUP 256 /* KM_TILE * KM_TILE; also the row kernels' group size */

/* part[0] = the sum of the group's part[0 .. KM_GROUP), item l's own in
 * part[l] (a fixed tree, so the same bits every launch); every item
 * passes it. */
#define KM_TREE_SUM(part, l)                        \
  do {                                              \
    BARRIER();                                      \
    for (ie_i64 h = KM_GROUP / 2; h > 0; h /= 2) {  \
      if ((l) < h) (part)[l] += (part)[(l) + h];    \
      BARRIER();                                    \
    }                                               \
  } while (0)


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
    KM_TREE_SUM(part, l);
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

/* The counting sort of the rows by label, stable, over chunks of `chunk`
 * rows (pos: chunks × k int32).  km_group_count: one item a chunk counts
 * its rows of each label.  km_group_offsets (one group): off[j] (k + 1) is
 * where cluster j's rows begin, and pos[c][j] where chunk c's rows of
 * cluster j go.  km_group_place: one item a chunk puts its rows there, in
 * row order. */
KERNEL void km_group_count(GLOBAL const ie_i32 *lab, ie_i64 n, ie_i64 k, ie_i64 chunk, GLOBAL ie_i32 *pos) {
  const ie_i64 c = GLOBAL_ID(), i0 = c * chunk;
  if (i0 >= n) return;
  const ie_i64 e = i0 + chunk < n ? i0 + chunk : n;
  GLOBAL ie_i32 *pc = pos + c * k;
  for (ie_i64 j = 0; j < k; j++) pc[j] = 0;
  for (ie_i64 i = i0; i < e; i++) pc[lab[i]]++;
}

KERNEL void km_group_offsets(GLOBAL ie_i32 *pos, ie_i64 chunks, ie_i64 k, GLOBAL ie_i64 *off) {
  const ie_i64 l = LOCAL_ID();
  for (ie_i64 j = l; j < k; j += KM_GROUP) {
    ie_i64 tot = 0;
    for (ie_i64 c = 0; c < chunks; c++) tot += pos[c * k + j];
    off[j + 1] = tot;
  }
  BARRIER();
  if (l == 0) {
    off[0] = 0;
    for (ie_i64 j = 0; j < k; j++) off[j + 1] += off[j];
  }
  BARRIER();
  for (ie_i64 j = l; j < k; j += KM_GROUP) {
    ie_i64 at = off[j];
    for (ie_i64 c = 0; c < chunks; c++) {
      const ie_i32 m = pos[c * k + j];
      pos[c * k + j] = (ie_i32)at;
      at += m;
    }
  }
}

KERNEL void km_group_place(GLOBAL const ie_i32 *lab, ie_i64 n, ie_i64 k, ie_i64 chunk, GLOBAL ie_i32 *pos,
                           GLOBAL ie_i32 *perm) {
  const ie_i64 c = GLOBAL_ID(), i0 = c * chunk;
  if (i0 >= n) return;
  const ie_i64 e = i0 + chunk < n ? i0 + chunk : n;
  GLOBAL ie_i32 *pc = pos + c * k;
  for (ie_i64 i = i0; i < e; i++) perm[pc[lab[i]]++] = (ie_i32)i;
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

/* One group: out[0] = the rows i with lab[i] != prev[i]. */
KERNEL void km_changed(GLOBAL const ie_i32 *lab, GLOBAL const ie_i32 *prev, ie_i64 n, GLOBAL ie_i64 *out) {
  LOCAL_ARRAY(ie_i64, part, KM_GROUP);
  const ie_i64 l = LOCAL_ID();
  ie_i64 m = 0;
  for (ie_i64 i = l; i < n; i += KM_GROUP) m += lab[i] != prev[i];
  part[l] = m;
  KM_TREE_SUM(part, l);
  if (l == 0) out[0] = part[0];
}

/* One group: out[0] = Σ_i ‖y_i − c_{lab_i}‖², each row's sum in double from
 * differences, the rows' in a fixed tree. */
KERNEL void km_inertia(GLOBAL const float *y, GLOBAL const float *c, GLOBAL const ie_i32 *lab, ie_i64 n,
                       ie_i64 r, GLOBAL double *out) {
  LOCAL_ARRAY(double, part, KM_GROUP);
  const ie_i64 l = LOCAL_ID();
  double s = 0;
  for (ie_i64 i = l; i < n; i += KM_GROUP) {
    GLOBAL const float *yi = y + i * r, *ci = c + (ie_i64)lab[i] * r;
    double a = 0;
    for (ie_i64 t = 0; t < r; t++) {
      const double d = (double)yi[t] - (double)ci[t];
      a += d * d;
    }
    s += a;
  }
  part[l] = s;
  KM_TREE_SUM(part, l);
  if (l == 0) out[0] = part[0];
}

/* One group: counts[set·k + j] (uint32) = the rows in [row0, row0 + rows)
 * with label j. */
KERNEL void km_histogram(GLOBAL const ie_i32 *lab, ie_i64 row0, ie_i64 rows, ie_i64 k, ie_i64 set,
                         GLOBAL ie_u32 *counts) {
  const ie_i64 l = LOCAL_ID();
  counts += set * k;
  for (ie_i64 j = l; j < k; j += KM_GROUP) counts[j] = 0;
  BARRIER();
  for (ie_i64 i = l; i < rows; i += KM_GROUP) ATOMIC_ADD_U32(&counts[lab[row0 + i]], 1);
}

/* One group: out[0] = the first i with flag[i] != 0, or −1. */
KERNEL void km_first_flag(GLOBAL const ie_i32 *flag, ie_i64 n, GLOBAL ie_i64 *out) {
  LOCAL_ARRAY(ie_i64, part, KM_GROUP);
  const ie_i64 l = LOCAL_ID();
  ie_i64 first = n;
  for (ie_i64 i = l; i < n; i += KM_GROUP)
    if (flag[i]) {
      first = i;
      break;
    }
  part[l] = first;
  BARRIER();
  for (ie_i64 h = KM_GROUP / 2; h > 0; h /= 2) {
    if (l < h && part[l + h] < part[l]) part[l] = part[l + h];
    BARRIER();
  }
  if (l == 0) out[0] = part[0] < n ? part[0] : -1;
}
