/*
 * discrete.c (cpu) — the discrete-information sub-table (src/discrete.h) on
 * the host: counting pairs, table sums, the PMI map, the MI terms and the
 * per-joint PID, with the cell formulas of src/kernels/discrete.h.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "../discrete.h"
#include "../kernels/broja.h"
#include "../kernels/discrete.h"
#include "../threads.h"

static const ie_u8 *base_of(const ie_mat *m) { return (const ie_u8 *)m->buf + m->offset; }

/* ---- Counting ---------------------------------------------------------------------
 * Each thread owns the table rows x that count_owner gives it: it reads
 * every x label and, for the rows it owns, checks the row's pairs and adds
 * them.  No two threads touch one cell (no atomics), every y label is read
 * once, and the threads meet only at the end of the call: a barrier a block
 * of rows costs a scheduler time slice whenever the machine has other work,
 * which made a loaded 2-core machine count 4x slower.  A thread stops at its
 * first bad pair, or once another thread has found an earlier one; the
 * call's first bad pair is the smallest found, and then every thread takes
 * off what it added: on failure the table is as it was. */

typedef struct {
  const char *xb, *yb;
  int x32, y32;
  int64_t xstride, ystride, k, X, Y;
  int has_ignore;
  int64_t ignore;
  int64_t *tab;
} count_job;

static inline int64_t x_at(const count_job *c, int64_t i) {
  return c->x32 ? (int64_t)((const int32_t *)c->xb)[i * c->xstride] : ((const int64_t *)c->xb)[i * c->xstride];
}
static inline int64_t y_at(const count_job *c, int64_t i, int64_t j) {
  const int64_t e = i * c->ystride + j;
  return c->y32 ? (int64_t)((const int32_t *)c->yb)[e] : ((const int64_t *)c->yb)[e];
}

/* The thread of T that owns table row a (any label, even a bad one):
 * Knuth's multiplicative hash of a mapped onto [0, T) by a multiply and a
 * shift (Lemire 2019) rather than a % T, whose 64-bit division would cost
 * more than the row's adds.  Zipf-like token rows spread over the threads. */
static inline int count_owner(int64_t a, int T) {
  return (int)(((uint64_t)(uint32_t)((uint64_t)a * 2654435761u) * (uint64_t)T) >> 32);
}

/* Thread t's pass over rows [0, n): checks and adds the pairs of its rows.
 * Returns the flat index (row * k + column) of its first bad pair, or -1;
 * *end is the row it stopped at (n, or the bad one, or where it saw that
 * another thread's bad pair, *found, comes earlier).
 * The cells are scattered over a table far larger than the caches (32 000
 * tokens x 256 experts: 65 MB), so each add would wait for memory; the
 * cells of the row COUNT_AHEAD rows on are prefetched first, which keeps
 * several misses in flight at once (written in the loop itself: GCC 12
 * dropped them as dead code when they sat in a helper of their own). */
enum { COUNT_AHEAD = 16, COUNT_LOOK = 4096 /* rows between looks at *found */ };
static int64_t count_rows(const count_job *c, int64_t n, int t, int T, const int64_t *found, int64_t *end) {
  int64_t i = 0, bad = -1;
  for (; i < n; i++) {
    if (i % COUNT_LOOK == 0 && T > 1) {
      int64_t f;
#pragma omp atomic read
      f = *found;
      if (f >= 0 && f < i * c->k) break;
    }
#if defined(__GNUC__)
    const int64_t ahead = i + COUNT_AHEAD, a2 = ahead < n ? x_at(c, ahead) : -1;
    if (a2 >= 0 && a2 < c->X && count_owner(a2, T) == t) {
      const int64_t *row2 = c->tab + a2 * c->Y;
      for (int64_t j = 0; j < c->k; j++) {
        const int64_t b = y_at(c, ahead, j);
        if (b >= 0 && b < c->Y) __builtin_prefetch(row2 + b, 1, 1);
      }
    }
#endif
    const int64_t a = x_at(c, i);
    if ((c->has_ignore && a == c->ignore) || count_owner(a, T) != t) continue;
    const int a_ok = a >= 0 && a < c->X;
    int64_t j = 0;
    for (; j < c->k; j++) {
      const int64_t b = y_at(c, i, j);
      if (c->has_ignore && b == c->ignore) continue;
      if (!a_ok || b < 0 || b >= c->Y) break;
    }
    if (j < c->k) {
      bad = i * c->k + j;
      break;
    }
    int64_t *row = c->tab + a * c->Y;
    if (!c->has_ignore) {
      for (j = 0; j < c->k; j++) row[y_at(c, i, j)]++;
    } else {
      for (j = 0; j < c->k; j++) {
        const int64_t b = y_at(c, i, j);
        if (b != c->ignore) row[b]++;
      }
    }
  }
  *end = i;
  return bad;
}

/* Take off the pairs of thread t's rows in [0, end) (all good: count_rows
 * stopped at the first bad one). */
static void count_undo(const count_job *c, int64_t end, int t, int T) {
  for (int64_t i = 0; i < end; i++) {
    const int64_t a = x_at(c, i);
    if ((c->has_ignore && a == c->ignore) || count_owner(a, T) != t) continue;
    int64_t *row = c->tab + a * c->Y;
    for (int64_t j = 0; j < c->k; j++) {
      const int64_t b = y_at(c, i, j);
      if (!c->has_ignore || b != c->ignore) row[b]--;
    }
  }
}

/* ---- Counting in cache-sized bands --------------------------------------------------
 * When the table is far larger than the caches, count_rows waits for memory
 * at almost every add, prefetching or not (6–7 ns a pair a core, measured
 * on 32 000 × 256).  The pairs are partitioned first instead, as radix
 * partitioning does for hash joins (Manegold, Boncz and Kersten 2000;
 * software write-combining: Balkesen et al. 2013): a band is a run of
 * table rows (a power of two of them) whose cells fill at most BAND_CELLS
 * int64, an L1 cache's share.  Pass 1 checks every pair and counts, for
 * each of T parts of the rows (one a thread), the pairs of each band; pass
 * 2 writes each pair's cell index into its part's run of its band, through
 * a cache line of buffer a band that goes out whole with a streaming store
 * (the runs start on cache lines); pass 3 adds one band's runs at a time,
 * on any thread, its cells in the cache.  Small bands also spread the few
 * hot rows of Zipf-like labels over the threads.  The table is touched
 * only when every pair is good, so a bad pair needs no undo.  A call of
 * more than ie__cpu_count_batch_pairs pairs goes through in batches of
 * rows, which bounds the scratch; it checks every pair first. */
enum {
  BAND_CELLS = 2048,
  BAND_DIRECT_CELLS = 1 << 18, /* smaller tables: count_rows */
  BAND_LINE = 16,              /* cell indices a cache line */
  BAND_SLOTS = 1 << 18         /* parts × bands at most: 21 MiB of counts, positions and buffers */
};
int64_t ie__cpu_count_batch_pairs = (int64_t)1 << 25; /* 128 MiB of cell indices */

typedef struct {
  const count_job *c;
  int64_t row0, n, bands; /* the batch: rows [row0, row0 + n) */
  int shift;              /* a row's band: row >> shift */
  int T;
  int fast;          /* y int32 rows of k contiguous labels, no ignore label */
  int64_t *count;    /* T × bands (part-major): pass 1's counts */
  int64_t *pos;      /* T × bands: where each part's run of each band starts (a cache line), then pass 2's ends */
  uint32_t *line;    /* T × bands × BAND_LINE: pass 2's buffers, a cache line each */
  uint8_t *fill;     /* T × bands: the cells in each buffer */
  uint32_t *cells;   /* the runs: each pair's cell index a·Y + b */
} band_job;

/* Part t's rows: [row0 + t·n/T, row0 + (t + 1)·n/T). */
static int64_t band_first(const band_job *bj, int t) { return bj->row0 + (int64_t)((__int128)bj->n * t / bj->T); }

/* Pass 1 over part t's rows: the flat index of its first bad pair (-1:
 * none), and its kept pairs in each band. */
static int64_t band_count(const band_job *bj, int t) {
  const count_job *c = bj->c;
  int64_t *count = bj->count + (size_t)t * (size_t)bj->bands;
  memset(count, 0, (size_t)bj->bands * sizeof *count);
  const int64_t e = band_first(bj, t + 1), k = c->k;
  int64_t i = band_first(bj, t);
  if (bj->fast) { /* a row's labels checked at once, the first bad one looked for only if there is one */
    const uint64_t X = (uint64_t)c->X, Y = (uint64_t)c->Y;
    for (; i < e; i++) {
      const int64_t a = x_at(c, i);
      const uint32_t *yr = (const uint32_t *)c->yb + i * k;
      uint32_t over = 0;
      for (int64_t j = 0; j < k; j++) over |= yr[j] >= Y;
      if (over || (uint64_t)a >= X) break;
      count[a >> bj->shift] += k;
    }
    if (i == e) return -1;
  }
  for (; i < e; i++) {
    const int64_t a = x_at(c, i);
    if (c->has_ignore && a == c->ignore) continue;
    const int a_ok = a >= 0 && a < c->X;
    int64_t kept = 0;
    for (int64_t j = 0; j < k; j++) {
      const int64_t b = y_at(c, i, j);
      if (c->has_ignore && b == c->ignore) continue;
      if (!a_ok || b < 0 || b >= c->Y) return i * k + j;
      kept++;
    }
    if (kept) count[a >> bj->shift] += kept;
  }
  return -1;
}

/* A full buffer out to its cache line of the run, past the caches. */
static inline void band_stream(uint32_t *dst, const uint32_t *line) {
#if defined(__SSE2__)
  for (int q = 0; q < BAND_LINE; q += 4)
    _mm_stream_si128((__m128i *)(dst + q), _mm_load_si128((const __m128i *)(line + q)));
#else
  memcpy(dst, line, BAND_LINE * sizeof *dst);
#endif
}

/* Pass 2 over part t's rows: the cell indices into the runs. */
static void band_scatter(const band_job *bj, int t) {
  const count_job *c = bj->c;
  int64_t *pos = bj->pos + (size_t)t * (size_t)bj->bands;
  const int64_t e = band_first(bj, t + 1), k = c->k;
  int64_t i = band_first(bj, t);
  if (bj->fast) {
    uint32_t *lines = bj->line + (size_t)t * (size_t)bj->bands * BAND_LINE;
    uint8_t *fill = bj->fill + (size_t)t * (size_t)bj->bands;
    memset(fill, 0, (size_t)bj->bands);
    for (; i < e; i++) {
      const int64_t a = x_at(c, i), band = a >> bj->shift;
      const uint32_t *yr = (const uint32_t *)c->yb + i * k, rowcell = (uint32_t)(a * c->Y);
      uint32_t *line = lines + (size_t)band * BAND_LINE;
      unsigned f = fill[band];
      for (int64_t j = 0; j < k; j++) {
        line[f++] = rowcell + yr[j];
        if (f == BAND_LINE) {
          band_stream(bj->cells + pos[band], line);
          pos[band] += BAND_LINE;
          f = 0;
        }
      }
      fill[band] = (uint8_t)f;
    }
    for (int64_t b = 0; b < bj->bands; b++) { /* the partial lines */
      memcpy(bj->cells + pos[b], lines + (size_t)b * BAND_LINE, fill[b] * sizeof *bj->cells);
      pos[b] += fill[b];
    }
#if defined(__SSE2__)
    _mm_sfence(); /* the streaming stores before pass 3 reads them on another thread */
#endif
    return;
  }
  for (; i < e; i++) {
    const int64_t a = x_at(c, i);
    if (c->has_ignore && a == c->ignore) continue;
    uint32_t *out = bj->cells + pos[a >> bj->shift];
    const uint32_t rowcell = (uint32_t)(a * c->Y);
    int64_t kept = 0;
    for (int64_t j = 0; j < k; j++) {
      const int64_t b = y_at(c, i, j);
      if (c->has_ignore && b == c->ignore) continue;
      out[kept++] = rowcell + (uint32_t)b;
    }
    pos[a >> bj->shift] += kept;
  }
}

/* Pass 1 over the batch: *bad, the first bad pair's flat index (-1: none). */
static void band_check(band_job *bj, int64_t *bad) {
  const int T = bj->T;
  int64_t firsts[IE_MAX_THREADS];
  /* T parts of the rows, whatever team OpenMP gives */
#pragma omp parallel for schedule(static, 1) num_threads(T)
  for (int t = 0; t < T; t++) firsts[t] = band_count(bj, t);
  /* the parts' rows ascend: the first bad pair is the first part's that has one */
  *bad = -1;
  for (int t = 0; t < T && *bad < 0; t++) *bad = firsts[t];
}

/* One batch: the three passes. */
static void band_batch(band_job *bj, int64_t *bad) {
  const int T = bj->T;
  band_check(bj, bad);
  if (*bad >= 0) return;
  int64_t at = 0; /* the runs band by band, each part's in order, each on a cache line */
  for (int64_t b = 0; b < bj->bands; b++)
    for (int t = 0; t < T; t++) {
      const size_t q = (size_t)t * (size_t)bj->bands + (size_t)b;
      bj->pos[q] = at;
      at = (at + bj->count[q] + BAND_LINE - 1) / BAND_LINE * BAND_LINE;
    }
#pragma omp parallel for schedule(static, 1) num_threads(T)
  for (int t = 0; t < T; t++) band_scatter(bj, t);
  /* pos now ends each run, count[q] cells after its start */
  int64_t *tab = bj->c->tab;
#pragma omp parallel for schedule(dynamic, 16) num_threads(T)
  for (int64_t b = 0; b < bj->bands; b++)
    for (int t = 0; t < T; t++) {
      const size_t q = (size_t)t * (size_t)bj->bands + (size_t)b;
      const uint32_t *end = bj->cells + bj->pos[q], *cell = end - bj->count[q];
      for (; cell < end; cell++) tab[*cell]++;
    }
}

static ie_status count_banded(ie_context *ctx, const count_job *c, int64_t n, int T, int64_t *bad) {
  band_job bj = {c, 0, 0, 0, 0, T, !c->has_ignore && c->y32 && c->ystride == c->k, NULL, NULL, NULL, NULL, NULL};
  while (((int64_t)2 << bj.shift) * c->Y <= BAND_CELLS) bj.shift++;
  while ((((c->X - 1) >> bj.shift) + 1) * T > BAND_SLOTS) bj.shift++; /* wider bands, not more of them */
  bj.bands = ((c->X - 1) >> bj.shift) + 1;
  const int64_t batch = ie__cpu_count_batch_pairs / c->k > 0 ? ie__cpu_count_batch_pairs / c->k : 1; /* rows */
  const size_t TB = (size_t)T * (size_t)bj.bands;
  /* one slot: the buffers' lines first (64-byte aligned), then the counts, positions and fills */
  char *scratch;
  ie_status st = ie__ws_host(ctx, IE_WSH_DISCRETE + 0, 64 + TB * (BAND_LINE * 4 + 8 + 8 + 1), (void **)&scratch);
  if (st != IE_OK) return st;
  bj.line = (uint32_t *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
  bj.count = (int64_t *)(bj.line + TB * BAND_LINE);
  bj.pos = bj.count + TB;
  bj.fill = (uint8_t *)(bj.pos + TB);
  const int64_t rows = n < batch ? n : batch;
  st = ie__ws_host(ctx, IE_WSH_DISCRETE + 1, 64 + ((size_t)rows * (size_t)c->k + TB * BAND_LINE) * sizeof *bj.cells,
                   (void **)&scratch);
  if (st != IE_OK) return st;
  bj.cells = (uint32_t *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
  *bad = -1;
  if (n > batch) /* every pair checked before one is added: a bad one leaves the table as it was */
    for (bj.row0 = 0; bj.row0 < n && *bad < 0; bj.row0 += batch) {
      bj.n = n - bj.row0 < batch ? n - bj.row0 : batch;
      band_check(&bj, bad);
    }
  for (bj.row0 = 0; bj.row0 < n && *bad < 0; bj.row0 += batch) {
    bj.n = n - bj.row0 < batch ? n - bj.row0 : batch;
    band_batch(&bj, bad);
  }
  return IE_OK;
}

static ie_status count_now(ie_context *ctx, const ie_vec *x, const ie_mat *y, int64_t X,
                           int64_t Y, int has_ignore, int64_t ignore, void *table,
                           size_t table_off, int64_t *bad) {
  const count_job c = {(const char *)x->buf + x->offset,
                       (const char *)y->buf + y->offset,
                       x->dtype == IE_DT_I32,
                       y->dtype == IE_DT_I32,
                       x->stride,
                       y->stride,
                       y->cols,
                       X,
                       Y,
                       has_ignore,
                       ignore,
                       (int64_t *)((char *)table + table_off)};
  const int64_t n = x->n;
  int64_t found = -1; /* the first bad pair found so far, by any thread */
  const int T = n * c.k > 65536 ? ie__threads(ctx) : 1;
  if (X * Y > BAND_DIRECT_CELLS && X * Y <= (int64_t)UINT32_MAX + 1 && n * c.k > 65536)
    return count_banded(ctx, &c, n, T, bad);
#pragma omp parallel num_threads(T)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    int64_t end = 0;
    const int64_t mine = count_rows(&c, n, t, nt, &found, &end);
    if (mine >= 0) {
#pragma omp critical(ie_count_first)
      {
        int64_t f;
#pragma omp atomic read
        f = found;
        if (f < 0 || mine < f) {
#pragma omp atomic write
          found = mine;
        }
      }
    }
#pragma omp barrier
    int64_t f;
#pragma omp atomic read
    f = found;
    if (f >= 0) count_undo(&c, end, t, nt);
  }
  *bad = found;
  return IE_OK;
}

/* The CPU has nothing to leave in flight: a verdict asked for is known. */
static ie_status cpu_count(ie_context *ctx, const ie_vec *x, const ie_mat *y, int64_t X,
                           int64_t Y, int has_ignore, int64_t ignore, void *table,
                           size_t table_off, int64_t *bad, int64_t *verdict) {
  const ie_status st = count_now(ctx, x, y, X, Y, has_ignore, ignore, table, table_off, bad);
  if (st == IE_OK && verdict) {
    *verdict = *bad >= 0 ? *bad : INT64_MAX;
    *bad = -1;
  }
  return st;
}

static ie_status cpu_sums(ie_context *ctx, const ie_mat *t, int64_t sets, double *rowsum,
                          double *colsum, double *rowmax, double *colmax, double *totals,
                          int64_t *bad, ie_rowerr *code) {
  (void)ctx;
  const ie_u8 *b = base_of(t);
  const int dt = (int)t->dtype;
  const int64_t X = t->rows / sets, Y = t->cols;
  *bad = -1;
  *code = IE_ROW_OK;
  for (int64_t i = 0; i < t->rows * Y; i++) {
    const double v = disc_load(b, dt, i);
    if (!isfinite(v) || v < 0) {
      *bad = i;
      *code = isfinite(v) ? IE_ROW_NEGATIVE : IE_ROW_NONFINITE;
      return IE_OK;
    }
  }
  memset(colsum, 0, (size_t)(sets * Y) * sizeof *colsum);
  if (colmax) memset(colmax, 0, (size_t)(sets * Y) * sizeof *colmax);
  for (int64_t r = 0; r < t->rows; r++) {
    double s = 0, m = 0;
    double *cs = colsum + (r / X) * Y;
    double *cm = colmax ? colmax + (r / X) * Y : NULL;
    for (int64_t c = 0; c < Y; c++) {
      const double v = disc_load(b, dt, r * Y + c);
      s += v;
      cs[c] += v;
      m = fmax(m, v);
      if (cm) cm[c] = fmax(cm[c], v);
    }
    rowsum[r] = s;
    if (rowmax) rowmax[r] = m;
  }
  for (int64_t set = 0; set < sets; set++) {
    double n = 0;
    for (int64_t r = set * X; r < (set + 1) * X; r++) n += rowsum[r];
    totals[set] = n;
  }
  return IE_OK;
}

static ie_status cpu_pmi(ie_context *ctx, const ie_mat *t, const ie_disc_pmi_args *a,
                         const double *rowm, const double *colm, const ie_mat *out,
                         double *stats) {
  (void)ctx;
  const ie_u8 *b = base_of(t);
  const int dt = (int)t->dtype;
  const int64_t X = t->rows, Y = t->cols;
  const double logn = log(a->n), k = a->smooth;
  const double kx = k * (double)Y, ky = k * (double)X;
#pragma omp parallel for schedule(static) if (X * Y > 65536) num_threads(ie__threads(ctx))
  for (int64_t r = 0; r < X; r++) {
    double mn = INFINITY, mx = -INFINITY, nmn = INFINITY, nmx = -INFINITY;
    for (int64_t c = 0; c < Y; c++) {
      const double raw = disc_load(b, dt, r * Y + c);
      double pmi, npmi;
      disc_pmi_cell(raw, raw + k, rowm[r] + kx, colm[c] + ky, logn, a->min_count, &pmi, &npmi);
      const double v = disc_pmi_pick(a->kind, pmi, npmi);
      mn = fmin(mn, v);
      mx = fmax(mx, v);
      nmn = fmin(nmn, npmi);
      nmx = fmax(nmx, npmi);
      if (out) {
        char *o = (char *)out->buf + out->offset;
        if (out->dtype == IE_DT_F64) ((double *)o)[r * Y + c] = v;
        else ((float *)o)[r * Y + c] = (float)v;
      }
    }
    stats[4 * r] = mn;
    stats[4 * r + 1] = mx;
    stats[4 * r + 2] = nmn;
    stats[4 * r + 3] = nmx;
  }
  return IE_OK;
}

static ie_status cpu_mi_rows(ie_context *ctx, const ie_mat *t, int64_t sets, const double *rowsum,
                             const double *colsum, const double *n, double *rowmi) {
  (void)ctx;
  const ie_u8 *b = base_of(t);
  const int dt = (int)t->dtype;
  const int64_t X = t->rows / sets, Y = t->cols;
#pragma omp parallel for schedule(static) if (t->rows * Y > 65536) num_threads(ie__threads(ctx))
  for (int64_t r = 0; r < t->rows; r++) {
    const int64_t s = r / X;
    const double N = n[s], logn = log(N);
    double acc = 0;
    for (int64_t c = 0; c < Y; c++)
      acc += disc_mi_term(disc_load(b, dt, r * Y + c), rowsum[r], colsum[s * Y + c], N, logn);
    rowmi[r] = acc;
  }
  return IE_OK;
}

static ie_status cpu_pid(ie_context *ctx, const ie_mat *j, int64_t S1, int64_t S2, int64_t T,
                         int measure, double *res, int64_t *iters, const ie_mat *out, int64_t *bad,
                         ie_rowerr *code, int64_t *verdict) {
  const ie_u8 *b = base_of(j);
  const int dt = (int)j->dtype;
  const int64_t n = S1 * S2 * T, B = j->rows;
  /* Every joint is checked first (the smallest 4·r + code fails), so that a
   * failure writes nothing. */
  int64_t first = INT64_MAX;
#pragma omp parallel for schedule(static) reduction(min : first) if (B * n > 65536) \
    num_threads(ie__threads(ctx))
  for (int64_t r = 0; r < B; r++) {
    double total = 0;
    const int c = disc_joint_check(b, dt, r * n, n, &total);
    if (c != DISC_OK && 4 * r + c < first) first = 4 * r + c;
  }
  if (verdict) *verdict = first; /* the CPU has nothing to leave in flight */
  *bad = first == INT64_MAX || verdict ? -1 : first / 4;
  *code = first == INT64_MAX || verdict ? IE_ROW_OK : (ie_rowerr)(first % 4);
  if (first != INT64_MAX || (!res && !out)) return IE_OK;
  ie_u8 *o = out ? (ie_u8 *)out->buf + out->offset : NULL;
  const int o64 = out && out->dtype == IE_DT_F64;
  const int broja = measure == DISC_PID_BROJA;
  /* BROJA: one slice of scratch a thread (src/kernels/broja.h). */
  const int threads = ie__threads(ctx);
  const int nt = broja && B < threads ? (int)B : threads;
  const int64_t words = broja ? broja_scratch_words(S1, S2, T) : 0;
  double *w = NULL;
  if (broja) {
    w = malloc((size_t)nt * (size_t)words * sizeof *w);
    if (!w) return ie__error(ctx, IE_OUT_OF_MEMORY, "ie_pid: no host memory for the BROJA solver");
  }
#pragma omp parallel num_threads(nt) if (broja ? B > 1 : B > 64)
  {
    double *mine = broja ? w + (int64_t)omp_get_thread_num() * words : NULL;
#pragma omp for schedule(dynamic, 4)
    for (int64_t r = 0; r < B; r++) {
      double total = 0, v[7];
      disc_joint_check(b, dt, r * n, n, &total);
      if (broja) {
        const int64_t steps = broja_joint(b, dt, r * n, S1, S2, T, total, mine, v);
        if (iters) iters[r] = steps;
      } else {
        disc_pid_joint(b, dt, r * n, S1, S2, T, total, measure, v);
      }
      if (res) memcpy(res + 7 * r, v, sizeof v);
      for (int q = 0; o && q < 4; q++) {
        if (o64) ((double *)o)[4 * r + q] = v[q];
        else ((float *)o)[4 * r + q] = (float)v[q];
      }
    }
  }
  free(w);
  return IE_OK;
}

static ie_status cpu_pointwise(ie_context *ctx, const ie_mat *i1, const ie_mat *i2,
                               const ie_mat *i12, const ie_mat *out[4], int64_t *bad) {
  (void)ctx;
  const ie_u8 *a = base_of(i1), *b = base_of(i2), *c = base_of(i12);
  const int64_t n = i1->cols;
  *bad = -1;
  for (int64_t e = 0; e < n; e++) {
    const double x = disc_load(a, (int)i1->dtype, e), y = disc_load(b, (int)i2->dtype, e),
                 z = disc_load(c, (int)i12->dtype, e);
    if (!isfinite(x) || !isfinite(y) || !isfinite(z)) {
      *bad = e;
      return IE_OK;
    }
    const double r = fmin(x, y);
    const double v[4] = {r, x - r, y - r, z - fmax(x, y)};
    for (int o = 0; o < 4; o++) {
      if (!out[o]) continue;
      char *p = (char *)out[o]->buf + out[o]->offset;
      if (out[o]->dtype == IE_DT_F64) ((double *)p)[e] = v[o];
      else ((float *)p)[e] = (float)v[o];
    }
  }
  return IE_OK;
}

const ie_disc_ops ie__cpu_disc_ops = {
    .count = cpu_count,
    .sums = cpu_sums,
    .pmi = cpu_pmi,
    .mi_rows = cpu_mi_rows,
    .pid = cpu_pid,
    .pointwise = cpu_pointwise,
};
