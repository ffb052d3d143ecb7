/*
 * test_options.c — the `size` rule of versioned options structs
 * (include/infoest.h "Options structs", src/options.h).
 *
 * A struct of two versions stands for any options struct after a field is
 * added: an old caller compiled against version 1 hands the library its
 * smaller struct, placed right before an unreadable page, so reading one
 * byte past it crashes.  Then the public calls: size 0 and sizeof work,
 * a size below the first version is refused.  A plain program.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "infoest.h"
#include "options.h"

static int n_fail, n_checks;
#define CHECK(cond, ...)                            \
  do {                                              \
    n_checks++;                                     \
    if (!(cond)) {                                  \
      n_fail++;                                     \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
      fprintf(stderr, __VA_ARGS__);                 \
      fputc('\n', stderr);                          \
    }                                               \
  } while (0)

typedef struct { /* version 1 */
  size_t size;
  double a;
  int b;
} opts_v1;
typedef struct { /* version 2: c and d added (after v1's sizeof) */
  size_t size;
  double a;
  int b;
  int pad_; /* v1's tail padding stays unused */
  double c;
  const void *d;
} opts_v2;

/* `bytes` bytes that end where an unreadable page begins. */
static void *at_page_end(size_t bytes, void **map, size_t *maplen) {
  const size_t pg = (size_t)sysconf(_SC_PAGESIZE);
  *maplen = 2 * pg;
  char *m = mmap(NULL, *maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return NULL;
  if (mprotect(m + pg, pg, PROT_NONE) != 0) return NULL;
  *map = m;
  return m + pg - bytes;
}

static void two_versions(void) {
  opts_v2 probe;
  const size_t first = IE__FIRST_SIZE(probe, b);
  CHECK(first == offsetof(opts_v1, b) + sizeof(int), "first-version size %zu", first);

  void *map;
  size_t maplen;
  opts_v1 *old = at_page_end(sizeof(opts_v1), &map, &maplen);
  if (!old) {
    fprintf(stderr, "mmap failed\n");
    exit(2);
  }
  /* an old caller that zeroed its struct: size 0 */
  memset(old, 0, sizeof *old);
  old->a = 2.5;
  old->b = 7;
  opts_v2 got;
  memset(&got, 0x5a, sizeof got);
  CHECK(ie__options_copy(&got, sizeof got, old, old->size, first), "size 0 refused");
  CHECK(got.a == 2.5 && got.b == 7, "size 0: v1 fields not read (a %g b %d)", got.a, got.b);
  CHECK(got.c == 0 && got.d == NULL && got.size == 0, "size 0: v2 fields not at their defaults");
  /* an old caller that set size = sizeof its struct */
  old->size = sizeof *old;
  memset(&got, 0x5a, sizeof got);
  CHECK(ie__options_copy(&got, sizeof got, old, old->size, first), "size = sizeof v1 refused");
  CHECK(got.a == 2.5 && got.b == 7 && got.c == 0 && got.d == NULL,
        "size = sizeof v1: v1 fields read, v2 fields at their defaults");
  /* a garbage size below the first version */
  for (size_t s = 1; s < first; s++)
    CHECK(!ie__options_copy(&got, sizeof got, old, s, first), "size %zu accepted", s);
  munmap(map, maplen);

  /* a new caller: every field */
  opts_v2 *cur = at_page_end(sizeof(opts_v2), &map, &maplen);
  memset(cur, 0, sizeof *cur);
  cur->size = sizeof *cur;
  cur->a = 1;
  cur->b = 2;
  cur->c = 3;
  cur->d = cur;
  CHECK(ie__options_copy(&got, sizeof got, cur, cur->size, first), "size = sizeof v2 refused");
  CHECK(got.a == 1 && got.b == 2 && got.c == 3 && got.d == cur, "size = sizeof v2: fields not read");
  /* a newer caller on this library: what the library knows is read */
  opts_v1 older;
  memset(&older, 0x5a, sizeof older);
  CHECK(ie__options_copy(&older, sizeof older, cur, cur->size, first) && older.a == 1 && older.b == 2,
        "a larger size than the library's struct");
  munmap(map, maplen);
  /* NULL: defaults */
  memset(&got, 0x5a, sizeof got);
  CHECK(ie__options_copy(&got, sizeof got, NULL, 0, first) && got.a == 0 && got.c == 0 && got.d == NULL,
        "NULL options: not all defaults");
}

/* The public calls: an options struct with size 0 at the end of readable
 * memory works; a size below the first version is IE_INVALID_ARGUMENT. */
static void public_calls(void) {
  ie_context *ctx = NULL;
  ie_context_options co = {.size = 0, .backend = IE_BACKEND_CPU};
  CHECK(ie_context_create(&ctx, &co) == IE_OK, "context with size 0: %s", ie_errmsg(ctx));
  float v[2 * 3] = {0, 1, 2, 3, 1, 0};
  int64_t shape[2] = {2, 3};
  DLTensor x = {v, {kDLCPU, 0}, 2, {kDLFloat, 32, 1}, shape, NULL, 0};

  void *map;
  size_t maplen;
  ie_entropy_options *eo = at_page_end(sizeof *eo, &map, &maplen);
  memset(eo, 0, sizeof *eo);
  eo->kind = IE_ENTROPY_RENYI;
  eo->alpha = 2;
  ie_summary sm;
  CHECK(ie_entropy(ctx, &x, NULL, eo, &sm) == IE_OK, "size 0: %s", ie_errmsg(ctx));
  /* Rényi order 2 of softmax(0, 1, 2) and (3, 1, 0), in float64 here */
  double ref = 0;
  for (int r = 0; r < 2; r++) {
    double z = 0, s2 = 0;
    for (int i = 0; i < 3; i++) z += exp(v[3 * r + i]);
    for (int i = 0; i < 3; i++) s2 += exp(2 * v[3 * r + i]) / (z * z);
    ref += -log(s2) / 2;
  }
  CHECK(fabs(sm.mean - ref) < 1e-6, "size 0: the options were not read (mean %.9g, Renyi-2 %.9g)", sm.mean, ref);
  eo->size = sizeof *eo;
  CHECK(ie_entropy(ctx, &x, NULL, eo, &sm) == IE_OK && fabs(sm.mean - ref) < 1e-6, "size = sizeof");
  for (size_t s = 1; s < offsetof(ie_entropy_options, row_weights) + sizeof(void *); s += 7) {
    eo->size = s;
    ie_status st = ie_entropy(ctx, &x, NULL, eo, &sm);
    CHECK(st == IE_INVALID_ARGUMENT && strstr(ie_errmsg(ctx), "options size"), "size %zu: %s (%s)", s,
          ie_status_name(st), ie_errmsg(ctx));
  }
  munmap(map, maplen);

  ie_context_options *o = at_page_end(sizeof *o, &map, &maplen);
  memset(o, 0, sizeof *o);
  o->backend = IE_BACKEND_CPU;
  ie_context *c2 = NULL;
  CHECK(ie_context_create(&c2, o) == IE_OK && ie_context_backend(c2) == IE_BACKEND_CPU,
        "context options with size 0 at a page end");
  ie_context_destroy(c2);
  o->size = 4;
  CHECK(ie_context_create(&c2, o) == IE_INVALID_ARGUMENT && strstr(ie_errmsg(c2), "options size"),
        "context options size 4 accepted");
  ie_context_destroy(c2);
  munmap(map, maplen);
  ie_context_destroy(ctx);
}

int main(void) {
  two_versions();
  public_calls();
  printf("test_options: %d checks, %d failures\n", n_checks, n_fail);
  return n_fail ? 1 : 0;
}
