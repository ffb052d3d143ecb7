/*
 * sinkhorn.cu — the CUDA Sinkhorn passes (src/sinkhorn.h), in double.
 *
 * One pass is one launch over the whole batch: a warp per (problem, row);
 * lane l takes columns l, l+32, ... and keeps an online (M, S, T):
 *   v = (h_c − C_rc)/ε;  v > M: S ← S·e^{M−v} + 1, T ← T·e^{M−v} + C, M ← v;
 *   else e = e^{v−M}: S += e, T += e·C.
 * Lanes merge by a xor butterfly (a commutative merge, so every lane ends
 * with the same bits); L = M + log S.  The cost is read from a double matrix
 * (a given cost widened once, with a transposed copy for side 1, or built
 * from the points when it fits the budget) or computed from the points on
 * the fly.  Per-problem terms are reduced by one block a problem in a fixed
 * order.  No float atomics anywhere: results are bit-identical run to run.
 * Every CUDA call is checked and becomes a status (ie__cu_fail).
 */
#include <cuda_runtime.h>
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cu_internal.h"
#include "sinkhorn.h"

#define SK_NT 256            /* threads a block */
#define SK_WARPS (SK_NT / 32) /* rows a block in a pass */

struct SkWs {
  int64_t B, n, m, d, Bc;
  int metric;
  double *C, *CT;          /* [Bc·n·m] each, or NULL */
  int64_t c_bs;            /* elements between problems: n·m or 0 */
  double *x, *y;           /* points [·, d], or NULL */
  int64_t x_bs, y_bs;      /* rows between problems */
  double *lw[2], *pot[2], *fsave;
  double *rowt, *pterm;    /* [B·max(n,m)·T], [B·T] */
  uint8_t *active, *mask;  /* [B] */
  unsigned long long *bad;
  double *cmax;            /* [Bc] */
};

/* ---- Device helpers ----------------------------------------------------------- */

__device__ __forceinline__ double sk_load(const unsigned char *p, int64_t i, int dt)
{
  switch (dt) {
  case IE_DT_F16: return (double)__half2float(((const __half *)p)[i]);
  case IE_DT_BF16: return (double)__bfloat162float(((const __nv_bfloat16 *)p)[i]);
  case IE_DT_F64: return ((const double *)p)[i];
  default: return (double)((const float *)p)[i];
  }
}

__device__ __forceinline__ double sk_dist(int metric, const double *p, const double *q, int64_t d)
{
  double s = 0;
  for (int64_t k = 0; k < d; k++) {
    double t = p[k] - q[k];
    s += t * t;
  }
  return metric == IE_SK_EUCLIDEAN ? sqrt(s) : metric == IE_SK_HALF_SQEUCLIDEAN ? 0.5 * s : s;
}

/* Merge online states (M, S, T) ← (M, S, T) ⊕ (M2, S2, T2); commutative. */
__device__ __forceinline__ void sk_merge(double &M, double &S, double &T, double M2, double S2, double T2)
{
  double Mn = fmax(M, M2);
  if (Mn == -INFINITY) return;
  double e1 = exp(M - Mn), e2 = exp(M2 - Mn);
  S = S * e1 + S2 * e2;
  T = T * e1 + T2 * e2;
  M = Mn;
}

/* ---- Setup kernels ---------------------------------------------------------------- */

/* Widen the given cost to double (compact) and find its first non-finite element. */
__global__ void sk_convert(const unsigned char *src, int dt, int64_t stride, int64_t rows, int64_t m,
                           double *dst, unsigned long long *bad)
{
  const int64_t total = rows * m;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total;
       e += (int64_t)gridDim.x * blockDim.x) {
    int64_t r = e / m, j = e - r * m;
    double v = sk_load(src, r * stride + j, dt);
    dst[e] = v;
    if (!isfinite(v)) atomicMin(bad, (unsigned long long)e); /* integer min: order-free */
  }
}

/* C[p, i, j] = cost(x_i, y_j) of problem p. */
__global__ void sk_build(const double *x, const double *y, int64_t x_bs, int64_t y_bs, int64_t Bc,
                         int64_t n, int64_t m, int64_t d, int metric, double *C)
{
  const int64_t total = Bc * n * m;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total;
       e += (int64_t)gridDim.x * blockDim.x) {
    int64_t p = e / (n * m), r = e - p * n * m, i = r / m, j = r - i * m;
    C[e] = sk_dist(metric, x + (p * x_bs + i) * d, y + (p * y_bs + j) * d, d);
  }
}

/* CT[p, j, i] = C[p, i, j]. */
__global__ void sk_transpose(const double *C, int64_t Bc, int64_t n, int64_t m, double *CT)
{
  const int64_t total = Bc * n * m;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total;
       e += (int64_t)gridDim.x * blockDim.x) {
    int64_t p = e / (n * m), r = e - p * n * m, j = r / n, i = r - j * n;
    CT[e] = C[p * n * m + i * m + j];
  }
}

/* cmax[p] = max |C| over problem p: one block a problem. */
__global__ void sk_absmax(const double *C, int64_t nm, double *cmax)
{
  __shared__ double sh[SK_NT];
  const double *c = C + blockIdx.x * nm;
  double v = 0;
  for (int64_t e = threadIdx.x; e < nm; e += SK_NT) v = fmax(v, fabs(c[e]));
  sh[threadIdx.x] = v;
  __syncthreads();
  for (int s = SK_NT / 2; s > 0; s >>= 1) {
    if ((int)threadIdx.x < s) sh[threadIdx.x] = fmax(sh[threadIdx.x], sh[threadIdx.x + s]);
    __syncthreads();
  }
  if (threadIdx.x == 0) cmax[blockIdx.x] = sh[0];
}

/* ---- The pass ------------------------------------------------------------------------ */

struct SkPassArgs {
  int64_t B, R, K, d;
  int metric, mode;
  double eps, inv_eps, tau;
  const double *mat;  /* [·, K] rows of this side, or NULL */
  int64_t mat_bs;     /* elements between problems */
  const double *rp, *cp; /* points: this side's rows, the other side's */
  int64_t rp_bs, cp_bs;  /* rows between problems */
  const double *h;    /* other side's potential [B·K] */
  double *pot;        /* this side's [B·R] */
  const double *lw;
  double *save;       /* f before a CHECK (side 0), or NULL */
  double *rowt;
  const uint8_t *active;
};

template <bool PTS>
__global__ void __launch_bounds__(SK_NT) sk_pass(SkPassArgs a)
{
  const int lane = threadIdx.x & 31;
  const int64_t q = (int64_t)blockIdx.x * SK_WARPS + (threadIdx.x >> 5);
  if (q >= a.B * a.R) return; /* the whole warp leaves together */
  const int64_t b = q / a.R, r = q - b * a.R;
  if (a.mode != IE_SK_MEASURE && !a.active[b]) return;
  const double *h = a.h + b * a.K;
  const double *crow = NULL, *rpt = NULL, *cpts = NULL;
  if (PTS) {
    rpt = a.rp + (b * a.rp_bs + r) * a.d;
    cpts = a.cp + b * a.cp_bs * a.d;
  } else {
    crow = a.mat + b * a.mat_bs + r * a.K;
  }
  const bool want_t = a.mode == IE_SK_MEASURE;
  double M = -INFINITY, S = 0, T = 0;
  for (int64_t c = lane; c < a.K; c += 32) {
    const double cost = PTS ? sk_dist(a.metric, rpt, cpts + c * a.d, a.d) : crow[c];
    const double v = (h[c] - cost) * a.inv_eps; /* −inf at zero mass */
    if (v == -INFINITY) continue;
    if (v > M) {
      const double sc = exp(M - v);
      S = S * sc + 1.0;
      if (want_t) T = T * sc + cost;
      M = v;
    } else {
      const double e = exp(v - M);
      S += e;
      if (want_t) T += e * cost;
    }
  }
  for (int o = 16; o > 0; o >>= 1) {
    double M2 = __shfl_xor_sync(0xffffffffu, M, o);
    double S2 = __shfl_xor_sync(0xffffffffu, S, o);
    double T2 = __shfl_xor_sync(0xffffffffu, T, o);
    sk_merge(M, S, T, M2, S2, T2);
  }
  if (lane != 0) return;
  const double L = M + log(S);
  const double lwr = a.lw[q], wr = exp(lwr), old = a.pot[q];
  const bool pos = lwr > -INFINITY;
  double *t = a.rowt + q * IE_SK_TERMS;
  if (a.mode == IE_SK_MEASURE) {
    /* mu_r = exp(pot/ε + L): this side's marginal of the plan. */
    const double mu = exp(old * a.inv_eps + L);
    t[0] = fabs(mu - wr);
    t[1] = mu;
    t[2] = 0;
    t[3] = pos && mu > 0 ? mu * (old - a.eps * lwr) : 0;
    t[4] = pos ? (mu > 0 ? mu * log(mu / wr) : 0) - mu + wr : mu;
    t[5] = mu > 0 && S > 0 ? mu * (T / S) : 0;
    return;
  }
  /* new_r = ε log w_r − τ ε L_r */
  const double nw = pos ? a.eps * lwr - a.tau * a.eps * L : -INFINITY;
  a.pot[q] = nw;
  if (a.mode == IE_SK_CHECK) {
    if (a.save) a.save[q] = old;
    t[0] = pos ? fabs(exp(old * a.inv_eps + L) - wr) : 0;
    t[1] = pos ? fabs(exp(nw * a.inv_eps + L) - wr) : 0;
    t[2] = pos ? fabs(nw - old) * a.inv_eps : 0;
    t[3] = t[4] = t[5] = 0;
  }
}

/* pterm[b, k] = Σ_r rowt[b, r, k] (k = 2: max), rows in a fixed order. */
__global__ void sk_reduce(const double *rowt, int64_t R, int all, const uint8_t *active, double *pterm)
{
  __shared__ double sh[IE_SK_TERMS][SK_NT];
  const int64_t b = blockIdx.x;
  double acc[IE_SK_TERMS] = {0, 0, 0, 0, 0, 0};
  if (all || active[b])
    for (int64_t r = threadIdx.x; r < R; r += SK_NT) {
      const double *t = rowt + (b * R + r) * IE_SK_TERMS;
      for (int k = 0; k < IE_SK_TERMS; k++) acc[k] = k == 2 ? fmax(acc[k], t[k]) : acc[k] + t[k];
    }
  for (int k = 0; k < IE_SK_TERMS; k++) sh[k][threadIdx.x] = acc[k];
  __syncthreads();
  for (int s = SK_NT / 2; s > 0; s >>= 1) {
    if ((int)threadIdx.x < s)
      for (int k = 0; k < IE_SK_TERMS; k++)
        sh[k][threadIdx.x] = k == 2 ? fmax(sh[k][threadIdx.x], sh[k][threadIdx.x + s])
                                    : sh[k][threadIdx.x] + sh[k][threadIdx.x + s];
    __syncthreads();
  }
  if ((int)threadIdx.x < IE_SK_TERMS) pterm[b * IE_SK_TERMS + threadIdx.x] = sh[threadIdx.x][0];
}

__global__ void sk_restore(double *f, const double *save, const uint8_t *mask, int64_t B, int64_t n)
{
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < B * n;
       e += (int64_t)gridDim.x * blockDim.x)
    if (mask[e / n]) f[e] = save[e];
}

__global__ void sk_init_g(double *g, const double *lb, int64_t total)
{
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total;
       e += (int64_t)gridDim.x * blockDim.x)
    g[e] = lb[e] == -INFINITY ? -INFINITY : 0.0;
}

/* P_ij = exp((f_i + g_j − C_ij)/ε) into out (f32 or f64, row stride). */
__global__ void sk_plan_k(SkWs w, double eps, unsigned char *out, int f64, int64_t stride)
{
  const int64_t total = w.B * w.n * w.m;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total;
       e += (int64_t)gridDim.x * blockDim.x) {
    int64_t q = e / w.m, j = e - q * w.m, b = q / w.n, i = q - b * w.n;
    double c = w.C ? w.C[b * w.c_bs + i * w.m + j]
                   : sk_dist(w.metric, w.x + (b * w.x_bs + i) * w.d, w.y + (b * w.y_bs + j) * w.d, w.d);
    double p = exp((w.pot[0][q] + w.pot[1][b * w.m + j] - c) / eps);
    if (f64) ((double *)out)[q * stride + j] = p;
    else ((float *)out)[q * stride + j] = (float)p;
  }
}

/* ---- Host side ---------------------------------------------------------------------- */

static unsigned grid_for(int64_t total)
{
  int64_t g = (total + SK_NT - 1) / SK_NT;
  if (g < 1) g = 1;
  if (g > 65535 * 8) g = 65535 * 8;
  return (unsigned)g;
}

static void cu_sk_end(ie_context *ctx, void *wsv)
{
  SkWs *w = (SkWs *)wsv;
  if (!w) return;
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  ie_cu_devguard guard(st->device);
  (void)cudaStreamSynchronize(st->stream);
  void *bufs[] = {w->C, w->CT, w->x, w->y, w->lw[0], w->lw[1], w->pot[0], w->pot[1], w->fsave,
                  w->rowt, w->pterm, w->active, w->mask, w->bad, w->cmax};
  for (size_t k = 0; k < sizeof bufs / sizeof *bufs; k++)
    if (bufs[k]) (void)cudaFree(bufs[k]);
  free(w);
}

template <typename Tp>
static ie_status sk_malloc(ie_context *ctx, Tp **p, size_t count)
{
  IE_CU(ctx, cudaMalloc((void **)p, (count ? count : 1) * sizeof(Tp)));
  return IE_OK;
}

#define SK_TRY(expr)                    \
  do {                                  \
    ie_status s_ = (expr);              \
    if (s_ != IE_OK) return s_;         \
  } while (0)

static ie_status begin_impl(ie_context *ctx, ie_cu_state *st, SkWs *w, const ie_sk_setup *s, double *cmax,
                            int64_t *bad)
{
  const int64_t B = s->B, n = s->n, m = s->m, d = s->d, R = n > m ? n : m;
  cudaStream_t str = st->stream;
  SK_TRY(sk_malloc(ctx, &w->lw[0], (size_t)(B * n)));
  SK_TRY(sk_malloc(ctx, &w->lw[1], (size_t)(B * m)));
  SK_TRY(sk_malloc(ctx, &w->pot[0], (size_t)(B * n)));
  SK_TRY(sk_malloc(ctx, &w->pot[1], (size_t)(B * m)));
  SK_TRY(sk_malloc(ctx, &w->fsave, (size_t)(B * n)));
  SK_TRY(sk_malloc(ctx, &w->rowt, (size_t)(B * R * IE_SK_TERMS)));
  SK_TRY(sk_malloc(ctx, &w->pterm, (size_t)(B * IE_SK_TERMS)));
  SK_TRY(sk_malloc(ctx, &w->active, (size_t)B));
  SK_TRY(sk_malloc(ctx, &w->mask, (size_t)B));
  SK_TRY(sk_malloc(ctx, &w->bad, 1));
  IE_CU(ctx, cudaMemcpyAsync(w->lw[0], s->la, (size_t)(B * n) * sizeof(double), cudaMemcpyHostToDevice, str));
  IE_CU(ctx, cudaMemcpyAsync(w->lw[1], s->lb, (size_t)(B * m) * sizeof(double), cudaMemcpyHostToDevice, str));
  IE_CU(ctx, cudaMemsetAsync(w->pot[0], 0, (size_t)(B * n) * sizeof(double), str));
  sk_init_g<<<grid_for(B * m), SK_NT, 0, str>>>(w->pot[1], w->lw[1], B * m);
  IE_CU_LAUNCHED(ctx, "sk_init_g");
  IE_CU(ctx, cudaMemsetAsync(w->active, 1, (size_t)B, str));
  IE_CU(ctx, cudaMemsetAsync(w->bad, 0xFF, sizeof(unsigned long long), str));

  int64_t Bc = 0;
  if (s->cost) Bc = s->cost_bstride ? B : 1;
  else if (s->materialize) Bc = (s->x_bstride || s->y_bstride) ? B : 1;
  w->Bc = Bc;
  if (!s->cost) {
    const int64_t nx = (s->x_bstride ? B : 1) * n, ny = (s->y_bstride ? B : 1) * m;
    SK_TRY(sk_malloc(ctx, &w->x, (size_t)(nx * d)));
    SK_TRY(sk_malloc(ctx, &w->y, (size_t)(ny * d)));
    IE_CU(ctx, cudaMemcpyAsync(w->x, s->x, (size_t)(nx * d) * sizeof(double), cudaMemcpyHostToDevice, str));
    IE_CU(ctx, cudaMemcpyAsync(w->y, s->y, (size_t)(ny * d) * sizeof(double), cudaMemcpyHostToDevice, str));
  }
  if (Bc) {
    w->c_bs = Bc > 1 ? n * m : 0;
    SK_TRY(sk_malloc(ctx, &w->C, (size_t)(Bc * n * m)));
    SK_TRY(sk_malloc(ctx, &w->CT, (size_t)(Bc * n * m)));
    SK_TRY(sk_malloc(ctx, &w->cmax, (size_t)Bc));
    if (s->cost) {
      const ie_mat *cm = s->cost;
      sk_convert<<<grid_for(Bc * n * m), SK_NT, 0, str>>>((const unsigned char *)cm->buf + cm->offset,
                                                          (int)cm->dtype, cm->stride, Bc * n, m, w->C, w->bad);
      IE_CU_LAUNCHED(ctx, "sk_convert");
    } else {
      sk_build<<<grid_for(Bc * n * m), SK_NT, 0, str>>>(w->x, w->y, s->x_bstride, s->y_bstride, Bc, n, m, d,
                                                        s->metric, w->C);
      IE_CU_LAUNCHED(ctx, "sk_build");
    }
    sk_transpose<<<grid_for(Bc * n * m), SK_NT, 0, str>>>(w->C, Bc, n, m, w->CT);
    IE_CU_LAUNCHED(ctx, "sk_transpose");
    if (s->cost) {
      sk_absmax<<<(unsigned)Bc, SK_NT, 0, str>>>(w->C, n * m, w->cmax);
      IE_CU_LAUNCHED(ctx, "sk_absmax");
      IE_CU(ctx, cudaMemcpyAsync(cmax, w->cmax, (size_t)Bc * sizeof(double), cudaMemcpyDeviceToHost, str));
    }
  }
  unsigned long long hb = 0;
  IE_CU(ctx, cudaMemcpyAsync(&hb, w->bad, sizeof hb, cudaMemcpyDeviceToHost, str));
  IE_CU(ctx, cudaStreamSynchronize(str));
  *bad = hb == ~0ull ? -1 : (int64_t)hb;
  return IE_OK;
}

static ie_status cu_sk_begin(ie_context *ctx, const ie_sk_setup *s, void **wsv, double *cmax, int64_t *bad)
{
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  IE_CU_ENTER(ctx, st);
  SkWs *w = (SkWs *)calloc(1, sizeof *w);
  if (!w) return ie__error(ctx, IE_OUT_OF_MEMORY, "ie_sinkhorn: no host memory for the workspace");
  w->B = s->B;
  w->n = s->n;
  w->m = s->m;
  w->d = s->d;
  w->metric = s->metric;
  w->x_bs = s->x_bstride;
  w->y_bs = s->y_bstride;
  ie_status r = begin_impl(ctx, st, w, s, cmax, bad);
  if (r != IE_OK) {
    cu_sk_end(ctx, w);
    return r;
  }
  *wsv = w;
  return IE_OK;
}

static ie_status cu_sk_set_active(ie_context *ctx, void *wsv, const uint8_t *mask)
{
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  IE_CU_ENTER(ctx, st);
  SkWs *w = (SkWs *)wsv;
  IE_CU(ctx, cudaMemcpyAsync(w->active, mask, (size_t)w->B, cudaMemcpyHostToDevice, st->stream));
  IE_CU(ctx, cudaStreamSynchronize(st->stream));
  return IE_OK;
}

static ie_status cu_sk_pass(ie_context *ctx, void *wsv, int side, int mode, double eps, double tau,
                            double *terms)
{
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  IE_CU_ENTER(ctx, st);
  SkWs *w = (SkWs *)wsv;
  SkPassArgs a;
  memset(&a, 0, sizeof a);
  a.B = w->B;
  a.R = side ? w->m : w->n;
  a.K = side ? w->n : w->m;
  a.d = w->d;
  a.metric = w->metric;
  a.mode = mode;
  a.eps = eps;
  a.inv_eps = 1.0 / eps;
  a.tau = tau;
  a.mat = w->C ? (side ? w->CT : w->C) : NULL;
  a.mat_bs = w->c_bs;
  a.rp = side ? w->y : w->x;
  a.cp = side ? w->x : w->y;
  a.rp_bs = side ? w->y_bs : w->x_bs;
  a.cp_bs = side ? w->x_bs : w->y_bs;
  a.h = w->pot[side ^ 1];
  a.pot = w->pot[side];
  a.lw = w->lw[side];
  a.save = side == 0 ? w->fsave : NULL;
  a.rowt = w->rowt;
  a.active = w->active;
  const int64_t rows = a.B * a.R;
  const unsigned blocks = (unsigned)((rows + SK_WARPS - 1) / SK_WARPS);
  if (a.mat) sk_pass<false><<<blocks, SK_NT, 0, st->stream>>>(a);
  else sk_pass<true><<<blocks, SK_NT, 0, st->stream>>>(a);
  IE_CU_LAUNCHED(ctx, "sk_pass");
  if (mode == IE_SK_UPDATE) return IE_OK;
  sk_reduce<<<(unsigned)w->B, SK_NT, 0, st->stream>>>(w->rowt, a.R, mode == IE_SK_MEASURE, w->active, w->pterm);
  IE_CU_LAUNCHED(ctx, "sk_reduce");
  IE_CU(ctx, cudaMemcpyAsync(terms, w->pterm, (size_t)(w->B * IE_SK_TERMS) * sizeof(double),
                             cudaMemcpyDeviceToHost, st->stream));
  IE_CU(ctx, cudaStreamSynchronize(st->stream));
  return IE_OK;
}

static ie_status cu_sk_restore(ie_context *ctx, void *wsv, const uint8_t *mask)
{
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  IE_CU_ENTER(ctx, st);
  SkWs *w = (SkWs *)wsv;
  IE_CU(ctx, cudaMemcpyAsync(w->mask, mask, (size_t)w->B, cudaMemcpyHostToDevice, st->stream));
  sk_restore<<<grid_for(w->B * w->n), SK_NT, 0, st->stream>>>(w->pot[0], w->fsave, w->mask, w->B, w->n);
  IE_CU_LAUNCHED(ctx, "sk_restore");
  IE_CU(ctx, cudaStreamSynchronize(st->stream)); /* mask is the caller's host memory */
  return IE_OK;
}

static ie_status cu_sk_potential(ie_context *ctx, void *wsv, int side, double *out)
{
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  IE_CU_ENTER(ctx, st);
  SkWs *w = (SkWs *)wsv;
  IE_CU(ctx, cudaMemcpyAsync(out, w->pot[side], (size_t)(w->B * (side ? w->m : w->n)) * sizeof(double),
                             cudaMemcpyDeviceToHost, st->stream));
  IE_CU(ctx, cudaStreamSynchronize(st->stream));
  return IE_OK;
}

static ie_status cu_sk_plan(ie_context *ctx, void *wsv, double eps, const ie_mat *out)
{
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  IE_CU_ENTER(ctx, st);
  SkWs *w = (SkWs *)wsv;
  sk_plan_k<<<grid_for(w->B * w->n * w->m), SK_NT, 0, st->stream>>>(
      *w, eps, (unsigned char *)out->buf + out->offset, out->dtype == IE_DT_F64, out->stride);
  IE_CU_LAUNCHED(ctx, "sk_plan_k");
  IE_CU(ctx, cudaStreamSynchronize(st->stream));
  return IE_OK;
}

extern "C" const ie_sk_ops ie__cuda_sk_ops = {
    /* begin */ cu_sk_begin,
    /* set_active */ cu_sk_set_active,
    /* pass */ cu_sk_pass,
    /* restore */ cu_sk_restore,
    /* potential */ cu_sk_potential,
    /* plan */ cu_sk_plan,
    /* end */ cu_sk_end,
};
