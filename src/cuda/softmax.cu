/*
 * softmax.cu — softmax / log-softmax into a matrix: pass 1 gives each row's
 * max and log-sum, pass 2 writes (w − m)/T − log S, or its exp, in the output
 * dtype.  Rows with an error are written as NaN.
 */
#include <string.h>
#include "cu_internal.h"
#include "common.cuh"

static size_t align256(size_t n) { return (n + 255) & ~(size_t)255; }

ie_status ie__cu_softmax(ie_context *ctx, const ie_mat *x, const ie_mat *out,
                         int log_out, double inv_temp, ie_rowerr *err)
{
  ie_cu_state *st = (ie_cu_state *)ctx->state;
  const int64_t B = x->rows, V = x->cols;
  if (B <= 0)
    return IE_OK;
  IE_CU_ENTER(ctx, st);
  const ie_cu_plan pl = ie_cu_make_plan(B, V, st->nsm);

  /* scratch: err | part | rs */
  size_t o_part = align256((size_t)B * sizeof(int));
  size_t o_rs = o_part + align256(pl.C > 1 ? (size_t)pl.groups * sizeof(St) : 0);
  size_t total = o_rs + align256(pl.C > 1 ? (size_t)B * sizeof(RowSt) : 0);
  char *sb;
  unsigned *cnt;
  ie_status rc = ie__cu_workspace(ctx, total, B, pl.C > 1, &sb, &cnt);
  if (rc != IE_OK)
    return rc;

  Par P;
  memset(&P, 0, sizeof P);
  P.p = ie_cu_src(x, 0);
  P.B = B;
  P.V = V;
  P.chunk = pl.chunk;
  P.C = pl.C;
  P.itd = inv_temp;
  P.it = (float)inv_temp;
  P.err = (int *)sb;
  P.part = (St *)(sb + o_part);
  P.rs = (RowSt *)(sb + o_rs);
  P.cnt = cnt;
  P.cnt2 = cnt ? cnt + B : NULL;
  P.ob = (char *)out->buf + out->offset;
  P.os = out->stride;
  P.odt = (int)out->dtype;
  P.oesz = (int)ie__dtype_size(out->dtype);
  P.logo = log_out != 0;

  cudaStream_t s = st->stream;
  switch (pl.G) {
  case 8:
    k_pass1<8, K_SMAX><<<pl.blocks, IE_NT, 0, s>>>(P);
    break;
  case 32:
    k_pass1<32, K_SMAX><<<pl.blocks, IE_NT, 0, s>>>(P);
    break;
  default:
    k_pass1<IE_NT, K_SMAX><<<pl.blocks, IE_NT, 0, s>>>(P);
    break;
  }
  IE_CU_LAUNCHED(ctx, "k_pass1");
  if (pl.C > 1) {
    k_pass2<K_SMAX><<<(unsigned)pl.groups, IE_NT, 0, s>>>(P);
    IE_CU_LAUNCHED(ctx, "k_pass2");
  }
  IE_CU(ctx, cudaMemcpyAsync(err, P.err, (size_t)B * sizeof(ie_rowerr),
                             cudaMemcpyDeviceToHost, s));
  IE_CU(ctx, cudaStreamSynchronize(s));
  return IE_OK;
}
