/*
 * cmd_knn.c — `infoest knn-entropy`, `knn-divergence`, `knn-mi` (docs/SPEC.md §5):
 * k-nearest-neighbour estimators from samples in R^d.  Inputs are loaded
 * whole (every point is a candidate neighbour of every other).
 */
#define _POSIX_C_SOURCE 200809L
#include "cmd.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* --k (required), --jitter, --seed. */
static int read_common(const cli_args *a, const char *cmd, ie_knn_estimator_options *o) {
  memset(o, 0, sizeof *o);
  o->size = sizeof *o;
  int64_t k;
  int got = cli_opt_int64(a, cmd, "--k", &k);
  if (got < 0) return CLI_EXIT_USAGE;
  if (!got) return cli_usage_error(cmd, "--k K (the number of neighbours, >= 1) is required");
  if (k < 1) return cli_usage_error(cmd, "--k must be >= 1, not '%s'", cli_get(a, "--k"));
  o->k = k;
  double j = 0;
  if ((got = cli_opt_double(a, cmd, "--jitter", 0, &j)) < 0) return CLI_EXIT_USAGE;
  if (got && !(j > 0)) return cli_usage_error(cmd, "--jitter must be > 0, not '%s'", cli_get(a, "--jitter"));
  o->jitter = j;
  int64_t seed = 0;
  if ((got = cli_opt_int64(a, cmd, "--seed", &seed)) < 0) return CLI_EXIT_USAGE;
  if (got && !o->jitter) return cli_usage_error(cmd, "--seed goes with --jitter");
  o->seed = (uint64_t)seed;
  return CLI_EXIT_OK;
}

/* k against the number of points: k < rows of `in`. */
static int check_k(const char *cmd, int64_t k, const cli_input *in) {
  if (k >= in->shape[0])
    return cli_usage_error(cmd, "--k %" PRId64 " needs more than k points; %s (%s) holds %" PRId64,
                           k, in->spec, in->role, in->shape[0]);
  return CLI_EXIT_OK;
}

typedef ie_status (*knn_call)(ie_context *ctx, const void *arg, cli_input *x, cli_input *y,
                              const ie_knn_estimator_options *o, ie_knn_result *res);

typedef struct {
  ie_knn_divergence_method method;
} div_arg;

static ie_status call_entropy(ie_context *ctx, const void *arg, cli_input *x, cli_input *y,
                              const ie_knn_estimator_options *o, ie_knn_result *res) {
  (void)arg;
  (void)y;
  return ie_knn_entropy(ctx, &x->t, o, res);
}

static ie_status call_divergence(ie_context *ctx, const void *arg, cli_input *x, cli_input *y,
                                 const ie_knn_estimator_options *o, ie_knn_result *res) {
  const div_arg *d = arg;
  return ie_knn_divergence(ctx, d->method, &x->t, &y->t, o, res);
}

static ie_status call_mi(ie_context *ctx, const void *arg, cli_input *x, cli_input *y,
                         const ie_knn_estimator_options *o, ie_knn_result *res) {
  (void)arg;
  return ie_knn_mutual_information(ctx, &x->t, &y->t, o, res);
}

/* Load, call (narrowing float64 for a backend without it), write --out,
 * report: the keys of docs/SPEC.md §7, then `keys` (NULL: none). */
typedef struct {
  const char *kind;
  int has_alpha;
  double alpha;
  const char *nnr_kind;
} knn_keys;

static int knn_run(const cli_command *cmd, const cli_common *c, const char *fx, const char *fy,
                   knn_call call, const void *arg, const ie_knn_estimator_options *o,
                   const knn_keys *keys) {
  const char *name = cmd->name;
  ie_context *ctx = NULL;
  cli_input x, y;
  memset(&x, 0, sizeof x);
  memset(&y, 0, sizeof y);
  int rc = cli_make_context(c, &ctx);
  if (rc) return rc;
  ie_backend be = ie_context_backend(ctx);
  cli_input *ins[2] = {&x, fy ? &y : NULL};
  int is_mi = call == call_mi;
  if ((rc = cli_input_load(name, &x, fx, "x", 2, 2, CLI_IN_AS_2D))) goto done;
  if (fy && (rc = cli_input_load(name, &y, fy, "y", 2, 2, CLI_IN_AS_2D))) goto done;
  if ((rc = check_k(name, o->k, &x))) goto done;
  if (fy && !is_mi && (rc = check_k(name, o->k, &y))) goto done;
  if (fy && !is_mi && x.shape[1] != y.shape[1]) {
    rc = cli_fail(CLI_EXIT_DATA, name,
                  "bad input data: %s (x) has %" PRId64 " columns but %s (y) has %" PRId64
                  "; samples of both must lie in the same R^d",
                  fx, x.shape[1], fy, y.shape[1]);
    goto done;
  }
  if (is_mi && x.shape[0] != y.shape[0]) {
    rc = cli_fail(CLI_EXIT_DATA, name,
                  "bad input data: %s (x) holds %" PRId64 " samples but %s (y) holds %" PRId64
                  "; mutual information needs pairs (x_i, y_i)",
                  fx, x.shape[0], fy, y.shape[0]);
    goto done;
  }

  ie_knn_result res;
  memset(&res, 0, sizeof res);
  ie_status st = call(ctx, arg, &x, &y, o, &res);
  if (st == IE_BAD_DTYPE) {
    int r = cli_inputs_narrow(name, be, ins, 2);
    if (r < 0) {
      rc = -r;
      goto done;
    }
    if (r > 0) st = call(ctx, arg, &x, &y, o, &res);
  }
  if (st == IE_OK && cli_interrupted) st = IE_CANCELLED; /* a signal after the last check */
  if (st != IE_OK) {
    rc = cli_lib_fail(name, ctx, st, ins, 2);
    goto done;
  }
  if (c->out) {
    int64_t oshape[1] = {1};
    rc = cli_write_values(name, c->out, &res.estimate, 1, oshape);
    if (rc) goto done;
  }
  cli_report r;
  memset(&r, 0, sizeof r);
  rep_num(&r, "estimate", res.estimate);
  rep_int(&r, "n", res.n);
  if (fy && !is_mi) rep_int(&r, "m", res.m);
  if (!is_mi) rep_int(&r, "d", res.d);
  rep_int(&r, "k", res.k);
  if (is_mi) {
    rep_int(&r, "dx", x.shape[1]);
    rep_int(&r, "dy", y.shape[1]);
  }
  if (keys && keys->kind) rep_str(&r, "kind", keys->kind);
  if (keys && keys->nnr_kind) rep_str(&r, "nnr_kind", keys->nnr_kind);
  if (keys && keys->has_alpha) rep_num(&r, "alpha", keys->alpha);
  if (o->jitter > 0) {
    rep_num(&r, "jitter", o->jitter);
    rep_int(&r, "seed", (int64_t)o->seed);
  }
  if (c->out) rep_str(&r, "out", c->out);
  rep_str(&r, "backend", ie_backend_name(be));
  rep_str(&r, "device", ie_context_device_name(ctx));
  rc = rep_emit(&r, c->json, name);

done:
  cli_input_free(&x);
  cli_input_free(&y);
  ie_context_destroy(ctx);
  return rc;
}

#define KNN_NOTES \
  "Inputs are loaded whole (every point is a candidate neighbour; they are not\n" \
  "row-streamed); the neighbour search is exact, in tiles.  A duplicate point\n" \
  "(a zero distance the formula takes the log of) is bad input data, unless\n" \
  "--jitter S adds seeded Gaussian noise of S x each column's standard\n" \
  "deviation.  --out receives the estimate as a [1] float64 array.  Estimates\n" \
  "are returned raw: a negative divergence or MI is sampling noise."

/* ---- knn-entropy ------------------------------------------------------------------ */

static int run_knn_entropy(const cli_command *cmd, const cli_args *a, const cli_common *c) {
  const char *name = cmd->name;
  const char *fx = cli_get(a, "--x");
  if (!fx) return cli_usage_error(name, "--x F (the samples) is required");
  ie_knn_estimator_options o;
  int rc = read_common(a, name, &o);
  if (rc) return rc;
  knn_keys keys = {NULL, 0, 0, NULL};
  double alpha;
  int got = cli_opt_double(a, name, "--alpha", 0, &alpha);
  if (got < 0) return CLI_EXIT_USAGE;
  if (got) {
    if (!(alpha > 0 && alpha < (double)o.k + 1))
      return cli_usage_error(name, "--alpha must lie in (0, k + 1) = (0, %" PRId64 "), not '%s'",
                             o.k + 1, cli_get(a, "--alpha"));
    o.alpha = alpha;
    o.has_alpha = 1;
    keys.kind = "renyi";
    keys.has_alpha = 1;
    keys.alpha = alpha;
  } else {
    keys.kind = "shannon";
  }
  return knn_run(cmd, c, fx, NULL, call_entropy, NULL, &o, &keys);
}

static const cli_opt knn_entropy_opts[] = {
    {"--x", "F", "samples [N, d] ([N] is N samples in R^1)"},
    {"--k", "K", "neighbours, 1 <= K < N"},
    {"--alpha", "A", "Renyi entropy of order A in (0, K + 1) (Leonenko-Pronzato-Savani);\n"
                    "default: Shannon (Kozachenko-Leonenko)"},
    {"--jitter", "S", "perturb every point by seeded noise (separates duplicates)"},
    {"--seed", "N", "seed of the jitter (default 0)"},
};

const cli_command cli_cmd_knn_entropy = {
    "knn-entropy",
    "differential entropy of samples, k-NN estimate (Kozachenko-Leonenko), nats",
    "--x F --k K [--alpha A]",
    "Differential entropy of the law of the samples, in nats\n"
    "(docs/SPEC.md section 5):\n"
    "  psi(N) - psi(k) + log V_d + (d/N) sum log rho_k(i)     (Kozachenko-Leonenko)\n"
    "with rho_k(i) the Euclidean distance from x_i to its k-th nearest neighbour;\n"
    "with --alpha, the Renyi entropy of Leonenko, Pronzato and Savani.\n"
    "\n" KNN_NOTES,
    "estimate, n, d, k, kind, alpha, jitter, seed, out, backend, device",
    "infoest knn-entropy --x samples.npy --k 5\n"
    "infoest knn-entropy --x samples.npy --k 10 --alpha 2 --format text",
    knn_entropy_opts,
    (int)(sizeof knn_entropy_opts / sizeof knn_entropy_opts[0]),
    run_knn_entropy,
};

/* ---- knn-divergence ------------------------------------------------------------------ */

static int run_knn_divergence(const cli_command *cmd, const cli_args *a, const cli_common *c) {
  const char *name = cmd->name;
  const char *fx = cli_get(a, "--x"), *fy = cli_get(a, "--y");
  if (!fx || !fy) return cli_usage_error(name, "--x F and --y F (the two samples) are required");
  ie_knn_estimator_options o;
  int rc = read_common(a, name, &o);
  if (rc) return rc;
  const char *kind = cli_get(a, "--kind");
  if (!kind) kind = "kl";
  div_arg arg;
  if (!strcmp(kind, "kl")) arg.method = IE_KNN_DIV_KL;
  else if (!strcmp(kind, "renyi")) arg.method = IE_KNN_DIV_RENYI;
  else if (!strcmp(kind, "nnr")) arg.method = IE_KNN_DIV_NNR;
  else return cli_usage_error(name, "--kind takes kl, renyi or nnr, not '%s'", kind);
  knn_keys keys = {kind, 0, 0, NULL};

  const char *nk = cli_get(a, "--nnr-kind");
  int nnr = IE_DIV_KL;
  if (nk) {
    if (arg.method != IE_KNN_DIV_NNR) return cli_usage_error(name, "--nnr-kind goes with --kind nnr");
    nnr = ie_divergence_parse(nk);
    if (nnr < 0 || nnr == IE_DIV_CROSS_ENTROPY || nnr == IE_DIV_CAUCHY_SCHWARZ)
      return cli_usage_error(name, "--nnr-kind takes kl, reverse-kl, jeffreys, js, tv, hellinger,\n"
                                   "bhattacharyya, chi2, alpha, renyi or tsallis, not '%s'", nk);
  }
  o.nnr_kind = (ie_divergence_kind)nnr;
  if (arg.method == IE_KNN_DIV_NNR) keys.nnr_kind = ie_divergence_name(o.nnr_kind);

  int wants_alpha = arg.method == IE_KNN_DIV_RENYI ||
                    (arg.method == IE_KNN_DIV_NNR &&
                     (nnr == IE_DIV_RENYI || nnr == IE_DIV_ALPHA || nnr == IE_DIV_TSALLIS));
  double alpha = 0;
  int got = cli_opt_double(a, name, "--alpha", 0, &alpha);
  if (got < 0) return CLI_EXIT_USAGE;
  if (got && !wants_alpha)
    return cli_usage_error(name, "--alpha goes with --kind renyi, or --kind nnr with --nnr-kind renyi, alpha or tsallis");
  if (!got && wants_alpha) return cli_usage_error(name, "this --kind needs --alpha A");
  if (got) {
    if (arg.method == IE_KNN_DIV_RENYI && !(alpha > 0 && (double)o.k > fabs(alpha - 1)))
      return cli_usage_error(name, "--kind renyi needs alpha > 0 and k > |alpha - 1| (k = %" PRId64 "), not alpha '%s'",
                             o.k, cli_get(a, "--alpha"));
    if (arg.method == IE_KNN_DIV_NNR && nnr == IE_DIV_RENYI && !(alpha > 0 && alpha != 1))
      return cli_usage_error(name, "--nnr-kind renyi needs alpha > 0, alpha != 1, not '%s'", cli_get(a, "--alpha"));
    o.alpha = alpha;
    o.has_alpha = 1;
    keys.has_alpha = 1;
    keys.alpha = alpha;
  }
  double beta = 0;
  if ((got = cli_opt_double(a, name, "--beta", 0, &beta)) < 0) return CLI_EXIT_USAGE;
  if (got) {
    if (!(arg.method == IE_KNN_DIV_NNR && nnr == IE_DIV_JS))
      return cli_usage_error(name, "--beta goes with --kind nnr --nnr-kind js");
    if (!(beta > 0 && beta < 1))
      return cli_usage_error(name, "--beta must lie in (0, 1), not '%s'", cli_get(a, "--beta"));
    o.beta = beta;
  }
  return knn_run(cmd, c, fx, fy, call_divergence, &arg, &o, &keys);
}

static const cli_opt knn_divergence_opts[] = {
    {"--x", "F", "samples of P [N, d] ([N] is N samples in R^1)"},
    {"--y", "F", "samples of Q [M, d]"},
    {"--k", "K", "neighbours, 1 <= K < N and K < M"},
    {"--kind", "K", "kl (default; Wang-Kulkarni-Verdu), renyi (Poczos-Schneider) or\n"
                    "nnr (Noshad-Moon-Sekeh-Hero nearest-neighbour ratio)"},
    {"--alpha", "A", "order for renyi (k > |A - 1|), and nnr renyi / alpha / tsallis"},
    {"--nnr-kind", "D", "with --kind nnr: the divergence made of the ratio estimates\n"
                        "(kl default; reverse-kl, jeffreys, js, tv, hellinger,\n"
                        "bhattacharyya, chi2, alpha, renyi, tsallis)"},
    {"--beta", "B", "js weight in (0, 1) for --nnr-kind js (default 0.5)"},
    {"--jitter", "S", "perturb every point by seeded noise (separates duplicates)"},
    {"--seed", "N", "seed of the jitter (default 0)"},
};

const cli_command cli_cmd_knn_divergence = {
    "knn-divergence",
    "divergence D(P || Q) between two samples, k-NN estimate, nats",
    "--x F --y F --k K [--kind kl|renyi|nnr --alpha A]",
    "Divergence of the law P of the samples x from the law Q of the samples y,\n"
    "in nats (docs/SPEC.md section 5):\n"
    "  kl     (d/N) sum log(nu_k(i) / rho_k(i)) + log(M / (N - 1))\n"
    "  renyi  Poczos-Schneider estimate of order alpha\n"
    "  nnr    from the ratio estimates r_i = (M/N) N_i / (M_i + 1) at each y_i\n"
    "rho_k(i): distance from x_i to its k-th neighbour among x; nu_k(i): among y.\n"
    "\n" KNN_NOTES,
    "estimate, n, m, d, k, kind, nnr_kind, alpha, jitter, seed, out, backend, device",
    "infoest knn-divergence --x p_samples.npy --y q_samples.npy --k 5\n"
    "infoest knn-divergence --x p.npy --y q.npy --k 10 --kind renyi --alpha 0.5\n"
    "infoest knn-divergence --x p.npy --y q.npy --k 10 --kind nnr --nnr-kind tv",
    knn_divergence_opts,
    (int)(sizeof knn_divergence_opts / sizeof knn_divergence_opts[0]),
    run_knn_divergence,
};

/* ---- knn-mi -------------------------------------------------------------------------- */

static int run_knn_mi(const cli_command *cmd, const cli_args *a, const cli_common *c) {
  const char *name = cmd->name;
  const char *fx = cli_get(a, "--x"), *fy = cli_get(a, "--y");
  if (!fx || !fy) return cli_usage_error(name, "--x F and --y F (paired samples) are required");
  ie_knn_estimator_options o;
  int rc = read_common(a, name, &o);
  if (rc) return rc;
  return knn_run(cmd, c, fx, fy, call_mi, NULL, &o, NULL);
}

static const cli_opt knn_mi_opts[] = {
    {"--x", "F", "samples x [N, dx] ([N] is N samples in R^1)"},
    {"--y", "F", "the paired samples y [N, dy] (row i goes with row i of x)"},
    {"--k", "K", "neighbours in the joint space, 1 <= K < N"},
    {"--jitter", "S", "perturb every point by seeded noise (separates duplicates)"},
    {"--seed", "N", "seed of the jitter (default 0)"},
};

const cli_command cli_cmd_knn_mi = {
    "knn-mi",
    "mutual information I(X; Y) of paired samples, k-NN estimate (KSG), nats",
    "--x F --y F --k K",
    "Mutual information of the paired samples (x_i, y_i), in nats\n"
    "(docs/SPEC.md section 5), the first Kraskov-Stoegbauer-Grassberger estimator:\n"
    "  psi(k) + psi(N) - (1/N) sum [psi(n_x(i) + 1) + psi(n_y(i) + 1)]\n"
    "with max-norm distances in the joint space.\n"
    "\n" KNN_NOTES,
    "estimate, n, k, dx, dy, jitter, seed, out, backend, device",
    "infoest knn-mi --x x.npy --y y.npy --k 3\n"
    "infoest knn-mi --x data.safetensors:x --y data.safetensors:y --k 5 --format text",
    knn_mi_opts,
    (int)(sizeof knn_mi_opts / sizeof knn_mi_opts[0]),
    run_knn_mi,
};
