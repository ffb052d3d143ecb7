/*
 * cmd_sinkhorn.c — `infoest sinkhorn` (docs/SPEC.md §4): entropic optimal transport
 * between histograms a and b with a given cost or one built from point
 * clouds, for one problem or a batch of problems of one shape.  Inputs are
 * loaded whole.
 */
#define _POSIX_C_SOURCE 200809L
#include "cmd.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { S_A, S_B, S_COST, S_X, S_Y, S_CXX, S_CYY, S_N };

static int run_sinkhorn(const cli_command *cmd, const cli_args *a, const cli_common *c) {
  const char *name = cmd->name;
  const char *fa = cli_get(a, "--a"), *fb = cli_get(a, "--b");
  const char *fcost = cli_get(a, "--cost"), *fx = cli_get(a, "--x"), *fy = cli_get(a, "--y");
  const char *fcxx = cli_get(a, "--cost-xx"), *fcyy = cli_get(a, "--cost-yy");
  if (!fa || !fb) return cli_usage_error(name, "--a F and --b F (the histograms) are required");
  if (fcost && (fx || fy)) return cli_usage_error(name, "give --cost F or --x F --y F, not both");
  if (!fcost && !(fx && fy))
    return cli_usage_error(name, "a cost is required: --cost F, or point clouds --x F --y F");

  ie_sinkhorn_options o;
  memset(&o, 0, sizeof o);
  o.size = sizeof o;
  int got = cli_opt_double(a, name, "--epsilon", 0, &o.epsilon);
  if (got < 0) return CLI_EXIT_USAGE;
  if (!got) return cli_usage_error(name, "--epsilon E (the regularisation, > 0) is required");
  if (!(o.epsilon > 0)) return cli_usage_error(name, "--epsilon must be > 0, not '%s'", cli_get(a, "--epsilon"));
  int64_t maxit = 1000;
  if ((got = cli_opt_int64(a, name, "--max-iter", &maxit)) < 0) return CLI_EXIT_USAGE;
  if (got && maxit < 1) return cli_usage_error(name, "--max-iter must be >= 1, not '%s'", cli_get(a, "--max-iter"));
  o.max_iter = maxit;
  double tol = 1e-6;
  if ((got = cli_opt_double(a, name, "--tol", 0, &tol)) < 0) return CLI_EXIT_USAGE;
  if (got && !(tol > 0)) return cli_usage_error(name, "--tol must be > 0, not '%s'", cli_get(a, "--tol"));
  o.tol = tol;
  const char *metric = cli_get(a, "--metric");
  if (metric) {
    if (fcost) return cli_usage_error(name, "--metric applies to point clouds (--x, --y), not --cost");
    if (!strcmp(metric, "sqeuclidean")) o.metric = IE_COST_SQEUCLIDEAN;
    else if (!strcmp(metric, "half-sqeuclidean")) o.metric = IE_COST_HALF_SQEUCLIDEAN;
    else if (!strcmp(metric, "euclidean")) o.metric = IE_COST_EUCLIDEAN;
    else return cli_usage_error(name, "--metric takes sqeuclidean, half-sqeuclidean or euclidean, not '%s'", metric);
  } else {
    metric = fcost ? NULL : "sqeuclidean";
  }
  double rho = 0;
  if ((got = cli_opt_double(a, name, "--rho", 1, &rho)) < 0) return CLI_EXIT_USAGE;
  if (got && !(rho > 0)) return cli_usage_error(name, "--rho must be > 0 (inf: balanced), not '%s'", cli_get(a, "--rho"));
  o.rho = rho;
  o.eps_scaling = cli_has(a, "--eps-scaling");
  o.divergence = cli_has(a, "--divergence");
  if ((fcxx || fcyy) && !(fcost && o.divergence))
    return cli_usage_error(name, "--cost-xx and --cost-yy go with --cost and --divergence");
  if (fcost && o.divergence && !(fcxx && fcyy))
    return cli_usage_error(name, "--divergence with --cost needs --cost-xx F (n x n) and --cost-yy F (m x m)");
  if (cli_has(a, "--memory-budget")) o.memory_budget = c->budget;
  o.single_precision = cli_has(a, "--single-precision");

  ie_context *ctx = NULL;
  cli_input in[S_N];
  cli_input *ins[S_N];
  double *vals = NULL;
  ie_sinkhorn_result *res = NULL;
  memset(in, 0, sizeof in);
  for (int i = 0; i < S_N; i++) ins[i] = NULL;
  int rc = cli_make_context(c, &ctx);
  if (rc) return rc;
  ie_backend be = ie_context_backend(ctx);

  if ((rc = cli_input_load(name, &in[S_A], fa, "a", 1, 2, CLI_IN_NONNEG))) goto done;
  ins[S_A] = &in[S_A];
  if ((rc = cli_input_load(name, &in[S_B], fb, "b", 1, 2, CLI_IN_NONNEG))) goto done;
  ins[S_B] = &in[S_B];
  if (fcost) {
    if ((rc = cli_input_load(name, &in[S_COST], fcost, "cost", 2, 3, 0))) goto done;
    ins[S_COST] = &in[S_COST];
    if (fcxx) {
      if ((rc = cli_input_load(name, &in[S_CXX], fcxx, "cost_xx", 2, 3, 0))) goto done;
      ins[S_CXX] = &in[S_CXX];
      if ((rc = cli_input_load(name, &in[S_CYY], fcyy, "cost_yy", 2, 3, 0))) goto done;
      ins[S_CYY] = &in[S_CYY];
    }
  } else {
    if ((rc = cli_input_load(name, &in[S_X], fx, "x", 2, 3, CLI_IN_AS_2D))) goto done;
    ins[S_X] = &in[S_X];
    if ((rc = cli_input_load(name, &in[S_Y], fy, "y", 2, 3, CLI_IN_AS_2D))) goto done;
    ins[S_Y] = &in[S_Y];
  }

  /* The batch: the largest leading dimension among batched inputs (the
   * library checks that they agree). */
  int64_t B = 1;
  if (in[S_A].t.ndim == 2 && in[S_A].shape[0] > B) B = in[S_A].shape[0];
  if (in[S_B].t.ndim == 2 && in[S_B].shape[0] > B) B = in[S_B].shape[0];
  for (int i = S_COST; i < S_N; i++)
    if (ins[i] && ins[i]->t.ndim == 3 && ins[i]->shape[0] > B) B = ins[i]->shape[0];
  int64_t n = in[S_A].shape[in[S_A].t.ndim - 1], m = in[S_B].shape[in[S_B].t.ndim - 1];

  res = calloc((size_t)B, sizeof *res);
  vals = calloc((size_t)B, sizeof *vals);
  if (!res || !vals) {
    rc = cli_fail(CLI_EXIT_FAIL, name, "out of memory");
    goto done;
  }
  o.cost_xx = ins[S_CXX] ? &in[S_CXX].t : NULL;
  o.cost_yy = ins[S_CYY] ? &in[S_CYY].t : NULL;
  ie_status st;
  for (int attempt = 0;; attempt++) {
    st = ie_sinkhorn(ctx, &in[S_A].t, &in[S_B].t, fcost ? &in[S_COST].t : NULL,
                     fcost ? NULL : &in[S_X].t, fcost ? NULL : &in[S_Y].t, &o, res, NULL,
                     NULL, NULL);
    if (st != IE_BAD_DTYPE || attempt > 0) break;
    int r = cli_inputs_narrow(name, be, ins, S_N);
    if (r < 0) {
      rc = -r;
      goto done;
    }
    if (r == 0) break;
    o.cost_xx = ins[S_CXX] ? &in[S_CXX].t : NULL;
    o.cost_yy = ins[S_CYY] ? &in[S_CYY].t : NULL;
  }
  if (st == IE_OK && cli_interrupted) st = IE_CANCELLED; /* a signal after the last check */
  if (st != IE_OK) {
    rc = cli_lib_fail(name, ctx, st, ins, S_N);
    goto done;
  }

  /* One problem: its values.  A batch: means of the values, the largest
   * marginal error and iteration count, and whether all converged. */
  double tc = 0, obj = 0, dv = 0, merr = 0;
  int64_t iters = 0;
  int64_t nconv = 0;
  for (int64_t i = 0; i < B; i++) {
    tc += res[i].transport_cost;
    obj += res[i].objective;
    dv += res[i].divergence;
    if (!(res[i].marginal_error <= merr)) merr = res[i].marginal_error;
    if (res[i].iterations > iters) iters = res[i].iterations;
    nconv += res[i].converged != 0;
    vals[i] = o.divergence ? res[i].divergence : res[i].transport_cost;
  }
  if (c->out) {
    int64_t oshape[1] = {B};
    rc = cli_write_values(name, c->out, vals, 1, oshape);
    if (rc) goto done;
  }
  cli_report r;
  memset(&r, 0, sizeof r);
  rep_num(&r, "transport_cost", tc / (double)B);
  rep_num(&r, "objective", obj / (double)B);
  rep_int(&r, "iterations", iters);
  rep_num(&r, "marginal_error", merr);
  rep_bool(&r, "converged", nconv == B);
  if (o.divergence) rep_num(&r, "divergence", dv / (double)B);
  rep_int(&r, "problems", B);
  if (B > 1) rep_int(&r, "converged_problems", nconv);
  rep_int(&r, "n", n);
  rep_int(&r, "m", m);
  rep_num(&r, "epsilon", o.epsilon);
  if (metric) rep_str(&r, "metric", metric);
  if (o.rho > 0 && !isinf(o.rho)) rep_num(&r, "rho", o.rho);
  if (o.single_precision) rep_bool(&r, "single_precision", 1);
  if (c->out) rep_str(&r, "out", c->out);
  rep_str(&r, "backend", ie_backend_name(be));
  rep_str(&r, "device", ie_context_device_name(ctx));
  rc = rep_emit(&r, c->json, name);
  if (rc == CLI_EXIT_OK && nconv < B)
    fprintf(stderr, "infoest %s: note: %" PRId64 " of %" PRId64 " problem%s did not converge "
                    "within %" PRId64 " iterations (tol %g); raise --max-iter or --epsilon\n",
            name, B - nconv, B, B == 1 ? "" : "s", maxit, tol);

done:
  free(vals);
  free(res);
  for (int i = 0; i < S_N; i++) cli_input_free(&in[i]);
  ie_context_destroy(ctx);
  return rc;
}

static const cli_opt sinkhorn_opts[] = {
    {"--a", "F", "source weights [n] (or a batch [B, n]), >= 0; renormalised"},
    {"--b", "F", "target weights [m] (or [B, m]), >= 0; renormalised"},
    {"--cost", "F", "cost matrix [n, m] (or [B, n, m])"},
    {"--x", "F", "source points [n, d] (or [B, n, d]), instead of --cost"},
    {"--y", "F", "target points [m, d] (or [B, m, d])"},
    {"--metric", "M", "cost of point clouds: sqeuclidean (default, POT's), half-sqeuclidean\n"
                      "(GeomLoss's) or euclidean"},
    {"--epsilon", "E", "entropic regularisation, > 0, in the cost's units (POT's reg); required"},
    {"--max-iter", "N", "iterations at most (default 1000)"},
    {"--tol", "T", "stop when the marginal error is <= T (default 1e-6)"},
    {"--divergence", NULL, "also the debiased Sinkhorn divergence (three solves)"},
    {"--cost-xx", "F", "with --cost and --divergence: the cost within a, [n, n]"},
    {"--cost-yy", "F", "with --cost and --divergence: the cost within b, [m, m]"},
    {"--rho", "R", "unbalanced transport: marginals relaxed with strength R > 0"},
    {"--eps-scaling", NULL, "start with a large epsilon and shrink it geometrically"},
    {"--single-precision", NULL, "point clouds on a GPU backend: iterate in float32 tiles"},
};

const cli_command cli_cmd_sinkhorn = {
    "sinkhorn",
    "entropic optimal transport between two histograms (Sinkhorn, log domain)",
    "--a F --b F (--cost F | --x F --y F [--metric M]) --epsilon E [--max-iter N] [--tol T]\n"
    "       [--divergence]",
    "Entropic optimal transport (docs/SPEC.md section 4), solved in the log domain:\n"
    "the plan P minimising <P, C> + epsilon KL(P || a x b) with marginals a and b.\n"
    "  transport_cost  <P, C>, what POT's ot.sinkhorn2(a, b, C, epsilon) returns\n"
    "  objective       <P, C> + epsilon KL(P || a x b), the entropic OT value\n"
    "  divergence      (--divergence) OT(a,b) - OT(a,a)/2 - OT(b,b)/2, >= 0\n"
    "  marginal_error  |P1 - a|_1 + |P^T 1 - b|_1; converged: it reached --tol\n"
    "Not converging within --max-iter is reported (\"converged\": false, and a note\n"
    "on stderr), not a failure.  With a batch of B problems the JSON holds the\n"
    "means of transport_cost, objective and divergence, the largest\n"
    "marginal_error and iterations, and converged = all of them converged.\n"
    "--out receives one value a problem ([B] float64): the transport cost, or\n"
    "the divergence with --divergence.\n"
    "Inputs are loaded whole (not row-streamed).  A point-cloud cost is built in\n"
    "tiles when B x n x m x 16 bytes exceed the library's budget (1 GiB, or\n"
    "--memory-budget when given).\n"
    "--single-precision: point clouds on a GPU backend iterate in float32 tiles\n"
    "(faster, above all where double is slow): transport_cost within\n"
    "max(2e-6, 3e-8 r) relative of float64, r = (median cost) / epsilon.  The cpu\n"
    "backend and --cost always run in float64.",
    "transport_cost, objective, iterations, marginal_error, converged, divergence\n"
    "(--divergence), problems, converged_problems (batch), n, m, epsilon, metric,\n"
    "rho, single_precision (when given), out, backend, device",
    "infoest sinkhorn --a a.npy --b b.npy --cost C.npy --epsilon 0.05\n"
    "infoest sinkhorn --a a.npy --b b.npy --x xs.npy --y ys.npy --epsilon 0.1 --divergence\n"
    "infoest sinkhorn --a a.npy --b b.npy --x xs.npy --y ys.npy --metric euclidean --epsilon 0.5 --format text",
    sinkhorn_opts,
    (int)(sizeof sinkhorn_opts / sizeof sinkhorn_opts[0]),
    run_sinkhorn,
};
