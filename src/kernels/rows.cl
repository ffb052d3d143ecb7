/*
 * rows.cl — the row family on the GPU: logsumexp, softmax / log-softmax,
 * entropies, NLL and every divergence (docs/KERNELS.md is the arithmetic).
 * One source: OpenCL C 1.2 for src/opencl/ocl_rows.c, CUDA C++ for
 * src/cuda/rows.cu (vendor.h holds the words they differ in).
 *
 * Work decomposition (every team kernel): a "team" of W work-items (W a
 * power of two dividing the work-group size) owns one (row, chunk) pair; a
 * work-group holds wg/W teams, and work-groups loop over teams, so every
 * work-item of a group runs the same iterations and meets the same
 * barriers.  Lane l of a team reads elements chunk_begin + l, + l + W, ...
 * (coalesced) and keeps an online state; the team merges its lanes' states
 * by a fixed tree (rows_team_reduce), and lane 0 writes one partial state a
 * (row, chunk).  One work-item a row then merges a row's chunks in chunk
 * order, in double (rows_finish, rows_stats, rows_finish_terms).  The launch
 * shape depends only on (V, rows, device): results are the same bits run
 * after run, and no float atomics are used.
 *
 * Log-weights.  An element is read as a weight w: the logit, or the value x
 * of a probability (rows_to_w).  The states keep the maxima m of the raw w,
 * and every term is formed from the log-gap d = rows_gap(w, m)·(1/T): w − m
 * for logits, the difference of two inputs first, so that d keeps the digits
 * of the differences between logits rather than an ulp of their size
 * (logits near 3000 at T = 0.7); log(x/m) for probabilities, the log of a
 * ratio, so that d does not carry an ulp of log x (rows of counts, or summing
 * to 1e-9).  Only logsumexp adds m/T back, in double; the finish takes a
 * probability's max as its log in double (rows_log_split).
 */
#include "vendor.h"
#include "rows_kinds.h"
#include "rows_final.h"
#include "widen.h"
#include "rows_outcome.h"

/* ---- Elements ------------------------------------------------------------------ */

/* Element i of a matrix of type dt, widened to float. */
FN float rows_load(GLOBAL const ie_u8 *b, ie_u64 i, int dt) {
  if (dt == ROWS_F64) return (float)((GLOBAL const double *)b)[i];
  return widen_load_f(b, (ie_i64)i, dt); /* f32, f16, bf16 (widen.h) */
}

/* A lane's share of [beg, end): 4 consecutive elements every 4W from
 * beg + 4·lane, then, after the last whole 4W round (rows_vec4_tail), every
 * W-th element from there + lane.  The share, and the order the lane takes
 * it in, depend on the indices alone: a row's bits do not change with its
 * address (another chunk of rows, a row one further down).  Each round's 4
 * elements are one 128-bit load (LOAD_F4) where the row is float32 and the
 * round's first element 16-byte aligned (rows_vec4), else 4 loads. */
FN int rows_vec4(GLOBAL const ie_u8 *b, ie_u64 i, int dt) {
  return dt == ROWS_F32 && (ADDR_BITS(b + 4 * i) & 15) == 0;
}
/* Where the tail of [beg, end) starts once every lane has done its whole
 * 4W rounds. */
FN ie_u64 rows_vec4_tail(ie_u64 beg, ie_u64 end, ie_u32 W) {
  return beg + (end - beg) / (4 * (ie_u64)W) * (4 * (ie_u64)W);
}
/* The 4 elements from element i of b (type dt), widened to float; vec:
 * rows_vec4 holds there. */
FN void rows_load4(GLOBAL const ie_u8 *b, ie_u64 i, int dt, int vec, float v[4]) {
  if (vec) {
    const float4 q = LOAD_F4((GLOBAL const float *)b, i);
    v[0] = q.x, v[1] = q.y, v[2] = q.z, v[3] = q.w;
  } else {
    for (int k = 0; k < 4; k++) v[k] = rows_load(b, i + (ie_u64)k, dt);
  }
}

/* A lane's share of elements [beg, end) of a pair of rows (x at element
 * rx, y at ry), in the order the lane takes them (rows_vec4): STEP runs
 * with wp and wq, their log-weights (a bad element flagged in err). */
#define ROWS_PAIR_WALK(x, rx, xdt, xkind, y, ry, ydt, ykind, beg, end, lane, W, err, STEP)          \
  do {                                                                                           \
    const int xv_ = rows_vec4((x), (rx) + (beg), (xdt)), yv_ = rows_vec4((y), (ry) + (beg), (ydt)); \
    const ie_u64 tail_ = rows_vec4_tail((beg), (end), (W));                                      \
    for (ie_u64 i_ = (beg) + 4 * (ie_u64)(lane); i_ < tail_; i_ += 4 * (ie_u64)(W)) {           \
      float p_[4], q_[4];                                                                        \
      rows_load4((x), (rx) + i_, (xdt), xv_, p_);                                                \
      rows_load4((y), (ry) + i_, (ydt), yv_, q_);                                                \
      for (int k_ = 0; k_ < 4; k_++) {                                                           \
        const float vp = p_[k_], vq = q_[k_];                                                    \
        const float wp = rows_to_w(vp, (xkind), &(err));                                         \
        const float wq = rows_to_w(vq, (ykind), &(err));                                         \
        (void)vp, (void)vq;                                                                      \
        STEP;                                                                                    \
      }                                                                                          \
    }                                                                                            \
    for (ie_u64 i_ = tail_ + (lane); i_ < (end); i_ += (W)) {                                    \
      const float vp = rows_load((x), (rx) + i_, (xdt)), vq = rows_load((y), (ry) + i_, (ydt));  \
      const float wp = rows_to_w(vp, (xkind), &(err));                                           \
      const float wq = rows_to_w(vq, (ykind), &(err));                                           \
      (void)vp, (void)vq;                                                                        \
      STEP;                                                                                      \
    }                                                                                            \
  } while (0)

/* float -> bf16 bits, rounded to nearest even; NaN stays a (quiet) NaN. */
FN ie_u16 rows_to_bf16(float f) {
  ie_u32 u = AS_UINT(f);
  if (f != f) return (ie_u16)((u >> 16) | 0x40u);
  u += 0x7FFFu + ((u >> 16) & 1u);
  return (ie_u16)(u >> 16);
}

FN void rows_store(GLOBAL ie_u8 *b, ie_u64 i, int dt, float v) {
  switch (dt) {
  case ROWS_F16: STORE_HALF(v, i, b); break;
  case ROWS_BF16: ((GLOBAL ie_u16 *)b)[i] = rows_to_bf16(v); break;
  case ROWS_F64: ((GLOBAL double *)b)[i] = (double)v; break;
  default: ((GLOBAL float *)b)[i] = v;
  }
}

/* An element v as a weight w: a logit as it is, a probability as its value
 * (0 reads as −inf: no mass).  A bad element raises *err and reads as −inf.
 * The states compare weights of one kind only (the larger weight is the
 * larger log-weight either way) and take their log-gaps by rows_gap. */
FN float rows_to_w(float v, int kind, int *err) {
  if (kind == ROWS_LOGITS) {
    if (v != v || v == IE_INFINITY_F) {
      *err = ROWS_ERR_NONFINITE;
      return -IE_INFINITY_F;
    }
    return v;
  }
  if (v != v || v == IE_INFINITY_F || v == -IE_INFINITY_F) {
    *err = ROWS_ERR_NONFINITE;
    return -IE_INFINITY_F;
  }
  if (v < 0.0f) {
    *err = max(*err, ROWS_ERR_NEGATIVE);
    return -IE_INFINITY_F;
  }
  return v > 0.0f ? v : -IE_INFINITY_F;
}

/* The log-gap of two finite weights of one kind, log-weight(a) − log-weight(b):
 * a − b for logits; for probabilities log(a/b), the log of their ratio, whose
 * error is a float's ulp of the gap.  The difference of their float logs
 * would carry |log a|·6e-8, an error that grows with the row's scale (counts
 * of 1e6, rows summing to 1e-9) rather than with the gap.  Where a/b leaves
 * float's normal range (a gap beyond ±87, or a subnormal a or b) the logs
 * are subtracted, in double. */
/* log a − log b of two positive floats, in double. */
FN double rows_log_gap_d(float a, float b) { return log((double)a) - log((double)b); }

FN float rows_gap(float a, float b, int kind) {
  if (kind == ROWS_LOGITS) return a - b;
  const float r = a / b;
  return r >= 1.17549435e-38f && r <= 3.40282347e38f ? log(r) : (float)rows_log_gap_d(a, b);
}

/* Label of row `row`: int32 or int64 (read as two int32 words, little-endian
 * on every device we run on: CUDA, and OpenCL's __ENDIAN_LITTLE__). */
FN ie_i64 rows_label(GLOBAL const ie_i32 *lab, ie_u64 off, ie_u64 stride, int lab64, ie_u64 row) {
  const ie_u64 i = off + row * stride;
  if (!lab64) return (ie_i64)lab[i];
#if defined(IE_KERNEL_CUDA) || defined(__ENDIAN_LITTLE__)
  return (ie_i64)(((ie_u64)(ie_u32)lab[i + 1] << 32) | (ie_u64)(ie_u32)lab[i]);
#else
  return (ie_i64)(((ie_u64)(ie_u32)lab[i] << 32) | (ie_u64)(ie_u32)lab[i + 1]);
#endif
}

/* ---- Team reduction ---------------------------------------------------------------
 * Lanes hold N floats each (a state packed by its rows_*_pack); the tree takes
 * strides W/2, W/4, ..., 1 and lane l merges lane l + s into its own, so the
 * order is the same on every device.  Between work-items it goes through
 * local memory `sh` (N·ROWS_WG_MAX floats); on CUDA, once the stride is
 * within a warp, by warp shuffles (no barrier), in the same order.  After
 * it, lane 0 holds the team's state in v.  Every work-item of the group
 * runs it (lid, lane, W in scope). */
#ifdef IE_KERNEL_CUDA
#define ROWS_IN_WARP(s) ((s) < 32u)
#define ROWS_SHUFFLE(v, o, N, s)                                               \
  for (int k_ = 0; k_ < (N); k_++) (o)[k_] = __shfl_down_sync(0xffffffffu, (v)[k_], (s))
#else
#define ROWS_IN_WARP(s) 0
#define ROWS_SHUFFLE(v, o, N, s)
#endif

#define ROWS_TEAM_REDUCE(v, o, N, MERGE)                                       \
  do {                                                                         \
    for (int k_ = 0; k_ < (N); k_++) sh[k_ * ROWS_WG_MAX + lid] = (v)[k_];      \
    BARRIER();                                                                 \
    for (ie_u32 s_ = W >> 1; s_ > 0; s_ >>= 1) {                               \
      if (ROWS_IN_WARP(s_)) {                                                  \
        ROWS_SHUFFLE(v, o, N, s_);                                             \
        if (lane < s_) MERGE;                                                  \
      } else {                                                                 \
        if (lane < s_) {                                                       \
          for (int k_ = 0; k_ < (N); k_++) (o)[k_] = sh[k_ * ROWS_WG_MAX + lid + s_]; \
          MERGE;                                                               \
          for (int k_ = 0; k_ < (N); k_++) sh[k_ * ROWS_WG_MAX + lid] = (v)[k_]; \
        }                                                                      \
        BARRIER();                                                             \
      }                                                                        \
    }                                                                          \
  } while (0)

/* The loop over teams every team kernel runs (defines lid, lane, team). */
#define ROWS_TEAMS_BEGIN(nteams)                                               \
  const ie_u32 lid = (ie_u32)LOCAL_ID(), wg = (ie_u32)LOCAL_SIZE();            \
  const ie_u32 lane = lid & (W - 1), tpg = wg / W;                             \
  for (ie_u64 base_ = (ie_u64)GROUP_ID() * tpg; base_ < (nteams);              \
       base_ += (ie_u64)NUM_GROUPS() * tpg) {                                  \
    const ie_u64 team = base_ + lid / W;
#define ROWS_TEAMS_END                                                         \
    BARRIER();                                                                 \
  }

/* ======================================================================== */
/* Pass 1: one read, an online (max, sum) state per lane.                     */

/* e^d·expm1((α−1)d) = e^{αd} − e^d, accurate for either size of (α−1)d.
 * am1 = α − 1 rounded once from double. */
FN float rows_gpow(float d, float ed, float alpha, float am1) {
  const float x = am1 * d;
  return fabs(x) < 0.5f ? ed * expm1(x) : exp(alpha * d) - ed;
}

/* 1/T above which a gap of probabilities is taken in double: a float log
 * of a ratio is off by about 6e-8 absolute, and 1/T multiplies that (at T =
 * 1e-4, 15 times docs/SPEC.md's tolerance on the entropies of rows of
 * cubed uniform probabilities). */
#define ROWS_SHARP_IT 16.0f

/* The gap d = rows_gap(a, b)·(1/T). */
FN float rows_gap_it(float a, float b, int kind, float it) {
  if (kind == ROWS_LOGITS || it <= ROWS_SHARP_IT) return rows_gap(a, b, kind) * it;
  return (float)(rows_log_gap_d(a, b) * (double)it);
}

/* rows_gap_it held at −FLT_MAX where it overflows (finite logits more than
 * FLT_MAX apart): e^d is 0 there, and e^{αd} 1 at α = 0, as for the tiny d
 * it stands for (−inf would make 0·inf a NaN). */
FN float rows_scaled_gap(float a, float b, int kind, float it) {
  return fmax(rows_gap_it(a, b, kind, it), -3.40282347e38f);
}

/* Cross-entropy's B is kept times ROWS_B_SCALE: logits of ±3e38 in one
 * row give values near 1e38 (9.3e37 for [1, 0, 1] against [3e38, −3e38,
 * 3e38]), and B, their product with Sp, would pass float's range.  A B
 * below 2e-19, where the scaled float loses digits, is far below
 * docs/SPEC.md's 1e-6 absolute.  Above ROWS_B_RAW_IT (T below 9e-13) B
 * holds the gaps before 1/T times ROWS_B_RAW_SCALE, and the finish
 * multiplies 1/T in (double): gaps times 1/T pass even the scaled float
 * (6e57 for logits 3e38 apart at T = 1e-20); the gaps themselves, at most
 * 6.8e38, times 2^-24 and Sp (at most the row's length) stay in it for
 * rows of up to 8e6 entries, and a term there loses digits (a subnormal)
 * only below 2^-149·2^24/T, 2e-18 at T = 1e-20. */
#define ROWS_B_SCALE 5.42101086e-20f /* 2^-64 */
#define ROWS_B_RAW_IT 1.09951163e12f /* 2^40 */
#define ROWS_B_RAW_SCALE 5.96046448e-8f /* 2^-24 */

/* s·d·ROWS_B_SCALE for d = rows_gap_it(a, b, kind, it) ≤ 0 (above
 * ROWS_B_RAW_IT, s·g·ROWS_B_RAW_SCALE for d's gap g before 1/T), with the
 * gap in double where it is −inf from finite weights (logits more than
 * FLT_MAX apart). */
FN float rows_gap_times(float a, float b, int kind, float it, float d, float s) {
  const int raw = it > ROWS_B_RAW_IT;
  const float g = !raw ? d : kind == ROWS_LOGITS ? a - b : (float)rows_log_gap_d(a, b);
  const float scale = raw ? ROWS_B_RAW_SCALE : ROWS_B_SCALE;
  if (g > -IE_INFINITY_F) return s * (g * scale);
  const double dd = kind == ROWS_LOGITS ? (double)a - (double)b : rows_log_gap_d(a, b);
  return (float)(s * (dd * (raw ? 1.0 : (double)it) * (double)scale));
}

/* Shannon's T moved to a max higher by −d (r = e^d): T' = r(T + d·S); 0 once
 * r is, before d·S (d down to −3e38 with masked logits) overflows. */
FN float rows_t_rescale(float r, float t, float d, float s) {
  return r > 0.0f ? r * (t + d * s) : 0.0f;
}

/* One matrix: m = max w, S = Σ e^{d} (d = rows_gap(w, m)·(1/T)), X = T
 * (Shannon) or U (power), V (power), y = the label's w (NLL). */
typedef struct {
  float m, s, x, v, y;
} rows_one;

FN void rows_one_push(rows_one *t, float w, int kind, const int mode, float it, float alpha,
                       float am1) {
  if (w == -IE_INFINITY_F) return;
  if (w > t->m) {
    if (t->m == -IE_INFINITY_F) {
      t->s = 1.0f;
      t->x = mode == ROWS_STATE_POWER ? 1.0f : 0.0f;
      t->v = 0.0f;
    } else {
      const float d = rows_scaled_gap(t->m, w, kind, it), r = exp(d);
      if (mode == ROWS_STATE_SHANNON) t->x = rows_t_rescale(r, t->x, d, t->s);
      if (mode == ROWS_STATE_POWER) {
        const float ra = exp(alpha * d); /* U' = U r^α + 1; V' = V r^α + S g(d) */
        t->x = t->x * ra + 1.0f;
        t->v = t->v * ra + t->s * rows_gpow(d, r, alpha, am1);
      }
      t->s = t->s * r + 1.0f;
    }
    t->m = w;
  } else {
    const float d = rows_scaled_gap(w, t->m, kind, it), e = exp(d);
    t->s += e;
    if (mode == ROWS_STATE_SHANNON) t->x += e * d;
    if (mode == ROWS_STATE_POWER) {
      t->x += exp(alpha * d);
      t->v += rows_gpow(d, e, alpha, am1);
    }
  }
}

/* a ⊕ b (a keeps its y). */
FN void rows_one_merge(rows_one *a, const rows_one *b, int kind, const int mode, float it,
                       float alpha, float am1) {
  if (b->m == -IE_INFINITY_F) return;
  if (a->m == -IE_INFINITY_F) {
    const float y = a->y;
    *a = *b;
    a->y = y;
    return;
  }
  const float m = fmax(a->m, b->m), da = rows_scaled_gap(a->m, m, kind, it);
  const float db = rows_scaled_gap(b->m, m, kind, it);
  const float ra = exp(da), rb = exp(db);
  if (mode == ROWS_STATE_SHANNON)
    a->x = rows_t_rescale(ra, a->x, da, a->s) + rows_t_rescale(rb, b->x, db, b->s);
  if (mode == ROWS_STATE_POWER) {
    const float qa = exp(alpha * da), qb = exp(alpha * db);
    a->v = a->v * qa + a->s * rows_gpow(da, ra, alpha, am1) + b->v * qb +
           b->s * rows_gpow(db, rb, alpha, am1);
    a->x = a->x * qa + b->x * qb;
  }
  a->s = a->s * ra + b->s * rb;
  a->m = m;
}

/* A state packed for the team tree: its fields, the two low parts that
 * rows_log_split fills (0 here), then err at [ROWS_ONE_N]. */
FN void rows_one_pack(const rows_one *t, int err, float *v) {
  v[0] = t->m, v[1] = t->s, v[2] = t->x, v[3] = t->v, v[4] = t->y, v[5] = 0.0f, v[6] = 0.0f;
  v[ROWS_ONE_N] = AS_FLOAT((ie_u32)err);
}
FN void rows_one_unpack(const float *v, rows_one *t, int *err) {
  t->m = v[0], t->s = v[1], t->x = v[2], t->v = v[3], t->y = v[4];
  *err = (int)AS_UINT(v[ROWS_ONE_N]);
}

/* What a team writes for the finish, which works in log-weights: a weight w
 * as its log-weight in two floats, hi + lo (a logit: w and 0; a probability:
 * log w taken in double, so that the finish has the log of the row's max to
 * double's precision, whatever its size; −inf: −inf and 0). */
FN void rows_log_split(float *hi, float *lo, int kind) {
  const float w = *hi;
  *lo = 0.0f;
  if (kind == ROWS_LOGITS || w == -IE_INFINITY_F) return;
  const double l = log((double)w);
  *hi = (float)l;
  *lo = (float)(l - (double)*hi);
}
FN double rows_log_join(float hi, float lo) { return (double)hi + (double)lo; }

/* v ⊕= o for packed states (the team tree's step). */
FN void rows_one_merge_packed(float *v, const float *o, int kind, const int mode, float it,
                              float alpha, float am1) {
  rows_one a, b;
  int ea, eb;
  rows_one_unpack(v, &a, &ea);
  rows_one_unpack(o, &b, &eb);
  rows_one_merge(&a, &b, kind, mode, it, alpha, am1);
  rows_one_pack(&a, max(ea, eb), v);
}

FN void rows_p1_one(GLOBAL const ie_u8 *x, ie_u64 xoff, ie_u64 xstride, int xdt, int xkind,
                    float it, float alpha, float am1, ie_u64 V, ie_u32 nrows, ie_u32 nchunks,
                    ie_u64 clen, ie_u32 W, GLOBAL const ie_i32 *lab, ie_u64 loff,
                    ie_u64 lstride, int lab64, ie_i64 ignore, int has_ignore,
                    GLOBAL float *part, GLOBAL ie_i32 *perr, LOCAL float *sh, const int mode) {
  const ie_u64 nteams = (ie_u64)nrows * nchunks;
  ROWS_TEAMS_BEGIN(nteams)
    rows_one st = {-IE_INFINITY_F, 0.0f, 0.0f, 0.0f, -IE_INFINITY_F};
    int err = 0;
    if (team < nteams) {
      const ie_u64 row = team / nchunks, c = team - row * nchunks;
      const ie_u64 beg = c * clen, end = min(V, beg + clen), rb = xoff + row * xstride;
      int skip = 0;
      if (mode == ROWS_STATE_NLL) {
        const ie_i64 y = rows_label(lab, loff, lstride, lab64, row);
        if (has_ignore && y == ignore) {
          err = ROWS_ERR_IGNORED;
          skip = 1;
        } else if (y < 0 || (ie_u64)y >= V) {
          err = ROWS_ERR_BAD_LABEL;
          skip = 1;
        } else if (c == 0 && lane == 0) {
          int e = 0; /* a bad label element is flagged by the scan */
          st.y = rows_to_w(rows_load(x, rb + (ie_u64)y, xdt), xkind, &e);
        }
      }
      if (!skip) { /* (the lane's share as rows_vec4 says) */
        const int vec = rows_vec4(x, rb + beg, xdt);
        const ie_u64 tail = rows_vec4_tail(beg, end, W);
        for (ie_u64 i = beg + 4 * (ie_u64)lane; i < tail; i += 4 * (ie_u64)W) {
          float v[4];
          rows_load4(x, rb + i, xdt, vec, v);
          for (int q = 0; q < 4; q++)
            rows_one_push(&st, rows_to_w(v[q], xkind, &err), xkind, mode, it, alpha, am1);
        }
        for (ie_u64 i = tail + lane; i < end; i += W)
          rows_one_push(&st, rows_to_w(rows_load(x, rb + i, xdt), xkind, &err), xkind, mode, it,
                        alpha, am1);
      }
    }
    float v[ROWS_ONE_N + 1], o[ROWS_ONE_N + 1];
    rows_one_pack(&st, err, v);
    ROWS_TEAM_REDUCE(v, o, ROWS_ONE_N + 1,
                     rows_one_merge_packed(v, o, xkind, mode, it, alpha, am1));
    if (lane == 0 && team < nteams) {
      rows_log_split(&v[0], &v[5], xkind);
      rows_log_split(&v[4], &v[6], xkind);
      for (int k = 0; k < ROWS_ONE_N; k++) part[team * ROWS_ONE_N + k] = v[k];
      perr[team] = (ie_i32)AS_UINT(v[ROWS_ONE_N]);
    }
  ROWS_TEAMS_END
}

#define ROWS_P1_ONE_ARGS                                                       \
  GLOBAL const ie_u8 *x, ie_u64 xoff, ie_u64 xstride, int xdt, int xkind, float it, \
      float alpha, float am1, ie_u64 V, ie_u32 nrows, ie_u32 nchunks, ie_u64 clen, \
      ie_u32 W, GLOBAL const ie_i32 *lab, ie_u64 loff, ie_u64 lstride, int lab64,  \
      ie_i64 ignore, int has_ignore, GLOBAL float *part, GLOBAL ie_i32 *perr
#define ROWS_P1_ONE_BODY(mode)                                                 \
  LOCAL_ARRAY(float, sh, ROWS_WG_MAX *(ROWS_ONE_N + 1));                       \
  rows_p1_one(x, xoff, xstride, xdt, xkind, it, alpha, am1, V, nrows, nchunks, clen, W, lab, \
              loff, lstride, lab64, ignore, has_ignore, part, perr, sh, mode)

KERNEL void rows_p1_lse(ROWS_P1_ONE_ARGS) { ROWS_P1_ONE_BODY(ROWS_STATE_LSE); }
KERNEL void rows_p1_shannon(ROWS_P1_ONE_ARGS) { ROWS_P1_ONE_BODY(ROWS_STATE_SHANNON); }
KERNEL void rows_p1_power(ROWS_P1_ONE_ARGS) { ROWS_P1_ONE_BODY(ROWS_STATE_POWER); }
KERNEL void rows_p1_nll(ROWS_P1_ONE_ARGS) { ROWS_P1_ONE_BODY(ROWS_STATE_NLL); }

/* Two matrices (weights of kinds pk and qk): both sides' (max, Σ), and for
 * cross-entropy B = Σ e^{dp}·dq, dq = rows_gap(wq, mq)·(1/T); flag 1: p > 0
 * where q = 0 (cross-entropy +inf).
 * A shift (wq − mq)·(1/T) may leave float's range (logits of −3e38 and 3000
 * in one row: masked entries written as a huge finite value); B then takes
 * no product with a zero weight, which would be NaN: a term with e^{dp} = 0,
 * a move of B when Sp is 0, and B itself once its Sp is rescaled to 0 add
 * nothing. */
typedef struct {
  float mp, sp, b, mq, sq;
  ie_u32 fl;
} rows_pair;

FN void rows_pair_push(rows_pair *t, float wp, float wq, int pk, int qk, float it) {
  const int hp = wp > -IE_INFINITY_F, hq = wq > -IE_INFINITY_F;
  if (wp > t->mp) {
    if (t->mp != -IE_INFINITY_F) {
      const float r = exp(rows_gap_it(t->mp, wp, pk, it));
      t->sp *= r;
      t->b = r > 0.0f ? t->b * r : 0.0f;
    }
    t->mp = wp;
  }
  if (wq > t->mq) {
    if (t->mq != -IE_INFINITY_F) {
      const float d = rows_gap_it(t->mq, wq, qk, it);
      if (t->sp > 0.0f) t->b += rows_gap_times(t->mq, wq, qk, it, d, t->sp); /* B' = B + (mq − mq')·Sp */
      t->sq *= exp(d);
    }
    t->mq = wq;
  }
  const float dq = hq ? rows_gap_it(wq, t->mq, qk, it) : -IE_INFINITY_F;
  const float ep = hp ? exp(rows_gap_it(wp, t->mp, pk, it)) : 0.0f;
  t->sp += ep;
  t->sq += hq ? exp(dq) : 0.0f;
  if (hp && hq) {
    if (ep > 0.0f) t->b += rows_gap_times(wq, t->mq, qk, it, dq, ep);
  } else if (hp) {
    t->fl |= 1u;
  }
}

FN void rows_pair_merge(rows_pair *x, const rows_pair *y, int pk, int qk, float it) {
  const float mp = fmax(x->mp, y->mp), mq = fmax(x->mq, y->mq);
  const float dxq = x->mq == -IE_INFINITY_F ? 0.0f : rows_gap_it(x->mq, mq, qk, it);
  const float dyq = y->mq == -IE_INFINITY_F ? 0.0f : rows_gap_it(y->mq, mq, qk, it);
  const float rxp = x->mp == -IE_INFINITY_F ? 0.0f : exp(rows_gap_it(x->mp, mp, pk, it));
  const float ryp = y->mp == -IE_INFINITY_F ? 0.0f : exp(rows_gap_it(y->mp, mp, pk, it));
  const float rxq = x->mq == -IE_INFINITY_F ? 0.0f : exp(dxq);
  const float ryq = y->mq == -IE_INFINITY_F ? 0.0f : exp(dyq);
  /* B of each side moved to the new mq (with its own Sp), then rescaled */
  const int mx = x->mq != -IE_INFINITY_F && x->sp > 0.0f, my = y->mq != -IE_INFINITY_F && y->sp > 0.0f;
  const float bx = mx ? x->b + rows_gap_times(x->mq, mq, qk, it, dxq, x->sp) : x->b;
  const float by = my ? y->b + rows_gap_times(y->mq, mq, qk, it, dyq, y->sp) : y->b;
  x->sp = x->sp * rxp + y->sp * ryp;
  x->b = (rxp > 0.0f ? bx * rxp : 0.0f) + (ryp > 0.0f ? by * ryp : 0.0f);
  x->sq = x->sq * rxq + y->sq * ryq;
  x->mp = mp;
  x->mq = mq;
  x->fl |= y->fl;
}

/* Packed as rows_one_pack: the fields, the low parts of log mp and log mq,
 * err. */
FN void rows_pair_pack(const rows_pair *t, int err, float *v) {
  v[0] = t->mp, v[1] = t->sp, v[2] = t->b, v[3] = t->mq, v[4] = t->sq, v[5] = AS_FLOAT(t->fl);
  v[6] = 0.0f, v[7] = 0.0f, v[ROWS_PAIR_N] = AS_FLOAT((ie_u32)err);
}
FN void rows_pair_unpack(const float *v, rows_pair *t, int *err) {
  t->mp = v[0], t->sp = v[1], t->b = v[2], t->mq = v[3], t->sq = v[4], t->fl = AS_UINT(v[5]);
  *err = (int)AS_UINT(v[ROWS_PAIR_N]);
}

FN void rows_pair_merge_packed(float *v, const float *o, int pk, int qk, float it) {
  rows_pair a, b;
  int ea, eb;
  rows_pair_unpack(v, &a, &ea);
  rows_pair_unpack(o, &b, &eb);
  rows_pair_merge(&a, &b, pk, qk, it);
  rows_pair_pack(&a, max(ea, eb), v);
}

#define ROWS_TWO_ARGS                                                          \
  GLOBAL const ie_u8 *x, ie_u64 xoff, ie_u64 xstride, int xdt, int xkind,     \
      GLOBAL const ie_u8 *y, ie_u64 yoff, ie_u64 ystride, int ydt, int ykind, float it, \
      ie_u64 V, ie_u32 nrows, ie_u32 nchunks, ie_u64 clen, ie_u32 W

KERNEL void rows_p1_pair(ROWS_TWO_ARGS, GLOBAL float *part, GLOBAL ie_i32 *perr) {
  LOCAL_ARRAY(float, sh, ROWS_WG_MAX *(ROWS_PAIR_N + 1));
  const ie_u64 nteams = (ie_u64)nrows * nchunks;
  ROWS_TEAMS_BEGIN(nteams)
    rows_pair st = {-IE_INFINITY_F, 0.0f, 0.0f, -IE_INFINITY_F, 0.0f, 0u};
    int err = 0;
    if (team < nteams) {
      const ie_u64 row = team / nchunks, c = team - row * nchunks;
      const ie_u64 beg = c * clen, end = min(V, beg + clen);
      const ie_u64 rx = xoff + row * xstride, ry = yoff + row * ystride;
      ROWS_PAIR_WALK(x, rx, xdt, xkind, y, ry, ydt, ykind, beg, end, lane, W, err,
                     rows_pair_push(&st, wp, wq, xkind, ykind, it));
    }
    float v[ROWS_PAIR_N + 1], o[ROWS_PAIR_N + 1];
    rows_pair_pack(&st, err, v);
    ROWS_TEAM_REDUCE(v, o, ROWS_PAIR_N + 1, rows_pair_merge_packed(v, o, xkind, ykind, it));
    if (lane == 0 && team < nteams) {
      rows_log_split(&v[0], &v[6], xkind);
      rows_log_split(&v[3], &v[7], ykind);
      for (int k = 0; k < ROWS_PAIR_N; k++) part[team * ROWS_PAIR_N + k] = v[k];
      perr[team] = (ie_i32)AS_UINT(v[ROWS_PAIR_N]);
    }
  ROWS_TEAMS_END
}

/* ======================================================================== */
/* Finishing a row: its chunks merged in chunk order, in double.              */

/* The merged state of one side: max, S, and the extras of one matrix. */
typedef struct {
  double m, s, x, v;
} rows_acc;

FN double rows_gpow_d(double d, double ed, double alpha) {
  const double x = (alpha - 1.0) * d;
  return fabs(x) < 0.5 ? ed * expm1(x) : exp(alpha * d) - ed;
}

/* a ⊕ (chunk state bm, bs, bx, bv) for mode (ROWS_STATE_*), in double; bm
 * the chunk's max log-weight (rows_log_join). */
FN void rows_acc_merge(rows_acc *a, double bm, float bs, float bx, float bv, int mode, double it,
                       double alpha) {
  if (bm == -IE_INFINITY) return;
  if (a->m == -IE_INFINITY) {
    a->m = bm, a->s = bs, a->x = bx, a->v = bv;
    return;
  }
  const double m = a->m > bm ? a->m : bm;
  const double da = (a->m - m) * it, db = (bm - m) * it, ra = exp(da), rb = exp(db);
  if (mode == ROWS_STATE_SHANNON) a->x = ra * (a->x + da * a->s) + rb * (bx + db * bs);
  if (mode == ROWS_STATE_POWER) {
    const double qa = exp(alpha * da), qb = exp(alpha * db);
    a->v = a->v * qa + a->s * rows_gpow_d(da, ra, alpha) + bv * qb + bs * rows_gpow_d(db, rb, alpha);
    a->x = a->x * qa + bx * qb;
  }
  a->s = a->s * ra + bs * rb;
  a->m = m;
}

/* One-pass rows: logsumexp, NLL, the entropies (mode ROWS_STATE_LSE, _NLL,
 * _SHANNON, _POWER) and cross-entropy (ROWS_STATE_PAIR).  One work-item a
 * row writes val and err. */
KERNEL void rows_finish(GLOBAL const float *part, GLOBAL const ie_i32 *perr, ie_u32 nrows,
                        ie_u32 nchunks, int mode, int value, double it, double alpha,
                        GLOBAL double *val, GLOBAL ie_i32 *err) {
  const ie_u64 row = (ie_u64)GLOBAL_ID();
  if (row >= nrows) return;
  const int ks = mode == ROWS_STATE_PAIR ? ROWS_PAIR_N : ROWS_ONE_N;
  rows_acc p = {-IE_INFINITY, 0.0, 0.0, 0.0}, q = {-IE_INFINITY, 0.0, 0.0, 0.0};
  double b = 0.0; /* cross-entropy's B, relative to the merged maxima */
  ie_u32 fl = 0;
  int e = 0;
  for (ie_u32 c = 0; c < nchunks; c++) {
    const ie_u64 t = row * nchunks + c;
    GLOBAL const float *s = part + t * ks;
    e = max(e, (int)perr[t]);
    if (mode != ROWS_STATE_PAIR) {
      rows_acc_merge(&p, rows_log_join(s[0], s[5]), s[1], s[2], s[3], mode, it, alpha);
      continue;
    }
    /* B moves with mq (B' = B + (mq − mq')·Sp) and scales with mp */
    const double cp = rows_log_join(s[0], s[6]), cq = rows_log_join(s[3], s[7]);
    const double mp = p.m > cp ? p.m : cp, mq = q.m > cq ? q.m : cq;
    const double ba = q.m == -IE_INFINITY ? b : b + (q.m - mq) * it * p.s;
    const double bc = (float)it > ROWS_B_RAW_IT ? s[2] * it / (double)ROWS_B_RAW_SCALE
                                                : s[2] / (double)ROWS_B_SCALE;
    const double bb = cq == -IE_INFINITY ? bc : bc + (cq - mq) * it * s[1];
    const double ra = p.m == -IE_INFINITY ? 0.0 : exp((p.m - mp) * it);
    const double rb = cp == -IE_INFINITY ? 0.0 : exp((cp - mp) * it);
    b = ba * ra + bb * rb;
    fl |= AS_UINT(s[5]);
    rows_acc_merge(&p, cp, s[1], 0.0f, 0.0f, ROWS_STATE_LSE, it, alpha);
    rows_acc_merge(&q, cq, s[4], 0.0f, 0.0f, ROWS_STATE_LSE, it, alpha);
  }
  double v = IE_NAN;
  if (e == ROWS_ERR_IGNORED) {
    e = 0;
    v = 0.0;
  } else {
    if (!e && (p.m == -IE_INFINITY || (mode == ROWS_STATE_PAIR && q.m == -IE_INFINITY)))
      e = ROWS_ERR_EMPTY;
    if (!e) {
      const double ls = log(p.s);
      switch (value) {
      case ROWS_LOGSUMEXP: v = p.m * it + ls; break;
      case ROWS_NLL: {
        GLOBAL const float *c0 = part + row * nchunks * ks; /* chunk 0: the label's w */
        const double y = rows_log_join(c0[4], c0[6]);
        v = y == -IE_INFINITY ? IE_INFINITY : (p.m - y) * it + ls;
        break;
      }
      case ROWS_SHANNON: v = ls - p.x / p.s; break;
      case ROWS_RENYI_INF: v = ls; break;
      case ROWS_RENYI: v = rows_renyi_entropy(rows_log_power_sum(p.s, p.x, p.v, alpha), alpha); break;
      case ROWS_TSALLIS: v = rows_tsallis_entropy(rows_log_power_sum(p.s, p.x, p.v, alpha), alpha); break;
      default: v = (fl & 1u) ? IE_INFINITY : log(q.s) - b / p.s; /* cross-entropy */
      }
    }
  }
  val[row] = e ? IE_NAN : v;
  err[row] = e;
}

/* What a second read needs of each row: rs[ROWS_STATS_N·row ..] = mp, Lp,
 * mq, Lq, C (C = (mq − mp)/T + Lq − Lp, so that lq − lp = (wq − wp)/T − C);
 * rerr[row] its error (EMPTY when a side has no mass).  `pair`: the chunk
 * states are rows_pair (else rows_one). */
KERNEL void rows_stats(GLOBAL const float *part, GLOBAL const ie_i32 *perr, ie_u32 nrows,
                       ie_u32 nchunks, int pair, double it, GLOBAL double *rs, GLOBAL ie_i32 *rerr) {
  const ie_u64 row = (ie_u64)GLOBAL_ID();
  if (row >= nrows) return;
  const int ks = pair ? ROWS_PAIR_N : ROWS_ONE_N;
  rows_acc p = {-IE_INFINITY, 0.0, 0.0, 0.0}, q = {-IE_INFINITY, 0.0, 0.0, 0.0};
  int e = 0;
  for (ie_u32 c = 0; c < nchunks; c++) {
    const ie_u64 t = row * nchunks + c;
    GLOBAL const float *s = part + t * ks;
    e = max(e, (int)perr[t]);
    rows_acc_merge(&p, rows_log_join(s[0], s[pair ? 6 : 5]), s[1], 0.0f, 0.0f, ROWS_STATE_LSE,
                   it, 0.0);
    if (pair)
      rows_acc_merge(&q, rows_log_join(s[3], s[7]), s[4], 0.0f, 0.0f, ROWS_STATE_LSE, it, 0.0);
  }
  if (!e && (p.m == -IE_INFINITY || (pair && q.m == -IE_INFINITY))) e = ROWS_ERR_EMPTY;
  GLOBAL double *r = rs + row * ROWS_STATS_N;
  const double Lp = log(p.s), Lq = pair ? log(q.s) : 0.0;
  r[0] = p.m;
  r[1] = Lp;
  r[2] = q.m;
  r[3] = Lq;
  r[4] = pair && !e ? (q.m - p.m) * it + (Lq - Lp) : 0.0;
  rerr[row] = e;
}

/* ======================================================================== */
/* Pass 2: a second read for the kinds that need normalised terms.           */

/* φ(x)/x² for φ(x) = e^{−x} − 1 + x, |x| < ½: Σ_k (−x)^k/(k+2)! to k = 7
 * (the coefficients of src/cpu/vmath.h's KL_PHI_G). */
FN float rows_phi_g(float x) {
  return 1.0f / 2 + x * (-1.0f / 6 + x * (1.0f / 24 + x * (-1.0f / 120 + x * (1.0f / 720 +
         x * (-1.0f / 5040 + x * (1.0f / 40320 + x * (-1.0f / 362880)))))));
}

FN float rows_sq(float v) { return v * v; }

/* An online logsumexp (m, s) of the values t (t = +inf: +inf), in double. */
FN void rows_lse_push(double *m, double *s, double t) {
  if (t == -IE_INFINITY) return;
  if (t > *m) {
    *s = *m == -IE_INFINITY ? 1.0 : *s * exp(*m - t) + 1.0;
    *m = t;
  } else {
    *s += t == *m ? 1.0 : exp(t - *m);
  }
}
/* The same with the term's exp in float, for float t (the cross sums of
 * Bhattacharyya and Cauchy–Schwarz past float's exp). */
FN void rows_lse_push_f(double *m, double *s, float t) {
  if (t > *m) {
    *s = *m == -IE_INFINITY ? 1.0 : *s * exp((float)(*m - t)) + 1.0;
    *m = t;
  } else {
    *s += exp((float)(t - *m));
  }
}
FN void rows_lse_merge(double *m, double *s, double bm, double bs) {
  if (bm == -IE_INFINITY || *m == IE_INFINITY) return;
  if (*m == -IE_INFINITY || bm == IE_INFINITY) {
    *m = bm;
    *s = bs;
  } else if (bm > *m) {
    *s = *s * exp(*m - bm) + bs;
    *m = bm;
  } else {
    *s += bs * exp(bm - *m);
  }
}

/* The row's statistics as the terms use them: floats, and the doubles that
 * the power family's far terms need.  A side of probabilities is taken in
 * the frame of its max value vm: its log-weights are rows_gap(v, vm), and
 * its max log-weight is 0 (rows_p2). */
typedef struct {
  float it, mp, Lp, mq, Lq, DR, DL, vmp, vmq;
  double itd, Lpd, Lqd, Cd, alpha, oma;
  int sharp;  /* log-weights come times 1/T (rows_frame); it and itd are 1 */
  int dlog;   /* probabilities' log-weights from double logs (rows_frame) */
  double itf; /* 1/T for rows_frame */
} rows_row;

/* The gain of a log-weight's error in pass 2's far terms (1/T, times the
 * largest power of a side, |α| or |1 − α|, in the power family; 2 in χ²)
 * above which a probability's log-weight is taken from double logs: a
 * float log is off by |log|·6e-8, which 1/T = 1000 made 3e-5 of a χ² of
 * 1e130, and order 10 8e-6 of a Tsallis of 1e43. */
#define ROWS_DLOG_GAIN 4.0

/* Weight w (rows_to_w) as pass 2's log-weight: a logit as it is, a
 * probability relative to its row's max value vm, from double logs where
 * `dlog` (ROWS_DLOG_GAIN).  With `sharp` (both sides probabilities, 1/T
 * above ROWS_SHARP_IT) the log-weight comes times 1/T (itd), and the row's
 * terms take 1/T as 1. */
FN double rows_frame(float w, int kind, float vm, int sharp, int dlog, double itd) {
  if (kind == ROWS_LOGITS || w == -IE_INFINITY_F) return w;
  if (sharp) return rows_log_gap_d(w, vm) * itd;
  return dlog ? rows_log_gap_d(w, vm) : rows_gap(w, vm, kind);
}

/* δ = lq − lp of one element with both sides > 0, as ((wq − wp) − DR)/T − DL
 * (DR = mq − mp rounded to a float, as wq − wp is at the maxima; DL =
 * Lq − Lp), the differences of the inputs first, so that terms of nearly
 * equal p and q keep their accuracy and identical rows give exactly 0; or,
 * where those differences are the larger (rows of very different scale,
 * logits near 5000 against logits near 5), as ((wq − mq) − (wp − mp))/T − DL
 * from each side's gap to its max, whose rounding is the smaller.  Either
 * gives δ = −DL at both maxima, whatever the size of the logits and 1/T's
 * rounding in float. */
FN float rows_delta(float wp, float wq, const rows_row *r) {
  const float gp = wp - r->mp, gq = wq - r->mq, dw = wq - wp;
  const float by_inputs = fmax(fabs(dw), fabs(r->DR)), by_gaps = fmax(-gp, -gq);
  return (by_inputs <= by_gaps ? dw - r->DR : gq - gp) * r->it - r->DL;
}

/* The same δ in double, for the far terms: (wq − wp)/T − C, or from the
 * gaps where those are the smaller (C's (mq − mp)/T keeps no digit of the
 * gaps where the logits are near 1e30): rows_by_gaps. */
FN double rows_delta_d(double wpd, double wqd, const rows_row *r) {
  if (!rows_by_gaps(wpd, wqd, r->mp, r->mq)) return (wqd - wpd) * r->itd - r->Cd;
  return ((wqd - r->mq) - (wpd - r->mp)) * r->itd - (r->Lqd - r->Lpd);
}

/* Add the terms of one element (log-weights wp, wq) to the sums s[0..5]
 * (docs/KERNELS.md, "Pass 2"): dp = (wp − mp)/T, lp = dp − Lp (likewise q),
 * and δ = lq − lp (rows_delta).  Terms are float, their running sums
 * double. */
FN void rows_terms_push(double *s, double wpd, double wqd, const rows_row *r, const int terms,
                        float alpha, float oma, float beta, float lbeta, float lbeta1) {
  const float wp = (float)wpd, wq = (float)wqd; /* (wpd, wqd: the far power terms') */
  const float it = r->it, mp = r->mp, Lp = r->Lp, mq = r->mq, Lq = r->Lq;
  const int hp = wp > -IE_INFINITY_F, hq = wq > -IE_INFINITY_F;
  const float dp = hp ? (wp - mp) * it : -IE_INFINITY_F, dq = hq ? (wq - mq) * it : -IE_INFINITY_F;
  if (terms == ROWS_TERMS_BHATTACHARYYA || terms == ROWS_TERMS_CAUCHY_SCHWARZ) {
    /* the cross sum Σ e^{t}: terms below e^{-64} into the logsumexp
     * s[4], s[5] (far-apart rows have every term below float's exp) */
    const int cs = terms == ROWS_TERMS_CAUCHY_SCHWARZ;
    const float t = cs ? dp + dq : 0.5f * (dp + dq);
    if (t >= -64.0f) s[0] += exp(t);
    else if (t > -IE_INFINITY_F) rows_lse_push_f(&s[4], &s[5], t);
    else if (hp && hq) /* (t past float's range: gaps of logits ±3e38 over T < 1) */
      rows_lse_push(&s[4], &s[5], (cs ? 1.0 : 0.5) * ((wpd - mp) * r->itd + (wqd - mq) * r->itd));
    s[1] += exp(cs ? 2.0f * dp : dp);
    s[2] += exp(cs ? 2.0f * dq : dq);
    if (cs) return;
  }
  if (!hp && !hq) return;
  const float lp = dp - Lp, lq = dq - Lq;
  /* δ = lq − lp; ±inf when one side has no mass */
  const float d = !hq ? -IE_INFINITY_F : !hp ? IE_INFINITY_F : rows_delta(wp, wq, r);
  float t = 0.0f;
  switch (terms) {
  case ROWS_TERMS_POWER_P:
  case ROWS_TERMS_POWER_Q: {
    /* In the frame of one side ("own": p for POWER_P, q for POWER_Q), with
     * δo its log-ratio to the other (δ, −δ) and k the other's power (1 − α,
     * α): the term p^α q^{1−α} = own·e^{kδo} = e^{lt} into the logsumexp
     * s[4], s[5]; W = Σ own·expm1(kδo) into s[0]; E = Σ own·expm1(δo), the
     * other side as these δo make it, minus own, into s[3]; s[1] = Σ p,
     * s[2] = Σ q (rows_power_log).  Each term's W and E take the same own
     * and δo, so that a constant error in δo (the float normalisers Lp, Lq
     * and DL) cancels between them.  Where the exponents are not small, lt
     * and E's other side are formed in double: far-apart rows at large
     * orders give lt of 100s, where a float's ulp (1e-5) would be the
     * result's relative error. */
    const int pform = terms == ROWS_TERMS_POWER_P;
    const float p = hp ? exp(lp) : 0.0f, q = hq ? exp(lq) : 0.0f;
    const float own = pform ? p : q, k = pform ? oma : alpha;
    double lt;
    float w, e;
    if (!hq || !hp) { /* one side 0: own·e^{kδo} is 0 while k's side is the
                       * 0 one and k > 0 (at α = 0 too: a term with p = 0
                       * adds nothing, docs/SPEC.md §1), else +inf */
      const int zero = !hq ? oma > 0.0f : alpha >= 0.0f;
      lt = zero ? -IE_INFINITY : IE_INFINITY;
      w = zero ? -own : IE_INFINITY_F;
      e = (pform ? q - p : p - q);
    } else if (d == 0.0f) {
      lt = pform ? lp : lq;
      w = 0.0f;
      e = 0.0f;
    } else {
      const float dso = pform ? d : -d, u = k * dso; /* (k rounded once from double) */
      const int wnear = fabs(u) < 0.5f, enear = fabs(dso) < 0.5f;
      lt = (pform ? lp : lq) + u;
      w = own * expm1(u);
      e = own * expm1(dso);
      if (!wnear) {
        const double dd = rows_delta_d(wpd, wqd, r);
        const double lod = pform ? (wpd - mp) * r->itd - r->Lpd : (wqd - mq) * r->itd - r->Lqd;
        lt = lod + (pform ? r->oma * dd : -r->alpha * dd);
        w = exp((float)lt) - own;
      }
      if (!enear) /* the other side's log as it is (lod + δo would cancel
                   * where own is far below float's range) */
        e = exp((float)(pform ? (wqd - mq) * r->itd - r->Lqd : (wpd - mp) * r->itd - r->Lpd)) - own;
    }
    s[0] += w;
    s[1] += p;
    s[2] += q;
    s[3] += e;
    rows_lse_push(&s[4], &s[5], lt);
    break;
  }
  case ROWS_TERMS_KL: {
    /* KL in its non-negative form Σ p·φ(log p/q), φ(x) = e^{−x} − 1 + x:
     * p·φ(−δ) = q − p − p·δ (p·e^{δ} = q), as p·δ²·φ_g(−δ) near δ = 0,
     * where the first form would cancel; KL(q‖p) likewise with q·φ(δ).
     * p = 0 < q adds q to KL(p‖q) and +inf to KL(q‖p).  Where δ of two
     * finite log-weights passes float's range (logits of ±3e38 in one row),
     * the far forms take it in double: −p·δ is finite (reverse KL of
     * [3e38, −3e38, 3e38] against [1, 0, 1] is 9.3e37), not the +inf of
     * a probability 0. */
    const float p = exp(lp), q = exp(lq), d2 = d * d;
    if (hp && hq && !(fabs(d) < IE_INFINITY_F)) {
      const double dd = rows_delta_d(wpd, wqd, r);
      s[0] += (double)q - p - p * dd;
      s[1] += (double)p - q + q * dd;
      break;
    }
    const int small = fabs(d) < 0.5f;
    s[0] += d == -IE_INFINITY_F ? IE_INFINITY_F : d == IE_INFINITY_F ? q
            : small ? p * d2 * rows_phi_g(-d) : q - p - p * d;
    s[1] += d == IE_INFINITY_F ? IE_INFINITY_F : d == -IE_INFINITY_F ? p
            : small ? q * d2 * rows_phi_g(d) : p - q + q * d;
    break;
  }
  case ROWS_TERMS_JS:
    if (d == -IE_INFINITY_F) {
      t = -beta * exp(lp) * lbeta; /* lp − lm = −log β */
    } else if (d == IE_INFINITY_F) {
      t = -(1.0f - beta) * exp(lq) * lbeta1;
    } else if (d != 0.0f) {
      /* u = lq − lm, v = lp − lm = u − δ, each from log1p of a small term */
      float u, v;
      if (d > 0.0f) {
        u = -log1p(beta * expm1(-d));
        v = u - d;
      } else {
        v = -log1p((1.0f - beta) * expm1(d));
        u = v + d;
      }
      t = beta * exp(lp) * v + (1.0f - beta) * exp(lq) * u;
    }
    s[0] += t;
    break;
  case ROWS_TERMS_TV: /* |p − q| = p |expm1(δ)| = q |expm1(−δ)| */
    s[0] += d <= 0.0f ? -exp(lp) * expm1(d) : -exp(lq) * expm1(-d);
    break;
  case ROWS_TERMS_HELLINGER:
  case ROWS_TERMS_BHATTACHARYYA: /* (√p − √q)² = p·expm1(δ/2)² */
    t = d <= 0.0f ? exp(lp) * rows_sq(expm1(0.5f * d)) : exp(lq) * rows_sq(expm1(-0.5f * d));
    s[terms == ROWS_TERMS_HELLINGER ? 0 : 3] += t;
    break;
  default: /* chi2: (p − q)²/q = q·expm1(−δ)²; q = 0 < p: +inf */
    if (d == -IE_INFINITY_F) {
      s[0] += IE_INFINITY_F;
    } else if (d < -20.0f) {
      /* q e^{−2δ} = p²/q, into the logsumexp s[4], s[5], its log formed
       * in double (it passes float's exp, and a float log of 100s would
       * carry 1e-5) */
      rows_lse_push(&s[4], &s[5], ((wqd - mq) * r->itd - r->Lqd) - 2.0 * rows_delta_d(wpd, wqd, r));
    } else {
      s[0] += exp(lq) * rows_sq(expm1(-d));
    }
    break;
  }
}

/* Merge the sums o into s for `terms`. */
FN void rows_sums_merge(double *s, const double *o, const int terms) {
  if (terms == ROWS_TERMS_RENYI_INF) {
    if (o[0] > s[0]) s[0] = o[0], s[1] = o[1], s[2] = o[2];
    return;
  }
  for (int k = 0; k < 4; k++) s[k] += o[k];
  rows_lse_merge(&s[4], &s[5], o[4], o[5]);
}

/* Rényi of order ∞'s max of wp − wq over p > 0 (+inf where q = 0) into
 * s[0], and its entry's wp, wq into s[1], s[2] (rows_renyi_inf), each
 * side's log-weight in double: a probability's log from its value (its
 * float log, off by up to |log p|·6e-8, moved the max log-ratio of
 * language-model rows by 3e-6), a logit as it is. */
FN void rows_renyi_inf_push(double *s, float vp, float wp, int pkind, float vq, float wq, int qkind) {
  if (!(wp > -IE_INFINITY_F)) return;
  const double dp = pkind == ROWS_LOGITS ? (double)wp : log((double)vp);
  const double dq = qkind == ROWS_LOGITS ? (double)wq : log((double)vq);
  const double d = wq > -IE_INFINITY_F ? dp - dq : IE_INFINITY;
  if (d > s[0]) s[0] = d, s[1] = dp, s[2] = dq;
}

FN void rows_p2_team(GLOBAL const ie_u8 *x, ie_u64 rx, int xdt, int xkind, GLOBAL const ie_u8 *y,
                     ie_u64 ry, int ydt, int ykind, ie_u64 beg, ie_u64 end, ie_u32 lane,
                     ie_u32 W, const rows_row *r, double *s, const int terms, float alpha,
                     float oma, float beta, float lbeta, float lbeta1) {
  int err = 0; /* the row is known good */
  ROWS_PAIR_WALK(x, rx, xdt, xkind, y, ry, ydt, ykind, beg, end, lane, W, err,
                 if (terms == ROWS_TERMS_RENYI_INF) rows_renyi_inf_push(s, vp, wp, xkind, vq, wq, ykind);
                 else rows_terms_push(s, rows_frame(wp, xkind, r->vmp, r->sharp, r->dlog, r->itf),
                                      rows_frame(wq, ykind, r->vmq, r->sharp, r->dlog, r->itf), r, terms,
                                      alpha, oma, beta, lbeta, lbeta1));
}

KERNEL void rows_p2(ROWS_TWO_ARGS, GLOBAL const double *rs, GLOBAL const ie_i32 *rerr, int terms,
                    double itd, double alphad, float beta, float lbeta, float lbeta1,
                    GLOBAL double *part) {
  LOCAL_ARRAY(double, sh, ROWS_WG_MAX *ROWS_SUMS_N);
  const float alpha = (float)alphad, oma = (float)(1.0 - alphad);
  const ie_u64 nteams = (ie_u64)nrows * nchunks;
  ROWS_TEAMS_BEGIN(nteams)
    double v[ROWS_SUMS_N] = {0.0, 0.0, 0.0, 0.0, -IE_INFINITY, 0.0}, o[ROWS_SUMS_N];
    if (terms == ROWS_TERMS_RENYI_INF) v[0] = -IE_INFINITY;
    if (team < nteams) {
      const ie_u64 row = team / nchunks, c = team - row * nchunks;
      if (rerr[row] == 0) {
        const ie_u64 beg = c * clen, end = min(V, beg + clen);
        const ie_u64 rx = xoff + row * xstride, ry = yoff + row * ystride;
        GLOBAL const double *rr = rs + row * ROWS_STATS_N;
        /* A side of probabilities: its max value (rr holds its log, to
         * double's precision, so exp gives back the float exactly) and the
         * shift of its frame, whose max log-weight is 0. */
        const double sp = xkind == ROWS_LOGITS ? 0.0 : rr[0];
        const double sq = ykind == ROWS_LOGITS ? 0.0 : rr[2];
        rows_row r;
        r.vmp = xkind == ROWS_LOGITS ? 0.0f : (float)exp(rr[0]);
        r.vmq = ykind == ROWS_LOGITS ? 0.0f : (float)exp(rr[2]);
        r.it = it, r.mp = (float)(rr[0] - sp), r.Lp = (float)rr[1], r.mq = (float)(rr[2] - sq);
        r.Lq = (float)rr[3];
        r.DR = (float)((rr[2] - sq) - (rr[0] - sp)), r.DL = (float)(rr[3] - rr[1]);
        r.itd = itd, r.Lpd = rr[1], r.Lqd = rr[3], r.Cd = rr[4] - (sq - sp) * itd;
        r.alpha = alphad, r.oma = 1.0 - alphad;
        r.sharp = xkind != ROWS_LOGITS && ykind != ROWS_LOGITS && it > ROWS_SHARP_IT;
        r.itf = itd;
        const int power = terms == ROWS_TERMS_POWER_P || terms == ROWS_TERMS_POWER_Q;
        r.dlog = itd * (power ? fmax(1.0, fmax(fabs(alphad), fabs(1.0 - alphad)))
                              : terms == ROWS_TERMS_CHI2 ? 2.0 : 1.0) > ROWS_DLOG_GAIN;
        if (r.sharp) r.it = 1.0f, r.itd = 1.0; /* (the frames' maxima are 0: mp = mq = DR = 0) */
        /* one call a kind, each with its constant, so that the compilers
         * specialise the loop; the switch is uniform */
#define ROWS_P2_CASE(K)                                                        \
  case K:                                                                      \
    rows_p2_team(x, rx, xdt, xkind, y, ry, ydt, ykind, beg, end, lane, W, &r, v, K, alpha, \
                 oma, beta, lbeta, lbeta1);                                    \
    break;
        switch (terms) {
          ROWS_P2_CASE(ROWS_TERMS_KL)
          ROWS_P2_CASE(ROWS_TERMS_JS)
          ROWS_P2_CASE(ROWS_TERMS_TV)
          ROWS_P2_CASE(ROWS_TERMS_HELLINGER)
          ROWS_P2_CASE(ROWS_TERMS_BHATTACHARYYA)
          ROWS_P2_CASE(ROWS_TERMS_CHI2)
          ROWS_P2_CASE(ROWS_TERMS_POWER_P)
          ROWS_P2_CASE(ROWS_TERMS_POWER_Q)
          ROWS_P2_CASE(ROWS_TERMS_RENYI_INF)
          ROWS_P2_CASE(ROWS_TERMS_CAUCHY_SCHWARZ)
        }
#undef ROWS_P2_CASE
      }
    }
    ROWS_TEAM_REDUCE(v, o, ROWS_SUMS_N, rows_sums_merge(v, o, terms));
    if (lane == 0 && team < nteams)
      for (int k = 0; k < ROWS_SUMS_N; k++) part[team * ROWS_SUMS_N + k] = v[k];
  ROWS_TEAMS_END
}

/* Rényi of order ∞, max lp − lq, from the entry (log-weights wp, wq in
 * double) where wp − wq is largest and the row's statistics r: ((wp − wq) −
 * (mp − mq))/T − (Lp − Lq), the differences of inputs exact in double and
 * rounded once (z = w/T of logits near 1e29 would carry 1e13); or from
 * each side's gap to its max (rows_by_gaps). */
FN double rows_renyi_inf(double wp, double wq, GLOBAL const double *r, double it) {
  const double d = rows_by_gaps(wp, wq, r[0], r[2]) ? (wp - r[0]) - (wq - r[2])
                                                    : (wp - wq) - (r[0] - r[2]);
  return d * it - (r[1] - r[3]);
}

/* A pass-2 row's value from its chunks' sums (merged in chunk order, in
 * double) and its statistics. */
KERNEL void rows_finish_terms(GLOBAL const double *part, GLOBAL const double *rs,
                              GLOBAL const ie_i32 *rerr, ie_u32 nrows, ie_u32 nchunks, int terms,
                              int value, double it, double alpha, GLOBAL double *val,
                              GLOBAL ie_i32 *err) {
  const ie_u64 row = (ie_u64)GLOBAL_ID();
  if (row >= nrows) return;
  double s[4] = {terms == ROWS_TERMS_RENYI_INF ? -IE_INFINITY : 0.0, 0.0, 0.0, 0.0};
  double tm = -IE_INFINITY, ts = 0.0; /* logsumexp of the power terms */
  for (ie_u32 c = 0; c < nchunks; c++) {
    GLOBAL const double *o = part + (row * nchunks + c) * ROWS_SUMS_N;
    if (terms == ROWS_TERMS_RENYI_INF) {
      if (o[0] > s[0]) s[0] = o[0], s[1] = o[1], s[2] = o[2];
      continue;
    }
    for (int k = 0; k < 4; k++) s[k] += o[k];
    rows_lse_merge(&tm, &ts, o[4], o[5]);
  }
  const int e = rerr[row];
  double v = IE_NAN;
  GLOBAL const double *r = rs + row * ROWS_STATS_N;
  if (!e) switch (terms) {
    case ROWS_TERMS_KL:
      v = value == ROWS_KL ? s[0] : value == ROWS_REVERSE_KL ? s[1] : s[0] + s[1];
      break;
    case ROWS_TERMS_TV:
    case ROWS_TERMS_HELLINGER: v = 0.5 * s[0]; break;
    case ROWS_TERMS_BHATTACHARYYA: /* the cross sum: s[0] + its far terms */
      v = rows_bhattacharyya(s[0] > 0.0 ? log(s[0] + exp(rows_lse_of(tm, ts))) : rows_lse_of(tm, ts),
                             s[1], s[2], s[3]);
      break;
    case ROWS_TERMS_CAUCHY_SCHWARZ:
      v = rows_cauchy_schwarz(s[0] > 0.0 ? log(s[0] + exp(rows_lse_of(tm, ts))) : rows_lse_of(tm, ts),
                              s[1], s[2]);
      break;
    case ROWS_TERMS_CHI2: v = s[0] + exp(rows_lse_of(tm, ts)); break;
    case ROWS_TERMS_POWER_P:
    case ROWS_TERMS_POWER_Q: {
      const double L = rows_power_log(s[0], s[1], s[2], s[3], rows_lse_of(tm, ts), alpha,
                                      terms == ROWS_TERMS_POWER_Q);
      v = rows_power_value(value, L, alpha);
      break;
    }
    case ROWS_TERMS_RENYI_INF:
      v = s[0] == IE_INFINITY ? IE_INFINITY : rows_renyi_inf(s[1], s[2], r, it);
      break;
    default: v = s[0]; /* JS, chi2 */
    }
  val[row] = v;
  err[row] = e;
}

/* ======================================================================== */
/* Softmax (log_out = 0) or log-softmax (1) of each row into o, from the    */
/* row statistics of rows_stats; a bad row is written as NaN.               */

/* log_softmax (log_out) or softmax of log-weight w of a row with maximum m
 * and log S = L: w − lse = (w − m)/T − log S; w = −inf gives −inf
 * (probability 0). */
FN float rows_softmax_of(float w, float m, float it, float L, int log_out) {
  const float l = w == -IE_INFINITY_F ? -IE_INFINITY_F : (w - m) * it - L;
  return log_out ? l : exp(l);
}

KERNEL void rows_softmax_out(GLOBAL const ie_u8 *x, ie_u64 xoff, ie_u64 xstride, int xdt,
                             float it, GLOBAL ie_u8 *o, ie_u64 ooff, ie_u64 ostride, int odt,
                             int log_out, ie_u64 V, ie_u32 nrows, ie_u32 nchunks, ie_u64 clen,
                             ie_u32 W, GLOBAL const double *rs, GLOBAL const ie_i32 *rerr) {
  const ie_u32 lid = (ie_u32)LOCAL_ID(), wg = (ie_u32)LOCAL_SIZE();
  const ie_u32 lane = lid & (W - 1), tpg = wg / W;
  const ie_u64 nteams = (ie_u64)nrows * nchunks;
  for (ie_u64 team = (ie_u64)GROUP_ID() * tpg + lid / W; team < nteams;
       team += (ie_u64)NUM_GROUPS() * tpg) {
    const ie_u64 row = team / nchunks, c = team - row * nchunks;
    const ie_u64 beg = c * clen, end = min(V, beg + clen);
    const ie_u64 rx = xoff + row * xstride, ro = ooff + row * ostride;
    const int bad = rerr[row] != 0;
    const float m = (float)rs[row * ROWS_STATS_N], L = (float)rs[row * ROWS_STATS_N + 1];
    int err = 0;
    ie_u64 from = beg + lane;
    if (!bad && rows_vec4(x, rx + beg, xdt)) {
      const ie_u64 tail = rows_vec4_tail(beg, end, W);
      for (ie_u64 i = beg + 4 * (ie_u64)lane; i < tail; i += 4 * (ie_u64)W) {
        float a[4];
        rows_load4(x, rx + i, xdt, 1, a);
        for (int q = 0; q < 4; q++)
          rows_store(o, ro + i + q, odt,
                     rows_softmax_of(rows_to_w(a[q], ROWS_LOGITS, &err), m, it, L, log_out));
      }
      from = tail + lane;
    }
    for (ie_u64 i = from; i < end; i += W) {
      const float v =
          bad ? IE_NAN_F : rows_softmax_of(rows_to_w(rows_load(x, rx + i, xdt), ROWS_LOGITS, &err), m, it, L, log_out);
      rows_store(o, ro + i, odt, v);
    }
  }
}

/* Bytes set to 0xFF (NaN in every float dtype): rows of rowbytes bytes,
 * stridebytes apart, from byte off (ie__ocl_fill_nan of a strided view). */
KERNEL void rows_fill_ones(GLOBAL ie_u8 *b, ie_u64 off, ie_u64 rowbytes, ie_u64 stridebytes,
                           ie_u64 rows) {
  const ie_u64 total = rows * rowbytes;
  for (ie_u64 i = (ie_u64)GLOBAL_ID(); i < total; i += (ie_u64)GLOBAL_SIZE()) {
    const ie_u64 r = i / rowbytes, c = i - r * rowbytes;
    b[off + r * stridebytes + c] = (ie_u8)0xFF;
  }
}

/* ======================================================================== */
/* The outcome of a device-resident call (rows_outcome.h), batch by batch: */
/* row r0 + i's value val[i] (never below 0 with `clamp`) goes to the     */
/* caller's per_row (prdt ROWS_F32/ROWS_F64; −1: none), its error err[i]   */
/* to the bad-row count and first bad row; with `sums`, kept rows (weight */
/* from w, 0 for an NLL row whose label is the ignore index) go to the    */
/* exact sums, counts and min/max of src/partial.c.  has_val = 0          */
/* (softmax): errors only.  Offsets and strides are in elements (labels:  */
/* int32 words); w's dtype is an ie_dtype (−1: no weights).               */

FN double rows_oc_weight(GLOBAL const ie_u8 *w, ie_u64 i, int wdt, int *bad) {
  double v = 1.0;
  switch (wdt) {
  case 0: v = (double)((GLOBAL const float *)w)[i]; break;
  case 3: v = ((GLOBAL const double *)w)[i]; break;
  case 4: return ((GLOBAL const ie_i32 *)w)[i] != 0 ? 1.0 : 0.0;
  case 5: return ((GLOBAL const ie_i64 *)w)[i] != 0 ? 1.0 : 0.0;
  case 6: return w[i] != 0 ? 1.0 : 0.0;
  default: return 1.0;
  }
  if (!(v >= 0.0) || v == IE_INFINITY) *bad = 1;
  return v;
}

#if !defined(IE_KERNEL_OPENCL) || defined(cl_khr_int64_base_atomics)
FN void rows_oc_add(GLOBAL ie_u64 *limbs, double x) {
  ie_u64 p[3];
  int neg = 0;
  const int k = rows_oc_split(x, p, &neg);
  for (int j = 0; j < 3; j++)
    if (p[j]) ATOMIC_ADD_U64(limbs + k + j, neg ? (ie_u64)0 - p[j] : p[j]);
}

KERNEL void rows_outcome(GLOBAL const double *val, GLOBAL const ie_i32 *err, ie_u32 nrows,
                         ie_u64 r0, int has_val, int clamp, int sums, GLOBAL ie_u8 *pr,
                         ie_u64 proff, ie_u64 prstride, int prdt, GLOBAL const ie_u8 *w,
                         ie_u64 woff, ie_u64 wstride, int wdt, GLOBAL const ie_i32 *lab,
                         ie_u64 loff, ie_u64 lstride, int lab64, int has_ignore, ie_i64 ignore,
                         GLOBAL ie_u8 *ocb, ie_u64 ocoff) {
  GLOBAL ie_u64 *oc = (GLOBAL ie_u64 *)(ocb + ocoff);
  for (ie_u64 i = (ie_u64)GLOBAL_ID(); i < nrows; i += (ie_u64)GLOBAL_SIZE()) {
    const ie_u64 g = r0 + i;
    int wbad = 0;
    double wi = has_val ? rows_oc_weight(w, woff + g * wstride, wdt, &wbad) : 1.0;
    if (has_val && has_ignore && rows_label(lab, loff, lstride, lab64, g) == ignore) wi = 0.0;
    /* a row left out (weight 0, an ignored label) is not checked: its
     * value is NaN where it has none (docs/SPEC.md §1) */
    const int out = !wbad && wi == 0.0, e = out ? 0 : err[i];
    if (e) {
      ATOMIC_ADD_U64(oc + ROWS_OC_BAD, 1);
      ATOMIC_MAX_U64(oc + ROWS_OC_FIRST, ~((g << 8) | (ie_u64)e));
    }
    if (!has_val) continue;
    double v = out && err[i] ? IE_NAN : val[i];
    if (clamp && v <= 0.0) v = 0.0; /* docs/SPEC.md §1: never below 0, and +0 for −0 */
    if (prdt == ROWS_F64) ((GLOBAL double *)pr)[proff + g * prstride] = v;
    else if (prdt == ROWS_F32) ((GLOBAL float *)pr)[proff + g * prstride] = (float)v;
    if (wbad) {
      ATOMIC_ADD_U64(oc + ROWS_OC_WBAD, 1);
      ATOMIC_MAX_U64(oc + ROWS_OC_WFIRST, ~g);
      continue;
    }
    if (!sums || e || wi == 0.0) continue;
    ATOMIC_ADD_U64(oc + ROWS_OC_KEPT, 1);
    if (v == v) { /* min and max skip NaN, as src/partial.c's comparisons do */
      const ie_u64 key = rows_oc_key(v);
      ATOMIC_MAX_U64(oc + ROWS_OC_MIN, ~key);
      ATOMIC_MAX_U64(oc + ROWS_OC_MAX, key);
      if (v == 0.0) ATOMIC_MAX_U64(oc + ROWS_OC_ZERO, ~((g << 1) | (AS_ULONG(v) >> 63)));
    }
    rows_oc_add(oc + ROWS_OC_WSUM, wi);
    const double x = wi == 1.0 ? v : wi * v;
    if (x != x) ATOMIC_ADD_U64(oc + ROWS_OC_NAN, 1);
    else if (x == IE_INFINITY) ATOMIC_ADD_U64(oc + ROWS_OC_PINF, 1);
    else if (x == -IE_INFINITY) ATOMIC_ADD_U64(oc + ROWS_OC_NINF, 1);
    else if (x != 0.0) rows_oc_add(oc + ROWS_OC_SUM, x);
  }
}
#endif
