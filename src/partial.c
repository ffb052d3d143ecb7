/*
 * partial.c — partial states of a summary (docs/SPEC.md §11): exact sums,
 * so that a summary made of pieces is the same, to the last bit, whatever
 * the pieces.
 *
 * The sums are fixed-point integers in "carry-save" form (after Neal's
 * superaccumulators, arXiv:1505.05571, and Kulisch's long accumulator): limb
 * k of IE_PARTIAL_LIMBS holds 32 bits of weight 2^(32k − 1088) in an int64,
 * so that a double (a 53-bit integer times 2^e, e >= −1074) is added as three
 * 32-bit pieces with no carry, and the carries are propagated only every
 * 2^29 additions and before the state is handed out.  At rest ("normalised")
 * limbs 0 .. LIMBS−2 lie in [0, 2^32) and the top limb carries the sign.
 * Merging adds limb by limb: exact, so associative.  The one rounding is
 * to_double(), to nearest, ties to even.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "kernels/rows_outcome.h"

enum { LIMBS = IE_PARTIAL_LIMBS, UNIT_EXP = -1088 };
_Static_assert(ROWS_OC_LIMBS == LIMBS && ROWS_OC_UNIT_EXP == UNIT_EXP,
               "the device outcome's limbs are the partial state's");
#define LIMB_BASE 4294967296.0 /* 2^32 */
#define LOW32 0xffffffffu
/* Additions between two normalisations: each adds < 2^32 to a limb, so
 * limbs stay below 2^32 + 2^29 * 2^32 < 2^63. */
#define ADDS_PER_NORMALISE ((int64_t)1 << 29)

/* Propagate the carries: limbs 0..LIMBS-2 into [0, 2^32). */
static void normalise(int64_t *acc) {
  for (int k = 0; k < LIMBS - 1; k++) {
    const uint64_t low = (uint64_t)acc[k] & LOW32;
    const int64_t carry = (acc[k] - (int64_t)low) / ((int64_t)1 << 32); /* exact */
    acc[k] = (int64_t)low;
    acc[k + 1] += carry;
  }
}

/* acc += x, x finite: its three 32-bit pieces (rows_oc_split, the split the
 * device sums of src/kernels/rows.cl use too) with no carry. */
static void add_exact(int64_t *acc, double x) {
  if (x == 0) return;
  uint64_t p[3];
  int neg = 0;
  const int k = rows_oc_split(x, p, &neg);
  for (int j = 0; j < 3; j++) acc[k + j] += neg ? -(int64_t)p[j] : (int64_t)p[j];
}

/* The normalised sum rounded to the nearest double (ties to even). */
static double to_double(const int64_t *in) {
  int64_t acc[LIMBS];
  memcpy(acc, in, sizeof acc);
  normalise(acc);
  const int negative = acc[LIMBS - 1] < 0;
  if (negative) {
    for (int k = 0; k < LIMBS; k++) acc[k] = -acc[k];
    normalise(acc); /* now every limb >= 0 */
  }
  int h = LIMBS - 1;
  while (h >= 0 && acc[h] == 0) h--;
  if (h < 0) return 0.0;
  /* Limb LIMBS−1 has weight 2^1056: past the largest double. */
  if (h == LIMBS - 1) return negative ? -INFINITY : INFINITY;
  /* The top 64 significant bits in u, the rest as a sticky bit. */
  const uint64_t l1 = h >= 1 ? (uint64_t)acc[h - 1] : 0, l2 = h >= 2 ? (uint64_t)acc[h - 2] : 0;
  uint64_t u = ((uint64_t)acc[h] << 32) | l1;
  int z = 0;
  while (!(u & ((uint64_t)1 << 63))) {
    u <<= 1;
    z++;
  }
  int sticky = 0;
  if (z > 0) {
    u |= l2 >> (32 - z);
    sticky = (l2 & ((((uint64_t)1) << (32 - z)) - 1)) != 0;
  } else {
    sticky = l2 != 0;
  }
  for (int k = h - 3; k >= 0 && !sticky; k--) sticky = acc[k] != 0;
  uint64_t keep = u >> 11;
  const uint64_t rem = u & 0x7ff, half = 0x400;
  if (rem > half || (rem == half && (sticky || (keep & 1)))) keep++;
  /* Bit 0 of u has weight 2^(32(h − 1) + UNIT_EXP − z); keep is u >> 11. */
  const int e2 = 32 * (h - 1) + UNIT_EXP - z + 11;
  const double r = ldexp((double)keep, e2); /* exact unless it overflows */
  return negative ? -r : r;
}

void ie_partial_init(ie_partial *p, int64_t first_row) {
  if (!p) return;
  memset(p, 0, sizeof *p);
  p->version = IE_PARTIAL_VERSION;
  p->row_begin = p->row_end = first_row;
  p->min = INFINITY;
  p->max = -INFINITY;
}

void ie__partial_add_rows(ie_partial *p, const double *val, const double *w, int64_t n) {
  int64_t since = 0;
  for (int64_t i = 0; i < n; i++) {
    const double wi = w ? w[i] : 1.0;
    if (wi == 0) continue;
    const double v = val[i], x = wi == 1.0 ? v : wi * v;
    p->rows_kept++;
    if (v < p->min) p->min = v;
    if (v > p->max) p->max = v;
    if (++since == ADDS_PER_NORMALISE) {
      normalise(p->sum);
      normalise(p->weight_sum);
      since = 0;
    }
    add_exact(p->weight_sum, wi);
    if (isnan(x)) p->count_nan++;
    else if (x == INFINITY) p->count_pinf++;
    else if (x == -INFINITY) p->count_ninf++;
    else add_exact(p->sum, x);
  }
  normalise(p->sum);
  normalise(p->weight_sum);
  p->row_end += n;
}

/* The sums a device reduced (src/kernels/rows_outcome.h) for rows
 * [row_end, row_end + n): integers, so their normalised sum is the one
 * ie__partial_add_rows would have made of the same values. */
void ie__partial_add_outcome(ie_partial *p, const uint64_t *oc, int64_t n) {
  for (int k = 0; k < LIMBS; k++) {
    p->sum[k] += (int64_t)oc[ROWS_OC_SUM + k];
    p->weight_sum[k] += (int64_t)oc[ROWS_OC_WSUM + k];
  }
  normalise(p->sum);
  normalise(p->weight_sum);
  p->rows_kept += (int64_t)oc[ROWS_OC_KEPT];
  p->count_pinf += (int64_t)oc[ROWS_OC_PINF];
  p->count_ninf += (int64_t)oc[ROWS_OC_NINF];
  p->count_nan += (int64_t)oc[ROWS_OC_NAN];
  if (oc[ROWS_OC_MIN]) {
    double mn = rows_oc_unkey(~oc[ROWS_OC_MIN]), mx = rows_oc_unkey(oc[ROWS_OC_MAX]);
    /* ±0 compare equal: the first kept zero's sign, as the sequential scan keeps */
    if (oc[ROWS_OC_ZERO]) {
      const double z = (~oc[ROWS_OC_ZERO] & 1) ? -0.0 : 0.0;
      if (mn == 0) mn = z;
      if (mx == 0) mx = z;
    }
    if (mn < p->min) p->min = mn;
    if (mx > p->max) p->max = mx;
  }
  p->row_end += n;
}

/* Is `p` a state this library made (and not garbage)? */
static int well_formed(const ie_partial *p) {
  if (p->version != IE_PARTIAL_VERSION) return 0;
  if (p->row_end < p->row_begin || p->rows_kept < 0 || p->rows_kept > p->row_end - p->row_begin) return 0;
  if (p->count_pinf < 0 || p->count_ninf < 0 || p->count_nan < 0 ||
      p->count_pinf > p->rows_kept - p->count_ninf - p->count_nan)
    return 0;
  const int64_t *accs[2] = {p->sum, p->weight_sum};
  for (int a = 0; a < 2; a++) {
    for (int k = 0; k < LIMBS - 1; k++)
      if (accs[a][k] < 0 || accs[a][k] > (int64_t)LOW32) return 0;
    const int64_t top = accs[a][LIMBS - 1];
    if (top > ((int64_t)1 << 40) || top < -((int64_t)1 << 40)) return 0;
  }
  return 1;
}

static ie_status check_partial(ie_context *ctx, const char *fn, const char *name, const ie_partial *p) {
  if (!p) return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: '%s' is NULL", fn, name);
  if (!well_formed(p))
    return ie__error(ctx, IE_INVALID_ARGUMENT,
                     "%s: '%s' is not a partial state made by this library (version %u; want %d, "
                     "from ie_partial_init or a call): garbage, or from another build",
                     fn, name, (unsigned)p->version, IE_PARTIAL_VERSION);
  return IE_OK;
}

ie_status ie__partial_summary(ie_context *ctx, const char *fn, const ie_partial *p, ie_summary *sm) {
  if (p->rows_kept == 0)
    return ie__error(ctx, IE_EMPTY_REDUCTION, "%s: the mean is over zero kept rows (%lld rows, all masked)",
                     fn, (long long)(p->row_end - p->row_begin));
  ie_summary s;
  s.rows = p->row_end - p->row_begin;
  s.rows_kept = p->rows_kept;
  s.weight_sum = to_double(p->weight_sum);
  if (p->count_nan || (p->count_pinf && p->count_ninf)) s.sum = NAN;
  else if (p->count_pinf) s.sum = INFINITY;
  else if (p->count_ninf) s.sum = -INFINITY;
  else s.sum = to_double(p->sum);
  s.mean = s.sum / s.weight_sum;
  s.min = p->min;
  s.max = p->max;
  /* Every kept value NaN: no min or max. */
  if (p->min > p->max) s.min = s.max = NAN;
  *sm = s;
  return IE_OK;
}

ie_status ie_partial_add(ie_context *ctx, ie_partial *partial, const DLTensor *values,
                         const DLTensor *weights) {
  const char *fn = "ie_partial_add";
  IE__CHECK(ie__begin(ctx, fn, 1, ""));
  IE__CHECK(check_partial(ctx, fn, "partial", partial));
  if (!values) return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: tensor 'values' is NULL", fn);
  if (values->ndim != 1)
    return ie__error(ctx, IE_BAD_SHAPE, "%s: tensor 'values' must be 1-D [n], not %d-D", fn, values->ndim);
  const int64_t n = values->shape ? values->shape[0] : -1;
  ie__arg a;
  IE__CHECK(ie__check_vector(ctx, &a, fn, "values", values, n, (1u << IE_DT_F32) | (1u << IE_DT_F64)));
  if (n > INT64_MAX - partial->row_end)
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: %lld more rows after row %lld overflow the row count", fn,
                     (long long)n, (long long)partial->row_end);
  double *w = NULL;
  IE__CHECK(ie__read_weights(ctx, fn, weights, n, &w));
  double *v = ie__malloc((size_t)(n ? n : 1) * sizeof *v);
  if (!v) {
    free(w);
    return ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory for %lld values", fn, (long long)n);
  }
  ie_status s = n ? ie__read_vector(ctx, &a, v) : IE_OK;
  if (s == IE_OK) ie__partial_add_rows(partial, v, w, n);
  free(v);
  free(w);
  return s;
}

ie_status ie_partial_merge(ie_context *ctx, ie_partial *a, const ie_partial *b) {
  const char *fn = "ie_partial_merge";
  IE__CHECK(ie__begin(ctx, fn, 1, ""));
  IE__CHECK(check_partial(ctx, fn, "a", a));
  IE__CHECK(check_partial(ctx, fn, "b", b));
  if (b->row_begin != a->row_end)
    return ie__error(ctx, IE_INVALID_ARGUMENT,
                     "%s: 'b' covers rows [%lld, %lld) but 'a' ends at row %lld: states merge in row order, "
                     "each beginning where the one before ends",
                     fn, (long long)b->row_begin, (long long)b->row_end, (long long)a->row_end);
  if (a->kind && b->kind && a->kind != b->kind)
    return ie__error(ctx, IE_INVALID_ARGUMENT,
                     "%s: 'a' and 'b' hold different quantities (kinds %08x and %08x): states merge only "
                     "when made by the same call with the same kind and parameters (an entropy and a KL, "
                     "or one temperature and another, do not)",
                     fn, (unsigned)a->kind, (unsigned)b->kind);
  ie_partial r = *a;
  if (!r.kind) r.kind = b->kind;
  for (int k = 0; k < LIMBS; k++) {
    r.sum[k] += b->sum[k];
    r.weight_sum[k] += b->weight_sum[k];
  }
  normalise(r.sum);
  normalise(r.weight_sum);
  r.row_end = b->row_end;
  r.rows_kept += b->rows_kept;
  r.count_pinf += b->count_pinf;
  r.count_ninf += b->count_ninf;
  r.count_nan += b->count_nan;
  if (b->min < r.min) r.min = b->min;
  if (b->max > r.max) r.max = b->max;
  *a = r;
  return IE_OK;
}

ie_status ie_partial_finalize(ie_context *ctx, const ie_partial *partial, ie_summary *summary) {
  const char *fn = "ie_partial_finalize";
  IE__CHECK(ie__begin(ctx, fn, 1, ""));
  IE__CHECK(check_partial(ctx, fn, "partial", partial));
  if (!summary) return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: 'summary' is NULL", fn);
  return ie__partial_summary(ctx, fn, partial, summary);
}
