/*
 * options.h — PRIVATE: reading a caller's versioned options struct.
 *
 * Every public options struct starts with `size_t size`, the sizeof of the
 * struct as the caller compiled it (after the Linux kernel's
 * copy_struct_from_user).  The rule, stated for callers in include/infoest.h:
 *
 *   size == 0            the struct's FIRST version (infoest 0.1): only the
 *                        fields of that version are read, so a zeroed struct
 *                        from an old binary is never read past its end;
 *   0 < size < first     refused (IE_INVALID_ARGUMENT): no version was that
 *                        small, the caller's size is garbage;
 *   otherwise            min(size, this library's sizeof) bytes are read.
 *
 * Fields beyond what is read keep their defaults (zero).  A field added later
 * must start at or after the sizeof of every older version (old tail padding
 * is not free: an old caller's size covers it with bytes it never set).
 * Header-only and free of the context, so that tests/test_options.c can check
 * it on a struct of two versions.
 */
#ifndef IE_OPTIONS_H
#define IE_OPTIONS_H

#include <stddef.h>
#include <string.h>

/* Copy `src` (NULL: all defaults) over a zeroed `dst` of dst_size bytes,
 * by the rule above; `first` is the size of the struct's first version and
 * `size` the caller's src->size.  Returns 0 when size is refused. */
static inline int ie__options_copy(void *dst, size_t dst_size, const void *src, size_t size,
                                   size_t first) {
  memset(dst, 0, dst_size);
  if (!src) return 1;
  if (size == 0) size = first;
  if (size < first) return 0;
  memcpy(dst, src, size < dst_size ? size : dst_size);
  return 1;
}

/* The size of a first version that ended with `field` (its end; the tail
 * padding after it is not read). */
#define IE__FIRST_SIZE(obj, field) \
  ((size_t)((const char *)(&(obj).field + 1) - (const char *)&(obj)))

#endif
