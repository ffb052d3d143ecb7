/*
 * tensor.c — checking DLTensor arguments once, and staging them between the
 * caller's memory and the backend's.
 */
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int dtype_of(DLDataType d, ie_dtype *out) {
  if (d.lanes != 1) return 0;
  if (d.code == kDLFloat && d.bits == 32) *out = IE_DT_F32;
  else if (d.code == kDLFloat && d.bits == 16) *out = IE_DT_F16;
  else if (d.code == kDLFloat && d.bits == 64) *out = IE_DT_F64;
  else if (d.code == kDLBfloat && d.bits == 16) *out = IE_DT_BF16;
  else if (d.code == kDLInt && d.bits == 32) *out = IE_DT_I32;
  else if (d.code == kDLInt && d.bits == 64) *out = IE_DT_I64;
  else if ((d.code == kDLUInt || d.code == 6 /* kDLBool */) && d.bits == 8) *out = IE_DT_U8;
  else return 0;
  return 1;
}

static void dtype_list(unsigned set, char *buf, size_t cap) {
  buf[0] = 0;
  for (int t = 0; t <= IE_DT_U8; t++)
    if (set & (1u << t)) {
      size_t n = strlen(buf);
      /* uint8 also stands for bool (dtype_of takes both as IE_DT_U8) */
      snprintf(buf + n, cap - n, "%s%s", n ? ", " : "",
               t == IE_DT_U8 ? "uint8, bool" : ie__dtype_name((ie_dtype)t));
    }
}

/* Is memory of device type `dt` usable by ctx, and is it host memory? */
static ie_status check_device(ie_context *ctx, ie__arg *a) {
  const DLDevice d = a->t->device;
  a->on_host = (d.device_type == kDLCPU || d.device_type == kDLCUDAHost);
  if (a->on_host) return IE_OK;
  int ok = 0;
  if (ctx->backend == IE_BACKEND_CUDA)
    ok = (d.device_type == kDLCUDA || d.device_type == kDLCUDAManaged) &&
         d.device_id == ctx->device;
  else if (ctx->backend == IE_BACKEND_OPENCL)
    ok = d.device_type == kDLOpenCL && d.device_id == ctx->device;
  if (!ok)
    return ie__error(ctx, IE_WRONG_DEVICE,
                     "%s: tensor '%s' is in memory of device type %d, id %d, "
                     "which a %s context on device %d cannot use",
                     a->fn, a->name, (int)d.device_type, d.device_id,
                     ie_backend_name(ctx->backend), ctx->device);
  return IE_OK;
}

/* Check the parts every tensor shares: pointer, dtype, device. */
static ie_status check_common(ie_context *ctx, ie__arg *a, const char *fn,
                              const char *name, const DLTensor *t,
                              unsigned dtypes, ie_dtype *dt) {
  memset(a, 0, sizeof *a);
  a->fn = fn;
  a->name = name;
  a->t = t;
  if (!t) return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: tensor '%s' is NULL", fn, name);
  if (!dtype_of(t->dtype, dt) || !(dtypes & (1u << *dt))) {
    char list[128];
    dtype_list(dtypes, list, sizeof list);
    return ie__error(ctx, IE_BAD_DTYPE,
                     "%s: tensor '%s' has dtype code %d, %d bits, %d lanes; "
                     "expected one of: %s",
                     fn, name, t->dtype.code, t->dtype.bits, t->dtype.lanes, list);
  }
  if (t->ndim < 0 || t->ndim > 8 || (t->ndim > 0 && !t->shape))
    return ie__error(ctx, IE_BAD_SHAPE, "%s: tensor '%s' has ndim %d (or no shape)",
                     fn, name, t->ndim);
  for (int i = 0; i < t->ndim; i++)
    if (t->shape[i] < 0)
      return ie__error(ctx, IE_BAD_SHAPE, "%s: tensor '%s' has negative dimension %d (%lld)",
                       fn, name, i, (long long)t->shape[i]);
  return check_device(ctx, a);
}

/* Is the first element off its natural alignment?  For OpenCL device
 * memory `data` is a cl_mem handle: only the offset can be checked. */
static int misaligned(const ie_context *ctx, const ie__arg *a, const DLTensor *t, size_t esz) {
  if (!a->on_host && ctx->backend == IE_BACKEND_OPENCL) return t->byte_offset % esz != 0;
  return (uintptr_t)((char *)t->data + t->byte_offset) % esz != 0;
}

/* Bytes from the first element to the end of the last row, or 0 on overflow. */
static int span_bytes(int64_t rows, int64_t cols, int64_t stride, size_t esz,
                      size_t *out) {
  if (rows == 0 || cols == 0) {
    *out = 0;
    return 1;
  }
  /* (rows - 1) * stride + cols elements, each esz bytes, all within 2^62. */
  const int64_t lim = INT64_C(1) << 62;
  if (stride > 0 && rows - 1 > (lim - cols) / stride) return 0;
  int64_t n = (rows - 1) * stride + cols;
  if (n > lim / (int64_t)esz) return 0;
  *out = (size_t)n * esz;
  return 1;
}

/* Do the rows of spans a and b (both in use) share a byte?  Their ranges
 * must meet; where both step rows by the same stride, each row within it,
 * they meet only if their columns do (p = x[:, :V] and q = x[:, V:] of one
 * matrix are apart). */
static int spans_meet(const ie__span *a, const ie__span *b) {
  if (a->space != b->space || a->first >= b->end || b->first >= a->end) return 0;
  const uint64_t step = a->row_step;
  if (step == 0 || step != b->row_step || a->row_bytes > step || b->row_bytes > step) return 1;
  /* where b's rows start within a's row step */
  const uint64_t lag = b->first >= a->first ? (b->first - a->first) % step
                                            : (step - (a->first - b->first) % step) % step;
  return lag < a->row_bytes || lag + b->row_bytes > step;
}

/* Note argument a's memory for this call; an output may meet no other
 * argument, and no argument an output. */
static ie_status note_span(ie_context *ctx, const ie__arg *a, const DLTensor *t, size_t esz,
                           size_t span, int output) {
  if (span == 0) return IE_OK;
  const int on_cl = !a->on_host && ctx->backend == IE_BACKEND_OPENCL;
  ie__span me = {on_cl ? (uintptr_t)t->data : 0, 0, 0, (uint64_t)a->m.stride * esz,
                 (uint64_t)a->m.cols * esz, a->name, output};
  me.first = on_cl ? (uint64_t)t->byte_offset : (uint64_t)(uintptr_t)((const char *)t->data + t->byte_offset);
  me.end = me.first + span;
  if (a->m.rows <= 1) me.row_step = 0;
  for (int i = 0; i < ctx->n_spans; i++) {
    const ie__span *o = &ctx->spans[i];
    if ((output || o->output) && strcmp(o->name, me.name) != 0 && spans_meet(o, &me))
      return ie__error(ctx, IE_INVALID_ARGUMENT,
                       "%s: %s '%s' shares memory with %s '%s'; inputs are never modified, and "
                       "outputs need memory of their own",
                       a->fn, output ? "output" : "tensor", me.name, o->output ? "output" : "tensor", o->name);
  }
  if (ctx->n_spans < IE__SPANS) ctx->spans[ctx->n_spans++] = me;
  return IE_OK;
}

/* The checks every layout ends with (addressable size, data pointer,
 * alignment, memory apart from the call's outputs), then the view the
 * backend gets. */
static ie_status finish_view(ie_context *ctx, ie__arg *a, const DLTensor *t, ie_dtype dt,
                             int64_t rows, int64_t cols, int64_t stride, unsigned dtypes) {
  size_t esz = ie__dtype_size(dt), span;
  if (!span_bytes(rows, cols, stride, esz, &span))
    return ie__error(ctx, IE_BAD_SHAPE, "%s: tensor '%s' of %lld x %lld (row stride %lld) is too large to address",
                     a->fn, a->name, (long long)rows, (long long)cols, (long long)stride);
  if (span && !t->data)
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: tensor '%s' has a NULL data pointer", a->fn, a->name);
  if (misaligned(ctx, a, t, esz))
    return ie__error(ctx, IE_INVALID_ARGUMENT, "%s: tensor '%s' is not aligned to its %zu-byte elements",
                     a->fn, a->name, esz);
  size_t have = 0;
  if (span && !a->on_host && ctx->ops->device_bytes && ctx->ops->device_bytes(ctx, t->data, &have) &&
      (t->byte_offset > have || span > have - t->byte_offset))
    return ie__error(ctx, IE_INVALID_ARGUMENT,
                     "%s: tensor '%s' needs %zu bytes from byte_offset %llu (%llu in all), but its device "
                     "buffer holds %zu bytes",
                     a->fn, a->name, span, (unsigned long long)t->byte_offset,
                     (unsigned long long)t->byte_offset + span, have);
  a->m.buf = t->data;
  a->m.offset = (size_t)t->byte_offset;
  a->m.dtype = dt;
  a->m.rows = rows;
  a->m.cols = cols;
  a->m.stride = stride;
  a->host_stride = stride;
  if (a->on_host) a->host = (char *)t->data + t->byte_offset;
  return note_span(ctx, a, t, esz, span, (dtypes & IE__OUTPUT) != 0);
}

ie_status ie__check_matrix(ie_context *ctx, ie__arg *a, const char *fn,
                           const char *name, const DLTensor *t,
                           unsigned dtypes) {
  ie_dtype dt;
  ie_status s = check_common(ctx, a, fn, name, t, dtypes, &dt);
  if (s != IE_OK) return s;
  if (dt == IE_DT_F64 && ctx->backend != IE_BACKEND_CPU && !(dtypes & IE__HOST_WRITTEN))
    return ie__error(ctx, IE_BAD_DTYPE,
                     "%s: tensor '%s' is float64, which only the cpu backend "
                     "takes; this context is %s",
                     fn, name, ie_backend_name(ctx->backend));
  if (t->ndim != 1 && t->ndim != 2)
    return ie__error(ctx, IE_BAD_SHAPE,
                     "%s: tensor '%s' must be 2-D [rows, V] (or 1-D [V]); it has %d dimensions",
                     fn, name, t->ndim);
  int64_t rows = t->ndim == 2 ? t->shape[0] : 1;
  int64_t cols = t->shape[t->ndim - 1];
  int64_t stride = cols;
  if (t->strides) {
    int64_t cs = t->strides[t->ndim - 1];
    if (cols > 1 && cs != 1)
      return ie__error(ctx, IE_BAD_SHAPE,
                       "%s: tensor '%s' has column stride %lld; the last dimension must be contiguous (stride 1)",
                       fn, name, (long long)cs);
    if (t->ndim == 2) {
      stride = t->strides[0];
      if (rows > 1 && stride < cols)
        return ie__error(ctx, IE_BAD_SHAPE,
                         "%s: tensor '%s' has row stride %lld, less than its row length %lld (rows would overlap or run backwards)",
                         fn, name, (long long)stride, (long long)cols);
      if (rows <= 1) stride = cols;
    }
  }
  return finish_view(ctx, a, t, dt, rows, cols, stride, dtypes);
}

ie_status ie__check_vector(ie_context *ctx, ie__arg *a, const char *fn,
                           const char *name, const DLTensor *t, int64_t n,
                           unsigned dtypes) {
  ie_dtype dt;
  ie_status s = check_common(ctx, a, fn, name, t, dtypes, &dt);
  if (s != IE_OK) return s;
  if (t->ndim != 1 || t->shape[0] != n)
    return ie__error(ctx, IE_BAD_SHAPE, "%s: tensor '%s' must be 1-D with %lld elements (one a row)",
                     fn, name, (long long)n);
  int64_t stride = t->strides ? t->strides[0] : 1;
  if (n <= 1) stride = 1;
  if (stride < 1)
    return ie__error(ctx, IE_BAD_SHAPE, "%s: tensor '%s' has stride %lld; it must be positive",
                     fn, name, (long long)stride);
  /* A vector is kept as a column: rows = n, cols = 1, stride = stride. */
  return finish_view(ctx, a, t, dt, n, 1, stride, dtypes);
}

static int needs_staging(const ie_context *ctx, const ie__arg *a) {
  return a->on_host && ctx->backend != IE_BACKEND_CPU;
}

/* A staging buffer of the workspace for this call (the IE_WS_STAGE slots,
 * taken in turn: ie__begin starts the count again). */
static ie_status stage_buffer(ie_context *ctx, const ie__arg *a, size_t bytes, void **dev) {
  if (ctx->ws.stage_next >= IE_WS_ROWS - IE_WS_STAGE)
    return ie__error(ctx, IE_INTERNAL, "%s: more than %d host tensors to stage in one call ('%s')", a->fn,
                     IE_WS_ROWS - IE_WS_STAGE, a->name);
  if (ie__fault())
    return ie__error(ctx, IE_OUT_OF_MEMORY, "injected fault: %s backend allocation of %zu bytes",
                     ctx->ops->name, bytes);
  IE__CHECK(ie__ws_device(ctx, IE_WS_STAGE + ctx->ws.stage_next, bytes, dev));
  ctx->ws.stage_next++;
  return IE_OK;
}

ie_status ie__stage_in(ie_context *ctx, ie__arg *a) {
  if (!needs_staging(ctx, a)) return IE_OK;
  size_t esz = ie__dtype_size(a->m.dtype);
  size_t rowb = (size_t)a->m.cols * esz, bytes = rowb * (size_t)a->m.rows;
  void *dev = NULL;
  IE__CHECK(stage_buffer(ctx, a, bytes, &dev));
  ie_status s;
  /* (the host's own stride: an argument staged before keeps the stride of
   * its staged copy in a->m, and may be staged again) */
  if (a->host_stride == a->m.cols || a->m.rows <= 1) {
    s = IE__BE(ctx, upload, dev, 0, a->host, bytes);
  } else {
    /* Pack strided rows on the host so the upload moves only the data. */
    char *pack = NULL;
    s = ie__ws_host(ctx, IE_WSH_STAGE, bytes, (void **)&pack);
    if (s != IE_OK) return s;
    for (int64_t r = 0; r < a->m.rows; r++)
      memcpy(pack + (size_t)r * rowb, a->host + (size_t)r * (size_t)a->host_stride * esz, rowb);
    s = IE__BE(ctx, upload, dev, 0, pack, bytes);
  }
  if (s != IE_OK) return s;
  a->owned = dev;
  a->m.buf = dev;
  a->m.offset = 0;
  a->m.stride = a->m.cols;
  return IE_OK;
}

ie_status ie__stage_out(ie_context *ctx, ie__arg *a) {
  if (!needs_staging(ctx, a)) return IE_OK;
  size_t bytes = (size_t)a->m.cols * ie__dtype_size(a->m.dtype) * (size_t)a->m.rows;
  void *dev = NULL;
  IE__CHECK(stage_buffer(ctx, a, bytes, &dev));
  a->owned = dev;
  a->m.buf = dev;
  a->m.offset = 0;
  a->m.stride = a->m.cols;
  return IE_OK;
}

ie_status ie__unstage_out(ie_context *ctx, ie__arg *a) {
  if (!a->owned) return IE_OK;
  size_t esz = ie__dtype_size(a->m.dtype);
  size_t rowb = (size_t)a->m.cols * esz, bytes = rowb * (size_t)a->m.rows;
  int64_t ustride = a->host_stride;
  if (ustride == a->m.cols) return IE__BE(ctx, download, a->host, a->owned, 0, bytes);
  char *pack = NULL;
  IE__CHECK(ie__ws_host(ctx, IE_WSH_STAGE + 1, bytes, (void **)&pack));
  ie_status s = IE__BE(ctx, download, pack, a->owned, 0, bytes);
  if (s == IE_OK)
    for (int64_t r = 0; r < a->m.rows; r++)
      memcpy(a->host + (size_t)r * (size_t)ustride * esz, pack + (size_t)r * rowb, rowb);
  return s;
}

/* Staging buffers belong to the workspace: nothing to free; the last one
 * taken is given back to the call (a loop that stages and releases one
 * tensor at a time reuses one slot). */
void ie__release(ie_context *ctx, ie__arg *a) {
  int *next = &ctx->ws.stage_next;
  if (a->owned && *next > 0 && ctx->ws.dev[IE_WS_STAGE + *next - 1].buf == a->owned) --*next;
  a->owned = NULL;
}

/* ---- Scalars ---------------------------------------------------------------- */

/* ie__load_double: src/host/dtype.c. */

ie_status ie__read_vector(ie_context *ctx, const ie__arg *a, double *out) {
  size_t esz = ie__dtype_size(a->m.dtype);
  int64_t n = a->m.rows;
  if (a->on_host) {
    for (int64_t i = 0; i < n; i++)
      out[i] = ie__load_double(a->host + (size_t)i * (size_t)a->host_stride * esz, a->m.dtype);
    return IE_OK;
  }
  size_t span = ((size_t)(n - 1) * (size_t)a->m.stride + 1) * esz;
  char *tmp = ie__malloc(span);
  if (!tmp) return ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory for tensor '%s'", a->fn, a->name);
  ie_status s = IE__BE(ctx, download, tmp, a->m.buf, a->m.offset, span);
  if (s == IE_OK)
    for (int64_t i = 0; i < n; i++)
      out[i] = ie__load_double(tmp + (size_t)i * (size_t)a->m.stride * esz, a->m.dtype);
  free(tmp);
  return s;
}

ie_status ie__read_weights(ie_context *ctx, const char *fn, const DLTensor *t,
                           int64_t rows, double **w) {
  *w = NULL;
  if (!t) return IE_OK;
  ie__arg a;
  ie_status s = ie__check_vector(ctx, &a, fn, "row_weights", t, rows,
                                 IE__INTS | (1u << IE_DT_U8) | (1u << IE_DT_F32) | (1u << IE_DT_F64));
  if (s != IE_OK) return s;
  double *v = ie__malloc((size_t)(rows ? rows : 1) * sizeof *v);
  if (!v) return ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory for row weights", fn);
  if (rows) s = ie__read_vector(ctx, &a, v);
  for (int64_t i = 0; s == IE_OK && i < rows; i++) {
    if (a.m.dtype == IE_DT_I32 || a.m.dtype == IE_DT_I64 || a.m.dtype == IE_DT_U8) v[i] = v[i] != 0;
    else if (!(v[i] >= 0) || isinf(v[i])) {
      ie__locate(ctx, "row_weights", -1, i, -1);
      s = ie__error(ctx, IE_INVALID_ARGUMENT, "%s: row_weights[%lld] is %g; weights must be finite and >= 0",
                    fn, (long long)i, v[i]);
    }
  }
  if (s != IE_OK) {
    free(v);
    return s;
  }
  *w = v;
  return IE_OK;
}

ie_status ie__write_per_row(ie_context *ctx, ie__arg *out, const double *val) {
  int64_t n = out->m.rows;
  int f64 = out->m.dtype == IE_DT_F64;
  size_t esz = f64 ? 8 : 4;
  if (out->on_host) {
    for (int64_t i = 0; i < n; i++) {
      char *p = out->host + (size_t)i * (size_t)out->host_stride * esz;
      if (f64) *(double *)p = val[i];
      else *(float *)p = (float)val[i];
    }
    return IE_OK;
  }
  if (out->m.stride != 1)
    return ie__error(ctx, IE_BAD_SHAPE, "%s: tensor '%s' in device memory must be contiguous", out->fn, out->name);
  void *tmp = ie__malloc((size_t)(n ? n : 1) * esz);
  if (!tmp) return ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory for '%s'", out->fn, out->name);
  for (int64_t i = 0; i < n; i++) {
    if (f64) ((double *)tmp)[i] = val[i];
    else ((float *)tmp)[i] = (float)val[i];
  }
  ie_status s = IE__BE(ctx, upload, out->m.buf, out->m.offset, tmp, (size_t)n * esz);
  free(tmp);
  return s;
}

ie_status ie__fetch_row(ie_context *ctx, const ie__arg *a, int64_t row, double **vals) {
  size_t esz = ie__dtype_size(a->m.dtype), n = (size_t)a->m.cols;
  double *v = ie__malloc((n ? n : 1) * sizeof *v);
  char *raw = ie__malloc((n ? n : 1) * esz);
  if (!v || !raw) {
    free(v);
    free(raw);
    return ie__error(ctx, IE_OUT_OF_MEMORY, "%s: no host memory", a->fn);
  }
  ie_status s = IE_OK;
  if (a->on_host)
    memcpy(raw, a->host + (size_t)row * (size_t)a->host_stride * esz, n * esz);
  else
    s = IE__BE(ctx, download, raw, a->m.buf,
                           a->m.offset + (size_t)row * (size_t)a->m.stride * esz, n * esz);
  for (size_t i = 0; s == IE_OK && i < n; i++) v[i] = ie__load_double(raw + i * esz, a->m.dtype);
  free(raw);
  if (s != IE_OK) {
    free(v);
    return s;
  }
  *vals = v;
  return IE_OK;
}

void ie__spoil(ie_context *ctx, const ie__arg *a) {
  /* Keep the failure being reported: this is cleanup, not a new error. */
  ie_status keep = ctx->last;
  char msg[sizeof ctx->msg], tensor[sizeof ctx->err_tensor];
  memcpy(msg, ctx->msg, sizeof msg);
  memcpy(tensor, ctx->err_tensor, sizeof tensor);
  const int64_t index = ctx->err_index, row = ctx->err_row, col = ctx->err_col;
  const size_t esz = ie__dtype_size(a->m.dtype), rowb = (size_t)a->m.cols * esz;
  if (a->on_host) {
    for (int64_t r = 0; r < a->m.rows; r++)
      memset(a->host + (size_t)r * (size_t)a->host_stride * esz, 0xff, rowb);
  } else {
    (void)ie__async_fill_nan(ctx, &a->m); /* the caller's device memory (in stream order) */
  }
  ctx->last = keep;
  memcpy(ctx->msg, msg, sizeof msg);
  ie__locate(ctx, tensor, index, row, col);
}
