/*
 * main.c — `infoest COMMAND [OPTIONS]`: the command table, option parsing
 * and help.  Each command lives in a cmd_*.c file and is one entry of
 * `commands` below; a new family (sinkhorn, knn-*, vendi, ...) is one more
 * cli_command and one more line here.
 */
#define _POSIX_C_SOURCE 200809L
#include "cmd.h"

#include <stdlib.h>
#include <string.h>

static const cli_command *const commands[] = {
    &cli_cmd_log_softmax,
    &cli_cmd_entropy,
    &cli_cmd_nll,
    &cli_cmd_divergence,
    &cli_cmd_sinkhorn,
    &cli_cmd_knn_entropy,
    &cli_cmd_knn_divergence,
    &cli_cmd_knn_mi,
    &cli_cmd_vendi,
    &cli_cmd_matrix_entropy,
    &cli_cmd_mauve,
    &cli_cmd_pmi,
    &cli_cmd_table_mi,
    &cli_cmd_pid,
    &cli_cmd_demo,
};
#define NCOMMANDS ((int)(sizeof commands / sizeof commands[0]))

#define DEFAULT_BUDGET_MB 256

static const cli_opt common_opts[] = {
    {"--backend", "B", "auto (default: a CUDA device, else an OpenCL GPU, else the CPU),\n"
                       "cpu, cuda or opencl"},
    {"--device", "N", "device index within the backend (default 0)"},
    {"--out", "F.npy", "write the per-row values (log-softmax: the matrix; sinkhorn, vendi:\n"
                       "one value a problem / set; knn-*, matrix-entropy: the value) to\n"
                       "this file; it appears only when the run succeeds"},
    {"--format", "FMT", "json (default: one object on one line) or text"},
    {"--memory-budget", "MB", "MiB for the command's buffers (default 256): two chunks of\n"
                             "rows of every input and one of output; inputs stream (the\n"
                             "sample-based commands load theirs whole)"},
    {"--no-progress", NULL, "never show the progress bar"},
    {"--help", NULL, "show this help"},
};
#define NCOMMON ((int)(sizeof common_opts / sizeof common_opts[0]))

static void print_opts(FILE *f, const cli_opt *o, int n) {
  for (int i = 0; i < n; i++) {
    char head[64];
    snprintf(head, sizeof head, "%s%s%s", o[i].name, o[i].metavar ? " " : "",
             o[i].metavar ? o[i].metavar : "");
    fprintf(f, "  %-22s ", head);
    for (const char *p = o[i].help; *p; p++) {
      fputc(*p, f);
      if (*p == '\n') fprintf(f, "  %-22s ", "");
    }
    fputc('\n', f);
  }
}

static void print_indented(FILE *f, const char *text, const char *indent) {
  fputs(indent, f);
  for (const char *p = text; *p; p++) {
    fputc(*p, f);
    if (*p == '\n' && p[1]) fputs(indent, f);
  }
  fputc('\n', f);
}

static const char *const tool_notes =
    "Output:\n"
    "  One JSON object on one line on stdout, with \"backend\" (and \"device\") added;\n"
    "  messages go to stderr.  JSON numbers are printed with %.17g; +inf, -inf and\n"
    "  NaN are not JSON numbers and are printed as the strings \"inf\", \"-inf\" and\n"
    "  \"nan\".  --format text prints the same keys as aligned lines.\n"
    "\n"
    "Inputs:\n"
    "  F is FILE.npy (C order; float16/32/64, int32/int64 for labels) or\n"
    "  FILE.safetensors:TENSOR (F16, BF16, F32, F64, I32, I64).  Logits and\n"
    "  probabilities are [B, V], one distribution a row; [V] is one row and\n"
    "  leading dimensions ([batch, seq, V]) are flattened into rows.\n"
    "\n"
    "Memory:\n"
    "  Row-wise commands stream their inputs in chunks of rows, read by a second\n"
    "  thread while the previous chunk is computed.  The command's buffers (two\n"
    "  chunks of every input plus one chunk of output) stay within\n"
    "  --memory-budget, or one row's worth if a single row is larger; add a few\n"
    "  MiB for the program itself and the library's per-chunk workspace (on a GPU:\n"
    "  device memory for one chunk).  File size does not matter.  The sample-based\n"
    "  commands (sinkhorn, knn-*, vendi, matrix-entropy, mauve) need every point at\n"
    "  once and load their inputs whole.\n"
    "\n"
    "Exit status:\n"
    "  0 done; 1 failure while running (I/O, library, interrupted); 2 bad usage;\n"
    "  3 bad input data (the message names the file, the tensor and what is wrong,\n"
    "  with the row counted in the file); 4 the asked backend is not available here.\n";

static void tool_help(FILE *f) {
  fprintf(f,
          "infoest %s — information-theoretic quantities on CPU, CUDA and OpenCL\n"
          "\n"
          "Usage: infoest COMMAND [OPTIONS]\n"
          "       infoest COMMAND --help\n"
          "\n"
          "Commands:\n",
          ie_version_string());
  for (int i = 0; i < NCOMMANDS; i++)
    fprintf(f, "  %-15s %s\n", commands[i]->name, commands[i]->summary);
  fprintf(f, "\nOptions every command takes:\n");
  print_opts(f, common_opts, NCOMMON);
  fprintf(f, "\n%s", tool_notes);
  fprintf(f,
          "\nExamples:\n"
          "  infoest demo\n"
          "  infoest entropy --logits logits.npy --format text\n"
          "  infoest divergence --kind kl --p p.npy --q q.npy --backend cuda --out kl.npy\n"
          "  infoest vendi --x embeddings.npy --q 2\n"
          "  infoest sinkhorn --a a.npy --b b.npy --x xs.npy --y ys.npy --epsilon 0.1\n"
          "  infoest mauve --p human.npy --q model.npy\n");
}

static void command_help(FILE *f, const cli_command *c) {
  fprintf(f, "Usage: infoest %s %s [OPTIONS]\n\n", c->name, c->synopsis);
  print_indented(f, c->description, "");
  if (c->nopts) {
    fprintf(f, "\nOptions:\n");
    print_opts(f, c->opts, c->nopts);
  }
  fprintf(f, "\nCommon options:\n");
  print_opts(f, common_opts, NCOMMON);
  fprintf(f, "\nJSON keys: %s\n", c->outputs);
  fprintf(f, "(numbers with %%.17g; inf, -inf and NaN as the strings \"inf\", \"-inf\", \"nan\")\n");
  fprintf(f,
          "\nExit status: 0 done; 1 failure while running; 2 bad usage; 3 bad input data;\n"
          "4 the asked backend is not available here.\n");
  fprintf(f, "\nExamples:\n");
  print_indented(f, c->example, "  ");
}

static const cli_command *find_command(const char *name) {
  for (int i = 0; i < NCOMMANDS; i++)
    if (strcmp(commands[i]->name, name) == 0) return commands[i];
  return NULL;
}

/* Parse argv[0..argc) (the words after the command name). */
static int parse_args(const cli_command *cmd, int argc, char **argv, cli_args *a,
                      cli_common *c) {
  memset(a, 0, sizeof *a);
  for (int i = 0; i < cmd->nopts && a->n < CLI_MAX_OPTS; i++) a->opt[a->n++] = &cmd->opts[i];
  for (int i = 0; i < NCOMMON && a->n < CLI_MAX_OPTS; i++) a->opt[a->n++] = &common_opts[i];

  for (int i = 0; i < argc; i++) {
    const char *w = argv[i];
    if (strncmp(w, "--", 2) != 0 || w[2] == '\0')
      return cli_usage_error(cmd->name, "unexpected argument '%s'", w);
    const char *eq = strchr(w, '=');
    size_t len = eq ? (size_t)(eq - w) : strlen(w);
    int k = -1;
    for (int o = 0; o < a->n; o++)
      if (strlen(a->opt[o]->name) == len && strncmp(a->opt[o]->name, w, len) == 0) {
        k = o;
        break;
      }
    if (k < 0) return cli_usage_error(cmd->name, "unknown option '%.*s'", (int)len, w);
    const cli_opt *o = a->opt[k];
    if (!o->metavar) {
      if (eq) return cli_usage_error(cmd->name, "%s takes no value", o->name);
      a->val[k] = "";
    } else if (eq) {
      a->val[k] = eq + 1;
    } else {
      if (i + 1 >= argc) return cli_usage_error(cmd->name, "%s needs a value (%s)", o->name, o->metavar);
      a->val[k] = argv[++i];
    }
    if (o->metavar && a->val[k][0] == '\0')
      return cli_usage_error(cmd->name, "%s needs a non-empty value", o->name);
    if (a->nseen >= CLI_MAX_SEEN) return cli_usage_error(cmd->name, "too many options");
    a->seen_opt[a->nseen] = k;
    a->seen_val[a->nseen++] = a->val[k];
  }

  memset(c, 0, sizeof *c);
  c->cmd = cmd->name;
  c->backend = IE_BACKEND_AUTO;
  c->json = 1;
  c->progress = !cli_has(a, "--no-progress");
  c->budget = (size_t)DEFAULT_BUDGET_MB << 20;
  const char *v;
  if ((v = cli_get(a, "--backend"))) {
    int b = ie_backend_parse(v);
    if (b < 0) return cli_usage_error(cmd->name, "--backend takes auto, cpu, cuda or opencl, not '%s'", v);
    c->backend = (ie_backend)b;
    c->backend_given = 1;
  }
  int64_t d;
  int got = cli_opt_int64(a, cmd->name, "--device", &d);
  if (got < 0) return CLI_EXIT_USAGE;
  if (got) {
    if (d < 0 || d > 1 << 20) return cli_usage_error(cmd->name, "--device must be a device index >= 0, not '%s'", cli_get(a, "--device"));
    c->device = (int)d;
  }
  c->out = cli_get(a, "--out");
  if ((v = cli_get(a, "--format"))) {
    if (!strcmp(v, "json")) c->json = 1;
    else if (!strcmp(v, "text")) c->json = 0;
    else return cli_usage_error(cmd->name, "--format takes json or text, not '%s'", v);
  }
  double mb;
  got = cli_opt_double(a, cmd->name, "--memory-budget", 0, &mb);
  if (got < 0) return CLI_EXIT_USAGE;
  if (got) {
    if (!(mb >= 1) || mb > 1e9)
      return cli_usage_error(cmd->name, "--memory-budget takes MiB, at least 1, not '%s'",
                             cli_get(a, "--memory-budget"));
    c->budget = (size_t)(mb * 1048576.0);
  }
  return CLI_EXIT_OK;
}

/* The commands whose rows can be split among MPI ranks: the row-wise ones
 * and the counting ones (their label pairs).  The others need every sample
 * at once. */
static int splits_rows(const cli_command *cmd) {
  static const char *const rowwise[] = {"log-softmax", "entropy", "nll", "divergence", "pmi", "table-mi"};
  for (size_t i = 0; i < sizeof rowwise / sizeof rowwise[0]; i++)
    if (!strcmp(cmd->name, rowwise[i])) return 1;
  return 0;
}

static int run_main(int argc, char **argv) {
  if (argc < 2) {
    tool_help(stderr);
    return CLI_EXIT_USAGE;
  }
  const char *name = argv[1];
  if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
    if (argc >= 3 && strcmp(name, "help") == 0) {
      const cli_command *c = find_command(argv[2]);
      if (!c) return cli_usage_error(NULL, "unknown command '%s'", argv[2]);
      command_help(stdout, c);
    } else {
      tool_help(stdout);
    }
    return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
  }
  if (!strcmp(name, "--version") || !strcmp(name, "version")) {
    printf("infoest %s\n", ie_version_string());
    return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
  }
  const cli_command *cmd = find_command(name);
  if (!cmd) {
    if (name[0] == '-') return cli_usage_error(NULL, "the first word must be a command, not the option '%s'", name);
    return cli_usage_error(NULL, "unknown command '%s'", name);
  }
  for (int i = 2; i < argc; i++)
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      command_help(stdout, cmd);
      return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
    }

  cli_args a;
  cli_common c;
  int rc = parse_args(cmd, argc - 2, argv + 2, &a, &c);
  if (rc != CLI_EXIT_OK) return rc;
  if (cli_mpi_size() > 1) {
    if (!splits_rows(cmd))
      return cli_usage_error(cmd->name,
                             "needs all its samples at once in one process (%s), so its rows cannot be "
                             "split among %d MPI ranks: run it without mpirun (or with -n 1)",
                             !strcmp(cmd->name, "demo") ? "it runs on built-in data"
                                                        : "every result depends on every row",
                             cli_mpi_size());
    /* One GPU a rank: the local rank's, unless --device says otherwise. */
    if (!cli_has(&a, "--device") && c.backend != IE_BACKEND_CPU) {
      c.device = cli_mpi_local_rank();
      c.device_per_rank = 1;
    }
  }
  return cmd->run(cmd, &a, &c);
}

int main(int argc, char **argv) {
  /* First of all, so that a Ctrl-C however early is the clean "interrupted"
   * exit rather than the default death. */
  cli_install_signals();
#ifdef IE_CLI_MPI
  cli_mpi_begin(&argc, &argv);
  return cli_mpi_end(run_main(argc, argv));
#else
  return run_main(argc, argv);
#endif
}
