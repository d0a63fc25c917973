// The small site the notes' examples fetch when given no URL (the notes fetch public sites; deft's
// tests send traffic to loopback only): on 127.0.0.1,
//   /page/N     "page N" and a little text;
//   /delay/S    answers after S seconds (httpbin's /delay), without blocking the server;
//   /status/N   answers with status N (httpbin's /status).

#ifndef DEFT_EXAMPLES_NOTES_NOTES_SITE_H_
#define DEFT_EXAMPLES_NOTES_NOTES_SITE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "reactor/reactor.h"
#include "tcp/tcp.h"

namespace notes {

// Listens on 127.0.0.1:port (0: a free port) on `reactor`.
std::shared_ptr<deft::ListeningPort> serveNotesSite(deft::Reactor& reactor, std::uint16_t port = 0);

// "http://127.0.0.1:PORT"
std::string baseUrl(const deft::ListeningPort& port);

}  // namespace notes

#endif  // DEFT_EXAMPLES_NOTES_NOTES_SITE_H_
