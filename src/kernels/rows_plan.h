/*
 * rows_plan.h — host side of the row kernels, shared by both GPU launchers
 * (src/opencl/ocl_rows.c, src/cuda/rows.cu): which value, pass-1 state and
 * pass-2 terms an ie_rowargs asks for, and the launch geometry.  Plain C
 * (and C++ for nvcc's host pass); include after src/backend.h.
 */
#ifndef IE_KERNELS_ROWS_PLAN_H
#define IE_KERNELS_ROWS_PLAN_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "rows_kinds.h"

/* The value of a row (ROWS_LOGSUMEXP ...), or -1 for a kind the kernels do
 * not take (src/ resolves the limits α = 1, alpha α = 0 before). */
static inline int rows_value_of(const ie_rowargs *a) {
  switch (a->op) {
  case IE_OP_LSE: return ROWS_LOGSUMEXP;
  case IE_OP_NLL: return ROWS_NLL;
  case IE_OP_ENTROPY:
    switch (a->ent) {
    case IE_ENTROPY_SHANNON: return ROWS_SHANNON;
    case IE_ENTROPY_RENYI: return isinf(a->alpha) ? ROWS_RENYI_INF : ROWS_RENYI;
    case IE_ENTROPY_TSALLIS: return isfinite(a->alpha) ? ROWS_TSALLIS : -1;
    }
    return -1;
  case IE_OP_DIVERGENCE:
    switch (a->div) {
    case IE_DIV_KL: return ROWS_KL;
    case IE_DIV_REVERSE_KL: return ROWS_REVERSE_KL;
    case IE_DIV_JEFFREYS: return ROWS_JEFFREYS;
    case IE_DIV_CROSS_ENTROPY: return ROWS_CROSS_ENTROPY;
    case IE_DIV_JS: return ROWS_JS;
    case IE_DIV_TV: return ROWS_TV;
    case IE_DIV_HELLINGER: return ROWS_HELLINGER;
    case IE_DIV_BHATTACHARYYA: return ROWS_BHATTACHARYYA;
    case IE_DIV_CHI2: return ROWS_CHI2;
    case IE_DIV_CAUCHY_SCHWARZ: return ROWS_CAUCHY_SCHWARZ;
    case IE_DIV_RENYI:
      if (isinf(a->alpha) && a->alpha > 0) return ROWS_RENYI_INF_DIV;
      return isfinite(a->alpha) ? ROWS_RENYI_DIV : -1;
    case IE_DIV_ALPHA: return isfinite(a->alpha) ? ROWS_ALPHA_DIV : -1;
    case IE_DIV_TSALLIS: return isfinite(a->alpha) ? ROWS_TSALLIS_DIV : -1;
    default: return -1;
    }
  }
  return -1;
}

/* The pass-1 state of a value (ROWS_STATE_*). */
static inline int rows_state_of(int value) {
  switch (value) {
  case ROWS_LOGSUMEXP:
  case ROWS_RENYI_INF: return ROWS_STATE_LSE;
  case ROWS_NLL: return ROWS_STATE_NLL;
  case ROWS_SHANNON: return ROWS_STATE_SHANNON;
  case ROWS_RENYI:
  case ROWS_TSALLIS: return ROWS_STATE_POWER;
  default: return ROWS_STATE_PAIR;
  }
}

/* The pass-2 terms of a value, ROWS_TERMS_NONE for one-pass values. */
static inline int rows_terms_of(int value, double alpha) {
  switch (value) {
  case ROWS_KL:
  case ROWS_REVERSE_KL:
  case ROWS_JEFFREYS: return ROWS_TERMS_KL;
  case ROWS_JS: return ROWS_TERMS_JS;
  case ROWS_TV: return ROWS_TERMS_TV;
  case ROWS_HELLINGER: return ROWS_TERMS_HELLINGER;
  case ROWS_BHATTACHARYYA: return ROWS_TERMS_BHATTACHARYYA;
  case ROWS_CHI2: return ROWS_TERMS_CHI2;
  case ROWS_CAUCHY_SCHWARZ: return ROWS_TERMS_CAUCHY_SCHWARZ;
  case ROWS_RENYI_INF_DIV: return ROWS_TERMS_RENYI_INF;
  case ROWS_ALPHA_DIV:
  case ROWS_RENYI_DIV:
  case ROWS_TSALLIS_DIV: return alpha < 0.5 ? ROWS_TERMS_POWER_Q : ROWS_TERMS_POWER_P;
  default: return ROWS_TERMS_NONE;
  }
}

/* A matrix's start in elements; the kernels read whole elements of the four
 * float dtypes.  `who` ("opencl", "cuda") and `what` name it in errors. */
static inline ie_status rows_mat_offset(ie_context *ctx, const char *who, const ie_mat *m,
                                        const char *what, uint64_t *off) {
  if (m->dtype != IE_DT_F32 && m->dtype != IE_DT_F16 && m->dtype != IE_DT_BF16 &&
      m->dtype != IE_DT_F64)
    return ie__error(ctx, IE_BAD_DTYPE, "%s: %s has dtype %s, which the row kernels cannot use",
                     who, what, ie__dtype_name(m->dtype));
  const size_t es = ie__dtype_size(m->dtype);
  if (m->offset % es)
    return ie__error(ctx, IE_BAD_SHAPE,
                     "%s: %s starts at byte offset %zu, not a multiple of its element size %zu",
                     who, what, m->offset, es);
  *off = (uint64_t)(m->offset / es);
  return IE_OK;
}

/* What a row launch needs from ie_rowargs and its operands. */
typedef struct {
  int value, mode, terms; /* ROWS_* value, ROWS_STATE_*, ROWS_TERMS_* */
  uint64_t xoff, yoff;    /* elements */
  int lab64;              /* NLL labels: int64 (else int32), read as int32 words */
  uint64_t loff, lstride; /* in int32 words */
} rows_job;

static inline ie_status rows_prepare(ie_context *ctx, const char *who, const ie_rowargs *a,
                                     const ie_mat *x, const ie_mat *y, const ie_vec *labels,
                                     rows_job *j) {
  memset(j, 0, sizeof *j);
  j->value = rows_value_of(a);
  if (j->value < 0)
    return ie__error(ctx, IE_UNSUPPORTED, "%s: this kind/order is not supported (order %g)", who,
                     a->alpha);
  j->mode = rows_state_of(j->value);
  j->terms = rows_terms_of(j->value, a->alpha);
  const int two = j->mode == ROWS_STATE_PAIR;
  ie_status r = rows_mat_offset(ctx, who, x, two ? "p" : "x", &j->xoff);
  if (r != IE_OK) return r;
  if (two) {
    if (!y) return ie__error(ctx, IE_INTERNAL, "%s: divergence without q", who);
    if ((r = rows_mat_offset(ctx, who, y, "q", &j->yoff)) != IE_OK) return r;
  }
  if (j->mode == ROWS_STATE_NLL) {
    if (!labels) return ie__error(ctx, IE_INTERNAL, "%s: NLL without labels", who);
    j->lab64 = labels->dtype == IE_DT_I64;
    if ((labels->dtype != IE_DT_I32 && !j->lab64) || labels->offset % 4)
      return ie__error(ctx, IE_BAD_DTYPE, "%s: labels must be int32 or int64 at a 4-byte offset",
                       who);
    j->loff = labels->offset / 4;
    j->lstride = (uint64_t)labels->stride * (j->lab64 ? 2u : 1u);
  }
  return IE_OK;
}

/*
 * Launch geometry.  A team of W work-items (a power of two) owns one chunk of
 * one row.  Rows of V >= 4·wg elements get W = wg and are cut into
 * ceil(V / (wg·ROWS_ITEMS)) chunks, so that no work-item sums more than
 * about ROWS_ITEMS elements serially before the team's tree; shorter rows
 * get one chunk and the smallest W >= V/4, several rows a work-group.  Rows
 * go in batches of at most ROWS_TEAMS teams, which bounds the scratch.  The
 * shape depends only on (V, rows, wg): results are the same bits run after
 * run.
 */
enum { ROWS_ITEMS = 32, ROWS_TEAMS = 1 << 18 };

typedef struct {
  uint32_t W, nchunks;
  uint64_t clen;
  int64_t batch; /* rows a batch */
} rows_geom;

static inline rows_geom rows_geometry(int64_t wg, int64_t V, int64_t rows) {
  rows_geom g;
  if (V >= 4 * wg) {
    const int64_t n = (V + wg * ROWS_ITEMS - 1) / (wg * ROWS_ITEMS);
    g.W = (uint32_t)wg;
    g.nchunks = (uint32_t)n;
    g.clen = (uint64_t)((V + n - 1) / n);
  } else {
    int64_t need = (V + 3) / 4, w = 1;
    while (w < need) w *= 2;
    g.W = (uint32_t)w;
    g.nchunks = 1;
    g.clen = (uint64_t)V;
  }
  g.batch = ROWS_TEAMS / (int64_t)g.nchunks;
  if (g.batch < 1) g.batch = 1;
  if (g.batch > rows) g.batch = rows;
  return g;
}

/* Work-groups for `teams` teams of W (they loop over teams beyond max_groups). */
static inline size_t rows_groups(size_t wg, uint32_t W, size_t teams, size_t max_groups) {
  const size_t tpg = wg / W;
  size_t groups = (teams + tpg - 1) / tpg;
  if (groups > max_groups) groups = max_groups;
  return groups ? groups : 1;
}

#endif /* IE_KERNELS_ROWS_PLAN_H */
