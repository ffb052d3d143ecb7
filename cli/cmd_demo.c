/*
 * cmd_demo.c — `infoest demo`: synthetic logits (and point sets) made in
 * code from a fixed seed, every family of the library on every backend
 * available here, each compared with the CPU and timed.
 */
#define _POSIX_C_SOURCE 200809L
#include "cmd.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- Data ------------------------------------------------------------------------ */

typedef struct {
  uint64_t s;
} prng;

static uint64_t prng_next(prng *g) { /* splitmix64 */
  uint64_t z = (g->s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static double prng_unit(prng *g) { /* (0, 1) */
  return ((double)(prng_next(g) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

/* Two standard normals (Box–Muller). */
static void prng_normal2(prng *g, double *a, double *b) {
  double r = sqrt(-2.0 * log(prng_unit(g)));
  double t = 6.283185307179586 * prng_unit(g);
  *a = r * cos(t);
  *b = r * sin(t);
}

/* Sizes of the sample-based families: small, so that the demo stays within
 * a few seconds on the CPU. */
#define FAM_VENDI_N 500
#define FAM_VENDI_D 64
#define FAM_SINK_N 200
#define FAM_SINK_D 4
#define FAM_SINK_EPS 1.0
#define FAM_KNN_N 2000
#define FAM_KNN_D 4
#define FAM_KNN_K 5

typedef struct {
  int64_t B, V, masked_cols;
  uint64_t seed;
  float *p, *q;
  int32_t *labels;
  /* the sample-based families */
  float *vx;         /* [FAM_VENDI_N, FAM_VENDI_D]: 16 clusters, so the score is far from n */
  float *sa, *sb;    /* [FAM_SINK_N] weights */
  float *sx, *sy;    /* [FAM_SINK_N, FAM_SINK_D] point clouds, y shifted */
  float *kx;         /* [FAM_KNN_N, FAM_KNN_D] correlated Gaussian */
} demo_data;

/* p: logits with a per-row scale (flat to peaked rows); q: p plus noise;
 * every 8th row masks its last V/16 columns (-inf in both, probability 0);
 * labels: the argmax of p half of the time, else uniform over the unmasked
 * columns. */
static int make_data(demo_data *d) {
  size_t n = (size_t)d->B * (size_t)d->V;
  d->p = malloc(n * sizeof(float));
  d->q = malloc(n * sizeof(float));
  d->labels = malloc((size_t)d->B * sizeof(int32_t));
  if (!d->p || !d->q || !d->labels) return -1;
  prng g = {d->seed};
  d->masked_cols = d->V / 16;
  for (int64_t r = 0; r < d->B; r++) {
    double scale = 0.5 + 3.5 * prng_unit(&g);
    float *pr = d->p + r * d->V, *qr = d->q + r * d->V;
    for (int64_t k = 0; k < d->V; k++) {
      double z1, z2;
      prng_normal2(&g, &z1, &z2);
      pr[k] = (float)(scale * z1);
      qr[k] = (float)(scale * z1 + 0.7 * z2);
    }
    int64_t live = d->V;
    if (r % 8 == 0 && d->masked_cols > 0) {
      live = d->V - d->masked_cols;
      for (int64_t k = live; k < d->V; k++) pr[k] = qr[k] = -INFINITY;
    }
    int64_t y;
    if (prng_unit(&g) < 0.5) {
      y = 0;
      for (int64_t k = 1; k < live; k++)
        if (pr[k] > pr[y]) y = k;
    } else {
      y = (int64_t)(prng_unit(&g) * (double)live);
      if (y >= live) y = live - 1;
    }
    d->labels[r] = (int32_t)y;
  }

  d->vx = malloc((size_t)FAM_VENDI_N * FAM_VENDI_D * sizeof(float));
  d->sa = malloc((size_t)FAM_SINK_N * sizeof(float));
  d->sb = malloc((size_t)FAM_SINK_N * sizeof(float));
  d->sx = malloc((size_t)FAM_SINK_N * FAM_SINK_D * sizeof(float));
  d->sy = malloc((size_t)FAM_SINK_N * FAM_SINK_D * sizeof(float));
  d->kx = malloc((size_t)FAM_KNN_N * FAM_KNN_D * sizeof(float));
  if (!d->vx || !d->sa || !d->sb || !d->sx || !d->sy || !d->kx) return -1;
  /* A generator of their own, so that --rows / --cols do not change them. */
  g.s = d->seed ^ 0x5deece66dULL;
  double z1, z2;
  enum { CL = 16 };
  float centre[CL][FAM_VENDI_D];
  for (int c = 0; c < CL; c++)
    for (int k = 0; k < FAM_VENDI_D; k++) {
      prng_normal2(&g, &z1, &z2);
      centre[c][k] = (float)z1;
    }
  for (int i = 0; i < FAM_VENDI_N; i++)
    for (int k = 0; k < FAM_VENDI_D; k++) {
      prng_normal2(&g, &z1, &z2);
      d->vx[i * FAM_VENDI_D + k] = centre[i % CL][k] + (float)(0.4 * z1);
    }
  for (int i = 0; i < FAM_SINK_N; i++) {
    d->sa[i] = (float)(0.2 + prng_unit(&g));
    d->sb[i] = (float)(0.2 + prng_unit(&g));
    for (int k = 0; k < FAM_SINK_D; k++) {
      prng_normal2(&g, &z1, &z2);
      d->sx[i * FAM_SINK_D + k] = (float)z1;
      d->sy[i * FAM_SINK_D + k] = (float)(0.8 * z2 + 0.5);
    }
  }
  for (int i = 0; i < FAM_KNN_N; i++) {
    double prev = 0;
    for (int k = 0; k < FAM_KNN_D; k++) {
      prng_normal2(&g, &z1, &z2);
      prev = 0.6 * prev + z1;
      d->kx[i * FAM_KNN_D + k] = (float)prev;
    }
  }
  return 0;
}

static void tensor2(DLTensor *t, void *data, int64_t *shape, int ndim, DLDataType dt) {
  memset(t, 0, sizeof *t);
  t->data = data;
  t->device.device_type = kDLCPU;
  t->ndim = ndim;
  t->dtype = dt;
  t->shape = shape;
}

/* ---- Operations ----------------------------------------------------------------------- */

enum { D_LSM, D_ENT, D_NLL, D_DIV, D_VENDI, D_MENT, D_SINK, D_KNN_ENT };
#define IS_FAMILY(op) ((op) >= D_VENDI) /* one value from sample sets */

typedef struct {
  const char *family; /* "log-softmax", "entropy", ..., "vendi", "sinkhorn", "knn-entropy" */
  const char *variant;
  const char *label;  /* for the table */
  int op;
  ie_entropy_kind ek;
  ie_divergence_kind dk;
  double alpha;
} demo_op;

static const demo_op demo_ops[] = {
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
#define NOPS ((int)(sizeof demo_ops / sizeof demo_ops[0]))

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
      tensor2(&x, d->vx, shp, 2, f32);
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
      tensor2(&a, d->sa, wshp, 1, f32);
      tensor2(&b, d->sb, wshp, 1, f32);
      tensor2(&x, d->sx, pshp, 2, f32);
      tensor2(&y, d->sy, pshp, 2, f32);
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
      tensor2(&x, d->kx, shp, 2, f32);
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
static ie_status run_op(ie_context *ctx, const demo_op *op, const demo_data *d,
                        int64_t rows, void *out, int row_f32, ie_summary *sm) {
  if (IS_FAMILY(op->op)) {
    memset(sm, 0, sizeof *sm);
    return run_family(ctx, op, d, sm);
  }
  const DLDataType rdt = cli_dt(kDLFloat, row_f32 ? 32 : 64);
  int64_t shp[2] = {rows, d->V}, bshp[1] = {rows};
  DLTensor p, q, y, o;
  tensor2(&p, d->p, shp, 2, cli_dt(kDLFloat, 32));
  tensor2(&q, d->q, shp, 2, cli_dt(kDLFloat, 32));
  tensor2(&y, d->labels, bshp, 1, cli_dt(kDLInt, 32));
  memset(sm, 0, sizeof *sm);
  switch (op->op) {
    case D_LSM: {
      tensor2(&o, out, shp, 2, cli_dt(kDLFloat, 32));
      ie_softmax_options so = {sizeof so, 0};
      return ie_log_softmax(ctx, &p, &o, &so);
    }
    case D_ENT: {
      tensor2(&o, out, bshp, 1, rdt);
      ie_entropy_options eo;
      memset(&eo, 0, sizeof eo);
      eo.size = sizeof eo;
      eo.kind = op->ek;
      eo.alpha = op->alpha;
      return ie_entropy(ctx, &p, &o, &eo, sm);
    }
    case D_NLL: {
      tensor2(&o, out, bshp, 1, rdt);
      ie_nll_options no;
      memset(&no, 0, sizeof no);
      no.size = sizeof no;
      return ie_nll(ctx, &p, &y, &o, &no, sm);
    }
    default: {
      tensor2(&o, out, bshp, 1, rdt);
      ie_divergence_options dv;
      memset(&dv, 0, sizeof dv);
      dv.size = sizeof dv;
      dv.alpha = op->alpha;
      return ie_divergence(ctx, op->dk, &p, &q, &o, &dv, sm);
    }
  }
}

static size_t op_bytes(const demo_op *op, const demo_data *d) {
  size_t m = (size_t)d->B * (size_t)d->V * sizeof(float);
  switch (op->op) {
    case D_LSM: return 2 * m; /* read and write */
    case D_ENT: return m;
    case D_NLL: return m + (size_t)d->B * 4;
    case D_DIV: return 2 * m;
    default: return 0; /* compute-bound: no GB/s */
  }
}

/* ---- Backends and results ------------------------------------------------------------- */

typedef struct {
  ie_backend b;
  int available;
  int selected;
  ie_context *ctx;
  int row_f32; /* the backend writes per-row values as float32 only */
  char device[256];
  char reason[512];
} demo_backend;

typedef struct {
  int ran;       /* attempted */
  int ok;        /* succeeded */
  int unsupported; /* the backend has no such operation (not a failure) */
  char err[512];
  double value;  /* mean over rows (log-softmax: mean finite log-probability) */
  double maxrel; /* vs CPU; 0 for the CPU itself */
  int within;
  double ms;     /* median */
  int reps;
  double gbps;
} demo_result;

#define TOL 1e-5

/* |x - r| / max(|r|, 0.1): ≤ 1e-5 exactly when x is within docs/SPEC.md §1's
 * tolerance (1e-5 relative, or 1e-6 absolute near 0). */
static double rel_err(double x, double r) {
  if (x == r) return 0; /* also inf == inf */
  if (isnan(x) || isnan(r) || isinf(x) || isinf(r)) return INFINITY;
  double m = fabs(r) > 0.1 ? fabs(r) : 0.1;
  return fabs(x - r) / m;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void measure(demo_backend *be, const demo_op *op, const demo_data *d, void *out,
                    demo_result *res) {
  ie_summary sm;
  res->ran = 1;
  /* Warm-up on a few rows: kernels built, buffers made, untimed. */
  int64_t wrows = d->B < 8 ? d->B : 8;
  ie_status st = run_op(be->ctx, op, d, wrows, out, be->row_f32, &sm);
  if (st == IE_UNSUPPORTED && IS_FAMILY(op->op)) {
    res->unsupported = 1;
    snprintf(res->err, sizeof res->err, "%s", ie_errmsg(be->ctx));
    return;
  }
  if (st == IE_BAD_DTYPE && op->op != D_LSM && !IS_FAMILY(op->op) && !be->row_f32) {
    be->row_f32 = 1; /* a backend that writes per-row values as float32 only */
    st = run_op(be->ctx, op, d, wrows, out, 1, &sm);
  }
  double t0 = cli_now();
  if (st == IE_OK) st = run_op(be->ctx, op, d, d->B, out, be->row_f32, &sm); /* the result */
  double first = cli_now() - t0;
  if (st != IE_OK) {
    if (op->op == D_SINK && st == IE_INTERNAL && isnan(sm.mean))
      snprintf(res->err, sizeof res->err, "did not converge");
    else
      snprintf(res->err, sizeof res->err, "%s [%s]", ie_errmsg(be->ctx), ie_status_name(st));
    return;
  }
  res->ok = 1;
  if (op->op == D_LSM) {
    const float *o = out;
    double s = 0;
    size_t n = 0, all = (size_t)d->B * (size_t)d->V;
    for (size_t i = 0; i < all; i++)
      if (isfinite(o[i])) {
        s += o[i];
        n++;
      }
    res->value = n ? s / (double)n : NAN;
  } else {
    res->value = sm.mean;
  }
  enum { MAXREP = 15 };
  double t[MAXREP];
  t[0] = first;
  int reps = 1;
  double spent = first;
  /* More timed calls while they are quick: at least 3, up to 15 or about
   * 0.25 s in all.  A call slower than that is timed once. */
  while (first < 0.25 && reps < MAXREP && (reps < 3 || spent < 0.25) && !cli_interrupted) {
    double a = cli_now();
    st = run_op(be->ctx, op, d, d->B, out, be->row_f32, &sm);
    double e = cli_now() - a;
    if (st != IE_OK) {
      res->ok = 0;
      snprintf(res->err, sizeof res->err, "%s [%s]", ie_errmsg(be->ctx), ie_status_name(st));
      return;
    }
    t[reps++] = e;
    spent += e;
  }
  if (op->op != D_LSM && !IS_FAMILY(op->op) && be->row_f32) { /* widen to float64, backwards */
    float *f = out;
    double *dd = out;
    for (int64_t i = d->B - 1; i >= 0; i--) {
      float v = f[i];
      dd[i] = v;
    }
  }
  qsort(t, (size_t)reps, sizeof t[0], cmp_double);
  double med = reps % 2 ? t[reps / 2] : 0.5 * (t[reps / 2 - 1] + t[reps / 2]);
  res->ms = 1e3 * med;
  res->reps = reps;
  res->gbps = med > 0 ? (double)op_bytes(op, d) / med / 1e9 : 0;
}

/* ---- The command ------------------------------------------------------------------------ */

static int run_demo(const cli_command *cmd, const cli_args *a, const cli_common *c) {
  const char *name = cmd->name;
  if (c->out) return cli_usage_error(name, "demo writes no --out file (its data are built in)");
  demo_data d;
  memset(&d, 0, sizeof d);
  d.B = 512;
  d.V = 32000;
  d.seed = 20240601;
  int64_t v;
  int got;
  if ((got = cli_opt_int64(a, name, "--rows", &v)) < 0) return CLI_EXIT_USAGE;
  if (got) {
    if (v < 1 || v > (1 << 24)) return cli_usage_error(name, "--rows must lie in [1, 16777216]");
    d.B = v;
  }
  if ((got = cli_opt_int64(a, name, "--cols", &v)) < 0) return CLI_EXIT_USAGE;
  if (got) {
    if (v < 2 || v > (1 << 24)) return cli_usage_error(name, "--cols must lie in [2, 16777216]");
    d.V = v;
  }
  if ((got = cli_opt_int64(a, name, "--seed", &v)) < 0) return CLI_EXIT_USAGE;
  if (got) d.seed = (uint64_t)v;
  if ((double)d.B * (double)d.V > 4.0e8)
    return cli_usage_error(name, "--rows x --cols must stay below 4e8 elements");

  /* Backends. */
  demo_backend bes[3];
  const ie_backend order[3] = {IE_BACKEND_CPU, IE_BACKEND_CUDA, IE_BACKEND_OPENCL};
  int rc = CLI_EXIT_OK;
  double *ref_rows = NULL, *rows_buf = NULL;
  float *ref_mat = NULL, *mat_buf = NULL;
  demo_result *res = NULL;
  memset(bes, 0, sizeof bes);
  for (int i = 0; i < 3; i++) {
    demo_backend *be = &bes[i];
    be->b = order[i];
    be->selected = !c->backend_given || c->backend == IE_BACKEND_AUTO ||
                   order[i] == IE_BACKEND_CPU || order[i] == c->backend;
    if (!ie_backend_compiled(be->b)) {
      snprintf(be->reason, sizeof be->reason, "not compiled into this build");
      continue;
    }
    ie_context_options o;
    memset(&o, 0, sizeof o);
    o.size = sizeof o;
    o.backend = be->b;
    o.device = order[i] == c->backend ? c->device : 0;
    ie_status st = ie_context_create(&be->ctx, &o);
    if (st != IE_OK) {
      snprintf(be->reason, sizeof be->reason, "%s",
               be->ctx ? ie_errmsg(be->ctx) : ie_status_string(st));
      ie_context_destroy(be->ctx);
      be->ctx = NULL;
      continue;
    }
    be->available = 1;
    snprintf(be->device, sizeof be->device, "%s", ie_context_device_name(be->ctx));
  }
  if (!bes[0].available) {
    rc = cli_fail(CLI_EXIT_FAIL, name, "the cpu backend is not available: %s", bes[0].reason);
    goto done;
  }
  if (c->backend_given && c->backend != IE_BACKEND_AUTO) {
    for (int i = 0; i < 3; i++)
      if (bes[i].b == c->backend && !bes[i].available) {
        rc = cli_fail(CLI_EXIT_BACKEND, name, "backend %s is not available here: %s",
                      ie_backend_name(c->backend), bes[i].reason);
        goto done;
      }
  }

  double tg = cli_now();
  if (make_data(&d) != 0) {
    rc = cli_fail(CLI_EXIT_FAIL, name, "out of memory making %" PRId64 " x %" PRId64 " demo logits", d.B, d.V);
    goto done;
  }
  tg = cli_now() - tg;

  size_t nmat = (size_t)d.B * (size_t)d.V;
  ref_rows = malloc((size_t)d.B * sizeof(double));
  rows_buf = malloc((size_t)d.B * sizeof(double));
  ref_mat = malloc(nmat * sizeof(float));
  mat_buf = malloc(nmat * sizeof(float));
  res = calloc((size_t)NOPS * 3, sizeof *res);
  if (!ref_rows || !rows_buf || !ref_mat || !mat_buf || !res) {
    rc = cli_fail(CLI_EXIT_FAIL, name, "out of memory");
    goto done;
  }

  cli_progress pg;
  int navail = 0;
  for (int i = 0; i < 3; i++) navail += bes[i].available && bes[i].selected;
  progress_init(&pg, c->progress, (int64_t)NOPS * navail, "demo");
  int64_t step = 0;
  int all_ok = 1;
  double t_all = cli_now();
  for (int k = 0; k < NOPS && !cli_interrupted; k++) {
    const demo_op *op = &demo_ops[k];
    for (int i = 0; i < 3 && !cli_interrupted; i++) {
      demo_backend *be = &bes[i];
      if (!be->available || !be->selected) continue;
      demo_result *r = &res[k * 3 + i];
      void *out = op->op == D_LSM ? (void *)(i == 0 ? ref_mat : mat_buf)
                                  : (void *)(i == 0 ? ref_rows : rows_buf);
      measure(be, op, &d, out, r);
      if (r->unsupported && i > 0) {
        progress_update(&pg, ++step);
        continue;
      }
      if (!r->ok) {
        all_ok = 0;
        if (i == 0) break; /* no reference to compare with */
        progress_update(&pg, ++step);
        continue;
      }
      if (i == 0) {
        r->maxrel = 0;
        r->within = 1;
      } else if (!res[k * 3].ok) {
        r->maxrel = NAN;
        r->within = 0;
      } else {
        double m = 0;
        if (IS_FAMILY(op->op)) {
          m = rel_err(r->value, res[k * 3].value);
        } else if (op->op == D_LSM) {
          for (size_t e = 0; e < nmat; e++) {
            double x = rel_err(mat_buf[e], ref_mat[e]);
            if (!(x <= m)) m = x;
          }
        } else {
          for (int64_t e = 0; e < d.B; e++) {
            double x = rel_err(rows_buf[e], ref_rows[e]);
            if (!(x <= m)) m = x;
          }
        }
        r->maxrel = m;
        r->within = m <= TOL;
        if (!r->within) all_ok = 0;
      }
      progress_update(&pg, ++step);
    }
  }
  t_all = cli_now() - t_all;
  progress_end(&pg);
  if (cli_interrupted) {
    rc = cli_fail(CLI_EXIT_FAIL, name, "interrupted");
    goto done;
  }

  char ran[64] = "";
  for (int i = 0; i < 3; i++)
    if (bes[i].available && bes[i].selected) {
      size_t l = strlen(ran);
      snprintf(ran + l, sizeof ran - l, "%s%s", l ? "," : "", ie_backend_name(bes[i].b));
    }

  /* The demo is a table by default; JSON when asked. */
  if (cli_has(a, "--format") && c->json) {
    cli_json j;
    cj_init(&j);
    cj_obj_begin(&j, NULL);
    cj_str(&j, "command", "demo");
    cj_int(&j, "rows", d.B);
    cj_int(&j, "cols", d.V);
    cj_str(&j, "dtype", "float32");
    cj_int(&j, "seed", (int64_t)d.seed);
    cj_arr_begin(&j, "backends");
    for (int i = 0; i < 3; i++) {
      cj_obj_begin(&j, NULL);
      cj_str(&j, "name", ie_backend_name(bes[i].b));
      cj_bool(&j, "available", bes[i].available);
      if (bes[i].available) {
        cj_str(&j, "device", bes[i].device);
        cj_bool(&j, "ran", bes[i].selected);
      } else {
        cj_str(&j, "reason", bes[i].reason);
      }
      cj_obj_end(&j);
    }
    cj_arr_end(&j);
    cj_arr_begin(&j, "results");
    for (int k = 0; k < NOPS; k++)
      for (int i = 0; i < 3; i++) {
        const demo_result *r = &res[k * 3 + i];
        if (!r->ran) continue;
        cj_obj_begin(&j, NULL);
        cj_str(&j, "op", demo_ops[k].family);
        if (demo_ops[k].variant[0]) cj_str(&j, "variant", demo_ops[k].variant);
        cj_str(&j, "backend", ie_backend_name(bes[i].b));
        cj_bool(&j, "ok", r->ok);
        if (r->ok) {
          cj_num(&j, "value", r->value);
          cj_num(&j, "max_rel_err", r->maxrel);
          cj_bool(&j, "within_tolerance", r->within);
          cj_num(&j, "ms", r->ms);
          if (!IS_FAMILY(demo_ops[k].op)) cj_num(&j, "gb_per_s", r->gbps);
        } else if (r->unsupported) {
          cj_bool(&j, "unsupported", 1);
          cj_str(&j, "error", r->err);
        } else {
          cj_str(&j, "error", r->err);
        }
        cj_obj_end(&j);
      }
    cj_arr_end(&j);
    cj_num(&j, "tolerance", TOL);
    cj_bool(&j, "all_within_tolerance", all_ok);
    cj_num(&j, "seconds", t_all + tg);
    cj_str(&j, "backend", ran);
    cj_obj_end(&j);
    if (j.oom) {
      cj_free(&j);
      rc = cli_fail(CLI_EXIT_FAIL, name, "out of memory writing the result");
      goto done;
    }
    printf("%s\n", j.buf);
    cj_free(&j);
  } else {
    printf("infoest %s demo: %" PRId64 " x %" PRId64 " float32 logits p, q and int32 labels, seed %" PRIu64 "\n",
           ie_version_string(), d.B, d.V, d.seed);
    printf("(every 8th row masks its last %" PRId64 " columns with -inf: probability 0)\n\n", d.masked_cols);
    printf("  %-8s %-15s %s\n", "backend", "status", "device");
    for (int i = 0; i < 3; i++) {
      const demo_backend *be = &bes[i];
      printf("  %-8s %-15s %s\n", ie_backend_name(be->b),
             be->available ? (be->selected ? "ready" : "not asked") : "not available",
             be->available ? be->device : be->reason);
    }
    printf("\n  %-22s %-7s %20s %12s %4s %10s %8s\n", "operation", "backend", "value (mean, nats)",
           "max rel err", "ok", "time ms", "GB/s");
    printf("  %-22s %-7s %20s %12s %4s %10s %8s\n", "----------------------", "-------",
           "--------------------", "------------", "----", "----------", "--------");
    for (int k = 0; k < NOPS; k++) {
      int first = 1;
      for (int i = 0; i < 3; i++) {
        const demo_result *r = &res[k * 3 + i];
        if (!r->ran) continue;
        const char *lab = first ? demo_ops[k].label : "";
        first = 0;
        if (r->unsupported) {
          printf("  %-22s %-7s not supported on this backend\n", lab, ie_backend_name(bes[i].b));
          continue;
        }
        if (!r->ok) {
          printf("  %-22s %-7s FAILED: %s\n", lab, ie_backend_name(bes[i].b), r->err);
          continue;
        }
        char err[32];
        if (i == 0) snprintf(err, sizeof err, "reference");
        else if (isnan(r->maxrel)) snprintf(err, sizeof err, "n/a");
        else if (r->maxrel == 0) snprintf(err, sizeof err, "0");
        else snprintf(err, sizeof err, "%.1e", r->maxrel);
        char gb[32];
        if (IS_FAMILY(demo_ops[k].op)) snprintf(gb, sizeof gb, "-");
        else snprintf(gb, sizeof gb, "%.2f", r->gbps);
        printf("  %-22s %-7s %20.12g %12s %4s %10.2f %8s\n", lab, ie_backend_name(bes[i].b),
               r->value, err, i == 0 ? "" : (r->within ? "yes" : "NO"), r->ms, gb);
      }
    }
    printf("\n  value: the mean over rows (log-softmax: the mean finite log-probability), nats;\n"
           "  for the sample-based families one value: the Vendi score (500 float32 points in\n"
           "  16 clusters, d = 64), the matrix-based Renyi-2 entropy of their rbf kernel\n"
           "  (sigma 8), the Sinkhorn transport cost of one 200 x 200 problem (point clouds\n"
           "  in R^4, sqeuclidean, eps 1, tol 1e-7) and the Kozachenko-Leonenko entropy\n"
           "  of 2000 correlated Gaussian points in R^4 (k = 5); GB/s does not apply.\n"
           "  max rel err: max over rows (log-softmax: elements) of |x - cpu| / max(|cpu|, 0.1);\n"
           "  docs/SPEC.md's tolerance (1e-5 relative, or 1e-6 absolute near 0) is\n"
           "  max rel err <= 1e-5.\n"
           "  time: per call on host memory, after an untimed warm-up (GPU backends include\n"
           "  the host-device copies); the median of 3 to 15 calls, or one call when it\n"
           "  takes over 0.25 s.  GB/s: bytes of input and output moved per second.\n");
    printf("\n  %s in %.2f s (data made in %.2f s).\n",
           all_ok ? "All results agree with the CPU within docs/SPEC.md tolerance"
                  : "SOME RESULTS FAILED OR DISAGREE WITH THE CPU",
           t_all + tg, tg);
  }
  if (fflush(stdout) != 0 || ferror(stdout)) {
    rc = cli_fail(CLI_EXIT_FAIL, name, "cannot write to standard output");
    goto done;
  }
  if (!all_ok) {
    for (int k = 0; k < NOPS; k++)
      for (int i = 0; i < 3; i++) {
        const demo_result *r = &res[k * 3 + i];
        if (!r->ran || r->unsupported) continue;
        if (!r->ok)
          fprintf(stderr, "infoest demo: %s on %s failed: %s\n", demo_ops[k].label,
                  ie_backend_name(bes[i].b), r->err);
        else if (!r->within)
          fprintf(stderr, "infoest demo: %s on %s differs from the cpu: max rel err %.3g > %g\n",
                  demo_ops[k].label, ie_backend_name(bes[i].b), r->maxrel, TOL);
      }
    rc = CLI_EXIT_FAIL;
  }

done:
  for (int i = 0; i < 3; i++) ie_context_destroy(bes[i].ctx);
  free(d.p);
  free(d.q);
  free(d.labels);
  free(d.vx);
  free(d.sa);
  free(d.sb);
  free(d.sx);
  free(d.sy);
  free(d.kx);
  free(ref_rows);
  free(rows_buf);
  free(ref_mat);
  free(mat_buf);
  free(res);
  return rc;
}

static const cli_opt demo_opts[] = {
    {"--rows", "B", "rows of the built-in logits (default 512)"},
    {"--cols", "V", "columns, the vocabulary (default 32000)"},
    {"--seed", "S", "seed of the generator (default 20240601)"},
};

const cli_command cli_cmd_demo = {
    "demo",
    "every family on every backend here, on built-in data: values, agreement, times",
    "[--rows B] [--cols V] [--seed S]",
    "Makes 512 x 32000 float32 logits p and q (and labels) from a fixed seed, then\n"
    "runs log-softmax, entropy (Shannon, Renyi 2), nll and the divergences kl, js,\n"
    "tv, hellinger and renyi 2 on them, and on small built-in point sets a Vendi\n"
    "score (500 x 64, cosine), a matrix-based entropy (the same points, rbf), one\n"
    "Sinkhorn problem (200 x 200) and a kNN entropy (2000 x 4, k = 5), on every\n"
    "backend available here (cpu, cuda, opencl; one not compiled in or without a\n"
    "device is listed with the reason; an operation a backend lacks is listed as\n"
    "not supported there).  --rows and --cols size the logits only.\n"
    "Shows each value, its largest relative difference from the CPU's, and the\n"
    "time each took.  --backend B runs the CPU (the reference) and B only.\n"
    "Prints a table on stdout; --format json prints one JSON object instead.\n"
    "Exits 1 if any call fails or any backend disagrees with the CPU beyond the\n"
    "docs/SPEC.md tolerance.",
    "rows, cols, dtype, seed, backends [{name, available, device | reason}],\n"
    "results [{op, variant, backend, ok, value, max_rel_err, within_tolerance, ms,\n"
    "gb_per_s | error}], tolerance, all_within_tolerance, seconds, backend",
    "infoest demo --format text\n"
    "infoest demo --format json --backend cuda",
    demo_opts,
    (int)(sizeof demo_opts / sizeof demo_opts[0]),
    run_demo,
};
