// getpage with URLs: curl's meaning. Each group's URLs (globs expanded) in turn, or at once with
// -Z; each body to stdout or to its -o file; curl's exit code.

#ifndef DEFT_EXAMPLES_GETPAGE_CURL_MODE_H_
#define DEFT_EXAMPLES_GETPAGE_CURL_MODE_H_

#include "deferred/deferred.h"
#include "examples/getpage/options.h"

namespace getpage {

// The exit code: the last transfer's (with -Z, the first failure's), as curl's.
deft::Deferred<int> runCurl(CommandLine line);

}  // namespace getpage

#endif  // DEFT_EXAMPLES_GETPAGE_CURL_MODE_H_
