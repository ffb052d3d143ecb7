/*
 * sinkhorn.c — entropic optimal transport (docs/SPEC.md §4): argument checks, the
 * iteration driver (ε-scaling, convergence, freezing converged problems),
 * and the results.  Backends only run passes (src/sinkhorn.h).
 *
 * Iteration k (from state (f, g)):
 *   f_i ← ε log a_i − τ ε LSE_j((g_j − C_ij)/ε)      side-0 pass
 *   g_j ← ε log b_j − τ ε LSE_i((f_i − C_ij)/ε)      side-1 pass
 * Convergence is checked every `check_every` iterations, fused into passes:
 * the side-1 pass before a check reports the column error of the plan it
 * leaves, the side-0 pass of the check reads the row error of that same plan
 * (before its own update).  A problem that meets the rule gets its f put
 * back, so the returned potentials are exactly the checked plan, and stops
 * (later passes skip it).  A backend with ie_sk_ops.decide (the GPUs) applies
 * the same rule (sk_stops) in its workspace: a check then reads one word.
 *
 * Results come from two MEASURE passes over the returned plan:
 *   transport_cost = Σ_ij P_ij C_ij
 *   objective      = ⟨P,C⟩ + ε KL(P‖a⊗b) [+ ρ KL(P1‖a) + ρ KL(Pᵀ1‖b)]
 * where, with r = P1, c = Pᵀ1 and log P_ij = (f_i + g_j − C_ij)/ε,
 *   ⟨P,C⟩ + ε KL(P‖a⊗b) = Σ_i r_i (f_i − ε log a_i) + Σ_j c_j (g_j − ε log b_j)
 *                          − ε (Σ P − 1).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "sinkhorn.h"
#include "kernels/sinkhorn_terms.h" /* sk_stops: the stopping rule the GPUs apply too */
#undef FN /* vendor.h's qualifier of shared functions; FN below names this file's entry point */

/* A call into the backend's Sinkhorn table (`ops` in scope), through the
 * fault-injection hook like every other backend call (src/internal.h). */
#define SK_CALL(call, ...)                                                     \
  (ie__fault() ? ie__error(ctx, IE_BACKEND_FAILURE,                            \
                           "injected fault: %s backend call 'sinkhorn.%s' failed", \
                           ctx->ops->name, #call)                              \
               : ops->call(ctx, __VA_ARGS__))

static const char *const FN = "ie_sinkhorn";

#define CHECK(expr)             \
  do {                          \
    ie_status s_ = (expr);      \
    if (s_ != IE_OK) return s_; \
  } while (0)

/* ---- Tensors ------------------------------------------------------------------ */

/* An input of shape [n, k] (shared) or [B, n, k]; `vec`: [n] or [B, n]. */
typedef struct {
  ie__arg arg;    /* the [rows, cols] view */
  DLTensor view;  /* 3-D inputs flattened to 2-D */
  int64_t shape[2], strides[2];
  int64_t batch;  /* 0: shared (no batch dimension) */
  int64_t n, k;   /* per problem */
} sk_in;

/* Check `t` as [n, k] or [B, n, k] (vec: [n] or [B, n], k = 1 then). */
static ie_status check_in(ie_context *ctx, sk_in *in, const char *name,
                          const DLTensor *t, int vec, unsigned dtypes) {
  memset(in, 0, sizeof *in);
  if (!t) return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: tensor '%s' is NULL", FN, name);
  const int full = vec ? 2 : 3;
  if (t->ndim != full && t->ndim != full - 1)
    return ie__error(ctx, IE_BAD_SHAPE, "%s: tensor '%s' must be %s; it has %d dimensions", FN,
                     name, vec ? "[n] or [B, n]" : "[n, k] or [B, n, k]", t->ndim);
  if (!t->shape) return ie__error(ctx, IE_BAD_SHAPE, "%s: tensor '%s' has no shape", FN, name);
  in->view = *t;
  if (vec) {
    /* [n] is one shared row; [B, n] is B rows. */
    CHECK(ie__check_matrix(ctx, &in->arg, FN, name, t, dtypes));
    in->batch = t->ndim == 2 ? in->arg.m.rows : 0;
    in->n = in->arg.m.cols;
    in->k = 1;
    return IE_OK;
  }
  if (t->ndim == 3) {
    for (int i = 0; i < 3; i++)
      if (t->shape[i] < 0)
        return ie__error(ctx, IE_BAD_SHAPE, "%s: tensor '%s' has a negative dimension", FN, name);
    int64_t B = t->shape[0], n = t->shape[1], k = t->shape[2];
    int64_t s1 = t->strides ? t->strides[1] : k, s2 = t->strides ? t->strides[2] : 1;
    int64_t s0 = t->strides ? t->strides[0] : n * k;
    if (B > 1 && n > 0 && s0 != n * s1)
      return ie__error(ctx, IE_BAD_SHAPE,
                       "%s: tensor '%s' has batch stride %lld; it must be n·(row stride) = %lld "
                       "(problems stored one after another)",
                       FN, name, (long long)s0, (long long)(n * s1));
    in->shape[0] = B * n;
    in->shape[1] = k;
    in->strides[0] = s1;
    in->strides[1] = s2;
    in->view.ndim = 2;
    in->view.shape = in->shape;
    in->view.strides = in->strides;
    in->batch = B;
  }
  CHECK(ie__check_matrix(ctx, &in->arg, FN, name, &in->view, dtypes));
  in->n = t->ndim == 3 ? t->shape[1] : in->arg.m.rows;
  in->k = in->arg.m.cols;
  return IE_OK;
}

/* The whole [rows, cols] view as host doubles, compact. */
static ie_status read_all(ie_context *ctx, const ie__arg *a, double *out) {
  const int64_t rows = a->m.rows, cols = a->m.cols;
  const size_t esz = ie__dtype_size(a->m.dtype);
  if (rows == 0 || cols == 0) return IE_OK;
  const char *src = a->host;
  char *tmp = NULL;
  int64_t stride = a->host_stride;
  if (!a->on_host) {
    size_t span = ((size_t)(rows - 1) * (size_t)a->m.stride + (size_t)cols) * esz;
    tmp = ie__malloc(span);
    if (!tmp) return ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory to read tensor '%s'", FN, a->name);
    ie_status s = IE__BE(ctx, download, tmp, a->m.buf, a->m.offset, span);
    if (s != IE_OK) {
      free(tmp);
      return s;
    }
    src = tmp;
    stride = a->m.stride;
  }
  for (int64_t r = 0; r < rows; r++)
    for (int64_t c = 0; c < cols; c++)
      out[r * cols + c] = ie__load_double(src + ((size_t)r * (size_t)stride + (size_t)c) * esz, a->m.dtype);
  free(tmp);
  return IE_OK;
}

/* Does an input's batch agree with B?  (0 or 1: shared.) */
static int batch_ok(int64_t batch, int64_t B) { return batch <= 1 || batch == B; }
static int64_t batch_rows(int64_t batch, int64_t n) { return batch > 1 ? n : 0; }

/* ---- Weights ------------------------------------------------------------------ */

/* The error for weights `w`: problem p, point i (value x) is bad, or, with
 * i = n, the problem's total `tot` is (zero, or it overflows). */
static ie_status weight_error(ie_context *ctx, const sk_in *w, int64_t p, int64_t i, double x, double tot) {
  const char *name = w->arg.name;
  if (i < w->n) {
    ie__locate(ctx, name, -1, w->batch ? p : i, w->batch ? i : -1);
    if (isnan(x) || isinf(x))
      return ie__error(ctx, IE_NONFINITE, "%s: tensor '%s' problem %lld, point %lld: %s weight", FN, name,
                       (long long)p, (long long)i, isnan(x) ? "NaN" : "an infinite");
    return ie__error(ctx, IE_NEGATIVE, "%s: tensor '%s' problem %lld, point %lld: negative mass %g", FN, name,
                     (long long)p, (long long)i, x);
  }
  ie__locate(ctx, name, -1, w->batch ? p : -1, -1);
  if (!(tot > 0))
    return ie__error(ctx, IE_EMPTY_ROW, "%s: tensor '%s' problem %lld has zero total mass%s", FN, name,
                     (long long)p, w->n == 0 ? " (it has no points)" : "");
  return ie__error(ctx, IE_NONFINITE, "%s: tensor '%s' problem %lld: the total mass overflows", FN, name,
                   (long long)p);
}

/* Read weights [Bw, n], check them, and write log of the normalised weights
 * for each of the B problems into lw [B·n]. */
static ie_status read_weights(ie_context *ctx, const sk_in *w, int64_t B, double *lw) {
  const int64_t Bw = w->batch ? w->batch : 1, n = w->n;
  double *v = ie__malloc((size_t)(Bw * n) * sizeof *v);
  if (!v) return ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory for '%s'", FN, w->arg.name);
  ie_status s = read_all(ctx, &w->arg, v);
  for (int64_t p = 0; s == IE_OK && p < Bw; p++) {
    double tot = 0;
    for (int64_t i = 0; s == IE_OK && i < n; i++) {
      double x = v[p * n + i];
      if (isnan(x) || isinf(x) || x < 0) s = weight_error(ctx, w, p, i, x, 0);
      tot += x;
    }
    if (s == IE_OK && (!(tot > 0) || isinf(tot))) s = weight_error(ctx, w, p, n, 0, tot);
    for (int64_t i = 0; s == IE_OK && i < n; i++) v[p * n + i] = log(v[p * n + i] / tot);
  }
  for (int64_t b = 0; s == IE_OK && b < B; b++)
    memcpy(lw + b * n, v + (Bw > 1 ? b : 0) * n, (size_t)n * sizeof *v);
  free(v);
  return s;
}

/* One element of a checked input, as a double (on a failure: what the
 * message needs). */
static ie_status read_one(ie_context *ctx, const ie__arg *a, int64_t r, int64_t c, double *out) {
  const size_t esz = ie__dtype_size(a->m.dtype), at = ((size_t)r * (size_t)a->m.stride + (size_t)c) * esz;
  unsigned char tmp[8];
  if (a->on_host && !a->owned) {
    *out = ie__load_double(a->host + ((size_t)r * (size_t)a->host_stride + (size_t)c) * esz, a->m.dtype);
    return IE_OK;
  }
  IE__CHECK(IE__BE(ctx, download, tmp, a->m.buf, a->m.offset + at, esz));
  *out = ie__load_double(tmp, a->m.dtype);
  return IE_OK;
}

/* The error for points `p`: flat element e (row·d + coordinate) of its
 * [rows, d] view is v, not finite. */
static ie_status point_error(ie_context *ctx, const sk_in *p, size_t e, double v) {
  int64_t row = (int64_t)(e / (size_t)p->k), n = p->n ? p->n : 1;
  ie__locate(ctx, p->arg.name, p->batch ? row / n : -1, p->batch ? row % n : row, (int64_t)(e % (size_t)p->k));
  return ie__error(ctx, IE_NONFINITE, "%s: tensor '%s' problem %lld, point %lld, coordinate %lld is %s", FN,
                   p->arg.name, (long long)(row / n), (long long)(row % n), (long long)(e % (size_t)p->k),
                   isnan(v) ? "NaN" : "infinite");
}

/* ---- One solve -------------------------------------------------------------- */

typedef struct {
  ie_sinkhorn_options o;
  double tau;     /* ρ/(ρ+ε), 1 when balanced */
  int balanced;
} sk_conf;

/* The per-problem results of one solve. */
typedef struct {
  double cost, objective, merr;
  int64_t iters;
  int conv;
} sk_out;

/* The cost of one problem: a matrix, or points. */
typedef struct {
  const sk_in *cost; /* or NULL */
  const char *cost_name;
  const double *x, *y; /* host doubles, compact */
  int64_t x_bstride, y_bstride;
  double box_cost;     /* the largest cost across the points' bounding box */
  /* Device inputs (ie_sk_ops.device_inputs): the weights of the two sides
   * and the points, staged in backend memory, checked by the backend. */
  const sk_in *w[2];
  const sk_in *px, *py;
} sk_geom;

/* The first problem begin found in device inputs, as the error the host
 * path gives for it. */
static ie_status found_error(ie_context *ctx, const sk_geom *geo, const ie_sk_found *f) {
  for (int k = 0; k < 2; k++) {
    if (f->wbad[k] < 0) continue;
    const sk_in *w = geo->w[k];
    const int64_t p = f->wbad[k] / (w->n + 1), i = f->wbad[k] % (w->n + 1);
    double x = 0;
    if (i < w->n) IE__CHECK(read_one(ctx, &w->arg, p, i, &x));
    return weight_error(ctx, w, p, i, x, f->wtot[k]);
  }
  const int64_t bad[2] = {f->xbad, f->ybad};
  const sk_in *pts[2] = {geo->px, geo->py};
  for (int k = 0; k < 2; k++) {
    if (bad[k] < 0 || !pts[k]) continue;
    double v = 0;
    IE__CHECK(read_one(ctx, &pts[k]->arg, bad[k] / pts[k]->k, bad[k] % pts[k]->k, &v));
    return point_error(ctx, pts[k], (size_t)bad[k], v);
  }
  return IE_OK;
}

static double metric_of(int metric, double sq) {
  return metric == IE_COST_EUCLIDEAN ? sqrt(sq) : metric == IE_COST_HALF_SQEUCLIDEAN ? 0.5 * sq : sq;
}

/* Solve B problems; fill out[B]; optionally f [B·n], g [B·m] (host) and the plan. */
static ie_status solve(ie_context *ctx, const sk_conf *cf, int64_t B, int64_t n, int64_t m,
                       int64_t d, const sk_geom *geo, const double *la, const double *lb,
                       sk_out *out, const ie_mat *fo, const ie_mat *go, const ie_mat *plan,
                       int *touched) {
  const ie_sk_ops *ops = ctx->ops->sinkhorn;
  const ie_sinkhorn_options *o = &cf->o;
  ie_sk_setup su = {0};
  su.B = B;
  su.n = n;
  su.m = m;
  su.d = d;
  su.metric = (int)o->metric;
  su.la = la;
  su.lb = lb;
  const int dev = ops->device_inputs;
  if (dev) {
    su.w[0] = &geo->w[0]->arg.m;
    su.w[1] = &geo->w[1]->arg.m;
    if (!geo->cost) {
      su.px = &geo->px->arg.m;
      su.py = &geo->py->arg.m;
      su.want_box = o->eps_scaling && o->eps_start == 0;
    }
  }
  if (geo->cost) {
    su.cost = &geo->cost->arg.m;
    su.cost_bstride = batch_rows(geo->cost->batch, n);
  } else {
    su.x = geo->x;
    su.y = geo->y;
    su.x_bstride = geo->x_bstride;
    su.y_bstride = geo->y_bstride;
    int64_t Bc = (geo->x_bstride || geo->y_bstride) ? B : 1;
    double need = 16.0 * (double)Bc * (double)n * (double)m;
    su.single = o->single_precision && ops->single_tiles; /* float32 tiles: never a matrix */
    su.materialize = !su.single && need <= (double)o->memory_budget;
  }
  const int64_t Bc = geo->cost ? (geo->cost->batch > 1 ? geo->cost->batch : 1) : 1;
  double *cmax = ie__malloc((size_t)Bc * sizeof *cmax);
  double *terms = ie__malloc((size_t)B * IE_SK_TERMS * sizeof *terms);
  double *colterm = ie__malloc((size_t)B * 2 * sizeof *colterm);
  double *meas = ie__malloc((size_t)B * IE_SK_TERMS * sizeof *meas);
  uint8_t *active = ie__malloc((size_t)B), *done_now = ie__malloc((size_t)B);
  /* A backend that decides checks itself (ops->decide): the terms stay on
   * its side, a check reads one word, the counts come back once. */
  const int on_dev = ops->decide != NULL;
  int64_t *stopped_at = on_dev ? ie__malloc((size_t)B * sizeof *stopped_at) : NULL;
  void *ws = NULL;
  ie_status s = IE_OK;
  if (!cmax || !terms || !colterm || !meas || !active || !done_now || (on_dev && !stopped_at)) {
    s = ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory for %lld problems", FN, (long long)B);
    goto done;
  }
  for (int64_t p = 0; p < Bc; p++) cmax[p] = 0;
  int64_t bad = -1;
  ie_sk_found found = {{-1, -1}, {0, 0}, -1, -1, 0};
  if ((s = SK_CALL(begin, &su, &ws, cmax, &bad, &found)) != IE_OK) goto done;
  if (dev && (s = found_error(ctx, geo, &found)) != IE_OK) goto done;
  if (bad >= 0) {
    int64_t p = bad / (n * m), r = bad % (n * m);
    ie__locate(ctx, geo->cost_name, geo->cost && geo->cost->batch ? p : -1, r / m, r % m);
    s = ie__error(ctx, IE_NONFINITE, "%s: tensor '%s' problem %lld, element [%lld, %lld] is not finite "
                  "(the cost must be finite)", FN, geo->cost_name, (long long)p,
                  (long long)(r / m), (long long)(r % m));
    goto done;
  }

  const double eps = o->epsilon, tau = cf->tau;
  int64_t it = 0;
  /* ε-scaling: a few iterations at each ε_k = start·factor^k > ε. */
  if (o->eps_scaling) {
    double start = o->eps_start;
    if (start == 0) {
      start = dev && !geo->cost ? found.box : geo->box_cost;
      for (int64_t p = 0; geo->cost && p < Bc; p++) start = fmax(start, cmax[p]);
    }
    for (double ek = start; ek > eps && it < o->max_iter; ek *= o->eps_factor) {
      double tk = cf->balanced ? 1.0 : o->rho / (o->rho + ek);
      for (int64_t t = 0; t < o->eps_stage_iter && it < o->max_iter; t++, it++) {
        if (ie__cancelled(ctx)) {
          s = ie__cancel(ctx, FN);
          goto done;
        }
        if ((s = SK_CALL(pass, ws, 0, IE_SK_UPDATE, ek, tk, NULL)) != IE_OK) goto done;
        if ((s = SK_CALL(pass, ws, 1, IE_SK_UPDATE, ek, tk, NULL)) != IE_OK) goto done;
      }
    }
  }

  /* Iterate at ε. */
  int64_t left = B;
  for (int64_t b = 0; b < B; b++) {
    active[b] = 1;
    out[b].iters = -1; /* not yet stopped */
    out[b].conv = 0;
  }
  int col_valid = 0; /* colterm holds the plan (f, g) of now */
  for (;;) {
    if (it >= o->max_iter) break;
    if (ie__cancelled(ctx)) { /* between iterations: every backend's passes are synchronous */
      s = ie__cancel(ctx, FN);
      goto done;
    }
    const int chk = col_valid;
    if ((s = SK_CALL(pass, ws, 0, (chk ? IE_SK_CHECK : IE_SK_UPDATE), eps, tau,
                     chk && !on_dev ? terms : NULL)) != IE_OK)
      goto done;
    if (chk && on_dev) {
      if ((s = SK_CALL(decide, ws, o->tol, cf->balanced, it, &left)) != IE_OK) goto done;
      if (left == 0) break;
    } else if (chk) {
      int any = 0;
      for (int64_t b = 0; b < B; b++) {
        done_now[b] = 0;
        if (!active[b]) continue;
        const double *t = terms + b * IE_SK_TERMS;
        if (sk_stops(cf->balanced, o->tol, t[0], colterm[2 * b], t[2], colterm[2 * b + 1])) {
          done_now[b] = 1;
          active[b] = 0;
          out[b].iters = it;
          out[b].conv = 1;
          left--;
          any = 1;
        }
      }
      if (any) {
        if ((s = SK_CALL(restore, ws, done_now)) != IE_OK) goto done;
        if ((s = SK_CALL(set_active, ws, active)) != IE_OK) goto done;
      }
      if (left == 0) break;
    }
    const int next_chk = (it + 1) % o->check_every == 0;
    if ((s = SK_CALL(pass, ws, 1, (next_chk ? IE_SK_CHECK : IE_SK_UPDATE), eps, tau,
                       next_chk && !on_dev ? terms : NULL)) != IE_OK)
      goto done;
    if (next_chk && !on_dev)
      for (int64_t b = 0; b < B; b++) {
        colterm[2 * b] = terms[b * IE_SK_TERMS + 1];
        colterm[2 * b + 1] = terms[b * IE_SK_TERMS + 2];
      }
    col_valid = next_chk;
    it++;
  }

  /* The problems the device stopped, and when. */
  if (on_dev) {
    if ((s = SK_CALL(stopped, ws, stopped_at)) != IE_OK) goto done;
    for (int64_t b = 0; b < B; b++)
      if (stopped_at[b] >= 0) {
        out[b].iters = stopped_at[b];
        out[b].conv = 1;
      }
  }

  /* Measure the returned plans. */
  if ((s = SK_CALL(pass, ws, 0, IE_SK_MEASURE, eps, tau, meas)) != IE_OK) goto done;
  if ((s = SK_CALL(pass, ws, 1, IE_SK_MEASURE, eps, tau, terms)) != IE_OK) goto done;
  for (int64_t b = 0; b < B; b++) {
    const double *r = meas + b * IE_SK_TERMS, *c = terms + b * IE_SK_TERMS;
    out[b].cost = r[5];
    out[b].merr = r[0] + c[0];
    out[b].objective = r[3] + c[3] - eps * (r[1] - 1.0);
    if (!cf->balanced) out[b].objective += o->rho * (r[4] + c[4]);
    if (out[b].iters < 0) {
      /* Ran to max_iter: balanced problems may still meet the rule there. */
      out[b].iters = it;
      out[b].conv = cf->balanced && out[b].merr <= o->tol;
    }
  }
  if (fo || go || plan) *touched = 1; /* the outputs may be written from here on */
  if (fo && (s = SK_CALL(potential, ws, 0, fo)) != IE_OK) goto done;
  if (go && (s = SK_CALL(potential, ws, 1, go)) != IE_OK) goto done;
  if (plan) s = SK_CALL(plan, ws, eps, plan);

done:
  if (ws) ops->end(ctx, ws);
  free(cmax);
  free(terms);
  free(colterm);
  free(meas);
  free(active);
  free(done_now);
  free(stopped_at);
  return s;
}

/* ---- The entry point ------------------------------------------------------------- */

static ie_status check_options(ie_context *ctx, const ie_sinkhorn_options *opt, sk_conf *cf) {
  IE__CHECK(IE__OPTIONS(ctx, FN, cf->o, opt, memory_budget));
  ie_sinkhorn_options *o = &cf->o;
  if (!(o->epsilon > 0) || isinf(o->epsilon))
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: epsilon is %g; it must be given, finite and > 0", FN,
                     o->epsilon);
  if (o->max_iter < 0)
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: max_iter %lld is negative", FN, (long long)o->max_iter);
  if (o->max_iter == 0) o->max_iter = 1000;
  if (!(o->tol >= 0) || isinf(o->tol))
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: tol %g must be finite and >= 0", FN, o->tol);
  if (o->tol == 0) o->tol = 1e-6;
  if (o->check_every < 0)
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: check_every %lld is negative", FN, (long long)o->check_every);
  if (o->check_every == 0) o->check_every = 10;
  if ((unsigned)o->metric > (unsigned)IE_COST_EUCLIDEAN)
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: metric %d is not an ie_cost_metric", FN, (int)o->metric);
  if (o->eps_scaling) {
    if (!(o->eps_start >= 0) || isinf(o->eps_start))
      return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: eps_start %g must be finite and >= 0", FN, o->eps_start);
    if (o->eps_factor == 0) o->eps_factor = 0.5;
    if (!(o->eps_factor > 0 && o->eps_factor < 1))
      return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: eps_factor %g must be in (0, 1)", FN, o->eps_factor);
    if (o->eps_stage_iter < 0)
      return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: eps_stage_iter %lld is negative", FN,
                       (long long)o->eps_stage_iter);
    if (o->eps_stage_iter == 0) o->eps_stage_iter = 1;
  }
  if (isnan(o->rho) || o->rho < 0)
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: rho %g must be > 0 (or 0 / inf for balanced transport)",
                     FN, o->rho);
  cf->balanced = o->rho == 0 || isinf(o->rho);
  cf->tau = cf->balanced ? 1.0 : o->rho / (o->rho + o->epsilon);
  if (o->memory_budget == 0) o->memory_budget = (size_t)1 << 30;
  return IE_OK;
}

/* An output [B, k] (or [k] when B = 1), f32/f64. */
static ie_status check_out(ie_context *ctx, ie__arg *a, const char *name, const DLTensor *t,
                           int64_t B, int64_t k) {
  CHECK(ie__check_matrix(ctx, a, FN, name, t, (1u << IE_DT_F32) | (1u << IE_DT_F64) | IE__OUTPUT));
  if (a->m.rows != B || a->m.cols != k || (t->ndim == 1 && B != 1))
    return ie__error(ctx, IE_BAD_SHAPE, "%s: output '%s' is %lld x %lld; it must be [B, %s] = [%lld, %lld]",
                     FN, name, (long long)a->m.rows, (long long)a->m.cols, name[0] == 'f' ? "n" : "m",
                     (long long)B, (long long)k);
  return IE_OK;
}

/* The largest cost between points of the bounding box of X ∪ Y. */
static double box_cost(int metric, const double *x, int64_t nx, const double *y, int64_t ny, int64_t d) {
  double sq = 0;
  for (int64_t k = 0; k < d; k++) {
    double lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < nx; i++) lo = fmin(lo, x[i * d + k]), hi = fmax(hi, x[i * d + k]);
    for (int64_t i = 0; i < ny; i++) lo = fmin(lo, y[i * d + k]), hi = fmax(hi, y[i * d + k]);
    sq += (hi - lo) * (hi - lo);
  }
  return metric_of(metric, sq);
}

/* Read and check point clouds into host doubles. */
static ie_status read_points(ie_context *ctx, const sk_in *p, double **out) {
  const size_t cnt = (size_t)p->arg.m.rows * (size_t)p->arg.m.cols;
  double *v = ie__malloc((cnt ? cnt : 1) * sizeof *v);
  if (!v) return ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory for tensor '%s'", FN, p->arg.name);
  ie_status s = read_all(ctx, &p->arg, v);
  for (size_t e = 0; s == IE_OK && e < cnt; e++)
    if (isnan(v[e]) || isinf(v[e])) s = point_error(ctx, p, e, v[e]);
  if (s != IE_OK) {
    free(v);
    return s;
  }
  *out = v;
  return IE_OK;
}

ie_status ie_sinkhorn(ie_context *ctx, const DLTensor *at, const DLTensor *bt, const DLTensor *costt,
                      const DLTensor *xt, const DLTensor *yt, const ie_sinkhorn_options *opt,
                      ie_sinkhorn_result *results, DLTensor *ft, DLTensor *gt, DLTensor *plant) {
  IE__CHECK(ie__begin(ctx, FN, 1, ""));
  if (!ctx->ops->sinkhorn)
    return ie__error(ctx, IE_UNSUPPORTED, "%s: the %s backend has no Sinkhorn solver", FN, ctx->ops->name);
  sk_conf cf;
  CHECK(check_options(ctx, opt, &cf));
  if (!results) return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: 'results' is NULL", FN);
  if (costt && (xt || yt))
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: give either 'cost' or the points 'x' and 'y', not both", FN);
  if (!costt && (!xt || !yt))
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: give 'cost', or both point clouds 'x' and 'y'%s", FN,
                     xt ? " ('y' is NULL)" : yt ? " ('x' is NULL)" : "");

  sk_in a, b, c, x, y, cxx, cyy;
  CHECK(check_in(ctx, &a, "a", at, 1, IE__FLOATS));
  CHECK(check_in(ctx, &b, "b", bt, 1, IE__FLOATS));
  const int64_t n = a.n, m = b.n;
  int64_t B = 1, d = 0;
  const sk_in *batched[5] = {&a, &b, NULL, NULL, NULL};
  if (costt) {
    CHECK(check_in(ctx, &c, "cost", costt, 0, IE__FLOATS));
    if (c.n != n || c.k != m)
      return ie__error(ctx, IE_BAD_SHAPE, "%s: 'cost' is %lld x %lld per problem, but 'a' has n = %lld and "
                       "'b' has m = %lld points", FN, (long long)c.n, (long long)c.k, (long long)n, (long long)m);
    batched[2] = &c;
  } else {
    CHECK(check_in(ctx, &x, "x", xt, 0, IE__FLOATS));
    CHECK(check_in(ctx, &y, "y", yt, 0, IE__FLOATS));
    if (x.n != n) return ie__error(ctx, IE_BAD_SHAPE, "%s: 'x' has %lld points but 'a' has %lld", FN, (long long)x.n, (long long)n);
    if (y.n != m) return ie__error(ctx, IE_BAD_SHAPE, "%s: 'y' has %lld points but 'b' has %lld", FN, (long long)y.n, (long long)m);
    if (x.k != y.k)
      return ie__error(ctx, IE_BAD_SHAPE, "%s: 'x' has dimension %lld but 'y' has %lld", FN, (long long)x.k, (long long)y.k);
    d = x.k;
    if (d < 1) return ie__error(ctx, IE_BAD_SHAPE, "%s: the points have dimension 0", FN);
    batched[2] = &x;
    batched[3] = &y;
  }
  if (cf.o.divergence && costt) {
    if (!cf.o.cost_xx || !cf.o.cost_yy)
      return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: the divergence with a given cost needs options cost_xx "
                       "(n x n) and cost_yy (m x m)", FN);
    CHECK(check_in(ctx, &cxx, "cost_xx", cf.o.cost_xx, 0, IE__FLOATS));
    CHECK(check_in(ctx, &cyy, "cost_yy", cf.o.cost_yy, 0, IE__FLOATS));
    if (cxx.n != n || cxx.k != n || cyy.n != m || cyy.k != m)
      return ie__error(ctx, IE_BAD_SHAPE, "%s: 'cost_xx' must be %lld x %lld and 'cost_yy' %lld x %lld per problem",
                       FN, (long long)n, (long long)n, (long long)m, (long long)m);
    batched[3] = &cxx;
    batched[4] = &cyy;
  }
  for (int k = 0; k < 5; k++)
    if (batched[k] && batched[k]->batch > B) B = batched[k]->batch;
  for (int k = 0; k < 5; k++)
    if (batched[k] && !batch_ok(batched[k]->batch, B))
      return ie__error(ctx, IE_BAD_SHAPE, "%s: tensor '%s' holds %lld problems but another input holds %lld",
                       FN, batched[k]->arg.name, (long long)batched[k]->batch, (long long)B);
  if (B == 0) return ie__error(ctx, IE_BAD_SHAPE, "%s: the batch is empty (B = 0)", FN);
  if (n == 0 || m == 0) ie__locate(ctx, n == 0 ? "a" : "b", -1, -1, -1);
  if (n == 0 || m == 0)
    return ie__error(ctx, IE_EMPTY_ROW, "%s: tensor '%s' problem 0 has zero total mass (it has no points)", FN,
                     n == 0 ? "a" : "b");

  ie__arg fo, go, po;
  int touched = 0; /* outputs may have been written */
  sk_in pl;
  if (ft) CHECK(check_out(ctx, &fo, "f", ft, B, n));
  if (gt) CHECK(check_out(ctx, &go, "g", gt, B, m));
  if (plant) {
    CHECK(check_in(ctx, &pl, "plan", plant, 0, (1u << IE_DT_F32) | (1u << IE_DT_F64) | IE__OUTPUT));
    if (pl.n != n || pl.k != m || (pl.batch ? pl.batch : 1) != B)
      return ie__error(ctx, IE_BAD_SHAPE, "%s: output 'plan' must be [B, n, m] = [%lld, %lld, %lld] (or [n, m] "
                       "when B = 1)", FN, (long long)B, (long long)n, (long long)m);
    po = pl.arg;
  }

  /* The inputs: staged in backend memory for a backend that checks them
   * there (device tensors stay where they are), else read and checked
   * into host doubles here. */
  ie_status s = IE_OK;
  const int dev = ctx->ops->sinkhorn->device_inputs;
  double *la = NULL, *lb = NULL, *xh = NULL, *yh = NULL;
  sk_out *o1 = ie__calloc((size_t)B * 3, sizeof *o1);
  int staged_a = 0, staged_b = 0, staged_x = 0, staged_y = 0;
  int staged_c = 0, staged_xx = 0, staged_yy = 0, staged_p = 0, staged_f = 0, staged_g = 0;
  if (!dev) {
    la = ie__malloc((size_t)(B * n) * sizeof *la);
    lb = ie__malloc((size_t)(B * m) * sizeof *lb);
  }
  if (!o1 || (!dev && (!la || !lb))) {
    s = ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory for %lld problems", FN, (long long)B);
    goto done;
  }
  sk_geom geo = {0};
  if (dev) {
    if ((s = ie__stage_in(ctx, &a.arg)) != IE_OK) goto done;
    staged_a = 1;
    if ((s = ie__stage_in(ctx, &b.arg)) != IE_OK) goto done;
    staged_b = 1;
    geo.w[0] = &a;
    geo.w[1] = &b;
  } else {
    if ((s = read_weights(ctx, &a, B, la)) != IE_OK) goto done;
    if ((s = read_weights(ctx, &b, B, lb)) != IE_OK) goto done;
  }

  if (costt) {
    if ((s = ie__stage_in(ctx, &c.arg)) != IE_OK) goto done;
    staged_c = 1;
    geo.cost = &c;
    geo.cost_name = "cost";
  } else {
    geo.x_bstride = batch_rows(x.batch, n);
    geo.y_bstride = batch_rows(y.batch, m);
    if (dev) {
      if ((s = ie__stage_in(ctx, &x.arg)) != IE_OK) goto done;
      staged_x = 1;
      if ((s = ie__stage_in(ctx, &y.arg)) != IE_OK) goto done;
      staged_y = 1;
      geo.px = &x;
      geo.py = &y;
    } else {
      if ((s = read_points(ctx, &x, &xh)) != IE_OK) goto done;
      if ((s = read_points(ctx, &y, &yh)) != IE_OK) goto done;
      geo.x = xh;
      geo.y = yh;
      geo.box_cost = box_cost((int)cf.o.metric, xh, x.arg.m.rows, yh, y.arg.m.rows, d);
    }
  }
  if (plant) {
    if ((s = ie__stage_out(ctx, &po)) != IE_OK) goto done;
    staged_p = 1;
  }
  if (ft) {
    if ((s = ie__stage_out(ctx, &fo)) != IE_OK) goto done;
    staged_f = 1;
  }
  if (gt) {
    if ((s = ie__stage_out(ctx, &go)) != IE_OK) goto done;
    staged_g = 1;
  }

  /* OT_ε(a, b), then for the divergence OT_ε(a, a) and OT_ε(b, b) (the same
   * arithmetic: identical inputs give a divergence of exactly 0). */
  if ((s = solve(ctx, &cf, B, n, m, d, &geo, la, lb, o1, ft ? &fo.m : NULL, gt ? &go.m : NULL,
                 plant ? &po.m : NULL, &touched)) != IE_OK)
    goto done;
  if (cf.o.divergence) {
    sk_geom gxx = {0}, gyy = {0};
    if (costt) {
      if ((s = ie__stage_in(ctx, &cxx.arg)) != IE_OK) goto done;
      staged_xx = 1;
      if ((s = ie__stage_in(ctx, &cyy.arg)) != IE_OK) goto done;
      staged_yy = 1;
      gxx.cost = &cxx;
      gxx.cost_name = "cost_xx";
      gyy.cost = &cyy;
      gyy.cost_name = "cost_yy";
    } else if (dev) {
      gxx.px = gxx.py = &x;
      gxx.x_bstride = gxx.y_bstride = geo.x_bstride;
      gyy.px = gyy.py = &y;
      gyy.x_bstride = gyy.y_bstride = geo.y_bstride;
    } else {
      gxx.x = gxx.y = xh;
      gxx.x_bstride = gxx.y_bstride = geo.x_bstride;
      gxx.box_cost = box_cost((int)cf.o.metric, xh, x.arg.m.rows, xh, x.arg.m.rows, d);
      gyy.x = gyy.y = yh;
      gyy.x_bstride = gyy.y_bstride = geo.y_bstride;
      gyy.box_cost = box_cost((int)cf.o.metric, yh, y.arg.m.rows, yh, y.arg.m.rows, d);
    }
    gxx.w[0] = gxx.w[1] = &a;
    gyy.w[0] = gyy.w[1] = &b;
    if ((s = solve(ctx, &cf, B, n, n, d, &gxx, la, la, o1 + B, NULL, NULL, NULL, &touched)) != IE_OK) goto done;
    if ((s = solve(ctx, &cf, B, m, m, d, &gyy, lb, lb, o1 + 2 * B, NULL, NULL, NULL, &touched)) != IE_OK) goto done;
  }

  /* Outputs, only once everything has succeeded. */
  if (staged_p && (s = ie__unstage_out(ctx, &po)) != IE_OK) goto done;
  if (staged_f && (s = ie__unstage_out(ctx, &fo)) != IE_OK) goto done;
  if (staged_g && (s = ie__unstage_out(ctx, &go)) != IE_OK) goto done;
  for (int64_t k = 0; k < B; k++) {
    ie_sinkhorn_result r;
    memset(&r, 0, sizeof r); /* (its padding too: the same call gives the same bytes) */
    r.transport_cost = o1[k].cost;
    r.objective = o1[k].objective;
    r.marginal_error = o1[k].merr;
    r.iterations = o1[k].iters;
    r.converged = o1[k].conv;
    r.divergence = NAN;
    if (cf.o.divergence) {
      r.divergence = o1[k].objective - 0.5 * o1[B + k].objective - 0.5 * o1[2 * B + k].objective;
      r.converged = r.converged && o1[B + k].conv && o1[2 * B + k].conv;
    }
    results[k] = r;
  }

done:
  if (s != IE_OK && touched) {
    /* The plan may be in the caller's memory already, and a later output
     * may have failed: none of them may look like a result (docs/SPEC.md §1). */
    if (plant) ie__spoil(ctx, &po);
    if (ft) ie__spoil(ctx, &fo);
    if (gt) ie__spoil(ctx, &go);
  }
  if (staged_c) ie__release(ctx, &c.arg);
  if (staged_xx) ie__release(ctx, &cxx.arg);
  if (staged_yy) ie__release(ctx, &cyy.arg);
  if (staged_p) ie__release(ctx, &po);
  if (staged_f) ie__release(ctx, &fo);
  if (staged_g) ie__release(ctx, &go);
  if (staged_a) ie__release(ctx, &a.arg);
  if (staged_b) ie__release(ctx, &b.arg);
  if (staged_x) ie__release(ctx, &x.arg);
  if (staged_y) ie__release(ctx, &y.arg);
  free(la);
  free(lb);
  free(xh);
  free(yh);
  free(o1);
  return s;
}
