/*
 * cmd_stream.c — reading row chunks of up to STREAM_MAX_SRC files in step,
 * double buffered: a reader thread fills one buffer set while the caller
 * computes on the other.
 *
 * Slots cycle 0, 1, 0, 1, ...: chunk k lives in slot k % nslots.  A slot is
 * FREE (the reader may fill it) or FULL (the caller may use it).  One mutex
 * and one condition variable guard the states; the data itself is touched by
 * one side at a time, as the states say.
 */
#define _POSIX_C_SOURCE 200809L
#include "cmd.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { SLOT_FREE = 0, SLOT_FULL = 1 };

struct cli_stream {
  ie_context *ctx; /* owns the buffers' memory (ie_host_alloc) */
  int nsrc, nslots;
  ieio_info info[STREAM_MAX_SRC];
  size_t row_bytes[STREAM_MAX_SRC];
  int64_t first, rows, chunk_rows, nchunks; /* rows [first, first + rows) */
  void *buf[2][STREAM_MAX_SRC];
  int state[2];
  int64_t slot_chunk[2];
  int64_t next; /* next chunk the caller takes */
  int failed, cancel, started;
  char err[1400];
  pthread_mutex_t mu;
  pthread_cond_t cv;
  pthread_t thread;
};

/* The chunk buffers and the stream itself. */
static void free_buffers(cli_stream *s) {
  for (int k = 0; k < 2; k++)
    for (int i = 0; i < STREAM_MAX_SRC; i++) ie_host_free(s->ctx, s->buf[k][i]);
  free(s);
}

static void *reader_main(void *arg) {
  cli_stream *s = arg;
  char err[1400];
  for (int64_t k = 0; k < s->nchunks; k++) {
    int slot = (int)(k % s->nslots);
    pthread_mutex_lock(&s->mu);
    while (s->state[slot] != SLOT_FREE && !s->cancel) pthread_cond_wait(&s->cv, &s->mu);
    int cancel = s->cancel;
    pthread_mutex_unlock(&s->mu);
    if (cancel) break;

    int64_t n = s->rows - k * s->chunk_rows < s->chunk_rows ? s->rows - k * s->chunk_rows : s->chunk_rows;
    int64_t row0 = s->first + k * s->chunk_rows;
    int bad = 0;
    err[0] = '\0';
    for (int i = 0; i < s->nsrc && !bad; i++) {
      if (n == 0 || s->row_bytes[i] == 0) continue;
      if (ieio_read_rows(&s->info[i], row0, n, s->buf[slot][i], err, sizeof err) != 0) {
        bad = 1;
        if (!err[0]) snprintf(err, sizeof err, "%.1000s: cannot read rows %lld..%lld", s->info[i].path,
                              (long long)row0, (long long)(row0 + n - 1));
      }
    }

    pthread_mutex_lock(&s->mu);
    if (bad) {
      s->failed = 1;
      memcpy(s->err, err, sizeof err);
    } else {
      s->state[slot] = SLOT_FULL;
      s->slot_chunk[slot] = k;
    }
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (bad) break;
  }
  return NULL;
}

int stream_open(cli_stream **out, ie_context *ctx, const ieio_info *const *infos,
                const size_t *row_bytes, int nsrc, int64_t first, int64_t rows,
                int64_t chunk_rows, char *err, size_t errcap) {
  *out = NULL;
  if (nsrc < 1 || nsrc > STREAM_MAX_SRC || first < 0 || rows < 0 || chunk_rows < 1) {
    snprintf(err, errcap, "internal error: bad stream arguments");
    return -1;
  }
  cli_stream *s = calloc(1, sizeof *s);
  if (!s) {
    snprintf(err, errcap, "out of memory");
    return -1;
  }
  s->ctx = ctx;
  s->nsrc = nsrc;
  s->first = first;
  s->rows = rows;
  s->chunk_rows = chunk_rows;
  s->nchunks = rows == 0 ? 0 : (rows + chunk_rows - 1) / chunk_rows;
  s->nslots = s->nchunks > 1 ? 2 : 1;
  int64_t slot_rows = rows < chunk_rows ? rows : chunk_rows;
  for (int i = 0; i < nsrc; i++) {
    s->info[i] = *infos[i];
    s->row_bytes[i] = row_bytes[i];
    for (int k = 0; k < s->nslots; k++) {
      size_t bytes = (size_t)slot_rows * row_bytes[i];
      if (ie_host_alloc(ctx, bytes, &s->buf[k][i]) != IE_OK) {
        snprintf(err, errcap, "out of memory: cannot allocate %zu bytes for a chunk of %s",
                 bytes, infos[i]->path);
        stream_close(s);
        return -1;
      }
    }
  }
  if (pthread_mutex_init(&s->mu, NULL) != 0) {
    snprintf(err, errcap, "cannot create a mutex");
    free_buffers(s);
    return -1;
  }
  if (pthread_cond_init(&s->cv, NULL) != 0) {
    snprintf(err, errcap, "cannot create a condition variable");
    pthread_mutex_destroy(&s->mu);
    free_buffers(s);
    return -1;
  }
  int rc = pthread_create(&s->thread, NULL, reader_main, s);
  if (rc != 0) {
    snprintf(err, errcap, "cannot start the reader thread: %s", strerror(rc));
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free_buffers(s);
    return -1;
  }
  s->started = 1;
  *out = s;
  return 0;
}

int stream_next(cli_stream *s, cli_chunk *c, char *err, size_t errcap) {
  memset(c, 0, sizeof *c);
  if (s->next >= s->nchunks) return 0;
  int slot = (int)(s->next % s->nslots);
  pthread_mutex_lock(&s->mu);
  while (s->state[slot] != SLOT_FULL && !s->failed) pthread_cond_wait(&s->cv, &s->mu);
  if (s->state[slot] != SLOT_FULL) {
    snprintf(err, errcap, "%s", s->err);
    pthread_mutex_unlock(&s->mu);
    return -1;
  }
  pthread_mutex_unlock(&s->mu);
  c->slot = slot;
  const int64_t done = s->next * s->chunk_rows;
  c->row0 = s->first + done;
  c->nrows = s->rows - done < s->chunk_rows ? s->rows - done : s->chunk_rows;
  for (int i = 0; i < s->nsrc; i++) c->data[i] = s->buf[slot][i];
  s->next++;
  return 1;
}

void stream_release(cli_stream *s, const cli_chunk *c) {
  pthread_mutex_lock(&s->mu);
  s->state[c->slot] = SLOT_FREE;
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
}

void stream_close(cli_stream *s) {
  if (!s) return;
  if (s->started) {
    pthread_mutex_lock(&s->mu);
    s->cancel = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
  }
  free_buffers(s);
}
