/*
 * cmd_load.c — whole inputs for the sample-based commands (vendi,
 * matrix-entropy, sinkhorn, knn-*): these need every point at once, so
 * their tensors are read whole (not row-streamed like the row-wise
 * commands), checked value by value so that a bad one is named with its
 * file, tensor and position, and handed to the library as host DLTensors.
 */
#define _POSIX_C_SOURCE 200809L
#include "cmd.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* "row 3, column 7" (or "element 3" for 1-D) of flat index i. */
static void where(char *buf, size_t cap, const cli_input *in, uint64_t i) {
  int nd = in->t.ndim;
  if (nd <= 1) {
    snprintf(buf, cap, "element %" PRIu64, i);
    return;
  }
  uint64_t cols = (uint64_t)in->shape[nd - 1];
  uint64_t rows_per_set = (uint64_t)in->shape[nd - 2];
  uint64_t row = i / cols, col = i % cols;
  if (nd == 2) {
    snprintf(buf, cap, "row %" PRIu64 ", column %" PRIu64, row, col);
  } else {
    snprintf(buf, cap, "set %" PRIu64 ", row %" PRIu64 ", column %" PRIu64,
             row / rows_per_set, row % rows_per_set, col);
  }
}

static const char *tensor_label(const cli_input *in, char *buf, size_t cap) {
  if (in->info.name[0])
    snprintf(buf, cap, "%s (%s, tensor '%s')", in->spec, in->role, in->info.name);
  else
    snprintf(buf, cap, "%s (%s)", in->spec, in->role);
  return buf;
}

int cli_input_load(const char *cmd, cli_input *in, const char *spec,
                   const char *role, int min_ndim, int max_ndim, int flags) {
  char err[1400], lab[1400];
  memset(in, 0, sizeof *in);
  in->spec = spec;
  in->role = role;
  int r = ieio_open_info(spec, &in->info, err, sizeof err);
  if (r == IEIO_CANNOT_OPEN) /* I/O, not the data */
    return cli_fail(CLI_EXIT_FAIL, cmd, "%s (%s)", err[0] ? err : spec, role);
  if (r != 0)
    return cli_fail(CLI_EXIT_DATA, cmd, "bad input data (%s): %s", role,
                    err[0] ? err : spec);
  ieio_info *fi = &in->info;
  tensor_label(in, lab, sizeof lab);
  if (!cli_dtype_is_float(fi->dtype))
    return cli_fail(CLI_EXIT_DATA, cmd,
                    "bad input data: %s must be float16, bfloat16, float32 or float64, not %s",
                    lab, cli_dtype_name(fi->dtype));
  int nd = fi->ndim;
  for (int d = 0; d < nd; d++) in->shape[d] = fi->shape[d];
  if (nd == 1 && (flags & CLI_IN_AS_2D) && min_ndim >= 2) {
    in->shape[1] = 1;
    nd = 2;
  }
  if (nd < min_ndim || nd > max_ndim) {
    char shp[256];
    size_t o = 0;
    shp[0] = '\0';
    for (int d = 0; d < fi->ndim && o < sizeof shp; d++) {
      int k = snprintf(shp + o, sizeof shp - o, "%s%" PRId64, d ? ", " : "", fi->shape[d]);
      if (k < 0) break;
      o += (size_t)k;
    }
    if (min_ndim == max_ndim)
      return cli_fail(CLI_EXIT_DATA, cmd,
                      "bad input data: %s has shape [%s]; expected %d dimensions", lab, shp,
                      min_ndim);
    return cli_fail(CLI_EXIT_DATA, cmd,
                    "bad input data: %s has shape [%s]; expected %d to %d dimensions", lab,
                    shp, min_ndim, max_ndim);
  }
  for (int d = 0; d < nd; d++)
    if (in->shape[d] <= 0)
      return cli_fail(CLI_EXIT_DATA, cmd, "bad input data: %s is empty (dimension %d is 0)",
                      lab, d);
  err[0] = '\0';
  if (ieio_read_all(fi, &in->data, err, sizeof err) != 0) {
    in->data = NULL;
    return cli_fail(CLI_EXIT_DATA, cmd, "bad input data: %s: %s", lab,
                    err[0] ? err : "cannot read the data");
  }
  memset(&in->t, 0, sizeof in->t);
  in->t.data = in->data;
  in->t.device.device_type = kDLCPU;
  in->t.ndim = nd;
  in->t.dtype = fi->dtype;
  in->t.shape = in->shape;

  uint64_t count = 1;
  for (int d = 0; d < nd; d++) count *= (uint64_t)in->shape[d];
  /* float32 without negatives to refuse: one pass over the exponent bits
   * (all ones: NaN or inf), vectorised; the element loop below only names
   * the first bad element */
  if (fi->dtype.code == kDLFloat && fi->dtype.bits == 32 && !(flags & CLI_IN_NONNEG)) {
    const uint32_t *u = (const uint32_t *)in->data;
    uint32_t bad = 0;
    for (uint64_t i = 0; i < count; i++) bad |= (u[i] & 0x7F800000u) == 0x7F800000u;
    if (!bad) return CLI_EXIT_OK;
  }
  for (uint64_t i = 0; i < count; i++) {
    double v = cli_load_double(in->data, fi->dtype, (int64_t)i);
    const char *what = NULL;
    if (isnan(v)) what = "is NaN";
    else if (isinf(v)) what = v > 0 ? "is +inf" : "is -inf";
    else if ((flags & CLI_IN_NONNEG) && v < 0) what = "is negative";
    if (what) {
      char pos[128];
      where(pos, sizeof pos, in, i);
      return cli_fail(CLI_EXIT_DATA, cmd, "bad input data: %s, %s %s%s", lab, pos, what,
                      (flags & CLI_IN_NONNEG) ? " (weights must be finite and >= 0)" : "");
    }
  }
  return CLI_EXIT_OK;
}

void cli_input_free(cli_input *in) {
  if (!in) return;
  free(in->data);
  in->data = NULL;
  in->t.data = NULL;
}

int cli_input_narrow(cli_input *in, uint64_t *at, double *was) {
  if (!in->data || in->t.dtype.code != kDLFloat || in->t.dtype.bits != 64) return 0;
  uint64_t count = 1;
  for (int d = 0; d < in->t.ndim; d++) count *= (uint64_t)in->shape[d];
  const double *d = in->data;
  for (uint64_t i = 0; i < count; i++)
    if (isfinite(d[i]) && isinf((float)d[i])) {
      *at = i, *was = d[i];
      return -2;
    }
  float *f = malloc(count ? count * sizeof(float) : 1);
  if (!f) return -1;
  for (uint64_t i = 0; i < count; i++) f[i] = (float)d[i];
  free(in->data);
  in->data = f;
  in->t.data = f;
  in->t.dtype = cli_dt(kDLFloat, 32);
  in->narrowed = 1;
  return 1;
}

int cli_inputs_narrow(const char *cmd, ie_backend be, cli_input *const *ins, int n) {
  static int noted = 0;
  int any = 0;
  for (int i = 0; i < n; i++) {
    if (!ins[i]) continue;
    uint64_t at = 0;
    double was = 0;
    int r = cli_input_narrow(ins[i], &at, &was);
    if (r == -1) return -cli_fail(CLI_EXIT_FAIL, cmd, "out of memory");
    if (r == -2) { /* named as cli_input_load names a bad value */
      char lab[1400], pos[128];
      where(pos, sizeof pos, ins[i], at);
      return -cli_fail(CLI_EXIT_DATA, cmd,
                       "bad input data: %s, %s is %.17g, past float32's range; the %s backend takes "
                       "float64 as float32: use --backend cpu",
                       tensor_label(ins[i], lab, sizeof lab), pos, was, ie_backend_name(be));
    }
    if (r > 0) any = 1;
  }
  if (any && !noted) {
    fprintf(stderr, "infoest %s: note: the %s backend does not take float64 here; "
                    "inputs are converted to float32\n", cmd, ie_backend_name(be));
    noted = 1;
  }
  return any;
}

int cli_lib_fail(const char *cmd, ie_context *ctx, ie_status st,
                 cli_input *const *ins, int n) {
  char files[2400];
  size_t o = 0;
  files[0] = '\0';
  for (int i = 0; i < n && o < sizeof files; i++) {
    if (!ins[i] || !ins[i]->spec) continue;
    int k = snprintf(files + o, sizeof files - o, "%s%s (%s)", o ? ", " : "", ins[i]->spec,
                     ins[i]->role);
    if (k < 0) break;
    o += (size_t)k;
  }
  const char *msg = ctx ? ie_errmsg(ctx) : ie_status_string(st);
  switch (st) {
    case IE_CANCELLED: /* the library saw cli_interrupted (cli_make_context) */
      return cli_fail(CLI_EXIT_FAIL, cmd, "interrupted; no output written");
    case IE_NONFINITE:
    case IE_NEGATIVE:
    case IE_EMPTY_ROW:
    case IE_BAD_LABEL:
    case IE_BAD_SHAPE:
    case IE_BAD_DTYPE:
    case IE_EMPTY_REDUCTION:
    case IE_INVALID_ARGUMENT:
      return cli_fail(CLI_EXIT_DATA, cmd, "bad input data in %s: %s [%s]", files, msg,
                      ie_status_name(st));
    default: {
      int code = cli_exit_for_status(st);
      return cli_fail(code, cmd, "%s [%s]", msg, ie_status_name(st));
    }
  }
}

void cli_out_tmp_shared(const char *path, char tmp[CLI_TMP_CAP]) {
  memset(tmp, 0, CLI_TMP_CAP);
  if (cli_mpi_size() == 1) return;
  if (cli_mpi_rank() == 0 && ieio_tmp_name(path, tmp, CLI_TMP_CAP) != 0) tmp[0] = '\0';
  cli_mpi_bcast(tmp, CLI_TMP_CAP);
  if (tmp[0]) cli_remove_on_signal(tmp);
}

int cli_values_stage(const char *cmd, const char *path, const char *tmp, const double *v, int ndim,
                     const int64_t *shape, ieio_writer **w) {
  char err[1400];
  err[0] = '\0';
  *w = NULL;
  int64_t count = 1;
  for (int d = 0; d < ndim; d++) count *= shape[d];
  if (ieio_writer_begin_as(w, path, tmp && tmp[0] ? tmp : NULL, cli_dt(kDLFloat, 64), ndim, shape, err,
                           sizeof err) != 0) {
    *w = NULL;
    return cli_fail(CLI_EXIT_FAIL, cmd, "%s", err[0] ? err : "cannot create the output file");
  }
  cli_remove_on_signal(ieio_writer_tmp_path(*w));
  if (ieio_writer_append(*w, v, (size_t)count * sizeof *v, err, sizeof err) != 0 ||
      ieio_writer_close(*w, err, sizeof err) != 0) {
    cli_values_abort(*w);
    *w = NULL;
    return cli_fail(CLI_EXIT_FAIL, cmd, "%s", err[0] ? err : "cannot write the output file");
  }
  return CLI_EXIT_OK;
}

int cli_values_commit(const char *cmd, ieio_writer *w) {
  char err[1400];
  err[0] = '\0';
  if (cli_interrupted) { /* the handler may have removed the file already */
    cli_values_abort(w);
    return cli_fail(CLI_EXIT_FAIL, cmd, "interrupted; no output written");
  }
  int r = ieio_writer_commit(w, err, sizeof err); /* frees w; removes the file on failure */
  cli_remove_on_signal(NULL);
  if (r != 0) return cli_fail(CLI_EXIT_FAIL, cmd, "%s", err[0] ? err : "cannot finish the output file");
  return CLI_EXIT_OK;
}

void cli_values_abort(ieio_writer *w) {
  if (!w) return;
  ieio_writer_abort(w);
  cli_remove_on_signal(NULL);
}

int cli_write_values(const char *cmd, const char *path, const double *v,
                     int ndim, const int64_t *shape) {
  ieio_writer *w;
  int rc = cli_values_stage(cmd, path, NULL, v, ndim, shape, &w);
  return rc ? rc : cli_values_commit(cmd, w);
}
