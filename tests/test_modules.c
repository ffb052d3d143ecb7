/*
 * test_modules.c — the backends as modules (src/registry.c): the core
 * library links no GPU library; a module that is missing, is not a shared
 * object, or is not an infoest module gives IE_BACKEND_UNAVAILABLE with a
 * message naming it, never a failed load of the library; the modules of the
 * build tree are found beside the core.  Built twice: against libinfoest.so
 * and, with IE_TEST_STATIC, against libinfoest.a (every backend compiled in,
 * no module looked for).  Criterion runs each test in its own process, so
 * each starts with no module loaded.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <unistd.h>

#include "infoest.h"

/* The extras of infoest_cuda.h / infoest_opencl.h, whose handle types are
 * pointers, declared without the GPU headers (as the core defines them). */
ie_status ie_opencl_set_queue(ie_context *ctx, void *queue);
ie_status ie_opencl_get_context(const ie_context *ctx, void **c, void **d, void **q);
ie_status ie_cuda_set_stream(ie_context *ctx, void *stream);
ie_status ie_cuda_get_stream(const ie_context *ctx, void **stream);

static const ie_backend gpus[] = {IE_BACKEND_CUDA, IE_BACKEND_OPENCL};

static ie_status open_ctx(ie_backend b, ie_context **ctx) {
  ie_context_options o = {.size = sizeof o, .backend = b};
  *ctx = NULL;
  return ie_context_create(ctx, &o);
}

/* An entropy on the context works (the table is usable). */
static void check_works(ie_context *ctx) {
  float x[5] = {0.5f, -1.0f, 2.0f, 0.0f, 25.0f};
  double h = -1;
  int64_t shx[1] = {5}, sho[1] = {1};
  DLTensor X = {x, {kDLCPU, 0}, 1, {kDLFloat, 32, 1}, shx, NULL, 0};
  DLTensor O = {&h, {kDLCPU, 0}, 1, {kDLFloat, 64, 1}, sho, NULL, 0};
  cr_assert_eq(ie_entropy(ctx, &X, &O, NULL, NULL), IE_OK, "%s", ie_errmsg(ctx));
  /* float64 reference: Shannon entropy of softmax(x) */
  double m = 25, s = 0, e = 0;
  for (int i = 0; i < 5; i++) s += exp(x[i] - m);
  for (int i = 0; i < 5; i++) {
    double p = exp(x[i] - m) / s;
    e -= p * log(p);
  }
  cr_expect(fabs(h - e) <= 1e-6 * fabs(e) + 1e-9, "entropy %.17g, expected %.17g", h, e);
}

#ifndef IE_TEST_STATIC
static const char *module_name(ie_backend b) {
  return b == IE_BACKEND_CUDA ? "libinfoest-cuda.so" : "libinfoest-opencl.so";
}

Test(modules, core_links_no_gpu_library) {
  static const char *const gpu[] = {"libcuda", "libcudart", "libcublas", "libcusolver",
                                    "libcusparse", "libnvJitLink", "libnvrtc", "libOpenCL"};
  const char *cmds[] = {"readelf -d '" IE_TEST_CORE_LIB "'", "ldd '" IE_TEST_CORE_LIB "'"};
  for (int c = 0; c < 2; c++) {
    FILE *f = popen(cmds[c], "r");
    cr_assert_not_null(f, "cannot run %s", cmds[c]);
    char line[1024];
    int lines = 0, libc = 0;
    while (fgets(line, sizeof line, f)) {
      lines++;
      if (strstr(line, "libc.so")) libc = 1;
      for (size_t i = 0; i < sizeof gpu / sizeof *gpu; i++)
        cr_expect(strstr(line, gpu[i]) == NULL, "%s: the core library needs a GPU library: %s",
                  cmds[c], line);
    }
    cr_expect_eq(pclose(f), 0, "%s failed", cmds[c]);
    cr_expect(lines > 0 && libc, "%s printed no dependency list (%d lines)", cmds[c], lines);
  }
}

Test(modules, missing_module_is_unavailable) {
  char dir[] = IE_TEST_TMP "/no-modules-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char path[1200];
  snprintf(path, sizeof path, "%s/nothing:%s", dir, dir); /* two entries, neither has it */
  cr_assert_eq(setenv("IE_BACKEND_PATH", path, 1), 0);
  for (size_t i = 0; i < 2; i++) {
    ie_context *ctx;
    ie_status s = open_ctx(gpus[i], &ctx);
    cr_expect_eq(s, IE_BACKEND_UNAVAILABLE, "%s: %s", ie_backend_name(gpus[i]), ie_status_name(s));
    cr_expect_eq(ie_errcode(ctx), IE_BACKEND_UNAVAILABLE);
    const char *msg = ie_errmsg(ctx);
    if (ie_backend_compiled(gpus[i])) {
      cr_expect(strstr(msg, module_name(gpus[i])) && strstr(msg, dir) && strstr(msg, "IE_BACKEND_PATH"),
                "%s: the message names neither the module nor where it was looked for: %s",
                ie_backend_name(gpus[i]), msg);
    } else {
      cr_expect(strstr(msg, "not compiled"), "%s: %s", ie_backend_name(gpus[i]), msg);
    }
    ie_context_destroy(ctx);
  }
  /* auto falls back to the CPU, which is the core's */
  ie_context *ctx = NULL;
  cr_assert_eq(ie_context_create(&ctx, NULL), IE_OK, "%s", ie_errmsg(ctx));
  cr_expect_eq(ie_context_backend(ctx), IE_BACKEND_CPU);
  check_works(ctx);
  cr_expect_eq(ie_opencl_set_queue(ctx, NULL), IE_INVALID_ARGUMENT);
  cr_expect(strstr(ie_errmsg(ctx), "not an OpenCL context"), "%s", ie_errmsg(ctx));
  void *q = NULL;
  cr_expect_eq(ie_cuda_get_stream(ctx, &q), IE_INVALID_ARGUMENT);
  cr_expect_eq(ie_cuda_set_stream(NULL, NULL), IE_INVALID_ARGUMENT);
  ie_context_destroy(ctx);
  rmdir(dir);
}

/* A file of the module's name that is not a shared object, and a shared
 * object that is not an infoest module (the core library itself). */
Test(modules, broken_module_is_unavailable) {
  if (!ie_backend_compiled(IE_BACKEND_OPENCL)) cr_skip_test("SKIPPED: opencl not built");
  char dir[] = IE_TEST_TMP "/bad-modules-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char file[1200], cmd[2600];
  snprintf(file, sizeof file, "%s/libinfoest-opencl.so", dir);
  FILE *f = fopen(file, "w");
  cr_assert_not_null(f);
  fputs("not an ELF file\n", f);
  fclose(f);
  cr_assert_eq(setenv("IE_BACKEND_PATH", dir, 1), 0);
  ie_context *ctx;
  cr_expect_eq(open_ctx(IE_BACKEND_OPENCL, &ctx), IE_BACKEND_UNAVAILABLE);
  cr_expect(strstr(ie_errmsg(ctx), "failed to load") && strstr(ie_errmsg(ctx), file),
            "%s", ie_errmsg(ctx));
  ie_context_destroy(ctx);
  snprintf(cmd, sizeof cmd, "cp '%s' '%s'", IE_TEST_CORE_LIB, file);
  cr_assert_eq(system(cmd), 0);
  cr_expect_eq(open_ctx(IE_BACKEND_OPENCL, &ctx), IE_BACKEND_UNAVAILABLE);
  cr_expect(strstr(ie_errmsg(ctx), "not an infoest module") && strstr(ie_errmsg(ctx), file),
            "%s", ie_errmsg(ctx));
  ie_context_destroy(ctx);
  unlink(file);
  rmdir(dir);
}
#endif

/* From the build tree (no IE_BACKEND_PATH), every module built is found
 * beside the core and loads: a context opens, or the message is about the
 * device or driver, not the module. */
Test(modules, build_tree_modules_load) {
  unsetenv("IE_BACKEND_PATH");
  for (size_t i = 0; i < 2; i++) {
    ie_backend b = gpus[i];
    if (!ie_backend_compiled(b)) continue;
    ie_context *ctx;
    ie_status s = open_ctx(b, &ctx);
    const char *msg = ie_errmsg(ctx);
    int module_failed = strstr(msg, "is not in") || strstr(msg, "failed to load") ||
                        strstr(msg, "not an infoest module") || strstr(msg, "reinstall");
    cr_expect(s == IE_OK || (s == IE_BACKEND_UNAVAILABLE && !module_failed), "%s: %s: %s",
              ie_backend_name(b), ie_status_name(s), msg);
    if (s == IE_OK) {
      check_works(ctx);
      void *c = NULL, *d = NULL, *q = NULL;
      if (b == IE_BACKEND_OPENCL) {
        cr_expect_eq(ie_opencl_get_context(ctx, &c, &d, &q), IE_OK);
        cr_expect(c && d && q, "ie_opencl_get_context gave a NULL handle");
        cr_expect_eq(ie_opencl_set_queue(ctx, q), IE_OK, "%s", ie_errmsg(ctx));
        cr_expect_eq(ie_cuda_set_stream(ctx, NULL), IE_INVALID_ARGUMENT);
        check_works(ctx);
      } else {
        cr_expect_eq(ie_cuda_get_stream(ctx, &q), IE_OK);
        cr_expect_eq(ie_cuda_set_stream(ctx, q), IE_OK, "%s", ie_errmsg(ctx));
      }
    } else {
      cr_log_info("%s: module found; no driver or device here: %s", ie_backend_name(b), msg);
    }
    ie_context_destroy(ctx);
  }
}
