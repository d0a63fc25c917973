/* The libuv peer for the UDP echo benchmark.
 *
 *   uv_udp_echo_server PORT
 *
 * Echoes every datagram on 127.0.0.1:PORT back to its sender until SIGINT/SIGTERM. Tuned, so the
 * peer is not a strawman: recvmmsg batches (UV_UDP_RECVMMSG, a 32-datagram buffer), replies sent
 * with uv_udp_try_send, and only what the kernel refuses queued with uv_udp_send. */

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

enum { kSlot = 65536, kSlots = 32 };
static char receive_buffer[kSlot * kSlots];

typedef struct {
  uv_udp_send_t request;
  char data[];
} send_request;

static void on_alloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buffer) {
  (void)handle;
  (void)suggested;
  buffer->base = receive_buffer;
  buffer->len = sizeof receive_buffer;
}

static void on_sent(uv_udp_send_t* request, int status) {
  (void)status;
  free(request);
}

static void on_receive(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buffer,
                       const struct sockaddr* from, unsigned flags) {
  (void)flags;
  if (nread <= 0 || from == NULL) return; /* an error, or the end of a recvmmsg batch */
  uv_buf_t data = uv_buf_init(buffer->base, (unsigned)nread);
  if (uv_udp_try_send(handle, &data, 1, from) >= 0) return;
  send_request* r = malloc(sizeof *r + (size_t)nread);
  memcpy(r->data, buffer->base, (size_t)nread);
  uv_buf_t copy = uv_buf_init(r->data, (unsigned)nread);
  uv_udp_send(&r->request, handle, &copy, 1, from, on_sent);
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
  uv_loop_t* loop = uv_default_loop();
  uv_udp_t server;
  uv_udp_init_ex(loop, &server, AF_INET | UV_UDP_RECVMMSG);
  struct sockaddr_in address;
  uv_ip4_addr("127.0.0.1", atoi(argv[1]), &address);
  if (uv_udp_bind(&server, (const struct sockaddr*)&address, 0) != 0) {
    fprintf(stderr, "cannot bind port %s\n", argv[1]);
    return 1;
  }
  int size = 4 << 20;
  uv_recv_buffer_size((uv_handle_t*)&server, &size);
  size = 4 << 20;
  uv_send_buffer_size((uv_handle_t*)&server, &size);
  uv_udp_recv_start(&server, on_alloc, on_receive);
  uv_signal_t sigint, sigterm;
  uv_signal_init(loop, &sigint);
  uv_signal_start(&sigint, on_signal, SIGINT);
  uv_signal_init(loop, &sigterm);
  uv_signal_start(&sigterm, on_signal, SIGTERM);
  printf("libuv udp echo on 127.0.0.1:%s\n", argv[1]);
  fflush(stdout);
  uv_run(loop, UV_RUN_DEFAULT);
  return 0;
}
