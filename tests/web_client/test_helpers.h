// What the web client's tests share: PageOptions set field by field, and zlib's formats.

#ifndef DEFT_TESTS_WEB_CLIENT_TEST_HELPERS_H_
#define DEFT_TESTS_WEB_CLIENT_TEST_HELPERS_H_

#include <zlib.h>

#include <string>

#include "absl/functional/function_ref.h"
#include "web_client/get_page.h"

namespace deft::web::testing {

// PageOptions is not an aggregate (get_page.h says why), so no {.field = value}: set them here.
inline PageOptions pageOptions(absl::FunctionRef<void(PageOptions&)> set) {
  PageOptions o;
  set(o);
  return o;
}

// `text` deflated in one of zlib's framings: 16 + MAX_WBITS gzip, MAX_WBITS zlib ("deflate" as
// RFC 9110 means it), -MAX_WBITS raw deflate.
inline std::string zlibCompressed(const std::string& text, int windowBits, int level = 6) {
  z_stream s{};
  deflateInit2(&s, level, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&s, text.size()) + 64, '\0');
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  s.avail_in = static_cast<uInt>(text.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = static_cast<uInt>(out.size());
  deflate(&s, Z_FINISH);
  out.resize(s.total_out);
  deflateEnd(&s);
  return out;
}

}  // namespace deft::web::testing

#endif  // DEFT_TESTS_WEB_CLIENT_TEST_HELPERS_H_
