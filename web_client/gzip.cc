#include "web_client/gzip.h"

#include <algorithm>
#include <limits>

#include <zlib.h>

#include "absl/strings/str_cat.h"
#include "web_client/errors.h"

namespace deft::web {

std::string gunzip(std::string_view encoded, std::uint64_t maxDecoded, std::uint64_t maxRatio) {
  std::uint64_t byRatio = std::numeric_limits<std::uint64_t>::max();
  if (maxRatio != 0 && encoded.size() <= byRatio / maxRatio) {
    byRatio = std::max<std::uint64_t>(kRatioFloor, maxRatio * encoded.size());
  }
  z_stream stream{};
  // 32 + MAX_WBITS: detect a gzip or zlib header.
  if (inflateInit2(&stream, 32 + MAX_WBITS) != Z_OK) throw DecodingError("zlib init failed");
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(encoded.data()));
  stream.avail_in = static_cast<uInt>(encoded.size());
  std::string out;
  char buffer[64 * 1024];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    stream.next_out = reinterpret_cast<Bytef*>(buffer);
    stream.avail_out = sizeof buffer;
    rc = inflate(&stream, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      const std::string why = stream.msg != nullptr ? stream.msg : "truncated stream";
      inflateEnd(&stream);
      throw DecodingError(absl::StrCat("gzip: ", why));
    }
    out.append(buffer, sizeof buffer - stream.avail_out);
    if (out.size() > maxDecoded) {
      inflateEnd(&stream);
      throw ResponseTooLarge(absl::StrCat("decoded body over ", maxDecoded, " bytes"));
    }
    if (out.size() > byRatio) {
      inflateEnd(&stream);
      throw ResponseTooLarge(absl::StrCat("decoded body over ", maxRatio, " times its ",
                                          encoded.size(), " encoded bytes (a decompression bomb?)"));
    }
    if (rc == Z_OK && stream.avail_in == 0 && stream.avail_out != 0) {
      inflateEnd(&stream);
      throw DecodingError("gzip: truncated stream");
    }
  }
  inflateEnd(&stream);
  return out;
}

}  // namespace deft::web
