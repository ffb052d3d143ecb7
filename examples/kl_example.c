/* kl_example — KL divergence and entropy of two small batches of logits,
 * on whatever backend `auto` picks.  Prints one line and exits 0 when the
 * results match the values worked out by hand below. */
#include <math.h>
#include <stdio.h>

#include <infoest.h>

int main(void) {
  /* Two rows of three logits each. */
  float p[6] = {0.0f, 0.0f, 0.0f, 1.0f, 2.0f, 3.0f};
  float q[6] = {0.0f, 0.0f, 0.0f, 3.0f, 2.0f, 1.0f};
  int64_t shape[2] = {2, 3};
  DLTensor tp = {p, {kDLCPU, 0}, 2, {kDLFloat, 32, 1}, shape, NULL, 0};
  DLTensor tq = {q, {kDLCPU, 0}, 2, {kDLFloat, 32, 1}, shape, NULL, 0};

  ie_context *ctx = NULL;
  ie_status s = ie_context_create(&ctx, NULL);
  if (s != IE_OK) {
    fprintf(stderr, "kl_example: %s\n", ie_errmsg(ctx));
    ie_context_destroy(ctx);
    return 1;
  }
  ie_summary kl, h;
  s = ie_divergence(ctx, IE_DIV_KL, &tp, &tq, NULL, NULL, &kl);
  if (s == IE_OK) s = ie_entropy(ctx, &tp, NULL, NULL, &h);
  if (s != IE_OK) {
    fprintf(stderr, "kl_example: %s: %s\n", ie_status_name(s), ie_errmsg(ctx));
    ie_context_destroy(ctx);
    return 1;
  }
  /* Row 0: uniform vs uniform, KL 0, entropy log 3.  Row 1: p = softmax(1,2,3),
   * q its reverse, KL = Σ p_i (a_i − b_i) = 2 (p_3 − p_1). */
  double z = exp(1.0) + exp(2.0) + exp(3.0);
  double kl1 = 2 * (exp(3.0) - exp(1.0)) / z;
  double h1 = log(z) - (exp(1.0) * 1 + exp(2.0) * 2 + exp(3.0) * 3) / z;
  double want_kl = kl1 / 2, want_h = (log(3.0) + h1) / 2;
  printf("infoest %s on %s (%s): mean KL %.9f (want %.9f), mean entropy %.9f (want %.9f)\n",
         ie_version_string(), ie_backend_name(ie_context_backend(ctx)),
         ie_context_device_name(ctx), kl.mean, want_kl, h.mean, want_h);
  ie_context_destroy(ctx);
  return fabs(kl.mean - want_kl) <= 1e-6 && fabs(h.mean - want_h) <= 1e-6 ? 0 : 1;
}
