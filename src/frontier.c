/*
 * frontier.c — the divergence frontier of two histograms and its integrals
 * (docs/SPEC.md §8, steps 5–6; Pillutla et al., NeurIPS 2021 and JMLR 2023),
 * computed in the order mauve-text 0.4 computes them, so that the results
 * agree with it to rounding.
 */
#include <math.h>
#include <stdlib.h>

#include "mauve.h"

/* KL(a ‖ b) over the bins where both are non-zero; +inf where a_i > 0 = b_i. */
static double kl(const double *a, const double *b, int64_t k) {
  double s = 0;
  for (int64_t i = 0; i < k; i++) {
    if (a[i] == 0) continue;
    if (b[i] == 0) return INFINITY;
    s += a[i] * log(a[i] / b[i]);
  }
  return s;
}

/* The frontier integral 2·Σ [(p+q)/4 − ½ p q (log p − log q)/(p − q)]
 * (Liu et al., NeurIPS 2021); a bin with one side 0 adds the other / 4, one
 * with |p − q| <= 1e-8 adds nothing (as mauve-text). */
static double frontier_integral(const double *p, const double *q, int64_t k) {
  double t = 0;
  for (int64_t i = 0; i < k; i++) {
    const double a = p[i], b = q[i];
    if (a == 0 && b == 0) continue;
    if (a == 0) t += b / 4;
    else if (b == 0) t += a / 4;
    else if (fabs(a - b) > 1e-8) t += 0.25 * (a + b) - 0.5 * (a * b * (log(a) - log(b)) / (a - b));
  }
  return 2 * t;
}

/* Trapezoid area of y over x with the points ordered by x ascending, and
 * ties by y descending (the frontier's own order: as x grows, y falls). */
typedef struct {
  double x, y;
} pt;

static int by_x(const void *a, const void *b) {
  const pt *u = a, *v = b;
  if (u->x != v->x) return u->x < v->x ? -1 : 1;
  if (u->y != v->y) return u->y > v->y ? -1 : 1;
  return 0;
}

static double area(pt *pts, int64_t n) {
  qsort(pts, (size_t)n, sizeof *pts, by_x);
  double s = 0;
  for (int64_t i = 0; i + 1 < n; i++) s += (pts[i + 1].x - pts[i].x) * (pts[i].y + pts[i + 1].y) / 2.0;
  return s;
}

/* MAUVE of normalised p, q: the mean of the area under y(x) and under x(y). */
static double mauve_of(const double *p, const double *q, double *r, int64_t k, int64_t grid,
                       double c, pt *pts, double *curve) {
  const int64_t n = grid + 2;
  pts[0].x = 1;
  pts[0].y = 0; /* exp(−c·[0, inf]) */
  for (int64_t g = 0; g < grid; g++) {
    /* np.linspace(1e-6, 1 − 1e-6, grid): start + i·step, the last exactly the end */
    const double lo = 1e-6, hi = 1 - 1e-6;
    const double w = g == grid - 1 ? hi : lo + (double)g * ((hi - lo) / (double)(grid - 1));
    /* a bin where p and q agree is R's exactly, so equal histograms give KL 0 */
    for (int64_t i = 0; i < k; i++) r[i] = p[i] == q[i] ? p[i] : w * p[i] + (1 - w) * q[i];
    pts[g + 1].x = exp(-c * kl(q, r, k));
    pts[g + 1].y = exp(-c * kl(p, r, k));
  }
  pts[n - 1].x = 0;
  pts[n - 1].y = 1;
  if (curve)
    for (int64_t i = 0; i < n; i++) {
      curve[2 * i] = pts[i].x;
      curve[2 * i + 1] = pts[i].y;
    }
  const double a1 = area(pts, n);
  for (int64_t i = 0; i < n; i++) {
    const double t = pts[i].x;
    pts[i].x = pts[i].y;
    pts[i].y = t;
  }
  const double a2 = area(pts, n);
  return 0.5 * (a1 + a2);
}

void ie__frontier(const double *pc, const double *qc, int64_t k, int64_t grid, double scaling,
                  double *scratch, ie_mauve_scores *s, double *curve) {
  double *p = scratch, *q = scratch + k, *r = scratch + 2 * k;
  pt *pts = (pt *)(scratch + 3 * k);
  double sp = 0, sq = 0;
  for (int64_t i = 0; i < k; i++) {
    sp += pc[i];
    sq += qc[i];
  }
  for (int64_t i = 0; i < k; i++) {
    p[i] = pc[i] / sp;
    q[i] = qc[i] / sq;
  }
  s->mauve = mauve_of(p, q, r, k, grid, scaling, pts, curve);
  s->frontier_integral = frontier_integral(p, q, k);
  /* Krichevsky–Trofimov: + ½ in every bin before normalising */
  const double hp = sp + 0.5 * (double)k, hq = sq + 0.5 * (double)k;
  for (int64_t i = 0; i < k; i++) {
    p[i] = (pc[i] + 0.5) / hp;
    q[i] = (qc[i] + 0.5) / hq;
  }
  s->mauve_star = mauve_of(p, q, r, k, grid, scaling, pts, NULL);
  s->frontier_integral_star = frontier_integral(p, q, k);
  s->mauve_std = s->frontier_integral_std = s->mauve_star_std = s->frontier_integral_star_std = 0;
}
