/*
 * registry.c — which backends this build has, and where their tables come
 * from (src/backend.h): the CPU's is in the core; the CUDA and OpenCL
 * backends are modules opened on first use, or, in the static library
 * (IE_BUILTIN_BACKENDS), compiled in.  Also the public extras of
 * infoest_cuda.h and infoest_opencl.h, which forward to the module.
 *
 * Module search (shared library): the directories of IE_BACKEND_PATH
 * (':'-separated) when it is set and not empty, else the directory of the
 * core library itself (found with dladdr), so that an installed or built
 * tree needs no configuration.
 */
#ifndef IE_BUILTIN_BACKENDS
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>
#include <pthread.h>
#include <unistd.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* What this build was built with; a module is found or not at run time. */
static int built(ie_backend b) {
  switch (b) {
  case IE_BACKEND_CPU:
    return 1;
  case IE_BACKEND_CUDA:
#ifdef IE_HAVE_CUDA
    return 1;
#else
    return 0;
#endif
  case IE_BACKEND_OPENCL:
#ifdef IE_HAVE_OPENCL
    return 1;
#else
    return 0;
#endif
  default:
    return 0;
  }
}

int ie_backend_compiled(ie_backend b) { return built(b); }

/* A descriptor of another build is refused; the message says which field. */
static const ie_backend_module *check_module(ie_context *ctx, const ie_backend_module *m,
                                             const char *what) {
  const char *bad = !m ? "returned no descriptor"
                  : m->abi != IE_BACKEND_ABI ? "has another backend ABI"
                  : m->version != IE_VERSION_NUMBER ? "is of another infoest version"
                  : m->ops_size != sizeof(ie_backend_ops) || m->context_size != sizeof(ie_context)
                      ? "was built from other sources (its tables differ in size)"
                  : !m->ops ? "has no table" : NULL;
  if (!bad) return m;
  if (!m || m->abi != IE_BACKEND_ABI || !m->ops)
    ie__error(ctx, IE_BACKEND_UNAVAILABLE,
              "ie_context_create: the backend module %s %s: reinstall infoest", what, bad);
  else
    ie__error(ctx, IE_BACKEND_UNAVAILABLE,
              "ie_context_create: the backend module %s %s (module %u.%u.%u, library %s): "
              "reinstall infoest",
              what, bad, m->version / 1000000, m->version / 1000 % 1000, m->version % 1000,
              IE_VERSION_STRING);
  return NULL;
}

#ifdef IE_BUILTIN_BACKENDS
/* ---- Static library: every backend built is compiled in -------------------- */

static const ie_backend_module *module_of(ie_context *ctx, ie_backend b) {
  const ie_backend_module *m = NULL;
#ifdef IE_HAVE_CUDA
  if (b == IE_BACKEND_CUDA) m = &ie__cuda_module;
#endif
#ifdef IE_HAVE_OPENCL
  if (b == IE_BACKEND_OPENCL) m = &ie__opencl_module;
#endif
  return check_module(ctx, m, ie_backend_name(b));
}

#else
/* ---- Shared library: modules opened on first use ----------------------------- */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static const ie_backend_module *loaded[IE_BACKEND_OPENCL + 1]; /* under lock */

static const char *module_file(ie_backend b) {
  return b == IE_BACKEND_CUDA ? "libinfoest-cuda.so" : "libinfoest-opencl.so";
}

/* The driver-side library a backend cannot work without, probed before its
 * module is opened: on a machine without it the module's own libraries are
 * never loaded (the CUDA module's cuBLAS and cuSOLVER alone make some
 * 260 MiB resident before anything runs). */
static const char *driver_file(ie_backend b) {
  return b == IE_BACKEND_CUDA ? "libcuda.so.1" : "libOpenCL.so.1";
}

/* The directory of the core library, with a trailing '/', into buf. */
static int own_dir(char *buf, size_t cap) {
  Dl_info info;
  if (!dladdr((void *)&ie_backend_compiled, &info) || !info.dli_fname) return 0;
  const char *slash = strrchr(info.dli_fname, '/');
  size_t n = slash ? (size_t)(slash - info.dli_fname) + 1 : 0;
  if (n + 1 > cap) return 0;
  memcpy(buf, info.dli_fname, n);
  buf[n] = 0;
  if (n == 0) snprintf(buf, cap, "./");
  return 1;
}

/* Try dir/file.  1: loaded (*out); 0: not there; -1: there but failed
 * (the message is on ctx). */
static int try_dir(ie_context *ctx, ie_backend b, const char *dir, size_t dlen,
                   const ie_backend_module **out) {
  char path[4096];
  const char *file = module_file(b);
  int n = snprintf(path, sizeof path, "%.*s%s%s", (int)dlen, dir,
                   dlen && dir[dlen - 1] != '/' ? "/" : "", file);
  if (n < 0 || (size_t)n >= sizeof path || access(path, F_OK) != 0) return 0;
  if (!dlopen(driver_file(b), RTLD_LAZY | RTLD_LOCAL)) { /* kept: the module needs it */
    const char *why = dlerror();
    ie__error(ctx, IE_BACKEND_UNAVAILABLE,
              "ie_context_create: %s: %s cannot be loaded (%s); the module %s was not opened",
              b == IE_BACKEND_CUDA ? "no NVIDIA driver" : "no OpenCL ICD loader", driver_file(b),
              why ? why : "unknown error", path);
    return -1;
  }
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char *why = dlerror();
    ie__error(ctx, IE_BACKEND_UNAVAILABLE,
              "ie_context_create: the %s backend module %s failed to load: %s%s",
              ie_backend_name(b), path, why ? why : "unknown error",
              b == IE_BACKEND_CUDA ? " (are the NVIDIA driver and the CUDA runtime installed?)"
                                   : " (is an OpenCL ICD loader, libOpenCL.so.1, installed?)");
    return -1;
  }
  ie_backend_module_fn entry;
  void *sym = dlsym(h, IE_BACKEND_MODULE_ENTRY);
  memcpy(&entry, &sym, sizeof entry); /* object pointer to function pointer */
  if (!sym) {
    ie__error(ctx, IE_BACKEND_UNAVAILABLE,
              "ie_context_create: the %s backend module %s is not an infoest module (no symbol %s)",
              ie_backend_name(b), path, IE_BACKEND_MODULE_ENTRY);
    dlclose(h);
    return -1;
  }
  const ie_backend_module *m = check_module(ctx, entry(), path);
  if (!m || m->ops->kind != b) {
    if (m)
      ie__error(ctx, IE_BACKEND_UNAVAILABLE,
                "ie_context_create: the backend module %s is not the %s backend", path,
                ie_backend_name(b));
    dlclose(h);
    return -1;
  }
  *out = m; /* never closed: contexts hold its tables */
  return 1;
}

static const ie_backend_module *module_of(ie_context *ctx, ie_backend b) {
  if (!built(b)) return NULL;
  pthread_mutex_lock(&lock);
  const ie_backend_module *m = loaded[b];
  if (!m) {
    const char *env = getenv("IE_BACKEND_PATH");
    char dir[4096];
    const char *where;
    int r = 0;
    if (env && *env) {
      where = "the directories of IE_BACKEND_PATH";
      for (const char *p = env; r == 0;) {
        size_t n = strcspn(p, ":");
        if (n) r = try_dir(ctx, b, p, n, &m);
        if (!p[n]) break;
        p += n + 1;
      }
      snprintf(dir, sizeof dir, "%s", env);
    } else if (own_dir(dir, sizeof dir)) {
      where = "the directory of libinfoest";
      r = try_dir(ctx, b, dir, strlen(dir), &m);
    } else {
      where = "the directory of libinfoest";
      snprintf(dir, sizeof dir, "(unknown: dladdr failed)");
    }
    if (r == 0)
      ie__error(ctx, IE_BACKEND_UNAVAILABLE,
                "ie_context_create: no %s backend: the module %s is not in %s (%s); "
                "install it next to libinfoest or set IE_BACKEND_PATH",
                ie_backend_name(b), module_file(b), where, dir);
    if (r == 1) loaded[b] = m;
  }
  pthread_mutex_unlock(&lock);
  return m;
}
#endif

const ie_backend_ops *ie__backend_load(ie_context *ctx, ie_backend b) {
  if (b == IE_BACKEND_CPU) return &ie__cpu_ops;
  if (!built(b)) {
    ie__error(ctx, IE_BACKEND_UNAVAILABLE,
              "ie_context_create: backend '%s' is not compiled into this build of infoest",
              ie_backend_name(b));
    return NULL;
  }
  const ie_backend_module *m = module_of(ctx, b);
  return m ? m->ops : NULL;
}

/* ---- The GPU extras (infoest_cuda.h, infoest_opencl.h) ------------------------
 * Defined here whatever was built, so that a program calling them links
 * against the core alone.  The core includes no GPU header: cudaStream_t,
 * cl_command_queue, cl_context and cl_device_id are pointers, seen here as
 * void *.  The module of an open context of the right backend is loaded. */

static const ie_backend_module *extras_of(const ie_context *ctx, ie_backend b) {
  if (!ctx || !ctx->ops || ctx->backend != b || !ctx->state) return NULL;
#ifdef IE_BUILTIN_BACKENDS
  return module_of(NULL, b);
#else
  pthread_mutex_lock(&lock);
  const ie_backend_module *m = loaded[b];
  pthread_mutex_unlock(&lock);
  return m;
#endif
}

IE_API ie_status ie_cuda_set_stream(ie_context *ctx, void *stream);
IE_API ie_status ie_cuda_get_stream(const ie_context *ctx, void **stream);
IE_API ie_status ie_opencl_set_queue(ie_context *ctx, void *queue);
IE_API ie_status ie_opencl_get_context(const ie_context *ctx, void **context, void **device,
                                       void **queue);

IE_API ie_status ie_cuda_set_stream(ie_context *ctx, void *stream) {
  ie__end_previous(ctx);
  const ie_backend_module *m = extras_of(ctx, IE_BACKEND_CUDA);
  if (!m || !m->set_queue)
    return ctx ? ie__error(ctx, IE_INVALID_ARGUMENT, "ie_cuda_set_stream: not a CUDA context")
               : IE_INVALID_ARGUMENT;
  /* Calls pending on the old stream (the asynchronous mode) finish their
   * device work there before the switch; their results wait for
   * ie_synchronize as before.  With none pending the old stream is not
   * touched (it may be gone). */
  if (ie__async_pending(ctx) && ctx->ops->synchronize) {
    ie_status s = ctx->ops->synchronize(ctx);
    if (s != IE_OK) return s;
  }
  return m->set_queue(ctx, stream);
}

IE_API ie_status ie_cuda_get_stream(const ie_context *ctx, void **stream) {
  const ie_backend_module *m = extras_of(ctx, IE_BACKEND_CUDA);
  if (!stream || !m || !m->get_queue) return IE_INVALID_ARGUMENT;
  return m->get_queue(ctx, NULL, NULL, stream);
}

IE_API ie_status ie_opencl_set_queue(ie_context *ctx, void *queue) {
  ie__end_previous(ctx);
  const ie_backend_module *m = extras_of(ctx, IE_BACKEND_OPENCL);
  if (!m || !m->set_queue)
    return ctx ? ie__error(ctx, IE_INVALID_ARGUMENT,
                           "ie_opencl_set_queue: the context is not an OpenCL context")
               : IE_INVALID_ARGUMENT;
  return m->set_queue(ctx, queue);
}

IE_API ie_status ie_opencl_get_context(const ie_context *ctx, void **context, void **device,
                                       void **queue) {
  const ie_backend_module *m = extras_of(ctx, IE_BACKEND_OPENCL);
  if (!m || !m->get_queue) return IE_INVALID_ARGUMENT;
  return m->get_queue(ctx, context, device, queue);
}
