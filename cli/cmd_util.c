/*
 * cmd_util.c — the command's plumbing: number parsing, messages, exit
 * statuses, JSON/text output, signals, the progress bar, data types.
 */
#define _POSIX_C_SOURCE 200809L
#include "cmd.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- Options ------------------------------------------------------------------ */

static int find_opt(const cli_args *a, const char *name) {
  for (int i = 0; i < a->n; i++)
    if (a->opt[i] && strcmp(a->opt[i]->name, name) == 0) return i;
  return -1;
}

const char *cli_get(const cli_args *a, const char *name) {
  int i = find_opt(a, name);
  return i < 0 ? NULL : a->val[i];
}

int cli_has(const cli_args *a, const char *name) { return cli_get(a, name) != NULL; }

/* ---- Messages ------------------------------------------------------------------ */

int cli_defer_messages;
static char deferred[8192];
static size_t deferred_len;

/* Append to stderr, or to the kept messages under cli_defer_messages. */
static void say(const char *fmt, va_list ap) {
  if (!cli_defer_messages) {
    vfprintf(stderr, fmt, ap);
    return;
  }
  if (deferred_len + 1 >= sizeof deferred) return;
  int n = vsnprintf(deferred + deferred_len, sizeof deferred - deferred_len, fmt, ap);
  if (n > 0) deferred_len += (size_t)n < sizeof deferred - deferred_len ? (size_t)n : sizeof deferred - deferred_len - 1;
}

static void sayf(const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 1, 2)))
#endif
    ;
static void sayf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  say(fmt, ap);
  va_end(ap);
}

void cli_print_deferred(void) {
  if (deferred_len) fputs(deferred, stderr);
  deferred_len = 0;
  deferred[0] = '\0';
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  sayf("infoest%s%s: ", cmd ? " " : "", cmd ? cmd : "");
  va_start(ap, fmt);
  say(fmt, ap);
  va_end(ap);
  sayf(" (see 'infoest%s%s --help')\n", cmd ? " " : "", cmd ? cmd : "");
  return CLI_EXIT_USAGE;
}

int cli_fail(int code, const char *cmd, const char *fmt, ...) {
  va_list ap;
  sayf("infoest%s%s: ", cmd ? " " : "", cmd ? cmd : "");
  va_start(ap, fmt);
  say(fmt, ap);
  va_end(ap);
  /* Every bad-usage exit, whoever found the fault (the command or the
   * library's IE_INVALID_ARGUMENT), points at the help (README: exit 2). */
  if (code == CLI_EXIT_USAGE)
    sayf(" (see 'infoest%s%s --help')", cmd ? " " : "", cmd ? cmd : "");
  sayf("\n");
  return code;
}

static int ci_eq(const char *a, const char *b) {
  for (; *a && *b; a++, b++)
    if (tolower((unsigned char)*a) != tolower((unsigned char)*b)) return 0;
  return *a == *b;
}

int cli_parse_double(const char *s, int allow_inf, double *out) {
  if (!s || !*s || isspace((unsigned char)*s)) return -1;
  const char *t = s;
  int neg = 0;
  if (*t == '+' || *t == '-') neg = (*t++ == '-');
  if (ci_eq(t, "inf") || ci_eq(t, "infinity")) {
    if (!allow_inf) return -1;
    *out = neg ? -INFINITY : INFINITY;
    return 0;
  }
  /* Only plain decimal / exponent forms: no "nan", no hex floats. */
  for (const char *u = t; *u; u++)
    if (!(isdigit((unsigned char)*u) || *u == '.' || *u == 'e' || *u == 'E' ||
          *u == '+' || *u == '-'))
      return -1;
  char *end = NULL;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || *end != '\0') return -1;
  if (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL)) return -1;
  if (!isfinite(v)) return -1;
  *out = v;
  return 0;
}

int cli_parse_int64(const char *s, int64_t *out) {
  if (!s || !*s || isspace((unsigned char)*s)) return -1;
  char *end = NULL;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (end == s || *end != '\0' || errno == ERANGE) return -1;
  *out = (int64_t)v;
  return 0;
}

int cli_opt_double(const cli_args *a, const char *cmd, const char *name,
                   int allow_inf, double *out) {
  const char *v = cli_get(a, name);
  if (!v) return 0;
  double d;
  if (cli_parse_double(v, allow_inf, &d) != 0) {
    cli_usage_error(cmd, "%s takes a number%s, not '%s'", name,
                    allow_inf ? " (or inf)" : "", v);
    return -1;
  }
  *out = d;
  return 1;
}

int cli_opt_int64(const cli_args *a, const char *cmd, const char *name,
                  int64_t *out) {
  const char *v = cli_get(a, name);
  if (!v) return 0;
  int64_t i;
  if (cli_parse_int64(v, &i) != 0) {
    cli_usage_error(cmd, "%s takes an integer, not '%s'", name, v);
    return -1;
  }
  *out = i;
  return 1;
}

/* ---- Status ------------------------------------------------------------------- */

int cli_exit_for_status(ie_status s) {
  switch (s) {
    case IE_OK: return CLI_EXIT_OK;
    case IE_INVALID_ARGUMENT: return CLI_EXIT_USAGE;
    case IE_BAD_SHAPE:
    case IE_BAD_DTYPE:
    case IE_NONFINITE:
    case IE_NEGATIVE:
    case IE_EMPTY_ROW:
    case IE_BAD_LABEL:
    case IE_EMPTY_REDUCTION: return CLI_EXIT_DATA;
    case IE_BACKEND_UNAVAILABLE: return CLI_EXIT_BACKEND;
    default: return CLI_EXIT_FAIL;
  }
}

/* A context for backend b, device d; NULL on failure, with *st its status and
 * *failed the failed context (its message) for the caller to destroy. */
static ie_context *open_context(ie_backend b, int d, ie_status *st, ie_context **failed) {
  ie_context_options o;
  memset(&o, 0, sizeof o);
  o.size = sizeof o;
  o.backend = b;
  o.device = d;
  ie_context *ctx = NULL;
  *st = ie_context_create(&ctx, &o);
  if (*st == IE_OK) {
    /* Ctrl-C and SIGTERM stop the long library calls too (IE_CANCELLED). */
    _Static_assert(sizeof(sig_atomic_t) == sizeof(int), "sig_atomic_t is an int");
    ie_context_set_cancel_flag(ctx, (const volatile int *)&cli_interrupted);
    return ctx;
  }
  if (failed) *failed = ctx;
  else ie_context_destroy(ctx);
  return NULL;
}

static int context_failed(const cli_common *c, ie_backend b, int d, ie_status st, ie_context *failed) {
  const char *msg = failed ? ie_errmsg(failed) : ie_status_string(st);
  int code = st == IE_BACKEND_UNAVAILABLE ? CLI_EXIT_BACKEND : CLI_EXIT_FAIL;
  if (st == IE_OUT_OF_MEMORY && !failed) msg = "out of memory";
  cli_fail(code, c->cmd, "cannot use backend %s (device %d): %s [%s]", ie_backend_name(b), d,
           msg ? msg : "", ie_status_name(st));
  ie_context_destroy(failed);
  return code;
}

#ifdef IE_CLI_MPI
/* Backend `want` asked as `ask` (want itself, or auto, which takes only
 * GPUs) on device `device`; NULL if it does not open as `want`. */
static ie_context *open_as(ie_backend ask, ie_backend want, int device) {
  ie_status st;
  ie_context *ctx = open_context(ask, device, &st, NULL);
  if (ctx && ie_context_backend(ctx) != want) {
    ie_context_destroy(ctx);
    ctx = NULL;
  }
  return ctx;
}

/* The same on a node with fewer such devices than ranks: the node has n,
 * n − 1 the highest index below `rank_device` that opens, and this rank
 * takes device rank_device mod n.  NULL if none opens. */
static ie_context *open_shared_device(ie_backend ask, ie_backend want, int rank_device) {
  for (int d = rank_device - 1; d >= 0; d--) {
    ie_context *probe = open_as(ask, want, d);
    if (!probe) continue;
    const int mine = rank_device % (d + 1);
    if (mine == d) return probe;
    ie_context_destroy(probe);
    return open_as(ask, want, mine);
  }
  return NULL;
}

/* Under MPI, the device from the rank on its node (see cmd.h). */
static int make_rank_context(const cli_common *c, ie_context **ctx) {
  ie_status st;
  ie_context *failed = NULL;
  int rc = CLI_EXIT_OK;
  *ctx = open_context(c->backend, c->device, &st, &failed);
  if (!*ctx && st == IE_BACKEND_UNAVAILABLE && c->backend != IE_BACKEND_AUTO)
    *ctx = open_shared_device(c->backend, c->backend, c->device);
  if (!*ctx) rc = context_failed(c, c->backend, c->device, st, failed);
  else ie_context_destroy(failed);
  if ((rc = cli_mpi_agree(rc, 0)) != CLI_EXIT_OK) goto fail;
  if (c->backend != IE_BACKEND_AUTO) return CLI_EXIT_OK;

  /* auto: a rank whose index on its node found no GPU shares those below it
   * (auto again: GPUs only) when rank 0 runs on one, so that the ranks
   * compute alike; when rank 0 found none, the others keep theirs. */
  int first = (int)ie_context_backend(*ctx);
  cli_mpi_bcast(&first, (int)sizeof first);
  if ((int)ie_context_backend(*ctx) != first && first != IE_BACKEND_CPU) {
    ie_context *shared = open_shared_device(IE_BACKEND_AUTO, (ie_backend)first, c->device);
    if (shared) {
      ie_context_destroy(*ctx);
      *ctx = shared;
    }
  }
  int64_t span[2] = {ie_context_backend(*ctx), -(int64_t)ie_context_backend(*ctx)}; /* max, −min */
  cli_mpi_max(span, 2);
  if (span[0] != -span[1] && cli_mpi_rank() == 0)
    fprintf(stderr, "infoest %s: note: --backend auto did not open %s (rank 0's backend) on every rank; the "
                    "results agree within docs/SPEC.md's tolerances, not bit for bit with one process: give "
                    "--backend to choose one\n",
            c->cmd, ie_backend_name((ie_backend)first));
  return CLI_EXIT_OK;
fail:
  ie_context_destroy(*ctx);
  *ctx = NULL;
  return rc;
}
#endif

int cli_make_context(const cli_common *c, ie_context **ctx) {
#ifdef IE_CLI_MPI
  if (c->device_per_rank && cli_mpi_size() > 1) return make_rank_context(c, ctx);
#endif
  ie_status st;
  ie_context *failed = NULL;
  *ctx = open_context(c->backend, c->device, &st, &failed);
  return *ctx ? CLI_EXIT_OK : context_failed(c, c->backend, c->device, st, failed);
}

/* ---- JSON ---------------------------------------------------------------------- */

void cj_init(cli_json *j) {
  memset(j, 0, sizeof *j);
  j->first[0] = 1;
}

void cj_free(cli_json *j) {
  free(j->buf);
  memset(j, 0, sizeof *j);
}

static void cj_put(cli_json *j, const char *s, size_t n) {
  if (j->oom) return;
  if (j->len + n + 1 > j->cap) {
    size_t cap = j->cap ? j->cap : 256;
    while (cap < j->len + n + 1) cap *= 2;
    char *b = realloc(j->buf, cap);
    if (!b) {
      j->oom = 1;
      return;
    }
    j->buf = b;
    j->cap = cap;
  }
  memcpy(j->buf + j->len, s, n);
  j->len += n;
  j->buf[j->len] = '\0';
}

static void cj_puts(cli_json *j, const char *s) { cj_put(j, s, strlen(s)); }

static void cj_quoted(cli_json *j, const char *s) {
  cj_puts(j, "\"");
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    char esc[8];
    switch (*p) {
      case '"': cj_puts(j, "\\\""); break;
      case '\\': cj_puts(j, "\\\\"); break;
      case '\n': cj_puts(j, "\\n"); break;
      case '\r': cj_puts(j, "\\r"); break;
      case '\t': cj_puts(j, "\\t"); break;
      default:
        if (*p < 0x20) {
          snprintf(esc, sizeof esc, "\\u%04x", *p);
          cj_puts(j, esc);
        } else {
          cj_put(j, (const char *)p, 1);
        }
    }
  }
  cj_puts(j, "\"");
}

static void cj_member(cli_json *j, const char *key) {
  int d = j->depth;
  if (!j->first[d]) cj_puts(j, ",");
  j->first[d] = 0;
  if (key) {
    cj_quoted(j, key);
    cj_puts(j, ":");
  }
}

static void cj_open(cli_json *j, const char *key, const char *br) {
  cj_member(j, key);
  cj_puts(j, br);
  if (j->depth < 31) j->depth++;
  j->first[j->depth] = 1;
}

static void cj_close(cli_json *j, const char *br) {
  cj_puts(j, br);
  if (j->depth > 0) j->depth--;
}

void cj_obj_begin(cli_json *j, const char *key) { cj_open(j, key, "{"); }
void cj_obj_end(cli_json *j) { cj_close(j, "}"); }
void cj_arr_begin(cli_json *j, const char *key) { cj_open(j, key, "["); }
void cj_arr_end(cli_json *j) { cj_close(j, "]"); }

void cj_str(cli_json *j, const char *key, const char *s) {
  cj_member(j, key);
  cj_quoted(j, s ? s : "");
}

void cli_fmt_json_num(char *buf, size_t cap, double v) {
  if (isnan(v))
    snprintf(buf, cap, "\"nan\"");
  else if (isinf(v))
    snprintf(buf, cap, v > 0 ? "\"inf\"" : "\"-inf\"");
  else
    snprintf(buf, cap, "%.17g", v);
}

void cj_num(cli_json *j, const char *key, double v) {
  char b[64];
  cli_fmt_json_num(b, sizeof b, v);
  cj_member(j, key);
  cj_puts(j, b);
}

void cj_int(cli_json *j, const char *key, int64_t v) {
  char b[32];
  snprintf(b, sizeof b, "%" PRId64, v);
  cj_member(j, key);
  cj_puts(j, b);
}

void cj_bool(cli_json *j, const char *key, int v) {
  cj_member(j, key);
  cj_puts(j, v ? "true" : "false");
}

/* ---- Flat reports ----------------------------------------------------------------- */

static void *rep_slot(cli_report *r, const char *key, int type) {
  if (r->n >= CLI_REPORT_MAX) return NULL;
  r->e[r->n].key = key;
  r->e[r->n].type = type;
  r->e[r->n].s[0] = '\0';
  return &r->e[r->n++];
}

void rep_str(cli_report *r, const char *key, const char *s) {
  if (!rep_slot(r, key, 0)) return;
  snprintf(r->e[r->n - 1].s, sizeof r->e[0].s, "%s", s ? s : "");
}
void rep_num(cli_report *r, const char *key, double v) {
  if (rep_slot(r, key, 1)) r->e[r->n - 1].d = v;
}
void rep_int(cli_report *r, const char *key, int64_t v) {
  if (rep_slot(r, key, 2)) r->e[r->n - 1].i = v;
}
void rep_bool(cli_report *r, const char *key, int v) {
  if (rep_slot(r, key, 3)) r->e[r->n - 1].i = v;
}

/* The result did not reach standard output: the files the report names
 * (out, curve: written before it) are removed, since an output appears
 * only when the run succeeds. */
static int rep_lost(const cli_report *r, const char *cmd, const char *what) {
  for (int i = 0; i < r->n; i++)
    if (r->e[i].type == 0 && (!strcmp(r->e[i].key, "out") || !strcmp(r->e[i].key, "curve"))) remove(r->e[i].s);
  return cli_fail(CLI_EXIT_FAIL, cmd, "%s", what);
}

int rep_emit(const cli_report *r, int json, const char *cmd) {
  if (json) {
    cli_json j;
    cj_init(&j);
    cj_obj_begin(&j, NULL);
    for (int i = 0; i < r->n; i++) {
      switch (r->e[i].type) {
        case 0: cj_str(&j, r->e[i].key, r->e[i].s); break;
        case 1: cj_num(&j, r->e[i].key, r->e[i].d); break;
        case 2: cj_int(&j, r->e[i].key, r->e[i].i); break;
        default: cj_bool(&j, r->e[i].key, (int)r->e[i].i); break;
      }
    }
    cj_obj_end(&j);
    if (j.oom) {
      cj_free(&j);
      return rep_lost(r, cmd, "out of memory writing the result");
    }
    printf("%s\n", j.buf);
    cj_free(&j);
  } else {
    int w = 0;
    for (int i = 0; i < r->n; i++) {
      int l = (int)strlen(r->e[i].key);
      if (l > w) w = l;
    }
    for (int i = 0; i < r->n; i++) {
      printf("%-*s  ", w, r->e[i].key);
      switch (r->e[i].type) {
        case 0: printf("%s\n", r->e[i].s); break;
        case 1: printf("%.12g\n", r->e[i].d); break;
        case 2: printf("%" PRId64 "\n", r->e[i].i); break;
        default: printf("%s\n", r->e[i].i ? "yes" : "no"); break;
      }
    }
  }
  if (fflush(stdout) != 0 || ferror(stdout)) return rep_lost(r, cmd, "cannot write to standard output");
  return CLI_EXIT_OK;
}

/* ---- Time, signals ------------------------------------------------------------------ */

double cli_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

volatile sig_atomic_t cli_interrupted = 0;

/* The temporary output to remove on SIGINT / SIGTERM: written while
 * `doomed_set` is 0, published by setting it (release; the handler, on
 * whichever thread, reads it with acquire).  unlink() is async-signal-safe. */
static char doomed[4096];
static atomic_int doomed_set;

void cli_remove_on_signal(const char *path) {
  atomic_store_explicit(&doomed_set, 0, memory_order_release);
  if (!path || strlen(path) >= sizeof doomed) return;
  memcpy(doomed, path, strlen(path) + 1);
  atomic_store_explicit(&doomed_set, 1, memory_order_release);
}

static void on_signal(int sig) {
  (void)sig;
  cli_interrupted = 1;
  if (atomic_load_explicit(&doomed_set, memory_order_acquire)) {
    const int e = errno; /* the interrupted code's errno, kept */
    unlink(doomed);
    errno = e;
  }
}

void cli_install_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESETHAND; /* a second signal ends the process as usual */
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  /* A closed stdout is reported as a write error, not a silent death. */
  struct sigaction ign;
  memset(&ign, 0, sizeof ign);
  ign.sa_handler = SIG_IGN;
  sigemptyset(&ign.sa_mask);
  sigaction(SIGPIPE, &ign, NULL);
}

/* ---- Progress bar ------------------------------------------------------------------- */

void progress_init(cli_progress *p, int enabled, int64_t total,
                   const char *label) {
  memset(p, 0, sizeof *p);
  p->enabled = enabled && isatty(STDERR_FILENO);
  p->t0 = cli_now();
  p->total = total > 0 ? total : 1;
  p->label = label;
}

void progress_update(cli_progress *p, int64_t done) {
  if (!p->enabled) return;
  double t = cli_now();
  if (t - p->t0 < 1.0) return;
  if (p->shown && t - p->last < 0.1 && done < p->total) return;
  p->last = t;
  p->shown = 1;
  double f = (double)done / (double)p->total;
  if (f > 1) f = 1;
  enum { W = 30 };
  char bar[W + 1];
  int k = (int)(f * W);
  for (int i = 0; i < W; i++) bar[i] = i < k ? '#' : '.';
  bar[W] = '\0';
  double el = t - p->t0;
  double rate = el > 0 ? (double)done / el : 0;
  if (f > 0 && f < 1) {
    double eta = el * (1 - f) / f;
    fprintf(stderr, "\r%s [%s] %5.1f%%  %" PRId64 "/%" PRId64 " rows  %.0f rows/s  %.0f s left ",
            p->label, bar, 100 * f, done, p->total, rate, eta);
  } else {
    fprintf(stderr, "\r%s [%s] %5.1f%%  %" PRId64 "/%" PRId64 " rows  %.0f rows/s           ",
            p->label, bar, 100 * f, done, p->total, rate);
  }
  fflush(stderr);
}

void progress_end(cli_progress *p) {
  if (p->shown) {
    fprintf(stderr, "\r\033[K");
    fflush(stderr);
  }
  p->shown = 0;
}

/* ---- Data types ----------------------------------------------------------------------- */

DLDataType cli_dt(uint8_t code, uint8_t bits) {
  DLDataType t;
  t.code = code;
  t.bits = bits;
  t.lanes = 1;
  return t;
}

const char *cli_dtype_name(DLDataType t) {
  if (t.lanes != 1) return "vector type";
  switch (t.code) {
    case kDLFloat:
      return t.bits == 16 ? "float16" : t.bits == 32 ? "float32" : t.bits == 64 ? "float64" : "float?";
    case kDLBfloat: return t.bits == 16 ? "bfloat16" : "bfloat?";
    case kDLInt:
      return t.bits == 8 ? "int8" : t.bits == 16 ? "int16" : t.bits == 32 ? "int32" : t.bits == 64 ? "int64" : "int?";
    case kDLUInt:
      return t.bits == 8 ? "uint8" : t.bits == 16 ? "uint16" : t.bits == 32 ? "uint32" : t.bits == 64 ? "uint64" : "uint?";
    case 6: return "bool"; /* kDLBool in newer dlpack.h */
    default: return "unknown type";
  }
}

size_t cli_dtype_size(DLDataType t) { return (size_t)((t.bits * t.lanes + 7) / 8); }

int cli_dtype_is_float(DLDataType t) {
  return t.lanes == 1 && ((t.code == kDLFloat && (t.bits == 16 || t.bits == 32 || t.bits == 64)) ||
                          (t.code == kDLBfloat && t.bits == 16));
}

int cli_dtype_is_int_label(DLDataType t) {
  return t.lanes == 1 && t.code == kDLInt && (t.bits == 32 || t.bits == 64);
}

int cli_dtype_parse(const char *s, DLDataType *t) {
  if (!strcmp(s, "f16") || !strcmp(s, "float16")) *t = cli_dt(kDLFloat, 16);
  else if (!strcmp(s, "bf16") || !strcmp(s, "bfloat16")) *t = cli_dt(kDLBfloat, 16);
  else if (!strcmp(s, "f32") || !strcmp(s, "float32")) *t = cli_dt(kDLFloat, 32);
  else if (!strcmp(s, "f64") || !strcmp(s, "float64")) *t = cli_dt(kDLFloat, 64);
  else return -1;
  return 0;
}

static double half_to_double(uint16_t h) {
  int s = h >> 15, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  double v;
  if (e == 0) v = ldexp((double)m, -24);
  else if (e == 31) v = m ? NAN : INFINITY;
  else v = ldexp((double)(m | 0x400), e - 25);
  return s ? -v : v;
}

double cli_load_double(const void *p, DLDataType t, int64_t i) {
  const char *b = (const char *)p;
  if (t.code == kDLFloat && t.bits == 32) {
    float f;
    memcpy(&f, b + 4 * i, 4);
    return f;
  }
  if (t.code == kDLFloat && t.bits == 64) {
    double d;
    memcpy(&d, b + 8 * i, 8);
    return d;
  }
  if (t.code == kDLFloat && t.bits == 16) {
    uint16_t h;
    memcpy(&h, b + 2 * i, 2);
    return half_to_double(h);
  }
  if (t.code == kDLBfloat && t.bits == 16) {
    uint16_t h;
    memcpy(&h, b + 2 * i, 2);
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
  }
  if (t.code == kDLInt && t.bits == 32) {
    int32_t v;
    memcpy(&v, b + 4 * i, 4);
    return v;
  }
  if (t.code == kDLInt && t.bits == 64) {
    int64_t v;
    memcpy(&v, b + 8 * i, 8);
    return (double)v;
  }
  return NAN;
}
