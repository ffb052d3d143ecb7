/*
 * test_api.c — the small parts of the header: version, status names and
 * messages for every code, NULL handling, backend and divergence names.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "common.h"

Test(api, version) {
  cr_expect_eq(ie_version(), IE_VERSION_NUMBER);
  cr_expect_str_eq(ie_version_string(), IE_VERSION_STRING);
  cr_expect_eq(IE_VERSION_NUMBER,
               IE_VERSION_MAJOR * 1000000 + IE_VERSION_MINOR * 1000 + IE_VERSION_PATCH);
}

Test(api, status_names_and_strings) {
#define CHECK(name, code, msg)                                                     \
  cr_expect_eq(IE_##name, code);                                                   \
  cr_expect_str_eq(ie_status_name(IE_##name), "IE_" #name);                       \
  cr_expect_str_eq(ie_status_string(IE_##name), msg);
  IE_STATUS_MAP(CHECK)
#undef CHECK
  cr_expect_eq(IE_STATUS_COUNT_, 16);
  cr_expect_str_eq(ie_status_name((ie_status)999), "IE_UNKNOWN");
  cr_expect_str_eq(ie_status_name((ie_status)-1), "IE_UNKNOWN");
  cr_expect_str_eq(ie_status_name(IE_STATUS_COUNT_), "IE_UNKNOWN");
  cr_expect_not_null(ie_status_string((ie_status)999));
  cr_expect_not_null(ie_status_string((ie_status)-3));
}

Test(api, destroy_null) {
  ie_context_destroy(NULL);
  cr_expect(1);
}

Test(api, backend_names) {
  cr_expect_str_eq(ie_backend_name(IE_BACKEND_CPU), "cpu");
  cr_expect_str_eq(ie_backend_name(IE_BACKEND_CUDA), "cuda");
  cr_expect_str_eq(ie_backend_name(IE_BACKEND_OPENCL), "opencl");
  cr_expect_str_eq(ie_backend_name(IE_BACKEND_AUTO), "auto");
  cr_expect_not_null(ie_backend_name((ie_backend)77));
  cr_expect_eq(ie_backend_parse("auto"), IE_BACKEND_AUTO);
  cr_expect_eq(ie_backend_parse("cpu"), IE_BACKEND_CPU);
  cr_expect_eq(ie_backend_parse("cuda"), IE_BACKEND_CUDA);
  cr_expect_eq(ie_backend_parse("opencl"), IE_BACKEND_OPENCL);
  cr_expect_eq(ie_backend_parse("gpu"), -1);
  cr_expect_eq(ie_backend_parse(""), -1);
  cr_expect_eq(ie_backend_parse("cpu "), -1);
  cr_expect_eq(ie_backend_parse("cudax"), -1);
  cr_expect_eq(ie_backend_parse(NULL), -1);
  cr_expect_eq(ie_backend_compiled(IE_BACKEND_CPU), 1);
  cr_expect_eq(ie_backend_compiled((ie_backend)77), 0);
#ifdef IE_TEST_HAVE_CUDA
  cr_expect_eq(ie_backend_compiled(IE_BACKEND_CUDA), IE_TEST_HAVE_CUDA);
#endif
#ifdef IE_TEST_HAVE_OPENCL
  cr_expect_eq(ie_backend_compiled(IE_BACKEND_OPENCL), IE_TEST_HAVE_OPENCL);
#endif
}

Test(api, divergence_names) {
  const char *want[] = {
#define NAME(e, s) s,
      IE_DIVERGENCE_MAP(NAME)
#undef NAME
  };
  cr_expect_eq(sizeof want / sizeof want[0], (size_t)IE_DIV_COUNT_);
  for (int k = 0; k < IE_DIV_COUNT_; k++) {
    cr_expect_str_eq(ie_divergence_name((ie_divergence_kind)k), want[k]);
    cr_expect_eq(ie_divergence_parse(want[k]), k, "parse(%s)", want[k]);
  }
  cr_expect_eq(ie_divergence_parse("kullback"), -1);
  cr_expect_eq(ie_divergence_parse(""), -1);
  cr_expect_eq(ie_divergence_parse(NULL), -1);
  cr_expect_not_null(ie_divergence_name((ie_divergence_kind)99));
}

Test(api, context_basics) {
  ie_context *ctx = NULL;
  ie_context_options o = {.size = sizeof o, .backend = IE_BACKEND_CPU, .device = 0};
  cr_assert_eq(ie_context_create(&ctx, &o), IE_OK);
  cr_expect_eq(ie_context_backend(ctx), IE_BACKEND_CPU);
  cr_expect_not_null(ie_context_device_name(ctx));
  cr_expect_eq(ie_errcode(ctx), IE_OK);
  cr_expect_str_eq(ie_errmsg(ctx), "not an error");
  ie_context_destroy(ctx);
}

/* ie_host_alloc on every backend compiled in: usable memory, freed on the
 * same context; NULL is a no-op; a NULL out-pointer is refused. */
Test(api, host_alloc) {
  for (int b = IE_BACKEND_CPU; b <= IE_BACKEND_OPENCL; b++) {
    if (!ie_backend_compiled((ie_backend)b)) continue;
    ie_context *ctx = NULL;
    ie_context_options o = {.size = sizeof o, .backend = (ie_backend)b, .device = 0};
    if (ie_context_create(&ctx, &o) != IE_OK) {
      IE_TEST_NOTE("host_alloc: backend %s has no device here (%s): skipped",
                  ie_backend_name((ie_backend)b), ie_errmsg(ctx));
      ie_context_destroy(ctx);
      continue;
    }
    void *p = NULL;
    cr_assert_eq(ie_host_alloc(ctx, 1 << 20, &p), IE_OK, "%s", ie_errmsg(ctx));
    cr_assert_not_null(p);
    memset(p, 0x5a, 1 << 20);
    cr_expect_eq(((unsigned char *)p)[(1 << 20) - 1], 0x5a);
    ie_host_free(ctx, p);
    ie_host_free(ctx, NULL);
    cr_expect_eq(ie_host_alloc(ctx, 16, NULL), IE_INVALID_ARGUMENT);
    ie_context_destroy(ctx);
  }
}

/* Cancellation: with the context's flag set before the call, the kNN and
 * spectral calls return IE_CANCELLED naming themselves (their checks sit in
 * the query and set loops, on every backend here), and work again once the
 * flag is cleared.  (Sinkhorn's, also set from another thread mid-solve:
 * test_sinkhorn.c.) */
static void run_cancel(ie_backend be) {
  ie_context *ctx = tc_context(be);
  enum { N = 300, D = 3 };
  static float x[N * D];
  unsigned v = 7u;
  for (int i = 0; i < N * D; i++) x[i] = (float)((v = v * 1103515245u + 12345u) % 100000) / 1e4f;
  tc_tensor t;
  tc_tensor_2d(&t, x, TC_F32, N, D, 0);
  int flag = 1;
  ie_context_set_cancel_flag(ctx, &flag);
  ie_knn_estimator_options ko = {0};
  ko.size = sizeof ko;
  ie_knn_result kr;
  ie_vendi_options vo = {0};
  vo.size = sizeof vo;
  ie_matrix_entropy_options mo = {0};
  mo.size = sizeof mo;
  ie_spectral_result sr;
  for (int pass = 0; pass < 2; pass++) {
    const ie_status want = pass ? IE_OK : IE_CANCELLED;
    ie_status s = ie_knn_entropy(ctx, &t.t, &ko, &kr);
    cr_expect_eq(s, want, "ie_knn_entropy: %s: %s", ie_status_name(s), ie_errmsg(ctx));
    if (!pass) cr_expect(strstr(ie_errmsg(ctx), "ie_knn_entropy: cancelled") != NULL, "%s", ie_errmsg(ctx));
    s = ie_knn_mutual_information(ctx, &t.t, &t.t, &ko, &kr);
    cr_expect_eq(s, want, "ie_knn_mutual_information: %s: %s", ie_status_name(s), ie_errmsg(ctx));
    s = ie_vendi(ctx, &t.t, &vo, &sr);
    cr_expect_eq(s, want, "ie_vendi: %s: %s", ie_status_name(s), ie_errmsg(ctx));
    if (!pass) cr_expect(strstr(ie_errmsg(ctx), "ie_vendi: cancelled") != NULL, "%s", ie_errmsg(ctx));
    s = ie_matrix_entropy(ctx, &t.t, &mo, &sr);
    cr_expect_eq(s, want, "ie_matrix_entropy: %s: %s", ie_status_name(s), ie_errmsg(ctx));
    flag = 0;
  }
  cr_expect_eq(ie_errcode(ctx), IE_OK);
  ie_context_destroy(ctx);
}

Test(api, cancel_cpu) { run_cancel(IE_BACKEND_CPU); }
Test(api, cancel_cuda) {
  if (!ie_backend_compiled(IE_BACKEND_CUDA)) cr_skip_test("cuda: not compiled into this build");
  run_cancel(IE_BACKEND_CUDA);
}
Test(api, cancel_opencl) {
  if (!ie_backend_compiled(IE_BACKEND_OPENCL)) cr_skip_test("opencl: not compiled into this build");
  run_cancel(IE_BACKEND_OPENCL);
}
