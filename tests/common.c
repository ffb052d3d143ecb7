#include "common.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"

const DLDataType TC_F32 = {kDLFloat, 32, 1}, TC_F16 = {kDLFloat, 16, 1},
                 TC_BF16 = {kDLBfloat, 16, 1}, TC_F64 = {kDLFloat, 64, 1},
                 TC_I32 = {kDLInt, 32, 1}, TC_I64 = {kDLInt, 64, 1},
                 TC_U8 = {kDLUInt, 8, 1};

int tc_backends(ie_backend out[3]) {
  int n = 0;
  const ie_backend all[3] = {IE_BACKEND_CPU, IE_BACKEND_CUDA, IE_BACKEND_OPENCL};
  for (int k = 0; k < 3; k++)
    if (ie_backend_compiled(all[k])) out[n++] = all[k];
  return n;
}

DLDataType tc_rowdt = {kDLFloat, 64, 1};

ie_context *tc_context(ie_backend b) {
  ie_context *ctx = NULL;
  ie_context_options o;
  memset(&o, 0, sizeof o);
  o.size = sizeof o;
  o.backend = b;
  ie_status s = ie_context_create(&ctx, &o);
  if (s == IE_BACKEND_UNAVAILABLE) {
    char msg[512];
    snprintf(msg, sizeof msg, "%s", ctx ? ie_errmsg(ctx) : "(no context)");
    ie_context_destroy(ctx);
    cr_skip_test("SKIPPED: backend %s is compiled in but has no device here: %s",
                 ie_backend_name(b), msg);
  }
  cr_assert(s == IE_OK, "ie_context_create(%s) failed: %s: %s", ie_backend_name(b),
            ie_status_name(s), ctx ? ie_errmsg(ctx) : "(no context)");
  cr_assert(ie_context_backend(ctx) == b, "context runs on %s, asked %s",
            ie_backend_name(ie_context_backend(ctx)), ie_backend_name(b));
  /* probe: does this backend take an f64 per-row output? */
  float x[2] = {0.5f, 1.5f};
  double v[1];
  tc_tensor X, O;
  tc_tensor_2d(&X, x, TC_F32, 1, 2, 0);
  tc_tensor_1d(&O, v, TC_F64, 1);
  ie_status ps = ie_entropy(ctx, &X.t, &O.t, NULL, NULL);
  tc_rowdt = ps == IE_BAD_DTYPE ? TC_F32 : TC_F64;
  if (ps == IE_BAD_DTYPE)
    IE_TEST_NOTE("backend %s refuses f64 per-row outputs (%s); testing with f32 outputs",
                ie_backend_name(b), ie_errmsg(ctx));
  return ctx;
}

void tc_tensor_1d(tc_tensor *x, void *data, DLDataType dt, int64_t n) {
  memset(x, 0, sizeof *x);
  x->shape[0] = n;
  x->t.data = data;
  x->t.device.device_type = kDLCPU;
  x->t.ndim = 1;
  x->t.dtype = dt;
  x->t.shape = x->shape;
  x->t.strides = NULL;
}

void tc_tensor_2d(tc_tensor *x, void *data, DLDataType dt, int64_t rows, int64_t cols,
                  int64_t stride) {
  memset(x, 0, sizeof *x);
  x->shape[0] = rows;
  x->shape[1] = cols;
  x->strides[0] = stride;
  x->strides[1] = 1;
  x->t.data = data;
  x->t.device.device_type = kDLCPU;
  x->t.ndim = 2;
  x->t.dtype = dt;
  x->t.shape = x->shape;
  x->t.strides = stride ? x->strides : NULL;
}

size_t tc_dtype_size(DLDataType dt) { return (size_t)dt.bits / 8 * dt.lanes; }

uint16_t tc_f32_to_f16(float f) {
  /* round to nearest even, with subnormals, inf and NaN */
  uint32_t x;
  memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t ex = (x >> 23) & 0xFF, man = x & 0x7FFFFFu;
  if (ex == 0xFF) return (uint16_t)(sign | 0x7C00u | (man ? 0x200u : 0));
  int e = (int)ex - 127 + 15;
  if (e >= 31) return (uint16_t)(sign | 0x7C00u);
  if (e <= 0) {
    if (e < -10) return (uint16_t)sign;
    man |= 0x800000u;
    int shift = 14 - e;
    uint32_t h = man >> shift, rem = man & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1))) h++;
    return (uint16_t)(sign | h);
  }
  uint32_t h = ((uint32_t)e << 10) | (man >> 13), rem = man & 0x1FFFu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) h++;
  return (uint16_t)(sign | h);
}

float tc_f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1F, m = h & 0x3FF, x;
  if (e == 0) {
    if (m == 0) {
      x = sign;
    } else {
      e = 127 - 15 + 1;
      while (!(m & 0x400)) {
        m <<= 1;
        e--;
      }
      x = sign | (e << 23) | ((m & 0x3FF) << 13);
    }
  } else if (e == 31) {
    x = sign | 0x7F800000u | (m << 13);
  } else {
    x = sign | ((e - 15 + 127) << 23) | (m << 13);
  }
  float f;
  memcpy(&f, &x, 4);
  return f;
}

uint16_t tc_f32_to_bf16(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  if ((x & 0x7FFFFFFFu) > 0x7F800000u) return 0x7FC0;
  return (uint16_t)((x + 0x7FFFu + ((x >> 16) & 1)) >> 16);
}

float tc_bf16_to_f32(uint16_t h) {
  uint32_t x = (uint32_t)h << 16;
  float f;
  memcpy(&f, &x, 4);
  return f;
}

double tc_get(const void *buf, DLDataType dt, size_t k) {
  if (dt.code == kDLFloat && dt.bits == 32) return ((const float *)buf)[k];
  if (dt.code == kDLFloat && dt.bits == 64) return ((const double *)buf)[k];
  if (dt.code == kDLFloat && dt.bits == 16) return tc_f16_to_f32(((const uint16_t *)buf)[k]);
  if (dt.code == kDLBfloat) return tc_bf16_to_f32(((const uint16_t *)buf)[k]);
  return NAN;
}

void tc_set(void *buf, DLDataType dt, size_t k, double v) {
  if (dt.code == kDLFloat && dt.bits == 32) ((float *)buf)[k] = (float)v;
  else if (dt.code == kDLFloat && dt.bits == 64) ((double *)buf)[k] = v;
  else if (dt.code == kDLFloat && dt.bits == 16) ((uint16_t *)buf)[k] = tc_f32_to_f16((float)v);
  else if (dt.code == kDLBfloat) ((uint16_t *)buf)[k] = tc_f32_to_bf16((float)v);
}

double tc_tol(double exp) {
  double r = 1e-5 * fabs(exp);
  return r > 1e-6 ? r : 1e-6;
}

int tc_close(double got, double exp) {
  if (isnan(got) || isnan(exp)) return 0;
  if (isinf(exp) || isinf(got)) return got == exp;
  return fabs(got - exp) <= tc_tol(exp);
}

int tc_dtype_tag(const char *tag, DLDataType *dt) {
  if (!strcmp(tag, "f32")) *dt = TC_F32;
  else if (!strcmp(tag, "f16")) *dt = TC_F16;
  else if (!strcmp(tag, "bf16")) *dt = TC_BF16;
  else if (!strcmp(tag, "f64")) *dt = TC_F64;
  else return -1;
  return 0;
}

static int parse_real(const char *v, double *out) {
  if (!strcmp(v, "inf")) *out = INFINITY;
  else if (!strcmp(v, "-inf")) *out = -INFINITY;
  else {
    char *end;
    *out = strtod(v, &end);
    if (*end) return -1;
  }
  return 0;
}

static int parse_i64(const char *v, int64_t *out) {
  char *end;
  long long x = strtoll(v, &end, 10);
  if (*end || end == v) return -1;
  *out = x;
  return 0;
}

#define COPY(dst, v)                                   \
  do {                                                 \
    if (strlen(v) >= sizeof(dst)) goto bad;            \
    memcpy(dst, v, strlen(v) + 1);                     \
  } while (0)

int tc_manifest(tc_case **cases, char *err, size_t errcap) {
  char path[2048];
  snprintf(path, sizeof path, "%s/MANIFEST", IE_TEST_VECTORS);
  FILE *f = fopen(path, "r");
  *cases = NULL;
  if (!f) {
    snprintf(err, errcap, "%s: cannot open", path);
    return -1;
  }
  size_t cap = 64, n = 0;
  tc_case *a = malloc(cap * sizeof *a);
  char line[4096];
  int lineno = 0;
  while (fgets(line, sizeof line, f)) {
    lineno++;
    line[strcspn(line, "\r\n")] = 0;
    if (line[0] == '#' || line[0] == 0) continue;
    if (n == cap) {
      cap *= 2;
      a = realloc(a, cap * sizeof *a);
    }
    tc_case *c = &a[n];
    memset(c, 0, sizeof *c);
    c->T = 1.0;
    c->beta = 0.5;
    char *save = NULL;
    char *tok = strtok_r(line, " ", &save);
    if (!tok || strcmp(tok, "case")) goto bad;
    tok = strtok_r(NULL, " ", &save);
    if (!tok) goto bad;
    COPY(c->name, tok);
    while ((tok = strtok_r(NULL, " ", &save))) {
      char *eq = strchr(tok, '=');
      if (!eq) goto bad;
      *eq = 0;
      const char *k = tok, *v = eq + 1;
      if (!strcmp(k, "op")) COPY(c->op, v);
      else if (!strcmp(k, "kind")) COPY(c->kind, v);
      else if (!strcmp(k, "alpha")) { if (parse_real(v, &c->alpha)) goto bad; }
      else if (!strcmp(k, "beta")) { if (parse_real(v, &c->beta)) goto bad; }
      else if (!strcmp(k, "T")) { if (parse_real(v, &c->T)) goto bad; }
      else if (!strcmp(k, "p_input")) COPY(c->p_input, v);
      else if (!strcmp(k, "q_input")) COPY(c->q_input, v);
      else if (!strcmp(k, "dtype_p")) COPY(c->dtype_p, v);
      else if (!strcmp(k, "dtype_q")) COPY(c->dtype_q, v);
      else if (!strcmp(k, "ignore")) {
        if (strcmp(v, "none")) {
          c->has_ignore = 1;
          if (parse_i64(v, &c->ignore)) goto bad;
        }
      } else if (!strcmp(k, "stride_p")) { if (parse_i64(v, &c->stride_p)) goto bad; }
      else if (!strcmp(k, "stride_q")) { if (parse_i64(v, &c->stride_q)) goto bad; }
      else if (!strcmp(k, "rows")) { if (parse_i64(v, &c->rows)) goto bad; }
      else if (!strcmp(k, "cols")) { if (parse_i64(v, &c->cols)) goto bad; }
      else if (!strcmp(k, "exact0")) { int64_t e; if (parse_i64(v, &e)) goto bad; c->exact0 = (int)e; }
      else if (!strcmp(k, "x")) COPY(c->x, v);
      else if (!strcmp(k, "y")) COPY(c->y, v);
      else if (!strcmp(k, "labels")) COPY(c->labels, v);
      else if (!strcmp(k, "expect")) COPY(c->expect, v);
      else goto bad;
    }
    n++;
  }
  fclose(f);
  *cases = a;
  return (int)n;
bad:
  snprintf(err, errcap, "%s:%d: malformed line", path, lineno);
  fclose(f);
  free(a);
  return -1;
}

int tc_load(const char *file, void **data, int64_t shape[8], int *ndim, char *err,
            size_t errcap) {
  char path[2048];
  snprintf(path, sizeof path, "%s/%s", IE_TEST_VECTORS, file);
  ieio_info info;
  *data = NULL;
  if (ieio_open_info(path, &info, err, errcap) != 0) return -1;
  if (ieio_read_all(&info, data, err, errcap) != 0) return -1;
  *ndim = info.ndim;
  for (int k = 0; k < info.ndim; k++) shape[k] = info.shape[k];
  return 0;
}

void *tc_restride(const void *src, size_t esz, int64_t rows, int64_t cols, int64_t stride,
                  unsigned char gap_byte) {
  size_t n = (size_t)(rows > 0 ? rows : 1) * (size_t)stride * esz;
  unsigned char *d = malloc(n);
  memset(d, gap_byte, n);
  for (int64_t r = 0; r < rows; r++)
    memcpy(d + (size_t)r * (size_t)stride * esz, (const unsigned char *)src + (size_t)r * (size_t)cols * esz,
           (size_t)cols * esz);
  return d;
}
