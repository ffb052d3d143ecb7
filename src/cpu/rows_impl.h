/*
 * rows_impl.h — PRIVATE.  The row kernels of docs/KERNELS.md for a working
 * precision R (rows.c instantiates it in double).  Running states and all
 * cross-chunk sums are double; the sums within one L1-sized chunk are in R.
 *
 * Expects: R (float or double), F(name) (adds a suffix), VEXP / VEXPM1 /
 * VLOG1P01 (vectorisable exp, expm1 on (−½, ½), log1p on [0, 1]), PHI_G
 * (φ(x)/x² on (−½, ½), vmath.h), SLOG /
 * SLOG1P (scalar libm in R); ROW_SHIFT (1: logits are shifted by row_shift
 * before the temperature; 0: not);
 * optionally FAST_PASS1(x, r, inv_t, st), a one-read logsumexp state that
 * returns -1 for rows it does not take.
 * With ROW_SHIFT the first passes return -1 for a row whose max lands far
 * from the shift (or whose log-weights overflow), for the double kernels.
 */

/* Widen elements [i0, i0 + n) of row r to log-weights (KERNELS.md, "Reading
 * a row"), for logits (x − c)·inv_t.  Returns an ie_rowerr code.  A finite
 * logit far below c may read as -inf (weight 0, as it is to float); one far
 * above gives +inf, which the first passes' check on the max catches. */
IE_INLINE int F(load_z)(const ie_mat *x, int64_t r, int64_t i0, int n,
                     ie_input_kind kind, R inv_t, R c, R *restrict z) {
  const char *base = (const char *)x->buf + x->offset +
                     ((size_t)r * (size_t)x->stride + (size_t)i0) * ie__dtype_size(x->dtype);
  switch (x->dtype) {
  case IE_DT_F32: for (int i = 0; i < n; i++) z[i] = (R)((const float *)base)[i]; break;
  case IE_DT_F64: for (int i = 0; i < n; i++) z[i] = (R)((const double *)base)[i]; break;
  case IE_DT_F16: for (int i = 0; i < n; i++) z[i] = ie__half_to_float(((const uint16_t *)base)[i]); break;
  case IE_DT_BF16:
#pragma omp simd
    for (int i = 0; i < n; i++) z[i] = ie__bf16_to_float(((const uint16_t *)base)[i]);
    break;
  default: return IE_ROW_NONFINITE;
  }
  int bad = 0;
  if (kind == IE_INPUT_LOGITS) {
#pragma omp simd reduction(| : bad)
    for (int i = 0; i < n; i++) {
      /* NaN or +inf; unshifted (double), the value over T: a finite x
       * whose x/T passes double's range (float64 logits near DBL_MAX, T <
       * 1) is as a +inf logit (−inf, below, is probability 0) */
      const R v = z[i];
      z[i] = (v - c) * inv_t;
      bad |= !((ROW_SHIFT ? v : z[i]) < (R)INFINITY);
    }
    return bad ? IE_ROW_NONFINITE : IE_ROW_OK;
  }
  int neg = 0;
  /* (log p − c)/T in double (vmath.h's log, vectorised), rounded once to
   * R: c, the log of a value of the row (row_shift), keeps z near the max
   * small, so that rows far from a sum of 1 (1e30, 1e-20) keep their
   * digits at any temperature */
#pragma omp simd reduction(| : bad, neg)
  for (int i = 0; i < n; i++) {
    bad |= !(z[i] < (R)INFINITY) || isnan(z[i]);
    neg |= z[i] < 0;
    z[i] = (R)((log_poly((double)z[i]) - (double)c) * (double)inv_t);
  }
  return bad ? IE_ROW_NONFINITE : neg ? IE_ROW_NEGATIVE : IE_ROW_OK;
}

/* How far (in log-weight) the row's max may land from the shift for the
 * first passes to keep a row: z near the max carries its size's rounding
 * (an ulp of 4 in float is 5e-7), which a result near 0 (an NLL, a KL of
 * near-identical rows) would show. */
#ifndef ROW_SHIFT_SPAN
#define ROW_SHIFT_SPAN 4
#endif

IE_INLINE R F(chunk_max)(const R *restrict z, int n) {
  R m = -(R)INFINITY;
#pragma omp simd reduction(max : m)
  for (int i = 0; i < n; i++) m = z[i] > m ? z[i] : m;
  return m;
}

/* The shift c of row r's log-weights: with ROW_SHIFT, the largest finite
 * logit of its first chunk, or the log of the row's largest probability
 * (a max over the whole row: cheaper than the double kernels that a max far
 * from the first chunk's would send it to, as a spike does), so that z =
 * (x − c)/T, or (log x − c)/T, near the row's max is small, in any float;
 * the first passes hand rows whose max lands far from c to the double
 * kernels; else 0. */
IE_INLINE R F(row_shift)(const ie_mat *x, int64_t r, ie_input_kind kind) {
  if (!ROW_SHIFT) return 0;
  R z[CHUNK], c = -(R)INFINITY;
  const int64_t cols = kind == IE_INPUT_LOGITS && x->cols > CHUNK ? CHUNK : x->cols;
  for (int64_t i0 = 0; i0 < cols; i0 += CHUNK) {
    const int n = cols - i0 < CHUNK ? (int)(cols - i0) : CHUNK;
    F(load_z)(x, r, i0, n, IE_INPUT_LOGITS, 1, 0, z); /* a bad value is found later */
#pragma omp simd reduction(max : c)
    for (int i = 0; i < n; i++) c = z[i] < (R)INFINITY && z[i] > c ? z[i] : c;
  }
  if (kind != IE_INPUT_LOGITS) return c > 0 ? (R)log_poly((double)c) : 0;
  return c > -(R)INFINITY ? c : 0;
}

/* ---- One matrix: lse, entropies, NLL ---------------------------------------- */

IE_INLINE int F(pass1_one)(const ie_mat *x, int64_t r, ie_input_kind kind, double inv_t,
                        int want_t, int want_u, double alpha, one_state *st) {
#ifdef FAST_PASS1
  /* The logsumexp state alone: the one-read path where the row allows it. */
  if (!want_t && !want_u && kind == IE_INPUT_LOGITS && FAST_PASS1(x, r, inv_t, st) >= 0)
    return IE_ROW_OK;
#endif
  R z[CHUNK];
  const R c = F(row_shift)(x, r, kind);
  one_state a = {-INFINITY, 0, 0, 0, c};
  for (int64_t i0 = 0; i0 < x->cols; i0 += CHUNK) {
    int n = x->cols - i0 < CHUNK ? (int)(x->cols - i0) : CHUNK;
    int e = F(load_z)(x, r, i0, n, kind, (R)inv_t, c, z);
    if (e) return e;
    double cm = F(chunk_max)(z, n);
    if (cm == -INFINITY) continue;
    one_raise(&a, cm, alpha);
    const R m = (R)a.m, al = (R)alpha;
    /* S is summed as (entries at the max) + Σ of the others: a row
     * dominated by one entry has S = 1 + (a small tail), and its digits
     * (log S is its entropy, NLL, lse) would be lost adding the tail to 1
     * in R. */
    R s = 0, ones = 0, t = 0, u = 0;
    if (!want_t && !want_u) {
#pragma omp simd reduction(+ : s, ones)
      for (int i = 0; i < n; i++) {
        s += z[i] < m ? VEXP(z[i] - m) : 0; /* -inf gives 0 */
        ones += z[i] == m ? 1 : 0;
      }
    } else if (!want_u) {
#pragma omp simd reduction(+ : s, ones, t)
      for (int i = 0; i < n; i++) {
        /* (d, not z: a finite z whose gap passes double's range is
         * probability 0 too, and e1·d would be 0·−inf) */
        R d = z[i] - m, e1 = VEXP(d);
        s += z[i] < m ? e1 : 0;
        ones += z[i] == m ? 1 : 0;
        t += d > -(R)INFINITY ? e1 * d : 0;
      }
    } else {
#pragma omp simd reduction(+ : s, ones, t, u)
      for (int i = 0; i < n; i++) {
        R d = z[i] - m, e1 = VEXP(d);
        int ok = d > -(R)INFINITY; /* (as above) */
        s += z[i] < m ? e1 : 0;
        ones += z[i] == m ? 1 : 0;
        t += ok ? e1 * d : 0;
        /* e^d·expm1((α−1)d) = e^{αd} − e^d, in the form that keeps digits */
        R x = (al - 1) * d, g = (x < 0.5 && x > -0.5) ? e1 * VEXPM1(x) : VEXP(al * d) - e1;
        u += ok ? g : 0;
      }
    }
    a.s += (double)s + (double)ones;
    if (want_t) a.t += t;
    if (want_u) a.u += u;
  }
  if (a.m == -INFINITY) return IE_ROW_EMPTY;
  /* The row's max far from the shift (a first chunk far below the rest):
   * z there would carry its size's rounding (or be +inf), for the double
   * kernels. */
  if (ROW_SHIFT && fabs(a.m) > ROW_SHIFT_SPAN) return -1;
  *st = a;
  return IE_ROW_OK;
}

IE_CPU_CLONES static int F(row_one)(const ie_rowargs *ra, const ie_mat *x, const ie_vec *labels,
                      int64_t r, double *val) {
  int want_t = ra->op == IE_OP_ENTROPY && ra->ent == IE_ENTROPY_SHANNON;
  int want_u = ra->op == IE_OP_ENTROPY && ra->ent != IE_ENTROPY_SHANNON && !isinf(ra->alpha);
  int64_t y = 0;
  if (ra->op == IE_OP_NLL) {
    const char *lp = (const char *)labels->buf + labels->offset +
                     (size_t)r * (size_t)labels->stride * ie__dtype_size(labels->dtype);
    y = labels->dtype == IE_DT_I32 ? *(const int32_t *)lp : *(const int64_t *)lp;
    if (ra->has_ignore_index && y == ra->ignore_index) {
      *val = 0;
      return IE_ROW_OK;
    }
    if (y < 0 || y >= x->cols) return IE_ROW_BAD_LABEL;
  }
  one_state st;
  int e = F(pass1_one)(x, r, ra->input, ra->inv_temp, want_t, want_u, ra->alpha, &st);
  if (e) return e;
  switch (ra->op) {
  case IE_OP_LSE:
    *val = st.c * ra->inv_temp + (st.m + log(st.s));
    break;
  case IE_OP_ENTROPY:
    *val = entropy_value(ra, &st);
    break;
  case IE_OP_NLL: {
    /* The label's log-weight zy as pass 1 formed every z, so that m − zy
     * is exact, and 0 for a label at the max.  (m − (x − c)·(1/T) in one
     * expression lets a compiler contract it into an FMA whose unrounded
     * product differs from the rounded z the max came from: NLLs of
     * −2e-13 at T = 0.01 for f64 rows, −1e4 at T = 1e-20.)  Where zy
     * leaves R's range below, the difference is taken in double. */
    R xy = 0, zy = 0;
    F(load_z)(x, r, y, 1, IE_INPUT_LOGITS, 1, 0, &xy);
    F(load_z)(x, r, y, 1, IE_INPUT_LOGITS, (R)ra->inv_temp, (R)st.c, &zy);
    *val = xy == -(R)INFINITY  ? INFINITY
           : zy > -(R)INFINITY ? (st.m - (double)zy) + log(st.s)
                               : (st.m - ((double)xy - st.c) * ra->inv_temp) + log(st.s);
    break;
  }
  default:
    *val = NAN;
  }
  return IE_ROW_OK;
}

/* ---- Two matrices: divergences ----------------------------------------------- */

/* Cross-entropy's B = Σ e^{zp−mp}(zq − mq) and its infinite flag again,
 * against the row's final maxima (a second read).  pass1_two sums B by
 * the gaps to the maxima of the time, which can all be finite for an entry
 * whose final gap passes double's range (float64 logits near ±DBL_MAX):
 * that entry's q is 0 (docs/SPEC.md §1), and where p's final gap is
 * finite, cross-entropy is +inf, as in the float64 reference. */
IE_INLINE void F(ce_final_gaps)(const ie_rowargs *ra, const ie_mat *x, const ie_mat *y,
                                int64_t r, two_state *a) {
  R zp[CHUNK], zq[CHUNK];
  const R mp = (R)a->mp, mq = (R)a->mq, ninf = -(R)INFINITY;
  double b = 0;
  int inf = 0;
  for (int64_t i0 = 0; i0 < x->cols; i0 += CHUNK) {
    const int n = x->cols - i0 < CHUNK ? (int)(x->cols - i0) : CHUNK;
    F(load_z)(x, r, i0, n, ra->input, (R)ra->inv_temp, (R)a->cp, zp);
    F(load_z)(y, r, i0, n, ra->q_input, (R)ra->inv_temp, (R)a->cq, zq);
    R tb = 0, lost = 0;
#pragma omp simd reduction(+ : tb, lost)
    for (int i = 0; i < n; i++) {
      const R gp = zp[i] - mp, gq = zq[i] - mq;
      tb += gp > ninf && gq > ninf ? VEXP(gp) * gq : 0;
      lost += gp > ninf && !(gq > ninf) ? 1 : 0;
    }
    b += (double)tb;
    inf |= lost > 0;
  }
  a->b = b;
  a->inf_b = inf;
}

IE_INLINE int F(pass1_two)(const ie_rowargs *ra, const ie_mat *x, const ie_mat *y, int64_t r,
                        two_state *st) {
  R zp[CHUNK], zq[CHUNK];
  const R shp = F(row_shift)(x, r, ra->input), shq = F(row_shift)(y, r, ra->q_input);
  two_state a = {-INFINITY, 0, -INFINITY, 0, 0, 0, 0, 0, 0, 0, shp, shq, 0, 1};
  const int want_b = ra->div == IE_DIV_CROSS_ENTROPY;
  for (int64_t i0 = 0; i0 < x->cols; i0 += CHUNK) {
    int n = x->cols - i0 < CHUNK ? (int)(x->cols - i0) : CHUNK;
    int ep = F(load_z)(x, r, i0, n, ra->input, (R)ra->inv_temp, shp, zp);
    int eq = F(load_z)(y, r, i0, n, ra->q_input, (R)ra->inv_temp, shq, zq);
    if (ep || eq) return ep ? ep : eq;
    double cp = F(chunk_max)(zp, n), cq = F(chunk_max)(zq, n);
    if (cp > a.mp) {
      if (a.mp > -INFINITY) {
        double k1 = exp(a.mp - cp);
        a.sp *= k1;
        a.a *= k1;
        a.b *= k1;
      }
      a.mp = cp;
    }
    if (cq > a.mq) {
      if (a.mq > -INFINITY) {
        double k1 = exp(a.mq - cq);
        if (a.sp > 0) a.b += (a.mq - cq) * a.sp; /* (−inf where the gap passes R's range) */
        a.sq *= k1;
        a.aq *= k1;
      }
      a.mq = cq;
    }
    const R mp = (R)a.mp, mq = (R)a.mq, ninf = -(R)INFINITY;
    /* inf_p counts entries with p > 0 = q, inf_q those with q > 0 = p
     * (kept in R so that every lane of the loop has one width); a finite
     * logit whose gap to its max passes double's range is probability 0
     * too, which pass 2 (the KL family's terms) and tb (cross-entropy)
     * take. */
    /* Σ e^{zp−mp}, Σ e^{zq−mq} as (entries at the max) + the others, as in
     * pass1_one; tb = Σ e^{zp−mp}(zq − mq) (cross-entropy) has terms of
     * one sign. */
    R sp = 0, sq = 0, onep = 0, oneq = 0, tb = 0, inf_p = 0, inf_q = 0;
#pragma omp simd reduction(+ : sp, sq, onep, oneq, tb, inf_p, inf_q)
    for (int i = 0; i < n; i++) {
      const R p = zp[i], q = zq[i];
      R e1 = VEXP(p - mp), e2 = VEXP(q - mq); /* 0 at -inf */
      sp += p < mp ? e1 : 0;
      sq += q < mq ? e2 : 0;
      /* not while a side's max is still -inf (its entries so far all
       * have probability 0): -inf == -inf would count them as at the max */
      onep += p == mp && p > ninf ? 1 : 0;
      oneq += q == mq && q > ninf ? 1 : 0;
      inf_p += (p > ninf && q == ninf) ? 1 : 0;
      inf_q += (q > ninf && p == ninf) ? 1 : 0;
      /* By p's gap: where it passes double's range (float64 logits near
       * ±DBL_MAX) the entry is probability 0 and adds nothing; where only
       * q's does, log q = −inf makes tb −inf (or NaN: 0·−inf, e1 0 by
       * underflow), which makes cross-entropy +inf below, as the float64
       * reference has it.  (Testing e1 here kept the loop from
       * vectorising, 3.5 times slower; gap-based counts cost 3%.) */
      const R gp = p - mp;
      tb += (gp > ninf && q > ninf) ? e1 * (q - mq) : 0;
    }
    a.sp += (double)sp + (double)onep;
    a.sq += (double)sq + (double)oneq;
    if (want_b) a.b += tb;
    a.inf_b |= want_b && !(tb > ninf); /* (a q-gap past R's range, above) */
    a.inf_a |= inf_p > 0;
    a.inf_b |= inf_p > 0;
    a.inf_aq |= inf_q > 0;
  }
  if (a.mp == -INFINITY || a.mq == -INFINITY) return IE_ROW_EMPTY;
  if (ROW_SHIFT && (fabs(a.mp) > ROW_SHIFT_SPAN || fabs(a.mq) > ROW_SHIFT_SPAN))
    return -1; /* as in pass1_one */
  /* A q-gap passes double's range only where q's max is 2^968 or more
   * (an entry near −DBL_MAX below it): only such rows are read again. */
  if (want_b && a.mq >= 0x1p968) F(ce_final_gaps)(ra, x, y, r, &a);
  *st = a;
  return IE_ROW_OK;
}

/* log of the Σ p^α q^{1−α} term, in shifted logs (KERNELS.md pass 2):
 * -inf for a zero term, +inf for an infinite one.  Branch-free, for the
 * vectorised loops. */
IE_INLINE R F(mix_log)(R dp, R dq, R al) {
  const R ninf = -(R)INFINITY, inf = (R)INFINITY;
  return dp == dq ? dp /* also both -inf */
         : dp == ninf ? (al >= 0 ? ninf : inf)
         : dq == ninf ? (al < 1 ? ninf : inf)
                      : al * dp + (1 - al) * dq;
}

/* Pass 2 of alpha, renyi (finite α) and tsallis over one chunk, into the
 * row's state.  The log Σ e^t is a logsumexp per chunk (its max, then the
 * sum against it), merged into the row's (mt, et).  Near α = 1 (α = 0) that
 * cancels, so the sum is also kept as P + W, W = Σ p·expm1((α−1)(lp − lq))
 * (the q-form Q + Σ q·expm1(α(lp − lq)) for α < ½), whose terms keep their
 * digits; P = Σ p, Q = Σ q (1 up to rounding).  The exps are shared:
 * p = e^{dp}/S_p, and a W term whose expm1 argument x is ½ or more in size
 * is e^{t − c} − p, c = α·lsp + (1 − α)·lsq (p·e^x = e^{α·lp + (1−α)·lq}),
 * with e^{t − c} = e^{t − tm}·e^{tm − c} from the logsumexp's own term. */
IE_INLINE void F(pass2_power)(const R *restrict zp, const R *restrict zq, int n, R mp, R mq,
                              R lsp, R lsq, double alpha, power_state *s) {
  const R ninf = -(R)INFINITY, inf = (R)INFINITY, al = (R)alpha;
  const int qform = alpha < 0.5;
  const R g = qform ? al : al - 1, zero_p = alpha < 1 ? 0 : inf, zero_q = alpha >= 0 ? 0 : inf;
  const R isp = (R)exp(-(double)lsp), isq = (R)exp(-(double)lsq);
  R tm = ninf;
  int diff = 0;
#pragma omp simd reduction(max : tm) reduction(| : diff)
  for (int i = 0; i < n; i++) {
    const R dp = zp[i] - mp, dq = zq[i] - mq, t = F(mix_log)(dp, dq, al);
    tm = t > tm ? t : tm;
    diff |= dp != dq;
  }
  const R base = isfinite(tm) ? tm : 0;
  /* e^{tm − c}: +inf or 0 only where W overflows (or its large terms are
   * below 1e-300 of P), which then falls back to the logsumexp */
  const R k = (R)exp((double)base - (alpha * (double)lsp + (1 - alpha) * (double)lsq));
  R cp2 = 0, cq2 = 0, et = 0, w = 0, pp = 0, qq = 0;
#pragma omp simd reduction(+ : cp2, cq2, et, w, pp, qq)
  for (int i = 0; i < n; i++) {
    const R dp = zp[i] - mp, dq = zq[i] - mq, lp = dp - lsp, lq = dq - lsq;
    const R ep = VEXP(dp), eq = VEXP(dq), p = ep * isp, q = eq * isq, r = qform ? q : p;
    const R e = VEXP(F(mix_log)(dp, dq, al) - base), x = g * (lp - lq);
    cp2 += ep;
    cq2 += eq;
    pp += p;
    qq += q;
    et += e;
    /* a zero p (q) against a positive q (p): the term's limit */
    w += lp > ninf && lq > ninf ? ((x < (R)0.5 && x > (R)-0.5) ? r * VEXPM1(x) : e * k - r)
         : lp > ninf            ? (qform ? 0 : -p) + zero_p
         : lq > ninf            ? (qform ? -q : 0) + zero_q
                                : 0;
  }
  s->sp2 += cp2, s->sq2 += cq2, s->w += w, s->pp += pp, s->qq += qq;
  s->diff |= diff;
  if (tm == inf) s->mt = inf;
  else if (tm > s->mt) s->et = (s->mt == ninf ? 0 : s->et * exp(s->mt - tm)) + et, s->mt = tm;
  else if (tm > ninf) s->et += et * exp(tm - s->mt);
}

/* Pass 2 of the kinds whose terms need no running state, as vectorised
 * loops over one chunk (KERNELS.md pass 2; same terms as the scalar loop in
 * pass2_two).  Returns 0 for the kinds it does not handle. */
IE_INLINE int F(pass2_fast)(ie_divergence_kind k, const R *restrict zp, const R *restrict zq,
                            int n, R mp, R mq, R lsp, R lsq, R cpq, R be, R lb, R lb1, R *c) {
  c[4] = 0;
  const R ninf = -(R)INFINITY, inf = (R)INFINITY;
  R c1 = 0, c2 = 0, c3 = 0, c4 = 0;
  switch (k) {
  case IE_DIV_KL:
  case IE_DIV_REVERSE_KL:
  case IE_DIV_JEFFREYS: {
    /* KL(p‖q) = Σ p·φ(L), KL(q‖p) = Σ q·φ(−L), φ(x) = e^{−x} − 1 + x ≥ 0,
     * L = log p/q = (zp − zq) − cpq (a difference of inputs first: nearly
     * equal entries keep their digits, equal ones give 0), or from each
     * side's gap to its max where those are the smaller (one row's logits
     * near 1e28, the other's near 10: zp − zq keeps no digit of zq; the
     * GPU kernels' rows_delta).  Beyond |L| = ½,
     * p·φ(L) = q − p + p·L (p·e^{−L} = q), which does not overflow.  An
     * entry with p = 0 < q adds q to KL(p‖q) (its φ-form term), and the
     * reverse; p > 0 = q makes KL(p‖q) infinite, which pass 1 flagged. */
    const int fw = k != IE_DIV_REVERSE_KL, rv = k != IE_DIV_KL;
#pragma omp simd reduction(+ : c1, c2)
    for (int i = 0; i < n; i++) {
      const R lp = (zp[i] - mp) - lsp, lq = (zq[i] - mq) - lsq;
      const R dz = zp[i] - zq[i], dgaps = (zp[i] - mp) - (zq[i] - mq); /* (rows_delta's choice) */
      const R by_inputs = FABS(dz) > FABS(mp - mq) ? FABS(dz) : FABS(mp - mq);
      const R by_gaps = mp - zp[i] > mq - zq[i] ? mp - zp[i] : mq - zq[i];
      const R L = by_inputs <= by_gaps ? dz - cpq : dgaps - (lsp - lsq);
      const R p = VEXP(lp), q = VEXP(lq), small = FABS(L) < (R)0.5;
      const R L2 = L * L;
      const R tf = small ? p * L2 * PHI_G(L) : q - p + p * L;
      const R tr = small ? q * L2 * PHI_G(-L) : p - q - q * L;
      /* (p > 0 = q: +inf.  Pass 1 flags the rows with a −inf entry; here
       * too a finite logit whose gap to its max passes double's range,
       * a probability 0 as the float64 reference has it) */
      const int hp = lp > ninf, hq = lq > ninf;
      c1 += fw ? (hp && hq ? tf : hq ? q : hp ? inf : 0) : 0;
      c2 += rv ? (hp && hq ? tr : hp ? p : hq ? inf : 0) : 0;
    }
    c1 += c2;
    c2 = 0;
    break;
  }
  case IE_DIV_JS:
#pragma omp simd reduction(+ : c1)
    for (int i = 0; i < n; i++) {
      R lp = (zp[i] - mp) - lsp, lq = (zq[i] - mq) - lsq;
      R a = lb + lp, b = lb1 + lq, hi = a > b ? a : b, lo = a > b ? b : a;
      R lm = hi + VLOG1P01(VEXP(lo - hi)); /* log-add-exp: log m */
      R tp = lp > ninf ? be * VEXP(lp) * (lp - lm) : 0;
      R tq = lq > ninf ? (1 - be) * VEXP(lq) * (lq - lm) : 0;
      c1 += lp != lq ? tp + tq : 0;
    }
    break;
  case IE_DIV_TV:
#pragma omp simd reduction(+ : c1)
    for (int i = 0; i < n; i++) {
      R d = VEXP((zp[i] - mp) - lsp) - VEXP((zq[i] - mq) - lsq);
      c1 += d < 0 ? -d : d;
    }
    break;
  case IE_DIV_HELLINGER:
#pragma omp simd reduction(+ : c1)
    for (int i = 0; i < n; i++) {
      R h = VEXP((R)0.5 * ((zp[i] - mp) - lsp)) - VEXP((R)0.5 * ((zq[i] - mq) - lsq));
      c1 += h * h;
    }
    break;
  case IE_DIV_CHI2:
#pragma omp simd reduction(+ : c1)
    for (int i = 0; i < n; i++) {
      R lp = (zp[i] - mp) - lsp, lq = (zq[i] - mq) - lsq, p = VEXP(lp), q = VEXP(lq);
      /* q underflows: p dominates; q = 0 < p: +inf */
      R t = q > 0 ? (p - q) * (p - q) / q : lq > ninf ? VEXP(2 * lp - lq) : lp > ninf ? inf : 0;
      c1 += t;
    }
    break;
  case IE_DIV_BHATTACHARYYA:
  case IE_DIV_CAUCHY_SCHWARZ: {
    /* The cross sum Σ e^{t}, t = (dp + dq)/2 (Bhattacharyya) or dp + dq,
     * against c[4]: 0, or the chunk's own max of t where that is far below
     * 0 (every term of far-apart rows can lie below exp's range; a chunk
     * that holds a term above it loses only terms e^{-100} below it),
     * merged by the caller as a logsumexp;
     * c2, c3 = Σ e^{dp}, Σ e^{dq} (Σ e^{2dp}, Σ e^{2dq}); c4 = Σ (√p − √q)²,
     * for rows_bhattacharyya's form of close rows. */
    const int cs = k == IE_DIV_CAUCHY_SCHWARZ;
    const R h = cs ? 1 : (R)0.5, h2 = cs ? 2 : 1;
    R tm = ninf;
#pragma omp simd reduction(max : tm)
    for (int i = 0; i < n; i++) {
      const R dp = zp[i] - mp, dq = zq[i] - mq, t = (dp > ninf && dq > ninf) ? h * (dp + dq) : ninf;
      tm = t > tm ? t : tm;
    }
    const R base = tm > ninf && tm < (sizeof(R) == 4 ? (R)-60 : (R)-600) ? tm : 0;
#pragma omp simd reduction(+ : c1, c2, c3, c4)
    for (int i = 0; i < n; i++) {
      R dp = zp[i] - mp, dq = zq[i] - mq;
      c1 += (dp > ninf && dq > ninf) ? VEXP(h * (dp + dq) - base) : 0;
      c2 += VEXP(h2 * dp);
      c3 += VEXP(h2 * dq);
      if (!cs) {
        R hh = VEXP((R)0.5 * (dp - lsp)) - VEXP((R)0.5 * (dq - lsq));
        c4 += hh * hh;
      }
    }
    c[4] = base;
    break;
  }
  default:
    return 0;
  }
  c[0] = c1;
  c[1] = c2;
  c[2] = c3;
  c[3] = c4;
  return 1;
}

IE_INLINE double F(pass2_two)(const ie_rowargs *ra, const ie_mat *x, const ie_mat *y, int64_t r,
                           const two_state *st) {
  R zp[CHUNK], zq[CHUNK];
  const R lsp = (R)log(st->sp), lsq = (R)log(st->sq), be = (R)ra->beta;
  const R lb = SLOG(be), lb1 = SLOG1P(-be), mp = (R)st->mp, mq = (R)st->mq;
  const R cpq = (R)((st->mp + log(st->sp)) - (st->mq + log(st->sq)));
  const ie_divergence_kind k = ra->div;
  /* Bhattacharyya's and the power family's s2, s3 (Σ e^{dp}, Σ e^{dq}) are
   * summed in the same order as s1, so that identical rows give exactly 0
   * where s1 is normalised by them. */
  double s1 = 0, s2 = 0, s3 = 0, s4 = 0, mx = -INFINITY, rxp = -INFINITY, rxq = -INFINITY;
  double mxp = 0, mxq = 0; /* (Rényi ∞: the entry of mx) */
  const int raw = k == IE_DIV_RENYI && isinf(ra->alpha) && ra->input == IE_INPUT_LOGITS &&
                  ra->q_input == IE_INPUT_LOGITS && !ROW_SHIFT;
  /* alpha / renyi / tsallis: log Σ e^{t} as a logsumexp (mt, et), since
   * t = α·dp + (1−α)·dq overflows for large orders or far-apart rows;
   * rows with dp == dq everywhere (!diff) have divergence 0. */
  const int power = k == IE_DIV_ALPHA || k == IE_DIV_TSALLIS || (k == IE_DIV_RENYI && !isinf(ra->alpha));
  power_state pw = {0, 0, -INFINITY, 0, 0, 0, 0, 0};
  /* Bhattacharyya's and Cauchy–Schwarz's cross sum as a logsumexp (xm, xs) */
  const int cross = k == IE_DIV_BHATTACHARYYA || k == IE_DIV_CAUCHY_SCHWARZ;
  double xm = -INFINITY, xs = 0;
  for (int64_t i0 = 0; i0 < x->cols; i0 += CHUNK) {
    int n = x->cols - i0 < CHUNK ? (int)(x->cols - i0) : CHUNK;
    F(load_z)(x, r, i0, n, ra->input, (R)ra->inv_temp, (R)st->cp, zp);
    F(load_z)(y, r, i0, n, ra->q_input, (R)ra->inv_temp, (R)st->cq, zq);
    R cf[5];
    if (F(pass2_fast)(k, zp, zq, n, mp, mq, lsp, lsq, cpq, be, lb, lb1, cf)) {
      if (cross) lse_merge(&xm, &xs, cf[4], cf[0]);
      else s1 += cf[0];
      s2 += cf[1];
      s3 += cf[2];
      s4 += cf[3];
    } else if (power) {
      F(pass2_power)(zp, zq, n, mp, mq, lsp, lsq, ra->alpha, &pw);
    } else if (raw) {
      /* Rényi of order ∞ from two logit rows: the max of xp − xq over p's
       * support, exact in double (as the raw maxima), so that
       * ((xp − xq) − (rxp − rxq))/T rounds once: z = x/T of logits near
       * 1e29 would carry 1e13 each */
      R xp[CHUNK], xq[CHUNK];
      F(load_z)(x, r, i0, n, IE_INPUT_LOGITS, 1, 0, xp);
      F(load_z)(y, r, i0, n, IE_INPUT_LOGITS, 1, 0, xq);
      for (int i = 0; i < n; i++) {
        rxp = xp[i] > rxp ? xp[i] : rxp;
        rxq = xq[i] > rxq ? xq[i] : rxq;
        /* p's support and q's zeros by the gaps: a gap past double's
         * range is a probability 0 (docs/SPEC.md §1), as in the branch below */
        if (zp[i] - mp > -(R)INFINITY) {
          /* (halves: logits near ±1e308 have differences past double's
           * range, which would tie at +inf) */
          double d = zq[i] - mq == -(R)INFINITY ? INFINITY : 0.5 * xp[i] - 0.5 * xq[i];
          if (d > mx) mx = d, mxp = xp[i], mxq = xq[i];
        }
      }
    } else { /* Rényi of order ∞: max of lp − lq over p's support */
      for (int i = 0; i < n; i++) {
        const R lp = (zp[i] - mp) - lsp, lq = (zq[i] - mq) - lsq;
        if (lp > -(R)INFINITY) {
          double d = lq == -(R)INFINITY ? INFINITY : (double)lp - (double)lq;
          mx = d > mx ? d : mx;
        }
      }
    }
  }
  if (raw && mx < INFINITY) {
    /* from the inputs' differences, or from the gaps to the maxima
     * (rows_by_gaps, as the GPU kernels' rows_renyi_inf) */
    const double d = rows_by_gaps(mxp, mxq, rxp, rxq) ? (mxp - rxp) - (mxq - rxq) : 2 * mx - (rxp - rxq);
    const double it = ra->inv_temp;
    /* (a difference past double's range, logits near ±1e308: each gap
     * over T first, finite for T > 1) */
    mx = (isfinite(d) ? d * it : (mxp * it - rxp * it) - (mxq * it - rxq * it)) - ((double)lsp - (double)lsq);
  }
  if (power) {
    if (!pw.diff) return 0;
    const double al2 = ra->alpha, ws = al2 < 0.5 ? pw.w / pw.qq : pw.w / pw.pp;
    if (fabs(ws) < 0.5) {
      /* log Σ p̂^α q̂^{1−α} for the normalised p̂ = p/P, q̂ = q/Q */
      double l = al2 < 0.5 ? log1p(ws) + al2 * (log(pw.qq) - log(pw.pp))
                           : log1p(ws) + (1 - al2) * (log(pw.pp) - log(pw.qq));
      return power_value(ra, l);
    }
    s1 = pw.mt == INFINITY ? INFINITY : pw.mt + log(pw.et); /* log Σ e^t */
    s2 = pw.sp2, s3 = pw.sq2;
  }
  if (cross) s1 = xm == -INFINITY ? -INFINITY : xm + log(xs); /* log of the cross sum */
  return pass2_value(ra, s1, s2, s3, s4, mx);
}

IE_CPU_CLONES static int F(row_two)(const ie_rowargs *ra, const ie_mat *x, const ie_mat *y, int64_t r,
                      double *val) {
  two_state st = {0}; /* set by pass1_two when it returns 0 */
  int e = F(pass1_two)(ra, x, y, r, &st);
  if (e) return e;
  if (ra->div == IE_DIV_CROSS_ENTROPY) *val = ce_value(&st);
  else if (kl_infinite(ra->div, &st)) *val = INFINITY;
  else *val = F(pass2_two)(ra, x, y, r, &st);
  return IE_ROW_OK;
}
