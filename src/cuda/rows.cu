/*
 * rows.cu — one value a row: logsumexp, entropies, NLL, every divergence.
 * The kernels are in common.cuh; this file picks the kind, the launch shape
 * and the scratch, launches, and copies val/err back to the host.
 */
#include <math.h>
#include <string.h>
#include "cu_internal.h"
#include "common.cuh"

static size_t align256(size_t n) { return (n + 255) & ~(size_t)255; }

template <int K>
static ie_status launch(ie_context *ctx, cudaStream_t s, const ie_cu_plan &pl,
                        const Par &P)
{
  switch (pl.G) {
  case 8:
    k_pass1<8, K><<<pl.blocks, IE_NT, 0, s>>>(P);
    break;
  case 32:
    k_pass1<32, K><<<pl.blocks, IE_NT, 0, s>>>(P);
    break;
  default:
    k_pass1<IE_NT, K><<<pl.blocks, IE_NT, 0, s>>>(P);
    break;
  }
  IE_CU_LAUNCHED(ctx, "k_pass1");
  if constexpr (IE_TWOPASS(K)) {
    if (pl.C > 1) {
      k_pass2<K><<<(unsigned)pl.groups, IE_NT, 0, s>>>(P);
      IE_CU_LAUNCHED(ctx, "k_pass2");
    }
  }
  return IE_OK;
}

/* Kernel kind and variant for the arguments (see st_final for `sub`). */
static int pick(const ie_rowargs *a, int *sub, int *swap)
{
  *sub = 0;
  *swap = 0;
  switch (a->op) {
  case IE_OP_LSE:
  case IE_OP_NLL:
    return K_LSE;
  case IE_OP_ENTROPY:
    if (a->ent == IE_ENTROPY_SHANNON)
      return K_SHAN;
    if (a->ent == IE_ENTROPY_RENYI && isinf(a->alpha)) {
      *sub = 1;
      return K_LSE;
    }
    if (!isfinite(a->alpha))
      return -1;
    *sub = a->ent == IE_ENTROPY_TSALLIS;
    return K_POWE;
  case IE_OP_DIVERGENCE:
    switch (a->div) {
    case IE_DIV_KL:
      return K_NONE_KL;
    case IE_DIV_REVERSE_KL:
      *swap = 1;
      return K_NONE_KL;
    case IE_DIV_JEFFREYS:
      return K_NONE_JEF;
    case IE_DIV_CROSS_ENTROPY:
      return K_CE;
    case IE_DIV_JS:
      return K_NONE_JS;
    case IE_DIV_TV:
      return K_NONE_TV;
    case IE_DIV_HELLINGER:
      return K_NONE_HEL;
    case IE_DIV_BHATTACHARYYA:
      return K_BHAT;
    case IE_DIV_CHI2:
      return K_NONE_CHI2;
    case IE_DIV_CAUCHY_SCHWARZ:
      return K_CS;
    case IE_DIV_RENYI:
      if (isinf(a->alpha) && a->alpha > 0)
        return K_RINF;
      *sub = 1;
      return isfinite(a->alpha) ? K_POW : -1;
    case IE_DIV_ALPHA:
      *sub = 0;
      return isfinite(a->alpha) ? K_POW : -1;
    case IE_DIV_TSALLIS:
      *sub = 2;
      return isfinite(a->alpha) ? K_POW : -1;
    default:
      return -1;
    }
  }
  return -1;
}

ie_status ie__cu_rows(ie_context *ctx, const ie_rowargs *a, const ie_mat *x,
                      const ie_mat *y, const ie_vec *labels, double *val,
                      ie_rowerr *err)
{
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  const int64_t B = x->rows, V = x->cols;
  int sub, swap;
  const int K = pick(a, &sub, &swap);
  if (K < 0)
    return ie__error(ctx, IE_UNSUPPORTED,
                     "cuda: this kind/order is not supported (order %g)",
                     a->alpha);
  if (IE_PAIR(K) && !y)
    return ie__error(ctx, IE_INTERNAL, "cuda: divergence without q");
  if (a->op == IE_OP_NLL && !labels)
    return ie__error(ctx, IE_INTERNAL, "cuda: NLL without labels");
  if (B <= 0)
    return IE_OK;
  IE_CU_ENTER(ctx, st);

  const ie_cu_plan pl = ie_cu_make_plan(B, V, st->nsm);
  const bool two = IE_TWOPASS(K);

  /* scratch: val | err | part | part2 | rs */
  size_t o_err = align256((size_t)B * sizeof(double));
  size_t o_part = o_err + align256((size_t)B * sizeof(int));
  size_t n_part = pl.C > 1 ? (size_t)pl.groups : 0;
  size_t o_part2 = o_part + align256(n_part * sizeof(St));
  size_t o_rs = o_part2 + align256(two ? n_part * sizeof(Ps) : 0);
  size_t total = o_rs + align256(two && pl.C > 1 ? (size_t)B * sizeof(RowSt) : 0);
  char *sb;
  unsigned *cnt;
  ie_status rc = ie__cu_workspace(ctx, total, B, pl.C > 1, &sb, &cnt);
  if (rc != IE_OK)
    return rc;

  Par P;
  memset(&P, 0, sizeof P);
  const ie_mat *mp = swap ? y : x, *mq = swap ? x : y;
  const int pin = swap ? a->q_input : a->input, qin = swap ? a->input : a->q_input;
  P.p = ie_cu_src(mp, pin == IE_INPUT_PROBS);
  if (IE_PAIR(K))
    P.q = ie_cu_src(mq, qin == IE_INPUT_PROBS);
  P.B = B;
  P.V = V;
  P.chunk = pl.chunk;
  P.C = pl.C;
  P.sub = sub;
  P.itd = a->inv_temp;
  P.it = (float)a->inv_temp;
  P.alphad = a->alpha;
  P.alpha = (float)a->alpha;
  {
    double b = a->beta > 0 && a->beta < 1 ? a->beta : 0.5;
    P.beta = (float)b;
    P.lb = (float)log(b);
    P.l1b = (float)log1p(-b);
  }
  if (a->op == IE_OP_NLL) {
    P.nll = 1;
    P.lab = (const char *)labels->buf + labels->offset;
    P.labs = labels->stride;
    P.labdt = (int)labels->dtype;
    P.has_ign = a->has_ignore_index;
    P.ign = a->ignore_index;
  }
  P.val = (double *)sb;
  P.err = (int *)(sb + o_err);
  P.part = (St *)(sb + o_part);
  P.part2 = (Ps *)(sb + o_part2);
  P.rs = (RowSt *)(sb + o_rs);
  P.cnt = cnt;
  P.cnt2 = cnt ? cnt + B : NULL;

  switch (K) {
#define IE_K(k)                                  \
  case k:                                        \
    rc = launch<k>(ctx, st->stream, pl, P);      \
    break;
    IE_K(K_LSE) IE_K(K_SHAN) IE_K(K_POWE) IE_K(K_NONE_JS) IE_K(K_NONE_TV)
    IE_K(K_NONE_HEL) IE_K(K_NONE_CHI2) IE_K(K_NONE_KL) IE_K(K_NONE_JEF) IE_K(K_CE)
    IE_K(K_BHAT) IE_K(K_POW) IE_K(K_RINF) IE_K(K_CS)
#undef IE_K
  default:
    return ie__error(ctx, IE_INTERNAL, "cuda: bad kernel kind %d", K);
  }
  if (rc != IE_OK)
    return rc;
  IE_CU(ctx, cudaMemcpyAsync(val, P.val, (size_t)B * sizeof(double),
                             cudaMemcpyDeviceToHost, st->stream));
  IE_CU(ctx, cudaMemcpyAsync(err, P.err, (size_t)B * sizeof(ie_rowerr),
                             cudaMemcpyDeviceToHost, st->stream));
  IE_CU(ctx, cudaStreamSynchronize(st->stream));
  return IE_OK;
}
