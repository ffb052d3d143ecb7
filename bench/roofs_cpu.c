/* The CPU roofs: a summing read and a copy of a buffer larger than the
 * last-level cache, each the best of several loops, and an SGEMM roof
 * (cblas_sgemm) for the compute-bound cases.  The conventions are at the top
 * of main.c. */
#define _GNU_SOURCE
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#ifdef IE_BENCH_CBLAS
#include <cblas.h>
#endif

const char *const ROOF_NAMES[ROOF_COUNT] = {"read", "copy", "h2d", "gemm", "exp"};

void time_roof(roofs *r, roof_kind k, void (*f)(void *), void *arg, int reps, double min_time,
               double amount, const char *note_fmt, ...) {
  time_plain(f, arg, reps, min_time, &r->t[k]);
  r->bytes[k] = amount;
  r->gbps[k] = amount / r->t[k].med / 1e9;
  va_list ap;
  va_start(ap, note_fmt);
  vsnprintf(r->note[k], sizeof r->note[k], note_fmt, ap);
  va_end(ap);
}

/* The size of cpu0's highest cache level as Linux's sysfs lists it (its
 * cacheinfo, from CPUID); 0 if it lists none. */
static size_t sysfs_llc_bytes(void) {
  size_t best = 0;
  int best_level = 0;
  for (int i = 0; i < 16; i++) {
    char path[96];
    int level = 0;
    long size = 0;
    char unit = 0;
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/level", i);
    FILE *f = fopen(path, "r");
    if (!f) break;
    const int got_level = fscanf(f, "%d", &level) == 1;
    fclose(f);
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
    if (!got_level || !(f = fopen(path, "r"))) continue;
    const int got = fscanf(f, "%ld%c", &size, &unit);
    fclose(f);
    if (got < 1 || size <= 0) continue;
    const size_t bytes = (size_t)size << (unit == 'K' ? 10 : unit == 'M' ? 20 : 0);
    if (level > best_level || (level == best_level && bytes > best))
      best = bytes, best_level = level;
  }
  return best;
}

/* The last-level cache: sysfs's, else glibc's sysconf, else 64 MiB.  (glibc's
 * _SC_LEVEL3_CACHE_SIZE read 320 MiB on a 2-core AMD EPYC VM whose sysfs and
 * lscpu say 32 MiB: it would have taken 256 × 128256 f32 logits, 262 MB, for
 * a case held in the cache.) */
size_t llc_bytes(void) {
  long l3 = (long)sysfs_llc_bytes();
#ifdef _SC_LEVEL3_CACHE_SIZE
  if (l3 <= 0) l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
#endif
  if (l3 <= 0) l3 = 64l << 20;
  return (size_t)l3;
}

typedef void (*roof_fn)(void *);

/* The CPU roofs are each the best of several loops (the highest median wins,
 * so that no op reading or copying the same bytes can pass it): a plain OpenMP
 * loop, and on x86-64 AVX2 / AVX-512 loops picked at run time.  Every loop
 * splits the buffer over the threads in RD_BLOCK blocks, as the first touch
 * does. */
typedef uint64_t (*read_loop_fn)(const uint64_t *a, size_t n, int streams, int prefetch);
typedef void (*copy_loop_fn)(uint64_t *d, const uint64_t *s, size_t n);
typedef struct {
  uint64_t *a, *b;
  size_t words;
  int streams, prefetch; /* read loops: streams per thread, software prefetch (KB ahead) */
  read_loop_fn read_loop; /* the SIMD loops of cpu_read_simd_once, cpu_copy_simd_once */
  copy_loop_fn copy_loop;
  volatile uint64_t sink;
} cpu_buf;

#define RD_BLOCK 4096 /* bytes */

static void thread_range(size_t words, size_t *lo, size_t *hi) {
  const size_t bw = RD_BLOCK / 8, nb = words / bw;
  const size_t nt = (size_t)omp_get_num_threads(), t = (size_t)omp_get_thread_num();
  *lo = nb * t / nt * bw;
  *hi = t + 1 == nt ? words : nb * (t + 1) / nt * bw;
}

static void cpu_read_once(void *v) {
  cpu_buf *c = v;
  uint64_t acc = 0;
  const uint64_t *a = c->a;
  const size_t n = c->words;
#pragma omp parallel for schedule(static) reduction(+ : acc)
  for (size_t i = 0; i < n; i++) acc += a[i];
  c->sink = acc;
}

static void cpu_copy_once(void *v) {
  cpu_buf *c = v;
#pragma omp parallel
  {
    size_t lo, hi;
    thread_range(c->words, &lo, &hi);
    memcpy(c->b + lo, c->a + lo, (hi - lo) * 8);
  }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define IE_BENCH_X86 1
#include <immintrin.h>

/* Read loops: S streams per thread (its range cut in S equal parts read side
 * by side, as a divergence reads p and q), 8 vector accumulators in all, and
 * optionally a software prefetch PF KB ahead of each stream (1 or 4: the
 * library's row loops prefetch 4 KB ahead, so the roof tries it too).  S
 * and PF are constants at each call, so the inner loops unroll. */
#define READ_BODY(V, LANES, ZERO, LOAD, ADD, REDUCE)                                   \
  V acc[8];                                                                            \
  for (int k = 0; k < 8; k++) acc[k] = ZERO;                                           \
  const size_t step = (size_t)(8 / S) * LANES, part = n / S / step * step;             \
  for (size_t i = 0; i < part; i += step)                                              \
    for (int s = 0; s < S; s++) {                                                      \
      const uint64_t *p = a + (size_t)s * part + i;                                    \
      if (PF)                                                                          \
        for (int k = 0; k < 8 / S; k += 64 / (int)(LANES * 8))                          \
          _mm_prefetch((const char *)(p + k * LANES) + 1024 * PF, _MM_HINT_T0);        \
      for (int k = 0; k < 8 / S; k++)                                                  \
        acc[s * (8 / S) + k] = ADD(acc[s * (8 / S) + k], LOAD((const void *)(p + k * LANES))); \
    }                                                                                  \
  for (int k = 1; k < 8; k++) acc[0] = ADD(acc[0], acc[k]);                            \
  uint64_t r = REDUCE(acc[0]);                                                         \
  for (size_t i = (size_t)S * part; i < n; i++) r += a[i];                             \
  return r;

static inline __attribute__((target("avx2"), always_inline)) uint64_t
read_avx2_(const uint64_t *a, size_t n, const int S, const int PF) {
#define AVX2_SUM(x) \
  ((uint64_t)_mm256_extract_epi64(x, 0) + (uint64_t)_mm256_extract_epi64(x, 1) + \
   (uint64_t)_mm256_extract_epi64(x, 2) + (uint64_t)_mm256_extract_epi64(x, 3))
  READ_BODY(__m256i, 4, _mm256_setzero_si256(), _mm256_load_si256, _mm256_add_epi64, AVX2_SUM)
#undef AVX2_SUM
}

static inline __attribute__((target("avx512f"), always_inline)) uint64_t
read_avx512_(const uint64_t *a, size_t n, const int S, const int PF) {
  READ_BODY(__m512i, 8, _mm512_setzero_si512(), _mm512_load_si512, _mm512_add_epi64,
            (uint64_t)_mm512_reduce_add_epi64)
}
#undef READ_BODY

/* One wrapper per ISA: the (streams, prefetch) cases as constant calls. */
#define READ_CASES(F, a, n, s, pf)                                                      \
  ((s) == 1   ? ((pf) ? F(a, n, 1, 1) : F(a, n, 1, 0))                                  \
   : (s) == 2 ? ((pf) ? F(a, n, 2, 1) : F(a, n, 2, 0))                                  \
   : (pf) == 4 ? F(a, n, 4, 4)                                                          \
              : ((pf) ? F(a, n, 4, 1) : F(a, n, 4, 0)))
__attribute__((target("avx2"))) static uint64_t read_avx2(const uint64_t *a, size_t n, int s,
                                                          int pf) {
  return READ_CASES(read_avx2_, a, n, s, pf);
}
__attribute__((target("avx512f"))) static uint64_t read_avx512(const uint64_t *a, size_t n,
                                                               int s, int pf) {
  return READ_CASES(read_avx512_, a, n, s, pf);
}
#undef READ_CASES

/* A read loop over each thread's range. */
static void cpu_read_simd_once(void *v) {
  cpu_buf *c = v;
  uint64_t acc = 0;
#pragma omp parallel reduction(+ : acc)
  {
    size_t lo, hi;
    thread_range(c->words, &lo, &hi);
    acc += c->read_loop(c->a + lo, hi - lo, c->streams, c->prefetch);
  }
  c->sink = acc;
}

/* Copy loops with non-temporal (streaming) stores: the destination is not read
 * for ownership, so memory carries just the bytes counted.  Ranges are 64-byte
 * aligned (xmalloc, RD_BLOCK); sfence orders the stores before the join. */
#define COPY_NT_BODY(V, LANES, LOAD, STREAM)                                            \
  size_t i = 0;                                                                         \
  for (; i + 4 * LANES <= n; i += 4 * LANES) {                                          \
    V x0 = LOAD((const void *)(s + i));                                                 \
    V x1 = LOAD((const void *)(s + i + LANES));                                         \
    V x2 = LOAD((const void *)(s + i + 2 * LANES));                                     \
    V x3 = LOAD((const void *)(s + i + 3 * LANES));                                     \
    STREAM((void *)(d + i), x0);                                                        \
    STREAM((void *)(d + i + LANES), x1);                                                \
    STREAM((void *)(d + i + 2 * LANES), x2);                                            \
    STREAM((void *)(d + i + 3 * LANES), x3);                                            \
  }                                                                                     \
  for (; i < n; i++) d[i] = s[i];                                                       \
  _mm_sfence();

__attribute__((target("avx2"))) static void copy_avx2_nt(uint64_t *d, const uint64_t *s,
                                                         size_t n) {
  COPY_NT_BODY(__m256i, 4, _mm256_load_si256, _mm256_stream_si256)
}

__attribute__((target("avx512f"))) static void copy_avx512_nt(uint64_t *d, const uint64_t *s,
                                                             size_t n) {
  COPY_NT_BODY(__m512i, 8, _mm512_load_si512, _mm512_stream_si512)
}
#undef COPY_NT_BODY

/* A copy loop over each thread's range. */
static void cpu_copy_simd_once(void *v) {
  cpu_buf *c = v;
#pragma omp parallel
  {
    size_t lo, hi;
    thread_range(c->words, &lo, &hi);
    c->copy_loop(c->b + lo, c->a + lo, hi - lo);
  }
}

/* The exp roof: Σ e^x over a buffer that stays in L1, each thread its own,
 * with the library's float exp (src/cpu/kl_simd.h, exp_any: x = n·ln2 + r,
 * a degree-6 polynomial, 2^n in the exponent bits after a clamp at −88 with
 * AVX2, by VSCALEFPS with no clamp with AVX-512) and four independent
 * sums, so that nothing but the arithmetic limits it. */
enum { EXP_WORDS = 4096, EXP_SWEEPS = 4096 };
#define EXP_BODY(V, SET1, LOAD, ADD, SUB, FMA, FNMA, CLAMP, EXP2N, LANES)                  \
  const V magic = SET1(12582912.0f + 127), l2e = SET1(1.44269504f), ln2 = SET1(0.693147181f); \
  const V lo = SET1(-88.0f), c2 = SET1(0.5f), c3 = SET1(0.16666667f), c4 = SET1(0.041666668f);  \
  const V c5 = SET1(0.008333334f), c6 = SET1(0.0013888889f), one = SET1(1.0f), sh = SET1(-4.0f); \
  V acc[4] = {SET1(0), SET1(0), SET1(0), SET1(0)};                                        \
  (void)lo;                                                                               \
  for (int s = 0; s < EXP_SWEEPS; s++)                                                    \
    for (int i = 0; i < EXP_WORDS; i += 4 * LANES)                                        \
      for (int u = 0; u < 4; u++) {                                                       \
        const V x = CLAMP(SUB(LOAD(a + i + u * LANES), sh));                              \
        const V t = FMA(x, l2e, magic), n = SUB(t, magic), r = FNMA(n, ln2, x);           \
        V p = FMA(c6, r, c5);                                                             \
        p = FMA(p, r, c4), p = FMA(p, r, c3), p = FMA(p, r, c2);                          \
        p = FMA(p, r, one), p = FMA(p, r, one);                                           \
        acc[u] = ADD(acc[u], EXP2N(p, t, n));                                             \
      }                                                                                   \
  V t_ = ADD(ADD(acc[0], acc[1]), ADD(acc[2], acc[3]));                                   \
  float o[LANES];

#define CLAMP_AVX2(x) _mm256_max_ps(lo, x)
#define EXP2N_AVX2(p, t, n) \
  _mm256_mul_ps(p, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(t), 23)))
__attribute__((target("avx2,fma"))) static float exp_avx2(const float *a) {
  EXP_BODY(__m256, _mm256_set1_ps, _mm256_loadu_ps, _mm256_add_ps, _mm256_sub_ps, _mm256_fmadd_ps,
           _mm256_fnmadd_ps, CLAMP_AVX2, EXP2N_AVX2, 8)
  _mm256_storeu_ps(o, t_);
  return o[0];
}

#define NO_CLAMP(x) (x)
#define EXP2N_AVX512(p, t, n) _mm512_scalef_ps(p, n)
__attribute__((target("avx512f"))) static float exp_avx512(const float *a) {
  EXP_BODY(__m512, _mm512_set1_ps, _mm512_loadu_ps, _mm512_add_ps, _mm512_sub_ps, _mm512_fmadd_ps,
           _mm512_fnmadd_ps, NO_CLAMP, EXP2N_AVX512, 16)
  _mm512_storeu_ps(o, t_);
  return o[0];
}
#undef CLAMP_AVX2
#undef EXP2N_AVX2
#undef NO_CLAMP
#undef EXP2N_AVX512
#undef EXP_BODY

typedef struct {
  float (*loop)(const float *);
  float sink;
} exp_buf;

static void cpu_exp_once(void *v) {
  exp_buf *e = v;
  float acc = 0;
#pragma omp parallel reduction(+ : acc)
  {
    float a[EXP_WORDS];
    for (int i = 0; i < EXP_WORDS; i++) a[i] = -(float)(i % 97) * 0.25f;
    acc += e->loop(a);
  }
  e->sink = acc;
}
#endif /* x86-64 */

typedef struct {
  const char *name;
  roof_fn f;
  int streams, prefetch, isa; /* isa: 0 any, 2 AVX2, 5 AVX-512F */
  read_loop_fn read_loop;      /* f's loop, where f takes one */
  copy_loop_fn copy_loop;
} roof_method;

static const roof_method READ_METHODS[] = {
    {"omp-sum", cpu_read_once, 1, 0, 0, NULL, NULL},
#ifdef IE_BENCH_X86
    {"avx2-1s", cpu_read_simd_once, 1, 0, 2, read_avx2, NULL},
    {"avx2-4s", cpu_read_simd_once, 4, 0, 2, read_avx2, NULL},
    {"avx512-1s", cpu_read_simd_once, 1, 0, 5, read_avx512, NULL},
    {"avx512-2s", cpu_read_simd_once, 2, 0, 5, read_avx512, NULL},
    {"avx512-4s", cpu_read_simd_once, 4, 0, 5, read_avx512, NULL},
    {"avx512-4s-pf", cpu_read_simd_once, 4, 1, 5, read_avx512, NULL},
    {"avx512-4s-pf4k", cpu_read_simd_once, 4, 4, 5, read_avx512, NULL},
#endif
};
#define N_READ_METHODS (sizeof READ_METHODS / sizeof READ_METHODS[0])
static const roof_method COPY_METHODS[] = {
    {"memcpy", cpu_copy_once, 0, 0, 0, NULL, NULL},
#ifdef IE_BENCH_X86
    {"avx2-nt", cpu_copy_simd_once, 0, 0, 2, NULL, copy_avx2_nt},
    {"avx512-nt", cpu_copy_simd_once, 0, 0, 5, NULL, copy_avx512_nt},
#endif
};

static int isa_ok(int isa) {
#ifdef IE_BENCH_X86
  if (isa == 2) return __builtin_cpu_supports("avx2");
  if (isa == 5) return __builtin_cpu_supports("avx512f");
#endif
  return isa == 0;
}

/* Times every method of a roof; the one with the highest rate (bytes / median)
 * is the roof, named in r->method, and all rates go in r->methods. */
static void best_of(const roof_method *m, int nm, cpu_buf *c, double bytes, int reps,
                    roofs *r, roof_kind k) {
  size_t o = 0;
  for (int i = 0; i < nm; i++) {
    if (!isa_ok(m[i].isa)) continue;
    c->streams = m[i].streams;
    c->prefetch = m[i].prefetch;
    c->read_loop = m[i].read_loop;
    c->copy_loop = m[i].copy_loop;
    timing t;
    time_plain(m[i].f, c, reps, 0.3, &t);
    double g = bytes / t.med / 1e9;
    if (o < sizeof r->methods[k])
      o += (size_t)snprintf(r->methods[k] + o, sizeof r->methods[k] - o, "%s%s %.1f",
                            o ? ", " : "", m[i].name, g);
    if (g > r->gbps[k]) {
      r->gbps[k] = g;
      r->t[k] = t;
      snprintf(r->method[k], sizeof r->method[k], "%s", m[i].name);
    }
  }
  r->bytes[k] = bytes;
}

#ifdef IE_BENCH_CBLAS
typedef struct { float *a, *b, *c; int n; } gemm_buf;
static void cpu_gemm_once(void *v) {
  gemm_buf *g = v;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->n, g->n, g->n, 1.0f, g->a, g->n,
              g->b, g->n, 0.0f, g->c, g->n);
}
#endif

/* The roofs' own size: 8 times the last-level cache, 512 MiB to 4 GiB. */
static size_t default_roof_bytes(void) {
  size_t bytes = 8 * llc_bytes();
  if (bytes < (512u << 20)) bytes = 512u << 20;
  if (bytes > (4ull << 30)) bytes = 4ull << 30;
  return bytes;
}

/* The roofs' buffers of `bytes` (whole 4 KB blocks, at least one; b: the
 * copy's destination, where asked for), first touched with the same split
 * as the timed loops (pages placed near the thread that reads them).
 * Returns their bytes. */
static size_t roof_buffers(cpu_buf *c, size_t bytes, int with_b) {
  bytes = bytes < RD_BLOCK ? RD_BLOCK : bytes / RD_BLOCK * RD_BLOCK;
  memset(c, 0, sizeof *c);
  c->words = bytes / 8;
  c->a = xmalloc(bytes);
  c->b = with_b ? xmalloc(bytes) : NULL;
  uint64_t *a = c->a, *b = c->b;
#pragma omp parallel
  {
    size_t lo, hi;
    thread_range(bytes / 8, &lo, &hi);
    for (size_t i = lo; i < hi; i++) {
      a[i] = i;
      if (b) b[i] = 0;
    }
  }
  return bytes;
}

struct cpu_read_roof {
  cpu_buf c;
  const roof_method *m[N_READ_METHODS];
  int n;
  double bytes;
};

cpu_read_roof *cpu_read_roof_open(size_t bytes) {
  cpu_read_roof *h = xmalloc(sizeof *h);
  h->n = 0;
  for (size_t i = 0; i < N_READ_METHODS; i++)
    if (isa_ok(READ_METHODS[i].isa)) h->m[h->n++] = &READ_METHODS[i];
  h->bytes = (double)roof_buffers(&h->c, bytes ? bytes : default_roof_bytes(), 0);
  for (int i = 0; i < h->n; i++) cpu_read_roof_once(h, i, NULL); /* warm-up */
  return h;
}

int cpu_read_roof_count(const cpu_read_roof *h) { return h->n; }

const char *cpu_read_roof_name(const cpu_read_roof *h, int i) { return h->m[i]->name; }

double cpu_read_roof_once(cpu_read_roof *h, int i, double *seconds) {
  const roof_method *m = h->m[i];
  h->c.streams = m->streams;
  h->c.prefetch = m->prefetch;
  h->c.read_loop = m->read_loop;
  const double t0 = now_seconds();
  m->f(&h->c);
  if (seconds) *seconds = now_seconds() - t0;
  return h->bytes;
}

void cpu_read_roof_close(cpu_read_roof *h) {
  if (!h) return;
  free(h->c.a);
  free(h);
}

/* best_of over the read (k = ROOF_READ) or copy loops of c's buffers of
 * `buffer` bytes each (a copy counts read + written, 2 × buffer). */
static void best_of_kind(roof_kind k, cpu_buf *c, size_t buffer, int reps, roofs *r) {
  if (k == ROOF_COPY)
    best_of(COPY_METHODS, (int)(sizeof COPY_METHODS / sizeof COPY_METHODS[0]), c,
            2.0 * (double)buffer, reps, r, k);
  else
    best_of(READ_METHODS, (int)N_READ_METHODS, c, (double)buffer, reps, r, k);
}

double cpu_roof_at(roof_kind k, double bytes, int reps, char *method, size_t method_size) {
  if (k != ROOF_READ && k != ROOF_COPY) return 0;
  const int copy = k == ROOF_COPY;
  cpu_buf c;
  /* a copy's bytes are read + written: its buffers are half of them */
  const size_t buffer = roof_buffers(&c, (size_t)(copy ? bytes / 2 : bytes), copy);
  roofs r;
  memset(&r, 0, sizeof r);
  best_of_kind(k, &c, buffer, reps, &r);
  free(c.a);
  free(c.b);
  if (method) snprintf(method, method_size, "%s", r.method[k]);
  return r.gbps[k];
}

void measure_cpu_roofs(roofs *r, const options *o) {
  memset(r, 0, sizeof *r);
  cpu_buf c;
  const size_t bytes = roof_buffers(&c, default_roof_bytes(), 1);
  int reps = o->repeats < 5 ? 5 : o->repeats;
  best_of_kind(ROOF_READ, &c, bytes, reps, r);
  snprintf(r->note[ROOF_READ], sizeof r->note[0], "best summing read (%s) of %zu MiB, %d threads",
           r->method[ROOF_READ], bytes >> 20, omp_get_max_threads());
  best_of_kind(ROOF_COPY, &c, bytes, reps, r);
  snprintf(r->note[ROOF_COPY], sizeof r->note[0],
           "best copy (%s) of %zu MiB, %d threads; bytes = read + written", r->method[ROOF_COPY],
           bytes >> 20, omp_get_max_threads());
  free(c.a);
  free(c.b);
#ifdef IE_BENCH_X86
  /* the widest exp loop this CPU has (src/cpu/rows.c picks the same) */
  exp_buf e = {isa_ok(5) ? exp_avx512 : exp_avx2, 0};
  if (isa_ok(2)) {
    const double exps = (double)EXP_WORDS * EXP_SWEEPS * omp_get_max_threads();
    time_roof(r, ROOF_EXP, cpu_exp_once, &e, 5, 0.2, exps,
              "Σ e^x in L1 (%s, the library's float exp), %d threads, G exp/s",
              isa_ok(5) ? "avx512" : "avx2", omp_get_max_threads());
  }
#endif
#ifdef IE_BENCH_CBLAS
  gemm_buf g = {0};
  g.n = 2048;
  size_t gn = (size_t)g.n * (size_t)g.n;
  g.a = xmalloc(gn * 4);
  g.b = xmalloc(gn * 4);
  g.c = xmalloc(gn * 4);
  for (size_t i = 0; i < gn; i++) {
    g.a[i] = (float)((i % 7) * 0.25);
    g.b[i] = (float)((i % 5) * 0.5);
  }
  time_roof(r, ROOF_GEMM, cpu_gemm_once, &g, 3, 0.2, 2.0 * g.n * (double)g.n * g.n,
            "cblas_sgemm %d^3 (OpenBLAS), GFLOP/s", g.n);
  free(g.a);
  free(g.b);
  free(g.c);
#endif
}
