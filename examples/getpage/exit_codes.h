// How a failed fetch ends the getpage command: curl's exit codes, so scripts written for curl
// read ours the same way, and a one-line message for stderr.

#ifndef DEFT_EXAMPLES_GETPAGE_EXIT_CODES_H_
#define DEFT_EXAMPLES_GETPAGE_EXIT_CODES_H_

#include <string>

#include "absl/time/time.h"
#include "deferred/failure.h"

namespace getpage {

// 0 ok, 1 unsupported scheme, 3 malformed URL, 6 cannot resolve, 7 cannot connect, 8 malformed
// response, 18 a body cut short, 22 an HttpError (getPage's non-2xx; the CLI's -f decides that
// itself), 28 timeout, 47 too many redirects, 52 an empty reply, 56 the connection failed
// mid-response (or a CONNECT was refused), 60 an untrusted certificate, 61 bad content encoding,
// 63 too large.
int exitCodeFor(const deft::Failure& failure);

// The line for stderr. With the transfer's URL and how long it ran, curl's own wording for the
// common failures ("getpage: (7) Failed to connect to 127.0.0.1 port 1 after 0 ms: Couldn't
// connect to server", "(6) Could not resolve host: NAME"...); without, the failure's message.
std::string errorLine(const deft::Failure& failure, const std::string& url = "",
                      absl::Duration elapsed = absl::ZeroDuration());

}  // namespace getpage

#endif  // DEFT_EXAMPLES_GETPAGE_EXIT_CODES_H_
