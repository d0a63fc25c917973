/* The libuv peer for the echo benchmark.
 *
 *   uv_echo_server PORT
 *   uv_echo_server unix:PATH
 *
 * Listens on 127.0.0.1:PORT (or the Unix socket PATH, with uv_pipe) and writes back whatever it
 * reads, until SIGINT/SIGTERM. */

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

/* Tuned, so the peer is not a strawman: one read buffer per connection, reused; replies go out
 * with uv_try_write, and only what the kernel does not take is copied for a queued uv_write. */
typedef struct {
  union {
    uv_tcp_t tcp;
    uv_pipe_t pipe;
  } handle;
  char buffer[65536];
} connection;

static int over_unix = 0;

typedef struct {
  uv_write_t request;
  uv_buf_t buffer;
} write_request;

static void on_close(uv_handle_t* handle) { free(handle); }

static void on_written(uv_write_t* request, int status) {
  (void)status;
  write_request* w = (write_request*)request;
  free(w->buffer.base);
  free(w);
}

static void on_alloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buffer) {
  (void)suggested;
  connection* c = (connection*)handle;
  buffer->base = c->buffer;
  buffer->len = sizeof c->buffer;
}

static void on_read(uv_stream_t* client, ssize_t nread, const uv_buf_t* buffer) {
  if (nread < 0) {
    uv_close((uv_handle_t*)client, on_close);
    return;
  }
  if (nread == 0) return;
  uv_buf_t data = uv_buf_init(buffer->base, (unsigned)nread);
  int sent = uv_try_write(client, &data, 1);
  if (sent == nread) return;
  if (sent < 0) sent = 0;
  write_request* w = malloc(sizeof *w);
  w->buffer.len = (size_t)(nread - sent);
  w->buffer.base = malloc(w->buffer.len);
  memcpy(w->buffer.base, buffer->base + sent, w->buffer.len);
  uv_buf_t pieces[1] = {w->buffer}; /* uv_write copies the array */
  uv_write(&w->request, client, pieces, 1, on_written);
}

static void on_connection(uv_stream_t* server, int status) {
  if (status < 0) return;
  connection* client = malloc(sizeof *client);
  if (over_unix) {
    uv_pipe_init(server->loop, &client->handle.pipe, 0);
  } else {
    uv_tcp_init(server->loop, &client->handle.tcp);
  }
  if (uv_accept(server, (uv_stream_t*)&client->handle) == 0) {
    uv_read_start((uv_stream_t*)&client->handle, on_alloc, on_read);
  } else {
    uv_close((uv_handle_t*)&client->handle, on_close);
  }
}

static void on_signal(uv_signal_t* handle, int signum) {
  (void)signum;
  uv_stop(handle->loop);
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s PORT\n", argv[0]);
    return 2;
  }
  /* As every libuv server must: a write to a Unix socket whose peer has gone raises SIGPIPE. */
  signal(SIGPIPE, SIG_IGN);
  uv_loop_t* loop = uv_default_loop();
  uv_tcp_t server;
  uv_pipe_t unix_server;
  uv_stream_t* listening;
  int bound;
  if (strncmp(argv[1], "unix:", 5) == 0) {
    over_unix = 1;
    uv_pipe_init(loop, &unix_server, 0);
    bound = uv_pipe_bind(&unix_server, argv[1] + 5);
    listening = (uv_stream_t*)&unix_server;
  } else {
    uv_tcp_init(loop, &server);
    struct sockaddr_in address;
    uv_ip4_addr("127.0.0.1", atoi(argv[1]), &address);
    bound = uv_tcp_bind(&server, (const struct sockaddr*)&address, 0);
    listening = (uv_stream_t*)&server;
  }
  if (bound != 0 || uv_listen(listening, 1024, on_connection) != 0) {
    fprintf(stderr, "cannot listen on %s\n", argv[1]);
    return 1;
  }
  uv_signal_t sigint, sigterm;
  uv_signal_init(loop, &sigint);
  uv_signal_start(&sigint, on_signal, SIGINT);
  uv_signal_init(loop, &sigterm);
  uv_signal_start(&sigterm, on_signal, SIGTERM);
  printf("libuv echo server on %s\n", argv[1]);
  fflush(stdout);
  uv_run(loop, UV_RUN_DEFAULT);
  return 0;
}
