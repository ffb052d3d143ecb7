/* The kNN cases: exact k-NN of a point set (CF_KNN, self excluded), the KSG
 * mutual information of (x, y = x + noise) with d = 1 (CF_KSG), and the
 * Wang–Kulkarni–Verdú kNN KL divergence of two point sets (CF_KNN_DIV).
 * Exact kNN is held against the GEMM roof (the expanded form's inner
 * products); KSG and the divergence have the peer ratio only. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/* kNN points N(0, 1); KSG x ~ N(0, 1), y = x + N(0, 0.5²); the divergence's
 * y ~ N(0, 1.2²) shifted by 0.5 in the first coordinate. */
static void knn_make(const compute_case *c, cinputs *in, uint64_t *s) {
  int64_t n = c->n, m = c->m, d = c->d;
  switch (c->fam) {
  case CF_KNN:
    in->x = xmalloc((size_t)(n * d) * 4);
    for (int64_t i = 0; i < n * d; i++) in->x[i] = (float)gauss(s);
    in->idx = xmalloc((size_t)(n * c->k) * 8);
    in->dist = xmalloc((size_t)(n * c->k) * 4);
    break;
  case CF_KSG:
    in->x = xmalloc((size_t)n * 4);
    in->y = xmalloc((size_t)n * 4);
    for (int64_t i = 0; i < n; i++) {
      double v = gauss(s);
      in->x[i] = (float)v;
      in->y[i] = (float)(v + 0.5 * gauss(s));
    }
    break;
  default: /* CF_KNN_DIV */
    in->x = xmalloc((size_t)(n * d) * 4);
    in->y = xmalloc((size_t)(m * d) * 4);
    for (int64_t i = 0; i < n * d; i++) in->x[i] = (float)gauss(s);
    for (int64_t i = 0; i < m * d; i++)
      in->y[i] = (float)(1.2 * gauss(s) + (i % d == 0 ? 0.5 : 0.0));
    break;
  }
}

static void knn_save(const char *dir, const compute_case *c, const cinputs *in) {
  switch (c->fam) {
  case CF_KNN:
    save_matrix(dir, c, "x", in->x, c->n, c->d);
    break;
  case CF_KSG:
    save_matrix(dir, c, "x", in->x, c->n, 1);
    save_matrix(dir, c, "y", in->y, c->n, 1);
    break;
  default: /* CF_KNN_DIV */
    save_matrix(dir, c, "x", in->x, c->n, c->d);
    save_matrix(dir, c, "y", in->y, c->m, c->d);
    break;
  }
}

static void knn_bind(ccall *a) {
  const compute_case *c = a->c;
  cinputs *in = a->in;
  switch (c->fam) {
  case CF_KNN:
    a->sh[0][0] = c->n; a->sh[0][1] = c->d; host_tensor(&a->t[0], in->x, kDLFloat, 32, 2, a->sh[0]);
    a->sh[1][0] = c->n; a->sh[1][1] = c->k;
    host_tensor(&a->t[1], in->idx, kDLInt, 64, 2, a->sh[1]);
    host_tensor(&a->t[2], in->dist, kDLFloat, 32, 2, a->sh[1]);
    break;
  case CF_KSG:
    a->sh[0][0] = c->n; a->sh[0][1] = 1; host_tensor(&a->t[0], in->x, kDLFloat, 32, 2, a->sh[0]);
    host_tensor(&a->t[1], in->y, kDLFloat, 32, 2, a->sh[0]);
    break;
  default: /* CF_KNN_DIV */
    a->sh[0][0] = c->n; a->sh[0][1] = c->d; host_tensor(&a->t[0], in->x, kDLFloat, 32, 2, a->sh[0]);
    a->sh[1][0] = c->m; a->sh[1][1] = c->d; host_tensor(&a->t[1], in->y, kDLFloat, 32, 2, a->sh[1]);
    break;
  }
}

static ie_status knn_call(ccall *a) {
  const compute_case *c = a->c;
  if (c->fam == CF_KNN) {
    ie_knn_options o;
    memset(&o, 0, sizeof o);
    o.size = sizeof o;
    o.metric = IE_METRIC_EUCLIDEAN;
    o.exclude_self = 1;
    return ie_knn(a->ctx, &a->t[0], &a->t[0], c->k, &a->t[1], &a->t[2], &o);
  }
  ie_knn_estimator_options o;
  memset(&o, 0, sizeof o);
  o.size = sizeof o;
  o.k = c->k;
  if (c->fam == CF_KSG)
    return ie_knn_mutual_information(a->ctx, &a->t[0], &a->t[1], &o, &a->in->kres);
  return ie_knn_divergence(a->ctx, IE_KNN_DIV_KL, &a->t[0], &a->t[1], &o, &a->in->kres);
}

static double knn_flop(const compute_case *c, const char **model) {
  double n = (double)c->n, d = (double)c->d;
  switch (c->fam) {
  case CF_KNN:
    *model = "2·n²·d (the all-pairs inner products of the expanded form)";
    return 2.0 * n * n * d;
  case CF_KSG:
    *model = "none: d = 1 neighbour counting, no GEMM; peer ratio only";
    return 0;
  default: /* CF_KNN_DIV */
    *model = "none: kNN divergence (k-d tree / candidate search); peer ratio only";
    return 0;
  }
}

static double knn_check(const compute_case *c, const cinputs *in, double peak_mib, char *buf,
                        size_t cap, int64_t *iters) {
  (void)peak_mib;
  (void)iters;
  double value;
  switch (c->fam) {
  case CF_KNN:
    value = in->dist[(c->n - 1) * c->k + c->k - 1];
    snprintf(buf, cap, "idx[0] %lld, last 5-NN distance %.6g", (long long)in->idx[0], value);
    break;
  case CF_KSG:
    value = in->kres.estimate;
    snprintf(buf, cap, "MI %.6f nats", value);
    break;
  default: /* CF_KNN_DIV */
    value = in->kres.estimate;
    snprintf(buf, cap, "KL(x, y) %.6f nats (k = %lld)", value, (long long)c->k);
    break;
  }
  return value;
}

const compute_family KNN_FAMILY = {knn_make, knn_save, knn_bind, knn_call, knn_flop, knn_check};
