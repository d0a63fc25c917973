// File: web_client/content_decoding.h
//
// Content-Encoding as a streaming layer (Twisted's ContentDecoderAgent): a response whose body is
// gzip, deflate, br (brotli) or zstd comes out decoded as it arrives, to readBody or to
// deliverBody, never held whole in its encoded form. The Agent does it for a request with
// RequestOptions::decodeContent (it then sends Accept-Encoding); `decodeContent(response)` does it
// for a response in hand.
//
//   RequestOptions options;
//   options.decodeContent = true;
//   agent->request("GET", url, {}, {}, options)
//       .addCallback([](Response r) { r.deliverBody(...decoded bytes...); });
//
// The decoded response has no Content-Encoding or Content-Length header (both described the
// encoded body). Codings applied in turn ("gzip, br") are undone in reverse order; a response
// with a coding this layer does not know is passed on untouched, as Twisted's does.
//
// BOMBS. A few kilobytes of gzip or brotli can decode to gigabytes. The decoded body stops with
// ResponseTooLarge past `maxDecodedBytes`, or past `maxRatio` times the encoded bytes so far (once
// over kRatioFloor): memory stays bounded whatever the server sends. A corrupt or truncated
// stream fails with DecodingError. Either way the connection is aborted.

#ifndef DEFT_WEB_CLIENT_CONTENT_DECODING_H_
#define DEFT_WEB_CLIENT_CONTENT_DECODING_H_

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "web_client/response.h"

namespace deft::web {

// One Content-Encoding, decoded a piece at a time.
class ContentDecoder {
 public:
  virtual ~ContentDecoder() = default;
  // Decodes the next piece of the encoded body, calling `out` with decoded bytes in pieces of at
  // most 64 KiB (so a caller can stop a bomb between them). Throws DecodingError.
  virtual void decode(std::string_view encoded, const absl::FunctionRef<void(std::string_view)>& out) = 0;
  // The encoded body has ended: throws DecodingError if its stream had not.
  virtual void finish() = 0;
};

// A decoder for `coding` ("gzip", "x-gzip", "deflate", "br", "zstd", any case), or null.
std::unique_ptr<ContentDecoder> makeContentDecoder(std::string_view coding);

// What an Accept-Encoding offers of these: "deflate, gzip, br, zstd" (curl's order).
inline constexpr std::string_view kAcceptEncoding = "deflate, gzip, br, zstd";

// The ratio limit applies once the decoded body is over this many bytes: small bodies compress
// well past any sane ratio.
inline constexpr std::uint64_t kRatioFloor = 1 << 20;

struct ContentDecodingLimits {
  std::uint64_t maxDecodedBytes = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t maxRatio = 200;  // 0: no ratio limit
};

// The same response with its body decoded as it arrives; `encoded` itself unchanged when it has
// no Content-Encoding (or "identity") or one not known here. Read the returned Response, not
// `encoded`, whose body it consumes.
Response decodeContent(Response encoded, ContentDecodingLimits limits = {});

}  // namespace deft::web

#endif  // DEFT_WEB_CLIENT_CONTENT_DECODING_H_
