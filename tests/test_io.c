/*
 * test_io.c — cli/io.h: .npy (versions 1-3, every dtype) and .safetensors
 * against files NumPy and a hand-written encoder produced (tests/vectors/io,
 * made by tests/gen_vectors.py), broken files of every kind (a clear
 * message, never a crash or an out-of-bounds read), and the writer
 * (byte-identical to numpy.save, temporary file then rename, abort unlinks).
 */
#define _FILE_OFFSET_BITS 64
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"

#ifndef IE_TEST_VECTORS
#  error "IE_TEST_VECTORS must be defined"
#endif
#ifndef IE_TEST_TMP
#  error "IE_TEST_TMP must be defined"
#endif

#define IO IE_TEST_VECTORS "/io/"

static void *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f, "cannot open %s", path);
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  void *p = malloc((size_t)len + 1);
  cr_assert_eq(fread(p, 1, (size_t)len, f), (size_t)len);
  fclose(f);
  *n = (size_t)len;
  return p;
}

static int all_zero(const void *p, size_t n) {
  const unsigned char *c = p;
  for (size_t k = 0; k < n; k++)
    if (c[k]) return 0;
  return 1;
}

/* Open spec, read everything, compare with the raw little-endian bytes. */
static void expect_npy(const char *spec, const char *raw, uint8_t code, uint8_t bits,
                       int ndim, const int64_t *shape) {
  ieio_info info;
  char err[512] = "";
  int r = ieio_open_info(spec, &info, err, sizeof err);
  cr_assert_eq(r, 0, "%s: %s", spec, err);
  cr_expect_eq(info.dtype.code, code, "%s: dtype code %u", spec, info.dtype.code);
  cr_expect_eq(info.dtype.bits, bits, "%s: dtype bits %u", spec, info.dtype.bits);
  cr_expect_eq(info.dtype.lanes, 1);
  cr_expect_eq(info.ndim, ndim, "%s: ndim %d", spec, info.ndim);
  for (int k = 0; k < ndim && k < info.ndim; k++)
    cr_expect_eq(info.shape[k], shape[k], "%s: shape[%d] = %lld", spec, k, (long long)info.shape[k]);
  void *data = NULL;
  cr_assert_eq(ieio_read_all(&info, &data, err, sizeof err), 0, "%s: %s", spec, err);
  if (raw) {
    size_t n;
    void *want = slurp(raw, &n);
    cr_expect_eq(info.nbytes, n, "%s: nbytes %llu, raw %zu", spec, (unsigned long long)info.nbytes, n);
    cr_expect(memcmp(data, want, n < info.nbytes ? n : info.nbytes) == 0, "%s: data differ", spec);
    /* rows one at a time */
    if (info.ndim >= 1 && info.shape[0] > 0) {
      size_t rb = (size_t)info.nbytes / (size_t)info.shape[0];
      unsigned char *row = malloc(rb + 1);
      for (int64_t i = 0; i < info.shape[0]; i++) {
        cr_assert_eq(ieio_read_rows(&info, i, 1, row, err, sizeof err), 0, "%s", err);
        cr_expect(memcmp(row, (unsigned char *)want + (size_t)i * rb, rb) == 0, "%s row %lld", spec, (long long)i);
      }
      free(row);
    }
    free(want);
  }
  free(data);
}

/* Opening must fail with a message that contains every needle. */
static void expect_fail(const char *spec, const char *n1, const char *n2) {
  ieio_info info;
  memset(&info, 0x5A, sizeof info);
  char err[1024] = "";
  int r = ieio_open_info(spec, &info, err, sizeof err);
  cr_expect_neq(r, 0, "%s: opened, expected a failure", spec);
  cr_expect(all_zero(&info, sizeof info), "%s: info not zeroed on failure", spec);
  cr_expect(strlen(err) > 0, "%s: empty message", spec);
  if (n1) cr_expect(strstr(err, n1) != NULL, "%s: message lacks \"%s\": %s", spec, n1, err);
  if (n2) cr_expect(strstr(err, n2) != NULL, "%s: message lacks \"%s\": %s", spec, n2, err);
}

Test(npy, every_dtype) {
  const int64_t sh[2] = {3, 5};
  expect_npy(IO "f2.npy", IO "f2.raw", kDLFloat, 16, 2, sh);
  expect_npy(IO "f4.npy", IO "f4.raw", kDLFloat, 32, 2, sh);
  expect_npy(IO "f8.npy", IO "f8.raw", kDLFloat, 64, 2, sh);
  expect_npy(IO "i4.npy", IO "i4.raw", kDLInt, 32, 2, sh);
  expect_npy(IO "i8.npy", IO "i8.raw", kDLInt, 64, 2, sh);
  expect_npy(IO "u1.npy", IO "u1.raw", kDLUInt, 8, 2, sh);
  expect_npy(IO "b1.npy", IO "b1.raw", 6 /* kDLBool */, 8, 2, sh);
}

Test(npy, versions_and_shapes) {
  const int64_t sh[2] = {3, 5};
  expect_npy(IO "v2.npy", IO "f4.raw", kDLFloat, 32, 2, sh);
  expect_npy(IO "v3.npy", IO "f4.raw", kDLFloat, 32, 2, sh);
  const int64_t sh1[1] = {5};
  expect_npy(IO "fortran_1d.npy", NULL, kDLFloat, 32, 1, sh1); /* 1-D: Fortran == C */
  expect_npy(IO "scalar.npy", NULL, kDLFloat, 32, 0, NULL);
  const int64_t sh0[2] = {0, 7};
  expect_npy(IO "empty.npy", NULL, kDLFloat, 32, 2, sh0);
}

Test(npy, broken_files) {
  expect_fail(IO "fortran.npy", "fortran.npy", "Fortran");
  expect_fail(IO "bigendian.npy", "bigendian.npy", ">f4");
  expect_fail(IO "complex.npy", "complex.npy", "<c8");
  expect_fail(IO "structured.npy", "structured.npy", "structured");
  expect_fail(IO "truncated_data.npy", "truncated_data.npy", "bytes");
  expect_fail(IO "truncated_header.npy", "truncated_header.npy", NULL);
  expect_fail(IO "tiny.npy", "tiny.npy", NULL);
  expect_fail(IO "hlen_beyond.npy", "hlen_beyond.npy", "header length");
  expect_fail(IO "shape_overflow.npy", "shape_overflow.npy", "overflow");
  expect_fail(IO "bad_header.npy", "bad_header.npy", "malformed");
  expect_fail(IO "no_such_file.npy", "no_such_file.npy", NULL);
  expect_fail(IO "f4.raw", "f4.raw", NULL);
  expect_fail(IO "f4.npy:tensor", "f4.npy", NULL);
  expect_fail(NULL, NULL, NULL);
}

Test(npy, read_rows_bounds) {
  ieio_info info;
  char err[512];
  cr_assert_eq(ieio_open_info(IO "f4.npy", &info, err, sizeof err), 0, "%s", err);
  float buf[3 * 5];
  cr_expect_eq(ieio_read_rows(&info, 1, 2, buf, err, sizeof err), 0, "%s", err);
  cr_expect_neq(ieio_read_rows(&info, 2, 2, buf, err, sizeof err), 0);
  cr_expect(strstr(err, "f4.npy") != NULL, "%s", err);
  cr_expect_neq(ieio_read_rows(&info, -1, 1, buf, err, sizeof err), 0);
  cr_expect_neq(ieio_read_rows(&info, 0, -1, buf, err, sizeof err), 0);
  cr_expect_neq(ieio_read_rows(&info, INT64_MAX, 1, buf, err, sizeof err), 0);
  cr_expect_eq(ieio_read_rows(&info, 3, 0, buf, err, sizeof err), 0);
  /* a file truncated after it was opened: a short read is an error */
  char path[1024];
  snprintf(path, sizeof path, "%s/trunc_after_open.npy", IE_TEST_TMP);
  size_t n;
  void *good = slurp(IO "f4.npy", &n);
  FILE *f = fopen(path, "wb");
  fwrite(good, 1, n, f);
  fclose(f);
  cr_assert_eq(ieio_open_info(path, &info, err, sizeof err), 0, "%s", err);
  cr_assert_eq(truncate(path, (off_t)n - 10), 0);
  cr_expect_neq(ieio_read_rows(&info, 0, 3, buf, err, sizeof err), 0);
  cr_expect(strstr(err, "trunc_after_open.npy") != NULL, "%s", err);
  void *all = NULL;
  cr_expect_neq(ieio_read_all(&info, &all, err, sizeof err), 0);
  cr_expect_null(all);
  unlink(path);
  free(good);
}

Test(npy, as_dltensor) {
  ieio_info info;
  char err[512];
  cr_assert_eq(ieio_open_info(IO "f8.npy", &info, err, sizeof err), 0, "%s", err);
  void *data;
  cr_assert_eq(ieio_read_all(&info, &data, err, sizeof err), 0, "%s", err);
  int64_t shape[IEIO_MAX_NDIM];
  DLTensor t;
  ieio_as_dltensor(&info, data, shape, &t);
  cr_expect_eq(t.data, data);
  cr_expect_eq(t.ndim, 2);
  cr_expect_eq(t.shape, shape);
  cr_expect_eq(t.shape[0], 3);
  cr_expect_eq(t.shape[1], 5);
  cr_expect_eq(t.device.device_type, kDLCPU);
  cr_expect_eq(t.dtype.code, kDLFloat);
  cr_expect_eq(t.dtype.bits, 64);
  cr_expect_eq(t.byte_offset, 0);
  free(data);
}

/* A sparse file of 4.8 GB: offsets past 4 GiB must work. */
Test(npy, beyond_4GiB) {
  char path[1024], err[512];
  snprintf(path, sizeof path, "%s/big_sparse.npy", IE_TEST_TMP);
  const int64_t n = 1200000000; /* float32: 4.8e9 bytes */
  char hdr[128];
  memset(hdr, ' ', sizeof hdr);
  memcpy(hdr, "\x93NUMPY\x01\x00", 8);
  hdr[8] = (char)(118 & 0xFF);
  hdr[9] = 0;
  const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (1200000000,), }";
  memcpy(hdr + 10, dict, strlen(dict));
  hdr[127] = '\n';
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f);
  fwrite(hdr, 1, sizeof hdr, f);
  fclose(f);
  if (truncate(path, (off_t)(128 + 4 * n)) != 0) {
    unlink(path);
    cr_skip_test("SKIPPED: cannot make a sparse 4.8 GB file here");
  }
  f = fopen(path, "r+b");
  float last = 42.5f, first = -1.25f;
  cr_assert_eq(fseeko(f, (off_t)(128 + 4 * (n - 1)), SEEK_SET), 0);
  fwrite(&last, 4, 1, f);
  fseeko(f, 128, SEEK_SET);
  fwrite(&first, 4, 1, f);
  fclose(f);
  ieio_info info;
  cr_assert_eq(ieio_open_info(path, &info, err, sizeof err), 0, "%s", err);
  cr_expect_eq(info.nbytes, (uint64_t)(4 * n));
  cr_expect_eq(info.data_offset, 128);
  float v[2] = {0, 0};
  cr_assert_eq(ieio_read_rows(&info, n - 1, 1, v, err, sizeof err), 0, "%s", err);
  cr_expect_eq(v[0], 42.5f);
  cr_assert_eq(ieio_read_rows(&info, 0, 1, v, err, sizeof err), 0, "%s", err);
  cr_expect_eq(v[0], -1.25f);
  cr_assert_eq(ieio_read_rows(&info, (int64_t)1100000000, 2, v, err, sizeof err), 0, "%s", err);
  cr_expect(v[0] == 0.0f && v[1] == 0.0f);
  unlink(path);
}

/* ---- safetensors ----------------------------------------------------------------- */

Test(safetensors, good) {
  const int64_t sh[2] = {3, 5}, shl[1] = {5}, sh1[2] = {1, 5};
  expect_npy(IO "good.safetensors:logits", IO "f4.raw", kDLFloat, 32, 2, sh);
  expect_npy(IO "good.safetensors:half", IO "f2.raw", kDLFloat, 16, 2, sh);
  expect_npy(IO "good.safetensors:brain", IO "brain.raw", kDLBfloat, 16, 2, sh);
  expect_npy(IO "good.safetensors:dbl", IO "f8.raw", kDLFloat, 64, 2, sh);
  expect_npy(IO "good.safetensors:i32", IO "i4.raw", kDLInt, 32, 2, sh);
  expect_npy(IO "good.safetensors:labels", NULL, kDLInt, 64, 1, shl);
  expect_npy(IO "good.safetensors:u8", IO "u1.raw", kDLUInt, 8, 2, sh);
  expect_npy(IO "good.safetensors:mask", IO "b1.raw", 6, 8, 2, sh);
  /* a name with a quote and a non-ASCII letter (JSON escapes decoded) */
  expect_npy(IO "good.safetensors:weird \"name\" \xc3\xa9", NULL, kDLFloat, 32, 2, sh1);
  /* one tensor: the name may be left out */
  expect_npy(IO "single.safetensors", IO "f4.raw", kDLFloat, 32, 2, sh);
  expect_npy(IO "single.safetensors:only", IO "f4.raw", kDLFloat, 32, 2, sh);
  ieio_info info;
  char err[512];
  cr_assert_eq(ieio_open_info(IO "good.safetensors:labels", &info, err, sizeof err), 0, "%s", err);
  cr_expect_str_eq(info.name, "labels");
  int64_t lab[5];
  cr_assert_eq(ieio_read_rows(&info, 0, 5, lab, err, sizeof err), 0, "%s", err);
  const int64_t want[5] = {3, 1, 4, 1, 5};
  cr_expect(memcmp(lab, want, sizeof want) == 0);
}

Test(safetensors, broken_files) {
  expect_fail(IO "good.safetensors:nope", "good.safetensors", "nope");
  expect_fail(IO "good.safetensors", "good.safetensors", "logits"); /* several: lists them */
  expect_fail(IO "good.safetensors:__metadata__", "good.safetensors", "__metadata__");
  expect_fail(IO "truncated.safetensors:mask", "truncated.safetensors", "mask");
  expect_fail(IO "hlen_beyond.safetensors:logits", "hlen_beyond.safetensors", "header length");
  expect_fail(IO "short.safetensors:logits", "short.safetensors", "truncated");
  expect_fail(IO "badjson.safetensors:x", "badjson.safetensors", "JSON");
  expect_fail(IO "offsets_mismatch.safetensors:logits", "offsets_mismatch.safetensors", "logits");
  expect_fail(IO "offsets_beyond.safetensors:logits", "offsets_beyond.safetensors", "logits");
  expect_fail(IO "shape_overflow.safetensors:logits", "shape_overflow.safetensors", "overflow");
  expect_fail(IO "shape_negative.safetensors:logits", "shape_negative.safetensors", "logits");
  expect_fail(IO "dtype_unsupported.safetensors:logits", "dtype_unsupported.safetensors", "F8_E4M3");
  expect_fail(IO "missing.safetensors:x", "missing.safetensors", NULL);
  /* the other tensors of a file with one broken entry are still readable */
  const int64_t sh[2] = {3, 5};
  expect_npy(IO "offsets_mismatch.safetensors:half", IO "f2.raw", kDLFloat, 16, 2, sh);
}

/* Fuzz: every truncation and many byte flips of a good file either open
 * cleanly with a consistent info or fail with a message; never crash.  (Run
 * under -DIE_SANITIZE=address to check the "no out-of-bounds read" part.) */
Test(safetensors, fuzz, .timeout = 120) {
  size_t n;
  unsigned char *good = slurp(IO "good.safetensors", &n);
  char path[1024], spec[1100], err[1024];
  snprintf(path, sizeof path, "%s/fuzz.safetensors", IE_TEST_TMP);
  snprintf(spec, sizeof spec, "%s:logits", path);
  unsigned seed = 7;
  for (size_t trial = 0; trial < 1500; trial++) {
    unsigned char *b = malloc(n);
    memcpy(b, good, n);
    size_t len = n;
    if (trial < 300) {
      len = (size_t)trial * n / 300;
    } else {
      for (int k = 0; k < 3; k++) {
        seed = seed * 1103515245u + 12345u;
        size_t pos = (seed >> 8) % (n < 400 ? n : 400); /* mostly the header */
        seed = seed * 1103515245u + 12345u;
        b[pos] = (unsigned char)(seed >> 16);
      }
    }
    FILE *f = fopen(path, "wb");
    fwrite(b, 1, len, f);
    fclose(f);
    ieio_info info;
    if (ieio_open_info(spec, &info, err, sizeof err) == 0) {
      cr_assert(info.data_offset + info.nbytes <= len, "trial %zu: info beyond the file", trial);
      void *d = NULL;
      cr_assert_eq(ieio_read_all(&info, &d, err, sizeof err), 0, "trial %zu: %s", trial, err);
      free(d);
    } else {
      cr_assert(strlen(err) > 0, "trial %zu: failure without a message", trial);
    }
    free(b);
  }
  unlink(path);
  free(good);
}

Test(npy, fuzz, .timeout = 120) {
  size_t n;
  unsigned char *good = slurp(IO "f4.npy", &n);
  char path[1024], err[1024];
  snprintf(path, sizeof path, "%s/fuzz.npy", IE_TEST_TMP);
  unsigned seed = 11;
  for (size_t trial = 0; trial < 1500; trial++) {
    unsigned char *b = malloc(n);
    memcpy(b, good, n);
    size_t len = n;
    if (trial < 200) {
      len = (size_t)trial * n / 200;
    } else {
      for (int k = 0; k < 2; k++) {
        seed = seed * 1103515245u + 12345u;
        size_t pos = (seed >> 8) % 128; /* the header */
        seed = seed * 1103515245u + 12345u;
        b[pos] = (unsigned char)(seed >> 16);
      }
    }
    FILE *f = fopen(path, "wb");
    fwrite(b, 1, len, f);
    fclose(f);
    ieio_info info;
    if (ieio_open_info(path, &info, err, sizeof err) == 0) {
      cr_assert(info.data_offset + info.nbytes <= len, "trial %zu: info beyond the file", trial);
      void *d = NULL;
      cr_assert_eq(ieio_read_all(&info, &d, err, sizeof err), 0, "trial %zu: %s", trial, err);
      free(d);
    } else {
      cr_assert(strlen(err) > 0, "trial %zu: failure without a message", trial);
    }
    free(b);
  }
  unlink(path);
  free(good);
}

/* ---- writer ---------------------------------------------------------------------- */

static int tmp_files_left(const char *dir, const char *prefix) {
  DIR *d = opendir(dir);
  int found = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 && strstr(e->d_name, ".tmp.")) found++;
  closedir(d);
  return found;
}

Test(writer, same_bytes_as_numpy) {
  /* f4.npy was written by numpy.save: ours must be byte-identical */
  size_t n;
  unsigned char *want = slurp(IO "f4.npy", &n);
  size_t rn;
  void *raw = slurp(IO "f4.raw", &rn);
  char path[1024], err[512];
  snprintf(path, sizeof path, "%s/w_same.npy", IE_TEST_TMP);
  const int64_t sh[2] = {3, 5};
  cr_assert_eq(ieio_write_npy(path, (DLDataType){kDLFloat, 32, 1}, 2, sh, raw, err, sizeof err), 0,
               "%s", err);
  size_t gn;
  unsigned char *got = slurp(path, &gn);
  cr_expect_eq(gn, n);
  cr_expect(memcmp(got, want, n < gn ? n : gn) == 0, "written .npy differs from numpy.save's");
  free(got);
  /* 1-D bool, read back */
  const int64_t s1[1] = {15};
  unsigned char bits[15];
  for (int k = 0; k < 15; k++) bits[k] = (unsigned char)(k % 2);
  cr_assert_eq(ieio_write_npy(path, (DLDataType){6, 8, 1}, 1, s1, bits, err, sizeof err), 0, "%s", err);
  ieio_info info;
  cr_assert_eq(ieio_open_info(path, &info, err, sizeof err), 0, "%s", err);
  cr_expect_eq(info.dtype.code, 6);
  cr_expect_eq(info.ndim, 1);
  cr_expect_eq(info.shape[0], 15);
  unlink(path);
  free(want);
  free(raw);
  cr_expect_eq(tmp_files_left(IE_TEST_TMP, "w_same.npy"), 0);
}

Test(writer, streaming_roundtrip) {
  char path[1024], err[512];
  snprintf(path, sizeof path, "%s/w_stream.npy", IE_TEST_TMP);
  unlink(path);
  const int64_t sh[2] = {1000, 33};
  ieio_writer *w;
  cr_assert_eq(ieio_writer_begin(&w, path, (DLDataType){kDLFloat, 64, 1}, 2, sh, err, sizeof err), 0,
               "%s", err);
  cr_expect_eq(access(path, F_OK), -1, "the final file exists before finish");
  cr_expect_eq(tmp_files_left(IE_TEST_TMP, "w_stream.npy"), 1);
  double row[33];
  for (int i = 0; i < 1000; i++) {
    for (int j = 0; j < 33; j++) row[j] = i * 100.0 + j;
    cr_assert_eq(ieio_writer_append(w, row, sizeof row, err, sizeof err), 0, "%s", err);
  }
  /* one byte too many is refused */
  cr_expect_neq(ieio_writer_append(w, row, 1, err, sizeof err), 0);
  cr_assert_eq(ieio_writer_finish(w, err, sizeof err), 0, "%s", err);
  cr_expect_eq(tmp_files_left(IE_TEST_TMP, "w_stream.npy"), 0);
  ieio_info info;
  cr_assert_eq(ieio_open_info(path, &info, err, sizeof err), 0, "%s", err);
  cr_expect_eq(info.shape[0], 1000);
  cr_expect_eq(info.shape[1], 33);
  cr_expect_eq(info.data_offset % 64, 0);
  cr_assert_eq(ieio_read_rows(&info, 777, 1, row, err, sizeof err), 0, "%s", err);
  cr_expect_eq(row[5], 77705.0);
  unlink(path);
}

Test(writer, abort_and_incomplete) {
  char path[1024], err[512];
  snprintf(path, sizeof path, "%s/w_abort.npy", IE_TEST_TMP);
  unlink(path);
  const int64_t sh[1] = {10};
  ieio_writer *w;
  cr_assert_eq(ieio_writer_begin(&w, path, (DLDataType){kDLFloat, 32, 1}, 1, sh, err, sizeof err), 0,
               "%s", err);
  float v[4] = {1, 2, 3, 4};
  cr_assert_eq(ieio_writer_append(w, v, sizeof v, err, sizeof err), 0, "%s", err);
  ieio_writer_abort(w);
  cr_expect_eq(access(path, F_OK), -1, "abort left the final file");
  cr_expect_eq(tmp_files_left(IE_TEST_TMP, "w_abort.npy"), 0, "abort left the temporary file");
  /* finishing short is an error and leaves nothing */
  cr_assert_eq(ieio_writer_begin(&w, path, (DLDataType){kDLFloat, 32, 1}, 1, sh, err, sizeof err), 0,
               "%s", err);
  cr_assert_eq(ieio_writer_append(w, v, sizeof v, err, sizeof err), 0, "%s", err);
  cr_expect_neq(ieio_writer_finish(w, err, sizeof err), 0);
  cr_expect(strstr(err, "w_abort.npy") != NULL, "%s", err);
  cr_expect_eq(access(path, F_OK), -1);
  cr_expect_eq(tmp_files_left(IE_TEST_TMP, "w_abort.npy"), 0);
  ieio_writer_abort(NULL);
}

Test(writer, refusals) {
  char err[512];
  const int64_t sh[1] = {4};
  float v[4] = {0};
  ieio_writer *w = (ieio_writer *)1;
  cr_expect_neq(ieio_writer_begin(&w, IE_TEST_TMP "/w_bf16.npy", (DLDataType){kDLBfloat, 16, 1}, 1, sh,
                                  err, sizeof err), 0);
  cr_expect_null(w);
  cr_expect(strstr(err, "bfloat16") != NULL, "%s", err);
  cr_expect_neq(ieio_write_npy(IE_TEST_TMP "/no/such/dir/x.npy", (DLDataType){kDLFloat, 32, 1}, 1, sh,
                               v, err, sizeof err), 0);
  cr_expect(strstr(err, "x.npy") != NULL, "%s", err);
  const int64_t bad[1] = {-1};
  cr_expect_neq(ieio_write_npy(IE_TEST_TMP "/w_neg.npy", (DLDataType){kDLFloat, 32, 1}, 1, bad, v, err,
                               sizeof err), 0);
}
