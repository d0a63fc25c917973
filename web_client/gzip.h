// File: web_client/gzip.h
//
// Decoding a gzip (or zlib "deflate") Content-Encoding, with a cap on the decoded size so a small
// compressed body cannot expand without bound (a "zip bomb").

#ifndef DEFT_WEB_CLIENT_GZIP_H_
#define DEFT_WEB_CLIENT_GZIP_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "deferred/error.h"

namespace deft::web {

// The body's Content-Encoding could not be decoded.
class DecodingError : public Error {
 public:
  explicit DecodingError(const std::string& why)
      : Error("cannot decode the response body: " + why, absl::StatusCode::kDataLoss) {}
};

// The decoded form of `encoded` ("gzip" or "deflate" framing, detected). Throws DecodingError on a
// corrupt or truncated stream, and ResponseTooLarge past `maxDecoded` bytes or, when `maxRatio`
// is not 0, past `maxRatio` times the encoded size (but never under kRatioFloor bytes): a
// decompression bomb is stopped early, whatever the size limit (Apache's
// DeflateInflateRatioLimit).
inline constexpr std::uint64_t kRatioFloor = 1 << 20;
std::string gunzip(std::string_view encoded, std::uint64_t maxDecoded, std::uint64_t maxRatio = 0);

}  // namespace deft::web

#endif  // DEFT_WEB_CLIENT_GZIP_H_
