/* The row ops on logits (log-softmax, softmax, logsumexp, entropies, NLL,
 * divergences): the op table, the size sets, their inputs, one call, and the
 * run over sizes, modes and ops.  Bytes and roofs: the top of main.c. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static const char *const MODE_NAMES[] = {"host", "device"};

/* ---- the op table ------------------------------------------------------------- */

typedef enum { FAM_SOFTMAX, FAM_LOGSOFTMAX, FAM_LSE, FAM_ENTROPY, FAM_NLL, FAM_DIV } family;

typedef struct {
  const char *name;  /* as given to --op and written to JSON */
  const char *group; /* table heading in RESULTS.md */
  family fam;
  int kind;          /* ie_entropy_kind / ie_divergence_kind */
  double alpha;      /* order for Rényi / Tsallis / alpha kinds */
  int inputs;        /* matrices read: 1 or 2 */
  int in_plot;       /* also timed at the plot's extra batch sizes */
} op_desc;

#define DIV_OP(name, str) \
  {str, "divergence", FAM_DIV, IE_DIV_##name, 0.5, 2, IE_DIV_##name == IE_DIV_KL},
static const op_desc OPS[] = {
    {"log-softmax", "log-softmax", FAM_LOGSOFTMAX, 0, 0, 1, 1},
    {"softmax", "softmax", FAM_SOFTMAX, 0, 0, 1, 0},
    {"logsumexp", "logsumexp", FAM_LSE, 0, 0, 1, 0},
    {"entropy-shannon", "entropy", FAM_ENTROPY, IE_ENTROPY_SHANNON, 0, 1, 0},
    {"entropy-renyi", "entropy", FAM_ENTROPY, IE_ENTROPY_RENYI, 2.0, 1, 0},
    {"entropy-tsallis", "entropy", FAM_ENTROPY, IE_ENTROPY_TSALLIS, 2.0, 1, 0},
    {"nll", "nll", FAM_NLL, 0, 0, 1, 0},
    IE_DIVERGENCE_MAP(DIV_OP)
    /* The compute-bound families (Sinkhorn, kNN, Vendi) have their own
     * table, CCASES[], with fixed shapes per size set. */
};
#undef DIV_OP
enum { N_OPS = sizeof OPS / sizeof OPS[0] };

/* The roof a figure is held against.  Host tensors on a GPU/OpenCL backend
 * are staged through the host-to-device link in every call: held against
 * that link's measured rate. */
static roof_kind op_roof(const op_desc *op, ie_backend b, int host_mode) {
  if (b != IE_BACKEND_CPU && host_mode) return ROOF_H2D;
  if (op->fam == FAM_SOFTMAX || op->fam == FAM_LOGSOFTMAX) return ROOF_COPY;
  return b == IE_BACKEND_CPU ? ROOF_READ : ROOF_COPY;
}

/* ---- sizes -------------------------------------------------------------------- */

const char *const DT_NAMES[] = {"f32", "bf16"};
size_t dt_size(bdtype d) { return d == DT_F32 ? 4 : 2; }

/* The standard CPU set keeps a 2-core run to a few minutes; the plot's extra
 * batch sizes are timed for log-softmax and kl only. */
static const size_desc SIZES[] = {
    {"small", 4, 32000, DT_F32, 1},
    {"small", 16, 32000, DT_F32, 0},
    {"small", 16, 32000, DT_BF16, 0},
    {"standard", 1, 128256, DT_F32, 1},
    {"standard", 4, 128256, DT_F32, 1},
    {"standard", 16, 128256, DT_F32, 1},
    {"standard", 64, 128256, DT_F32, 1},
    {"standard", 256, 128256, DT_F32, 0},
    {"standard", 256, 128256, DT_BF16, 0},
    {"gpu", 16, 128256, DT_BF16, 1},
    {"gpu", 64, 128256, DT_BF16, 1},
    {"gpu", 256, 128256, DT_F32, 0},
    {"gpu", 256, 128256, DT_BF16, 0},
    {"gpu", 1024, 128256, DT_BF16, 1},
    {"gpu", 4096, 128256, DT_BF16, 1},
    {"gpu", 8192, 128256, DT_BF16, 0},
};
enum { N_SIZES = sizeof SIZES / sizeof SIZES[0] };

/* ---- inputs --------------------------------------------------------------------- */

static uint16_t f32_to_bf16(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  u += 0x7FFFu + ((u >> 16) & 1u); /* round to nearest even; inputs are finite */
  return (uint16_t)(u >> 16);
}

/* Row r of p is N(0, 2²) logits seeded by (r); q = p + N(0, 0.5²) seeded by
 * (r, 2).  Seeds depend on the row only, so the first B rows of every size are
 * the same numbers (peers load one file and take its first B rows). */
static void gen_row(float *p, float *q, int64_t r, int64_t cols) {
  uint64_t s1 = 0x1234567ull ^ ((uint64_t)r * 0x9E3779B97F4A7C15ull);
  uint64_t s2 = s1 ^ 0xABCDEF0123ull;
  for (int64_t i = 0; i < cols; i += 2) {
    double u1 = unif(&s1), u2 = unif(&s1), rad = sqrt(-2 * log(u1));
    double w1 = unif(&s2), w2 = unif(&s2), rad2 = sqrt(-2 * log(w1));
    double a = 2.0 * rad * cos(6.283185307179586 * u2), b = 2.0 * rad * sin(6.283185307179586 * u2);
    double da = 0.5 * rad2 * cos(6.283185307179586 * w2), db = 0.5 * rad2 * sin(6.283185307179586 * w2);
    p[i] = (float)a;
    q[i] = (float)(a + da);
    if (i + 1 < cols) {
      p[i + 1] = (float)b;
      q[i + 1] = (float)(b + db);
    }
  }
}

void make_inputs(host_data *h, int64_t rows, int64_t cols, bdtype dt) {
  h->rows = rows;
  h->cols = cols;
  h->dt = dt;
  size_t es = dt_size(dt), n = (size_t)rows * (size_t)cols;
  h->p = xmalloc(n * es);
  h->q = xmalloc(n * es);
  h->labels = xmalloc((size_t)rows * sizeof(int64_t));
#pragma omp parallel
  {
    float *tp = xmalloc((size_t)cols * 4), *tq = xmalloc((size_t)cols * 4);
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; r++) {
      gen_row(tp, tq, r, cols);
      if (dt == DT_F32) {
        memcpy((float *)h->p + r * cols, tp, (size_t)cols * 4);
        memcpy((float *)h->q + r * cols, tq, (size_t)cols * 4);
      } else {
        uint16_t *bp = (uint16_t *)h->p + r * cols, *bq = (uint16_t *)h->q + r * cols;
        for (int64_t i = 0; i < cols; i++) {
          bp[i] = f32_to_bf16(tp[i]);
          bq[i] = f32_to_bf16(tq[i]);
        }
      }
      uint64_t s = 0x51ull ^ ((uint64_t)r * 0xD1B54A32D192ED03ull);
      h->labels[r] = (int64_t)(splitmix(&s) % (uint64_t)cols);
    }
    free(tp);
    free(tq);
  }
}

void free_inputs(host_data *h) {
  free(h->p);
  free(h->q);
  free(h->labels);
  memset(h, 0, sizeof *h);
}

/* ---- one call ------------------------------------------------------------------- */

typedef struct {
  ie_context *ctx;
  const op_desc *op;
  DLTensor p, q, out, per_row, labels;
  int64_t shape2[2], shape1[1];
  ie_status last;
} call_args;

static DLDataType dl_dt(bdtype d) {
  DLDataType t;
  t.code = d == DT_F32 ? kDLFloat : kDLBfloat;
  t.bits = d == DT_F32 ? 32 : 16;
  t.lanes = 1;
  return t;
}

static void build_args(call_args *a, ie_context *ctx, const op_desc *op, const buffers *b,
                       int64_t rows, int64_t cols, bdtype dt) {
  memset(a, 0, sizeof *a);
  a->ctx = ctx;
  a->op = op;
  a->shape2[0] = rows;
  a->shape2[1] = cols;
  a->shape1[0] = rows;
  DLDataType f32 = {kDLFloat, 32, 1}, i64 = {kDLInt, 64, 1};
  set_tensor(&a->p, b->p, b->dev, dl_dt(dt), 2, a->shape2);
  set_tensor(&a->q, b->q, b->dev, dl_dt(dt), 2, a->shape2);
  set_tensor(&a->out, b->out, b->dev, dl_dt(dt), 2, a->shape2);
  set_tensor(&a->per_row, b->per_row, b->dev, f32, 1, a->shape1);
  set_tensor(&a->labels, b->labels, b->dev, i64, 1, a->shape1);
}

static ie_status run_call(void *args) {
  call_args *a = args;
  const op_desc *op = a->op;
  switch (op->fam) {
  case FAM_LOGSOFTMAX:
    return ie_log_softmax(a->ctx, &a->p, &a->out, NULL);
  case FAM_SOFTMAX:
    return ie_softmax(a->ctx, &a->p, &a->out, NULL);
  case FAM_LSE:
    return ie_logsumexp(a->ctx, &a->p, &a->per_row, NULL);
  case FAM_ENTROPY: {
    ie_entropy_options o;
    memset(&o, 0, sizeof o);
    o.size = sizeof o;
    o.kind = (ie_entropy_kind)op->kind;
    o.alpha = op->alpha;
    return ie_entropy(a->ctx, &a->p, &a->per_row, &o, NULL);
  }
  case FAM_NLL:
    return ie_nll(a->ctx, &a->p, &a->labels, &a->per_row, NULL, NULL);
  case FAM_DIV: {
    ie_divergence_options o;
    memset(&o, 0, sizeof o);
    o.size = sizeof o;
    o.alpha = op->alpha;
    return ie_divergence(a->ctx, (ie_divergence_kind)op->kind, &a->p, &a->q, &a->per_row, &o,
                         NULL);
  }
  }
  return IE_INTERNAL;
}

static double op_bytes(const op_desc *op, int64_t rows, int64_t cols, bdtype dt) {
  double mat = (double)rows * (double)cols * (double)dt_size(dt);
  switch (op->fam) {
  case FAM_SOFTMAX:
  case FAM_LOGSOFTMAX:
    return 2 * mat;
  case FAM_NLL:
    return mat + rows * 8.0 + rows * 4.0;
  default:
    return op->inputs * mat + rows * 4.0;
  }
}

/* ---- the run -------------------------------------------------------------------- */

static int op_selected(const options *o, const op_desc *op) {
  return name_listed(o->ops, "all") || name_listed(o->ops, op->name) ||
         name_listed(o->ops, op->group);
}

static int size_selected(const options *o, const size_desc *z) {
  if (strcmp(z->set, o->size)) return 0;
  if (!strcmp(o->dtype, "all")) return 1;
  return !strcmp(o->dtype, DT_NAMES[z->dt]);
}

/* Inputs for the sizes of z's (cols, dtype) are made once, at the largest
 * selected row count; a size uses the first rows. */
static int64_t rows_for_inputs(const options *o, const size_desc *z) {
  int64_t maxrows = 0;
  for (int zj = 0; zj < N_SIZES; zj++)
    if (size_selected(o, &SIZES[zj]) && SIZES[zj].cols == z->cols && SIZES[zj].dt == z->dt &&
        SIZES[zj].rows > maxrows)
      maxrows = SIZES[zj].rows;
  return maxrows;
}

void list_row_ops(FILE *f) {
  for (int i = 0; i < N_OPS; i++) fprintf(f, "  %-16s (%s)\n", OPS[i].name, OPS[i].group);
}

int count_row_ops(const options *o) {
  int n = 0;
  for (int i = 0; i < N_OPS; i++) n += op_selected(o, &OPS[i]);
  return n;
}

/* The CPU goals' size (report.py's GOAL_CPU: forward KL against the read
 * roof, every kind against forward KL). */
static int goal_size(const size_desc *z) {
  return z->rows == 256 && z->cols == 128256 && z->dt == DT_F32;
}

enum { MAX_ROUNDS = 64, MAX_ROOF_LOOPS = 16 };

/* Alternating rounds at the CPU goals' size: each round one read by each
 * of the read roof's loops, then one call of every selected divergence and
 * entropy op (starting one op later each round), each timed alone; the
 * medians over the rounds, and the roof the best loop's median.  A ratio
 * of two figures timed far apart takes the host's drift between them (this
 * 2-core VM's speed moved by 15–25% within minutes); calls that alternate
 * share it, so these ratios (KL's share of the roof, each kind's multiple
 * of KL's time) hold from one run.  JSON records "alternating". */
static void run_alternating(ie_context *ctx, const options *o, const buffers *bufs,
                            const size_desc *z) {
  const op_desc *ops[N_OPS];
  int n = 0;
  for (int oi = 0; oi < N_OPS; oi++)
    if (op_selected(o, &OPS[oi]) && (OPS[oi].fam == FAM_DIV || OPS[oi].fam == FAM_ENTROPY))
      ops[n++] = &OPS[oi];
  if (!n) return;
  /* the roof's buffer: as many bytes as the most any op reads (forward KL's) */
  double most = 0;
  for (int j = 0; j < n; j++) {
    const double bytes = op_bytes(ops[j], z->rows, z->cols, z->dt);
    if (bytes > most) most = bytes;
  }
  cpu_read_roof *roof = cpu_read_roof_open((size_t)most);
  const int rounds = o->repeats < 9 ? 9 : o->repeats > MAX_ROUNDS ? MAX_ROUNDS : o->repeats;
  const int loops = cpu_read_roof_count(roof);
  const int nm = loops < MAX_ROOF_LOOPS ? loops : MAX_ROOF_LOOPS;
  static double t_op[N_OPS][MAX_ROUNDS], t_roof[MAX_ROOF_LOOPS][MAX_ROUNDS];
  double roof_bytes = 0;
  ie_status st[N_OPS];
  call_args a[N_OPS];
  for (int j = 0; j < n; j++) {
    build_args(&a[j], ctx, ops[j], bufs, z->rows, z->cols, z->dt);
    st[j] = run_call(&a[j]); /* warm-up */
  }
  for (int k = 0; k < rounds; k++) {
    for (int m = 0; m < nm; m++) roof_bytes = cpu_read_roof_once(roof, m, &t_roof[m][k]);
    for (int i = 0; i < n; i++) {
      const int j = (i + k) % n;
      if (st[j] != IE_OK) continue;
      const double t0 = now_seconds();
      st[j] = run_call(&a[j]);
      t_op[j][k] = now_seconds() - t0;
    }
  }
  timing tr = {0}, tk = {0};
  const char *method = "";
  for (int m = 0; m < nm; m++) {
    timing t;
    timing_of(t_roof[m], rounds, &t);
    if (!tr.med || t.med < tr.med) tr = t, method = cpu_read_roof_name(roof, m);
  }
  const double roof_gbps = roof_bytes / tr.med / 1e9;
  for (int j = 0; j < n; j++)
    if (st[j] == IE_OK && ops[j]->fam == FAM_DIV && ops[j]->kind == IE_DIV_KL)
      timing_of(t_op[j], rounds, &tk);
  printf("  alternating, %lld x %lld %s, %d rounds (each: every read roof loop, the best %s at "
         "%.1f GB/s, then every op, one op later each round):\n",
         (long long)z->rows, (long long)z->cols, DT_NAMES[z->dt], rounds, method, roof_gbps);
  json_printf("{\"type\":\"alternating\",\"backend\":\"cpu\",\"op\":\"read-roof\","
              "\"method\":\"%s\",\"rows\":%lld,\"cols\":%lld,\"dtype\":\"%s\","
              "\"bytes\":%.0f,\"median_ms\":%.6g,\"q1_ms\":%.6g,\"q3_ms\":%.6g,"
              "\"gbps\":%.6g,\"rounds\":%d}\n",
              method, (long long)z->rows, (long long)z->cols, DT_NAMES[z->dt],
              roof_bytes, tr.med * 1e3, tr.q1 * 1e3, tr.q3 * 1e3, roof_gbps, rounds);
  for (int j = 0; j < n; j++) {
    if (st[j] != IE_OK) {
      printf("  %-16s failed: %s: %s\n", ops[j]->name, ie_status_name(st[j]), ie_errmsg(ctx));
      continue;
    }
    timing t;
    timing_of(t_op[j], rounds, &t);
    const double bytes = op_bytes(ops[j], z->rows, z->cols, z->dt), gbps = bytes / t.med / 1e9;
    printf("  %-16s %10.3f ms  %5.2fx KL  %6.1f%% of the read roof\n", ops[j]->name,
           t.med * 1e3, tk.med > 0 ? t.med / tk.med : 0, 100 * gbps / roof_gbps);
    json_printf("{\"type\":\"alternating\",\"backend\":\"cpu\",\"op\":\"%s\","
                "\"group\":\"%s\",\"rows\":%lld,\"cols\":%lld,\"dtype\":\"%s\","
                "\"alpha\":%g,\"bytes\":%.0f,\"median_ms\":%.6g,\"q1_ms\":%.6g,"
                "\"q3_ms\":%.6g,\"gbps\":%.6g,\"roof_gbps\":%.6g,\"rounds\":%d}\n",
                ops[j]->name, ops[j]->group, (long long)z->rows, (long long)z->cols,
                DT_NAMES[z->dt], ops[j]->alpha, bytes, t.med * 1e3, t.q1 * 1e3, t.q3 * 1e3, gbps,
                roof_gbps, rounds);
  }
  cpu_read_roof_close(roof);
  fflush(stdout);
}

/* The CPU's memory roofs at the figures' own sizes, each timed once
 * (cpu_roof_at) and kept for the run's later figures of the same bytes. */
enum { MAX_SIZED_ROOFS = 32 };
typedef struct {
  roof_kind kind;
  double bytes, gbps;
  char method[24];
} sized_roof;

/* The roof a CPU figure of `bytes` is held against: the higher of the run's
 * roof r0 and the same roof timed on buffers of the figure's own bytes, for
 * figures past the L3 (those within it are cache figures, marked as such). */
static double cpu_roof_for(const roofs *r0, roof_kind k, double bytes, const options *o,
                           const char **method) {
  static sized_roof known[MAX_SIZED_ROOFS];
  static int n_known;
  *method = r0->method[k];
  if ((k != ROOF_READ && k != ROOF_COPY) || bytes <= (double)llc_bytes()) return r0->gbps[k];
  int i = 0;
  /* figures within 1% of each other's bytes (logsumexp and NLL) share one */
  while (i < n_known && !(known[i].kind == k && fabs(known[i].bytes - bytes) <= 0.01 * bytes)) i++;
  if (i == n_known) {
    if (n_known == MAX_SIZED_ROOFS) return r0->gbps[k];
    known[i].kind = k;
    known[i].bytes = bytes;
    known[i].gbps = cpu_roof_at(k, bytes, o->repeats < 5 ? 5 : o->repeats, known[i].method,
                                sizeof known[i].method);
    n_known++;
    json_printf("{\"type\":\"roof-at-size\",\"backend\":\"cpu\",\"kind\":\"%s\","
                "\"bytes\":%.0f,\"value\":%.6g,\"method\":\"%s\"}\n",
                ROOF_NAMES[k], bytes, known[i].gbps, known[i].method);
  }
  if (known[i].gbps <= r0->gbps[k]) return r0->gbps[k];
  *method = known[i].method;
  return known[i].gbps;
}

/* The row ops of the selected sizes on backend b, host- and/or
 * device-resident, each against its roof in r0. */
void run_rows(ie_backend b, ie_context *ctx, const options *o, const roofs *r0, void *env) {
  const char *bname = ie_backend_name(b);
  const char *devname = ie_context_device_name(ctx);
#ifndef IE_BENCH_OPENCL
  (void)env;
#endif
  int modes[2] = {MODE_HOST, -1};
  if (b != IE_BACKEND_CPU && o->modes[MODE_DEVICE]) {
    if (device_mode_available(b)) modes[1] = MODE_DEVICE;
    else emit_skip(bname, "device-resident tensors",
                   b == IE_BACKEND_OPENCL
                       ? "ie_opencl_get_context is not available to this build of the bench; "
                         "host tensors only (each call stages its inputs)"
                       : "the bench was built without CUDA runtime support");
  }

  if (o->families[0])
    printf("  %-16s %5s %-6s %-4s %-6s %10s %10s %10s %8s %7s\n", "op", "rows", "cols", "dt",
         "mode", "median ms", "min ms", "max ms", "GB/s", "%roof");

  host_data h = {0};
  for (int zi = 0; zi < N_SIZES; zi++) {
    const size_desc *z = &SIZES[zi];
    if (!o->families[0] || !size_selected(o, z)) continue;
    /* Inputs for this (cols, dtype): generated once at the largest row count
     * of the set; a size uses the first rows. */
    if (!h.p || h.cols != z->cols || h.dt != z->dt || h.rows < z->rows) {
      free_inputs(&h);
      make_inputs(&h, rows_for_inputs(o, z), z->cols, z->dt);
    }
    for (int mi = 0; mi < 2; mi++) {
      if (modes[mi] < 0) continue;
      mode md = (mode)modes[mi];
      buffers bufs;
      memset(&bufs, 0, sizeof bufs);
      devmem dm;
      memset(&dm, 0, sizeof dm);
      dm.backend = b;
      dm.device = 0;
#ifdef IE_BENCH_OPENCL
      dm.ocl = (ocl_env *)env;
#endif
      void *host_out = NULL, *host_row = NULL;
      char what[160];
      snprintf(what, sizeof what, "%lldx%lld %s %s", (long long)z->rows, (long long)z->cols,
               DT_NAMES[z->dt], MODE_NAMES[md]);
      size_t mat = (size_t)z->rows * (size_t)z->cols * dt_size(z->dt);
      if (md == MODE_HOST && b != IE_BACKEND_CPU && !o->modes[MODE_HOST] && modes[1] >= 0) {
        emit_skip(bname, what, "host-staged mode not asked for (--modes)");
        continue;
      }
      if (md == MODE_HOST) {
        if (b != IE_BACKEND_CPU && o->host_limit_mb > 0 && 2.0 * mat > o->host_limit_mb * 1048576.0) {
          emit_skip(bname, what, "host-staged mode skipped above --host-limit-mb (staging "
                                 "dominates; the device mode is the figure)");
          continue;
        }
        host_out = xmalloc(mat);
        memset(host_out, 0, mat);
        host_row = xmalloc((size_t)z->rows * 4);
        bufs.p = h.p;
        bufs.q = h.q;
        bufs.out = host_out;
        bufs.per_row = host_row;
        bufs.labels = h.labels;
        bufs.dev.device_type = kDLCPU;
        bufs.dev.device_id = 0;
      } else {
        char why[256];
        if (!dev_upload(&dm, &bufs, &h, z->rows, why, sizeof why)) {
          emit_skip(bname, what, why);
          dev_free(&dm);
          continue;
        }
      }
      for (int oi = 0; oi < N_OPS; oi++) {
        const op_desc *op = &OPS[oi];
        if (!op_selected(o, op) || (z->plot_only && !op->in_plot)) continue;
        call_args a;
        build_args(&a, ctx, op, &bufs, z->rows, z->cols, z->dt);
        timing t;
        ie_status s = time_calls(run_call, &a, o, 0, &t);
        roof_kind rk = op_roof(op, b, md == MODE_HOST);
        double bytes = op_bytes(op, z->rows, z->cols, z->dt);
        char b1[1200], b2[256];
        if (s != IE_OK) {
          printf("  %-16s %5lld %-6lld %-4s %-6s  failed: %s: %s\n", op->name, (long long)z->rows,
                 (long long)z->cols, DT_NAMES[z->dt], MODE_NAMES[md], ie_status_name(s),
                 ie_errmsg(ctx));
          json_printf("{\"type\":\"result\",\"status\":\"error\",\"op\":\"%s\",\"group\":\"%s\","
                      "\"backend\":\"%s\",\"mode\":\"%s\",\"rows\":%lld,\"cols\":%lld,"
                      "\"dtype\":\"%s\",\"plot_only\":%d,\"error\":\"%s: %s\"}\n",
                      op->name, op->group, bname, MODE_NAMES[md], (long long)z->rows,
                      (long long)z->cols, DT_NAMES[z->dt], z->plot_only, ie_status_name(s),
                      jstr(ie_errmsg(ctx), b1, sizeof b1));
          continue;
        }
        double gbps = bytes / t.med / 1e9;
        const char *roof_method = r0->method[rk];
        const double roof = b == IE_BACKEND_CPU ? cpu_roof_for(r0, rk, bytes, o, &roof_method)
                                                : r0->gbps[rk];
        const double frac = roof > 0 ? gbps / roof : 0;
        printf("  %-16s %5lld %-6lld %-4s %-6s %10.3f %10.3f %10.3f %8.2f %6.1f%%\n", op->name,
               (long long)z->rows, (long long)z->cols, DT_NAMES[z->dt], MODE_NAMES[md],
               t.med * 1e3, t.min * 1e3, t.max * 1e3, gbps, 100 * frac);
        /* Over 100%: a roof bug, unless the CPU's inputs fit in its L3 (then
         * the figure is a cache one, which no memory roof bounds). */
        if (frac > 1.0)
          printf("  ! %s above its %s roof (%.0f%%): %s\n", op->name, ROOF_NAMES[rk], 100 * frac,
                 b == IE_BACKEND_CPU && bytes <= (double)llc_bytes()
                     ? "its inputs fit in the L3, a cache figure"
                     : "the roof is too low, a bug in the roof");
        fflush(stdout);
        json_printf("{\"type\":\"result\",\"status\":\"ok\",\"op\":\"%s\",\"group\":\"%s\","
                    "\"backend\":\"%s\",\"device\":\"%s\",\"mode\":\"%s\",\"rows\":%lld,"
                    "\"cols\":%lld,\"dtype\":\"%s\",\"plot_only\":%d,\"alpha\":%g,"
                    "\"bytes\":%.0f,\"median_ms\":%.6g,\"min_ms\":%.6g,\"max_ms\":%.6g,"
                    "\"q1_ms\":%.6g,\"q3_ms\":%.6g,\"reps\":%d,\"gbps\":%.6g,"
                    "\"roof_kind\":\"%s\",\"roof_gbps\":%.6g,\"roof_method\":\"%s\","
                    "\"roof_frac\":%.6g,\"threads\":%d}\n",
                    op->name, op->group, bname, jstr(devname, b2, sizeof b2), MODE_NAMES[md],
                    (long long)z->rows, (long long)z->cols, DT_NAMES[z->dt], z->plot_only,
                    op->alpha, bytes, t.med * 1e3, t.min * 1e3, t.max * 1e3, t.q1 * 1e3,
                    t.q3 * 1e3, t.reps, gbps, ROOF_NAMES[rk], roof, roof_method, frac,
                    omp_get_max_threads());
      }
      if (b == IE_BACKEND_CPU && md == MODE_HOST && goal_size(z))
        run_alternating(ctx, o, &bufs, z);
      free(host_out);
      free(host_row);
      dev_free(&dm);
    }
  }
  free_inputs(&h);
}

void save_row_inputs(const options *o) {
  for (int zi = 0; zi < N_SIZES; zi++) {
    const size_desc *z = &SIZES[zi];
    if (!o->families[0] || !size_selected(o, z)) continue;
    int first = 1;
    for (int zj = 0; zj < zi; zj++)
      if (size_selected(o, &SIZES[zj]) && SIZES[zj].cols == z->cols && SIZES[zj].dt == z->dt)
        first = 0;
    if (!first) continue;
    host_data h;
    make_inputs(&h, rows_for_inputs(o, z), z->cols, z->dt);
    save_host_data(o->save_dir, &h);
    free_inputs(&h);
  }
}
