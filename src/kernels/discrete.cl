/*
 * discrete.cl — the device kernels of discrete information (docs/SPEC.md §9),
 * written once for the OpenCL program (cmake/embed.cmake) and the CUDA module
 * (src/cuda/discrete.cu includes this file); see vendor.h.  The per-cell and
 * per-joint formulas are those of discrete.h, which the CPU backend shares.
 *
 * Launch shapes (chosen by the host code): work-groups of LOCAL_SIZE() a
 * power of two <= DISC_WG; every kernel loops (grid-stride) so that any
 * number of groups covers any size.  Every sum is taken in a fixed order
 * (a row or a column by one work-item, in the CPU's order; a work-group's
 * tree of fixed shape), so results are the same bits run after run.
 *
 * Scratch results go to one double array `d` at element offsets o_*; the
 * first-bad-index searches write one ie_i64 a work-group to `part`
 * (DISC_NONE: nothing found there), whose minimum disc_fold_min takes on
 * the device, so that one long crosses.
 *
 * BROJA (disc_broja) runs broja.h's solver one joint a work-item, each
 * work-item with its own slice of a global scratch buffer (no private
 * arrays: the sizes are known only at launch).
 */
#include "broja.h"
#include "discrete.h"

#define DISC_WG 256
#define DISC_NONE ((ie_i64)9223372036854775807)

/* Label i of an int32 or int64 array, widened. */
FN ie_i64 disc_label(GLOBAL const ie_u8 *b, ie_i32 dt, ie_i64 i) {
  if (dt == DISC_DT_I32) return (ie_i64)((GLOBAL const ie_i32 *)b)[i];
  return ((GLOBAL const ie_i64 *)b)[i];
}

/* Store v as element i of a float32 or float64 array. */
FN void disc_store(GLOBAL ie_u8 *b, ie_i32 dt, ie_i64 i, double v) {
  if (dt == DISC_DT_F64) ((GLOBAL double *)b)[i] = v;
  else ((GLOBAL float *)b)[i] = (float)v;
}

FN int disc_finite(double v) { return v == v && v != IE_INFINITY && v != -IE_INFINITY; }

/* Work-group reductions over sh[0 .. LOCAL_SIZE()) (every item calls them;
 * sh is free again on return).  The tree has a fixed shape. */
FN ie_i64 disc_group_min_i64(LOCAL ie_i64 *sh, ie_i64 v) {
  const ie_i64 l = LOCAL_ID();
  sh[l] = v;
  BARRIER();
  for (ie_i64 w = LOCAL_SIZE() / 2; w > 0; w /= 2) {
    if (l < w && sh[l + w] < sh[l]) sh[l] = sh[l + w];
    BARRIER();
  }
  const ie_i64 r = sh[0];
  BARRIER();
  return r;
}

/* op 0: sum, 1: min, 2: max. */
FN double disc_group_reduce(LOCAL double *sh, double v, ie_i32 op) {
  const ie_i64 l = LOCAL_ID();
  sh[l] = v;
  BARRIER();
  for (ie_i64 w = LOCAL_SIZE() / 2; w > 0; w /= 2) {
    if (l < w) {
      const double a = sh[l], b = sh[l + w];
      sh[l] = op == 0 ? a + b : op == 1 ? (b < a ? b : a) : (b > a ? b : a);
    }
    BARRIER();
  }
  const double r = sh[0];
  BARRIER();
  return r;
}

/* ---- Counting ------------------------------------------------------------------ */

/* Pair (i, j) of the count: 1 with *cell set when counted, 0 when a label is
 * the ignored one, −1 when a label is out of range (as the CPU backend). */
FN ie_i32 disc_pair(ie_i64 a, ie_i64 b, ie_i64 X, ie_i64 Y, ie_i32 has_ignore, ie_i64 ignore,
                    ie_i64 *cell) {
  if (has_ignore && (a == ignore || b == ignore)) return 0;
  if (a < 0 || a >= X || b < 0 || b >= Y) return -1;
  *cell = a * Y + b;
  return 1;
}

/* The check pass: part[group] = the smallest flat index i·k + j of a pair
 * with a label out of range among the group's rows. */
KERNEL void disc_count_check(GLOBAL const ie_u8 *xb, ie_i64 xoff, ie_i32 xdt, ie_i64 xs,
                             GLOBAL const ie_u8 *yb, ie_i64 yoff, ie_i32 ydt, ie_i64 ys,
                             ie_i64 n, ie_i64 k, ie_i64 X, ie_i64 Y, ie_i32 has_ignore,
                             ie_i64 ignore, GLOBAL ie_i64 *part) {
  LOCAL_ARRAY(ie_i64, sh, DISC_WG);
  GLOBAL const ie_u8 *x = xb + xoff;
  GLOBAL const ie_u8 *y = yb + yoff;
  ie_i64 first = DISC_NONE;
  for (ie_i64 i = GLOBAL_ID(); i < n && first == DISC_NONE; i += GLOBAL_SIZE()) {
    const ie_i64 a = disc_label(x, xdt, i * xs);
    for (ie_i64 j = 0; j < k; j++) {
      ie_i64 cell = 0;
      if (disc_pair(a, disc_label(y, ydt, i * ys + j), X, Y, has_ignore, ignore, &cell) < 0) {
        first = i * k + j;
        break;
      }
    }
  }
  const ie_i64 m = disc_group_min_i64(sh, first);
  if (LOCAL_ID() == 0) part[GROUP_ID()] = m;
}

/* The count pass: table[a·Y + b] += 1 with 64-bit atomics, when the check
 * found every label good (part[at], folded by disc_fold_min, is DISC_NONE;
 * read on the device, so that the host need not wait between the two).
 * An OpenCL device without 64-bit atomics has no such kernel (the host code
 * reports it). */
#if !defined(IE_KERNEL_OPENCL) || defined(cl_khr_int64_base_atomics)
KERNEL void disc_count_add(GLOBAL const ie_u8 *xb, ie_i64 xoff, ie_i32 xdt, ie_i64 xs,
                           GLOBAL const ie_u8 *yb, ie_i64 yoff, ie_i32 ydt, ie_i64 ys, ie_i64 n,
                           ie_i64 k, ie_i64 X, ie_i64 Y, ie_i32 has_ignore, ie_i64 ignore,
                           GLOBAL ie_u8 *tb, ie_i64 toff, GLOBAL const ie_i64 *part, ie_i64 at) {
  if (part[at] != DISC_NONE) return;
  GLOBAL const ie_u8 *x = xb + xoff;
  GLOBAL const ie_u8 *y = yb + yoff;
  GLOBAL ie_u64 *table = (GLOBAL ie_u64 *)(tb + toff);
  for (ie_i64 i = GLOBAL_ID(); i < n; i += GLOBAL_SIZE()) {
    const ie_i64 a = disc_label(x, xdt, i * xs);
    for (ie_i64 j = 0; j < k; j++) {
      ie_i64 cell = 0;
      if (disc_pair(a, disc_label(y, ydt, i * ys + j), X, Y, has_ignore, ignore, &cell) > 0)
        ATOMIC_ADD_U64(table + cell, 1);
    }
  }
}
#endif

/* ---- Table sums -------------------------------------------------------------------- */

/* part[group] = the smallest 4·i + code of a cell i that is NaN/inf
 * (code DISC_NONFINITE) or negative (DISC_NEGATIVE). */
KERNEL void disc_cells_check(GLOBAL const ie_u8 *tb, ie_i64 toff, ie_i32 dt, ie_i64 n,
                             GLOBAL ie_i64 *part) {
  LOCAL_ARRAY(ie_i64, sh, DISC_WG);
  GLOBAL const ie_u8 *t = tb + toff;
  ie_i64 first = DISC_NONE;
  for (ie_i64 i = GLOBAL_ID(); i < n; i += GLOBAL_SIZE()) {
    const double v = disc_load(t, dt, i);
    if (!disc_finite(v) || v < 0) {
      first = 4 * i + (disc_finite(v) ? DISC_NEGATIVE : DISC_NONFINITE);
      break;
    }
  }
  const ie_i64 m = disc_group_min_i64(sh, first);
  if (LOCAL_ID() == 0) part[GROUP_ID()] = m;
}

/* One work-item a row: d[o_sum + r] = Σ_c t[r, c] and, when want_max,
 * d[o_max + r] = max(0, max_c t[r, c]), in column order (the CPU's). */
KERNEL void disc_row_sums(GLOBAL const ie_u8 *tb, ie_i64 toff, ie_i32 dt, ie_i64 rows, ie_i64 Y,
                          GLOBAL double *d, ie_i64 o_sum, ie_i64 o_max, ie_i32 want_max) {
  GLOBAL const ie_u8 *t = tb + toff;
  for (ie_i64 r = GLOBAL_ID(); r < rows; r += GLOBAL_SIZE()) {
    double s = 0, m = 0;
    for (ie_i64 c = 0; c < Y; c++) {
      const double v = disc_load(t, dt, r * Y + c);
      s += v;
      m = v > m ? v : m;
    }
    d[o_sum + r] = s;
    if (want_max) d[o_max + r] = m;
  }
}

/* One work-item a (table, column) of `sets` tables of X rows: column sums
 * (and maxima) in row order. */
KERNEL void disc_col_sums(GLOBAL const ie_u8 *tb, ie_i64 toff, ie_i32 dt, ie_i64 sets, ie_i64 X,
                          ie_i64 Y, GLOBAL double *d, ie_i64 o_sum, ie_i64 o_max,
                          ie_i32 want_max) {
  GLOBAL const ie_u8 *t = tb + toff;
  for (ie_i64 q = GLOBAL_ID(); q < sets * Y; q += GLOBAL_SIZE()) {
    const ie_i64 s = q / Y, c = q - s * Y;
    double sum = 0, m = 0;
    for (ie_i64 r = 0; r < X; r++) {
      const double v = disc_load(t, dt, (s * X + r) * Y + c);
      sum += v;
      m = v > m ? v : m;
    }
    d[o_sum + q] = sum;
    if (want_max) d[o_max + q] = m;
  }
}

/* ---- PMI map and MI terms ------------------------------------------------------------ */

/* One work-group a row r of the table [X, Y]: each cell's PMI/nPMI from the
 * (unsmoothed) marginals d[o_rowm + r], d[o_colm + c] plus the smoothing
 * (kx = k·Y, ky = k·X), the asked kind stored to `out` when has_out, and the
 * row's min and max of that kind and of nPMI to d[o_stats + 4r ..]. */
KERNEL void disc_pmi(GLOBAL const ie_u8 *tb, ie_i64 toff, ie_i32 dt, ie_i64 X, ie_i64 Y,
                     ie_i32 kind, double min_count, double smooth, double logn, double kx,
                     double ky, GLOBAL double *d, ie_i64 o_rowm, ie_i64 o_colm, ie_i64 o_stats,
                     GLOBAL ie_u8 *ob, ie_i64 ooff, ie_i32 odt, ie_i32 has_out) {
  LOCAL_ARRAY(double, sh, DISC_WG);
  GLOBAL const ie_u8 *t = tb + toff;
  GLOBAL ie_u8 *out = ob + ooff;
  for (ie_i64 r = GROUP_ID(); r < X; r += NUM_GROUPS()) {
    const double cx = d[o_rowm + r] + kx;
    double mn = IE_INFINITY, mx = -IE_INFINITY, nmn = IE_INFINITY, nmx = -IE_INFINITY;
    for (ie_i64 c = LOCAL_ID(); c < Y; c += LOCAL_SIZE()) {
      const double raw = disc_load(t, dt, r * Y + c);
      double pmi, npmi;
      disc_pmi_cell(raw, raw + smooth, cx, d[o_colm + c] + ky, logn, min_count, &pmi, &npmi);
      const double v = disc_pmi_pick(kind, pmi, npmi);
      mn = v < mn ? v : mn;
      mx = v > mx ? v : mx;
      nmn = npmi < nmn ? npmi : nmn;
      nmx = npmi > nmx ? npmi : nmx;
      if (has_out) disc_store(out, odt, r * Y + c, v);
    }
    mn = disc_group_reduce(sh, mn, 1);
    mx = disc_group_reduce(sh, mx, 2);
    nmn = disc_group_reduce(sh, nmn, 1);
    nmx = disc_group_reduce(sh, nmx, 2);
    if (LOCAL_ID() == 0) {
      d[o_stats + 4 * r] = mn;
      d[o_stats + 4 * r + 1] = mx;
      d[o_stats + 4 * r + 2] = nmn;
      d[o_stats + 4 * r + 3] = nmx;
    }
  }
}

/* One work-group a row r of `rows` = sets·X: d[o_mi + r] = Σ_c of
 * disc_mi_term with the row's sum, its table's column sums and total. */
KERNEL void disc_mi_rows(GLOBAL const ie_u8 *tb, ie_i64 toff, ie_i32 dt, ie_i64 rows, ie_i64 X,
                         ie_i64 Y, GLOBAL double *d, ie_i64 o_rowsum, ie_i64 o_colsum,
                         ie_i64 o_n, ie_i64 o_mi) {
  LOCAL_ARRAY(double, sh, DISC_WG);
  GLOBAL const ie_u8 *t = tb + toff;
  for (ie_i64 r = GROUP_ID(); r < rows; r += NUM_GROUPS()) {
    const ie_i64 s = r / X;
    const double n = d[o_n + s], logn = log(n), rs = d[o_rowsum + r];
    double acc = 0;
    for (ie_i64 c = LOCAL_ID(); c < Y; c += LOCAL_SIZE())
      acc += disc_mi_term(disc_load(t, dt, r * Y + c), rs, d[o_colsum + s * Y + c], n, logn);
    acc = disc_group_reduce(sh, acc, 0);
    if (LOCAL_ID() == 0) d[o_mi + r] = acc;
  }
}

/* ---- PID -------------------------------------------------------------------------- */

/* The check pass: one work-item a joint b of B joints of n masses;
 * part[group] = the smallest 4·b + code of a joint that fails
 * disc_joint_check (code its DISC_* code) among the group's joints. */
KERNEL void disc_pid_check(GLOBAL const ie_u8 *jb, ie_i64 joff, ie_i32 dt, ie_i64 B, ie_i64 n,
                           GLOBAL ie_i64 *part) {
  LOCAL_ARRAY(ie_i64, sh, DISC_WG);
  GLOBAL const ie_u8 *j = jb + joff;
  ie_i64 first = DISC_NONE;
  for (ie_i64 b = GLOBAL_ID(); b < B && first == DISC_NONE; b += GLOBAL_SIZE()) {
    double total = 0;
    const ie_i32 code = disc_joint_check(j, dt, b * n, n, &total);
    if (code != DISC_OK) first = 4 * b + code;
  }
  const ie_i64 m = disc_group_min_i64(sh, first);
  if (LOCAL_ID() == 0) part[GROUP_ID()] = m;
}

/* One work-item a joint b of B joints of S1·S2·T masses, after the check
 * pass folded its verdict into part[o_verdict] (DISC_NONE: every joint is
 * fine; otherwise nothing is written): imin or MMI (measure) of the joint
 * to d[o_res + 7b ..] when has_res, and R, U1, U2, S to elements 4b .. 4b + 3
 * of `out` (float32/float64 odt, at byte offset ooff) when has_out. */
KERNEL void disc_pid(GLOBAL const ie_u8 *jb, ie_i64 joff, ie_i32 dt, ie_i64 B, ie_i64 S1,
                     ie_i64 S2, ie_i64 T, ie_i32 measure, GLOBAL const ie_i64 *part,
                     ie_i64 o_verdict, GLOBAL double *d, ie_i64 o_res, ie_i32 has_res,
                     GLOBAL ie_u8 *ob, ie_i64 ooff, ie_i32 odt, ie_i32 has_out) {
  if (part[o_verdict] != DISC_NONE) return;
  GLOBAL const ie_u8 *j = jb + joff;
  GLOBAL ie_u8 *out = ob + ooff;
  const ie_i64 n = S1 * S2 * T;
  for (ie_i64 b = GLOBAL_ID(); b < B; b += GLOBAL_SIZE()) {
    double total = 0, v[7];
    disc_joint_check(j, dt, b * n, n, &total); /* the total; the check passed */
    disc_pid_joint(j, dt, b * n, S1, S2, T, total, measure, v);
    if (has_res)
      for (int q = 0; q < 7; q++) d[o_res + 7 * b + q] = v[q];
    if (has_out)
      for (int q = 0; q < 4; q++) disc_store(out, odt, 4 * b + q, v[q]);
  }
}

/* BROJA (broja.h) of B joints of S1·S2·T masses, after the check pass
 * folded its verdict into part[o_verdict] (DISC_NONE: every joint is fine;
 * otherwise nothing is written).  Work-item i < slices owns scratch
 * w[i·words ..] and solves joints i, i + slices, ...: the values to
 * d[o_res + 7b ..] and the Newton steps to the ie_i64 after the 7·B values
 * when has_res, R, U1, U2, S to elements 4b .. 4b + 3 of `out`
 * (float32/float64 odt, at byte offset ooff) when has_out. */
KERNEL void disc_broja(GLOBAL const ie_u8 *jb, ie_i64 joff, ie_i32 dt, ie_i64 B, ie_i64 S1,
                       ie_i64 S2, ie_i64 T, GLOBAL const ie_i64 *part, ie_i64 o_verdict,
                       GLOBAL double *w, ie_i64 words, ie_i64 slices, GLOBAL double *d,
                       ie_i64 o_res, ie_i32 has_res, GLOBAL ie_u8 *ob, ie_i64 ooff, ie_i32 odt,
                       ie_i32 has_out) {
  const ie_i64 id = GLOBAL_ID();
  if (id >= slices || part[o_verdict] != DISC_NONE) return;
  GLOBAL const ie_u8 *j = jb + joff;
  GLOBAL ie_u8 *out = ob + ooff;
  GLOBAL double *mine = w + id * words;
  GLOBAL ie_i64 *steps = (GLOBAL ie_i64 *)(d + o_res + 7 * B);
  const ie_i64 n = S1 * S2 * T;
  for (ie_i64 b = id; b < B; b += slices) {
    double total = 0, v[7];
    disc_joint_check(j, dt, b * n, n, &total); /* the total; the check passed */
    const ie_i64 it = broja_joint(j, dt, b * n, S1, S2, T, total, mine, v);
    if (has_res) {
      for (int q = 0; q < 7; q++) d[o_res + 7 * b + q] = v[q];
      steps[b] = it;
    }
    if (has_out)
      for (int q = 0; q < 4; q++) disc_store(out, odt, 4 * b + q, v[q]);
  }
}

/* Pointwise MMI of three maps of n elements: r = min(i1, i2), u1 = i1 − r,
 * u2 = i2 − r, s = i12 − max(i1, i2) into the outputs whose bit o of `mask`
 * is set (bit 4 + o: that output is float64).  part[group]: the smallest
 * element where an input is NaN/inf. */
KERNEL void disc_pointwise(GLOBAL const ie_u8 *ab, ie_i64 aoff, ie_i32 adt, GLOBAL const ie_u8 *bb,
                           ie_i64 boff, ie_i32 bdt, GLOBAL const ie_u8 *cb, ie_i64 coff,
                           ie_i32 cdt, ie_i64 n, GLOBAL ie_u8 *o0, ie_i64 off0, GLOBAL ie_u8 *o1,
                           ie_i64 off1, GLOBAL ie_u8 *o2, ie_i64 off2, GLOBAL ie_u8 *o3,
                           ie_i64 off3, ie_i32 mask, GLOBAL ie_i64 *part) {
  LOCAL_ARRAY(ie_i64, sh, DISC_WG);
  GLOBAL const ie_u8 *a = ab + aoff;
  GLOBAL const ie_u8 *b = bb + boff;
  GLOBAL const ie_u8 *c = cb + coff;
  ie_i64 first = DISC_NONE;
  for (ie_i64 e = GLOBAL_ID(); e < n; e += GLOBAL_SIZE()) {
    const double x = disc_load(a, adt, e), y = disc_load(b, bdt, e), z = disc_load(c, cdt, e);
    if (!disc_finite(x) || !disc_finite(y) || !disc_finite(z)) {
      if (first == DISC_NONE) first = e;
      continue;
    }
    const double r = x < y ? x : y, big = x > y ? x : y;
    if (mask & 1) disc_store(o0 + off0, (mask & 16) ? DISC_DT_F64 : DISC_DT_F32, e, r);
    if (mask & 2) disc_store(o1 + off1, (mask & 32) ? DISC_DT_F64 : DISC_DT_F32, e, x - r);
    if (mask & 4) disc_store(o2 + off2, (mask & 64) ? DISC_DT_F64 : DISC_DT_F32, e, y - r);
    if (mask & 8) disc_store(o3 + off3, (mask & 128) ? DISC_DT_F64 : DISC_DT_F32, e, z - big);
  }
  const ie_i64 m = disc_group_min_i64(sh, first);
  if (LOCAL_ID() == 0) part[GROUP_ID()] = m;
}

/* ---- Folds: what crosses to the host ----------------------------------------------- */

/* One work-group: part[n] = the minimum of part[0 .. n) (the searches' per-
 * group first indices), so that one long crosses. */
KERNEL void disc_fold_min(GLOBAL ie_i64 *part, ie_i64 n) {
  LOCAL_ARRAY(ie_i64, sh, DISC_WG);
  ie_i64 m = DISC_NONE;
  for (ie_i64 g = LOCAL_ID(); g < n; g += LOCAL_SIZE()) m = part[g] < m ? part[g] : m;
  m = disc_group_min_i64(sh, m);
  if (LOCAL_ID() == 0) part[n] = m;
}

/* One work-group: the PMI map's per-row statistics d[o_stats + 4r ..] of X
 * rows folded to d[o_out .. o_out + 4): min, max, min of nPMI, max of nPMI. */
KERNEL void disc_fold_stats(GLOBAL double *d, ie_i64 o_stats, ie_i64 X, ie_i64 o_out) {
  LOCAL_ARRAY(double, sh, DISC_WG);
  double mn = IE_INFINITY, mx = -IE_INFINITY, nmn = IE_INFINITY, nmx = -IE_INFINITY;
  for (ie_i64 r = LOCAL_ID(); r < X; r += LOCAL_SIZE()) {
    const double a = d[o_stats + 4 * r], b = d[o_stats + 4 * r + 1], c = d[o_stats + 4 * r + 2],
                 e = d[o_stats + 4 * r + 3];
    mn = a < mn ? a : mn;
    mx = b > mx ? b : mx;
    nmn = c < nmn ? c : nmn;
    nmx = e > nmx ? e : nmx;
  }
  mn = disc_group_reduce(sh, mn, 1);
  mx = disc_group_reduce(sh, mx, 2);
  nmn = disc_group_reduce(sh, nmn, 1);
  nmx = disc_group_reduce(sh, nmx, 2);
  if (LOCAL_ID() == 0) {
    d[o_out] = mn;
    d[o_out + 1] = mx;
    d[o_out + 2] = nmn;
    d[o_out + 3] = nmx;
  }
}

/* Each table's total d[o_out + s] = Σ of its X row sums d[o_rs + s·X ..],
 * one item a table, in row order (as the CPU adds them). */
KERNEL void disc_fold_totals(GLOBAL double *d, ie_i64 o_rs, ie_i64 sets, ie_i64 X, ie_i64 o_out) {
  for (ie_i64 s = GLOBAL_ID(); s < sets; s += GLOBAL_SIZE()) {
    double n = 0;
    for (ie_i64 r = 0; r < X; r++) n += d[o_rs + s * X + r];
    d[o_out + s] = n;
  }
}

/* One work-group a table s of `sets`: d[o_out + s] = Σ of its X rows' MI
 * terms d[o_mi + s·X ..] (a tree of fixed shape), so that one double a
 * table crosses. */
KERNEL void disc_fold_mi(GLOBAL double *d, ie_i64 o_mi, ie_i64 sets, ie_i64 X, ie_i64 o_out) {
  LOCAL_ARRAY(double, sh, DISC_WG);
  for (ie_i64 s = GROUP_ID(); s < sets; s += NUM_GROUPS()) {
    double acc = 0;
    for (ie_i64 r = LOCAL_ID(); r < X; r += LOCAL_SIZE()) acc += d[o_mi + s * X + r];
    acc = disc_group_reduce(sh, acc, 0);
    if (LOCAL_ID() == 0) d[o_out + s] = acc;
  }
}
