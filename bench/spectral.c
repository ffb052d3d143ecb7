/* The spectral cases: the Vendi score (q = 1) of one set, cosine kernel
 * (CF_VENDI) or rbf kernel with σ in `eps` (CF_VENDI_RBF), and of a batch of
 * small sets (CF_VENDI_BATCH).  Held against the GEMM roof: the Gram (or the
 * pairwise distances) and the tridiagonal reduction. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/* Points N(0, 0.5²) plus a shared rank-8 part with N(0, 1) weights (so the
 * score is not n). */
static void spectral_make(const compute_case *c, cinputs *in, uint64_t *s) {
  int64_t B = c->batch, n = c->n, d = c->d;
  int64_t rows = B * n, r = 8;
  float *basis = xmalloc((size_t)(r * d) * 4);
  for (int64_t i = 0; i < r * d; i++) basis[i] = (float)gauss(s);
  in->x = xmalloc((size_t)(rows * d) * 4);
  for (int64_t i = 0; i < rows; i++) {
    double w[8];
    for (int t = 0; t < r; t++) w[t] = gauss(s);
    for (int64_t j = 0; j < d; j++) {
      double v = 0.5 * gauss(s);
      for (int t = 0; t < r; t++) v += w[t] * basis[t * d + j];
      in->x[i * d + j] = (float)v;
    }
  }
  free(basis);
  if (c->fam == CF_VENDI_BATCH) in->scores = xmalloc((size_t)B * 8);
}

static void spectral_save(const char *dir, const compute_case *c, const cinputs *in) {
  save_matrix(dir, c, "x", in->x, c->batch * c->n, c->d); /* batch: [S, n, d] as [S*n, d] */
}

static void spectral_bind(ccall *a) {
  const compute_case *c = a->c;
  cinputs *in = a->in;
  if (c->fam == CF_VENDI_BATCH) {
    a->sh[0][0] = c->batch; a->sh[0][1] = c->n; a->sh[0][2] = c->d;
    host_tensor(&a->t[0], in->x, kDLFloat, 32, 3, a->sh[0]);
    a->sh[1][0] = c->batch; host_tensor(&a->t[1], in->scores, kDLFloat, 64, 1, a->sh[1]);
  } else {
    a->sh[0][0] = c->n; a->sh[0][1] = c->d; host_tensor(&a->t[0], in->x, kDLFloat, 32, 2, a->sh[0]);
  }
}

static ie_status spectral_call(ccall *a) {
  const compute_case *c = a->c;
  ie_vendi_options o;
  memset(&o, 0, sizeof o);
  o.size = sizeof o;
  o.q = 1.0;
  o.has_q = 1;
  if (c->fam == CF_VENDI_RBF) {
    o.kernel = IE_KERNEL_RBF;
    o.sigma = c->eps;
    return ie_vendi(a->ctx, &a->t[0], &o, &a->in->vres);
  }
  o.kernel = IE_KERNEL_COSINE;
  if (c->fam == CF_VENDI) return ie_vendi(a->ctx, &a->t[0], &o, &a->in->vres);
  return ie_vendi_batch(a->ctx, &a->t[0], &a->t[1], &o, &a->in->vres);
}

static double spectral_flop(const compute_case *c, const char **model) {
  double n = (double)c->n, d = (double)c->d;
  if (c->fam == CF_VENDI_RBF) {
    *model = "2·n²·d (pairwise distances) + (4/3)·n³ (tridiagonal reduction)";
    return 2.0 * n * n * d + 4.0 / 3.0 * n * n * n;
  }
  double r = n < d ? n : d;
  *model = "per set 2·n·d·min(n,d) (Gram) + (4/3)·min(n,d)³ (tridiagonal reduction)";
  return (double)c->batch * (2.0 * n * d * r + 4.0 / 3.0 * r * r * r);
}

static double spectral_check(const compute_case *c, const cinputs *in, double peak_mib,
                             char *buf, size_t cap, int64_t *iters) {
  (void)peak_mib;
  (void)iters;
  if (c->fam == CF_VENDI_BATCH) {
    snprintf(buf, cap, "score[0] %.6f, mean %.6f", in->scores[0], in->vres.value);
    return in->scores[0];
  }
  snprintf(buf, cap, "score %.6f (%s path)", in->vres.value,
           in->vres.path == IE_SPECTRAL_DUAL ? "dual" : "primal");
  return in->vres.value;
}

const compute_family SPECTRAL_FAMILY = {spectral_make, spectral_save, spectral_bind,
                                        spectral_call, spectral_flop, spectral_check};
