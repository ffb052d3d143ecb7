/* The inputs saved for bench/peers (--save-inputs): .npy files that the peers
 * load, so that they time the same numbers. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "bench.h"

/* .npy v1.0 writer.  bf16 is stored as '<u2' bit patterns (NumPy has no
 * bfloat16); the file name says bf16. */
static void write_npy(const char *path, const char *descr, int ndim, const int64_t *shape,
                      const void *data, size_t bytes) {
  char hdr[256];
  int n;
  if (ndim == 1)
    n = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': (%lld,), }",
                 descr, (long long)shape[0]);
  else
    n = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': (%lld, %lld), }",
                 descr, (long long)shape[0], (long long)shape[1]);
  int total = 10 + n + 1;
  int pad = (64 - total % 64) % 64;
  FILE *f = fopen(path, "wb");
  if (!f) die("cannot write %s: %s", path, strerror(errno));
  uint16_t hl = (uint16_t)(n + pad + 1);
  fwrite("\x93NUMPY\x01\x00", 1, 8, f);
  fwrite(&hl, 2, 1, f);
  fwrite(hdr, 1, (size_t)n, f);
  for (int i = 0; i < pad; i++) fputc(' ', f);
  fputc('\n', f);
  if (fwrite(data, 1, bytes, f) != bytes) die("short write to %s", path);
  if (fclose(f) != 0) die("cannot close %s", path);
}

void save_host_data(const char *dir, const host_data *h) {
  char path[1024];
  mkdir(dir, 0777);
  int64_t shape[2] = {h->rows, h->cols};
  size_t bytes = (size_t)h->rows * (size_t)h->cols * dt_size(h->dt);
  const char *descr = h->dt == DT_F32 ? "<f4" : "<u2";
  snprintf(path, sizeof path, "%s/p_%lld_%s.npy", dir, (long long)h->cols, DT_NAMES[h->dt]);
  write_npy(path, descr, 2, shape, h->p, bytes);
  snprintf(path, sizeof path, "%s/q_%lld_%s.npy", dir, (long long)h->cols, DT_NAMES[h->dt]);
  write_npy(path, descr, 2, shape, h->q, bytes);
  snprintf(path, sizeof path, "%s/labels_%lld_%s.npy", dir, (long long)h->cols, DT_NAMES[h->dt]);
  write_npy(path, "<i8", 1, shape, h->labels, (size_t)h->rows * 8);
  fprintf(stderr, "saved inputs %lld x %lld %s to %s\n", (long long)h->rows,
          (long long)h->cols, DT_NAMES[h->dt], dir);
}

void save_matrix(const char *dir, const compute_case *c, const char *what, const float *data,
                 int64_t r0, int64_t r1) {
  char path[1024];
  mkdir(dir, 0777);
  int64_t shape[2] = {r0, r1};
  snprintf(path, sizeof path, "%s/%s_%s_%s.npy", dir, c->name, c->set, what);
  write_npy(path, "<f4", 2, shape, data, (size_t)(r0 * r1) * 4);
}
