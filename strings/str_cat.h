// File: strings/str_cat.h
//
// deft::StrCat and deft::StrAppend: absl::StrCat and absl::StrAppend that also take the
// std::string_views deft hands out (dataReceived, lineReceived, header values, URL parts).
//
//   void lineReceived(std::string_view line) override {
//     room_.broadcast(StrCat("<", nick_, "> ", line));
//   }
//
// WHY. Debian's Abseil is built with a string_view of its own (ABSL_OPTION_USE_STD_STRING_VIEW
// is 0), and absl::StrCat takes that one, not std::string_view: `absl::StrCat("> ", line)` does
// not compile, and the usual way round, `std::string(line)`, copies the text once more. These
// pass each std::string_view on as an absl::string_view over the same bytes and hand everything
// else to Abseil untouched, so they accept whatever absl::StrCat does. With an Abseil that uses
// std::string_view they are plain forwards.

#ifndef DEFT_STRINGS_STR_CAT_H_
#define DEFT_STRINGS_STR_CAT_H_

#include <string>
#include <string_view>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace deft {
namespace internal {

template <class T>
decltype(auto) forAbslStrCat(const T& piece) {
  if constexpr (std::is_same_v<T, std::string_view> &&
                !std::is_same_v<std::string_view, absl::string_view>) {
    return absl::string_view(piece.data(), piece.size());
  } else {
    return (piece);  // a reference: absl::StrCat takes it as it is
  }
}

}  // namespace internal

template <class... Pieces>
std::string StrCat(const Pieces&... pieces) {
  return absl::StrCat(internal::forAbslStrCat(pieces)...);
}

template <class... Pieces>
void StrAppend(std::string* destination, const Pieces&... pieces) {
  absl::StrAppend(destination, internal::forAbslStrCat(pieces)...);
}

}  // namespace deft

#endif  // DEFT_STRINGS_STR_CAT_H_
