/*
 * common.cuh — PRIVATE to src/cuda: loads, the online (max, sum) state and
 * its merge, group reductions, and the two row kernels every op is built
 * from.  docs/KERNELS.md is the arithmetic; this file is how it is laid on
 * the GPU.
 *
 * Shape of the work.  A row is split into C chunks (C = 1 unless rows are
 * wide and few).  A "group" of G threads (8, 32 or 256: part of a warp, a
 * warp, a block) takes one (row, chunk).  Within a chunk, thread t takes the
 * 8-element batches t, t+G, ... (128-bit loads when the row allows), and the
 * unaligned head and tail as one scalar batch each.  Each thread keeps an
 * online state; the group merges states by a butterfly (xor) shuffle and,
 * for G = 256, through shared memory.  With C > 1 each block writes its
 * chunk's state; the last block of a row to finish (an integer counter, no
 * float atomics) merges the C states in chunk order.  The order of every
 * reduction depends only on the launch shape, so results are bit-identical
 * run after run.
 *
 * Pass 1 reads the input once.  Kinds that need normalised terms (JS, TV,
 * Hellinger, chi2, softmax output) read it again: inside the same kernel
 * when C = 1 (the row is still in cache), else in k_pass2.
 */
#ifndef IE_CU_COMMON_CUH
#define IE_CU_COMMON_CUH

#include <cuda_runtime.h>
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include <stdint.h>
#include <math.h>
#include <float.h>
#include "backend.h"

#define IE_NT 256 /* threads per block, every kernel */
#define IE_FULL 0xffffffffu
#define IE_MINB 4 /* blocks an SM must hold: 64 registers (pair kinds: 3, 85) */

/* Row-state flags. */
enum {
  IE_F_NONFIN = 1, /* NaN / +inf (logits), NaN / inf (probs) */
  IE_F_NEG = 2,    /* negative probability */
  IE_F_INF = 4     /* value is +inf: p > 0 = q (or the sum is infinite) */
};

/* What a kernel computes.  Pair kinds (two matrices) start at K_NONE_JS. */
enum {
  K_LSE = 0,   /* m, S: logsumexp, NLL, Rényi-∞ entropy */
  K_SHAN,      /* + T = Σ e^d d */
  K_POWE,      /* + U = Σ e^{αd}, V = Σ e^d·expm1((α−1)d) */
  K_SMAX,      /* m, S then write softmax / log-softmax */
  K_NONE_JS,   /* pair m, S; pass 2 JS */
  K_NONE_TV,
  K_NONE_HEL,
  K_NONE_CHI2,
  K_NONE_KL,   /* pair m, S; pass 2 KL(p‖q) (reverse KL: p, q swapped) */
  K_NONE_JEF,  /* pair m, S; pass 2 Jeffreys */
  K_CE,        /* B = Σ e^dp dq */
  K_BHAT,      /* Σ e^{(dp+dq)/2} */
  K_POW,       /* Σ e^{α dp + (1−α) dq}; W (st_batch) */
  K_RINF,      /* max (wp − wq) over p > 0 */
  K_CS,        /* Σ e^{dp+dq}, Σ e^{2dp}, Σ e^{2dq} */
  K_COUNT_
};

#define IE_PAIR(K) ((K) >= K_NONE_JS)
#define IE_TWOPASS(K) ((K) >= K_SMAX && (K) <= K_NONE_JEF)

/* The online state.  m are maxima of the raw log-weights w (logits a, or
 * log x for probs); terms use d = (w − m)·(1/T).  Terms and the sum of a
 * batch of 8 are fp32; the running sums and the factors that rescale them
 * are fp64, so that neither the tree of merges nor a moving max adds fp32
 * rounding to a whole partial sum (the power divergences subtract logs of
 * three sums and need them to ~1e-9). */
struct St {
  float mp, mq;
  int f;
  double sp, sq;
  double x, y, z; /* extras, by kind */
};

/* Per-row statistics handed from pass 1 to pass 2. */
struct RowSt {
  float mp, Lp, mq, Lq; /* max and log S */
  float c;              /* (mq − mp)/T + Lq − Lp: lq − lp = (wq − wp)/T − c */
  int err;
};

struct Ps { /* a chunk's pass-2 partial */
  float s;
  int f;
};

/* A matrix as the kernels see it. */
struct Src {
  const char *base; /* buf + offset */
  int64_t stride;   /* elements */
  int dt, esz, probs;
};

/* Everything a launch needs; passed by value. */
struct Par {
  Src p, q;
  int64_t B, V, chunk;
  int C;
  int sub;          /* variant: see st_final */
  float it;         /* 1/T */
  double itd;
  float alpha, beta, lb, l1b; /* α; JS β, log β, log(1 − β) */
  double alphad;
  /* NLL */
  int nll, has_ign, labdt;
  const char *lab;
  int64_t labs, ign;
  /* outputs and scratch */
  double *val;
  int *err;
  St *part;
  Ps *part2;
  RowSt *rs;
  unsigned *cnt, *cnt2;
  /* softmax output */
  char *ob;
  int64_t os;
  int odt, oesz, logo;
};

/* ---- Loads ---------------------------------------------------------------- */

__device__ __forceinline__ float ie_h2f(unsigned short u)
{
  return __half2float(__ushort_as_half(u));
}

__device__ __forceinline__ float ie_bf2f(unsigned u16)
{
  return __uint_as_float(u16 << 16);
}

/* One element, widened to float. */
__device__ __forceinline__ float ie_ld1(const char *row, int dt, int64_t i)
{
  switch (dt) {
  case IE_DT_F16:
    return ie_h2f(__ldg((const unsigned short *)row + i));
  case IE_DT_BF16:
    return ie_bf2f(__ldg((const unsigned short *)row + i));
  case IE_DT_F64:
    return (float)__ldg((const double *)row + i);
  default:
    return __ldg((const float *)row + i);
  }
}

/* One element from an address that is not a multiple of its size (a view
 * at an odd byte offset): assembled from bytes. */
static __device__ __noinline__ float ie_ld1b(const char *row, int dt, int64_t i)
{
  const int esz = dt == IE_DT_F32 ? 4 : dt == IE_DT_F64 ? 8 : 2;
  const unsigned char *b = (const unsigned char *)row + i * esz;
  unsigned long long u = 0;
  for (int k = esz - 1; k >= 0; k--)
    u = (u << 8) | b[k];
  switch (dt) {
  case IE_DT_F16:
    return ie_h2f((unsigned short)u);
  case IE_DT_BF16:
    return ie_bf2f((unsigned)u);
  case IE_DT_F64:
    return (float)__longlong_as_double((long long)u);
  default:
    return __uint_as_float((unsigned)u);
  }
}

__device__ __forceinline__ float ie_ldany(const char *row, int dt, int64_t i,
                                          bool ea)
{
  return ea ? ie_ld1(row, dt, i) : ie_ld1b(row, dt, i);
}

/* Eight elements from a 16-byte aligned address. */
__device__ __forceinline__ void ie_ld8(const char *p, int dt, float v[8])
{
  switch (dt) {
  case IE_DT_F16:
  case IE_DT_BF16: {
    uint4 u = __ldg((const uint4 *)p);
    unsigned w[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
    for (int k = 0; k < 4; k++) {
      if (dt == IE_DT_F16) {
        v[2 * k] = ie_h2f((unsigned short)(w[k] & 0xffffu));
        v[2 * k + 1] = ie_h2f((unsigned short)(w[k] >> 16));
      } else {
        v[2 * k] = __uint_as_float(w[k] << 16);
        v[2 * k + 1] = __uint_as_float(w[k] & 0xffff0000u);
      }
    }
    break;
  }
  case IE_DT_F64: {
#pragma unroll
    for (int k = 0; k < 4; k++) {
      double2 d = __ldg((const double2 *)p + k);
      v[2 * k] = (float)d.x;
      v[2 * k + 1] = (float)d.y;
    }
    break;
  }
  default: {
    float4 a = __ldg((const float4 *)p), b = __ldg((const float4 *)p + 1);
    v[0] = a.x; v[1] = a.y; v[2] = a.z; v[3] = a.w;
    v[4] = b.x; v[5] = b.y; v[6] = b.z; v[7] = b.w;
    break;
  }
  }
}

/* Raw value → log-weight w, checking it (KERNELS.md "Reading a row"). */
__device__ __forceinline__ float ie_w(float x, int probs, int &f)
{
  if (probs) {
    if (!(fabsf(x) <= FLT_MAX))
      f |= IE_F_NONFIN;
    else if (x < 0.f)
      f |= IE_F_NEG;
    return logf(x); /* 0 → -inf */
  }
  if (x != x || x == INFINITY)
    f |= IE_F_NONFIN;
  return x;
}

__device__ __forceinline__ const char *ie_row(const Src &s, int64_t row)
{
  return s.base + row * s.stride * (int64_t)s.esz;
}

/*
 * Walk elements [c0, c1) of a row as batches of 8 log-weights and call
 * f(wp, wq, e0, cnt, vec): elements e0 .. e0+cnt-1, `vec` when they came by
 * 128-bit loads of p (then cnt == 8).  Padding entries are -inf.  Thread t
 * of G: vector batches t, t+G, ...; the head (before p is 16-byte aligned)
 * goes to thread 0, the tail to thread G-1.
 */
template <int G, bool PAIR, class F>
__device__ __forceinline__ void ie_scan(const Par &P, int64_t row, int64_t c0,
                                        int64_t c1, int t, int &fl, F &&f)
{
  if (c1 <= c0)
    return;
  const char *pr = ie_row(P.p, row);
  const char *qr = PAIR ? ie_row(P.q, row) : nullptr;
  const int pe = P.p.esz, qe = PAIR ? P.q.esz : 1;
  const int64_t n = c1 - c0;
  float wp[8], wq[8];
  uintptr_t a = (uintptr_t)(pr + c0 * pe);
  const bool qea = !PAIR || (uintptr_t)qr % (uintptr_t)qe == 0;

  if (a % (uintptr_t)pe) { /* not even element-aligned: all scalar */
#pragma unroll 1
    for (int64_t b = t; b * 8 < n; b += G) {
      int64_t e0 = c0 + b * 8;
      int cnt = (int)min((int64_t)8, c1 - e0);
#pragma unroll
      for (int k = 0; k < 8; k++) {
        wp[k] = k < cnt ? ie_w(ie_ld1b(pr, P.p.dt, e0 + k), P.p.probs, fl) : -INFINITY;
        if (PAIR)
          wq[k] = k < cnt ? ie_w(ie_ldany(qr, P.q.dt, e0 + k, qea), P.q.probs, fl) : -INFINITY;
      }
      f(wp, wq, e0, cnt, false);
    }
    return;
  }
  int64_t h = (int64_t)(((16u - (unsigned)(a & 15u)) & 15u) / (unsigned)pe);
  if (h > n)
    h = n;
  const int64_t b0 = c0 + h, nb = (n - h) >> 3, e1 = b0 + nb * 8;
  const bool qv = PAIR && ((uintptr_t)(qr + b0 * qe) & 15u) == 0;

  /* head (t == 0) and tail (t == G-1): < 8 elements each */
  for (int side = 0; side < 2; side++) {
    int64_t e0 = side ? e1 : c0;
    int cnt = (int)(side ? c1 - e1 : h);
    if (cnt == 0 || t != (side ? G - 1 : 0))
      continue;
#pragma unroll
    for (int k = 0; k < 8; k++) {
      wp[k] = k < cnt ? ie_w(ie_ld1(pr, P.p.dt, e0 + k), P.p.probs, fl) : -INFINITY;
      if (PAIR)
        wq[k] = k < cnt ? ie_w(ie_ldany(qr, P.q.dt, e0 + k, qea), P.q.probs, fl) : -INFINITY;
    }
    f(wp, wq, e0, cnt, false);
  }
#pragma unroll 1
  for (int64_t b = t; b < nb; b += G) {
    int64_t e0 = b0 + b * 8;
    ie_ld8(pr + e0 * pe, P.p.dt, wp);
#pragma unroll
    for (int k = 0; k < 8; k++)
      wp[k] = ie_w(wp[k], P.p.probs, fl);
    if (PAIR) {
      if (qv) {
        ie_ld8(qr + e0 * qe, P.q.dt, wq);
      } else {
#pragma unroll
        for (int k = 0; k < 8; k++)
          wq[k] = ie_ldany(qr, P.q.dt, e0 + k, qea);
      }
#pragma unroll
      for (int k = 0; k < 8; k++)
        wq[k] = ie_w(wq[k], P.q.probs, fl);
    }
    f(wp, wq, e0, 8, true);
  }
}

/* ---- The online state --------------------------------------------------- */

/* Pairwise sum of 8: short serial chains keep fp32 sums accurate. */
__device__ __forceinline__ float ie_sum8(const float v[8])
{
  return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
}

__device__ __forceinline__ float ie_max8(const float v[8])
{
  return fmaxf(fmaxf(fmaxf(v[0], v[1]), fmaxf(v[2], v[3])),
               fmaxf(fmaxf(v[4], v[5]), fmaxf(v[6], v[7])));
}

/* d = (w − m)/T, -inf for w = -inf (never -inf − -inf). */
__device__ __forceinline__ float ie_d(float w, float m, float it)
{
  return w == -INFINITY ? -INFINITY : (w - m) * it;
}

/* Factor and shift (r = e^δ, δ = (m_old − m_new)/T) for moving a max.  An
 * empty side (m_old = -inf) has r = 0, δ = 0: its sums are all 0. */
__device__ __forceinline__ void ie_move(float mold, float mnew, double it,
                                        double &r, double &dl)
{
  if (mold == -INFINITY || mold == mnew) {
    r = mold == -INFINITY ? 0.0 : 1.0;
    dl = 0.0;
  } else {
    dl = ((double)mold - (double)mnew) * it;
    r = exp(dl);
  }
}

template <int K> __device__ __forceinline__ St st_empty()
{
  St s;
  s.mp = s.mq = -INFINITY;
  s.sp = s.sq = 0.0;
  s.x = K == K_RINF ? -(double)INFINITY : 0.0;
  s.y = s.z = 0.0;
  s.f = 0;
  return s;
}

/* Re-express a state relative to new maxima (KERNELS.md pass 1 table).
 * Explicit _rn operations keep FMA contraction out, so that sums that are
 * equal for identical rows stay bit-equal. */
template <int K>
__device__ __forceinline__ void st_rescale(St &s, double rp, double dlp,
                                           double rq, double dlq, const Par &P)
{
  if (K == K_SHAN)
    s.x = __dmul_rn(rp, __dadd_rn(s.x, __dmul_rn(dlp, s.sp)));
  if (K == K_POWE && s.x != 0.0) /* U' = U r^α; at α = 0 the count stays */
    s.x = __dmul_rn(s.x, exp(P.alphad * dlp));
  if (K == K_POWE && dlp != 0.0) { /* V' = r(e^u V + expm1(u) S), u = (α−1)δ */
    const double u = (P.alphad - 1.0) * dlp;
    s.y = rp * (exp(u) * s.y + expm1(u) * s.sp);
  }
  if (K == K_CE)
    s.x = __dmul_rn(rp, __dadd_rn(s.x, __dmul_rn(dlq, s.sp)));
  if (K == K_BHAT)
    s.x = __dmul_rn(s.x, (rp == 0.0 || rq == 0.0) ? 0.0 : exp((dlp + dlq) * 0.5));
  if (K == K_POW) {
    /* W's terms are S·expm1(g·(dp − dq)) (S = e^dp, or e^dq for α < ½):
     * with shifts dlp, dlq, expm1(x + u) = e^u·expm1(x) + expm1(u),
     * u = g·(dlp − dlq), and S scales by r.  Uses the sums before they
     * are rescaled below. */
    const bool qf = P.alphad < 0.5;
    const double u = (qf ? P.alphad : P.alphad - 1.0) * (dlp - dlq);
    const double r = qf ? rq : rp, S = qf ? s.sq : s.sp;
    if (u != 0.0 || r != 1.0)
      s.y = r * (exp(u) * s.y + expm1(u) * S);
  }
  if (K == K_POW && s.x != 0.0) {
    double g;
    if (dlp == dlq)
      g = rp;
    else if (rp == 0.0 || rq == 0.0)
      g = 0.0; /* a side was empty: its terms were 0 or flagged */
    else
      g = exp(P.alphad * dlp + (1.0 - P.alphad) * dlq);
    s.x = __dmul_rn(s.x, g);
  }
  if (K == K_CS) {
    s.x = __dmul_rn(s.x, __dmul_rn(rp, rq));
    s.y = __dmul_rn(s.y, __dmul_rn(rp, rp));
    s.z = __dmul_rn(s.z, __dmul_rn(rq, rq));
  }
  s.sp = __dmul_rn(s.sp, rp);
  if (IE_PAIR(K))
    s.sq = __dmul_rn(s.sq, rq);
}

/* Fold one batch of log-weights into a thread's state. */
template <int K>
__device__ __forceinline__ void st_batch(St &s, const float wp[8],
                                         const float wq[8], const Par &P)
{
  const float it = P.it;
  float vp = ie_max8(wp), vq = IE_PAIR(K) ? ie_max8(wq) : -INFINITY;
  bool mp = vp > s.mp, mq = IE_PAIR(K) && vq > s.mq;
  if (mp || mq) {
    double rp = 1.0, dlp = 0.0, rq = 1.0, dlq = 0.0;
    if (mp)
      ie_move(s.mp, vp, P.itd, rp, dlp);
    if (mq)
      ie_move(s.mq, vq, P.itd, rq, dlq);
    st_rescale<K>(s, rp, dlp, rq, dlq, P);
    if (mp)
      s.mp = vp;
    if (mq)
      s.mq = vq;
  }
  float dp[8], ep[8], dq[8], eq[8], t[8];
#pragma unroll
  for (int k = 0; k < 8; k++) {
    dp[k] = ie_d(wp[k], s.mp, it);
    ep[k] = expf(dp[k]);
    if (IE_PAIR(K)) {
      dq[k] = ie_d(wq[k], s.mq, it);
      eq[k] = expf(dq[k]);
    }
  }
  s.sp = __dadd_rn(s.sp, (double)ie_sum8(ep));
  if (IE_PAIR(K))
    s.sq = __dadd_rn(s.sq, (double)ie_sum8(eq));

  if (K == K_SHAN) {
#pragma unroll
    for (int k = 0; k < 8; k++)
      t[k] = dp[k] == -INFINITY ? 0.f : ep[k] * dp[k];
    s.x += (double)ie_sum8(t);
  }
  if (K == K_POWE) {
    const float g = (float)(P.alphad - 1.0);
    float v[8];
#pragma unroll
    for (int k = 0; k < 8; k++) {
      t[k] = dp[k] == -INFINITY ? 0.f : expf(P.alpha * dp[k]);
      v[k] = dp[k] == -INFINITY ? 0.f : ep[k] * expm1f(g * dp[k]);
    }
    s.x += (double)ie_sum8(t);
    s.y += (double)ie_sum8(v);
  }
  if (K == K_CE) {
    int fl = 0;
#pragma unroll
    for (int k = 0; k < 8; k++) {
      if (dp[k] == -INFINITY) {
        t[k] = 0.f;
      } else if (dq[k] == -INFINITY) {
        t[k] = 0.f;
        fl = IE_F_INF;
      } else {
        t[k] = ep[k] * dq[k];
      }
    }
    s.x += (double)ie_sum8(t);
    s.f |= fl;
  }
  if (K == K_BHAT) {
#pragma unroll
    for (int k = 0; k < 8; k++)
      t[k] = expf((dp[k] + dq[k]) * 0.5f); /* -inf → 0 */
    s.x = __dadd_rn(s.x, (double)ie_sum8(t));
  }
  if (K == K_POW) {
    /* t: the terms of Σ p^α q^{1−α}; w: those of W = Σ p·expm1((α−1)(dp − dq))
     * (for α < ½ the q-form Σ q·expm1(α(dp − dq))), which keeps its digits
     * where the first sum is ~(α − 1)·D from 1 (st_final). */
    const float a = P.alpha, dm = (s.mp - s.mq) * it;
    const bool qf = P.alphad < 0.5;
    const float g = qf ? a : (float)(P.alphad - 1.0);
    float w[8];
    int fl = 0;
#pragma unroll
    for (int k = 0; k < 8; k++) {
      bool zp = dp[k] == -INFINITY, zq = dq[k] == -INFINITY;
      if (zp && zq) {
        t[k] = w[k] = 0.f;
      } else if (zp || zq) { /* p = 0: +inf if α ≤ 0; q = 0: +inf if α ≥ 1 */
        t[k] = 0.f;
        w[k] = zp ? (qf ? -eq[k] : 0.f) : (qf ? 0.f : -ep[k]);
        if (zp ? !(a > 0.f) : !(a < 1.f))
          fl = IE_F_INF;
      } else if (dp[k] == dq[k]) {
        t[k] = ep[k];
        w[k] = 0.f;
      } else {
        t[k] = expf(a * dp[k] + (1.f - a) * dq[k]);
        /* dp − dq from the inputs' difference, as for KL */
        w[k] = (qf ? eq[k] : ep[k]) * expm1f(g * ((wp[k] - wq[k]) * it - dm));
      }
    }
    s.x = __dadd_rn(s.x, (double)ie_sum8(t));
    s.y = __dadd_rn(s.y, (double)ie_sum8(w));
    s.f |= fl;
  }
  if (K == K_RINF) {
#pragma unroll
    for (int k = 0; k < 8; k++) {
      if (dp[k] != -INFINITY) {
        if (dq[k] == -INFINITY)
          s.f |= IE_F_INF;
        else
          s.x = fmax(s.x, (double)(wp[k] - wq[k]));
      }
    }
  }
  if (K == K_CS) {
    float u[8], v[8];
#pragma unroll
    for (int k = 0; k < 8; k++) {
      t[k] = __fmul_rn(ep[k], eq[k]);
      u[k] = __fmul_rn(ep[k], ep[k]);
      v[k] = __fmul_rn(eq[k], eq[k]);
    }
    s.x = __dadd_rn(s.x, (double)ie_sum8(t));
    s.y = __dadd_rn(s.y, (double)ie_sum8(u));
    s.z = __dadd_rn(s.z, (double)ie_sum8(v));
  }
}

/* a ⊕ b, commutative bit for bit (so butterfly lanes agree). */
template <int K>
__device__ __forceinline__ void st_merge(St &a, St b, const Par &P)
{
  const double it = P.itd;
  float mp = fmaxf(a.mp, b.mp), mq = IE_PAIR(K) ? fmaxf(a.mq, b.mq) : -INFINITY;
  double rpa, dpa, rpb, dpb, rqa = 1.0, dqa = 0.0, rqb = 1.0, dqb = 0.0;
  ie_move(a.mp, mp, it, rpa, dpa);
  ie_move(b.mp, mp, it, rpb, dpb);
  if (IE_PAIR(K)) {
    ie_move(a.mq, mq, it, rqa, dqa);
    ie_move(b.mq, mq, it, rqb, dqb);
  }
  st_rescale<K>(a, rpa, dpa, rqa, dqa, P);
  st_rescale<K>(b, rpb, dpb, rqb, dqb, P);
  a.mp = mp;
  a.mq = mq;
  a.sp = __dadd_rn(a.sp, b.sp);
  a.sq = __dadd_rn(a.sq, b.sq);
  a.x = K == K_RINF ? fmax(a.x, b.x) : __dadd_rn(a.x, b.x);
  a.y = __dadd_rn(a.y, b.y);
  a.z = __dadd_rn(a.z, b.z);
  a.f |= b.f;
}

template <int K>
__device__ __forceinline__ St st_shfl(const St &s, int off)
{
  St o;
  o.mp = __shfl_xor_sync(IE_FULL, s.mp, off);
  o.sp = __shfl_xor_sync(IE_FULL, s.sp, off);
  o.f = __shfl_xor_sync(IE_FULL, s.f, off);
  o.mq = -INFINITY;
  o.sq = o.y = o.z = 0.0;
  o.x = K == K_RINF ? -(double)INFINITY : 0.0;
  if (IE_PAIR(K)) {
    o.mq = __shfl_xor_sync(IE_FULL, s.mq, off);
    o.sq = __shfl_xor_sync(IE_FULL, s.sq, off);
  }
  if (K != K_LSE && K != K_SMAX && !(K >= K_NONE_JS && K <= K_NONE_JEF))
    o.x = __shfl_xor_sync(IE_FULL, s.x, off);
  if (K == K_CS || K == K_POW || K == K_POWE)
    o.y = __shfl_xor_sync(IE_FULL, s.y, off);
  if (K == K_CS)
    o.z = __shfl_xor_sync(IE_FULL, s.z, off);
  return o;
}

/* Merge the states of a group; every thread of the group gets the result.
 * G ≤ 32: xor butterfly inside the group's lanes.  G = 256: warps, then
 * warp 0 over the 8 warp results via shared memory `sm` (9 entries). */
template <int G, int K>
__device__ __forceinline__ void st_group(St &s, const Par &P, St *sm)
{
#pragma unroll
  for (int off = (G < 32 ? G : 32) / 2; off > 0; off >>= 1)
    st_merge<K>(s, st_shfl<K>(s, off), P);
  if (G > 32) {
    const int lane = threadIdx.x & 31, w = threadIdx.x >> 5;
    __syncthreads(); /* sm may still be read from an earlier use */
    if (lane == 0)
      sm[w] = s;
    __syncthreads();
    if (w == 0) {
      s = lane < G / 32 ? sm[lane] : st_empty<K>();
#pragma unroll
      for (int off = G / 64; off > 0; off >>= 1)
        st_merge<K>(s, st_shfl<K>(s, off), P);
      if (lane == 0)
        sm[G / 32] = s;
    }
    __syncthreads();
    s = sm[G / 32];
  }
}

/* Sum a float and OR flags over a group (pass 2). */
template <int G>
__device__ __forceinline__ void ps_group(float &v, int &f, float *smv, int *smf)
{
#pragma unroll
  for (int off = (G < 32 ? G : 32) / 2; off > 0; off >>= 1) {
    v += __shfl_xor_sync(IE_FULL, v, off);
    f |= __shfl_xor_sync(IE_FULL, f, off);
  }
  if (G > 32) {
    const int lane = threadIdx.x & 31, w = threadIdx.x >> 5;
    __syncthreads();
    if (lane == 0) {
      smv[w] = v;
      smf[w] = f;
    }
    __syncthreads();
    if (w == 0) {
      v = lane < G / 32 ? smv[lane] : 0.f;
      f = lane < G / 32 ? smf[lane] : 0;
#pragma unroll
      for (int off = G / 64; off > 0; off >>= 1) {
        v += __shfl_xor_sync(IE_FULL, v, off);
        f |= __shfl_xor_sync(IE_FULL, f, off);
      }
      if (lane == 0) {
        smv[G / 32] = v;
        smf[G / 32] = f;
      }
    }
    __syncthreads();
    v = smv[G / 32];
    f = smf[G / 32];
  }
}

/* ---- Final values (double) ------------------------------------------------- */

__device__ __forceinline__ int st_err(const St &s, bool pair)
{
  if (s.f & IE_F_NONFIN)
    return IE_ROW_NONFINITE;
  if (s.f & IE_F_NEG)
    return IE_ROW_NEGATIVE;
  if (s.mp == -INFINITY || (pair && s.mq == -INFINITY))
    return IE_ROW_EMPTY;
  return IE_ROW_OK;
}

/* P.sub: K_LSE 0 lse, 1 Rényi-∞ entropy (log S); K_POWE 0 Rényi, 1 Tsallis;
 * K_POW 0 alpha, 1 renyi, 2 tsallis.  NLL (P.nll): wy is the label's w. */
template <int K>
__device__ double st_final(const St &s, const Par &P, float wy)
{
  const double Lp = log(s.sp);
  const double Lq = IE_PAIR(K) ? log(s.sq) : 0.0;
  const double a = P.alphad;
  switch (K) {
  case K_LSE:
    if (P.nll)
      return wy == -INFINITY ? (double)INFINITY
                             : ((double)s.mp - (double)wy) * P.itd + Lp;
    return P.sub ? Lp : (double)s.mp * P.itd + Lp;
  case K_SHAN:
    return Lp - (double)s.x / (double)s.sp;
  case K_POWE: {
    /* log Σ p̂^α: (1 − α)·Lp + log1p(V/S) while V/S is small (orders near 1,
     * where log U − α·Lp cancels), else from U */
    const double vs = s.y / s.sp;
    double e = fabs(vs) < 0.5 ? (1.0 - a) * Lp + log1p(vs) : log((double)s.x) - a * Lp;
    return P.sub ? -expm1(e) / (a - 1.0) : e / (1.0 - a);
  }
  case K_CE:
    return (s.f & IE_F_INF) ? (double)INFINITY
                            : Lq - (double)s.x / (double)s.sp;
  case K_BHAT:
    return -(log((double)s.x) - 0.5 * (Lp + Lq));
  case K_POW: {
    /* log Σ p̂^α q̂^{1−α} = (1 − α)(Lp − Lq) + log1p(W/Sp), or for α < ½
     * −α(Lp − Lq) + log1p(W/Sq), while W is small; else from the sum. */
    const bool qf = a < 0.5;
    const double ws = s.y / (qf ? s.sq : s.sp);
    double L;
    if (!(s.f & IE_F_INF) && fabs(ws) < 0.5) {
      L = (qf ? -a : 1.0 - a) * (Lp - Lq) + log1p(ws);
    } else {
      L = (s.f & IE_F_INF) ? (double)INFINITY : log((double)s.x);
      L = (L - Lq) - a * (Lp - Lq);
    }
    if (P.sub == 1)
      return L / (a - 1.0);
    if (P.sub == 2)
      return expm1(L) / (a - 1.0);
    return -expm1(L) / (a * (1.0 - a));
  }
  case K_RINF:
    if (s.f & IE_F_INF)
      return (double)INFINITY;
    return ((double)s.x - ((double)s.mp - (double)s.mq)) * P.itd - (Lp - Lq);
  case K_CS:
    return -(log((double)s.x) -
             0.5 * (log((double)s.y) + log((double)s.z)));
  default:
    return 0.0;
  }
}

__device__ __forceinline__ RowSt st_rowstats(const St &s, const Par &P, bool pair)
{
  RowSt r;
  r.err = st_err(s, pair);
  double Lp = log((double)s.sp), Lq = pair ? log((double)s.sq) : 0.0;
  r.mp = s.mp;
  r.Lp = (float)Lp;
  r.mq = s.mq;
  r.Lq = (float)Lq;
  r.c = pair && r.err == 0
            ? (float)(((double)s.mq - (double)s.mp) * P.itd + (Lq - Lp))
            : 0.f;
  return r;
}

/* ---- Pass 2 terms ---------------------------------------------------------- */

/* φ(x)/x² for φ(x) = e^{−x} − 1 + x, |x| < ½: Σ_k (−x)^k/(k+2)! to k = 7,
 * the coefficients of src/cpu/vmath.h's KL_PHI_G. */
__device__ __forceinline__ float ie_phi_g(float x)
{
  return 1.f / 2 + x * (-1.f / 6 + x * (1.f / 24 + x * (-1.f / 120 + x * (1.f / 720 +
         x * (-1.f / 5040 + x * (1.f / 40320 + x * (-1.f / 362880)))))));
}

/* One summed term of JS, TV, Hellinger, chi2, KL or Jeffreys (KERNELS.md
 * pass 2), written with δ = lq − lp so that near-equal rows lose nothing
 * to cancellation:
 *   JS   β p (lp − lm) + (1−β) q (lq − lm) = −β p g + (1−β) q (δ − g),
 *        g = lm − lp = log(β + (1−β) e^δ)
 *   TV   |p − q| = p |e^δ − 1|,  Hellinger (√p − √q)² = p (e^{δ/2} − 1)²,
 *   chi2 (p − q)²/q = p (e^δ − 1)² e^{−δ},
 *   KL   p log(p/q) − p + q = p φ(−δ) = p (e^δ − 1 − δ) ≥ 0, as p δ² g(−δ)
 *        near δ = 0 (docs/SPEC.md §1's non-negative form; p = 0 < q adds q),
 *   Jeffreys (p − q)(lp − lq) = p (e^δ − 1) δ ≥ 0. */
template <int K>
__device__ __forceinline__ float p2_term(float wp, float wq, const RowSt &r,
                                         const Par &P, int &f)
{
  const bool zp = wp == -INFINITY, zq = wq == -INFINITY;
  if (zp && zq)
    return 0.f;
  if (zp || zq) {
    float l = zp ? (wq - r.mq) * P.it - r.Lq : (wp - r.mp) * P.it - r.Lp;
    float v = expf(l);
    if (K == K_NONE_JS)
      return zp ? -(1.f - P.beta) * P.l1b * v : -P.beta * P.lb * v;
    if ((K == K_NONE_CHI2 || K == K_NONE_KL) && zq) {
      f |= IE_F_INF; /* p > 0 = q */
      return 0.f;
    }
    if (K == K_NONE_JEF) {
      f |= IE_F_INF;
      return 0.f;
    }
    return v; /* KL: p = 0 < q adds q */
  }
  const float lp = (wp - r.mp) * P.it - r.Lp;
  const float dl = (wq - wp) * P.it - r.c;
  const float p = expf(lp);
  if (!(fabsf(dl) < 1.f)) {
    /* Far-apart p and q (up to 1e30-scale logits): the δ forms would
     * multiply an underflowed p by an overflowed e^δ.  Here the direct
     * forms lose nothing, with lq taken from wq itself. */
    const float lq = (wq - r.mq) * P.it - r.Lq, q = expf(lq);
    if (K == K_NONE_JS) {
      float a = P.lb + lp, b = P.l1b + lq;
      float hi = fmaxf(a, b), lm = hi + log1pf(expf(fminf(a, b) - hi));
      return (p > 0.f ? P.beta * p * (lp - lm) : 0.f) +
             (q > 0.f ? (1.f - P.beta) * q * (lq - lm) : 0.f);
    }
    if (K == K_NONE_TV)
      return fabsf(p - q);
    if (K == K_NONE_HEL) {
      float h = expf(0.5f * lp) - expf(0.5f * lq);
      return h * h;
    }
    if (K == K_NONE_KL)
      return q - p + p * (lp - lq);
    if (K == K_NONE_JEF)
      return (p - q) * (lp - lq);
    /* chi2: q underflowed below p: e^{2lp − lq} */
    return q > 0.f ? (p - q) * (p - q) / q : expf(2.f * lp - lq);
  }
  if (K == K_NONE_KL)
    return fabsf(dl) < 0.5f ? p * dl * dl * ie_phi_g(-dl) : p * (expm1f(dl) - dl);
  if (K == K_NONE_JEF)
    return p * expm1f(dl) * dl;
  if (K == K_NONE_JS) {
    float g = dl <= 0.f ? log1pf((1.f - P.beta) * expm1f(dl))
                        : dl + log1pf(P.beta * expm1f(-dl));
    float q = expf(lp + dl);
    return (1.f - P.beta) * q * (dl - g) - P.beta * p * g;
  }
  if (K == K_NONE_TV)
    return p * fabsf(expm1f(dl));
  if (K == K_NONE_HEL) {
    float e = expm1f(0.5f * dl);
    return p * e * e;
  }
  /* chi2 */
  float e = expm1f(dl);
  return p * e * e * expf(-dl);
}

__device__ __forceinline__ double p2_final(int K, float sum, int f)
{
  if ((K == K_NONE_CHI2 || K == K_NONE_KL || K == K_NONE_JEF) && (f & IE_F_INF))
    return (double)INFINITY;
  if (K == K_NONE_TV || K == K_NONE_HEL)
    return 0.5 * (double)sum;
  return (double)sum;
}

/* ---- Softmax output ------------------------------------------------------- */

__device__ __forceinline__ void ie_st1(char *row, int dt, int64_t i, float v)
{
  switch (dt) {
  case IE_DT_F16:
    ((__half *)row)[i] = __float2half_rn(v);
    break;
  case IE_DT_BF16:
    ((__nv_bfloat16 *)row)[i] = __float2bfloat16_rn(v);
    break;
  case IE_DT_F64:
    ((double *)row)[i] = (double)v;
    break;
  default:
    ((float *)row)[i] = v;
    break;
  }
}

/* One value to an address that is not a multiple of its size. */
static __device__ __noinline__ void ie_st1b(char *row, int dt, int64_t i, float v)
{
  const int esz = dt == IE_DT_F32 ? 4 : dt == IE_DT_F64 ? 8 : 2;
  unsigned long long u;
  switch (dt) {
  case IE_DT_F16:
    u = __half_as_ushort(__float2half_rn(v));
    break;
  case IE_DT_BF16:
    u = __bfloat16_as_ushort(__float2bfloat16_rn(v));
    break;
  case IE_DT_F64:
    u = (unsigned long long)__double_as_longlong((double)v);
    break;
  default:
    u = __float_as_uint(v);
    break;
  }
  unsigned char *b = (unsigned char *)row + i * esz;
  for (int k = 0; k < esz; k++, u >>= 8)
    b[k] = (unsigned char)(u & 0xffu);
}

/* Eight values to a 16-byte aligned address. */
__device__ __forceinline__ void ie_st8(char *p, int dt, const float v[8])
{
  switch (dt) {
  case IE_DT_F16:
  case IE_DT_BF16: {
    unsigned w[4];
#pragma unroll
    for (int k = 0; k < 4; k++) {
      unsigned lo, hi;
      if (dt == IE_DT_F16) {
        lo = __half_as_ushort(__float2half_rn(v[2 * k]));
        hi = __half_as_ushort(__float2half_rn(v[2 * k + 1]));
      } else {
        lo = __bfloat16_as_ushort(__float2bfloat16_rn(v[2 * k]));
        hi = __bfloat16_as_ushort(__float2bfloat16_rn(v[2 * k + 1]));
      }
      w[k] = lo | (hi << 16);
    }
    *(uint4 *)p = make_uint4(w[0], w[1], w[2], w[3]);
    break;
  }
  case IE_DT_F64:
#pragma unroll
    for (int k = 0; k < 4; k++)
      ((double2 *)p)[k] = make_double2((double)v[2 * k], (double)v[2 * k + 1]);
    break;
  default:
    ((float4 *)p)[0] = make_float4(v[0], v[1], v[2], v[3]);
    ((float4 *)p)[1] = make_float4(v[4], v[5], v[6], v[7]);
    break;
  }
}

/* Write softmax / log-softmax of one batch (r: the row's stats; bad row:
 * NaN).  `oa`: the output row is 16-byte aligned where p's vectors are. */
__device__ __forceinline__ void sm_write(const Par &P, char *orow, bool oa,
                                         const RowSt &r, const float wp[8],
                                         int64_t e0, int cnt, bool vec)
{
  float v[8];
#pragma unroll
  for (int k = 0; k < 8; k++) {
    if (r.err) {
      v[k] = __int_as_float(0x7fffffff);
    } else {
      float l = ie_d(wp[k], r.mp, P.it) - r.Lp; /* -inf stays -inf */
      v[k] = P.logo ? l : expf(l);
    }
  }
  if (vec && oa) {
    ie_st8(orow + e0 * P.oesz, P.odt, v);
  } else if ((uintptr_t)orow % (uintptr_t)P.oesz == 0) {
#pragma unroll
    for (int k = 0; k < 8; k++)
      if (k < cnt)
        ie_st1(orow, P.odt, e0 + k, v[k]);
  } else {
#pragma unroll
    for (int k = 0; k < 8; k++)
      if (k < cnt)
        ie_st1b(orow, P.odt, e0 + k, v[k]);
  }
}

__device__ __forceinline__ bool sm_out_aligned(const Par &P, int64_t row,
                                               const char *orow, int64_t c0)
{
  /* p's vectors start where p becomes 16-byte aligned; is out aligned
   * there too?  (If p is, out is at every later batch: 8 elements are a
   * multiple of 16 bytes.) */
  const char *pr = ie_row(P.p, row);
  uintptr_t a = (uintptr_t)(pr + c0 * P.p.esz);
  if (a % (uintptr_t)P.p.esz)
    return false;
  int64_t h = (int64_t)(((16u - (unsigned)(a & 15u)) & 15u) / (unsigned)P.p.esz);
  return ((uintptr_t)(orow + (c0 + h) * P.oesz) & 15u) == 0;
}

/* ---- Kernels ---------------------------------------------------------------- */

/* Load a chunk state another block wrote (L2, not a stale L1 line). */
__device__ __forceinline__ St st_ldcg(const St *p)
{
  St s;
  s.mp = __ldcg(&p->mp);
  s.sp = __ldcg(&p->sp);
  s.mq = __ldcg(&p->mq);
  s.sq = __ldcg(&p->sq);
  s.x = __ldcg(&p->x);
  s.y = __ldcg(&p->y);
  s.z = __ldcg(&p->z);
  s.f = __ldcg(&p->f);
  return s;
}

/* The label of a row: -1 ignored, -2 out of range, else y. */
__device__ __forceinline__ int64_t ie_label(const Par &P, int64_t row)
{
  const char *l = P.lab + row * P.labs * (P.labdt == IE_DT_I64 ? 8 : 4);
  int64_t y = P.labdt == IE_DT_I64 ? (int64_t)__ldg((const long long *)l)
                                   : (int64_t)__ldg((const int *)l);
  if (P.has_ign && y == P.ign)
    return -1;
  if (y < 0 || y >= P.V)
    return -2;
  return y;
}

/* w of element y of a row (NLL). */
__device__ __forceinline__ float ie_wy(const Par &P, int64_t row, int64_t y)
{
  const char *r = ie_row(P.p, row);
  int fy = 0;
  return ie_w(ie_ldany(r, P.p.dt, y, (uintptr_t)r % (uintptr_t)P.p.esz == 0),
              P.p.probs, fy);
}

/*
 * Pass 1.  Work item w = (row, chunk), one per group of G threads.
 * C = 1: the group finishes the row (value, or pass 2, or softmax output).
 * C > 1 (G = 256 only): the chunk state goes to P.part; the row's last
 * block merges them in chunk order and writes the value, or the row's
 * statistics for k_pass2.
 */
template <int G, int K>
__global__ void __launch_bounds__(IE_NT, IE_PAIR(K) ? IE_MINB - 1 : IE_MINB) k_pass1(Par P)
{
  __shared__ St sm[G > 32 ? G / 32 + 1 : 1];
  __shared__ float smv[G > 32 ? G / 32 + 1 : 1];
  __shared__ int smf[G > 32 ? G / 32 + 1 : 1];
  __shared__ int last;
  constexpr bool PAIR = IE_PAIR(K);
  const int t = (int)(threadIdx.x % G);
  const int64_t w = (int64_t)blockIdx.x * (IE_NT / G) + threadIdx.x / G;
  const int64_t row = w / P.C;
  const int chunk = (int)(w % P.C);
  bool live = row < P.B;
  if (G >= 32 && !live)
    return; /* whole warps / blocks: nothing shuffles with them */

  int64_t y = 0;
  if (K == K_LSE && P.nll && live) {
    y = ie_label(P, row);
    if (y < 0) {
      if (t == 0 && chunk == 0) {
        P.val[row] = y == -1 ? 0.0 : (double)NAN;
        P.err[row] = y == -1 ? IE_ROW_OK : IE_ROW_BAD_LABEL;
      }
      if (G >= 32)
        return; /* uniform over the group (and block for G = 256) */
      live = false;
    }
  }

  int64_t c0 = 0, c1 = 0;
  if (live) {
    c0 = (int64_t)chunk * P.chunk;
    c1 = min(P.V, c0 + P.chunk);
  }
  St s = st_empty<K>();
  ie_scan<G, PAIR>(P, row, c0, c1, t, s.f,
                   [&](const float *wp, const float *wq, int64_t, int, bool) {
                     st_batch<K>(s, wp, wq, P);
                   });
  st_group<G, K>(s, P, sm);

  if (P.C > 1) {
    /* G == 256 here */
    if (threadIdx.x == 0) {
      P.part[w] = s;
      __threadfence();
      last = atomicAdd(&P.cnt[row], 1u) == (unsigned)P.C - 1;
    }
    __syncthreads();
    if (!last)
      return;
    if (threadIdx.x >= 32)
      return;
    const int lane = threadIdx.x;
    St m = st_empty<K>();
    for (int c = lane; c < P.C; c += 32)
      st_merge<K>(m, st_ldcg(P.part + row * P.C + c), P);
    st_group<32, K>(m, P, nullptr);
    if (lane == 0) {
      P.cnt[row] = 0;
      if constexpr (IE_TWOPASS(K)) {
        RowSt r = st_rowstats(m, P, PAIR);
        P.rs[row] = r;
        P.err[row] = r.err;
        if (K != K_SMAX)
          P.val[row] = (double)NAN; /* pass 2 overwrites good rows */
      } else {
        int e = st_err(m, PAIR);
        float wy = 0.f;
        if (K == K_LSE && P.nll && e == 0)
          wy = ie_wy(P, row, y);
        P.err[row] = e;
        P.val[row] = e ? (double)NAN : st_final<K>(m, P, wy);
      }
    }
    return;
  }

  /* C == 1: the group has the whole row. */
  if constexpr (!IE_TWOPASS(K)) {
    if (live && t == 0) {
      int e = st_err(s, PAIR);
      float wy = 0.f;
      if (K == K_LSE && P.nll && e == 0)
        wy = ie_wy(P, row, y);
      P.err[row] = e;
      P.val[row] = e ? (double)NAN : st_final<K>(s, P, wy);
    }
  } else {
  const RowSt r = st_rowstats(s, P, PAIR);
  if constexpr (K == K_SMAX) {
    if (live) {
      char *orow = P.ob + row * P.os * (int64_t)P.oesz;
      const bool oa = sm_out_aligned(P, row, orow, c0);
      int dummy = 0;
      ie_scan<G, false>(P, row, c0, c1, t, dummy,
                        [&](const float *wp, const float *, int64_t e0, int cnt,
                            bool vec) { sm_write(P, orow, oa, r, wp, e0, cnt, vec); });
      if (t == 0)
        P.err[row] = r.err;
    }
  } else {
  float v = 0.f;
  int f = 0, dummy = 0;
  if (live && r.err == 0)
    ie_scan<G, true>(P, row, c0, c1, t, dummy,
                     [&](const float *wp, const float *wq, int64_t, int, bool) {
                       float tt[8];
#pragma unroll
                       for (int k = 0; k < 8; k++)
                         tt[k] = p2_term<K>(wp[k], wq[k], r, P, f);
                       v += ie_sum8(tt);
                     });
  ps_group<G>(v, f, smv, smf);
  if (live && t == 0) {
    P.err[row] = r.err;
    P.val[row] = r.err ? (double)NAN : p2_final(K, v, f);
  }
  }
  }
}

/*
 * Pass 2 for C > 1 (G = 256): each block re-reads its chunk with the row's
 * statistics from pass 1.  Softmax writes its output; the divergences write
 * a partial sum and the row's last block adds them in chunk order.
 */
template <int K>
__global__ void __launch_bounds__(IE_NT, IE_PAIR(K) ? IE_MINB - 1 : IE_MINB) k_pass2(Par P)
{
  __shared__ float smv[IE_NT / 32 + 1];
  __shared__ int smf[IE_NT / 32 + 1];
  __shared__ int last;
  const int t = (int)threadIdx.x;
  const int64_t w = blockIdx.x;
  const int64_t row = w / P.C;
  const int chunk = (int)(w % P.C);
  if (row >= P.B)
    return;
  const RowSt r = P.rs[row];
  const int64_t c0 = (int64_t)chunk * P.chunk, c1 = min(P.V, c0 + P.chunk);
  int dummy = 0;
  if constexpr (K == K_SMAX) {
    char *orow = P.ob + row * P.os * (int64_t)P.oesz;
    const bool oa = sm_out_aligned(P, row, orow, c0);
    ie_scan<IE_NT, false>(P, row, c0, c1, t, dummy,
                          [&](const float *wp, const float *, int64_t e0, int cnt,
                              bool vec) { sm_write(P, orow, oa, r, wp, e0, cnt, vec); });
  } else {
  if (r.err)
    return; /* pass 1 wrote NaN and the code */
  float v = 0.f;
  int f = 0;
  ie_scan<IE_NT, true>(P, row, c0, c1, t, dummy,
                       [&](const float *wp, const float *wq, int64_t, int, bool) {
                         float tt[8];
#pragma unroll
                         for (int k = 0; k < 8; k++)
                           tt[k] = p2_term<K>(wp[k], wq[k], r, P, f);
                         v += ie_sum8(tt);
                       });
  ps_group<IE_NT>(v, f, smv, smf);
  if (t == 0) {
    Ps ps;
    ps.s = v;
    ps.f = f;
    P.part2[w] = ps;
    __threadfence();
    last = atomicAdd(&P.cnt2[row], 1u) == (unsigned)P.C - 1;
  }
  __syncthreads();
  if (!last || t >= 32)
    return;
  float s = 0.f;
  int fl = 0;
  for (int c = t; c < P.C; c += 32) {
    s += __ldcg(&P.part2[row * P.C + c].s);
    fl |= __ldcg(&P.part2[row * P.C + c].f);
  }
  ps_group<32>(s, fl, nullptr, nullptr);
  if (t == 0) {
    P.cnt2[row] = 0;
    P.val[row] = p2_final(K, s, fl);
  }
  }
}

/* ---- Launch policy (host) --------------------------------------------------- */

struct ie_cu_plan {
  int G;          /* threads per row group */
  int C;          /* chunks per row */
  int64_t chunk;  /* elements per chunk (multiple of 8) */
  int64_t groups; /* B * C */
  unsigned blocks;
};

/*
 * Short rows (V ≤ 256): 8 threads a row, 32 rows a block.  V ≤ 2048: a warp
 * a row.  Wider: a block per (row, chunk), with chunks of at most 32768
 * elements (≤ 16 batches a thread keeps fp32 sums short) and, when rows are
 * few, smaller chunks (down to 2048) until there are about four waves of
 * blocks, so that a handful of very wide rows still fills the GPU.
 */
static inline ie_cu_plan ie_cu_make_plan(int64_t B, int64_t V, int nsm)
{
  ie_cu_plan pl;
  pl.C = 1;
  pl.chunk = V > 0 ? V : 1;
  if (V <= 256)
    pl.G = 8;
  else if (V <= 2048)
    pl.G = 32;
  else
    pl.G = IE_NT;
  if (pl.G == IE_NT) {
    const int64_t cap = (int64_t)(nsm > 0 ? nsm : 1) * (2048 / IE_NT);
    const int64_t cmin = (V + 32767) / 32768, cmax = (V + 2047) / 2048;
    int64_t c = cmin;
    if (B * c < 4 * cap) {
      c = (4 * cap + B - 1) / B;
      if (c < cmin)
        c = cmin;
      if (c > cmax)
        c = cmax;
    }
    int64_t ch = (V + c - 1) / c;
    ch = (ch + 7) & ~(int64_t)7;
    pl.chunk = ch;
    pl.C = (int)((V + ch - 1) / ch);
  }
  pl.groups = B * pl.C;
  const int64_t per = IE_NT / pl.G;
  pl.blocks = (unsigned)((pl.groups + per - 1) / per);
  return pl;
}

/* Fill the matrix part of Par. */
static inline Src ie_cu_src(const ie_mat *m, int probs)
{
  Src s;
  s.base = (const char *)m->buf + m->offset;
  s.stride = m->stride;
  s.dt = (int)m->dtype;
  s.esz = (int)ie__dtype_size(m->dtype);
  s.probs = probs;
  return s;
}

#endif
