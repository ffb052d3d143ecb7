/*
 * cmd.h — the `infoest` command's own plumbing: the command table, option
 * parsing, output (JSON / text), exit statuses, streaming of row chunks and
 * the progress bar.  Private to cli/ (the command is a client of infoest.h
 * like any other program; it includes nothing from src/).
 */
#ifndef IE_CLI_CMD_H
#define IE_CLI_CMD_H

#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "infoest.h"
#include "io.h"

/* ---- Exit statuses (docs/SPEC.md §7) -------------------------------------- */

enum {
  CLI_EXIT_OK = 0,      /* done */
  CLI_EXIT_FAIL = 1,    /* failure while running (I/O, library, interrupted) */
  CLI_EXIT_USAGE = 2,   /* bad usage */
  CLI_EXIT_DATA = 3,    /* bad input data */
  CLI_EXIT_BACKEND = 4  /* the asked backend is not available here */
};

/* ---- Options ---------------------------------------------------------------- */

#define CLI_MAX_OPTS 48
#define CLI_MAX_SEEN 256

typedef struct {
  const char *name;    /* "--logits" */
  const char *metavar; /* "F", or NULL for a flag */
  const char *help;    /* one line (may hold '\n' for continuation lines) */
} cli_opt;

/* What the parser found: val[i] is the value of option i (the command's own
 * options first, then the common ones), NULL when absent; flags get "". */
typedef struct {
  const cli_opt *opt[CLI_MAX_OPTS];
  const char *val[CLI_MAX_OPTS];
  int n;
  /* Every occurrence in order (for options given more than once, such as
   * mauve's --q): the option's index in opt[] and its value. */
  int seen_opt[CLI_MAX_SEEN];
  const char *seen_val[CLI_MAX_SEEN];
  int nseen;
} cli_args;

/* The options every command takes, parsed. */
typedef struct {
  const char *cmd;        /* "entropy" */
  ie_backend backend;     /* --backend */
  int backend_given;      /* --backend appeared */
  int device;             /* --device */
  int device_per_rank;    /* under MPI without --device: device is the rank's on its node */
  const char *out;        /* --out, or NULL */
  int json;               /* --format json (default) or text */
  size_t budget;          /* --memory-budget, bytes */
  int progress;           /* 0 with --no-progress */
} cli_common;

typedef struct cli_command {
  const char *name;
  const char *summary;     /* one line, for `infoest --help` */
  const char *synopsis;    /* the command's own options, in brief */
  const char *description; /* paragraphs for `infoest CMD --help` */
  const char *outputs;     /* JSON keys, in words */
  const char *example;     /* lines of examples */
  const cli_opt *opts;     /* the command's own options */
  int nopts;
  int (*run)(const struct cli_command *cmd, const cli_args *a,
             const cli_common *c);
} cli_command;

/* The value of option `name` ("--alpha") or NULL when absent. */
const char *cli_get(const cli_args *a, const char *name);
int cli_has(const cli_args *a, const char *name);

/* Print "infoest CMD: <message> (see 'infoest CMD --help')" to stderr;
 * returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Under MPI with several ranks the messages of cli_usage_error and cli_fail
 * are kept, not printed, so that only the first failing rank's are printed
 * (cli_print_deferred, by cli/mpi.c), once. */
extern int cli_defer_messages;
void cli_print_deferred(void);

/* "infoest CMD: <message>" to stderr; returns `code`.  With code
 * CLI_EXIT_USAGE the pointer to --help is added, as cli_usage_error does. */
int cli_fail(int code, const char *cmd, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Strict number parsing: the whole string must be consumed.  Return 0 on
 * success.  cli_parse_double accepts "inf"/"infinity" (either sign) only when
 * allow_inf; never NaN. */
int cli_parse_double(const char *s, int allow_inf, double *out);
int cli_parse_int64(const char *s, int64_t *out);

/* Option helpers that print the usage error themselves: return 0 when the
 * option is absent (leaving *out), 1 when read, -1 on a bad value. */
int cli_opt_double(const cli_args *a, const char *cmd, const char *name,
                   int allow_inf, double *out);
int cli_opt_int64(const cli_args *a, const char *cmd, const char *name,
                  int64_t *out);

/* ---- Library status → exit status ------------------------------------------- */

int cli_exit_for_status(ie_status s);

/* Make a context for c->backend / c->device.  On failure prints the reason
 * and returns the exit status (4 when the backend is unavailable).  Under
 * MPI with c->device_per_rank it is collective (every rank calls it, and it
 * begins with an agreement): a node with fewer devices than ranks shares
 * them round-robin, with --backend auto too when rank 0 runs on a GPU. */
int cli_make_context(const cli_common *c, ie_context **ctx);

/* ---- Output ------------------------------------------------------------------ */

/* A small JSON writer into a growing buffer. */
typedef struct {
  char *buf;
  size_t len, cap;
  int oom;
  int depth;
  int first[32]; /* no member written yet at this depth */
} cli_json;

void cj_init(cli_json *j);
void cj_free(cli_json *j);
void cj_obj_begin(cli_json *j, const char *key); /* key NULL: value position */
void cj_obj_end(cli_json *j);
void cj_arr_begin(cli_json *j, const char *key);
void cj_arr_end(cli_json *j);
void cj_str(cli_json *j, const char *key, const char *s);
void cj_num(cli_json *j, const char *key, double v); /* %.17g; inf/nan as strings */
void cj_int(cli_json *j, const char *key, int64_t v);
void cj_bool(cli_json *j, const char *key, int v);

/* A flat result: key → value, emitted as one JSON object on one line, or as
 * aligned "key  value" lines (--format text). */
#define CLI_REPORT_MAX 32
typedef struct {
  int n;
  struct {
    const char *key;
    int type; /* 0 str, 1 num, 2 int, 3 bool */
    double d;
    int64_t i;
    char s[512];
  } e[CLI_REPORT_MAX];
} cli_report;

void rep_str(cli_report *r, const char *key, const char *s);
void rep_num(cli_report *r, const char *key, double v);
void rep_int(cli_report *r, const char *key, int64_t v);
void rep_bool(cli_report *r, const char *key, int v);
/* Print it to stdout; returns 0, or CLI_EXIT_FAIL when stdout failed. */
int rep_emit(const cli_report *r, int json, const char *cmd);

/* Format a double for JSON (%.17g, or "\"inf\"" etc.) into buf. */
void cli_fmt_json_num(char *buf, size_t cap, double v);

/* ---- Misc ----------------------------------------------------------------------- */

double cli_now(void); /* monotonic seconds */

/* Set by SIGINT / SIGTERM (a second signal kills as usual). */
extern volatile sig_atomic_t cli_interrupted;
void cli_install_signals(void);
/* The temporary file of --out, removed by the signal handler itself on
 * SIGINT / SIGTERM (NULL: none): the process may never get back to its own
 * clean-up, as when mpirun ends a job whose rank died (SIGTERM to the other
 * ranks, wherever they wait, then SIGKILL).  Set it right after the file is
 * created (or joined), clear it once the file is renamed or removed. */
void cli_remove_on_signal(const char *path);

/* Progress bar on stderr: shown only when stderr is a terminal, `enabled`,
 * and the work has run longer than a second. */
typedef struct {
  int enabled;
  int shown;
  double t0, last;
  int64_t total;
  const char *label;
} cli_progress;
void progress_init(cli_progress *p, int enabled, int64_t total,
                   const char *label);
void progress_update(cli_progress *p, int64_t done);
void progress_end(cli_progress *p);

/* Data types. */
const char *cli_dtype_name(DLDataType t); /* "float32", "bfloat16", ... */
size_t cli_dtype_size(DLDataType t);
int cli_dtype_is_float(DLDataType t);
int cli_dtype_is_int_label(DLDataType t); /* int32 / int64 */
int cli_dtype_parse(const char *s, DLDataType *t); /* f16 bf16 f32 f64 ... */
double cli_load_double(const void *p, DLDataType t, int64_t i);
DLDataType cli_dt(uint8_t code, uint8_t bits);

/* ---- Streaming of row chunks (double buffered, reader thread) ------------------ */

#define STREAM_MAX_SRC 4

typedef struct cli_stream cli_stream;
typedef struct {
  int64_t row0, nrows; /* row0: counted in the whole input */
  void *data[STREAM_MAX_SRC];
  int slot;
} cli_chunk;

/* Start reading rows [first, first + rows) of each info (viewed as [rows, ...])
 * in chunks of chunk_rows, into 2 alternating buffer sets (1 when one chunk
 * covers everything).  row_bytes[i] is the size of one row of source i.
 * The buffers come from ie_host_alloc on ctx (page-locked on CUDA, so the
 * library's staging copy is one DMA); ctx must outlive the stream.
 * Returns 0, or -1 with a message in err (out of memory, no thread). */
int stream_open(cli_stream **out, ie_context *ctx, const ieio_info *const *infos,
                const size_t *row_bytes, int nsrc, int64_t first, int64_t rows,
                int64_t chunk_rows, char *err, size_t errcap);
/* Wait for the next chunk: 1 got one, 0 no more, -1 read failure (err). */
int stream_next(cli_stream *s, cli_chunk *c, char *err, size_t errcap);
/* Hand the chunk's buffers back to the reader. */
void stream_release(cli_stream *s, const cli_chunk *c);
/* Stop the reader (if still running) and free everything.  NULL: no-op. */
void stream_close(cli_stream *s);

/* ---- Whole inputs (cmd_load.c) ------------------------------------------------ */

/* The sample-based families (vendi, matrix-entropy, sinkhorn, knn-*) need
 * every point at once: their inputs are loaded whole, not row-streamed. */
typedef struct {
  const char *spec;  /* as given on the command line */
  const char *role;  /* "x", "a", "cost", ... (names the tensor in messages) */
  ieio_info info;
  void *data;        /* malloc'd; the whole tensor */
  int64_t shape[IEIO_MAX_NDIM];
  DLTensor t;        /* host tensor over data, with `shape` */
  int narrowed;      /* float64 converted to float32 for a backend */
} cli_input;

enum {
  CLI_IN_AS_2D = 1,  /* a 1-D [n] tensor is read as [n, 1] (samples in R^1) */
  CLI_IN_NONNEG = 2  /* values must be >= 0 (weights) */
};

/* Open `spec`, check that it is a float tensor with min_ndim..max_ndim
 * dimensions, none of them 0, read it whole and check every value (finite;
 * >= 0 with CLI_IN_NONNEG).  Returns CLI_EXIT_OK, or prints a message naming
 * the file, the tensor and the fault and returns the exit status (3 for bad
 * data, 1 for I/O or memory). */
int cli_input_load(const char *cmd, cli_input *in, const char *spec,
                   const char *role, int min_ndim, int max_ndim, int flags);
void cli_input_free(cli_input *in);
/* float64 → float32 (for a backend that takes no float64); 1 if it was
 * narrowed now, 0 if there was nothing to narrow, -1 out of memory, -2 if
 * a finite value is past float32's range (*at: its flat index; *was: it). */
int cli_input_narrow(cli_input *in, uint64_t *at, double *was);
/* Narrow every float64 input of the list; 1 if any was, 0 if none.  Prints
 * a note once (per process) naming the backend.  A failure (out of memory;
 * a value float32 does not hold, named with its file and place) is printed
 * here and returned as minus the exit status. */
int cli_inputs_narrow(const char *cmd, ie_backend be, cli_input *const *ins, int n);

/* A failed library call on whole inputs: the message (with the files
 * named) on stderr, and the exit status.  Statuses about the values or
 * shapes — and IE_INVALID_ARGUMENT, since the command checks its options
 * before calling — are bad input data (3). */
int cli_lib_fail(const char *cmd, ie_context *ctx, ie_status st,
                 cli_input *const *ins, int n);

/* Write `count` float64 values as a .npy of shape `shape` (ndim dims) to
 * path (temporary name, renamed when complete).  Returns an exit status. */
int cli_write_values(const char *cmd, const char *path, const double *v,
                     int ndim, const int64_t *shape);
/* The same in two steps, for a run whose success is decided after the
 * values are written (under MPI, by every rank): cli_values_stage writes the
 * whole file under its temporary name (`tmp`, or a random one when NULL or
 * ""; removed on SIGINT / SIGTERM, see cli_remove_on_signal) and returns an
 * exit status; cli_values_commit renames it into place, cli_values_abort
 * removes it (NULL: no-op).  Both free the writer. */
int cli_values_stage(const char *cmd, const char *path, const char *tmp, const double *v, int ndim,
                     const int64_t *shape, ieio_writer **w);
/* Under MPI with several ranks: rank 0 names --out's temporary file before
 * it exists and every rank learns the name and arms cli_remove_on_signal
 * with it, so that whichever rank outlives a killed one removes the file.
 * "" with one rank (the writer picks the name).  Collective: call it right
 * after a successful agreement (or another collective every rank made). */
#define CLI_TMP_CAP 4096
void cli_out_tmp_shared(const char *path, char tmp[CLI_TMP_CAP]);
int cli_values_commit(const char *cmd, ieio_writer *w);
void cli_values_abort(ieio_writer *w);

/* ---- MPI (cli/mpi.c, built with IE_WITH_MPI) ----------------------------------- */

/* Under `mpirun -n R infoest ...` the row-wise commands split their rows
 * among the R ranks in whole blocks of IE_PARTIAL_BLOCK_ROWS; see README.
 * Every call below is collective (every rank makes it, in the same order)
 * but cli_mpi_begin/cli_mpi_end's bookkeeping.  Without MPI (or when not
 * launched by mpirun) there is one rank and they do nothing. */
#ifdef IE_CLI_MPI
/* MPI_Init when launched by an MPI launcher; returns the number of ranks. */
int cli_mpi_begin(int *argc, char ***argv);
/* The agreement the run still owes (when no final one was made), then
 * MPI_Finalize; returns the exit status. */
int cli_mpi_end(int rc);
int cli_mpi_rank(void);
int cli_mpi_size(void);
int cli_mpi_local_rank(void); /* among the ranks of this node */
/* Every rank's status: 0 when all are 0, else the status of the first
 * failing rank in rank order, whose kept messages it prints (once).  After
 * a failure, or with `final`, no other agreement is made. */
int cli_mpi_agree(int rc, int final);
/* rank 0's `bytes` bytes to every rank. */
void cli_mpi_bcast(void *buf, int bytes);
/* Every rank's `bytes` bytes, in rank order, to every rank. */
void cli_mpi_allgather(const void *mine, void *all, int bytes);
/* buf[0..n) summed over the ranks into rank 0's buf (exact 64-bit integer
 * sums); the others' buf is left as it was. */
void cli_mpi_sum_to_root(int64_t *buf, int64_t n);
/* v[0..n) replaced by the maximum over the ranks, on every rank. */
void cli_mpi_max(int64_t *v, int n);
#else
static inline int cli_mpi_rank(void) { return 0; }
static inline int cli_mpi_size(void) { return 1; }
static inline int cli_mpi_local_rank(void) { return 0; }
static inline int cli_mpi_agree(int rc, int final) { (void)final; return rc; }
static inline void cli_mpi_bcast(void *buf, int bytes) { (void)buf; (void)bytes; }
static inline void cli_mpi_allgather(const void *mine, void *all, int bytes) {
  memcpy(all, mine, (size_t)bytes);
}
static inline void cli_mpi_sum_to_root(int64_t *buf, int64_t n) { (void)buf; (void)n; }
static inline void cli_mpi_max(int64_t *v, int n) { (void)v; (void)n; }
#endif

/* The contiguous share of `n` items (label pairs) of this rank: [*first,
 * *first + *count), in rank order; all of them with one rank. */
static inline void cli_mpi_share(int64_t n, int64_t *first, int64_t *count) {
  const int64_t R = cli_mpi_size(), me = cli_mpi_rank();
  const int64_t q = n / R, r = n % R;
  *first = q * me + (me < r ? me : r);
  *count = q + (me < r ? 1 : 0);
}

/* ---- Commands ------------------------------------------------------------------ */

extern const cli_command cli_cmd_log_softmax;
extern const cli_command cli_cmd_entropy;
extern const cli_command cli_cmd_nll;
extern const cli_command cli_cmd_divergence;
extern const cli_command cli_cmd_vendi;
extern const cli_command cli_cmd_matrix_entropy;
extern const cli_command cli_cmd_sinkhorn;
extern const cli_command cli_cmd_knn_entropy;
extern const cli_command cli_cmd_knn_divergence;
extern const cli_command cli_cmd_knn_mi;
extern const cli_command cli_cmd_demo;
extern const cli_command cli_cmd_mauve;
extern const cli_command cli_cmd_pmi;      /* cmd_discrete.c */
extern const cli_command cli_cmd_table_mi;
extern const cli_command cli_cmd_pid;

#endif
