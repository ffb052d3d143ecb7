/*
 * cmd_demo.c — `infoest demo`: synthetic logits (and point sets) made in
 * code from a fixed seed, every family of the library on every backend
 * available here, each compared with the CPU and timed.
 */
#define _POSIX_C_SOURCE 200809L
#include "demo.h"

/* ---- The command ------------------------------------------------------------------------ */

static int run_demo(const cli_command *cmd, const cli_args *a, const cli_common *c) {
  const char *name = cmd->name;
  if (c->out) return cli_usage_error(name, "demo writes no --out file (its data are built in)");
  demo_data d;
  memset(&d, 0, sizeof d);
  d.B = 512;
  d.V = 32000;
  d.seed = 20240601;
  int64_t v;
  int got;
  if ((got = cli_opt_int64(a, name, "--rows", &v)) < 0) return CLI_EXIT_USAGE;
  if (got) {
    if (v < 1 || v > (1 << 24)) return cli_usage_error(name, "--rows must lie in [1, 16777216]");
    d.B = v;
  }
  if ((got = cli_opt_int64(a, name, "--cols", &v)) < 0) return CLI_EXIT_USAGE;
  if (got) {
    if (v < 2 || v > (1 << 24)) return cli_usage_error(name, "--cols must lie in [2, 16777216]");
    d.V = v;
  }
  if ((got = cli_opt_int64(a, name, "--seed", &v)) < 0) return CLI_EXIT_USAGE;
  if (got) d.seed = (uint64_t)v;
  if ((double)d.B * (double)d.V > 4.0e8)
    return cli_usage_error(name, "--rows x --cols must stay below 4e8 elements");

  /* Backends. */
  demo_backend bes[3];
  const ie_backend order[3] = {IE_BACKEND_CPU, IE_BACKEND_CUDA, IE_BACKEND_OPENCL};
  int rc = CLI_EXIT_OK;
  double *ref_rows = NULL, *rows_buf = NULL;
  float *ref_mat = NULL, *mat_buf = NULL;
  demo_result *res = NULL;
  memset(bes, 0, sizeof bes);
  for (int i = 0; i < 3; i++) {
    demo_backend *be = &bes[i];
    be->b = order[i];
    be->selected = !c->backend_given || c->backend == IE_BACKEND_AUTO ||
                   order[i] == IE_BACKEND_CPU || order[i] == c->backend;
    if (!ie_backend_compiled(be->b)) {
      snprintf(be->reason, sizeof be->reason, "not compiled into this build");
      continue;
    }
    ie_context_options o;
    memset(&o, 0, sizeof o);
    o.size = sizeof o;
    o.backend = be->b;
    o.device = order[i] == c->backend ? c->device : 0;
    ie_status st = ie_context_create(&be->ctx, &o);
    if (st != IE_OK) {
      snprintf(be->reason, sizeof be->reason, "%s",
               be->ctx ? ie_errmsg(be->ctx) : ie_status_string(st));
      ie_context_destroy(be->ctx);
      be->ctx = NULL;
      continue;
    }
    be->available = 1;
    snprintf(be->device, sizeof be->device, "%s", ie_context_device_name(be->ctx));
  }
  if (!bes[0].available) {
    rc = cli_fail(CLI_EXIT_FAIL, name, "the cpu backend is not available: %s", bes[0].reason);
    goto done;
  }
  if (c->backend_given && c->backend != IE_BACKEND_AUTO) {
    for (int i = 0; i < 3; i++)
      if (bes[i].b == c->backend && !bes[i].available) {
        rc = cli_fail(CLI_EXIT_BACKEND, name, "backend %s is not available here: %s",
                      ie_backend_name(c->backend), bes[i].reason);
        goto done;
      }
  }

  double tg = cli_now();
  if (demo_make_data(&d) != 0) {
    rc = cli_fail(CLI_EXIT_FAIL, name, "out of memory making %" PRId64 " x %" PRId64 " demo logits", d.B, d.V);
    goto done;
  }
  tg = cli_now() - tg;

  size_t nmat = (size_t)d.B * (size_t)d.V;
  ref_rows = malloc((size_t)d.B * sizeof(double));
  rows_buf = malloc((size_t)d.B * sizeof(double));
  ref_mat = malloc(nmat * sizeof(float));
  mat_buf = malloc(nmat * sizeof(float));
  res = calloc((size_t)demo_nops * 3, sizeof *res);
  if (!ref_rows || !rows_buf || !ref_mat || !mat_buf || !res) {
    rc = cli_fail(CLI_EXIT_FAIL, name, "out of memory");
    goto done;
  }

  cli_progress pg;
  int navail = 0;
  for (int i = 0; i < 3; i++) navail += bes[i].available && bes[i].selected;
  progress_init(&pg, c->progress, (int64_t)demo_nops * navail, "demo");
  int64_t step = 0;
  int all_ok = 1;
  double t_all = cli_now();
  for (int k = 0; k < demo_nops && !cli_interrupted; k++) {
    const demo_op *op = &demo_ops[k];
    for (int i = 0; i < 3 && !cli_interrupted; i++) {
      demo_backend *be = &bes[i];
      if (!be->available || !be->selected) continue;
      demo_result *r = &res[k * 3 + i];
      void *out = op->op == D_LSM ? (void *)(i == 0 ? ref_mat : mat_buf)
                                  : (void *)(i == 0 ? ref_rows : rows_buf);
      demo_measure(be, op, &d, out, r);
      if (r->unsupported && i > 0) {
        progress_update(&pg, ++step);
        continue;
      }
      if (!r->ok) {
        all_ok = 0;
        if (i == 0) break; /* no reference to compare with */
        progress_update(&pg, ++step);
        continue;
      }
      if (i == 0) {
        r->maxrel = 0;
        r->within = 1;
      } else if (!res[k * 3].ok) {
        r->maxrel = NAN;
        r->within = 0;
      } else {
        double m = 0;
        if (IS_FAMILY(op->op)) {
          m = demo_rel_err(r->value, res[k * 3].value);
        } else if (op->op == D_LSM) {
          for (size_t e = 0; e < nmat; e++) {
            double x = demo_rel_err(mat_buf[e], ref_mat[e]);
            if (!(x <= m)) m = x;
          }
        } else {
          for (int64_t e = 0; e < d.B; e++) {
            double x = demo_rel_err(rows_buf[e], ref_rows[e]);
            if (!(x <= m)) m = x;
          }
        }
        r->maxrel = m;
        r->within = m <= TOL;
        if (!r->within) all_ok = 0;
      }
      progress_update(&pg, ++step);
    }
  }
  t_all = cli_now() - t_all;
  progress_end(&pg);
  if (cli_interrupted) {
    rc = cli_fail(CLI_EXIT_FAIL, name, "interrupted");
    goto done;
  }

  char ran[64] = "";
  for (int i = 0; i < 3; i++)
    if (bes[i].available && bes[i].selected) {
      size_t l = strlen(ran);
      snprintf(ran + l, sizeof ran - l, "%s%s", l ? "," : "", ie_backend_name(bes[i].b));
    }

  /* The demo is a table by default; JSON when asked. */
  if (cli_has(a, "--format") && c->json) {
    cli_json j;
    cj_init(&j);
    cj_obj_begin(&j, NULL);
    cj_str(&j, "command", "demo");
    cj_int(&j, "rows", d.B);
    cj_int(&j, "cols", d.V);
    cj_str(&j, "dtype", "float32");
    cj_int(&j, "seed", (int64_t)d.seed);
    cj_arr_begin(&j, "backends");
    for (int i = 0; i < 3; i++) {
      cj_obj_begin(&j, NULL);
      cj_str(&j, "name", ie_backend_name(bes[i].b));
      cj_bool(&j, "available", bes[i].available);
      if (bes[i].available) {
        cj_str(&j, "device", bes[i].device);
        cj_bool(&j, "ran", bes[i].selected);
      } else {
        cj_str(&j, "reason", bes[i].reason);
      }
      cj_obj_end(&j);
    }
    cj_arr_end(&j);
    cj_arr_begin(&j, "results");
    for (int k = 0; k < demo_nops; k++)
      for (int i = 0; i < 3; i++) {
        const demo_result *r = &res[k * 3 + i];
        if (!r->ran) continue;
        cj_obj_begin(&j, NULL);
        cj_str(&j, "op", demo_ops[k].family);
        if (demo_ops[k].variant[0]) cj_str(&j, "variant", demo_ops[k].variant);
        cj_str(&j, "backend", ie_backend_name(bes[i].b));
        cj_bool(&j, "ok", r->ok);
        if (r->ok) {
          cj_num(&j, "value", r->value);
          cj_num(&j, "max_rel_err", r->maxrel);
          cj_bool(&j, "within_tolerance", r->within);
          cj_num(&j, "ms", r->ms);
          if (!IS_FAMILY(demo_ops[k].op)) cj_num(&j, "gb_per_s", r->gbps);
        } else if (r->unsupported) {
          cj_bool(&j, "unsupported", 1);
          cj_str(&j, "error", r->err);
        } else {
          cj_str(&j, "error", r->err);
        }
        cj_obj_end(&j);
      }
    cj_arr_end(&j);
    cj_num(&j, "tolerance", TOL);
    cj_bool(&j, "all_within_tolerance", all_ok);
    cj_num(&j, "seconds", t_all + tg);
    cj_str(&j, "backend", ran);
    cj_obj_end(&j);
    if (j.oom) {
      cj_free(&j);
      rc = cli_fail(CLI_EXIT_FAIL, name, "out of memory writing the result");
      goto done;
    }
    printf("%s\n", j.buf);
    cj_free(&j);
  } else {
    printf("infoest %s demo: %" PRId64 " x %" PRId64 " float32 logits p, q and int32 labels, seed %" PRIu64 "\n",
           ie_version_string(), d.B, d.V, d.seed);
    printf("(every 8th row masks its last %" PRId64 " columns with -inf: probability 0)\n\n", d.masked_cols);
    printf("  %-8s %-15s %s\n", "backend", "status", "device");
    for (int i = 0; i < 3; i++) {
      const demo_backend *be = &bes[i];
      printf("  %-8s %-15s %s\n", ie_backend_name(be->b),
             be->available ? (be->selected ? "ready" : "not asked") : "not available",
             be->available ? be->device : be->reason);
    }
    printf("\n  %-22s %-7s %20s %12s %4s %10s %8s\n", "operation", "backend", "value (mean, nats)",
           "max rel err", "ok", "time ms", "GB/s");
    printf("  %-22s %-7s %20s %12s %4s %10s %8s\n", "----------------------", "-------",
           "--------------------", "------------", "----", "----------", "--------");
    for (int k = 0; k < demo_nops; k++) {
      int first = 1;
      for (int i = 0; i < 3; i++) {
        const demo_result *r = &res[k * 3 + i];
        if (!r->ran) continue;
        const char *lab = first ? demo_ops[k].label : "";
        first = 0;
        if (r->unsupported) {
          printf("  %-22s %-7s not supported on this backend\n", lab, ie_backend_name(bes[i].b));
          continue;
        }
        if (!r->ok) {
          printf("  %-22s %-7s FAILED: %s\n", lab, ie_backend_name(bes[i].b), r->err);
          continue;
        }
        char err[32];
        if (i == 0) snprintf(err, sizeof err, "reference");
        else if (isnan(r->maxrel)) snprintf(err, sizeof err, "n/a");
        else if (r->maxrel == 0) snprintf(err, sizeof err, "0");
        else snprintf(err, sizeof err, "%.1e", r->maxrel);
        char gb[32];
        if (IS_FAMILY(demo_ops[k].op)) snprintf(gb, sizeof gb, "-");
        else snprintf(gb, sizeof gb, "%.2f", r->gbps);
        printf("  %-22s %-7s %20.12g %12s %4s %10.2f %8s\n", lab, ie_backend_name(bes[i].b),
               r->value, err, i == 0 ? "" : (r->within ? "yes" : "NO"), r->ms, gb);
      }
    }
    printf("\n  value: the mean over rows (log-softmax: the mean finite log-probability), nats;\n"
           "  for the sample-based families one value: the Vendi score (500 float32 points in\n"
           "  16 clusters, d = 64), the matrix-based Renyi-2 entropy of their rbf kernel\n"
           "  (sigma 8), the Sinkhorn transport cost of one 200 x 200 problem (point clouds\n"
           "  in R^4, sqeuclidean, eps 1, tol 1e-7) and the Kozachenko-Leonenko entropy\n"
           "  of 2000 correlated Gaussian points in R^4 (k = 5); GB/s does not apply.\n"
           "  max rel err: max over rows (log-softmax: elements) of |x - cpu| / max(|cpu|, 0.1);\n"
           "  docs/SPEC.md's tolerance (1e-5 relative, or 1e-6 absolute near 0) is\n"
           "  max rel err <= 1e-5.\n"
           "  time: per call on host memory, after an untimed warm-up (GPU backends include\n"
           "  the host-device copies); the median of 3 to 15 calls, or one call when it\n"
           "  takes over 0.25 s.  GB/s: bytes of input and output moved per second.\n");
    printf("\n  %s in %.2f s (data made in %.2f s).\n",
           all_ok ? "All results agree with the CPU within docs/SPEC.md tolerance"
                  : "SOME RESULTS FAILED OR DISAGREE WITH THE CPU",
           t_all + tg, tg);
  }
  if (fflush(stdout) != 0 || ferror(stdout)) {
    rc = cli_fail(CLI_EXIT_FAIL, name, "cannot write to standard output");
    goto done;
  }
  if (!all_ok) {
    for (int k = 0; k < demo_nops; k++)
      for (int i = 0; i < 3; i++) {
        const demo_result *r = &res[k * 3 + i];
        if (!r->ran || r->unsupported) continue;
        if (!r->ok)
          fprintf(stderr, "infoest demo: %s on %s failed: %s\n", demo_ops[k].label,
                  ie_backend_name(bes[i].b), r->err);
        else if (!r->within)
          fprintf(stderr, "infoest demo: %s on %s differs from the cpu: max rel err %.3g > %g\n",
                  demo_ops[k].label, ie_backend_name(bes[i].b), r->maxrel, TOL);
      }
    rc = CLI_EXIT_FAIL;
  }

done:
  for (int i = 0; i < 3; i++) ie_context_destroy(bes[i].ctx);
  free(d.p);
  free(d.q);
  free(d.labels);
  free(d.vx);
  free(d.sa);
  free(d.sb);
  free(d.sx);
  free(d.sy);
  free(d.kx);
  free(ref_rows);
  free(rows_buf);
  free(ref_mat);
  free(mat_buf);
  free(res);
  return rc;
}

static const cli_opt demo_opts[] = {
    {"--rows", "B", "rows of the built-in logits (default 512)"},
    {"--cols", "V", "columns, the vocabulary (default 32000)"},
    {"--seed", "S", "seed of the generator (default 20240601)"},
};

const cli_command cli_cmd_demo = {
    "demo",
    "every family on every backend here, on built-in data: values, agreement, times",
    "[--rows B] [--cols V] [--seed S]",
    "Makes 512 x 32000 float32 logits p and q (and labels) from a fixed seed, then\n"
    "runs log-softmax, entropy (Shannon, Renyi 2), nll and the divergences kl, js,\n"
    "tv, hellinger and renyi 2 on them, and on small built-in point sets a Vendi\n"
    "score (500 x 64, cosine), a matrix-based entropy (the same points, rbf), one\n"
    "Sinkhorn problem (200 x 200) and a kNN entropy (2000 x 4, k = 5), on every\n"
    "backend available here (cpu, cuda, opencl; one not compiled in or without a\n"
    "device is listed with the reason; an operation a backend lacks is listed as\n"
    "not supported there).  --rows and --cols size the logits only.\n"
    "Shows each value, its largest relative difference from the CPU's, and the\n"
    "time each took.  --backend B runs the CPU (the reference) and B only.\n"
    "Prints a table on stdout; --format json prints one JSON object instead.\n"
    "Exits 1 if any call fails or any backend disagrees with the CPU beyond the\n"
    "docs/SPEC.md tolerance.",
    "rows, cols, dtype, seed, backends [{name, available, device | reason}],\n"
    "results [{op, variant, backend, ok, value, max_rel_err, within_tolerance, ms,\n"
    "gb_per_s | error}], tolerance, all_within_tolerance, seconds, backend",
    "infoest demo --format text\n"
    "infoest demo --format json --backend cuda",
    demo_opts,
    (int)(sizeof demo_opts / sizeof demo_opts[0]),
    run_demo,
};
