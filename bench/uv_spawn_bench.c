/* libuv's side of the spawn benchmark: uv_spawn many short children, 16 at once.
 *
 *   uv_spawn_bench [--children=1000] [--mode=true|output]
 *
 * The same work as bench/spawn_bench.cc: /bin/true on /dev/null, or /bin/echo writing 100 bytes
 * into a stdout pipe (uv_pipe, read to its end). Prints the same fields. */

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

typedef struct {
  uv_process_t process;
  uv_pipe_t out;
  int exited;
  int pipe_open;
  char buffer[4096];
} child;

static int remaining, running, done, output_mode, dev_null;
static size_t bytes;
static uv_loop_t* loop;

static void start_more(void);

static void on_process_closed(uv_handle_t* handle) { free(handle->data); }

/* A child is done once it has exited and, in output mode, its pipe has been read to the end. */
static void maybe_done(child* c) {
  if (!c->exited || c->pipe_open) return;
  --running;
  ++done;
  uv_close((uv_handle_t*)&c->process, on_process_closed);
  start_more();
}

static void on_exit_cb(uv_process_t* process, int64_t status, int signal) {
  (void)status;
  (void)signal;
  child* c = process->data;
  c->exited = 1;
  maybe_done(c);
}

static void on_alloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buffer) {
  (void)suggested;
  child* c = handle->data;
  buffer->base = c->buffer;
  buffer->len = sizeof c->buffer;
}

static void on_pipe_closed(uv_handle_t* handle) {
  child* c = handle->data;
  c->pipe_open = 0;
  maybe_done(c);
}

static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buffer) {
  (void)buffer;
  if (nread > 0) {
    bytes += (size_t)nread;
    return;
  }
  if (nread < 0) uv_close((uv_handle_t*)stream, on_pipe_closed);
}

static void start_one(void) {
  child* c = calloc(1, sizeof *c);
  c->process.data = c;
  c->out.data = c;
  uv_process_options_t options;
  memset(&options, 0, sizeof options);
  uv_stdio_container_t stdio[3];
  stdio[0].flags = UV_INHERIT_FD;
  stdio[0].data.fd = dev_null;
  stdio[2].flags = UV_INHERIT_FD;
  stdio[2].data.fd = dev_null;
  char filler[100];
  memset(filler, 'x', 99);
  filler[99] = 0;
  char* echo_args[] = {"echo", filler, NULL};
  char* true_args[] = {"true", NULL};
  if (output_mode) {
    uv_pipe_init(loop, &c->out, 0);
    stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[1].data.stream = (uv_stream_t*)&c->out;
    options.file = "/bin/echo";
    options.args = echo_args;
    c->pipe_open = 1;
  } else {
    stdio[1].flags = UV_INHERIT_FD;
    stdio[1].data.fd = dev_null;
    options.file = "/bin/true";
    options.args = true_args;
  }
  options.stdio = stdio;
  options.stdio_count = 3;
  options.exit_cb = on_exit_cb;
  int error = uv_spawn(loop, &c->process, &options);
  if (error != 0) {
    fprintf(stderr, "uv_spawn: %s\n", uv_strerror(error));
    exit(1);
  }
  if (output_mode) uv_read_start((uv_stream_t*)&c->out, on_alloc, on_read);
}

static void start_more(void) {
  while (remaining > 0 && running < 16) {
    --remaining;
    ++running;
    start_one();
  }
}

static double seconds_of(struct timeval user, struct timeval system) {
  return (double)(user.tv_sec + system.tv_sec) + (double)(user.tv_usec + system.tv_usec) / 1e6;
}

static const char* flag(int argc, char** argv, const char* name, const char* fallback) {
  size_t length = strlen(name);
  for (int i = 1; i < argc; ++i) {
    if (strncmp(argv[i], "--", 2) == 0 && strncmp(argv[i] + 2, name, length) == 0 &&
        argv[i][2 + length] == '=') {
      return argv[i] + 3 + length;
    }
  }
  return fallback;
}

int main(int argc, char** argv) {
  int children = atoi(flag(argc, argv, "children", "1000"));
  output_mode = strcmp(flag(argc, argv, "mode", "true"), "output") == 0;
  remaining = children;
  dev_null = open("/dev/null", O_RDWR | O_CLOEXEC);
  loop = uv_default_loop();
  struct timespec start, end;
  clock_gettime(CLOCK_MONOTONIC, &start);
  struct rusage before;
  getrusage(RUSAGE_SELF, &before);
  start_more();
  uv_run(loop, UV_RUN_DEFAULT);
  clock_gettime(CLOCK_MONOTONIC, &end);
  struct rusage self, kids;
  getrusage(RUSAGE_SELF, &self);
  getrusage(RUSAGE_CHILDREN, &kids);
  printf("children=%d seconds=%.3f cpu_self=%.3f cpu_children=%.3f bytes=%zu\n", done,
         (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9,
         seconds_of(self.ru_utime, self.ru_stime) - seconds_of(before.ru_utime, before.ru_stime),
         seconds_of(kids.ru_utime, kids.ru_stime), bytes);
  return done == children ? 0 : 1;
}
