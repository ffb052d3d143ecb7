/* The Sinkhorn cases: one problem between two point clouds (CF_SINKHORN; in
 * float32 tiles with single_precision, CF_SINKHORN_F32) and a batch of
 * problems given their cost matrices (CF_SINKHORN_BATCH).  Every
 * call runs max_iter iterations (tol 1e-300, never met).  No roof: the passes
 * are exp-bound, the peer ratio is the figure. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/* Clouds uniform in [0,1]^d, the second shifted by 0.25 in the first
 * coordinate. */
static void fill_clouds(float *x, int64_t n, float *y, int64_t m, int64_t d, uint64_t *s) {
  for (int64_t i = 0; i < n * d; i++) x[i] = (float)unif(s);
  for (int64_t i = 0; i < m * d; i++) y[i] = (float)(unif(s) + (i % d == 0 ? 0.25 : 0.0));
}

/* The batch's cost is the sqeuclidean cost of such clouds per problem;
 * uniform weights. */
static void sinkhorn_make(const compute_case *c, cinputs *in, uint64_t *s) {
  int64_t B = c->batch, n = c->n, m = c->m, d = c->d;
  if (c->fam != CF_SINKHORN_BATCH) {
    in->x = xmalloc((size_t)(n * d) * 4);
    in->y = xmalloc((size_t)(m * d) * 4);
    fill_clouds(in->x, n, in->y, m, d, s);
  } else {
    in->cost = xmalloc((size_t)(B * n * m) * 4);
    float *px = xmalloc((size_t)(n * d) * 4), *py = xmalloc((size_t)(m * d) * 4);
    for (int64_t bb = 0; bb < B; bb++) {
      fill_clouds(px, n, py, m, d, s);
      for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < m; j++) {
          double acc = 0;
          for (int64_t t = 0; t < d; t++) {
            double df = (double)px[i * d + t] - (double)py[j * d + t];
            acc += df * df;
          }
          in->cost[(bb * n + i) * m + j] = (float)acc;
        }
    }
    free(px);
    free(py);
  }
  in->a = xmalloc((size_t)n * 4);
  in->b = xmalloc((size_t)m * 4);
  for (int64_t i = 0; i < n; i++) in->a[i] = 1.0f / (float)n;
  for (int64_t j = 0; j < m; j++) in->b[j] = 1.0f / (float)m;
  in->sres = xmalloc((size_t)B * sizeof *in->sres);
}

static void sinkhorn_save(const char *dir, const compute_case *c, const cinputs *in) {
  if (c->fam != CF_SINKHORN_BATCH) {
    save_matrix(dir, c, "x", in->x, c->n, c->d);
    save_matrix(dir, c, "y", in->y, c->m, c->d);
  } else {
    save_matrix(dir, c, "cost", in->cost, c->batch * c->n, c->m); /* [B, n, m] as [B*n, m] */
  }
}

static void sinkhorn_bind(ccall *a) {
  const compute_case *c = a->c;
  cinputs *in = a->in;
  a->sh[0][0] = c->n; host_tensor(&a->t[0], in->a, kDLFloat, 32, 1, a->sh[0]);
  a->sh[1][0] = c->m; host_tensor(&a->t[1], in->b, kDLFloat, 32, 1, a->sh[1]);
  if (c->fam != CF_SINKHORN_BATCH) {
    a->sh[2][0] = c->n; a->sh[2][1] = c->d; host_tensor(&a->t[2], in->x, kDLFloat, 32, 2, a->sh[2]);
    a->sh[3][0] = c->m; a->sh[3][1] = c->d; host_tensor(&a->t[3], in->y, kDLFloat, 32, 2, a->sh[3]);
  } else {
    a->sh[2][0] = c->batch; a->sh[2][1] = c->n; a->sh[2][2] = c->m;
    host_tensor(&a->t[2], in->cost, kDLFloat, 32, 3, a->sh[2]);
  }
}

static ie_status sinkhorn_call(ccall *a) {
  const compute_case *c = a->c;
  ie_sinkhorn_options o;
  memset(&o, 0, sizeof o);
  o.size = sizeof o;
  o.epsilon = c->eps;
  o.max_iter = c->iters;
  o.tol = 1e-300; /* never met: every call runs max_iter iterations */
  o.metric = IE_COST_SQEUCLIDEAN;
  o.single_precision = c->fam == CF_SINKHORN_F32; /* the CPU runs double whatever */
  if (c->fam != CF_SINKHORN_BATCH)
    return ie_sinkhorn(a->ctx, &a->t[0], &a->t[1], NULL, &a->t[2], &a->t[3], &o, a->in->sres,
                       NULL, NULL, NULL);
  return ie_sinkhorn(a->ctx, &a->t[0], &a->t[1], &a->t[2], NULL, NULL, &o, a->in->sres, NULL,
                     NULL, NULL);
}

static double sinkhorn_flop(const compute_case *c, const char **model) {
  (void)c;
  *model = "none: exp-bound log-domain passes; peer ratio only";
  return 0;
}

/* Problem 0's iterations, <P, C> and marginal error, and the peak RSS (the
 * 200 MiB goal of sinkhorn-20k). */
static double sinkhorn_check(const compute_case *c, const cinputs *in, double peak_mib,
                             char *buf, size_t cap, int64_t *iters) {
  (void)c;
  *iters = in->sres[0].iterations;
  double value = in->sres[0].transport_cost;
  snprintf(buf, cap, "iterations %lld, <P,C> %.6g (problem 0), marginal error %.2g, "
           "peak RSS %.0f MiB", (long long)*iters, value, in->sres[0].marginal_error, peak_mib);
  return value;
}

const compute_family SINKHORN_FAMILY = {sinkhorn_make, sinkhorn_save, sinkhorn_bind,
                                        sinkhorn_call, sinkhorn_flop, sinkhorn_check};
