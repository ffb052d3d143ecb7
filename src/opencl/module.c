/*
 * module.c — the one symbol libinfoest-opencl.so exports: the core library
 * (src/registry.c) finds it with dlsym and gets the backend's descriptor,
 * defined in src/opencl/ocl_backend.c.  Not part of the static library, which
 * holds every backend and reaches the descriptors directly.
 */
#include "../backend.h"

__attribute__((visibility("default"))) const ie_backend_module *ie_backend_module_v1(void);

const ie_backend_module *ie_backend_module_v1(void) { return &ie__opencl_module; }
