/*
 * rows_final.h — the final formulas of the row family (docs/KERNELS.md,
 * "Final values"), in double, written once: the GPU kernels' finish step
 * (rows.cl, on CUDA and OpenCL) and the CPU backend (src/cpu/rows.c, as
 * host C through vendor.h) call the same functions, so that every backend
 * takes the same branch for the same sums.
 */
#ifndef IE_KERNELS_ROWS_FINAL_H
#define IE_KERNELS_ROWS_FINAL_H

#include "vendor.h"
#include "rows_kinds.h"

/* log Σ p^α of a normalised row, from its sums relative to the max:
 * S = Σ e^{d}, U = Σ e^{αd}, V = Σ e^{d}·expm1((α−1)d) = U − S.  Near α = 1
 * (and wherever U is close to S) log U − α log S cancels, while
 * (1 − α) log S + log1p(V/S) keeps V's digits; far from it (|V/S| ≥ ½, e.g.
 * large orders on a flat row, where V/S → −1) log U is the accurate one.
 * One switch, on the data, for every backend. */
FN double rows_log_power_sum(double S, double U, double V, double alpha) {
  const double vs = V / S;
  if (fabs(vs) < 0.5) return (1.0 - alpha) * log(S) + log1p(vs);
  return log(U) - alpha * log(S);
}

/* Rényi and Tsallis entropies from lsum = log Σ p^α (α ∉ {1, ∞}). */
FN double rows_renyi_entropy(double lsum, double alpha) { return lsum / (1.0 - alpha); }
FN double rows_tsallis_entropy(double lsum, double alpha) { return -expm1(lsum) / (alpha - 1.0); }

/* L = log Σ p̂^α q̂^{1−α} over the normalised p̂ = p/P, q̂ = q/Q, from the
 * pass-2 sums in the frame of one side ("own": p, or q for qform; δo its
 * log-ratio to the other, k = 1 − α, or α, the other's power): P = Σ p and
 * Q = Σ q (1 up to rounding; O = P, or Q, own's), W = Σ own·expm1(kδo),
 * E = Σ own·expm1(δo), and lse_t = log Σ own·e^{kδo} (a logsumexp, so that
 * large orders and far-apart rows do not overflow).  Σ own·e^{δo} = O + E
 * is the other side's sum as the δo make it, so that
 *   L = log(O + W) − (1 − k)·log O − k·log(O + E)
 * whatever constant error the δo carry.  While W is small against O,
 * log1p(W/O) keeps the digits that log(O + W) would cancel near α = 1 (0);
 * E is small (δo's error) but for rows far apart. */
FN double rows_power_log(double W, double P, double Q, double E, double lse_t, double alpha,
                         int qform) {
  const double own = qform ? Q : P, k = qform ? alpha : 1.0 - alpha, ws = W / own;
  const double lw = fabs(ws) < 0.5 ? log1p(ws) : lse_t - log(own);
  return lw - k * log1p(E / own);
}

/* The α-, Rényi or Tsallis divergence (value: ROWS_*_DIV) from L. */
FN double rows_power_value(int value, double L, double alpha) {
  if (value == ROWS_RENYI_DIV) return L / (alpha - 1.0);
  if (value == ROWS_TSALLIS_DIV) return expm1(L) / (alpha - 1.0);
  return -expm1(L) / (alpha * (1.0 - alpha)); /* Amari */
}

/* Bhattacharyya −log Σ√(p̂q̂) from ls = log Σ e^{(dp+dq)/2} (a logsumexp:
 * far-apart rows have every term below any float's range), Sp = Σ e^{dp},
 * Sq = Σ e^{dq} (summed in one order, so identical rows give exactly 0)
 * and hell = Σ (√p̂ − √q̂)²: Σ√(p̂q̂) = 1 − hell/2, so close rows take
 * −log1p(−hell/2), which keeps the digits the direct log cancels; far
 * rows (hell/2 ≥ ½) the direct form. */
FN double rows_bhattacharyya(double ls, double Sp, double Sq, double hell) {
  if (0.5 * hell < 0.5) return -log1p(-0.5 * hell);
  return -(ls - 0.5 * log(Sp) - 0.5 * log(Sq));
}

/* Cauchy–Schwarz −log(Σpq / √(Σp² Σq²)) from lspq = log Σpq (a logsumexp,
 * as for Bhattacharyya) and the unnormalised sums Σp², Σq². */
FN double rows_cauchy_schwarz(double lspq, double spp, double sqq) {
  return -(lspq - 0.5 * log(spp) - 0.5 * log(sqq));
}

/* Whether the log-ratio of one entry (log-weights wp, wq of rows whose
 * maxima are mp, mq) is better taken from each side's gap to its max,
 * (wq − mq) − (wp − mp), than from the inputs' differences first,
 * (wq − wp) − (mq − mp): where those differences are the larger (rows of
 * very different scale: logits near 1e28 against logits near 10 leave no
 * digit of the smaller in wq − wp).  Near-equal rows keep the second form,
 * whose differences are exact.  In double: the GPU kernels' far terms and
 * Rényi ∞, and the CPU's Rényi ∞ (rows.cl's rows_delta is the float one). */
FN int rows_by_gaps(double wp, double wq, double mp, double mq) {
  return !(fmax(fabs(wq - wp), fabs(mq - mp)) <= fmax(mp - wp, mq - wq));
}

/* logsumexp of a log-sum held as (max, sum relative to it). */
FN double rows_lse_of(double m, double s) {
  if (m == IE_INFINITY) return IE_INFINITY;
  if (m == -IE_INFINITY) return -IE_INFINITY;
  return m + log(s);
}

#endif /* IE_KERNELS_ROWS_FINAL_H */
