// URL parsing and redirect resolution (RFC 3986 §5.4's examples among them).

#include "http/url.h"

#include "gtest/gtest.h"

namespace deft::http {
namespace {

Url parsed(std::string_view text) {
  absl::StatusOr<Url> url = Url::parse(text);
  EXPECT_TRUE(url.ok()) << text << ": " << url.status();
  return url.ok() ? *url : Url{};
}

TEST(UrlTest, Parts) {
  Url url = parsed("HTTP://User@Example.COM:8080/a/b?q=1&r=%0D%0A#frag");
  EXPECT_EQ(url.scheme, "http");
  EXPECT_EQ(url.userinfo, "User");
  EXPECT_EQ(url.host, "example.com");
  EXPECT_EQ(url.port, 8080);
  EXPECT_EQ(url.target(), "/a/b?q=1&r=%0D%0A") << "escapes kept; the fragment is not sent";
  EXPECT_EQ(url.hostHeader(), "example.com:8080");
  EXPECT_EQ(url.fragment, "frag");
}

TEST(UrlTest, Defaults) {
  Url url = parsed("http://example.com");
  EXPECT_EQ(url.port, 80);
  EXPECT_EQ(url.target(), "/");
  EXPECT_EQ(url.hostHeader(), "example.com");
  EXPECT_EQ(parsed("https://h/").port, 443);
  EXPECT_EQ(parsed("http://h:80/").hostHeader(), "h");
  EXPECT_EQ(parsed("http://h?x").target(), "/?x");
}

TEST(UrlTest, Ipv6) {
  Url url = parsed("http://[::1]:8080/x");
  EXPECT_EQ(url.host, "::1");
  EXPECT_EQ(url.port, 8080);
  EXPECT_EQ(url.hostHeader(), "[::1]:8080");
}

TEST(UrlTest, Refused) {
  for (std::string_view bad :
       {"", "example.com/x", "/relative", "http://", "http://:80/", "http://h:0/", "http://h:99999/",
        "http://h:8x/", "http://h/a b", "http://h/a\r\nX: y", "http://h/\n", "http://[::1/",
        "http://h\x7f/", "ftp://h/", "http://ex ample.com/"}) {
    EXPECT_FALSE(Url::parse(bad).ok()) << "accepted: " << bad;
  }
  EXPECT_FALSE(Url::parse(std::string_view("http://h/\0", 10)).ok());
}

TEST(UrlTest, ResolveRfc3986Examples) {
  const Url base = parsed("http://a/b/c/d;p?q");
  const std::pair<const char*, const char*> cases[] = {
      {"g", "http://a/b/c/g"},         {"./g", "http://a/b/c/g"},
      {"g/", "http://a/b/c/g/"},       {"/g", "http://a/g"},
      {"//g", "http://g/"},            {"?y", "http://a/b/c/d;p?y"},
      {"g?y", "http://a/b/c/g?y"},     {"#s", "http://a/b/c/d;p?q#s"},
      {"g;x?y#s", "http://a/b/c/g;x?y#s"}, {"", "http://a/b/c/d;p?q"},
      {".", "http://a/b/c/"},          {"..", "http://a/b/"},
      {"../g", "http://a/b/g"},        {"../..", "http://a/"},
      {"../../../g", "http://a/g"},    {"/./g", "http://a/g"},
      {"g/../h", "http://a/b/c/h"},    {"http://x:81/y", "http://x:81/y"},
  };
  for (const auto& [reference, expected] : cases) {
    absl::StatusOr<Url> url = base.resolve(reference);
    ASSERT_TRUE(url.ok()) << reference << ": " << url.status();
    EXPECT_EQ(url->toString(), expected) << reference;
  }
}

TEST(UrlTest, ResolveNetworkPathKeepsNewPortAndRefusesInjection) {
  const Url base = parsed("http://a:8000/x");
  absl::StatusOr<Url> url = base.resolve("//b:9000/y");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->hostHeader(), "b:9000");
  EXPECT_FALSE(base.sameOrigin(*url));
  EXPECT_TRUE(base.sameOrigin(*base.resolve("/other")));
  EXPECT_FALSE(base.resolve("/a\r\nSet-Cookie: x").ok());
}

TEST(PercentDecode, DecodesEscapesAndRefusesBrokenOnes) {
  EXPECT_EQ(percentDecode("a%20b%2Fc%e2%82%AC"), "a b/c\xe2\x82\xac");
  EXPECT_EQ(percentDecode("plain+text"), "plain+text");  // '+' is not a space here
  EXPECT_EQ(percentDecode(""), "");
  EXPECT_EQ(percentDecode("50%"), std::nullopt);
  EXPECT_EQ(percentDecode("%2"), std::nullopt);
  EXPECT_EQ(percentDecode("%zz"), std::nullopt);
}

TEST(HostField, AuthoritiesAreValidAndAnythingElseIsNot) {
  for (const char* good : {"", "example.com", "example.com:8080", "127.0.0.1", "[::1]",
                           "[::1]:80", "[2001:db8::7]", "xn--bcher-kva.example", "a_b~c",
                           "host:", "%41bc"}) {
    EXPECT_TRUE(isValidHostField(good)) << good;
  }
  for (const char* bad : {"exa mple.com", "example.com/x", "example.com:80x", ":80", "[::1",
                          "[]", "[::1]x", "[::g]", "a@b", "a%4", "h\t", "example.com?q"}) {
    EXPECT_FALSE(isValidHostField(bad)) << bad;
  }
}

}  // namespace
}  // namespace deft::http
