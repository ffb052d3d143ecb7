/*
 * cmd_rowwise.c — the commands that work one row at a time: log-softmax,
 * entropy, nll, divergence.
 *
 * All four share one driver: open the inputs (viewed as [rows, V]; leading
 * dimensions are flattened into rows), size a chunk of rows from the memory
 * budget, stream chunks through a reader thread (double buffering) into the
 * library, summarise the per-row values across chunks (sum, min, max, kept
 * rows; in row order, so chunking never changes a bit), and stream per-row
 * values (or the log-softmax matrix) into --out through
 * ieio_writer, which renames its temporary file only on success.
 */
#define _POSIX_C_SOURCE 200809L
#include "cmd.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { OP_LOG_SOFTMAX, OP_ENTROPY, OP_NLL, OP_DIVERGENCE };
enum { SRC_LOGITS, SRC_PROBS, SRC_LABELS };

#define RW_MAX_SRC 2

typedef struct {
  const char *spec; /* as given on the command line */
  const char *role; /* "logits", "probs", "labels", "p", "q" */
  int kind;         /* SRC_* */
  ieio_info info;   /* viewed as [rows, cols] (labels: [rows]) */
  int orig_ndim;
  int64_t orig_shape[IEIO_MAX_NDIM];
  size_t row_bytes;
  int to_f32; /* float64 converted to float32 before the call */
} rw_src;

typedef struct {
  const cli_command *cmd;
  const cli_common *c;
  int op;
  int nsrc;
  rw_src src[RW_MAX_SRC];
  int64_t rows, cols;
  DLDataType out_dtype;
  int out_dtype_given;
  const char *out_dtype_word; /* --out-dtype as given */
  /* the call's options */
  ie_softmax_options so;
  ie_entropy_options eo;
  ie_nll_options no;
  ie_divergence_options dvo;
  ie_divergence_kind dkind;
  /* the partial state of the chunk the library just did (its options point
   * here), merged into this rank's, then all ranks' in rank order */
  ie_partial piece;
  /* for the report */
  const char *kind_name;
  int has_alpha, has_beta;
  double alpha, beta;
} rw_job;

/* ---- Inputs ------------------------------------------------------------------- */

static int open_src(rw_job *j, int i, const char *spec, const char *role,
                    int kind) {
  rw_src *s = &j->src[i];
  char err[1200];
  memset(s, 0, sizeof *s);
  s->spec = spec;
  s->role = role;
  s->kind = kind;
  int r = ieio_open_info(spec, &s->info, err, sizeof err);
  if (r != 0) /* a file that cannot be opened is an I/O failure, not bad data */
    return cli_fail(r == IEIO_CANNOT_OPEN ? CLI_EXIT_FAIL : CLI_EXIT_DATA, j->cmd->name, "%s",
                    err[0] ? err : spec);
  ieio_info *in = &s->info;
  s->orig_ndim = in->ndim;
  for (int d = 0; d < in->ndim && d < IEIO_MAX_NDIM; d++) s->orig_shape[d] = in->shape[d];

  if (kind == SRC_LABELS) {
    if (!cli_dtype_is_int_label(in->dtype))
      return cli_fail(CLI_EXIT_DATA, j->cmd->name,
                      "%s: %s must be int32 or int64, not %s", spec, role,
                      cli_dtype_name(in->dtype));
    int64_t n = 1;
    for (int d = 0; d < in->ndim; d++) n *= in->shape[d];
    in->ndim = 1;
    in->shape[0] = n;
    s->row_bytes = cli_dtype_size(in->dtype);
    return CLI_EXIT_OK;
  }

  if (!cli_dtype_is_float(in->dtype))
    return cli_fail(CLI_EXIT_DATA, j->cmd->name,
                    "%s: %s must be float16, bfloat16, float32 or float64, not %s",
                    spec, role, cli_dtype_name(in->dtype));
  if (in->ndim < 1)
    return cli_fail(CLI_EXIT_DATA, j->cmd->name,
                    "%s: %s is a scalar; expected [B, V] (or one row [V])", spec, role);
  int64_t cols = in->shape[in->ndim - 1];
  int64_t rows = 1;
  for (int d = 0; d < in->ndim - 1; d++) {
    if (in->shape[d] != 0 && rows > INT64_MAX / in->shape[d])
      return cli_fail(CLI_EXIT_DATA, j->cmd->name, "%s: %s has too many rows", spec, role);
    rows *= in->shape[d];
  }
  if (cols <= 0)
    return cli_fail(CLI_EXIT_DATA, j->cmd->name,
                    "%s: %s has rows of length 0 (a distribution needs V >= 1)", spec, role);
  size_t isz = cli_dtype_size(in->dtype);
  if ((uint64_t)cols > SIZE_MAX / 4 / isz)
    return cli_fail(CLI_EXIT_DATA, j->cmd->name, "%s: %s rows are too long", spec, role);
  in->ndim = 2;
  in->shape[0] = rows;
  in->shape[1] = cols;
  s->row_bytes = (size_t)cols * isz;
  return CLI_EXIT_OK;
}

/* The first row of chunk data (rows n) that the library would refuse, and
 * what is wrong with it.  Returns the row, or -1 when none is found. */
static int64_t scan_bad_row(const rw_job *j, const rw_src *s, const void *data,
                            DLDataType dt, int64_t n, char *what, size_t cap) {
  int64_t V = j->cols;
  for (int64_t r = 0; r < n; r++) {
    if (s->kind == SRC_LABELS) {
      double y = cli_load_double(data, dt, r);
      int64_t yi = (int64_t)y;
      if (dt.bits == 64) memcpy(&yi, (const char *)data + 8 * r, 8);
      if (j->no.has_ignore_index && yi == j->no.ignore_index) continue;
      if (yi < 0 || yi >= V) {
        snprintf(what, cap, "label %" PRId64 " is outside [0, %" PRId64 ")%s", yi, V,
                 yi == -100 && !j->no.has_ignore_index
                     ? " (-100 marks ignored positions in PyTorch: add --ignore-index -100)"
                     : "");
        return r;
      }
      continue;
    }
    int support = 0;
    double sum = 0;
    for (int64_t k = 0; k < V; k++) {
      double x = cli_load_double(data, dt, r * V + k);
      if (isnan(x)) {
        snprintf(what, cap, "column %" PRId64 " is NaN", k);
        return r;
      }
      if (s->kind == SRC_LOGITS) {
        if (x == INFINITY) {
          snprintf(what, cap, "column %" PRId64 " is +inf", k);
          return r;
        }
        if (x != -INFINITY) support = 1;
      } else {
        if (isinf(x)) {
          snprintf(what, cap, "column %" PRId64 " is %s", k, x > 0 ? "inf" : "-inf");
          return r;
        }
        if (x < 0) {
          snprintf(what, cap, "column %" PRId64 " is negative (%g)", k, x);
          return r;
        }
        sum += x;
      }
    }
    if (s->kind == SRC_LOGITS && !support) {
      snprintf(what, cap, "every logit is -inf (the row has no support)");
      return r;
    }
    if (s->kind == SRC_PROBS && !(sum > 0)) {
      snprintf(what, cap, "the probabilities sum to zero (the row has no support)");
      return r;
    }
  }
  return -1;
}

/* Row r of source s as an index in the input's own shape: "[2, 12]" for
 * row 612 of [4, 300, V] logits (or of [4, 300] labels); "612" when the
 * input has one dimension of rows. */
static void row_label(const rw_src *s, int64_t r, char *buf, size_t cap) {
  const int lead = s->kind == SRC_LABELS ? s->orig_ndim : s->orig_ndim - 1;
  if (lead < 2) {
    snprintf(buf, cap, "%" PRId64, r);
    return;
  }
  int64_t idx[IEIO_MAX_NDIM];
  for (int d = lead - 1; d >= 0; d--) {
    const int64_t n = s->orig_shape[d];
    idx[d] = n > 0 ? r % n : 0;
    r = n > 0 ? r / n : 0;
  }
  size_t o = 0;
  for (int d = 0; d < lead && o < cap; d++) {
    int k = snprintf(buf + o, cap - o, "%s%" PRId64 "%s", d ? ", " : "[", idx[d], d == lead - 1 ? "]" : "");
    if (k < 0) break;
    o += (size_t)k;
  }
}

static int is_data_status(ie_status st) {
  return st == IE_NONFINITE || st == IE_NEGATIVE || st == IE_EMPTY_ROW || st == IE_BAD_LABEL;
}

static void join_specs(const rw_job *j, char *buf, size_t cap) {
  size_t o = 0;
  buf[0] = '\0';
  for (int i = 0; i < j->nsrc && o < cap; i++) {
    int n = snprintf(buf + o, cap - o, "%s%s (%s)", i ? ", " : "", j->src[i].spec, j->src[i].role);
    if (n < 0) break;
    o += (size_t)n;
  }
}

/* A failed call on chunk `ck`: print the message with the bad row counted in
 * the file.  The library says which input and which row of the chunk
 * (ie_error_tensor, ie_error_row: the input's name in the call is its role
 * here); the row's own scan says what is wrong in the file's terms.  Returns
 * the exit status. */
static int report_failure(const rw_job *j, ie_context *ctx, ie_status st,
                          const cli_chunk *ck, const DLTensor *in) {
  char specs[2400];
  join_specs(j, specs, sizeof specs);
  const char *cmd = j->cmd->name, *msg = ie_errmsg(ctx), *tensor = ie_error_tensor(ctx);
  const int64_t row = ie_error_row(ctx);
  if (is_data_status(st) && tensor && row >= 0 && row < ck->nrows) {
    for (int i = 0; i < j->nsrc; i++) {
      const rw_src *s = &j->src[i];
      if (strcmp(tensor, s->role) != 0) continue;
      const size_t esz = (size_t)(in[i].dtype.bits / 8) * in[i].dtype.lanes;
      const size_t per_row = s->kind == SRC_LABELS ? esz : esz * (size_t)j->cols;
      const char *one = (const char *)in[i].data + (size_t)row * per_row;
      char what[256] = "", at[160];
      if (scan_bad_row(j, s, one, in[i].dtype, 1, what, sizeof what) < 0)
        snprintf(what, sizeof what, "%s", ie_status_string(st));
      row_label(s, ck->row0 + row, at, sizeof at);
      return cli_fail(CLI_EXIT_DATA, cmd, "bad input data: %s (%s), row %s: %s [%s]", s->spec, s->role, at,
                      what, ie_status_name(st));
    }
  }
  int code = cli_exit_for_status(st);
  if (code == CLI_EXIT_DATA)
    return cli_fail(code, cmd, "bad input data in %s: %s [%s]", specs, msg, ie_status_name(st));
  return cli_fail(code, cmd, "%s [%s]", msg, ie_status_name(st));
}

/* float64 → float32 in place (the float32 values land in the first half).
 * Returns the index of the first finite value past float32's range (it
 * became ±inf; *was gets it), or -1. */
static int64_t narrow_f64(void *data, int64_t count, double *was) {
  const double *d = data;
  float *f = data;
  int64_t over = -1;
  for (int64_t i = 0; i < count; i++) {
    double v = d[i];
    f[i] = (float)v;
    if (over < 0 && isinf(f[i]) && isfinite(v)) over = i, *was = v;
  }
  return over;
}

/* A chunk of source s (float64, rows row0 ..) narrowed in place for a
 * backend that takes float64 as float32.  CLI_EXIT_OK, or bad data (exit 3,
 * the progress bar ended first) where a finite value is past float32's
 * range: the value, where it is, and what to do. */
static int narrow_chunk(const rw_job *j, const rw_src *s, void *data, int64_t nrows, int64_t row0,
                        ie_backend be, const char *cmd, cli_progress *pg) {
  double v = 0;
  const int64_t at = narrow_f64(data, nrows * j->cols, &v);
  if (at < 0) return CLI_EXIT_OK;
  progress_end(pg);
  char row[160];
  row_label(s, row0 + at / j->cols, row, sizeof row);
  return cli_fail(CLI_EXIT_DATA, cmd,
                  "bad input data: %s (%s), row %s: column %" PRId64 " is %.17g, past float32's "
                  "range; the %s backend takes float64 as float32: use --backend cpu",
                  s->spec, s->role, row, at % j->cols, v, ie_backend_name(be));
}

/* float32 → float64 in place (backwards, so nothing is overwritten early). */
static void widen_f32(void *data, int64_t count) {
  const float *f = data;
  double *d = data;
  for (int64_t i = count - 1; i >= 0; i--) {
    float v = f[i];
    d[i] = v;
  }
}

static ie_status call_lib(rw_job *j, ie_context *ctx, const DLTensor *in,
                          DLTensor *out, int64_t row0) {
  j->eo.partial = j->no.partial = j->dvo.partial = &j->piece;
  j->eo.first_row = j->no.first_row = j->dvo.first_row = row0;
  switch (j->op) {
    case OP_LOG_SOFTMAX: return ie_log_softmax(ctx, &in[0], out, &j->so);
    case OP_ENTROPY: return ie_entropy(ctx, &in[0], out, &j->eo, NULL);
    case OP_NLL: return ie_nll(ctx, &in[0], &in[1], out, &j->no, NULL);
    default: return ie_divergence(ctx, j->dkind, &in[0], &in[1], out, &j->dvo, NULL);
  }
}

/* ---- The driver ----------------------------------------------------------------- */

/* Rows [first, first + count) of `rows` for rank `me` of R: whole blocks of
 * IE_PARTIAL_BLOCK_ROWS, contiguous, in rank order (the last block may be
 * short; a rank may get none). */
static void rank_rows(int64_t rows, int me, int R, int64_t *first, int64_t *count) {
  const int64_t B = IE_PARTIAL_BLOCK_ROWS, nb = (rows + B - 1) / B;
  const int64_t b0 = nb / R * me + (me < nb % R ? me : nb % R);
  const int64_t b1 = b0 + nb / R + (me < nb % R ? 1 : 0);
  const int64_t r0 = b0 * B < rows ? b0 * B : rows, r1 = b1 * B < rows ? b1 * B : rows;
  *first = r0;
  *count = r1 - r0;
}

/* What rank 0 tells the others about --out. */
typedef struct {
  char tmp[4096];
  uint64_t data_offset;
  DLDataType dtype;
} out_info;

/* The run, on one process or on each of R MPI ranks (the calls named
 * cli_mpi_* are collective; see cli/mpi.c for the failure protocol: a rank
 * that fails returns, and meets the others at their next agreement). */
static int rw_run(rw_job *j) {
  const cli_common *c = j->c;
  const char *cmd = j->cmd->name;
  int rc = CLI_EXIT_OK;
  ie_context *ctx = NULL;
  ieio_writer *w = NULL;
  cli_stream *st = NULL;
  void *outbuf = NULL;
  ie_partial *all = NULL;
  char err[1400];
  const int matrix_out = j->op == OP_LOG_SOFTMAX;
  const int R = cli_mpi_size(), me = cli_mpi_rank();
  int64_t first, count;
  rank_rows(j->rows, me, R, &first, &count);
  ie_partial mine;
  ie_partial_init(&mine, first);

  if (j->op != OP_LOG_SOFTMAX && j->rows == 0)
    return cli_fail(CLI_EXIT_DATA, cmd, "%s (%s) holds no rows: nothing to average",
                    j->src[0].spec, j->src[0].role);

  rc = cli_make_context(c, &ctx);
  if (rc != CLI_EXIT_OK) return rc;
  ie_backend be = ie_context_backend(ctx);

  /* Output type. */
  if (!j->out_dtype_given) {
    if (matrix_out) {
      j->out_dtype = j->src[0].info.dtype;
      /* .npy has no bfloat16; float64 output is the CPU's alone. */
      if (j->out_dtype.code == kDLBfloat ||
          (j->out_dtype.code == kDLFloat && j->out_dtype.bits == 64 && be != IE_BACKEND_CPU))
        j->out_dtype = cli_dt(kDLFloat, 32);
    } else {
      j->out_dtype = cli_dt(kDLFloat, 64);
    }
  }
  /* Output buffer: the matrix (log-softmax), or one double a row (narrowed
   * to float32 for --out-dtype f32). */
  size_t out_row_bytes = matrix_out ? (size_t)j->cols * cli_dtype_size(j->out_dtype) : sizeof(double);
  size_t file_row_bytes = matrix_out ? out_row_bytes : cli_dtype_size(j->out_dtype);

  /* Chunk size: two buffer sets of inputs plus one of outputs within the
   * budget, with the library's own scratch a row of a call (a value and an
   * error code; for nll's --ignore-index a label and a weight too: at most
   * LIB_ROW_BYTES, which rows of a few columns make count); at least one
   * row. */
  enum { LIB_ROW_BYTES = 32 };
  size_t in_row = 0;
  for (int i = 0; i < j->nsrc; i++) in_row += j->src[i].row_bytes;
  size_t per_row = 2 * in_row + out_row_bytes + LIB_ROW_BYTES;
  int64_t chunk = per_row ? (int64_t)(c->budget / per_row) : count;
  if (chunk < 1) chunk = 1;
  if (chunk > count) chunk = count > 0 ? count : 1;
  if (chunk > ((int64_t)1 << 40)) chunk = (int64_t)1 << 40;
  if (c->budget / per_row < 1 && me == 0)
    fprintf(stderr, "infoest %s: note: one row needs %zu bytes, more than the memory budget; "
                    "working one row at a time\n", cmd, per_row);

  outbuf = malloc((size_t)chunk * out_row_bytes);
  if (!outbuf) {
    rc = cli_fail(CLI_EXIT_FAIL, cmd, "out of memory: cannot allocate %zu bytes of output buffer",
                  (size_t)chunk * out_row_bytes);
    goto done;
  }

  /* --out: its temporary name known to every rank before the file exists
   * (cli_out_tmp_shared), then rank 0 makes the file (header and whole
   * shape). */
  char shared_tmp[CLI_TMP_CAP] = "";
  if (c->out && R > 1) {
    if ((rc = cli_mpi_agree(CLI_EXIT_OK, 0)) != CLI_EXIT_OK) goto done;
    cli_out_tmp_shared(c->out, shared_tmp);
  }
  if (c->out && me == 0) {
    int64_t shape[IEIO_MAX_NDIM];
    int ndim;
    const rw_src *s0 = &j->src[0];
    if (matrix_out) {
      ndim = s0->orig_ndim;
      for (int d = 0; d < ndim; d++) shape[d] = s0->orig_shape[d];
    } else if (s0->orig_ndim >= 2) {
      ndim = s0->orig_ndim - 1;
      for (int d = 0; d < ndim; d++) shape[d] = s0->orig_shape[d];
    } else {
      ndim = 1;
      shape[0] = 1;
    }
    err[0] = '\0';
    if (ieio_writer_begin_as(&w, c->out, shared_tmp[0] ? shared_tmp : NULL, j->out_dtype, ndim, shape, err,
                             sizeof err) != 0) {
      w = NULL;
      rc = cli_fail(CLI_EXIT_FAIL, cmd, "%s", err[0] ? err : "cannot create the output file");
      goto done;
    }
    cli_remove_on_signal(ieio_writer_tmp_path(w));
  }
  if ((rc = cli_mpi_agree(CLI_EXIT_OK, 0)) != CLI_EXIT_OK) goto done;

  if (c->out) {
    /* The others write their rows into rank 0's temporary file. */
    if (R > 1) {
      out_info oi;
      memset(&oi, 0, sizeof oi);
      if (me == 0) {
        snprintf(oi.tmp, sizeof oi.tmp, "%s", ieio_writer_tmp_path(w));
        oi.data_offset = ieio_writer_data_offset(w);
        oi.dtype = j->out_dtype;
      }
      cli_mpi_bcast(&oi, (int)sizeof oi);
      if (me != 0) {
        j->out_dtype = oi.dtype; /* rank 0's, whatever this rank's backend */
        file_row_bytes = matrix_out ? (size_t)j->cols * cli_dtype_size(j->out_dtype) : cli_dtype_size(j->out_dtype);
        if (matrix_out && file_row_bytes != out_row_bytes) {
          rc = cli_fail(CLI_EXIT_FAIL, cmd, "the ranks' backends disagree on the output type: give --out-dtype");
          goto done;
        }
        err[0] = '\0';
        if (ieio_writer_join(&w, c->out, oi.tmp, oi.data_offset, err, sizeof err) != 0) {
          w = NULL;
          rc = cli_fail(CLI_EXIT_FAIL, cmd, "%s", err[0] ? err : "cannot open the output file");
          goto done;
        }
        /* Whichever rank outlives the others' deaths removes it. */
        cli_remove_on_signal(oi.tmp);
      }
    }
    ieio_writer_range(w, (uint64_t)first * file_row_bytes, (uint64_t)count * file_row_bytes);
  }

  cli_progress pg;
  progress_init(&pg, c->progress && me == 0, count, cmd);
  if (count > 0) {
    const ieio_info *infos[RW_MAX_SRC];
    size_t rbytes[RW_MAX_SRC];
    for (int i = 0; i < j->nsrc; i++) {
      infos[i] = &j->src[i].info;
      rbytes[i] = j->src[i].row_bytes;
    }
    err[0] = '\0';
    if (stream_open(&st, ctx, infos, rbytes, j->nsrc, first, count, chunk, err, sizeof err) != 0) {
      st = NULL;
      rc = cli_fail(CLI_EXIT_FAIL, cmd, "%s", err);
      goto done;
    }
  }
  int noted_f32 = 0;
  /* Per-row values come back as float64; a backend that will not write
   * float64 gets float32, widened here. */
  int per_row_f32 = 0;

  while (st) {
    if (cli_interrupted) {
      progress_end(&pg);
      rc = cli_fail(CLI_EXIT_FAIL, cmd, "interrupted%s", c->out ? "; no output written" : "");
      goto done;
    }
    cli_chunk ck;
    err[0] = '\0';
    int got = stream_next(st, &ck, err, sizeof err);
    if (got == 0) break;
    if (got < 0) {
      progress_end(&pg);
      rc = cli_fail(CLI_EXIT_DATA, cmd, "%s", err[0] ? err : "cannot read the input");
      goto done;
    }

    DLTensor in[RW_MAX_SRC];
    int64_t shp[RW_MAX_SRC][2];
    for (int i = 0; i < j->nsrc; i++) {
      rw_src *s = &j->src[i];
      memset(&in[i], 0, sizeof in[i]);
      in[i].data = ck.data[i];
      in[i].device.device_type = kDLCPU;
      in[i].device.device_id = 0;
      in[i].dtype = s->info.dtype;
      shp[i][0] = ck.nrows;
      shp[i][1] = j->cols;
      in[i].shape = shp[i];
      in[i].ndim = s->kind == SRC_LABELS ? 1 : 2;
      if (s->to_f32) {
        if ((rc = narrow_chunk(j, s, ck.data[i], ck.nrows, ck.row0, be, cmd, &pg)) != CLI_EXIT_OK) goto done;
        in[i].dtype = cli_dt(kDLFloat, 32);
      }
    }
    DLTensor out;
    int64_t oshp[2] = {ck.nrows, j->cols};
    memset(&out, 0, sizeof out);
    out.data = outbuf;
    out.device.device_type = kDLCPU;
    out.dtype = matrix_out ? j->out_dtype : cli_dt(kDLFloat, per_row_f32 ? 32 : 64);
    out.shape = oshp;
    out.ndim = matrix_out ? 2 : 1;

    ie_status s = call_lib(j, ctx, in, &out, ck.row0);

    if (s == IE_BAD_DTYPE && !matrix_out && !per_row_f32) {
      /* A backend that will not write float64 per-row values. */
      per_row_f32 = 1;
      out.dtype = cli_dt(kDLFloat, 32);
      s = call_lib(j, ctx, in, &out, ck.row0);
    }
    if (s == IE_BAD_DTYPE) {
      /* A backend without float64 inputs: narrow them to float32 and retry. */
      int narrowed = 0;
      for (int i = 0; i < j->nsrc; i++) {
        rw_src *q = &j->src[i];
        if (q->kind != SRC_LABELS && !q->to_f32 && q->info.dtype.code == kDLFloat &&
            q->info.dtype.bits == 64) {
          q->to_f32 = 1;
          if ((rc = narrow_chunk(j, q, ck.data[i], ck.nrows, ck.row0, be, cmd, &pg)) != CLI_EXIT_OK) goto done;
          in[i].dtype = cli_dt(kDLFloat, 32);
          narrowed = 1;
        }
      }
      if (narrowed) {
        if (!noted_f32) {
          fprintf(stderr, "infoest %s: note: the %s backend does not take float64 here; "
                          "inputs are converted to float32\n", cmd, ie_backend_name(be));
          noted_f32 = 1;
        }
        s = call_lib(j, ctx, in, &out, ck.row0);
      }
    }
    if (s == IE_BAD_DTYPE && matrix_out && j->out_dtype_given) {
      /* The input is fine (it would have been narrowed above): the backend
       * cannot write the asked output type.  That is the choice of
       * --out-dtype, a usage problem, not bad input data. */
      const char *t = ie_error_tensor(ctx), *m = ie_errmsg(ctx);
      if ((t && !strcmp(t, "out")) || (!t && m && strstr(m, "tensor 'out'"))) {
        progress_end(&pg);
        rc = cli_usage_error(cmd, "--out-dtype %s: the %s backend cannot write %s output%s; "
                                  "choose another --out-dtype (f32) or --backend cpu",
                             j->out_dtype_word, ie_backend_name(be),
                             cli_dtype_name(j->out_dtype),
                             j->out_dtype.bits == 64 ? " (float64 is the cpu's alone)" : "");
        goto done;
      }
    }
    if (s != IE_OK) {
      progress_end(&pg);
      rc = report_failure(j, ctx, s, &ck, in);
      goto done;
    }

    if (!matrix_out) {
      if (per_row_f32) widen_f32(outbuf, ck.nrows);
      if (ie_partial_merge(ctx, &mine, &j->piece) != IE_OK) {
        progress_end(&pg);
        rc = cli_fail(CLI_EXIT_FAIL, cmd, "internal error: %s", ie_errmsg(ctx));
        goto done;
      }
      if (w && j->out_dtype.bits == 32) {
        double was; /* (an output past float32's range is +inf in an f32 file: --out-dtype's choice) */
        (void)narrow_f64(outbuf, ck.nrows, &was);
      }
    }
    if (w) {
      err[0] = '\0';
      if (ieio_writer_append(w, outbuf, (size_t)ck.nrows * file_row_bytes, err, sizeof err) != 0) {
        progress_end(&pg);
        rc = cli_fail(CLI_EXIT_FAIL, cmd, "%s", err[0] ? err : "cannot write the output");
        goto done;
      }
    }
    stream_release(st, &ck);
    progress_update(&pg, ck.row0 - first + ck.nrows);
  }
  progress_end(&pg);
  if (w) {
    err[0] = '\0';
    if (ieio_writer_close(w, err, sizeof err) != 0) {
      rc = cli_fail(CLI_EXIT_FAIL, cmd, "%s", err[0] ? err : "cannot finish the output file");
      goto done;
    }
  }
  if ((rc = cli_mpi_agree(CLI_EXIT_OK, 0)) != CLI_EXIT_OK) goto done;

  /* Every rank's partial state, merged in rank order: the summary of the
   * whole, the same bits whatever R (include/infoest.h, "Partial states"). */
  ie_summary sm;
  memset(&sm, 0, sizeof sm);
  if (!matrix_out) {
    all = malloc((size_t)R * sizeof *all);
    if (!all) {
      rc = cli_fail(CLI_EXIT_FAIL, cmd, "out of memory");
      goto done;
    }
    cli_mpi_allgather(&mine, all, (int)sizeof mine);
    ie_status ms = IE_OK;
    for (int r = 1; r < R && ms == IE_OK; r++) ms = ie_partial_merge(ctx, &all[0], &all[r]);
    if (ms != IE_OK) {
      rc = cli_fail(CLI_EXIT_FAIL, cmd, "internal error: %s", ie_errmsg(ctx));
      goto done;
    }
    if (all[0].rows_kept == 0) {
      rc = cli_fail(CLI_EXIT_DATA, cmd,
                    j->op == OP_NLL ? "%s: every label equals the ignore index: the mean is over zero rows"
                                    : "%s: no rows kept: the mean is over zero rows",
                    j->op == OP_NLL ? j->src[1].spec : j->src[0].spec);
      goto done;
    }
    ie_status fs = ie_partial_finalize(ctx, &all[0], &sm);
    if (fs != IE_OK) {
      rc = cli_fail(CLI_EXIT_FAIL, cmd, "internal error: %s", ie_errmsg(ctx));
      goto done;
    }
  }
  if ((rc = cli_mpi_agree(CLI_EXIT_OK, 1)) != CLI_EXIT_OK) goto done;

  /* Every rank succeeded: rank 0 renames the file into place and reports. */
  if (me != 0) goto done;
  if (w && cli_interrupted) { /* the handler may have removed the file already */
    rc = cli_fail(CLI_EXIT_FAIL, cmd, "interrupted; no output written");
    goto done;
  }
  if (w) {
    err[0] = '\0';
    int wr = ieio_writer_commit(w, err, sizeof err);
    w = NULL;
    cli_remove_on_signal(NULL);
    if (wr != 0) {
      rc = cli_fail(CLI_EXIT_FAIL, cmd, "%s", err[0] ? err : "cannot finish the output file");
      goto done;
    }
  }

  cli_report r;
  memset(&r, 0, sizeof r);
  if (j->kind_name) rep_str(&r, "kind", j->kind_name);
  if (j->has_alpha) rep_num(&r, "alpha", j->alpha);
  if (j->has_beta) rep_num(&r, "beta", j->beta);
  rep_int(&r, "rows", j->rows);
  if (j->op == OP_LOG_SOFTMAX) {
    rep_int(&r, "cols", j->cols);
  } else {
    if (j->op == OP_NLL && j->no.has_ignore_index) rep_int(&r, "ignored", j->rows - sm.rows_kept);
    rep_num(&r, "mean", sm.mean);
    rep_num(&r, "sum", sm.sum);
    if (j->op == OP_NLL) {
      rep_num(&r, "perplexity", exp(sm.mean));
    } else {
      rep_num(&r, "min", sm.min);
      rep_num(&r, "max", sm.max);
    }
  }
  if (c->out) {
    rep_str(&r, "out", c->out);
    rep_str(&r, "out_dtype", cli_dtype_name(j->out_dtype));
  }
  rep_str(&r, "backend", ie_backend_name(be));
  rep_str(&r, "device", ie_context_device_name(ctx));
  rc = rep_emit(&r, c->json, cmd);

done:
  /* rank 0's writer removes the temporary file; the others' only close */
  if (w) ieio_writer_abort(w);
  cli_remove_on_signal(NULL);
  stream_close(st);
  free(outbuf);
  free(all);
  ie_context_destroy(ctx);
  return rc;
}

/* ---- Option helpers shared by the four commands ---------------------------------- */

static int read_temperature(const cli_args *a, const char *cmd, double *t) {
  *t = 0; /* the library's "1" */
  double v;
  int got = cli_opt_double(a, cmd, "--temperature", 0, &v);
  if (got < 0) return -1;
  if (got == 0) return 0;
  if (!(v > 0)) {
    cli_usage_error(cmd, "--temperature must be > 0, not '%s'", cli_get(a, "--temperature"));
    return -1;
  }
  *t = v;
  return 0;
}

static int read_out_dtype(rw_job *j, const cli_args *a, int matrix) {
  const char *v = cli_get(a, "--out-dtype");
  if (!v) return 0;
  if (!j->c->out) {
    cli_usage_error(j->cmd->name, "--out-dtype needs --out");
    return -1;
  }
  if (cli_dtype_parse(v, &j->out_dtype) != 0 || j->out_dtype.code == kDLBfloat ||
      (!matrix && j->out_dtype.bits != 32 && j->out_dtype.bits != 64) ||
      (!matrix && j->out_dtype.code != kDLFloat)) {
    cli_usage_error(j->cmd->name, "--out-dtype takes %s, not '%s'",
                    matrix ? "f16, f32 or f64 (.npy has no bfloat16)" : "f32 or f64", v);
    return -1;
  }
  j->out_dtype_given = 1;
  j->out_dtype_word = v;
  return 0;
}

static int parse_input_kind(const char *cmd, const char *opt, const char *v,
                            ie_input_kind *k) {
  if (!strcmp(v, "logits")) *k = IE_INPUT_LOGITS;
  else if (!strcmp(v, "probs")) *k = IE_INPUT_PROBS;
  else return cli_usage_error(cmd, "%s takes logits or probs, not '%s'", opt, v);
  return 0;
}

static void job_init(rw_job *j, const cli_command *cmd, const cli_common *c, int op) {
  memset(j, 0, sizeof *j);
  j->cmd = cmd;
  j->c = c;
  j->op = op;
}

/* ---- log-softmax --------------------------------------------------------------------- */

static int run_log_softmax(const cli_command *cmd, const cli_args *a, const cli_common *c) {
  rw_job j;
  job_init(&j, cmd, c, OP_LOG_SOFTMAX);
  const char *logits = cli_get(a, "--logits");
  if (!logits) return cli_usage_error(cmd->name, "--logits F is required");
  if (!c->out) return cli_usage_error(cmd->name, "--out F.npy is required (where the log-probabilities go)");
  j.so.size = sizeof j.so;
  if (read_temperature(a, cmd->name, &j.so.temperature) < 0) return CLI_EXIT_USAGE;
  if (read_out_dtype(&j, a, 1) < 0) return CLI_EXIT_USAGE;
  int rc = open_src(&j, 0, logits, "logits", SRC_LOGITS);
  if (rc) return rc;
  j.nsrc = 1;
  j.rows = j.src[0].info.shape[0];
  j.cols = j.src[0].info.shape[1];
  return rw_run(&j);
}

static const cli_opt log_softmax_opts[] = {
    {"--logits", "F", "logits [B, V] (or one row [V]; leading dimensions are rows)"},
    {"--temperature", "T", "softmax(a / T), T > 0 (default 1)"},
    {"--out-dtype", "D", "f16, f32 or f64 (default: the input's type, bfloat16 as f32;\n"
                        "f64 only on the cpu)"},
};

const cli_command cli_cmd_log_softmax = {
    "log-softmax",
    "log-probabilities a - lse(a) of each row, written to --out",
    "--logits F --out F.npy [--temperature T] [--out-dtype D]",
    "Writes log softmax(a / T) of each row of the logits to --out, with the\n"
    "input's shape.  -inf logits (probability 0) stay -inf.",
    "rows, cols, out, out_dtype, backend, device",
    "infoest log-softmax --logits logits.npy --out logp.npy\n"
    "infoest log-softmax --logits model.safetensors:logits --temperature 0.7 --out logp.npy --out-dtype f32",
    log_softmax_opts,
    (int)(sizeof log_softmax_opts / sizeof log_softmax_opts[0]),
    run_log_softmax,
};

/* ---- entropy ------------------------------------------------------------------------- */

static int run_entropy(const cli_command *cmd, const cli_args *a, const cli_common *c) {
  rw_job j;
  job_init(&j, cmd, c, OP_ENTROPY);
  const char *logits = cli_get(a, "--logits"), *probs = cli_get(a, "--probs");
  if (logits && probs) return cli_usage_error(cmd->name, "give --logits or --probs, not both");
  if (!logits && !probs) return cli_usage_error(cmd->name, "--logits F or --probs F is required");
  j.eo.size = sizeof j.eo;
  j.eo.input = logits ? IE_INPUT_LOGITS : IE_INPUT_PROBS;
  if (read_temperature(a, cmd->name, &j.eo.temperature) < 0) return CLI_EXIT_USAGE;
  if (read_out_dtype(&j, a, 0) < 0) return CLI_EXIT_USAGE;

  const char *kind = cli_get(a, "--kind");
  if (!kind) kind = "shannon";
  if (!strcmp(kind, "shannon")) j.eo.kind = IE_ENTROPY_SHANNON;
  else if (!strcmp(kind, "renyi")) j.eo.kind = IE_ENTROPY_RENYI;
  else if (!strcmp(kind, "tsallis")) j.eo.kind = IE_ENTROPY_TSALLIS;
  else return cli_usage_error(cmd->name, "--kind takes shannon, renyi or tsallis, not '%s'", kind);
  j.kind_name = kind;

  double alpha = 0;
  int got = cli_opt_double(a, cmd->name, "--alpha", 1, &alpha);
  if (got < 0) return CLI_EXIT_USAGE;
  if (j.eo.kind == IE_ENTROPY_SHANNON && got)
    return cli_usage_error(cmd->name, "--alpha applies to --kind renyi or tsallis");
  if (j.eo.kind != IE_ENTROPY_SHANNON && !got)
    return cli_usage_error(cmd->name, "--kind %s needs --alpha A", kind);
  if (got && alpha < 0)
    return cli_usage_error(cmd->name, "--alpha must be >= 0, not '%s'", cli_get(a, "--alpha"));
  if (got && j.eo.kind == IE_ENTROPY_TSALLIS && isinf(alpha))
    return cli_usage_error(cmd->name, "--kind tsallis takes a finite --alpha");
  j.eo.alpha = alpha;
  j.has_alpha = got;
  j.alpha = alpha;

  int rc = open_src(&j, 0, logits ? logits : probs, logits ? "logits" : "probs",
                    logits ? SRC_LOGITS : SRC_PROBS);
  if (rc) return rc;
  j.nsrc = 1;
  j.rows = j.src[0].info.shape[0];
  j.cols = j.src[0].info.shape[1];
  return rw_run(&j);
}

static const cli_opt entropy_opts[] = {
    {"--logits", "F", "logits [B, V] (or one row [V]; leading dimensions are rows)"},
    {"--probs", "F", "probabilities [B, V], non-negative; each row divided by its sum"},
    {"--kind", "K", "shannon (default), renyi or tsallis"},
    {"--alpha", "A", "order for renyi / tsallis (>= 0; renyi also takes inf)"},
    {"--temperature", "T", "T > 0 (default 1): softmax(a / T), or p^(1/T) renormalised"},
    {"--out-dtype", "D", "f32 or f64 (default f64) for --out"},
};

const cli_command cli_cmd_entropy = {
    "entropy",
    "entropy of each row (Shannon, Renyi, Tsallis), in nats",
    "(--logits F | --probs F) [--kind shannon|renyi|tsallis --alpha A] [--temperature T]",
    "Entropy of each row's distribution, in nats (docs/SPEC.md section 2):\n"
    "  shannon  -sum p log p\n"
    "  renyi    log(sum p^A) / (1 - A); A = 1 gives shannon, A = inf gives -log max p\n"
    "  tsallis  (1 - sum p^A) / (A - 1); A = 1 gives shannon\n"
    "--out receives one value a row.",
    "kind, alpha (renyi/tsallis), rows, mean, sum, min, max, backend, device",
    "infoest entropy --logits logits.npy\n"
    "infoest entropy --probs p.npy --kind renyi --alpha inf --out h.npy",
    entropy_opts,
    (int)(sizeof entropy_opts / sizeof entropy_opts[0]),
    run_entropy,
};

/* ---- nll ------------------------------------------------------------------------------ */

static int run_nll(const cli_command *cmd, const cli_args *a, const cli_common *c) {
  rw_job j;
  job_init(&j, cmd, c, OP_NLL);
  const char *logits = cli_get(a, "--logits"), *labels = cli_get(a, "--labels");
  if (!logits) return cli_usage_error(cmd->name, "--logits F is required");
  if (!labels) return cli_usage_error(cmd->name, "--labels F is required");
  j.no.size = sizeof j.no;
  if (read_temperature(a, cmd->name, &j.no.temperature) < 0) return CLI_EXIT_USAGE;
  if (read_out_dtype(&j, a, 0) < 0) return CLI_EXIT_USAGE;
  int64_t ign;
  int got = cli_opt_int64(a, cmd->name, "--ignore-index", &ign);
  if (got < 0) return CLI_EXIT_USAGE;
  if (got) {
    j.no.has_ignore_index = 1;
    j.no.ignore_index = ign;
  }
  int rc = open_src(&j, 0, logits, "logits", SRC_LOGITS);
  if (rc) return rc;
  rc = open_src(&j, 1, labels, "labels", SRC_LABELS);
  if (rc) return rc;
  j.nsrc = 2;
  j.rows = j.src[0].info.shape[0];
  j.cols = j.src[0].info.shape[1];
  if (j.src[1].info.shape[0] != j.rows)
    return cli_fail(CLI_EXIT_DATA, cmd->name, "%s holds %" PRId64 " labels but %s has %" PRId64 " rows",
                    labels, j.src[1].info.shape[0], logits, j.rows);
  return rw_run(&j);
}

static const cli_opt nll_opts[] = {
    {"--logits", "F", "logits [B, V] (leading dimensions are rows, e.g. [batch, seq, V])"},
    {"--labels", "F", "int32 or int64 labels, one a row ([B], or [batch, seq])"},
    {"--ignore-index", "I", "rows whose label is I are left out (per-row value 0)"},
    {"--temperature", "T", "T > 0 (default 1): lse(a/T) - a_y/T"},
    {"--out-dtype", "D", "f32 or f64 (default f64) for --out"},
};

const cli_command cli_cmd_nll = {
    "nll",
    "negative log-likelihood of labels under logits; perplexity",
    "--logits F --labels F [--ignore-index I] [--temperature T]",
    "Negative log-likelihood lse(a) - a_y of each row's label y, in nats, and the\n"
    "perplexity exp(mean).  A label outside [0, V) (and not ignored) is bad input;\n"
    "a label pointing at a -inf logit gives +inf.",
    "rows, ignored (with --ignore-index), mean, sum, perplexity, backend, device",
    "infoest nll --logits logits.npy --labels labels.npy\n"
    "infoest nll --logits run.safetensors:logits --labels run.safetensors:labels --ignore-index -100",
    nll_opts,
    (int)(sizeof nll_opts / sizeof nll_opts[0]),
    run_nll,
};

/* ---- divergence ------------------------------------------------------------------------- */

static int run_divergence(const cli_command *cmd, const cli_args *a, const cli_common *c) {
  rw_job j;
  job_init(&j, cmd, c, OP_DIVERGENCE);
  const char *kind = cli_get(a, "--kind");
  const char *p = cli_get(a, "--p"), *q = cli_get(a, "--q");
  if (!kind) return cli_usage_error(cmd->name, "--kind K is required (kl, js, tv, ...)");
  int k = ie_divergence_parse(kind);
  if (k < 0) {
    char list[512];
    size_t o = 0;
    list[0] = '\0';
    for (int i = 0; i < IE_DIV_COUNT_ && o < sizeof list; i++) {
      int n = snprintf(list + o, sizeof list - o, "%s%s", i ? ", " : "",
                       ie_divergence_name((ie_divergence_kind)i));
      if (n < 0) break;
      o += (size_t)n;
    }
    return cli_usage_error(cmd->name, "unknown --kind '%s' (one of: %s)", kind, list);
  }
  if (!p || !q) return cli_usage_error(cmd->name, "--p F and --q F are required");
  j.dkind = (ie_divergence_kind)k;
  j.kind_name = ie_divergence_name(j.dkind);
  j.dvo.size = sizeof j.dvo;

  ie_input_kind pin = IE_INPUT_LOGITS, qin = IE_INPUT_LOGITS;
  const char *v;
  if ((v = cli_get(a, "--input")) && parse_input_kind(cmd->name, "--input", v, &pin)) return CLI_EXIT_USAGE;
  qin = pin;
  if ((v = cli_get(a, "--p-input")) && parse_input_kind(cmd->name, "--p-input", v, &pin)) return CLI_EXIT_USAGE;
  if ((v = cli_get(a, "--q-input")) && parse_input_kind(cmd->name, "--q-input", v, &qin)) return CLI_EXIT_USAGE;
  j.dvo.p_input = pin;
  j.dvo.q_input = qin;
  if (read_temperature(a, cmd->name, &j.dvo.temperature) < 0) return CLI_EXIT_USAGE;
  if (read_out_dtype(&j, a, 0) < 0) return CLI_EXIT_USAGE;

  int uses_alpha = j.dkind == IE_DIV_ALPHA || j.dkind == IE_DIV_RENYI || j.dkind == IE_DIV_TSALLIS;
  double alpha = 0;
  int got = cli_opt_double(a, cmd->name, "--alpha", 1, &alpha);
  if (got < 0) return CLI_EXIT_USAGE;
  if (got && !uses_alpha)
    return cli_usage_error(cmd->name, "--alpha applies to --kind alpha, renyi or tsallis, not %s", kind);
  if (!got && uses_alpha) return cli_usage_error(cmd->name, "--kind %s needs --alpha A", kind);
  if (got && isinf(alpha) && !(j.dkind == IE_DIV_RENYI && alpha > 0))
    return cli_usage_error(cmd->name, "--alpha inf applies to --kind renyi only");
  j.dvo.alpha = alpha;
  j.has_alpha = got;
  j.alpha = alpha;

  double beta = 0.5;
  got = cli_opt_double(a, cmd->name, "--beta", 0, &beta);
  if (got < 0) return CLI_EXIT_USAGE;
  if (got && j.dkind != IE_DIV_JS)
    return cli_usage_error(cmd->name, "--beta applies to --kind js, not %s", kind);
  if (got && !(beta > 0 && beta < 1))
    return cli_usage_error(cmd->name, "--beta must lie in (0, 1), not '%s'", cli_get(a, "--beta"));
  if (j.dkind == IE_DIV_JS) {
    j.dvo.beta = beta;
    j.has_beta = 1;
    j.beta = beta;
  }

  int rc = open_src(&j, 0, p, "p", pin == IE_INPUT_PROBS ? SRC_PROBS : SRC_LOGITS);
  if (rc) return rc;
  rc = open_src(&j, 1, q, "q", qin == IE_INPUT_PROBS ? SRC_PROBS : SRC_LOGITS);
  if (rc) return rc;
  j.nsrc = 2;
  j.rows = j.src[0].info.shape[0];
  j.cols = j.src[0].info.shape[1];
  if (j.src[1].info.shape[0] != j.rows || j.src[1].info.shape[1] != j.cols)
    return cli_fail(CLI_EXIT_DATA, cmd->name,
                    "p and q differ in shape: %s is [%" PRId64 ", %" PRId64 "], %s is [%" PRId64 ", %" PRId64 "]",
                    p, j.rows, j.cols, q, j.src[1].info.shape[0], j.src[1].info.shape[1]);
  return rw_run(&j);
}

static const cli_opt divergence_opts[] = {
    {"--kind", "K", "kl, reverse-kl, jeffreys, cross-entropy, js, tv, hellinger,\n"
                    "bhattacharyya, chi2, alpha, renyi, tsallis, cauchy-schwarz"},
    {"--p", "F", "first distribution, [B, V] (leading dimensions are rows)"},
    {"--q", "F", "second distribution, the same shape"},
    {"--input", "I", "logits (default) or probs, for both p and q"},
    {"--p-input", "I", "logits or probs for p alone (overrides --input)"},
    {"--q-input", "I", "logits or probs for q alone (overrides --input)"},
    {"--alpha", "A", "order for alpha, renyi (inf allowed), tsallis"},
    {"--beta", "B", "js weight in (0, 1) (default 0.5)"},
    {"--temperature", "T", "T > 0 (default 1), applied to p and q"},
    {"--out-dtype", "D", "f32 or f64 (default f64) for --out"},
};

const cli_command cli_cmd_divergence = {
    "divergence",
    "divergence D(p || q) between matching rows of two files, in nats",
    "--kind K --p F --q F [--input logits|probs] [--alpha A] [--beta B] [--temperature T]",
    "D(p_b || q_b) for each row b (docs/SPEC.md section 3), in nats.  An infinite\n"
    "divergence (p_i > 0 = q_i for kl) is a result, reported as \"inf\".",
    "kind, alpha / beta (when they apply), rows, mean, sum, min, max, backend, device",
    "infoest divergence --kind kl --p student.npy --q teacher.npy\n"
    "infoest divergence --kind js --p a.npy --q b.npy --input probs --out js.npy\n"
    "infoest divergence --kind renyi --alpha 0.5 --p m.safetensors:p --q m.safetensors:q",
    divergence_opts,
    (int)(sizeof divergence_opts / sizeof divergence_opts[0]),
    run_divergence,
};
