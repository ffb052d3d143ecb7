/*
 * cmd_mauve.c — `infoest mauve` (docs/SPEC.md §8): MAUVE between the features
 * of P and of one or more Q sets (clustered jointly), or the frontier of
 * given histograms.  Features are loaded whole: every row takes part in the
 * PCA and the clustering.
 */
#define _POSIX_C_SOURCE 200809L
#include "cmd.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAUVE_MAX_Q 64

/* Every value of a repeatable option, in order; returns the count (at most cap). */
static int get_all(const cli_args *a, const char *name, const char **out, int cap) {
  int n = 0;
  for (int i = 0; i < a->nseen; i++)
    if (!strcmp(a->opt[a->seen_opt[i]]->name, name)) {
      if (n < cap) out[n] = a->seen_val[i];
      n++;
    }
  return n;
}

/* The options shared by both modes, into o.  Returns 0 or an exit status. */
static int read_opts(const cli_args *a, const char *cmd, ie_mauve_options *o) {
  memset(o, 0, sizeof *o);
  o->size = sizeof *o;
  int64_t v;
  double x;
  int got;
  struct {
    const char *name;
    int64_t *dst;
    int64_t lo;
  } ints[] = {{"--clusters", &o->clusters, 2}, {"--seeds", &o->seeds, 1}, {"--redo", &o->redo, 1},
              {"--max-iter", &o->max_iter, 1}, {"--grid", &o->grid, 2}};
  for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) {
    if ((got = cli_opt_int64(a, cmd, ints[i].name, &v)) < 0) return CLI_EXIT_USAGE;
    if (got && v < ints[i].lo)
      return cli_usage_error(cmd, "%s must be >= %" PRId64 ", not '%s'", ints[i].name, ints[i].lo,
                             cli_get(a, ints[i].name));
    if (got) *ints[i].dst = v;
  }
  if ((got = cli_opt_int64(a, cmd, "--seed", &v)) < 0) return CLI_EXIT_USAGE;
  if (got && v < 0) return cli_usage_error(cmd, "--seed must be >= 0, not '%s'", cli_get(a, "--seed"));
  if (got) o->seed = (uint64_t)v;
  if ((got = cli_opt_double(a, cmd, "--explained-variance", 0, &x)) < 0) return CLI_EXIT_USAGE;
  if (got && !(x > 0 && x <= 1))
    return cli_usage_error(cmd, "--explained-variance must be in (0, 1], not '%s'", cli_get(a, "--explained-variance"));
  if (got) o->explained_variance = x;
  if ((got = cli_opt_double(a, cmd, "--scaling", 0, &x)) < 0) return CLI_EXIT_USAGE;
  if (got && !(x > 0)) return cli_usage_error(cmd, "--scaling must be > 0, not '%s'", cli_get(a, "--scaling"));
  if (got) o->scaling = x;
  return CLI_EXIT_OK;
}

/* A histogram file: 1-D counts, any of float32/64, int32/64. */
static int load_hist(const char *cmd, const char *spec, const char *role, ieio_info *info, void **data,
                     int64_t *shape, DLTensor *t) {
  char err[1400];
  *data = NULL;
  int r = ieio_open_info(spec, info, err, sizeof err);
  if (r == IEIO_CANNOT_OPEN) return cli_fail(CLI_EXIT_FAIL, cmd, "%s (%s)", err[0] ? err : spec, role);
  if (r != 0) return cli_fail(CLI_EXIT_DATA, cmd, "bad input data (%s): %s", role, err[0] ? err : spec);
  const DLDataType dt = info->dtype;
  const int ok = (dt.code == kDLFloat && (dt.bits == 32 || dt.bits == 64)) ||
                 (dt.code == kDLInt && (dt.bits == 32 || dt.bits == 64));
  if (!ok)
    return cli_fail(CLI_EXIT_DATA, cmd, "bad input data: %s (%s) must be float32, float64, int32 or int64, not %s",
                    spec, role, cli_dtype_name(dt));
  if (info->ndim != 1 || info->shape[0] < 1)
    return cli_fail(CLI_EXIT_DATA, cmd, "bad input data: %s (%s) must be 1-D counts [k], k >= 1", spec, role);
  if (ieio_read_all(info, data, err, sizeof err) != 0) {
    *data = NULL;
    return cli_fail(CLI_EXIT_DATA, cmd, "bad input data: %s (%s): %s", spec, role, err[0] ? err : "cannot read");
  }
  shape[0] = info->shape[0];
  memset(t, 0, sizeof *t);
  t->data = *data;
  t->device.device_type = kDLCPU;
  t->ndim = 1;
  t->dtype = dt;
  t->shape = shape;
  return CLI_EXIT_OK;
}

/* One line of text output: key, then the values. */
static void text_line(const char *key, const double *v, int n) {
  printf("%-24s", key);
  for (int i = 0; i < n; i++) printf(" %.12g", v[i]);
  printf("\n");
}

static void text_int(const char *key, int64_t v) { printf("%-24s %" PRId64 "\n", key, v); }

/* JSON: a number, or an array of n numbers when `arr`. */
static void cj_nums(cli_json *j, const char *key, const double *v, int n, int arr) {
  if (!arr) {
    cj_num(j, key, v[0]);
    return;
  }
  cj_arr_begin(j, key);
  for (int i = 0; i < n; i++) cj_num(j, NULL, v[i]);
  cj_arr_end(j);
}

static int write_curves(const char *cmd, const char *path, const double *curves, int n_sets, int64_t grid) {
  int64_t shape[3] = {n_sets, grid + 2, 2};
  if (n_sets == 1) return cli_write_values(cmd, path, curves, 2, shape + 1);
  return cli_write_values(cmd, path, curves, 3, shape);
}

static int run_hist(const char *name, const cli_args *a, const cli_common *c, const ie_mauve_options *o) {
  const char *fp = cli_get(a, "--p-hist"), *fq = cli_get(a, "--q-hist");
  if (!fp || !fq) return cli_usage_error(name, "--p-hist and --q-hist go together");
  const char *bad[] = {"--clusters", "--seed", "--seeds", "--redo", "--max-iter", "--explained-variance"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    if (cli_has(a, bad[i])) return cli_usage_error(name, "%s applies to features (--p, --q), not histograms", bad[i]);
  ie_context *ctx = NULL;
  int rc = cli_make_context(c, &ctx);
  if (rc) return rc;
  ieio_info ip, iq;
  void *dp = NULL, *dq = NULL;
  int64_t sp[1], sq[1];
  DLTensor tp, tq;
  double *curve = NULL;
  const int64_t grid = o->grid ? o->grid : 25;
  if ((rc = load_hist(name, fp, "p histogram", &ip, &dp, sp, &tp))) goto done;
  if ((rc = load_hist(name, fq, "q histogram", &iq, &dq, sq, &tq))) goto done;
  if (sp[0] != sq[0]) {
    rc = cli_fail(CLI_EXIT_DATA, name, "bad input data: %s has %" PRId64 " bins, %s %" PRId64, fp, sp[0], fq, sq[0]);
    goto done;
  }
  curve = malloc((size_t)(grid + 2) * 2 * sizeof *curve);
  if (!curve) {
    rc = cli_fail(CLI_EXIT_FAIL, name, "out of memory");
    goto done;
  }
  ie_mauve_scores s;
  ie_status st = ie_mauve_histograms(ctx, &tp, &tq, o, &s, curve);
  if (st != IE_OK) {
    const int code = cli_exit_for_status(st);
    rc = cli_fail(code == CLI_EXIT_FAIL ? CLI_EXIT_FAIL : CLI_EXIT_DATA, name, "%s%s (p: %s, q: %s) [%s]",
                  code == CLI_EXIT_FAIL ? "" : "bad input data: ", ie_errmsg(ctx), fp, fq, ie_status_name(st));
    goto done;
  }
  if (cli_get(a, "--curve") && (rc = write_curves(name, cli_get(a, "--curve"), curve, 1, grid))) goto done;
  if (c->out) {
    int64_t one = 1;
    if ((rc = cli_write_values(name, c->out, &s.mauve, 1, &one))) goto done;
  }
  cli_report r;
  memset(&r, 0, sizeof r);
  rep_num(&r, "mauve", s.mauve);
  rep_num(&r, "frontier_integral", s.frontier_integral);
  rep_num(&r, "mauve_star", s.mauve_star);
  rep_num(&r, "frontier_integral_star", s.frontier_integral_star);
  rep_int(&r, "clusters", sp[0]);
  if (cli_get(a, "--curve")) rep_str(&r, "curve", cli_get(a, "--curve"));
  if (c->out) rep_str(&r, "out", c->out);
  rep_str(&r, "backend", ie_backend_name(ie_context_backend(ctx)));
  rep_str(&r, "device", ie_context_device_name(ctx));
  rc = rep_emit(&r, c->json, name);
done:
  free(curve);
  free(dp);
  free(dq);
  ie_context_destroy(ctx);
  return rc;
}

static int run_mauve(const cli_command *cmd, const cli_args *a, const cli_common *c) {
  const char *name = cmd->name;
  ie_mauve_options o;
  int rc = read_opts(a, name, &o);
  if (rc) return rc;
  if (cli_has(a, "--p-hist") || cli_has(a, "--q-hist")) {
    if (cli_has(a, "--p") || cli_has(a, "--q"))
      return cli_usage_error(name, "give features (--p, --q) or histograms (--p-hist, --q-hist), not both");
    return run_hist(name, a, c, &o);
  }
  const char *fq[MAUVE_MAX_Q];
  const int nq = get_all(a, "--q", fq, MAUVE_MAX_Q);
  const char *fp = cli_get(a, "--p");
  if (!fp || nq < 1) return cli_usage_error(name, "--p F and at least one --q F are required (or --p-hist, --q-hist)");
  if (nq > MAUVE_MAX_Q) return cli_usage_error(name, "at most %d --q sets", MAUVE_MAX_Q);

  ie_context *ctx = NULL;
  cli_input in[1 + MAUVE_MAX_Q];
  memset(in, 0, sizeof in);
  cli_input *ins[1 + MAUVE_MAX_Q];
  ie_mauve_scores sc[MAUVE_MAX_Q];
  double *curves = NULL;
  int64_t *counts = NULL;
  rc = cli_make_context(c, &ctx);
  if (rc) return rc;
  const ie_backend be = ie_context_backend(ctx);
  int64_t total = 0, nq_min = INT64_MAX;
  for (int i = 0; i <= nq; i++) {
    ins[i] = &in[i];
    if ((rc = cli_input_load(name, &in[i], i ? fq[i - 1] : fp, i ? "q" : "p", 2, 2, 0))) goto done;
    if (in[i].shape[0] < 2) {
      rc = cli_fail(CLI_EXIT_DATA, name, "bad input data: %s (%s) has %" PRId64 " row(s); MAUVE needs at least 2",
                    in[i].spec, in[i].role, in[i].shape[0]);
      goto done;
    }
    if (i && in[i].shape[1] != in[0].shape[1]) {
      rc = cli_fail(CLI_EXIT_DATA, name, "bad input data: %s (q) has %" PRId64 " features a row, %s (p) %" PRId64,
                    in[i].spec, in[i].shape[1], fp, in[0].shape[1]);
      goto done;
    }
    if (i && in[i].shape[0] < nq_min) nq_min = in[i].shape[0];
    total += in[i].shape[0];
  }
  const int64_t k = o.clusters ? o.clusters : ie_mauve_default_clusters(in[0].shape[0], nq_min);
  if (k > total) {
    rc = cli_fail(CLI_EXIT_DATA, name, "bad input data: %" PRId64 " clusters for %" PRId64 " rows in all (%s and the q sets)",
                  k, total, fp);
    goto done;
  }
  const int64_t grid = o.grid ? o.grid : 25;
  curves = malloc((size_t)nq * (size_t)(grid + 2) * 2 * sizeof *curves);
  counts = malloc((size_t)(1 + nq) * (size_t)k * sizeof *counts);
  if (!curves || !counts) {
    rc = cli_fail(CLI_EXIT_FAIL, name, "out of memory");
    goto done;
  }
  const DLTensor *qt[MAUVE_MAX_Q];
  for (int i = 0; i < nq; i++) qt[i] = &in[i + 1].t;
  ie_mauve_info info;
  ie_status st;
  int narrowed = 0;
  for (;;) {
    st = ie_mauve(ctx, &in[0].t, qt, nq, &o, sc, &info, counts, curves);
    if (st != IE_BAD_DTYPE || narrowed) break;
    int r = cli_inputs_narrow(name, be, ins, nq + 1);
    if (r < 0) {
      rc = -r;
      goto done;
    }
    if (r == 0) break;
    narrowed = 1;
  }
  if (st == IE_OK && cli_interrupted) st = IE_CANCELLED;
  if (st != IE_OK) {
    rc = cli_lib_fail(name, ctx, st, ins, nq + 1);
    goto done;
  }
  if (cli_get(a, "--curve") && (rc = write_curves(name, cli_get(a, "--curve"), curves, nq, grid))) goto done;
  double v[9][MAUVE_MAX_Q];
  for (int i = 0; i < nq; i++) {
    v[0][i] = sc[i].mauve;
    v[1][i] = sc[i].frontier_integral;
    v[2][i] = sc[i].mauve_star;
    v[3][i] = sc[i].frontier_integral_star;
    v[4][i] = sc[i].mauve_std;
    v[5][i] = sc[i].frontier_integral_std;
    v[6][i] = sc[i].mauve_star_std;
    v[7][i] = sc[i].frontier_integral_star_std;
    v[8][i] = (double)in[i + 1].shape[0];
  }
  if (c->out) {
    int64_t shape[1] = {nq};
    if ((rc = cli_write_values(name, c->out, v[0], 1, shape))) goto done;
  }
  static const char *keys[8] = {"mauve", "frontier_integral", "mauve_star", "frontier_integral_star",
                                "mauve_std", "frontier_integral_std", "mauve_star_std",
                                "frontier_integral_star_std"};
  const int nkeys = o.seeds > 1 ? 8 : 4;
  const int arr = nq > 1;
  if (c->json) {
    cli_json j;
    cj_init(&j);
    cj_obj_begin(&j, NULL);
    for (int t = 0; t < nkeys; t++) cj_nums(&j, keys[t], v[t], nq, arr);
    cj_int(&j, "clusters", info.clusters);
    cj_int(&j, "pca_dims", info.pca_dims);
    cj_num(&j, "explained_variance", info.explained);
    cj_int(&j, "n_p", info.n_p);
    if (arr) {
      cj_arr_begin(&j, "n_q");
      for (int i = 0; i < nq; i++) cj_int(&j, NULL, in[i + 1].shape[0]);
      cj_arr_end(&j);
    } else {
      cj_int(&j, "n_q", in[1].shape[0]);
    }
    cj_int(&j, "d", info.d);
    cj_int(&j, "seed", (int64_t)o.seed);
    cj_int(&j, "seeds", o.seeds ? o.seeds : 1);
    cj_num(&j, "inertia", info.inertia);
    cj_int(&j, "iterations", info.iterations);
    if (cli_get(a, "--curve")) cj_str(&j, "curve", cli_get(a, "--curve"));
    if (c->out) cj_str(&j, "out", c->out);
    cj_str(&j, "backend", ie_backend_name(be));
    cj_str(&j, "device", ie_context_device_name(ctx));
    cj_obj_end(&j);
    if (j.oom) rc = cli_fail(CLI_EXIT_FAIL, name, "out of memory writing the result");
    else printf("%s\n", j.buf);
    cj_free(&j);
  } else {
    /* The same keys as the JSON, in the same order. */
    for (int t = 0; t < nkeys; t++) text_line(keys[t], v[t], nq);
    text_int("clusters", info.clusters);
    text_int("pca_dims", info.pca_dims);
    text_line("explained_variance", &info.explained, 1);
    text_int("n_p", info.n_p);
    printf("%-24s", "n_q");
    for (int i = 0; i < nq; i++) printf(" %" PRId64, in[i + 1].shape[0]);
    printf("\n");
    text_int("d", info.d);
    printf("%-24s %" PRIu64 "\n", "seed", (uint64_t)o.seed);
    text_int("seeds", o.seeds ? o.seeds : 1);
    text_line("inertia", &info.inertia, 1);
    text_int("iterations", info.iterations);
    if (cli_get(a, "--curve")) printf("%-24s %s\n", "curve", cli_get(a, "--curve"));
    if (c->out) printf("%-24s %s\n", "out", c->out);
    printf("%-24s %s\n", "backend", ie_backend_name(be));
    printf("%-24s %s\n", "device", ie_context_device_name(ctx));
  }
  if ((fflush(stdout) != 0 || ferror(stdout)) && rc == 0)
    rc = cli_fail(CLI_EXIT_FAIL, name, "cannot write to standard output");
  if (rc != 0) { /* the result did not reach the caller: its files do not stay (as rep_emit) */
    if (c->out) remove(c->out);
    if (cli_get(a, "--curve")) remove(cli_get(a, "--curve"));
  }
done:
  free(curves);
  free(counts);
  for (int i = 0; i <= nq; i++) cli_input_free(&in[i]);
  ie_context_destroy(ctx);
  return rc;
}

static const cli_opt mauve_opts[] = {
    {"--p", "F", "features of P [n_p, d] (for example human text's embeddings)"},
    {"--q", "F", "features of Q [n_q, d]; give it several times to score several\n"
                 "sets against P, clustered together so their scores compare"},
    {"--clusters", "K", "k-means clusters (default max(2, round(min(n_p, n_q) / 10)))"},
    {"--seed", "S", "the k-means seed (default 0)"},
    {"--seeds", "N", "an ensemble of N clusterings (seeds S .. S+N-1): the scores are\n"
                     "means, and *_std their standard deviations (default 1)"},
    {"--explained-variance", "V", "PCA keeps the fewest components explaining V (default 0.9)"},
    {"--redo", "N", "k-means starts, the lowest inertia kept (default 5)"},
    {"--max-iter", "N", "Lloyd iterations at most (default 500; they stop at a fixed point)"},
    {"--grid", "N", "points of the frontier (default 25)"},
    {"--scaling", "C", "the constant c of exp(-c KL) (default 5)"},
    {"--p-hist", "F", "instead of features: P's histogram (counts [k])"},
    {"--q-hist", "F", "and Q's"},
    {"--curve", "F.npy", "write the frontier points [grid + 2, 2] (several Q: [sets, grid + 2, 2])"},
};

const cli_command cli_cmd_mauve = {
    "mauve",
    "MAUVE: divergence frontier between model and human samples",
    "--p F --q F [--q F ...] [--clusters K] [--seed S] [--seeds N] | --p-hist F --q-hist F",
    "MAUVE (Pillutla et al., NeurIPS 2021; docs/SPEC.md section 8), as mauve-text\n"
    "0.4 computes it from features: rows scaled to unit norm, PCA of all rows\n"
    "keeping 0.9 of the variance, k-means (k-means++ start, 5 starts, Lloyd to a\n"
    "fixed point) of all rows together, the histograms of P's and Q's rows over\n"
    "the clusters, and the area under the divergence frontier\n"
    "(exp(-c KL(q|R)), exp(-c KL(p|R))), R = l p + (1 - l) q.  Also the frontier\n"
    "integral and both on the +1/2 smoothed histograms (mauve_star,\n"
    "frontier_integral_star).  The same seed gives the same clusters.\n"
    "With --p-hist and --q-hist, the frontier of given histograms.\n"
    "Inputs are loaded whole (every row takes part in the PCA and clustering).\n"
    "--out receives the mauve of each Q set ([sets], float64).",
    "mauve, frontier_integral, mauve_star, frontier_integral_star (arrays with\n"
    "several --q), *_std (with --seeds N > 1), clusters, pca_dims,\n"
    "explained_variance, n_p, n_q, d, seed, seeds, inertia, iterations, curve,\n"
    "out, backend, device",
    "infoest mauve --p human.npy --q model.npy\n"
    "infoest mauve --p human.npy --q model_a.npy --q model_b.npy --seeds 5\n"
    "infoest mauve --p-hist p_counts.npy --q-hist q_counts.npy --curve curve.npy",
    mauve_opts,
    (int)(sizeof mauve_opts / sizeof mauve_opts[0]),
    run_mauve,
};
