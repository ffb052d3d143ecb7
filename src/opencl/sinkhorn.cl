/*
 * sinkhorn.cl — Sinkhorn passes (src/sinkhorn.h) in double.  Every name here
 * starts with sk_.  Without cl_khr_fp64 the file defines nothing, and the
 * host reports the solver as unsupported on that device.
 *
 * One work-item a (problem, row): L = LSE_c((h_c − C_rc)/ε) by an online
 * (M, S, T) over the columns in order, so results are bit-identical run to
 * run; per-problem terms are summed by one work-item a problem in row order.
 */
#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable

#define SK_TERMS 6
#define SK_MEASURE 2
#define SK_CHECK 1

/* ie_dtype */
#define SK_DT_F32 0
#define SK_DT_F16 1
#define SK_DT_BF16 2

static inline double sk_load(global const uchar *b, long i, int dt) {
  if (dt == SK_DT_F16) return (double)vload_half((size_t)i, (global const half *)b);
  if (dt == SK_DT_BF16) return (double)as_float((uint)((global const ushort *)b)[i] << 16);
  if (dt == SK_DT_F32) return (double)((global const float *)b)[i];
  return ((global const double *)b)[i];
}

/* metric: 0 ‖x−y‖², 1 ½‖x−y‖², 2 ‖x−y‖ */
static inline double sk_dist(int metric, global const double *p, global const double *q, long d) {
  double s = 0;
  for (long k = 0; k < d; k++) {
    double t = p[k] - q[k];
    s += t * t;
  }
  return metric == 2 ? sqrt(s) : metric == 1 ? 0.5 * s : s;
}

/* Widen row r of the given cost to double; bad[r] = first non-finite column or −1. */
kernel void sk_convert(global const uchar *src, ulong off, int dt, long stride, long rows, long m,
                       global double *dst, global long *bad) {
  long r = get_global_id(0);
  if (r >= rows) return;
  global const uchar *base = src + off;
  long first = -1;
  for (long j = 0; j < m; j++) {
    double v = sk_load(base, r * stride + j, dt);
    dst[r * m + j] = v;
    if (first < 0 && !isfinite(v)) first = j;
  }
  bad[r] = first;
}

kernel void sk_build(global const double *x, global const double *y, long x_bs, long y_bs, long total,
                     long n, long m, long d, int metric, global double *C) {
  long e = get_global_id(0);
  if (e >= total) return;
  long p = e / (n * m), r = e - p * n * m, i = r / m, j = r - i * m;
  C[e] = sk_dist(metric, x + (p * x_bs + i) * d, y + (p * y_bs + j) * d, d);
}

/* CT[p, j, i] = C[p, i, j] */
kernel void sk_transpose(global const double *C, long total, long n, long m, global double *CT) {
  long e = get_global_id(0);
  if (e >= total) return;
  long p = e / (n * m), r = e - p * n * m, j = r / n, i = r - j * n;
  CT[e] = C[p * n * m + i * m + j];
}

kernel void sk_absmax(global const double *C, long Bc, long nm, global double *cmax) {
  long p = get_global_id(0);
  if (p >= Bc) return;
  double v = 0;
  for (long e = 0; e < nm; e++) v = fmax(v, fabs(C[p * nm + e]));
  cmax[p] = v;
}

kernel void sk_init_g(global double *g, global const double *lb, long total) {
  long e = get_global_id(0);
  if (e < total) g[e] = lb[e] == -INFINITY ? -INFINITY : 0.0;
}

/* One row of a pass (see src/sinkhorn.h for the modes and terms). */
kernel void sk_pass(long B, long R, long K, long d, int metric, int mode, double eps, double tau,
                    int use_mat, global const double *mat, long mat_bs,
                    global const double *rp, global const double *cp, long rp_bs, long cp_bs,
                    global const double *h, global double *pot, global const double *lw,
                    int use_save, global double *save, global double *rowt, global const uchar *active) {
  const long q = get_global_id(0);
  if (q >= B * R) return;
  const long b = q / R, r = q - b * R;
  if (mode != SK_MEASURE && !active[b]) return;
  const double inv_eps = 1.0 / eps;
  global const double *hb = h + b * K;
  global const double *crow = mat + b * mat_bs + r * K;
  global const double *rpt = rp + (b * rp_bs + r) * d, *cpts = cp + b * cp_bs * d;
  double M = -INFINITY, S = 0, T = 0;
  for (long c = 0; c < K; c++) {
    const double cost = use_mat ? crow[c] : sk_dist(metric, rpt, cpts + c * d, d);
    const double v = (hb[c] - cost) * inv_eps; /* −inf at zero mass */
    if (v == -INFINITY) continue;
    if (v > M) {
      const double sc = exp(M - v);
      S = S * sc + 1.0;
      T = T * sc + cost;
      M = v;
    } else {
      const double e = exp(v - M);
      S += e;
      T += e * cost;
    }
  }
  const double L = M + log(S);
  const double lwr = lw[q], wr = exp(lwr), old = pot[q];
  const int pos = lwr > -INFINITY;
  global double *t = rowt + q * SK_TERMS;
  if (mode == SK_MEASURE) {
    /* mu_r = exp(pot/ε + L): this side's marginal of the plan. */
    const double mu = exp(old * inv_eps + L);
    t[0] = fabs(mu - wr);
    t[1] = mu;
    t[2] = 0;
    t[3] = pos && mu > 0 ? mu * (old - eps * lwr) : 0;
    t[4] = pos ? (mu > 0 ? mu * log(mu / wr) : 0) - mu + wr : mu;
    t[5] = mu > 0 && S > 0 ? mu * (T / S) : 0;
    return;
  }
  /* new_r = ε log w_r − τ ε L_r */
  const double nw = pos ? eps * lwr - tau * eps * L : -INFINITY;
  pot[q] = nw;
  if (mode == SK_CHECK) {
    if (use_save) save[q] = old;
    t[0] = pos ? fabs(exp(old * inv_eps + L) - wr) : 0;
    t[1] = pos ? fabs(exp(nw * inv_eps + L) - wr) : 0;
    t[2] = pos ? fabs(nw - old) * inv_eps : 0;
    t[3] = t[4] = t[5] = 0;
  }
}

/* pterm[b, k] = Σ_r rowt[b, r, k] in row order (k = 2: max). */
kernel void sk_reduce(global const double *rowt, long B, long R, int all, global const uchar *active,
                      global double *pterm) {
  long b = get_global_id(0);
  if (b >= B) return;
  double acc[SK_TERMS] = {0, 0, 0, 0, 0, 0};
  if (all || active[b])
    for (long r = 0; r < R; r++)
      for (int k = 0; k < SK_TERMS; k++) {
        double v = rowt[(b * R + r) * SK_TERMS + k];
        acc[k] = k == 2 ? fmax(acc[k], v) : acc[k] + v;
      }
  for (int k = 0; k < SK_TERMS; k++) pterm[b * SK_TERMS + k] = acc[k];
}

kernel void sk_restore(global double *f, global const double *save, global const uchar *mask, long total,
                       long n) {
  long e = get_global_id(0);
  if (e < total && mask[e / n]) f[e] = save[e];
}

/* P_ij = exp((f_i + g_j − C_ij)/ε) */
kernel void sk_plan(long B, long n, long m, long d, int metric, int use_mat, global const double *C, long c_bs,
                    global const double *x, global const double *y, long x_bs, long y_bs,
                    global const double *f, global const double *g, double eps, global uchar *out, ulong off,
                    int f64, long stride) {
  long e = get_global_id(0);
  if (e >= B * n * m) return;
  long q = e / m, j = e - q * m, b = q / n, i = q - b * n;
  double c = use_mat ? C[b * c_bs + i * m + j] : sk_dist(metric, x + (b * x_bs + i) * d, y + (b * y_bs + j) * d, d);
  double p = exp((f[q] + g[b * m + j] - c) / eps);
  if (f64) ((global double *)(out + off))[q * stride + j] = p;
  else ((global float *)(out + off))[q * stride + j] = (float)p;
}
#endif
