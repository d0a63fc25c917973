// curl's URL globbing: "http://site/{a,b}/[1-3].txt" is six URLs, the last pattern varying
// fastest. Sets {a,b,c}; ranges [1-100] (zero-padded as written: [001-100]), [a-z], with a step
// [1-100:10]; a bracketed IPv6 address ("[::1]") is left alone. "#1" in an -o name stands for
// the first pattern's value in each URL.

#ifndef DEFT_EXAMPLES_GETPAGE_URL_GLOB_H_
#define DEFT_EXAMPLES_GETPAGE_URL_GLOB_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace getpage {

struct GlobbedUrl {
  std::string url;
  std::vector<std::string> values;  // each pattern's value in this URL, for #N
};

// The URLs `pattern` stands for, in curl's order. InvalidArgument (curl's exit 3) for an
// unclosed or empty pattern, a bad range, or more than `limit` URLs.
absl::StatusOr<std::vector<GlobbedUrl>> expandGlob(std::string_view pattern,
                                                   std::size_t limit = 10'000'000);

// `name` with each "#N" replaced by the Nth value (1-based); a '#' not followed by the number of
// a pattern stays as it is.
std::string fillHashes(std::string_view name, const std::vector<std::string>& values);

}  // namespace getpage

#endif  // DEFT_EXAMPLES_GETPAGE_URL_GLOB_H_
