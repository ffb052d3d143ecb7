/*
 * infoest-bench — times every op of the library at standard sizes on every
 * backend, with the roof it is held against measured on the same device in the
 * same run.
 *
 *   infoest-bench [--backend cpu|cuda|opencl|all] [--op NAME[,NAME...]|all]
 *                 [--size small|standard|gpu] [--dtype f32|bf16|all]
 *                 [--repeats N] [--min-time S] [--warmup N]
 *                 [--json FILE] [--append] [--save-inputs DIR]
 *                 [--max-time S] [--modes host,device] [--host-limit-mb N]
 *                 [--threads N] [--list]
 *
 * Method.  Each figure: `warmup` untimed calls (2; one when a call takes
 * over a second), then timed calls until at least `repeats` (10) calls AND
 * `min-time` (0.5) seconds have passed, or, for slow cases, at least 3 calls
 * and `max-time` (3) seconds (at most 2000 calls).  --modes picks host- and/or
 * device-resident tensors for GPU/OpenCL backends (the CPU always runs
 * host; so does a backend whose device memory the bench cannot make).  Every
 * call is timed alone with CLOCK_MONOTONIC around one library call; the
 * library returns when its results are complete (a GPU call waits for its
 * stream), so host timing is exact for every backend.  Reported: median,
 * min, max, quartiles.
 *
 * Bytes (the "compulsory traffic" convention, the same for every backend and
 * for the roofs):
 *   row reductions (logsumexp, entropy, nll, divergences): the input matrices
 *     read once, plus labels and the [B] float output;
 *   softmax / log-softmax: the input read once plus the output written once.
 *   GB/s = bytes / median time (1 GB = 1e9 bytes).
 * Roofs, measured on the same device at the start and again at the end of each
 * backend's run (both are recorded; the start value is the one divided by):
 *   cpu  read: a summing read (uint64 words, OpenMP, the library's thread
 *        count) over a buffer of max(512 MiB, 8 x LLC), capped at 4 GiB;
 *        bytes = buffer size.  The best of several loops (READ_METHODS: a
 *        plain OpenMP loop; on x86-64, AVX2 and AVX-512 loops with 8
 *        accumulators over 1, 2 or 4 streams a thread, two with software
 *        prefetch 1 or 4 KB ahead), each a median; the highest is the roof and is named.
 *   cpu  copy: the same buffer copied over the same threads, the best of
 *        memcpy and AVX2 / AVX-512 non-temporal (streaming) stores; bytes =
 *        read + written (2 x buffer), the convention used for log-softmax.
 *   cpu, a figure's own size: a CPU figure whose bytes pass the L3 is held
 *        against the higher of that roof and the same roof timed on buffers
 *        of its own bytes (rows.c cpu_roof_for; JSON "roof-at-size").
 *   A figure above 100% of its roof is flagged ("!" line; the report marks
 *   it): a roof bug, or on the CPU inputs that fit in the L3.
 *   cuda copy: cudaMemcpy device-to-device of 1 GiB; bytes = 2 x 1 GiB.
 *   opencl copy: clEnqueueCopyBuffer of 256 MiB; bytes = 2 x size.
 *   h2d: host-to-device transfer (cuda: cudaMemcpy from pageable memory, 256
 *        MiB; opencl: blocking clEnqueueWriteBuffer, 256 MiB); bytes = size.
 *   gemm: SGEMM FLOP/s (cpu: cblas_sgemm; cuda: cublasSgemm, default math
 *        mode), for the compute-bound cases (CCASES: exact kNN, Vendi; see
 *        "compute-bound families" below for their FLOP models).
 *   exp (cpu): e^x a second, the library's float exp over an L1 buffer on
 *        every thread (roofs_cpu.c): the arithmetic bound of the logits ops;
 *        the report gives forward KL's (two exps a pair) beside its goal.
 * Alternating rounds (cpu, 256 x 128256 f32, the goals' size; rows.c,
 *   run_alternating): after the ops of that size are timed in turn, rounds
 *   of one read by every read-roof loop (of a buffer of forward KL's bytes),
 *   then one call of every divergence
 *   and entropy op, each timed alone (at least 9 rounds, --repeats); medians
 *   over the rounds, the roof the best loop's.  Ratios of figures timed
 *   minutes apart carry the host's drift between them (15-25% on a shared
 *   2-core VM); ratios within the rounds do not.  The report's verdicts on
 *   the CPU goals use them where present.  JSON type "alternating".
 * Reductions are held against `read` on the CPU and against `copy` on GPU and
 * OpenCL devices (no read-only roof is measured there); softmax/log-softmax
 * against `copy`; host tensors given to a GPU/OpenCL backend (staged in every
 * call) against `h2d`.
 *
 * Host vs device tensors.  The CPU backend works on host memory.  A GPU
 * backend given host tensors stages them (a copy to the device every call):
 * that is timed as mode "host".  Where the bench can make device memory
 * (CUDA: cudaMalloc; OpenCL: clCreateBuffer on the library's cl_context when
 * include/infoest_opencl.h provides it) the same op is timed on resident
 * tensors as mode "device": the figure to hold against the device roof.
 *
 * Adding an op: one row in OPS[] (rows.c) with its family, bytes and roof;
 * inputs per size come from SIZES[].  The compute-bound families (Sinkhorn,
 * kNN, Vendi) are rows of CCASES[] (compute.c; shape per size set; JSON
 * records of type "compute"), run on the CPU and any backend given
 * --families compute; each family's inputs, call, FLOP model and check are in
 * its own file (sinkhorn.c, knn.c, spectral.c).  The files: bench.h.
 *
 * Output: a table on stdout; with --json, one JSON object a line (records
 * "machine", "roof", "result", "compute", "skip") for bench/report.py.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <omp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "infoest-bench: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(1);
}

void *xmalloc(size_t n) {
  void *p = NULL;
  if (n == 0) n = 1;
  if (posix_memalign(&p, 64, n) != 0) die("out of host memory (%zu bytes)", n);
  return p;
}

int name_listed(const char *list, const char *name) {
  size_t n = strlen(name);
  for (const char *s = list; *s;) {
    const char *e = strchr(s, ',');
    size_t len = e ? (size_t)(e - s) : strlen(s);
    if (len == n && !strncmp(s, name, n)) return 1;
    if (!e) break;
    s = e + 1;
  }
  return 0;
}

/* One backend: its roofs at the start, the row ops, the compute cases, its
 * roofs again at the end. */
static void run_backend(ie_backend b, const options *o) {
  const char *bname = ie_backend_name(b);
  ie_context *ctx = NULL;
  ie_context_options co;
  memset(&co, 0, sizeof co);
  co.size = sizeof co;
  co.backend = b;
  ie_status st = ie_context_create(&ctx, &co);
  if (st != IE_OK) {
    char why[1200];
    snprintf(why, sizeof why, "%s: %s", ie_status_name(st), ie_errmsg(ctx));
    emit_skip(bname, "backend", why);
    ie_context_destroy(ctx);
    return;
  }
  const char *devname = ie_context_device_name(ctx);
  char jb[512];
  printf("== backend %s: %s\n", bname, devname);
  json_printf("{\"type\":\"backend\",\"backend\":\"%s\",\"device\":\"%s\",\"threads\":%d}\n",
              bname, jstr(devname, jb, sizeof jb), omp_get_max_threads());

  void *env = NULL;
#ifdef IE_BENCH_OPENCL
  ocl_env ocl;
  if (b == IE_BACKEND_OPENCL) {
    if (ocl_open(&ocl, ctx)) env = &ocl;
    else emit_skip(bname, "roof copy", "could not open the OpenCL device for the copy roof");
  }
#endif
  roofs r0, r1;
  measure_roofs(b, o, &r0, env);
  emit_roofs(bname, devname, &r0, "start");

  run_rows(b, ctx, o, &r0, env);
  run_compute(b, ctx, o, &r0);

  measure_roofs(b, o, &r1, env);
  emit_roofs(bname, devname, &r1, "end");
#ifdef IE_BENCH_OPENCL
  if (env) ocl_close(&ocl);
#endif
  ie_context_destroy(ctx);
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: infoest-bench [--backend cpu|cuda|opencl|all] [--op NAME[,NAME]|all]\n"
          "                     [--size small|standard|gpu] [--dtype f32|bf16|all]\n"
          "                     [--repeats N] [--min-time S] [--warmup N]\n"
          "                     [--json FILE] [--append] [--save-inputs DIR]\n"
          "                     [--max-time S] [--modes host,device] [--host-limit-mb N]\n"
          "                     [--threads N] [--families logits,compute] [--list]\n");
}

int main(int argc, char **argv) {
  options o;
  memset(&o, 0, sizeof o);
  o.ops = "all";
  o.size = "standard";
  o.dtype = "all";
  o.repeats = 10;
  o.warmup = 2;
  o.min_time = 0.5;
  o.host_limit_mb = 1200;
  o.max_time = 3.0;
  o.modes[MODE_HOST] = o.modes[MODE_DEVICE] = 1;
  o.families[0] = o.families[1] = 1;
  const char *backend = "all";
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
#define NEXT() (i + 1 < argc ? argv[++i] : (usage(stderr), exit(2), (char *)NULL))
    if (!strcmp(a, "--backend")) backend = NEXT();
    else if (!strcmp(a, "--op")) o.ops = NEXT();
    else if (!strcmp(a, "--size")) o.size = NEXT();
    else if (!strcmp(a, "--dtype")) o.dtype = NEXT();
    else if (!strcmp(a, "--repeats")) o.repeats = atoi(NEXT());
    else if (!strcmp(a, "--warmup")) o.warmup = atoi(NEXT());
    else if (!strcmp(a, "--min-time")) o.min_time = atof(NEXT());
    else if (!strcmp(a, "--json")) o.json_path = NEXT();
    else if (!strcmp(a, "--append")) o.append = 1;
    else if (!strcmp(a, "--save-inputs")) o.save_dir = NEXT();
    else if (!strcmp(a, "--host-limit-mb")) o.host_limit_mb = atof(NEXT());
    else if (!strcmp(a, "--list")) o.list = 1;
    else if (!strcmp(a, "--threads")) o.threads = atoi(NEXT());
    else if (!strcmp(a, "--max-time")) o.max_time = atof(NEXT());
    else if (!strcmp(a, "--families")) {
      const char *m = NEXT();
      o.families[0] = strstr(m, "logits") != NULL || !strcmp(m, "all");
      o.families[1] = strstr(m, "compute") != NULL || !strcmp(m, "all");
      if (!o.families[0] && !o.families[1]) die("--families takes logits, compute or logits,compute");
    }
    else if (!strcmp(a, "--modes")) {
      const char *m = NEXT();
      o.modes[MODE_HOST] = strstr(m, "host") != NULL;
      o.modes[MODE_DEVICE] = strstr(m, "device") != NULL;
      if (!o.modes[MODE_HOST] && !o.modes[MODE_DEVICE]) die("--modes takes host, device or host,device");
    }
    else if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
    else { usage(stderr); return 2; }
#undef NEXT
  }
  if (o.repeats < 1 || o.repeats > MAX_REPS) die("--repeats must be in [1, %d]", MAX_REPS);
  if (o.warmup < 0) die("--warmup must be >= 0");
  if (strcmp(o.size, "small") && strcmp(o.size, "standard") && strcmp(o.size, "gpu"))
    die("--size must be small, standard or gpu");
  if (strcmp(o.dtype, "all") && strcmp(o.dtype, "f32") && strcmp(o.dtype, "bf16"))
    die("--dtype must be f32, bf16 or all");
  int nsel = (o.families[0] ? count_row_ops(&o) : 0) +
             (o.families[1] ? count_compute_cases(&o) : 0);
  if (o.list || nsel == 0) {
    FILE *f = o.list ? stdout : stderr;
    if (!o.list) fprintf(f, "no op matches --op %s; ops:\n", o.ops);
    list_row_ops(f);
    list_compute_cases(f);
    return o.list ? 0 : 2;
  }
  if (!strcmp(backend, "all")) {
    o.backends[IE_BACKEND_CPU] = o.backends[IE_BACKEND_CUDA] = o.backends[IE_BACKEND_OPENCL] = 1;
  } else {
    for (const char *s = backend; *s;) {
      const char *e = strchr(s, ',');
      char name[32];
      size_t len = e ? (size_t)(e - s) : strlen(s);
      snprintf(name, sizeof name, "%.*s", (int)len, s);
      int bk = ie_backend_parse(name);
      if (bk <= 0) die("unknown backend '%s'", name);
      o.backends[bk] = 1;
      if (!e) break;
      s = e + 1;
    }
  }
  if (o.threads > 0) omp_set_num_threads(o.threads); /* the library's regions too */
  if (o.json_path) {
    g_json = fopen(o.json_path, o.append ? "a" : "w");
    if (!g_json) die("cannot open %s: %s", o.json_path, strerror(errno));
  }
  machine_record();
  if (o.save_dir) {
    save_compute_inputs(&o);
    save_row_inputs(&o);
  }
  const ie_backend order[3] = {IE_BACKEND_CPU, IE_BACKEND_CUDA, IE_BACKEND_OPENCL};
  for (int i = 0; i < 3; i++) {
    ie_backend b = order[i];
    if (!o.backends[b]) continue;
    if (!ie_backend_compiled(b)) {
      emit_skip(ie_backend_name(b), "backend", "not compiled into this build");
      continue;
    }
    run_backend(b, &o);
  }
  if (g_json) fclose(g_json);
  return 0;
}
