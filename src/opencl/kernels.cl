/*
 * kernels.cl — every OpenCL kernel of infoest, one program, OpenCL C 1.2.
 * Sections: common definitions; pass 1; pass 2 and the softmax output.
 *
 * Common: dtype and row-error codes (they mirror src/backend.h), element
 * loads and stores, the conversion of an element to a log-weight z
 * (docs/KERNELS.md, "Reading a row"), and the team geometry.
 *
 * Work decomposition (every row kernel): a "team" of W work-items (W a power
 * of two dividing the work-group size) owns one (row, chunk) pair; a
 * work-group holds wg/W teams, and work-groups loop over teams, so every
 * work-item of a group runs the same number of iterations and meets the same
 * barriers.  Lane l of a team reads elements chunk_begin + l, + l + W, ...
 * (coalesced).  Teams reduce their lanes' states by a tree in local memory.
 */
#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

/* ie_dtype of src/backend.h */
#define IE_DT_F32 0
#define IE_DT_F16 1
#define IE_DT_BF16 2
#define IE_DT_F64 3

/* ie_rowerr_code of src/backend.h, plus one internal code */
#define IE_ROW_NONFINITE 1
#define IE_ROW_NEGATIVE 2
#define IE_ROW_EMPTY 3
#define IE_ROW_BAD_LABEL 4
#define IE_ROW_IGNORED 64 /* NLL row whose label is the ignore index */

/* ie_input_kind */
#define IE_LOGITS 0
#define IE_PROBS 1

#define NEG_INF (-INFINITY)

/* Element i of a matrix of dtype dt, widened to float. */
static inline float ie_load(global const uchar *b, ulong i, int dt) {
  switch (dt) {
  case IE_DT_F16:
    return vload_half(i, (global const half *)b);
  case IE_DT_BF16:
    return as_float((uint)((global const ushort *)b)[i] << 16);
#ifdef cl_khr_fp64
  case IE_DT_F64:
    return (float)((global const double *)b)[i];
#endif
  default:
    return ((global const float *)b)[i];
  }
}

/* float -> bf16 bits, round to nearest even; NaN stays a (quiet) NaN. */
static inline ushort ie_to_bf16(float f) {
  uint u = as_uint(f);
  if (isnan(f)) return (ushort)((u >> 16) | 0x40u);
  u += 0x7FFFu + ((u >> 16) & 1u);
  return (ushort)(u >> 16);
}

static inline void ie_store(global uchar *b, ulong i, int dt, float v) {
  switch (dt) {
  case IE_DT_F16:
    vstore_half_rte(v, i, (global half *)b);
    break;
  case IE_DT_BF16:
    ((global ushort *)b)[i] = ie_to_bf16(v);
    break;
#ifdef cl_khr_fp64
  case IE_DT_F64:
    ((global double *)b)[i] = (double)v;
    break;
#endif
  default:
    ((global float *)b)[i] = v;
  }
}

/* An element v of kind `kind` as a log-weight z at inverse temperature it:
 * for logits (v − c)·it, c the row's shift (ie_row_max), so that z keeps
 * the digits of the difference v − c where v·it alone would round at the
 * size of v.  A bad element sets *err and reads as -inf (no support). */
static inline float ie_to_z(float v, int kind, float it, float c, int *err) {
  if (kind == IE_LOGITS) {
    if (isnan(v) || v == INFINITY) {
      *err = IE_ROW_NONFINITE;
      return NEG_INF;
    }
    return (v - c) * it;
  }
  if (isnan(v) || isinf(v)) {
    *err = IE_ROW_NONFINITE;
    return NEG_INF;
  }
  if (v < 0.0f) {
    *err = max(*err, IE_ROW_NEGATIVE);
    return NEG_INF;
  }
  return it == 1.0f ? log(v) : it * log(v); /* log 0 = -inf */
}

/* logaddexp(a, b) = log(e^a + e^b), with -inf handled. */
static inline float ie_logaddexp(float a, float b) {
  float hi = fmax(a, b), lo = fmin(a, b);
  if (hi == NEG_INF) return NEG_INF;
  return hi + log1p(exp(lo - hi));
}

/* Fill bytes with 0xFF (NaN for every float dtype): rows of rowbytes bytes,
 * stridebytes apart, starting at byte off. */
/* The largest finite element of each of nrows rows (0 for a row with none),
 * one work-group a row: the shift of ie_to_z for temperatures whose 1/T is
 * not a power of two. */
kernel void ie_row_max(global const uchar *x, ulong xoff, ulong xstride, int xdt, ulong V,
                       uint nrows, global float *out, local float *sh) {
  const uint lid = get_local_id(0), wg = get_local_size(0);
  for (uint row = get_group_id(0); row < nrows; row += get_num_groups(0)) {
    const ulong rb = xoff + row * xstride;
    float m = NEG_INF;
    for (ulong i = lid; i < V; i += wg) {
      const float v = ie_load(x, rb + i, xdt);
      if (v < INFINITY) m = fmax(m, v); /* not NaN, not +inf */
    }
    sh[lid] = m;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint k = wg >> 1; k > 0; k >>= 1) {
      if (lid < k) sh[lid] = fmax(sh[lid], sh[lid + k]);
      barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) out[row] = sh[0] > NEG_INF ? sh[0] : 0.0f;
    barrier(CLK_LOCAL_MEM_FENCE);
  }
}

kernel void ie_fill_ones(global uchar *b, ulong off, ulong rowbytes,
                         ulong stridebytes, ulong rows) {
  const ulong total = rows * rowbytes;
  for (ulong i = get_global_id(0); i < total; i += get_global_size(0)) {
    ulong r = i / rowbytes, c = i - r * rowbytes;
    b[off + r * stridebytes + c] = (uchar)0xFF;
  }
}

/* ======================================================================== */

/*
 * Pass 1 of docs/KERNELS.md: one read of each row, an online
 * (max, sum) state per lane, a tree merge per team, one partial state per
 * (row, chunk) written to `part`.  The host merges the chunks of a row in
 * double, in chunk order, and finishes the formulas (src/opencl/ocl_rows.c);
 * ie_lse_rows merges them on the device when a second pass needs lse.
 */

/* ---- One matrix: lse, entropies, NLL --------------------------------------- */

#define M_LSE 0     /* m, S */
#define M_SHANNON 1 /* + x = T = Σ e^{z−m}(z − m) */
#define M_POW 2     /* + x = U = Σ e^{α(z−m)} (α = 0: count of finite z) */
#define M_NLL 3     /* m, S; y = z at the label (lane 0 of chunk 0) */
#define M_POWM1 4   /* + x = W = Σ e^{z−m} expm1((α−1)(z−m)) = U − S, for α near 1 */

/* e^d expm1((α−1)d) = e^{αd} − e^d, accurate for either size of (α−1)d.
 * am1 = α − 1 rounded once from double (α rounded to float would lose the
 * relative accuracy of α − 1 near α = 1). */
static inline float ie_gpow(float d, float ed, float alpha, float am1) {
  float x = am1 * d;
  return fabs(x) < 0.5f ? ed * expm1(x) : exp(alpha * d) - ed;
}

#define ST1_N 4 /* floats of a partial state: m, S, x, y */

typedef struct {
  float m, s, x, y;
} st1;

/* Add one log-weight z (not NaN) to a lane's state. */
/* Shannon's T rescaled to a max higher by −d: T' = r(T + d·S), r = e^d; 0
 * once r is, before d·S (d down to −3e38 with masked logits) overflows. */
static inline float ie_t_rescale(float r, float t, float d, float s) {
  return r > 0.0f ? r * (t + d * s) : 0.0f;
}

static inline void st1_push(st1 *t, float z, const int mode, float alpha,
                            float am1) {
  if (z == NEG_INF) return;
  if (z > t->m) {
    if (t->m == NEG_INF) {
      t->s = 1.0f;
      t->x = mode == M_POW ? 1.0f : 0.0f;
    } else {
      float d = t->m - z, r = exp(d);
      if (mode == M_SHANNON) t->x = ie_t_rescale(r, t->x, d, t->s);
      if (mode == M_POW) t->x = t->x * exp(alpha * d) + 1.0f; /* U' = U r^α */
      if (mode == M_POWM1) t->x = t->x * exp(alpha * d) + t->s * ie_gpow(d, r, alpha, am1);
      t->s = t->s * r + 1.0f;
    }
    t->m = z;
  } else {
    float d = z - t->m, e = exp(d);
    t->s += e;
    if (mode == M_SHANNON) t->x += e * d;
    if (mode == M_POW) t->x += exp(alpha * d);
    if (mode == M_POWM1) t->x += ie_gpow(d, e, alpha, am1);
  }
}

/* Merge b into a (a keeps its y). */
static inline st1 st1_merge(st1 a, st1 b, const int mode, float alpha,
                           float am1) {
  if (b.m == NEG_INF) return a;
  if (a.m == NEG_INF) {
    b.y = a.y;
    return b;
  }
  float m = fmax(a.m, b.m), da = a.m - m, db = b.m - m;
  float ra = exp(da), rb = exp(db);
  st1 r;
  r.m = m;
  r.s = a.s * ra + b.s * rb;
  r.x = 0.0f;
  if (mode == M_SHANNON) r.x = ie_t_rescale(ra, a.x, da, a.s) + ie_t_rescale(rb, b.x, db, b.s);
  if (mode == M_POW) r.x = a.x * exp(alpha * da) + b.x * exp(alpha * db);
  /* W' = W e^{αδ} + S g(δ) for each side, δ = its max − the new max */
  if (mode == M_POWM1)
    r.x = a.x * exp(alpha * da) + a.s * ie_gpow(da, ra, alpha, am1) +
          b.x * exp(alpha * db) + b.s * ie_gpow(db, rb, alpha, am1);
  r.y = a.y;
  return r;
}

/* Long label y of row `row`: int32 or (little-endian) int64. */
static inline long ie_label(global const int *lab, ulong off, ulong stride,
                            int lab64, ulong row) {
  ulong i = off + row * stride;
  if (!lab64) return (long)lab[i];
#ifdef __ENDIAN_LITTLE__
  return (long)(((ulong)(uint)lab[i + 1] << 32) | (ulong)(uint)lab[i]);
#else
  return (long)(((ulong)(uint)lab[i] << 32) | (ulong)(uint)lab[i + 1]);
#endif
}

static inline void p1_one(global const uchar *x, ulong xoff, ulong xstride,
                          int xdt, int xkind, float it, global const float *shift,
                          float alpha, float am1, ulong V,
                          uint nrows, uint nchunks, ulong clen, uint W,
                          global const int *lab, ulong loff, ulong lstride,
                          int lab64, long ignore, int has_ignore,
                          global float *part, global int *perr,
                          local float *sh, const int mode) {
  const uint lid = get_local_id(0), wg = get_local_size(0);
  const uint lane = lid & (W - 1), tpg = wg / W;
  const ulong nteams = (ulong)nrows * nchunks;
  for (ulong base = (ulong)get_group_id(0) * tpg; base < nteams;
       base += (ulong)get_num_groups(0) * tpg) {
    const ulong team = base + lid / W;
    st1 st = {NEG_INF, 0.0f, 0.0f, NEG_INF};
    int err = 0;
    if (team < nteams) {
      const ulong row = team / nchunks, c = team - row * nchunks;
      const ulong beg = c * clen, end = min(V, beg + clen);
      const ulong rb = xoff + row * xstride;
      const float cs = shift ? shift[row] : 0.0f;
      int skip = 0;
      if (mode == M_NLL) {
        long y = ie_label(lab, loff, lstride, lab64, row);
        if (has_ignore && y == ignore) {
          err = IE_ROW_IGNORED;
          skip = 1;
        } else if (y < 0 || (ulong)y >= V) {
          err = IE_ROW_BAD_LABEL;
          skip = 1;
        } else if (c == 0 && lane == 0) {
          st.y = (ie_load(x, rb + (ulong)y, xdt) - cs) * it; /* NaN/+inf: flagged below */
        }
      }
      if (!skip)
        for (ulong i = beg + lane; i < end; i += W)
          st1_push(&st, ie_to_z(ie_load(x, rb + i, xdt), xkind, it, cs, &err), mode, alpha,
                   am1);
    }
    /* tree over the team's lanes */
    sh[0 * wg + lid] = st.m;
    sh[1 * wg + lid] = st.s;
    sh[2 * wg + lid] = st.x;
    sh[3 * wg + lid] = st.y;
    sh[4 * wg + lid] = as_float(err);
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint s = W >> 1; s > 0; s >>= 1) {
      if (lane < s) {
        const uint o = lid + s;
        st1 b = {sh[o], sh[wg + o], sh[2 * wg + o], sh[3 * wg + o]};
        st = st1_merge(st, b, mode, alpha, am1);
        err = max(err, as_int(sh[4 * wg + o]));
        sh[0 * wg + lid] = st.m;
        sh[1 * wg + lid] = st.s;
        sh[2 * wg + lid] = st.x;
        sh[4 * wg + lid] = as_float(err);
      }
      barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lane == 0 && team < nteams) {
      global float *p = part + team * ST1_N;
      p[0] = st.m;
      p[1] = st.s;
      p[2] = st.x;
      p[3] = st.y;
      perr[team] = err;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
}

#define P1_ONE_ARGS                                                           \
  global const uchar *x, ulong xoff, ulong xstride, int xdt, int xkind,       \
      float it, global const float *shift, float alpha, float am1, ulong V,   \
      uint nrows, uint nchunks,                                               \
      ulong clen,                                                             \
      uint W, global const int *lab, ulong loff, ulong lstride, int lab64,    \
      long ignore, int has_ignore, global float *part, global int *perr,      \
      local float *sh
#define P1_ONE_CALL(mode)                                                      \
  p1_one(x, xoff, xstride, xdt, xkind, it, shift, alpha, am1, V, nrows,      \
         nchunks,                                                              \
         clen, W,                                                              \
         lab, loff, lstride, lab64, ignore, has_ignore, part, perr, sh, mode)

kernel void ie_p1_lse(P1_ONE_ARGS) { P1_ONE_CALL(M_LSE); }
kernel void ie_p1_shannon(P1_ONE_ARGS) { P1_ONE_CALL(M_SHANNON); }
kernel void ie_p1_pow(P1_ONE_ARGS) { P1_ONE_CALL(M_POW); }
kernel void ie_p1_nll(P1_ONE_ARGS) { P1_ONE_CALL(M_NLL); }
kernel void ie_p1_powm1(P1_ONE_ARGS) { P1_ONE_CALL(M_POWM1); }

/* ---- Two matrices: KL family, cross-entropy, lse of both ----------------------- */

#define ST2_N 8 /* mp, Sp, A, B, mq, Sq, Aq, flags */
#define FL_KL 1u  /* zp > -inf where zq = -inf: KL(p‖q), CE are +inf */
#define FL_RKL 2u /* zq > -inf where zp = -inf: KL(q‖p) is +inf */

typedef struct {
  float mp, sp, a, b; /* A = Σ e^{zp−mp}(zp − zq), B = Σ e^{zp−mp}(zq − mq) */
  float mq, sq, aq;   /* Aq = Σ e^{zq−mq}(zq − zp) */
  uint fl;
} st2;

static inline void st2_push(st2 *t, float zp, float zq) {
  const int hp = zp > NEG_INF, hq = zq > NEG_INF;
  if (zp > t->mp) {
    if (t->mp != NEG_INF) {
      float r = exp(t->mp - zp);
      t->sp *= r;
      t->a *= r;
      t->b *= r;
    }
    t->mp = zp;
  }
  if (zq > t->mq) {
    if (t->mq != NEG_INF) {
      float r = exp(t->mq - zq);
      t->b += (t->mq - zq) * t->sp; /* B' = B + (mq − mq')Sp */
      t->sq *= r;
      t->aq *= r;
    }
    t->mq = zq;
  }
  float ep = hp ? exp(zp - t->mp) : 0.0f, eq = hq ? exp(zq - t->mq) : 0.0f;
  t->sp += ep;
  t->sq += eq;
  if (hp && hq) {
    t->a += ep * (zp - zq);
    t->b += ep * (zq - t->mq);
    t->aq += eq * (zq - zp);
  } else if (hp) {
    t->fl |= FL_KL;
  } else if (hq) {
    t->fl |= FL_RKL;
  }
}

static inline st2 st2_merge(st2 x, st2 y) {
  st2 r;
  r.fl = x.fl | y.fl;
  r.mp = fmax(x.mp, y.mp);
  r.mq = fmax(x.mq, y.mq);
  float rxp = x.mp == NEG_INF ? 0.0f : exp(x.mp - r.mp);
  float ryp = y.mp == NEG_INF ? 0.0f : exp(y.mp - r.mp);
  float rxq = x.mq == NEG_INF ? 0.0f : exp(x.mq - r.mq);
  float ryq = y.mq == NEG_INF ? 0.0f : exp(y.mq - r.mq);
  /* B of each side moved to the new mq (with its own Sp), then rescaled */
  float bx = x.mq == NEG_INF ? x.b : x.b + (x.mq - r.mq) * x.sp;
  float by = y.mq == NEG_INF ? y.b : y.b + (y.mq - r.mq) * y.sp;
  r.sp = x.sp * rxp + y.sp * ryp;
  r.a = x.a * rxp + y.a * ryp;
  r.b = bx * rxp + by * ryp;
  r.sq = x.sq * rxq + y.sq * ryq;
  r.aq = x.aq * rxq + y.aq * ryq;
  return r;
}

kernel void ie_p1_two(global const uchar *x, ulong xoff, ulong xstride,
                      int xdt, int xkind, global const uchar *y, ulong yoff,
                      ulong ystride, int ydt, int ykind, float it,
                      global const float *shp, global const float *shq, ulong V,
                      uint nrows, uint nchunks, ulong clen, uint W,
                      global float *part, global int *perr, local float *sh) {
  const uint lid = get_local_id(0), wg = get_local_size(0);
  const uint lane = lid & (W - 1), tpg = wg / W;
  const ulong nteams = (ulong)nrows * nchunks;
  for (ulong base = (ulong)get_group_id(0) * tpg; base < nteams;
       base += (ulong)get_num_groups(0) * tpg) {
    const ulong team = base + lid / W;
    st2 st = {NEG_INF, 0.0f, 0.0f, 0.0f, NEG_INF, 0.0f, 0.0f, 0u};
    int err = 0;
    if (team < nteams) {
      const ulong row = team / nchunks, c = team - row * nchunks;
      const ulong beg = c * clen, end = min(V, beg + clen);
      const ulong rx = xoff + row * xstride, ry = yoff + row * ystride;
      const float cp = shp ? shp[row] : 0.0f, cq = shq ? shq[row] : 0.0f;
      for (ulong i = beg + lane; i < end; i += W) {
        float zp = ie_to_z(ie_load(x, rx + i, xdt), xkind, it, cp, &err);
        float zq = ie_to_z(ie_load(y, ry + i, ydt), ykind, it, cq, &err);
        st2_push(&st, zp, zq);
      }
    }
#define ST2_STORE(j)                  \
  sh[0 * wg + (j)] = st.mp;           \
  sh[1 * wg + (j)] = st.sp;           \
  sh[2 * wg + (j)] = st.a;            \
  sh[3 * wg + (j)] = st.b;            \
  sh[4 * wg + (j)] = st.mq;           \
  sh[5 * wg + (j)] = st.sq;           \
  sh[6 * wg + (j)] = st.aq;           \
  sh[7 * wg + (j)] = as_float(st.fl); \
  sh[8 * wg + (j)] = as_float(err)
    ST2_STORE(lid);
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint s = W >> 1; s > 0; s >>= 1) {
      if (lane < s) {
        const uint o = lid + s;
        st2 b = {sh[o],          sh[wg + o],     sh[2 * wg + o],
                 sh[3 * wg + o], sh[4 * wg + o], sh[5 * wg + o],
                 sh[6 * wg + o], as_uint(sh[7 * wg + o])};
        st = st2_merge(st, b);
        err = max(err, as_int(sh[8 * wg + o]));
        ST2_STORE(lid);
      }
      barrier(CLK_LOCAL_MEM_FENCE);
    }
#undef ST2_STORE
    if (lane == 0 && team < nteams) {
      global float *p = part + team * ST2_N;
      p[0] = st.mp;
      p[1] = st.sp;
      p[2] = st.a;
      p[3] = st.b;
      p[4] = st.mq;
      p[5] = st.sq;
      p[6] = st.aq;
      p[7] = (float)st.fl;
      perr[team] = err;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
}

/* ---- Per-row lse from the chunk states (for a second pass) ---------------------
 * One work-item a row merges its chunks in order: rs[4 row ..] = (mp, log Sp,
 * mq, log Sq/Sp), rerr[row] = the row's error (EMPTY when a side has no support).
 * `ks` is the state size (ST1_N or ST2_N); `two`: the state has a q side. */
kernel void ie_lse_rows(global const float *part, global const int *perr,
                        uint nrows, uint nchunks, uint ks, int two,
                        global float *rs, global int *rerr) {
  const ulong row = get_global_id(0);
  if (row >= nrows) return;
  float mp = NEG_INF, sp = 0.0f, mq = NEG_INF, sq = 0.0f;
  int err = 0;
  for (uint c = 0; c < nchunks; c++) {
    const ulong t = row * nchunks + c;
    global const float *p = part + t * ks;
    err = max(err, perr[t]);
    if (p[0] != NEG_INF) {
      float m = fmax(mp, p[0]);
      sp = (mp == NEG_INF ? 0.0f : sp * exp(mp - m)) + p[1] * exp(p[0] - m);
      mp = m;
    }
    if (two && p[4] != NEG_INF) {
      float m = fmax(mq, p[4]);
      sq = (mq == NEG_INF ? 0.0f : sq * exp(mq - m)) + p[5] * exp(p[4] - m);
      mq = m;
    }
  }
  if (err == 0 && (mp == NEG_INF || (two && mq == NEG_INF))) err = IE_ROW_EMPTY;
  rs[4 * row + 0] = mp;
  rs[4 * row + 1] = log(sp);
  rs[4 * row + 2] = mq;
  rs[4 * row + 3] = two ? log(sq / sp) : 0.0f; /* Lq − Lp, without Lp's rounding */
  rerr[row] = err;
}

/* ======================================================================== */

/*
 * Pass 2: second reads: divergences that need normalised terms
 * (docs/KERNELS.md, "Pass 2") and the softmax / log-softmax output.  Both
 * take rs[4 row ..] = (mp, Lp, mq, Lq − Lp) and rerr[row] from ie_lse_rows.
 *
 * Divergence terms use δ = lq − lp = (zq − zp) − C with the row constant
 * C = (mq − mp) + (Lq − Lp): the difference of two inputs is formed first,
 * so terms of nearly equal p and q keep their accuracy and identical rows
 * give exactly 0.
 */

#define K_JS 0    /* s0 = Σ β p (lp − lm) + (1−β) q (lq − lm) */
#define K_TV 1    /* s0 = Σ |p − q| */
#define K_HELL 2  /* s0 = Σ (√p − √q)² */
#define K_BHATT 3 /* s0 = Σ e^{(dp+dq)/2}, s1 = Σ e^{dp}, s2 = Σ e^{dq}, s3 = Σ (√p − √q)² */
#define K_CHI2 4  /* s0 = Σ (p − q)²/q */
#define K_POW 5   /* s0 = Σ p expm1((1−α)δ), s1 = Σ p, s2 = Σ q, s3 = Σ (p − q) */
#define K_RINF 6  /* s0 = max over p > 0 of lp − lq */
#define K_CS 7    /* s0 = Σ e^{dp+dq}, s1 = Σ e^{2dp}, s2 = Σ e^{2dq} */
#define K_POW0 8  /* K_POW for α near 0: s0 = Σ q expm1(−αδ) */
#define K_KL 9    /* s0 = Σ p φ(−δ) = KL(p‖q), s1 = Σ q φ(δ) = KL(q‖p) */

#define ST3_N 4

static inline float sq_(float v) { return v * v; }

/* φ(x)/x² for φ(x) = e^{−x} − 1 + x, |x| < ½: Σ_k (−x)^k/(k+2)! to k = 7,
 * the coefficients of src/cpu/vmath.h's KL_PHI_G. */
static inline float phi_g(float x) {
  return 1.0f / 2 + x * (-1.0f / 6 + x * (1.0f / 24 + x * (-1.0f / 120 + x * (1.0f / 720 +
         x * (-1.0f / 5040 + x * (1.0f / 40320 + x * (-1.0f / 362880)))))));
}

static inline void p2_push(float4 *acc, float zp, float zq, float mp,
                           float Lp, float mq, float Lq, float C,
                           const int kind, float alpha, float oma,
                           float beta, float lbeta, float lbeta1) {
  const int hp = zp > NEG_INF, hq = zq > NEG_INF;
  const float dp = zp - mp, dq = zq - mq; /* -inf where there is no mass */
  if (kind == K_BHATT || kind == K_CS) {
    acc->s0 += exp(kind == K_CS ? dp + dq : 0.5f * (dp + dq));
    acc->s1 += exp(kind == K_CS ? 2.0f * dp : dp);
    acc->s2 += exp(kind == K_CS ? 2.0f * dq : dq);
    if (kind == K_CS) return;
  }
  if (!hp && !hq) return;
  const float lp = dp - Lp, lq = dq - Lq;
  /* δ = lq − lp; ±inf when one side has no mass */
  const float d = !hq ? NEG_INF : !hp ? INFINITY : (zq - zp) - C;
  float t = 0.0f;
  switch (kind) {
  case K_POW:
  case K_POW0: {
    /* Σ p^α q^(1−α) = Σ p + Σ p expm1((1−α)δ) = Σ q + Σ q expm1(−αδ): the
     * host takes log1p of the expm1 sum (the first for α near 1, the second
     * for α near 0) when it is small, else log(P + W).  s3 = Σ (p − q), a
     * sum of small terms for close rows: log P − log Q = log1p(s3/Q) keeps
     * digits that two float sums P, Q, each off by 1e-7, would not. */
    const float p = exp(lp), q = exp(lq);
    float u, w; /* u: the term of Σ p^α q^(1−α), for w */
    if (!hq) { /* q = 0 < p */
      u = oma > 0.0f ? 0.0f : INFINITY;
      w = kind == K_POW0 ? u : oma > 0.0f ? -p : INFINITY;
    } else if (!hp) { /* p = 0 < q */
      u = alpha > 0.0f ? 0.0f : INFINITY;
      w = kind == K_POW ? u : alpha > 0.0f ? -q : INFINITY;
    } else if (d == 0.0f) {
      u = p;
      w = 0.0f;
    } else if (kind == K_POW) {
      const float x = oma * d; /* (1 − α)δ, oma rounded once from double */
      u = exp(lp + x);
      w = fabs(x) < 0.5f ? p * expm1(x) : u - p;
    } else {
      const float x = -alpha * d;
      u = exp(lq + x);
      w = fabs(x) < 0.5f ? q * expm1(x) : u - q;
    }
    acc->s0 += w;
    acc->s1 += hp ? p : 0.0f;
    acc->s2 += hq ? q : 0.0f;
    acc->s3 += (hp ? p : 0.0f) - (hq ? q : 0.0f);
    break;
  }
  case K_KL: {
    /* KL in its non-negative form Σ p·φ(log p/q), φ(x) = e^{−x} − 1 + x:
     * p·φ(−δ) = q − p − p·δ (p·e^{δ} = q), as p·δ²·phi_g(−δ) near δ = 0,
     * where the first form would cancel; KL(q‖p) likewise with q·φ(δ).
     * p = 0 < q adds q to KL(p‖q) (its φ-form term) and +inf to KL(q‖p). */
    const float p = exp(lp), q = exp(lq), d2 = d * d;
    const int small = fabs(d) < 0.5f;
    acc->s0 += d == NEG_INF ? INFINITY : d == INFINITY ? q
               : small ? p * d2 * phi_g(-d) : q - p - p * d;
    acc->s1 += d == INFINITY ? INFINITY : d == NEG_INF ? p
               : small ? q * d2 * phi_g(d) : p - q + q * d;
    break;
  }
  case K_JS:
    if (d == NEG_INF) {
      t = -beta * exp(lp) * lbeta; /* lp − lm = −log β */
    } else if (d == INFINITY) {
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
    acc->s0 += t;
    break;
  case K_TV: /* |p − q| = p |expm1(δ)| = q |expm1(−δ)| */
    acc->s0 += d <= 0.0f ? -exp(lp) * expm1(d) : -exp(lq) * expm1(-d);
    break;
  case K_HELL:
  case K_BHATT: /* (√p − √q)² = p expm1(δ/2)² */
    t = d <= 0.0f ? exp(lp) * sq_(expm1(0.5f * d)) : exp(lq) * sq_(expm1(-0.5f * d));
    if (kind == K_HELL)
      acc->s0 += t;
    else
      acc->s3 += t;
    break;
  case K_CHI2: /* (p − q)²/q = q expm1(−δ)²; q = 0 < p: +inf */
    if (d == NEG_INF)
      t = INFINITY;
    else if (d < -20.0f)
      t = exp(lq - 2.0f * d); /* q e^{−2δ} = p²/q */
    else
      t = exp(lq) * sq_(expm1(-d));
    acc->s0 += t;
    break;
  case K_RINF:
    if (hp) acc->s0 = fmax(acc->s0, -d); /* −δ = lp − lq; +inf where q = 0 */
    break;
  }
}

kernel void ie_p2_div(global const uchar *x, ulong xoff, ulong xstride,
                      int xdt, int xkind, global const uchar *y, ulong yoff,
                      ulong ystride, int ydt, int ykind, float it,
                      global const float *shp, global const float *shq, ulong V,
                      uint nrows, uint nchunks, ulong clen, uint W,
                      global const float *rs, global const int *rerr,
                      int kind, float alpha, float oma, float beta, float lbeta,
                      float lbeta1, global float *part, local float *sh) {
  const uint lid = get_local_id(0), wg = get_local_size(0);
  const uint lane = lid & (W - 1), tpg = wg / W;
  const ulong nteams = (ulong)nrows * nchunks;
  const float init = kind == K_RINF ? NEG_INF : 0.0f;
  for (ulong base = (ulong)get_group_id(0) * tpg; base < nteams;
       base += (ulong)get_num_groups(0) * tpg) {
    const ulong team = base + lid / W;
    float4 acc = (float4)(init, 0.0f, 0.0f, 0.0f);
    if (team < nteams) {
      const ulong row = team / nchunks, c = team - row * nchunks;
      if (rerr[row] == 0) {
        const ulong beg = c * clen, end = min(V, beg + clen);
        const ulong rx = xoff + row * xstride, ry = yoff + row * ystride;
        const float mp = rs[4 * row], Lp = rs[4 * row + 1];
        const float mq = rs[4 * row + 2], Dq = rs[4 * row + 3], Lq = Lp + Dq;
        /* C from the same rounded Lq, Lp as the terms' lp, lq (q/p = e^δ
         * for the p, q they use); Rényi ∞, a difference alone, from the
         * log of the ratio */
        const float C = (mq - mp) + (Lq - Lp), Cr = (mq - mp) + Dq;
        const int raw = xkind == IE_LOGITS && ykind == IE_LOGITS;
        const float cp = shp ? shp[row] : 0.0f, cq = shq ? shq[row] : 0.0f;
        int err = 0; /* the row is known good */
        /* One kernel for every kind: the switch is uniform. */
#define P2_LOOP(K)                                                             \
  for (ulong i = beg + lane; i < end; i += W) {                                \
    float zp = ie_to_z(ie_load(x, rx + i, xdt), xkind, it, cp, &err);          \
    float zq = ie_to_z(ie_load(y, ry + i, ydt), ykind, it, cq, &err);          \
    p2_push(&acc, zp, zq, mp, Lp, mq, Lq, C, K, alpha, oma, beta, lbeta, lbeta1); \
  }                                                                            \
  break;
        switch (kind) {
        case K_JS: P2_LOOP(K_JS)
        case K_TV: P2_LOOP(K_TV)
        case K_HELL: P2_LOOP(K_HELL)
        case K_BHATT: P2_LOOP(K_BHATT)
        case K_CHI2: P2_LOOP(K_CHI2)
        case K_POW: P2_LOOP(K_POW)
        case K_POW0: P2_LOOP(K_POW0)
        case K_RINF:
          /* max of lp − lq, from the difference of the inputs where both
           * are logits: ((xp − xq) − (cp − cq))·it + C keeps digits that
           * z's own rounding (an ulp of |x − c|·it) would lose */
          for (ulong i = beg + lane; i < end; i += W) {
            const float u = ie_load(x, rx + i, xdt), v = ie_load(y, ry + i, ydt);
            const float zp = ie_to_z(u, xkind, it, cp, &err), zq = ie_to_z(v, ykind, it, cq, &err);
            if (zp > NEG_INF)
              acc.s0 = fmax(acc.s0, zq == NEG_INF ? INFINITY
                                    : raw ? ((u - v) - (cp - cq)) * it + Cr : (zp - zq) + Cr);
          }
          break;
        case K_KL: P2_LOOP(K_KL)
        default: P2_LOOP(K_CS)
        }
#undef P2_LOOP
      }
    }
    sh[0 * wg + lid] = acc.s0;
    sh[1 * wg + lid] = acc.s1;
    sh[2 * wg + lid] = acc.s2;
    sh[3 * wg + lid] = acc.s3;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint s = W >> 1; s > 0; s >>= 1) {
      if (lane < s) {
        const uint o = lid + s;
        float4 b = (float4)(sh[o], sh[wg + o], sh[2 * wg + o], sh[3 * wg + o]);
        if (kind == K_RINF)
          acc.s0 = fmax(acc.s0, b.s0);
        else
          acc += b;
        sh[0 * wg + lid] = acc.s0;
        sh[1 * wg + lid] = acc.s1;
        sh[2 * wg + lid] = acc.s2;
        sh[3 * wg + lid] = acc.s3;
      }
      barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lane == 0 && team < nteams) vstore4(acc, team, part);
    barrier(CLK_LOCAL_MEM_FENCE);
  }
}

/* Softmax (log_out = 0) or log-softmax (1) of each row into `o`; a bad
 * row is written as NaN. */
kernel void ie_softmax_out(global const uchar *x, ulong xoff, ulong xstride,
                           int xdt, float it, global const float *shift,
                           global uchar *o, ulong ooff,
                           ulong ostride, int odt, int log_out, ulong V,
                           uint nrows, uint nchunks, ulong clen, uint W,
                           global const float *rs, global const int *rerr) {
  const uint lid = get_local_id(0), wg = get_local_size(0);
  const uint lane = lid & (W - 1), tpg = wg / W;
  const ulong nteams = (ulong)nrows * nchunks;
  for (ulong team = (ulong)get_group_id(0) * tpg + lid / W; team < nteams;
       team += (ulong)get_num_groups(0) * tpg) {
    const ulong row = team / nchunks, c = team - row * nchunks;
    const ulong beg = c * clen, end = min(V, beg + clen);
    const ulong rx = xoff + row * xstride, ro = ooff + row * ostride;
    const int bad = rerr[row] != 0;
    const float m = rs[4 * row], L = rs[4 * row + 1], cs = shift ? shift[row] : 0.0f;
    int err = 0;
    for (ulong i = beg + lane; i < end; i += W) {
      float v = NAN;
      if (!bad) {
        /* z − lse = (z − m) − log S */
        float l = (ie_to_z(ie_load(x, rx + i, xdt), IE_LOGITS, it, cs, &err) - m) - L;
        v = log_out ? l : exp(l);
      }
      ie_store(o, ro + i, odt, v);
    }
  }
}
