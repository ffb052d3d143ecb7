/*
 * backend.c — the CPU backend's table: host memory is its memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../backend.h"
#include "../mauve.h"

ie_status ie__cpu_rows(ie_context *ctx, const ie_rowargs *ra, const ie_mat *x,
                       const ie_mat *y, const ie_vec *labels, double *val,
                       ie_rowerr *err);
ie_status ie__cpu_softmax(ie_context *ctx, const ie_mat *x, const ie_mat *out,
                          int log_out, double inv_temp, ie_rowerr *err);
ie_status ie__cpu_fill_nan(ie_context *ctx, const ie_mat *m);

typedef struct {
  char name[128];
} cpu_state;

/* The processor's model name, from /proc/cpuinfo where there is one. */
static void cpu_model(char *buf, size_t cap) {
  snprintf(buf, cap, "host CPU");
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f) return;
  char line[256];
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "model name", 10) == 0) {
      char *c = strchr(line, ':');
      if (c) {
        c += 1 + (c[1] == ' ');
        c[strcspn(c, "\n")] = 0;
        snprintf(buf, cap, "%s", c);
      }
      break;
    }
  }
  fclose(f);
}

static ie_status cpu_open(ie_context *ctx, int device, void **state) {
  if (device != 0)
    return ie__error(ctx, IE_BACKEND_UNAVAILABLE, "ie_context_create: the cpu backend has only device 0 (asked for %d)", device);
  cpu_state *st = calloc(1, sizeof *st);
  if (!st) return ie__error(ctx, IE_OUT_OF_MEMORY, "ie_context_create: out of host memory");
  cpu_model(st->name, sizeof st->name);
  *state = st;
  return IE_OK;
}

static void cpu_close(void *state) { free(state); }
static const char *cpu_device_name(void *state) { return ((cpu_state *)state)->name; }

static ie_status cpu_alloc(ie_context *ctx, size_t bytes, void **buf) {
  *buf = malloc(bytes ? bytes : 1);
  if (!*buf) return ie__error(ctx, IE_OUT_OF_MEMORY, "out of host memory (%zu bytes)", bytes);
  return IE_OK;
}

static void cpu_free(ie_context *ctx, void *buf) {
  (void)ctx;
  free(buf);
}

static ie_status cpu_upload(ie_context *ctx, void *dst, size_t off, const void *src, size_t n) {
  (void)ctx;
  if (n) memcpy((char *)dst + off, src, n);
  return IE_OK;
}

static ie_status cpu_download(ie_context *ctx, void *dst, const void *src, size_t off, size_t n) {
  (void)ctx;
  if (n) memcpy(dst, (const char *)src + off, n);
  return IE_OK;
}

extern const struct ie_sk_ops ie__cpu_sk_ops; /* src/cpu/sinkhorn.c */
extern const struct ie_disc_ops ie__cpu_disc_ops; /* src/cpu/discrete.c */

/* src/cpu/spectral.c; the eigen step is the host LAPACK one of src/spectral.c. */
ie_status ie__cpu_gram(ie_context *ctx, const ie_mat *x, int64_t sets, ie_kernel kernel,
                       double gamma, int dual, double scale, int mul, ie_dtype dt, void *out,
                       ie_rowerr *err, double *dev);
ie_status ie__cpu_eigvalsh(ie_context *ctx, void *a, ie_dtype dt, int64_t sets, int64_t m,
                           double *w);

/* src/cpu/knn.c */
ie_status ie__cpu_knn(ie_context *ctx, const ie_mat *q, const ie_mat *r, int64_t k,
                      ie_knn_metric metric, int self, int64_t *idx, double *dist);
ie_status ie__cpu_range_count(ie_context *ctx, const ie_mat *q, const ie_mat *r,
                              const double *radius, int self, int64_t *count);

const ie_backend_ops ie__cpu_ops = {
    .name = "cpu",
    .kind = IE_BACKEND_CPU,
    .open = cpu_open,
    .close = cpu_close,
    .device_name = cpu_device_name,
    .is_gpu = NULL,
    .alloc = cpu_alloc,
    .free = cpu_free,
    .upload = cpu_upload,
    .download = cpu_download,
    .fill_nan = ie__cpu_fill_nan,
    .softmax = ie__cpu_softmax,
    .rows = ie__cpu_rows,
    .sinkhorn = &ie__cpu_sk_ops,
    .gram = ie__cpu_gram,
    .eigvalsh = ie__cpu_eigvalsh,
    .knn = ie__cpu_knn,
    .range_count = ie__cpu_range_count,
    .mauve = &ie__cpu_mauve_ops,
    .discrete = &ie__cpu_disc_ops,
};
