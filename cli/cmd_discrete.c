/*
 * cmd_discrete.c — `infoest pmi`, `table-mi` and `pid` (docs/SPEC.md §9):
 * discrete information of count tables, counted here from label files
 * (streamed in chunks: any file size), and partial information
 * decomposition of joints or of a Gaussian covariance.
 */
#define _POSIX_C_SOURCE 200809L
#include "cmd.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Open and read a whole tensor of any dtype the library takes; the library
 * checks the values (and names the cell). */
static int load_any(const char *cmd, cli_input *in, const char *spec, const char *role, int min_nd,
                    int max_nd) {
  char err[1400];
  memset(in, 0, sizeof *in);
  in->spec = spec;
  in->role = role;
  int r = ieio_open_info(spec, &in->info, err, sizeof err);
  if (r == IEIO_CANNOT_OPEN) return cli_fail(CLI_EXIT_FAIL, cmd, "%s (%s)", err[0] ? err : spec, role);
  if (r != 0) return cli_fail(CLI_EXIT_DATA, cmd, "bad input data (%s): %s", role, err[0] ? err : spec);
  const ieio_info *fi = &in->info;
  if (!cli_dtype_is_float(fi->dtype) && !cli_dtype_is_int_label(fi->dtype))
    return cli_fail(CLI_EXIT_DATA, cmd, "bad input data: %s (%s) is %s; expected int32, int64 or a float",
                    spec, role, cli_dtype_name(fi->dtype));
  if (fi->ndim < min_nd || fi->ndim > max_nd)
    return cli_fail(CLI_EXIT_DATA, cmd, "bad input data: %s (%s) has %d dimensions; expected %d to %d",
                    spec, role, fi->ndim, min_nd, max_nd);
  for (int d = 0; d < fi->ndim; d++) {
    in->shape[d] = fi->shape[d];
    if (fi->shape[d] == 0)
      return cli_fail(CLI_EXIT_DATA, cmd, "bad input data: %s (%s) is empty (dimension %d is 0)", spec,
                      role, d);
  }
  if (ieio_read_all(fi, &in->data, err, sizeof err) != 0) {
    in->data = NULL;
    return cli_fail(CLI_EXIT_DATA, cmd, "bad input data: %s (%s): %s", spec, role, err);
  }
  ieio_as_dltensor(fi, in->data, in->shape, &in->t);
  return CLI_EXIT_OK;
}

/* ---- Counting from label files (streamed) ------------------------------------------ */

/* Under `mpirun -n R` (docs/SPEC.md section 11) each rank counts its
 * contiguous share of the pairs (cli_mpi_share) and the tables are summed
 * onto rank 0, exactly (64-bit integers), which computes, writes --out and
 * prints the JSON: the same bytes as one process.  The cli_mpi_* calls are
 * collective; a rank that fails returns and meets the others at their next
 * agreement (cli/mpi.c). */

typedef struct {
  int64_t *tab;
  int64_t X, Y;
  int64_t shape[2];
  DLTensor t;
  cli_input holder; /* the table as an input (messages, freeing) */
} table;

static int64_t label_at(const void *p, DLDataType dt, int64_t i) {
  return dt.bits == 32 ? (int64_t)((const int32_t *)p)[i] : ((const int64_t *)p)[i];
}

/* What a library message says is wrong, less its place ("ie_count_pairs:
 * tensor 'x', row 502: label 7 is outside [0, 3)" gives "label 7 is
 * outside [0, 3)"): its row counts within a chunk. */
static const char *what_of(const char *msg, int64_t row) {
  char place[48];
  snprintf(place, sizeof place, "row %lld", (long long)row);
  const char *at = strstr(msg, place), *colon = at ? strstr(at, ": ") : NULL;
  return colon ? colon + 2 : msg;
}

static int count_files(const char *cmd, const cli_args *a, const cli_common *c, ie_context *ctx,
                       const char *fx, const char *fy, table *tb) {
  char err[1400];
  ieio_info ix, iy;
  const char *specs[2] = {fx, fy};
  ieio_info *infos[2] = {&ix, &iy};
  for (int k = 0; k < 2; k++) {
    int r = ieio_open_info(specs[k], infos[k], err, sizeof err);
    if (r == IEIO_CANNOT_OPEN) return cli_fail(CLI_EXIT_FAIL, cmd, "%s", err[0] ? err : specs[k]);
    if (r) return cli_fail(CLI_EXIT_DATA, cmd, "bad input data: %s", err[0] ? err : specs[k]);
    if (!cli_dtype_is_int_label(infos[k]->dtype))
      return cli_fail(CLI_EXIT_DATA, cmd, "bad input data: %s (%s) holds %s; labels are int32 or int64",
                      specs[k], k ? "y" : "x", cli_dtype_name(infos[k]->dtype));
  }
  if (ix.ndim != 1)
    return cli_fail(CLI_EXIT_DATA, cmd, "bad input data: %s (x) must be 1-D [N] labels; it has %d dimensions",
                    fx, ix.ndim);
  if (iy.ndim != 1 && iy.ndim != 2)
    return cli_fail(CLI_EXIT_DATA, cmd, "bad input data: %s (y) must be [N] or [N, k]; it has %d dimensions",
                    fy, iy.ndim);
  const int64_t N = ix.shape[0], K = iy.ndim == 2 ? iy.shape[1] : 1;
  if (iy.shape[0] != N)
    return cli_fail(CLI_EXIT_DATA, cmd, "bad input data: %s (x) holds %" PRId64 " labels but %s (y) has %" PRId64
                    " rows; they must pair up", fx, N, fy, iy.shape[0]);
  int64_t X = 0, Y = 0;
  int gx = cli_opt_int64(a, cmd, "--x-classes", &X), gy = cli_opt_int64(a, cmd, "--y-classes", &Y);
  if (gx < 0 || gy < 0) return CLI_EXIT_USAGE;
  if ((gx && X < 1) || (gy && Y < 1)) return cli_usage_error(cmd, "--x-classes and --y-classes must be >= 1");
  int64_t first, mine; /* this rank's pairs: [first, first + mine) */
  cli_mpi_share(N, &first, &mine);
  const size_t xb = ix.dtype.bits / 8, yb = (size_t)K * (iy.dtype.bits / 8);
  /* Two chunks of both files within the budget: the stream's reader thread
   * fills one while the other is counted (or scanned), so a run on files
   * that are not in the page cache takes about the disk's time, not the
   * disk's plus the count's. */
  int64_t chunk = (int64_t)(c->budget / 2 / (xb + yb));
  int64_t cr = 0;
  int gc = cli_opt_int64(a, cmd, "--chunk-rows", &cr);
  if (gc < 0) return CLI_EXIT_USAGE;
  if (gc && cr < 1) return cli_usage_error(cmd, "--chunk-rows must be >= 1");
  if (gc) chunk = cr;
  if (chunk < 1) chunk = 1;
  if (chunk > mine) chunk = mine > 0 ? mine : 1;
  const ieio_info *srcs[2] = {&ix, &iy};
  const size_t row_bytes[2] = {xb, yb};
  int rc = CLI_EXIT_OK;
  cli_stream *rd = NULL;
  cli_chunk ch;
  int got = 0;
  /* Pass 1 (only without both class counts): the largest labels. */
  if (!gx || !gy) {
    int64_t mx = -1, my = -1;
    if (mine > 0 && stream_open(&rd, ctx, srcs, row_bytes, 2, first, mine, chunk, err, sizeof err))
      rc = cli_fail(CLI_EXIT_FAIL, cmd, "%s", err);
    while (!rc && rd && (got = stream_next(rd, &ch, err, sizeof err)) != 0) {
      if (got < 0) {
        rc = cli_fail(CLI_EXIT_FAIL, cmd, "%s", err);
        break;
      }
      const int64_t r0 = ch.row0, n = ch.nrows;
      const void *bx = ch.data[0], *by = ch.data[1];
      for (int64_t i = 0; i < n; i++) {
        const int64_t v = label_at(bx, ix.dtype, i);
        if (v < 0) {
          rc = cli_fail(CLI_EXIT_DATA, cmd, "bad input data: %s (x), row %" PRId64 ": label %" PRId64
                        " is negative", fx, r0 + i, v);
          break;
        }
        if (v > mx) mx = v;
      }
      for (int64_t i = 0; i < n * K && !rc; i++) {
        const int64_t v = label_at(by, iy.dtype, i);
        if (v < 0) {
          rc = cli_fail(CLI_EXIT_DATA, cmd, "bad input data: %s (y), row %" PRId64 ": label %" PRId64
                        " is negative", fy, r0 + i / K, v);
          break;
        }
        if (v > my) my = v;
      }
      stream_release(rd, &ch);
      if (!rc && cli_interrupted) rc = cli_fail(CLI_EXIT_FAIL, cmd, "interrupted; no output written");
    }
    stream_close(rd);
    rd = NULL;
    int64_t m[2] = {mx, my};
    if ((rc = cli_mpi_agree(rc, 0)) == CLI_EXIT_OK) cli_mpi_max(m, 2); /* the largest of every rank */
    if (!gx) X = m[0] + 1 > 0 ? m[0] + 1 : 1;
    if (!gy) Y = m[1] + 1 > 0 ? m[1] + 1 : 1;
  }
  if (!rc && (X > 0 && (uint64_t)Y > (uint64_t)(INT64_C(1) << 40) / (uint64_t)X))
    rc = cli_fail(CLI_EXIT_DATA, cmd, "bad input data: a table of %" PRId64 " x %" PRId64 " classes is too large", X, Y);
  if (!rc) {
    tb->X = X;
    tb->Y = Y;
    tb->tab = calloc((size_t)(X * Y), sizeof *tb->tab);
    if (!tb->tab) rc = cli_fail(CLI_EXIT_FAIL, cmd, "out of memory for a %" PRId64 " x %" PRId64 " table", X, Y);
  }
  if (!rc && mine > 0 && stream_open(&rd, ctx, srcs, row_bytes, 2, first, mine, chunk, err, sizeof err))
    rc = cli_fail(CLI_EXIT_FAIL, cmd, "%s", err);
  cli_progress pg;
  progress_init(&pg, c->progress && cli_mpi_rank() == 0, mine, "counting");
  while (!rc && rd && (got = stream_next(rd, &ch, err, sizeof err)) != 0) {
    if (got < 0) {
      rc = cli_fail(CLI_EXIT_FAIL, cmd, "%s", err);
      break;
    }
    const int64_t r0 = ch.row0, n = ch.nrows;
    int64_t sx[1] = {n}, sy[2] = {n, K}, st[2] = {X, Y};
    DLTensor tx, ty, tt;
    memset(&tx, 0, sizeof tx);
    tx.data = ch.data[0];
    tx.device.device_type = kDLCPU;
    tx.ndim = 1;
    tx.dtype = ix.dtype;
    tx.shape = sx;
    ty = tx;
    ty.data = ch.data[1];
    ty.ndim = iy.ndim;
    ty.dtype = iy.dtype;
    ty.shape = sy;
    tt = tx;
    tt.data = tb->tab;
    tt.ndim = 2;
    tt.dtype = cli_dt(kDLInt, 64);
    tt.shape = st;
    ie_status s = ie_count_pairs(ctx, &tx, &ty, &tt, NULL);
    stream_release(rd, &ch);
    if (s != IE_OK) {
      /* The library counts rows in this chunk; the file's row is r0 more,
       * and the library's message is given without its own place. */
      const int64_t row = ie_error_row(ctx), col = ie_error_column(ctx);
      const char *who = ie_error_tensor(ctx);
      const int code = cli_exit_for_status(s) == CLI_EXIT_USAGE ? CLI_EXIT_DATA : cli_exit_for_status(s);
      if (row >= 0 && col >= 0)
        rc = cli_fail(code, cmd, "bad input data in %s, row %lld, column %lld: %s [%s]",
                      who && who[0] == 'x' ? fx : fy, (long long)(r0 + row), (long long)col,
                      what_of(ie_errmsg(ctx), row), ie_status_name(s));
      else if (row >= 0)
        rc = cli_fail(code, cmd, "bad input data in %s, row %lld: %s [%s]",
                      who && who[0] == 'x' ? fx : fy, (long long)(r0 + row), what_of(ie_errmsg(ctx), row),
                      ie_status_name(s));
      else
        rc = cli_fail(code, cmd, "bad input data in %s (x), %s (y): %s [%s]", fx, fy,
                      ie_errmsg(ctx), ie_status_name(s));
    }
    progress_update(&pg, r0 - first + n);
    if (!rc && cli_interrupted) rc = cli_fail(CLI_EXIT_FAIL, cmd, "interrupted; no output written");
  }
  progress_end(&pg);
  stream_close(rd);
  /* Every rank's table, summed onto rank 0 (rank 0's is then the whole). */
  if ((rc = cli_mpi_agree(rc, 0)) == CLI_EXIT_OK) cli_mpi_sum_to_root(tb->tab, X * Y);
  if (!rc) {
    tb->shape[0] = X;
    tb->shape[1] = Y;
    memset(&tb->t, 0, sizeof tb->t);
    tb->t.data = tb->tab;
    tb->t.device.device_type = kDLCPU;
    tb->t.ndim = 2;
    tb->t.dtype = cli_dt(kDLInt, 64);
    tb->t.shape = tb->shape;
  }
  return rc;
}

/* The table: --counts F, or counted from --x F --y F. */
static int get_table(const char *cmd, const cli_args *a, const cli_common *c, ie_context *ctx,
                     int max_nd, cli_input *in, table *tb, const DLTensor **t) {
  const char *fc = cli_get(a, "--counts"), *fx = cli_get(a, "--x"), *fy = cli_get(a, "--y");
  if (fc) {
    int rc = load_any(cmd, in, fc, "counts", 2, max_nd);
    *t = &in->t;
    return rc;
  }
  in->spec = NULL;
  int rc = count_files(cmd, a, c, ctx, fx, fy, tb);
  in->spec = fx;
  in->role = "table counted from x and y";
  *t = &tb->t;
  return rc;
}

/* get_table (every rank takes part), then --out's temporary name shared by
 * all ranks.  Returns 1 on rank 0, which holds the whole table and goes on;
 * 0 with *rc set on a failure, or on the other ranks, which only join the
 * final agreement. */
static int table_on_root(const char *cmd, const cli_args *a, const cli_common *c, ie_context *ctx,
                         int max_nd, cli_input *in, table *tb, const DLTensor **t, char *tmp, int *rc) {
  if ((*rc = get_table(cmd, a, c, ctx, max_nd, in, tb, t))) return 0;
  /* (get_table's last collective was the sum, which every rank made.) */
  if (c->out) cli_out_tmp_shared(c->out, tmp);
  if (cli_mpi_rank() != 0) {
    *rc = cli_mpi_agree(CLI_EXIT_OK, 1);
    return 0;
  }
  return 1;
}

static int table_args(const char *cmd, const cli_args *a) {
  const int has_c = cli_has(a, "--counts"), has_x = cli_has(a, "--x"), has_y = cli_has(a, "--y");
  if (has_c && (has_x || has_y)) return cli_usage_error(cmd, "give --counts F, or --x F --y F, not both");
  if (!has_c && !(has_x && has_y)) return cli_usage_error(cmd, "--counts F, or --x F and --y F, is required");
  if (has_c && (cli_has(a, "--x-classes") || cli_has(a, "--y-classes") || cli_has(a, "--chunk-rows")))
    return cli_usage_error(cmd, "--x-classes, --y-classes and --chunk-rows go with --x and --y");
  if (has_c && cli_mpi_size() > 1)
    return cli_usage_error(cmd,
                           "splits the counting of --x/--y labels among MPI ranks; a --counts table is "
                           "one input read whole, so %d ranks have nothing to share: run it without "
                           "mpirun (or with -n 1)",
                           cli_mpi_size());
  return CLI_EXIT_OK;
}

static int read_base(const cli_args *a, const char *cmd, double *scale) {
  double base = 0;
  int got = cli_opt_double(a, cmd, "--base", 0, &base);
  if (got < 0) return CLI_EXIT_USAGE;
  *scale = 1;
  if (got) {
    if (!(base > 1)) return cli_usage_error(cmd, "--base must be > 1 (2: bits), not '%s'", cli_get(a, "--base"));
    *scale = 1 / log(base);
  }
  return CLI_EXIT_OK;
}

/* ---- pmi ----------------------------------------------------------------------------- */

static int run_pmi(const cli_command *cmd, const cli_args *a, const cli_common *c) {
  const char *name = cmd->name;
  int rc = table_args(name, a);
  if (rc) return rc;
  /* The map is the result (docs/SPEC.md section 9: --out F.npy, not
   * optional); the JSON only summarises it. */
  if (!c->out) return cli_usage_error(name, "--out F.npy is required (where the [X, Y] map of --kind goes)");
  ie_pmi_options o;
  memset(&o, 0, sizeof o);
  o.size = sizeof o;
  o.kind = IE_PMI_NORMALIZED;
  const char *kind = cli_get(a, "--kind");
  if (kind) {
    if (!strcmp(kind, "pmi")) o.kind = IE_PMI_PLAIN;
    else if (!strcmp(kind, "npmi")) o.kind = IE_PMI_NORMALIZED;
    else if (!strcmp(kind, "ppmi")) o.kind = IE_PMI_POSITIVE;
    else return cli_usage_error(name, "--kind must be pmi, npmi or ppmi, not '%s'", kind);
  }
  double scale;
  if ((rc = read_base(a, name, &scale))) return rc;
  int got = cli_opt_double(a, name, "--min-count", 0, &o.min_count);
  if (got < 0) return CLI_EXIT_USAGE;
  if (got && !(o.min_count >= 0)) return cli_usage_error(name, "--min-count must be >= 0");
  if ((got = cli_opt_double(a, name, "--smooth", 0, &o.smooth)) < 0) return CLI_EXIT_USAGE;
  if (got && !(o.smooth >= 0)) return cli_usage_error(name, "--smooth must be >= 0");
  ie_context *ctx = NULL;
  if ((rc = cli_make_context(c, &ctx))) return rc;
  cli_input in;
  memset(&in, 0, sizeof in);
  table tb;
  memset(&tb, 0, sizeof tb);
  const DLTensor *t = NULL;
  double *out = NULL;
  ieio_writer *w = NULL;
  char tmp[CLI_TMP_CAP];
  if (!table_on_root(name, a, c, ctx, 2, &in, &tb, &t, tmp, &rc)) goto done;
  const int64_t X = t->shape[0], Y = t->shape[1];
  out = c->out ? malloc((size_t)(X * Y) * sizeof *out) : NULL;
  if (c->out && !out) {
    rc = cli_fail(CLI_EXIT_FAIL, name, "out of memory");
    goto done;
  }
  int64_t oshape[2] = {X, Y};
  DLTensor ot;
  memset(&ot, 0, sizeof ot);
  ot.data = out;
  ot.device.device_type = kDLCPU;
  ot.ndim = 2;
  /* A GPU backend writes float32 (float64 is the CPU's): into the first
   * half of `out`, widened in place below. */
  const int out32 = ie_context_backend(ctx) != IE_BACKEND_CPU;
  ot.dtype = out32 ? cli_dt(kDLFloat, 32) : cli_dt(kDLFloat, 64);
  ot.shape = oshape;
  ie_pmi_result r;
  ie_status s = ie_pmi(ctx, t, out ? &ot : NULL, &o, &r);
  if (s == IE_BAD_DTYPE && in.data && in.t.dtype.code == kDLFloat) { /* float64 on a GPU */
    cli_input *ins[1] = {&in};
    const int nr = cli_inputs_narrow(name, ie_context_backend(ctx), ins, 1);
    if (nr < 0) {
      rc = -nr;
      goto done;
    }
    if (nr > 0) s = ie_pmi(ctx, t, out ? &ot : NULL, &o, &r);
  }
  if (s != IE_OK) {
    cli_input *ins[1] = {&in};
    rc = cli_lib_fail(name, ctx, s, ins, 1);
    goto done;
  }
  if (out && out32) /* backwards: element i's double covers floats 2i, 2i + 1, already read */
    for (int64_t i = X * Y - 1; i >= 0; i--) out[i] = (double)((const float *)out)[i];
  if (out && o.kind != IE_PMI_NORMALIZED && scale != 1)
    for (int64_t i = 0; i < X * Y; i++) out[i] *= scale;
  if (out && (rc = cli_values_stage(name, c->out, tmp, out, 2, oshape, &w))) goto done;
  /* Every rank succeeded: --out into place, then the JSON. */
  if ((rc = cli_mpi_agree(CLI_EXIT_OK, 1))) goto done;
  if (w) {
    rc = cli_values_commit(name, w);
    w = NULL;
    if (rc) goto done;
  }
  cli_report rep;
  memset(&rep, 0, sizeof rep);
  rep_num(&rep, "n", r.n);
  rep_int(&rep, "rows", X);
  rep_int(&rep, "cols", Y);
  rep_num(&rep, "max_npmi", r.max_npmi);
  rep_num(&rep, "min_npmi", r.min_npmi);
  rep_str(&rep, "kind", o.kind == IE_PMI_PLAIN ? "pmi" : o.kind == IE_PMI_POSITIVE ? "ppmi" : "npmi");
  const double sc = o.kind == IE_PMI_NORMALIZED ? 1 : scale;
  rep_num(&rep, "max", r.max * sc);
  rep_num(&rep, "min", r.min * sc);
  if (scale != 1) rep_num(&rep, "base", exp(1 / scale));
  if (c->out) rep_str(&rep, "out", c->out);
  rep_str(&rep, "backend", ie_backend_name(ie_context_backend(ctx)));
  rep_str(&rep, "device", ie_context_device_name(ctx));
  rc = rep_emit(&rep, c->json, name);
done:
  cli_values_abort(w);
  free(out);
  free(tb.tab);
  cli_input_free(&in);
  ie_context_destroy(ctx);
  return rc;
}

#define TABLE_OPTS                                                                           \
  {"--counts", "F", "a count table [X, Y] (int32/int64 or float)"},                          \
  {"--x", "F", "labels x [N] (int32/int64), counted with --y (streamed: any size)"},        \
  {"--y", "F", "labels y [N] or [N, k] (top-k: each of the k pairs with x)"},                \
  {"--x-classes", "N", "classes of x (default: largest label + 1; one more pass)"},         \
  {"--y-classes", "N", "classes of y (likewise)"},                                           \
  {"--chunk-rows", "N", "label rows read a chunk (default: from --memory-budget)"},          \
  {"--base", "B", "logarithm base of the output (2: bits; default e: nats)"}

static const cli_opt pmi_opts[] = {
    TABLE_OPTS,
    {"--kind", "K", "npmi (default), pmi or ppmi: what --out receives"},
    {"--min-count", "N", "pairs counted fewer than N times get nPMI -1 (PMI -inf)"},
    {"--smooth", "K", "add-k smoothing: K is added to every cell"},
};

const cli_command cli_cmd_pmi = {
    "pmi",
    "pointwise mutual information (PMI, nPMI, PPMI) of a count table",
    "(--counts F | --x F --y F) [--kind npmi|pmi|ppmi] [--min-count N] [--smooth K] --out F.npy",
    "PMI = log(p(x,y) / (p(x) p(y))) of every cell of a count table\n"
    "(docs/SPEC.md section 9), from the table itself or counted from paired\n"
    "labels (exact 64-bit counts, streamed in chunks within --memory-budget).\n"
    "nPMI = PMI / -log p(x,y) lies in [-1, 1]: -1 for pairs never counted, 1 where\n"
    "p(x,y) = 1.  --out receives the [X, Y] float64 map of --kind.  A label out of\n"
    "range or a negative count is bad input data (exit 3) naming the row.",
    "n, rows, cols, max_npmi, min_npmi, kind, max, min, base, out, backend, device",
    "infoest pmi --x tokens.npy --y experts.npy --out npmi.npy\n"
    "infoest pmi --counts table.npy --kind ppmi --smooth 1 --out ppmi.npy",
    pmi_opts,
    (int)(sizeof pmi_opts / sizeof pmi_opts[0]),
    run_pmi,
};

/* ---- table-mi --------------------------------------------------------------------- */

static int run_table_mi(const cli_command *cmd, const cli_args *a, const cli_common *c) {
  const char *name = cmd->name;
  int rc = table_args(name, a);
  if (rc) return rc;
  ie_table_mi_options o;
  memset(&o, 0, sizeof o);
  o.size = sizeof o;
  const char *av = cli_get(a, "--average");
  if (av) {
    if (!strcmp(av, "arithmetic")) o.average = IE_AVERAGE_ARITHMETIC;
    else if (!strcmp(av, "geometric")) o.average = IE_AVERAGE_GEOMETRIC;
    else if (!strcmp(av, "min")) o.average = IE_AVERAGE_MIN;
    else if (!strcmp(av, "max")) o.average = IE_AVERAGE_MAX;
    else return cli_usage_error(name, "--average must be arithmetic, geometric, min or max, not '%s'", av);
  }
  o.skip_ami = cli_has(a, "--no-ami");
  double scale;
  if ((rc = read_base(a, name, &scale))) return rc;
  ie_context *ctx = NULL;
  if ((rc = cli_make_context(c, &ctx))) return rc;
  cli_input in;
  memset(&in, 0, sizeof in);
  table tb;
  memset(&tb, 0, sizeof tb);
  const DLTensor *t = NULL;
  ie_table_mi_result *res = NULL;
  double *vals = NULL;
  ieio_writer *w = NULL;
  char tmp[CLI_TMP_CAP];
  if (!table_on_root(name, a, c, ctx, 3, &in, &tb, &t, tmp, &rc)) goto done;
  const int64_t B = t->ndim == 3 ? t->shape[0] : 1;
  res = calloc((size_t)B, sizeof *res);
  vals = calloc((size_t)B * 6, sizeof *vals);
  if (!res || !vals) {
    rc = cli_fail(CLI_EXIT_FAIL, name, "out of memory");
    goto done;
  }
  ie_status s = ie_table_mi(ctx, t, &o, res);
  if (s == IE_BAD_DTYPE && in.data && in.t.dtype.code == kDLFloat) {
    cli_input *ins[1] = {&in};
    const int nr = cli_inputs_narrow(name, ie_context_backend(ctx), ins, 1);
    if (nr < 0) {
      rc = -nr;
      goto done;
    }
    if (nr > 0) s = ie_table_mi(ctx, t, &o, res);
  }
  if (s != IE_OK) {
    cli_input *ins[1] = {&in};
    rc = cli_lib_fail(name, ctx, s, ins, 1);
    goto done;
  }
  double mean[6] = {0, 0, 0, 0, 0, 0};
  for (int64_t b = 0; b < B; b++) {
    const double v[6] = {res[b].mi * scale, res[b].nmi, res[b].ami, res[b].hx * scale, res[b].hy * scale, res[b].n};
    for (int q = 0; q < 6; q++) {
      vals[b * 6 + q] = v[q];
      mean[q] += v[q] / (double)B;
    }
  }
  if (c->out) {
    int64_t oshape[2] = {B, 6};
    if ((rc = cli_values_stage(name, c->out, tmp, vals, 2, oshape, &w))) goto done;
  }
  /* Every rank succeeded: --out into place, then the JSON. */
  if ((rc = cli_mpi_agree(CLI_EXIT_OK, 1))) goto done;
  if (w) {
    rc = cli_values_commit(name, w);
    w = NULL;
    if (rc) goto done;
  }
  cli_report rep;
  memset(&rep, 0, sizeof rep);
  rep_num(&rep, "mi", mean[0]);
  rep_num(&rep, "nmi", mean[1]);
  rep_num(&rep, "ami", mean[2]);
  rep_num(&rep, "hx", mean[3]);
  rep_num(&rep, "hy", mean[4]);
  rep_num(&rep, "n", mean[5]);
  if (B == 1 && !o.skip_ami) rep_num(&rep, "emi", res[0].emi * scale);
  if (t->ndim == 3) rep_int(&rep, "tables", B);
  rep_str(&rep, "average", av ? av : "arithmetic");
  if (scale != 1) rep_num(&rep, "base", exp(1 / scale));
  if (c->out) rep_str(&rep, "out", c->out);
  rep_str(&rep, "backend", ie_backend_name(ie_context_backend(ctx)));
  rep_str(&rep, "device", ie_context_device_name(ctx));
  rc = rep_emit(&rep, c->json, name);
done:
  cli_values_abort(w);
  free(res);
  free(vals);
  free(tb.tab);
  cli_input_free(&in);
  ie_context_destroy(ctx);
  return rc;
}

static const cli_opt table_mi_opts[] = {
    TABLE_OPTS,
    {"--average", "M", "the mean of H(X), H(Y) in NMI and AMI: arithmetic (default),\n"
                       "geometric, min or max"},
    {"--no-ami", NULL, "skip AMI (and E[I]): \"ami\" is nan"},
};

const cli_command cli_cmd_table_mi = {
    "table-mi",
    "MI, NMI and AMI of a contingency table (clusterings, labels)",
    "(--counts F | --x F --y F) [--average arithmetic|geometric|min|max]",
    "Mutual information of a contingency table [X, Y] and its normalised (NMI)\n"
    "and adjusted-for-chance (AMI, exact expected MI of Vinh, Epps and Bailey\n"
    "2010) forms, as scikit-learn's mutual_info_score,\n"
    "normalized_mutual_info_score and adjusted_mutual_info_score (docs/SPEC.md\n"
    "section 9).  A [B, X, Y] input is a batch: the JSON values are means over\n"
    "tables, and --out receives [B, 6] float64 (mi, nmi, ami, hx, hy, n).  With\n"
    "--x/--y the table is counted from the label files, streamed.",
    "mi, nmi, ami, hx, hy, n, emi (one table), tables (batch), average, base, out,\n"
    "backend, device",
    "infoest table-mi --x clusters_a.npy --y clusters_b.npy\n"
    "infoest table-mi --counts tables.npy --average geometric --out scores.npy",
    table_mi_opts,
    (int)(sizeof table_mi_opts / sizeof table_mi_opts[0]),
    run_table_mi,
};

/* ---- pid ------------------------------------------------------------------------------ */

static int parse_sizes(const char *s, int64_t out[3]) {
  char *end = NULL;
  for (int k = 0; k < 3; k++) {
    long long v = strtoll(s, &end, 10);
    if (end == s || v < 1) return -1;
    out[k] = v;
    if (k < 2) {
      if (*end != ',') return -1;
      s = end + 1;
    }
  }
  return *end ? -1 : 0;
}

static int run_pid(const cli_command *cmd, const cli_args *a, const cli_common *c) {
  const char *name = cmd->name;
  const char *fj = cli_get(a, "--joint"), *fc = cli_get(a, "--covariance");
  if (!!fj == !!fc) return cli_usage_error(name, "give --joint F, or --covariance F --sizes a,b,c");
  double scale;
  int rc = read_base(a, name, &scale);
  if (rc) return rc;
  ie_pid_options o;
  memset(&o, 0, sizeof o);
  o.size = sizeof o;
  const char *m = cli_get(a, "--measure");
  int64_t sizes[3] = {0, 0, 0}, samples = 0;
  if (fj) {
    if (cli_has(a, "--sizes") || cli_has(a, "--samples"))
      return cli_usage_error(name, "--sizes and --samples go with --covariance");
    if (m) {
      if (!strcmp(m, "imin")) o.measure = IE_PID_IMIN;
      else if (!strcmp(m, "mmi")) o.measure = IE_PID_MMI;
      else if (!strcmp(m, "broja")) o.measure = IE_PID_BROJA;
      else return cli_usage_error(name, "--measure must be imin, mmi or broja, not '%s'", m);
    }
  } else {
    if (m && strcmp(m, "mmi")) return cli_usage_error(name, "a covariance is decomposed with --measure mmi only");
    const char *sz = cli_get(a, "--sizes");
    if (!sz || parse_sizes(sz, sizes))
      return cli_usage_error(name, "--sizes a,b,c (the block sizes of X1, X2, Y, each >= 1) is required with --covariance");
    int got = cli_opt_int64(a, name, "--samples", &samples);
    if (got < 0) return CLI_EXIT_USAGE;
    if (got && samples < 2) return cli_usage_error(name, "--samples must be >= 2");
  }
  ie_context *ctx = NULL;
  if ((rc = cli_make_context(c, &ctx))) return rc;
  cli_input in;
  memset(&in, 0, sizeof in);
  ie_pid_result *res = NULL;
  double *vals = NULL;
  int64_t B = 1;
  if ((rc = load_any(name, &in, fj ? fj : fc, fj ? "joint" : "covariance", fj ? 3 : 2, fj ? 4 : 2))) goto done;
  if (fj && in.t.ndim == 4) B = in.shape[0];
  res = calloc((size_t)B, sizeof *res);
  vals = calloc((size_t)B * 4, sizeof *vals);
  if (!res || !vals) {
    rc = cli_fail(CLI_EXIT_FAIL, name, "out of memory");
    goto done;
  }
  ie_pid_gaussian_options go = {sizeof go, samples};
  ie_status s = fj ? ie_pid(ctx, &in.t, &o, res, NULL) : ie_pid_gaussian(ctx, &in.t, sizes, &go, res);
  if (s == IE_BAD_DTYPE && in.t.dtype.code == kDLFloat) {
    cli_input *ins[1] = {&in};
    const int nr = cli_inputs_narrow(name, ie_context_backend(ctx), ins, 1);
    if (nr < 0) {
      rc = -nr;
      goto done;
    }
    if (nr > 0) s = fj ? ie_pid(ctx, &in.t, &o, res, NULL) : ie_pid_gaussian(ctx, &in.t, sizes, &go, res);
  }
  if (s != IE_OK) {
    cli_input *ins[1] = {&in};
    rc = cli_lib_fail(name, ctx, s, ins, 1);
    goto done;
  }
  double mean[7] = {0, 0, 0, 0, 0, 0, 0};
  for (int64_t b = 0; b < B; b++) {
    const double v[7] = {res[b].redundancy, res[b].unique1, res[b].unique2, res[b].synergy,
                         res[b].mi1, res[b].mi2, res[b].mi12};
    for (int q = 0; q < 7; q++) {
      if (q < 4) vals[b * 4 + q] = v[q] * scale;
      mean[q] += v[q] * scale / (double)B;
    }
  }
  if (c->out) {
    int64_t oshape[2] = {B, 4};
    if ((rc = cli_write_values(name, c->out, vals, 2, oshape))) goto done;
  }
  cli_report rep;
  memset(&rep, 0, sizeof rep);
  static const char *const keys[7] = {"redundancy", "unique1", "unique2", "synergy", "mi1", "mi2", "mi12"};
  for (int q = 0; q < 7; q++) rep_num(&rep, keys[q], mean[q]);
  rep_str(&rep, "measure", fj ? (o.measure == IE_PID_BROJA ? "broja" : o.measure == IE_PID_MMI ? "mmi" : "imin")
                              : "mmi");
  if (fj) rep_int(&rep, "joints", B);
  else if (samples) rep_int(&rep, "samples", samples);
  if (scale != 1) rep_num(&rep, "base", exp(1 / scale));
  if (c->out) rep_str(&rep, "out", c->out);
  rep_str(&rep, "backend", ie_backend_name(ie_context_backend(ctx)));
  rep_str(&rep, "device", ie_context_device_name(ctx));
  rc = rep_emit(&rep, c->json, name);
done:
  free(res);
  free(vals);
  cli_input_free(&in);
  ie_context_destroy(ctx);
  return rc;
}

static const cli_opt pid_opts[] = {
    {"--joint", "F", "a joint p(s1, s2, t) [S1, S2, T] or a batch [B, S1, S2, T]\n"
                     "(counts or probabilities; each joint divided by its sum)"},
    {"--measure", "M", "imin (Williams-Beer, default), mmi or broja"},
    {"--covariance", "F", "Gaussian MMI: the covariance [d, d] of (X1, X2, Y)"},
    {"--sizes", "a,b,c", "block sizes of X1, X2, Y (with --covariance)"},
    {"--samples", "N", "bias correction for a covariance estimated from N samples"},
    {"--base", "B", "logarithm base of the output (2: bits; default e: nats)"},
};

const cli_command cli_cmd_pid = {
    "pid",
    "partial information decomposition of joints or a Gaussian covariance",
    "--joint F [--measure imin|mmi|broja] | --covariance F --sizes a,b,c [--samples N]",
    "Splits I(S1,S2; T) into redundancy R, unique information U1, U2 and synergy\n"
    "S with I(S1;T) = R + U1, I(S2;T) = R + U2, I(S1,S2;T) = R + U1 + U2 + S\n"
    "(docs/SPEC.md section 9).  BROJA is a convex problem solved to 1e-7 in the\n"
    "objective.  A batch [B, S1, S2, T] gives the means in the JSON and --out\n"
    "[B, 4] float64 (R, U1, U2, S).  --covariance decomposes jointly Gaussian\n"
    "(X1, X2, Y) by MMI from log-determinants.",
    "redundancy, unique1, unique2, synergy, mi1, mi2, mi12, measure, joints,\n"
    "samples, base, out, backend, device",
    "infoest pid --joint xor.npy --measure broja\n"
    "infoest pid --covariance cov.npy --sizes 2,2,1 --samples 500",
    pid_opts,
    (int)(sizeof pid_opts / sizeof pid_opts[0]),
    run_pid,
};
