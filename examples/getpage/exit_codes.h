// How a failed fetch ends the getpage command: curl's exit codes, so scripts written for curl
// read ours the same way, and a one-line message for stderr.

#ifndef DEFT_EXAMPLES_GETPAGE_EXIT_CODES_H_
#define DEFT_EXAMPLES_GETPAGE_EXIT_CODES_H_

#include <string>

#include "deferred/failure.h"

namespace getpage {

// 0 ok, 1 unsupported scheme, 3 malformed URL, 6 cannot resolve, 7 cannot connect, 8 malformed
// response, 22 an HttpError (getPage's non-2xx; the CLI's -f decides that itself), 28 timeout, 47 too many redirects, 56 the connection
// failed mid-response, 61 bad content encoding, 63 too large.
int exitCodeFor(const deft::Failure& failure);

// "getpage: (7) Connection was refused by other side: ..." for stderr.
std::string errorLine(const deft::Failure& failure);

}  // namespace getpage

#endif  // DEFT_EXAMPLES_GETPAGE_EXIT_CODES_H_
