/*
 * demo_ops.c — the operations `infoest demo` runs, one library call each.
 */
#define _POSIX_C_SOURCE 200809L
#include "demo.h"

/* ---- Operations ----------------------------------------------------------------------- */

const demo_op demo_ops[] = {
    {"log-softmax", "", "log-softmax", D_LSM, IE_ENTROPY_SHANNON, IE_DIV_KL, 0},
    {"entropy", "shannon", "entropy shannon", D_ENT, IE_ENTROPY_SHANNON, IE_DIV_KL, 0},
    {"entropy", "renyi a=2", "entropy renyi a=2", D_ENT, IE_ENTROPY_RENYI, IE_DIV_KL, 2},
    {"nll", "", "nll", D_NLL, IE_ENTROPY_SHANNON, IE_DIV_KL, 0},
    {"divergence", "kl", "divergence kl", D_DIV, IE_ENTROPY_SHANNON, IE_DIV_KL, 0},
    {"divergence", "js", "divergence js", D_DIV, IE_ENTROPY_SHANNON, IE_DIV_JS, 0},
    {"divergence", "tv", "divergence tv", D_DIV, IE_ENTROPY_SHANNON, IE_DIV_TV, 0},
    {"divergence", "hellinger", "divergence hellinger", D_DIV, IE_ENTROPY_SHANNON, IE_DIV_HELLINGER, 0},
    {"divergence", "renyi a=2", "divergence renyi a=2", D_DIV, IE_ENTROPY_SHANNON, IE_DIV_RENYI, 2},
    {"vendi", "cosine q=1", "vendi 500x64 cosine", D_VENDI, IE_ENTROPY_SHANNON, IE_DIV_KL, 1},
    {"matrix-entropy", "rbf a=2", "matrix-ent 500x64 rbf", D_MENT, IE_ENTROPY_SHANNON, IE_DIV_KL, 2},
    {"sinkhorn", "200x200 eps=1", "sinkhorn 200x200", D_SINK, IE_ENTROPY_SHANNON, IE_DIV_KL, 0},
    {"knn-entropy", "2000x4 k=5", "knn-entropy 2000x4 k=5", D_KNN_ENT, IE_ENTROPY_SHANNON, IE_DIV_KL, 0},
};
const int demo_nops = (int)(sizeof demo_ops / sizeof demo_ops[0]);

/* A sample-based family: its one value into sm->mean. */
static ie_status run_family(ie_context *ctx, const demo_op *op, const demo_data *d,
                            ie_summary *sm) {
  const DLDataType f32 = cli_dt(kDLFloat, 32);
  ie_status st;
  switch (op->op) {
    case D_VENDI:
    case D_MENT: {
      int64_t shp[2] = {FAM_VENDI_N, FAM_VENDI_D};
      DLTensor x;
      demo_tensor2(&x, d->vx, shp, 2, f32);
      ie_spectral_result r;
      memset(&r, 0, sizeof r);
      if (op->op == D_VENDI) {
        ie_vendi_options o;
        memset(&o, 0, sizeof o);
        o.size = sizeof o;
        o.kernel = IE_KERNEL_COSINE;
        o.q = op->alpha;
        o.has_q = 1;
        st = ie_vendi(ctx, &x, &o, &r);
      } else {
        ie_matrix_entropy_options o;
        memset(&o, 0, sizeof o);
        o.size = sizeof o;
        o.kernel = IE_KERNEL_RBF;
        o.sigma = 8.0; /* about the distance within a cluster */
        o.alpha = op->alpha;
        o.has_alpha = 1;
        st = ie_matrix_entropy(ctx, &x, &o, &r);
      }
      sm->mean = r.value;
      return st;
    }
    case D_SINK: {
      int64_t wshp[1] = {FAM_SINK_N}, pshp[2] = {FAM_SINK_N, FAM_SINK_D};
      DLTensor a, b, x, y;
      demo_tensor2(&a, d->sa, wshp, 1, f32);
      demo_tensor2(&b, d->sb, wshp, 1, f32);
      demo_tensor2(&x, d->sx, pshp, 2, f32);
      demo_tensor2(&y, d->sy, pshp, 2, f32);
      ie_sinkhorn_options o;
      memset(&o, 0, sizeof o);
      o.size = sizeof o;
      o.epsilon = FAM_SINK_EPS;
      o.tol = 1e-7;
      o.max_iter = 5000;
      ie_sinkhorn_result r;
      memset(&r, 0, sizeof r);
      st = ie_sinkhorn(ctx, &a, &b, NULL, &x, &y, &o, &r, NULL, NULL, NULL);
      if (st == IE_OK && !r.converged) {
        sm->mean = NAN;
        return IE_INTERNAL; /* reported below as a failure to converge */
      }
      sm->mean = r.transport_cost;
      return st;
    }
    default: {
      int64_t shp[2] = {FAM_KNN_N, FAM_KNN_D};
      DLTensor x;
      demo_tensor2(&x, d->kx, shp, 2, f32);
      ie_knn_estimator_options o;
      memset(&o, 0, sizeof o);
      o.size = sizeof o;
      o.k = FAM_KNN_K;
      ie_knn_result r;
      memset(&r, 0, sizeof r);
      st = ie_knn_entropy(ctx, &x, &o, &r);
      sm->mean = r.estimate;
      return st;
    }
  }
}

/* Run `op` on the first `rows` rows of the data. */
ie_status demo_run_op(ie_context *ctx, const demo_op *op, const demo_data *d,
                        int64_t rows, void *out, int row_f32, ie_summary *sm) {
  if (IS_FAMILY(op->op)) {
    memset(sm, 0, sizeof *sm);
    return run_family(ctx, op, d, sm);
  }
  const DLDataType rdt = cli_dt(kDLFloat, row_f32 ? 32 : 64);
  int64_t shp[2] = {rows, d->V}, bshp[1] = {rows};
  DLTensor p, q, y, o;
  demo_tensor2(&p, d->p, shp, 2, cli_dt(kDLFloat, 32));
  demo_tensor2(&q, d->q, shp, 2, cli_dt(kDLFloat, 32));
  demo_tensor2(&y, d->labels, bshp, 1, cli_dt(kDLInt, 32));
  memset(sm, 0, sizeof *sm);
  switch (op->op) {
    case D_LSM: {
      demo_tensor2(&o, out, shp, 2, cli_dt(kDLFloat, 32));
      ie_softmax_options so = {sizeof so, 0};
      return ie_log_softmax(ctx, &p, &o, &so);
    }
    case D_ENT: {
      demo_tensor2(&o, out, bshp, 1, rdt);
      ie_entropy_options eo;
      memset(&eo, 0, sizeof eo);
      eo.size = sizeof eo;
      eo.kind = op->ek;
      eo.alpha = op->alpha;
      return ie_entropy(ctx, &p, &o, &eo, sm);
    }
    case D_NLL: {
      demo_tensor2(&o, out, bshp, 1, rdt);
      ie_nll_options no;
      memset(&no, 0, sizeof no);
      no.size = sizeof no;
      return ie_nll(ctx, &p, &y, &o, &no, sm);
    }
    default: {
      demo_tensor2(&o, out, bshp, 1, rdt);
      ie_divergence_options dv;
      memset(&dv, 0, sizeof dv);
      dv.size = sizeof dv;
      dv.alpha = op->alpha;
      return ie_divergence(ctx, op->dk, &p, &q, &o, &dv, sm);
    }
  }
}

size_t demo_op_bytes(const demo_op *op, const demo_data *d) {
  size_t m = (size_t)d->B * (size_t)d->V * sizeof(float);
  switch (op->op) {
    case D_LSM: return 2 * m; /* read and write */
    case D_ENT: return m;
    case D_NLL: return m + (size_t)d->B * 4;
    case D_DIV: return 2 * m;
    default: return 0; /* compute-bound: no GB/s */
  }
}
