/*
 * knn_terms.h — the per-point terms of the k-nearest-neighbour estimators
 * (docs/SPEC.md §5) and their reduction to a few statistics, written once
 * for every backend: host C (src/knn.c, the CPU backend's path) and the GPU
 * kernel knn_reduce of knn.cl (CUDA C++ and OpenCL C).  src/knn.c turns the
 * statistics into the estimates; only they cross from a GPU to the host.
 *
 * A reduction reads one or two per-point vectors v, w (doubles) and, for
 * each point, a term t_i = knn_term(op, ...).  Its statistics
 * (KNN_STATS doubles):
 *   [0] Σ t_i over the finite terms     [1] count of infinite t_i
 *   [2] max t_i                          [3] min t_i
 *   [4] count of v_i = 0                 [5] first i with v_i = 0, −1 if none
 *   [6] count of w_i = 0                 [7] first i with w_i = 0, −1 if none
 * (the zero counts are the duplicate-point checks of the k-th distances).
 */
#ifndef IE_KERNELS_KNN_TERMS_H
#define IE_KERNELS_KNN_TERMS_H

#include "vendor.h"

#if !defined(IE_KERNEL_OPENCL) || defined(cl_khr_fp64)

/* Term codes (p[] are the reduction's parameters). */
#define KNN_T_ID 0   /* v */
#define KNN_T_LOGR 1 /* L = p0 + p1·(log v − log w); without w: p0 + p1·log v */
#define KNN_T_LME1 2 /* expm1(p2·(L − p3)) */
#define KNN_T_LME2 3 /* exp(p2·(L − p3) − p4) */
#define KNN_T_NNR 4  /* g(v) of the f-divergence `kind`, α = p0, β = p1 */
#define KNN_T_POW 5  /* v > 0: exp(p0·(log v − log p1)); 0 at v = 0 */
#define KNN_T_SQRT 6 /* √v */
#define KNN_T_KSG 7  /* ψ(v + 1) + ψ(w + 1) */
#define KNN_STATS 8

/* The ie_divergence_kind codes that knn_nnr_term knows (include/infoest.h;
 * src/knn.c checks that they agree). */
#define KNN_DIV_KL 0
#define KNN_DIV_REVERSE_KL 1
#define KNN_DIV_JEFFREYS 2
#define KNN_DIV_JS 4
#define KNN_DIV_TV 5
#define KNN_DIV_HELLINGER 6
#define KNN_DIV_CHI2 8
#define KNN_DIV_ALPHA 9
#define KNN_DIV_TSALLIS 11

/* Digamma ψ(x) for x > 0: the recurrence ψ(x) = ψ(x+1) − 1/x up to x ≥ 10,
 * then the asymptotic series log x − 1/(2x) − Σ B_2j/(2j x^2j). */
FN double knn_digamma(double x)
{
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

/* NNR: g(t) for E_y[g(p_x/p_y)] (docs/SPEC.md §3 kinds written as f-divergences). */
FN double knn_nnr_term(int kind, double t, double a, double b)
{
  if (kind == KNN_DIV_KL) return t > 0 ? t * log(t) : 0;
  if (kind == KNN_DIV_REVERSE_KL) return -log(t); /* +inf at t = 0 */
  if (kind == KNN_DIV_JEFFREYS) return t > 0 ? (t - 1) * log(t) : IE_INFINITY;
  if (kind == KNN_DIV_JS) {
    /* β KL(p‖m) + (1−β) KL(q‖m), m = βp + (1−β)q, over q: with u = βt + 1 − β,
     * β t log(t/u) − (1−β) log u. */
    const double u = b * t + (1 - b);
    return (t > 0 ? b * t * log(t / u) : 0) - (1 - b) * log(u);
  }
  if (kind == KNN_DIV_TV) return 0.5 * fabs(t - 1);
  if (kind == KNN_DIV_HELLINGER) {
    const double r = sqrt(t) - 1;
    return 0.5 * r * r;
  }
  if (kind == KNN_DIV_CHI2) return (t - 1) * (t - 1);
  if (kind == KNN_DIV_ALPHA) {
    /* (t^α − α t − (1 − α))/(α(α − 1)): Amari's (1 − Σ p^α q^(1−α))/(α(1−α))
     * when E_y[t] = 1, and continuous in α: α → 1 gives t log t − t + 1,
     * α → 0 gives −log t + t − 1. */
    if (a == 1) return (t > 0 ? t * log(t) : 0) - t + 1;
    if (a == 0) return -log(t) + t - 1;
    if (t == 0) return a < 0 ? IE_INFINITY : (a - 1) / (a * (a - 1));
    return (expm1(a * log(t)) - a * (t - 1)) / (a * (a - 1));
  }
  if (kind == KNN_DIV_TSALLIS) {
    /* (t^α − t)/(α − 1): Tsallis' (Σ p^α q^(1−α) − 1)/(α − 1) when
     * E_y[t] = 1; α → 1 gives t log t. */
    if (a == 1) return t > 0 ? t * log(t) : 0;
    if (t == 0) return (a > 0 ? 0.0 : a == 0 ? 1.0 : IE_INFINITY) / (a - 1);
    return (t * expm1((a - 1) * log(t))) / (a - 1);
  }
  return IE_NAN;
}

/* The term of one point (has_w: w is given). */
FN double knn_term(int op, int kind, int has_w, double v, double w, double p0, double p1,
                   double p2, double p3, double p4)
{
  if (op == KNN_T_ID) return v;
  if (op == KNN_T_NNR) return knn_nnr_term(kind, v, p0, p1);
  if (op == KNN_T_POW) return v > 0 ? exp(p0 * (log(v) - log(p1))) : 0;
  if (op == KNN_T_SQRT) return sqrt(v);
  if (op == KNN_T_KSG) return knn_digamma(v + 1) + knn_digamma(w + 1);
  const double L = p0 + p1 * (has_w ? log(v) - log(w) : log(v));
  if (op == KNN_T_LME1) return expm1(p2 * (L - p3));
  if (op == KNN_T_LME2) return exp(p2 * (L - p3) - p4);
  return L;
}

/* Neumaier's compensated sum (s, c), so the mean of N terms does not drift. */
FN void knn_kadd(double *s, double *c, double v)
{
  const double t = *s + v;
  if (fabs(*s) >= fabs(v)) *c += (*s - t) + v;
  else *c += (v - t) + *s;
  *s = t;
}

/* The running statistics of a share of the points: sum (s, c), infinite
 * count, max, min, zero counts and first zeros (as knn_terms.h's opening). */
typedef struct {
  double s, c, inf, mx, mn, zv, fv, zw, fw;
} knn_acc;

FN void knn_acc_init(knn_acc *a)
{
  a->s = 0;
  a->c = 0;
  a->inf = 0;
  a->mx = -IE_INFINITY;
  a->mn = IE_INFINITY;
  a->zv = 0;
  a->fv = -1;
  a->zw = 0;
  a->fw = -1;
}

FN void knn_acc_add(knn_acc *a, ie_i64 i, double t, double v, double w, int has_w)
{
  if (isinf(t)) a->inf += 1;
  else knn_kadd(&a->s, &a->c, t);
  a->mx = fmax(a->mx, t);
  a->mn = fmin(a->mn, t);
  if (v == 0) {
    if (a->fv < 0) a->fv = (double)i;
    a->zv += 1;
  }
  if (has_w && w == 0) {
    if (a->fw < 0) a->fw = (double)i;
    a->zw += 1;
  }
}

/* Merge b (the later points) into a. */
FN void knn_acc_merge(knn_acc *a, const knn_acc *b)
{
  knn_kadd(&a->s, &a->c, b->s);
  knn_kadd(&a->s, &a->c, b->c);
  a->inf += b->inf;
  a->mx = fmax(a->mx, b->mx);
  a->mn = fmin(a->mn, b->mn);
  if (a->fv < 0 || (b->fv >= 0 && b->fv < a->fv)) a->fv = b->fv;
  if (a->fw < 0 || (b->fw >= 0 && b->fw < a->fw)) a->fw = b->fw;
  a->zv += b->zv;
  a->zw += b->zw;
}

FN void knn_acc_out(const knn_acc *a, GLOBAL double *st)
{
  st[0] = a->s + a->c;
  st[1] = a->inf;
  st[2] = a->mx;
  st[3] = a->mn;
  st[4] = a->zv;
  st[5] = a->fv;
  st[6] = a->zw;
  st[7] = a->fw;
}

/* Noshad–Moon–Sekeh–Hero: the k nearest of y_i in x ∪ y (itself excluded)
 * are the first k of the merge of its k nearest in x (ax) and in y \ {y_i}
 * (ay), both sorted; on equal distance x comes first (its indices come
 * first in x ∪ y).  r_i = η N_i / (M_i + 1). */
FN double knn_nnr_ratio(GLOBAL const double *ax, GLOBAL const double *ay, ie_i64 k, double eta)
{
  ie_i64 a0 = 0, b0 = 0;
  while (a0 + b0 < k) {
    if (b0 >= k || (a0 < k && ax[a0] <= ay[b0])) a0++;
    else b0++;
  }
  return eta * (double)a0 / (double)(b0 + 1);
}

#endif /* fp64 */
#endif /* IE_KERNELS_KNN_TERMS_H */
