#include "strings/str_cat.h"

#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "absl/strings/string_view.h"

namespace deft {
namespace {

TEST(StrCat, TakesStdStringViewsBesideWhatAbseilTakes) {
  std::string_view line = "hello";
  const std::string nick = "ana";
  absl::string_view abslView = "!";
  EXPECT_EQ(StrCat("<", nick, "> ", line, abslView, 42, " ", 1.5), "<ana> hello!42 1.5");
}

TEST(StrCat, KeepsTheViewsBytesIncludingNulsAndNothingPastIt) {
  const char buffer[] = {'a', '\0', 'b', 'c', 'd'};
  std::string_view view(buffer, 3);  // "a\0b": not NUL-terminated where it ends
  EXPECT_EQ(StrCat("[", view, "]"), std::string("[a\0b]", 5));
}

TEST(StrCat, ZeroAndManyPieces) {
  EXPECT_EQ(StrCat(), "");
  std::string_view v = "v";
  EXPECT_EQ(StrCat(v, v, v, v, v, v, v, v, v, v), "vvvvvvvvvv");  // past absl's fixed overloads
}

TEST(StrAppend, AppendsStdStringViews) {
  std::string out = "GET ";
  std::string_view path = "/index.html?x=1";
  StrAppend(&out, path, " HTTP/1.1");
  EXPECT_EQ(out, "GET /index.html?x=1 HTTP/1.1");
}

}  // namespace
}  // namespace deft
