/*
 * cmd_spectral.c — `infoest vendi` and `infoest matrix-entropy` (docs/SPEC.md §6):
 * spectral measures of a similarity matrix, from samples and a kernel
 * (cosine, rbf) or from a given kernel matrix.  Inputs are loaded whole.
 */
#define _POSIX_C_SOURCE 200809L
#include "cmd.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const char *x, *kmat;  /* exactly one */
  ie_kernel kernel;
  const char *kernel_name;
  double sigma;
  ie_spectral_path path;
  int single_precision;
} spec_in;

static const char *path_name(ie_spectral_path p) {
  return p == IE_SPECTRAL_DUAL ? "dual" : p == IE_SPECTRAL_PRIMAL ? "primal" : "auto";
}

/* --x / --kernel-matrix, --kernel, --sigma, --path, --single-precision.
 * Returns 0 or the exit status of a usage error. */
static int read_kernel_opts(const cli_args *a, const char *cmd, spec_in *s) {
  memset(s, 0, sizeof *s);
  s->x = cli_get(a, "--x");
  s->kmat = cli_get(a, "--kernel-matrix");
  if (s->x && s->kmat) return cli_usage_error(cmd, "give --x or --kernel-matrix, not both");
  if (!s->x && !s->kmat) return cli_usage_error(cmd, "--x F (samples) or --kernel-matrix F is required");
  const char *k = cli_get(a, "--kernel");
  if (s->kmat) {
    if (k) return cli_usage_error(cmd, "--kernel applies to --x; --kernel-matrix is the kernel itself");
    s->kernel = IE_KERNEL_PRECOMPUTED;
    s->kernel_name = "precomputed";
  } else if (!k || !strcmp(k, "cosine")) {
    s->kernel = IE_KERNEL_COSINE;
    s->kernel_name = "cosine";
  } else if (!strcmp(k, "rbf")) {
    s->kernel = IE_KERNEL_RBF;
    s->kernel_name = "rbf";
  } else {
    return cli_usage_error(cmd, "--kernel takes cosine or rbf, not '%s'", k);
  }
  double sigma = 0;
  int got = cli_opt_double(a, cmd, "--sigma", 0, &sigma);
  if (got < 0) return CLI_EXIT_USAGE;
  if (got && s->kernel != IE_KERNEL_RBF) return cli_usage_error(cmd, "--sigma applies to --kernel rbf");
  if (s->kernel == IE_KERNEL_RBF && !got) return cli_usage_error(cmd, "--kernel rbf needs --sigma S");
  if (got && !(sigma > 0)) return cli_usage_error(cmd, "--sigma must be > 0, not '%s'", cli_get(a, "--sigma"));
  s->sigma = sigma;
  const char *p = cli_get(a, "--path");
  s->path = IE_SPECTRAL_AUTO;
  if (p) {
    if (!strcmp(p, "auto")) s->path = IE_SPECTRAL_AUTO;
    else if (!strcmp(p, "primal")) s->path = IE_SPECTRAL_PRIMAL;
    else if (!strcmp(p, "dual")) s->path = IE_SPECTRAL_DUAL;
    else return cli_usage_error(cmd, "--path takes auto, primal or dual, not '%s'", p);
    if (s->path == IE_SPECTRAL_DUAL && s->kernel != IE_KERNEL_COSINE)
      return cli_usage_error(cmd, "--path dual needs --kernel cosine");
  }
  s->single_precision = cli_has(a, "--single-precision");
  return CLI_EXIT_OK;
}

/* Load the samples or the kernel matrix; max_ndim 3 allows a batch of sets. */
static int load_kernel_input(const char *cmd, const spec_in *s, cli_input *in, int max_ndim) {
  int rc;
  if (s->x) return cli_input_load(cmd, in, s->x, "x", 2, max_ndim, CLI_IN_AS_2D);
  rc = cli_input_load(cmd, in, s->kmat, "kernel matrix", 2, max_ndim, 0);
  if (rc) return rc;
  int nd = in->t.ndim;
  if (in->shape[nd - 1] != in->shape[nd - 2])
    return cli_fail(CLI_EXIT_DATA, cmd,
                    "bad input data: %s (kernel matrix) is %" PRId64 " x %" PRId64 "; a kernel matrix is square",
                    s->kmat, in->shape[nd - 2], in->shape[nd - 1]);
  return CLI_EXIT_OK;
}

#define KERNEL_NOTES \
  "Kernels (k(x, x) = 1): cosine x.y / (|x| |y|) (a zero row is bad data);\n" \
  "rbf exp(-|x - y|^2 / (2 sigma^2)); or --kernel-matrix K, symmetric with a unit\n" \
  "diagonal.  The eigenvalues are those of K / n (clamped at 0 against rounding;\n" \
  "max_clamp reports the largest clamp).  With cosine and d < n the d x d dual\n" \
  "matrix is used (path \"dual\"), else the n x n one (\"primal\").\n" \
  "--single-precision takes the eigenvalues in float32 (faster, above all on\n" \
  "GPUs; about 1e-5 relative instead of 1e-6).\n" \
  "Inputs are loaded whole (every sample is needed at once; they are not\n" \
  "row-streamed): memory is the file plus the n x n (or d x d) matrix."

/* ---- vendi ---------------------------------------------------------------------- */

static int run_vendi(const cli_command *cmd, const cli_args *a, const cli_common *c) {
  const char *name = cmd->name;
  spec_in s;
  int rc = read_kernel_opts(a, name, &s);
  if (rc) return rc;
  ie_vendi_options o;
  memset(&o, 0, sizeof o);
  o.size = sizeof o;
  o.kernel = s.kernel;
  o.sigma = s.sigma;
  o.path = s.path;
  o.single_precision = s.single_precision;
  double q = 1;
  int got = cli_opt_double(a, name, "--q", 1, &q);
  if (got < 0) return CLI_EXIT_USAGE;
  if (got && !(q >= 0)) return cli_usage_error(name, "--q must be >= 0 (or inf), not '%s'", cli_get(a, "--q"));
  o.q = q;
  o.has_q = 1;

  ie_context *ctx = NULL;
  cli_input in;
  memset(&in, 0, sizeof in);
  double *scores = NULL;
  rc = cli_make_context(c, &ctx);
  if (rc) return rc;
  ie_backend be = ie_context_backend(ctx);
  rc = load_kernel_input(name, &s, &in, 3);
  if (rc) goto done;

  int batch = in.t.ndim == 3;
  int64_t sets = batch ? in.shape[0] : 1;
  ie_spectral_result res;
  memset(&res, 0, sizeof res);
  scores = calloc((size_t)sets, sizeof(double));
  if (!scores) {
    rc = cli_fail(CLI_EXIT_FAIL, name, "out of memory");
    goto done;
  }
  cli_input *ins[1] = {&in};
  ie_status st;
  int scores_f32 = 0;
  for (int attempt = 0;; attempt++) {
    if (batch) {
      int64_t sshape[1] = {sets};
      DLTensor sc;
      memset(&sc, 0, sizeof sc);
      sc.data = scores;
      sc.device.device_type = kDLCPU;
      sc.ndim = 1;
      sc.shape = sshape;
      sc.dtype = cli_dt(kDLFloat, scores_f32 ? 32 : 64);
      st = ie_vendi_batch(ctx, &in.t, &sc, &o, &res);
    } else {
      st = ie_vendi(ctx, &in.t, &o, &res);
    }
    if (st != IE_BAD_DTYPE || attempt > 1) break;
    int r = cli_inputs_narrow(name, be, ins, 1);
    if (r < 0) {
      rc = -r;
      goto done;
    }
    if (r == 0) {
      if (!batch || scores_f32) break;
      scores_f32 = 1; /* a backend that writes float32 scores only */
    }
  }
  if (st == IE_OK && cli_interrupted) st = IE_CANCELLED; /* a signal after the last check */
  if (st != IE_OK) {
    rc = cli_lib_fail(name, ctx, st, ins, 1);
    goto done;
  }
  if (batch && scores_f32) {
    const float *f = (const float *)scores;
    for (int64_t i = sets - 1; i >= 0; i--) {
      float v = f[i];
      scores[i] = v;
    }
  }
  if (!batch) scores[0] = res.value;

  if (c->out) {
    int64_t oshape[1] = {sets};
    rc = cli_write_values(name, c->out, scores, 1, oshape);
    if (rc) goto done;
  }
  cli_report r;
  memset(&r, 0, sizeof r);
  rep_num(&r, "vendi", res.value);
  rep_num(&r, "q", q);
  rep_int(&r, "n", res.n);
  rep_str(&r, "path", path_name(res.path));
  if (s.single_precision) rep_bool(&r, "single_precision", 1);
  if (batch) rep_int(&r, "sets", sets);
  rep_str(&r, "kernel", s.kernel_name);
  if (s.kernel == IE_KERNEL_RBF) rep_num(&r, "sigma", s.sigma);
  rep_int(&r, "positive", res.positive); /* (a batch: the fewest over its sets) */
  rep_num(&r, "max_clamp", res.max_clamp);
  if (c->out) rep_str(&r, "out", c->out);
  rep_str(&r, "backend", ie_backend_name(be));
  rep_str(&r, "device", ie_context_device_name(ctx));
  rc = rep_emit(&r, c->json, name);

done:
  free(scores);
  cli_input_free(&in);
  ie_context_destroy(ctx);
  return rc;
}

static const cli_opt vendi_opts[] = {
    {"--x", "F", "samples [n, d] (or a batch of sets [S, n, d]; [n] is n samples in R^1)"},
    {"--kernel", "K", "cosine (default) or rbf"},
    {"--sigma", "S", "rbf bandwidth, > 0 (required with --kernel rbf)"},
    {"--kernel-matrix", "F", "a given kernel matrix K [n, n] (or [S, n, n]) instead of --x"},
    {"--q", "Q", "the order, >= 0 or inf (default 1: exp of the Shannon entropy)"},
    {"--path", "P", "auto (default), primal (n x n) or dual (d x d; cosine only)"},
    {"--single-precision", NULL, "eigenvalues in float32: faster, about 1e-5 relative"},
};

const cli_command cli_cmd_vendi = {
    "vendi",
    "Vendi score (effective number of distinct samples) of a set",
    "(--x F [--kernel cosine|rbf --sigma S] | --kernel-matrix F) [--q Q]",
    "The Vendi score of order q, exp(H_q(lambda)), lambda the eigenvalues of K / n\n"
    "(docs/SPEC.md section 6): between 1 (all samples alike) and n (all orthogonal).\n"
    "q = 1 (default) uses the Shannon entropy, q = 0 counts the positive\n"
    "eigenvalues, q = inf gives 1 / max lambda.  A 3-D input [S, n, d] is a\n"
    "batch of S sets of n samples: \"vendi\" is then the mean score and --out\n"
    "receives one score a set ([S], float64); with one set, --out gets [1].\n"
    "\"positive\" is the number of eigenvalues kept as > 0 (a batch: the fewest\n"
    "over its sets); \"max_clamp\" the largest negative one clamped to 0.\n"
    "\n" KERNEL_NOTES,
    "vendi, q, n, path, single_precision (when given), sets (batch), kernel,\n"
    "sigma (rbf), positive (batch: the fewest over the sets), max_clamp, out,\n"
    "backend, device",
    "infoest vendi --x embeddings.npy\n"
    "infoest vendi --x embeddings.npy --kernel rbf --sigma 2 --q inf\n"
    "infoest vendi --kernel-matrix K.npy --q 2 --format text\n"
    "infoest vendi --x sets.npy --out scores.npy      # sets.npy is [S, n, d]",
    vendi_opts,
    (int)(sizeof vendi_opts / sizeof vendi_opts[0]),
    run_vendi,
};

/* ---- matrix-entropy --------------------------------------------------------------- */

static int run_matrix_entropy(const cli_command *cmd, const cli_args *a, const cli_common *c) {
  const char *name = cmd->name;
  spec_in s;
  int rc = read_kernel_opts(a, name, &s);
  if (rc) return rc;
  ie_matrix_entropy_options o;
  memset(&o, 0, sizeof o);
  o.size = sizeof o;
  o.kernel = s.kernel;
  o.sigma = s.sigma;
  o.path = s.path;
  o.single_precision = s.single_precision;
  double alpha = 1;
  int got = cli_opt_double(a, name, "--alpha", 1, &alpha);
  if (got < 0) return CLI_EXIT_USAGE;
  if (got && !(alpha >= 0))
    return cli_usage_error(name, "--alpha must be >= 0 (or inf), not '%s'", cli_get(a, "--alpha"));
  o.alpha = alpha;
  o.has_alpha = 1;

  ie_context *ctx = NULL;
  cli_input in;
  memset(&in, 0, sizeof in);
  rc = cli_make_context(c, &ctx);
  if (rc) return rc;
  ie_backend be = ie_context_backend(ctx);
  rc = load_kernel_input(name, &s, &in, 2);
  if (rc) goto done;

  cli_input *ins[1] = {&in};
  ie_spectral_result res;
  memset(&res, 0, sizeof res);
  ie_status st = ie_matrix_entropy(ctx, &in.t, &o, &res);
  if (st == IE_BAD_DTYPE) {
    int r = cli_inputs_narrow(name, be, ins, 1);
    if (r < 0) {
      rc = -r;
      goto done;
    }
    if (r > 0) st = ie_matrix_entropy(ctx, &in.t, &o, &res);
  }
  if (st == IE_OK && cli_interrupted) st = IE_CANCELLED; /* a signal after the last check */
  if (st != IE_OK) {
    rc = cli_lib_fail(name, ctx, st, ins, 1);
    goto done;
  }
  if (c->out) {
    int64_t oshape[1] = {1};
    rc = cli_write_values(name, c->out, &res.value, 1, oshape);
    if (rc) goto done;
  }
  cli_report r;
  memset(&r, 0, sizeof r);
  rep_num(&r, "entropy", res.value);
  rep_num(&r, "alpha", alpha);
  rep_int(&r, "n", res.n);
  rep_str(&r, "path", path_name(res.path));
  if (s.single_precision) rep_bool(&r, "single_precision", 1);
  rep_str(&r, "kernel", s.kernel_name);
  if (s.kernel == IE_KERNEL_RBF) rep_num(&r, "sigma", s.sigma);
  rep_int(&r, "positive", res.positive);
  rep_num(&r, "max_clamp", res.max_clamp);
  if (c->out) rep_str(&r, "out", c->out);
  rep_str(&r, "backend", ie_backend_name(be));
  rep_str(&r, "device", ie_context_device_name(ctx));
  rc = rep_emit(&r, c->json, name);

done:
  cli_input_free(&in);
  ie_context_destroy(ctx);
  return rc;
}

static const cli_opt matrix_entropy_opts[] = {
    {"--x", "F", "samples [n, d] ([n] is n samples in R^1)"},
    {"--kernel", "K", "cosine (default) or rbf"},
    {"--sigma", "S", "rbf bandwidth, > 0 (required with --kernel rbf)"},
    {"--kernel-matrix", "F", "a given kernel matrix K [n, n] instead of --x"},
    {"--alpha", "A", "the order, >= 0 or inf (default 1: von Neumann)"},
    {"--path", "P", "auto (default), primal (n x n) or dual (d x d; cosine only)"},
    {"--single-precision", NULL, "eigenvalues in float32: faster, about 1e-5 relative"},
};

const cli_command cli_cmd_matrix_entropy = {
    "matrix-entropy",
    "matrix-based Renyi entropy of a kernel matrix, in nats",
    "(--x F [--kernel cosine|rbf --sigma S] | --kernel-matrix F) [--alpha A]",
    "The matrix-based Renyi alpha-entropy log(sum lambda^alpha) / (1 - alpha) of\n"
    "A = K / tr K (docs/SPEC.md section 6), in nats; alpha = 1 (default) is the\n"
    "von Neumann entropy -sum lambda log lambda.  --out receives the value as a\n"
    "[1] float64 array.\n"
    "\n" KERNEL_NOTES,
    "entropy, alpha, n, path, single_precision (when given), kernel, sigma (rbf),\n"
    "positive, max_clamp, out, backend, device",
    "infoest matrix-entropy --x features.npy\n"
    "infoest matrix-entropy --x features.npy --kernel rbf --sigma 1.5 --alpha 2\n"
    "infoest matrix-entropy --kernel-matrix K.npy --format text",
    matrix_entropy_opts,
    (int)(sizeof matrix_entropy_opts / sizeof matrix_entropy_opts[0]),
    run_matrix_entropy,
};
