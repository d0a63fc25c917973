// CookieJar against RFC 6265's own examples (§3.1) and its storage and retrieval rules, the
// public suffix list, the forgiving date parser, bounds, Netscape files; then an Agent with a jar
// against the project's server: a login cookie carried across a redirect, and kept to its host.

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "gtest/gtest.h"
#include "http_server/site.h"
#include "tcp/tcp.h"
#include "tests/support/loop_helpers.h"
#include "web_client/agent.h"
#include "web_client/cookie_jar.h"
#include "web_client/get_page.h"

namespace deft::web {
namespace {

using deft::testing::wait;

http::Url url(const std::string& text) { return *http::Url::parse(text); }

// A fixed "now", 2020-01-01: the RFC's examples expire in 2021.
const absl::Time kNow = absl::FromCivil(absl::CivilSecond(2020, 1, 1, 0, 0, 0), absl::UTCTimeZone());

TEST(CookieJarTest, Rfc6265Example1AHostOnlySessionCookie) {
  CookieJar jar;
  EXPECT_TRUE(jar.setCookie(url("http://example.com/"), "SID=31d4d96e407aad42", kNow));
  EXPECT_EQ(jar.cookieHeader(url("http://example.com/"), kNow), "SID=31d4d96e407aad42");
  EXPECT_EQ(jar.cookieHeader(url("http://www.example.com/"), kNow), std::nullopt)
      << "a host-only cookie went to a subdomain";
  EXPECT_EQ(jar.cookieHeader(url("http://example.org/"), kNow), std::nullopt);
}

TEST(CookieJarTest, Rfc6265Example2DomainCookiesGoToSubdomains) {
  CookieJar jar;
  const http::Url www = url("http://www.example.com/");
  EXPECT_TRUE(jar.setCookie(www, "SID=31d4d96e407aad42; Path=/; Domain=example.com", kNow));
  EXPECT_TRUE(jar.setCookie(www, "lang=en-US; Path=/; Domain=example.com", kNow));
  EXPECT_EQ(jar.cookieHeader(url("http://example.com/"), kNow), "SID=31d4d96e407aad42; lang=en-US");
  EXPECT_EQ(jar.cookieHeader(url("http://a.b.example.com/x"), kNow),
            "SID=31d4d96e407aad42; lang=en-US");
  EXPECT_EQ(jar.cookieHeader(url("http://notexample.com/"), kNow), std::nullopt);
  // A leading dot is ignored.
  EXPECT_TRUE(jar.setCookie(www, "dot=1; Domain=.EXAMPLE.com", kNow));
  EXPECT_EQ(jar.cookies(kNow).back().domain, "example.com");
}

TEST(CookieJarTest, Rfc6265Example3AnExpiredCookieRemovesTheOne) {
  CookieJar jar;
  const http::Url u = url("http://example.com/");
  EXPECT_TRUE(jar.setCookie(u, "lang=en-US; Expires=Wed, 09 Jun 2021 10:18:14 GMT", kNow));
  EXPECT_EQ(jar.cookieHeader(u, kNow), "lang=en-US");
  EXPECT_EQ(jar.cookieHeader(u, kNow + absl::Hours(24 * 600)), std::nullopt) << "not expired";
  jar.setCookie(u, "lang=en-US; Expires=Wed, 09 Jun 2021 10:18:14 GMT", kNow);
  EXPECT_FALSE(jar.setCookie(u, "lang=; Expires=Sun, 06 Nov 1994 08:49:37 GMT", kNow));
  EXPECT_EQ(jar.cookieHeader(u, kNow), std::nullopt);
  EXPECT_EQ(jar.size(), 0u);
}

TEST(CookieJarTest, Rfc6265Example4SecureCookiesOnlyOverHttps) {
  CookieJar jar;
  const http::Url https = url("https://www.example.com/");
  EXPECT_TRUE(jar.setCookie(https, "SID=31d4d96e407aad42; Path=/; Secure; HttpOnly", kNow));
  EXPECT_TRUE(jar.setCookie(https, "lang=en-US; Path=/; Domain=example.com", kNow));
  EXPECT_EQ(jar.cookieHeader(url("https://www.example.com/"), kNow),
            "SID=31d4d96e407aad42; lang=en-US");
  EXPECT_EQ(jar.cookieHeader(url("http://www.example.com/"), kNow), "lang=en-US");
  EXPECT_TRUE(jar.cookies(kNow).front().httpOnly);
  // An http:// response can neither set a Secure cookie nor replace one.
  EXPECT_FALSE(jar.setCookie(url("http://www.example.com/"), "x=1; Secure", kNow));
  EXPECT_FALSE(jar.setCookie(url("http://www.example.com/"), "SID=stolen; Path=/", kNow));
  EXPECT_EQ(jar.cookieHeader(url("https://www.example.com/"), kNow),
            "SID=31d4d96e407aad42; lang=en-US");
}

TEST(CookieJarTest, DomainsThatAreForeignOrPublicSuffixesAreRefused) {
  CookieJar jar;
  EXPECT_FALSE(jar.setCookie(url("http://www.example.com/"), "a=1; Domain=example.org", kNow));
  EXPECT_FALSE(jar.setCookie(url("http://www.example.com/"), "a=1; Domain=ww.example.com", kNow));
  EXPECT_FALSE(jar.setCookie(url("http://www.example.com/"), "a=1; Domain=com", kNow));
  EXPECT_FALSE(jar.setCookie(url("http://www.example.co.uk/"), "a=1; Domain=co.uk", kNow));
  EXPECT_FALSE(jar.setCookie(url("http://foo.github.io/"), "a=1; Domain=github.io", kNow));
  EXPECT_TRUE(jar.setCookie(url("http://www.example.co.uk/"), "a=1; Domain=example.co.uk", kNow));
  EXPECT_EQ(jar.size(), 1u);
  EXPECT_TRUE(isPublicSuffix("co.uk"));
  EXPECT_FALSE(isPublicSuffix("example.co.uk"));
  // A host that is itself a public suffix gets a host-only cookie (RFC 6265 §5.3 step 5).
  CookieJar own;
  EXPECT_TRUE(own.setCookie(url("http://github.io/"), "a=1; Domain=github.io", kNow));
  EXPECT_TRUE(own.cookies(kNow).front().hostOnly);
  // An IP address: no domain cookies, and no subdomains.
  CookieJar ip;
  EXPECT_FALSE(ip.setCookie(url("http://127.0.0.1/"), "a=1; Domain=0.0.1", kNow));
  EXPECT_TRUE(ip.setCookie(url("http://127.0.0.1/"), "a=1; Domain=127.0.0.1", kNow));
  EXPECT_EQ(ip.cookieHeader(url("http://127.0.0.1/"), kNow), "a=1");
}

TEST(CookieJarTest, PathsMatchBySegmentAndDefaultToTheRequestsDirectory) {
  CookieJar jar;
  EXPECT_TRUE(jar.setCookie(url("http://h/docs/web/page"), "dir=1", kNow));  // Path=/docs/web
  EXPECT_TRUE(jar.setCookie(url("http://h/"), "root=1", kNow));
  EXPECT_TRUE(jar.setCookie(url("http://h/"), "foo=1; Path=/foo", kNow));
  EXPECT_TRUE(jar.setCookie(url("http://h/"), "bad=1; Path=relative", kNow));  // Path=/ (default)
  EXPECT_EQ(jar.cookieHeader(url("http://h/docs/web"), kNow), "dir=1; root=1; bad=1");
  EXPECT_EQ(jar.cookieHeader(url("http://h/docs/web/x/y"), kNow), "dir=1; root=1; bad=1");
  EXPECT_EQ(jar.cookieHeader(url("http://h/docs/webs"), kNow), "root=1; bad=1");
  EXPECT_EQ(jar.cookieHeader(url("http://h/foo/bar"), kNow), "foo=1; root=1; bad=1");
  EXPECT_EQ(jar.cookieHeader(url("http://h/foobar"), kNow), "root=1; bad=1");
  // Same name, domain and path: replaced in place, keeping its creation order.
  EXPECT_TRUE(jar.setCookie(url("http://h/"), "root=2", kNow));
  EXPECT_EQ(jar.cookieHeader(url("http://h/"), kNow), "root=2; bad=1");
}

TEST(CookieJarTest, MaxAgeWinsOverExpiresAndZeroDeletes) {
  CookieJar jar;
  const http::Url u = url("http://h/");
  EXPECT_TRUE(jar.setCookie(u, "a=1; Expires=Sun, 06 Nov 1994 08:49:37 GMT; Max-Age=60", kNow));
  EXPECT_EQ(jar.cookieHeader(u, kNow + absl::Seconds(59)), "a=1");
  EXPECT_EQ(jar.cookieHeader(u, kNow + absl::Seconds(61)), std::nullopt);
  EXPECT_TRUE(jar.setCookie(u, "b=1", kNow));
  EXPECT_FALSE(jar.setCookie(u, "b=1; Max-Age=0", kNow));
  EXPECT_EQ(jar.cookieHeader(u, kNow), std::nullopt);
  EXPECT_TRUE(jar.setCookie(u, "c=1; Max-Age=junk", kNow));  // ignored attribute: a session cookie
  EXPECT_FALSE(jar.cookies(kNow).front().expires.has_value());
}

TEST(CookieJarTest, MalformedAndOversizedSetCookiesAreIgnored) {
  CookieJar jar;
  const http::Url u = url("http://h/");
  EXPECT_FALSE(jar.setCookie(u, "novalue", kNow));
  EXPECT_FALSE(jar.setCookie(u, "=nameless", kNow));
  EXPECT_FALSE(jar.setCookie(u, "a=b\x01", kNow));
  EXPECT_FALSE(jar.setCookie(u, "big=" + std::string(9000, 'x'), kNow));
  EXPECT_TRUE(jar.setCookie(u, "  spaced  =  value  ; Path=/", kNow));
  EXPECT_EQ(jar.cookieHeader(u, kNow), "spaced=value");
}

TEST(CookieJarTest, ADomainKeeps180CookiesTheLeastRecentlyUsedGoing) {
  CookieJar jar;
  const http::Url u = url("http://h/");
  for (int i = 0; i < 500; ++i) jar.setCookie(u, absl::StrCat("c", i, "=", i), kNow);
  EXPECT_EQ(jar.size(), 180u);
  EXPECT_EQ(jar.cookies(kNow).back().name, "c499");
  EXPECT_EQ(jar.cookies(kNow).front().name, "c320");
}

TEST(CookieJarTest, TheCookieDateParserReadsWhatServersSend) {
  const absl::Time expected =
      absl::FromCivil(absl::CivilSecond(1994, 11, 6, 8, 49, 37), absl::UTCTimeZone());
  for (const char* text : {"Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT",
                           "Sun Nov  6 08:49:37 1994", "06 nov 1994 08:49:37",
                           "Sun, 06-Nov-1994 08:49:37 UTC"}) {
    EXPECT_EQ(parseCookieDate(text), expected) << text;
  }
  for (const char* text : {"", "Sun, 06 Nov 1994", "31 Nov 2020 00:00:00", "06 Nov 1600 08:49:37",
                           "06 Nov 1994 24:00:00", "tomorrow"}) {
    EXPECT_EQ(parseCookieDate(text), std::nullopt) << text;
  }
}

TEST(CookieJarTest, NetscapeFilesRoundTripAsCurlWritesThem) {
  CookieJar jar;
  const absl::Time later = absl::FromUnixSeconds(1893456000);  // 2030-01-01
  jar.setCookie(url("https://www.example.com/"), "sid=abc; Domain=example.com; Secure; HttpOnly; Expires=Tue, 01 Jan 2030 00:00:00 GMT", kNow);
  jar.setCookie(url("http://www.example.com/app/x"), "session=1", kNow);
  const std::string text = jar.toNetscape(kNow);
  EXPECT_EQ(text,
            "# Netscape HTTP Cookie File\n"
            "# https://curl.se/docs/http-cookies.html\n"
            "# This file was generated by libcurl! Edit at your own risk.\n\n"
            "www.example.com\tFALSE\t/app\tFALSE\t0\tsession\t1\n"
            "#HttpOnly_.example.com\tTRUE\t/\tTRUE\t1893456000\tsid\tabc\n");
  CookieJar loaded;
  EXPECT_EQ(loaded.loadNetscape(text + "# a comment\nmalformed line\n\n", kNow), 2u);
  EXPECT_EQ(loaded.cookieHeader(url("https://a.example.com/"), kNow), "sid=abc");
  EXPECT_EQ(loaded.cookieHeader(url("http://www.example.com/app/y"), kNow), "session=1");
  loaded.clearSessionCookies();
  EXPECT_EQ(loaded.size(), 1u);
  EXPECT_EQ(loaded.cookieHeader(url("https://www.example.com/"), later), std::nullopt);
}

// An Agent with a jar, against the project's server.
TEST(CookieAgentTest, ALoginCookieIsStoredOnARedirectAndSentAfterButNotToAnotherHost) {
  ReactorScope scope;
  Reactor& reactor = scope.reactor();
  http::Router router;
  router.route("POST", "/login", [](http::Request) {
    http::ServerResponse r = http::ServerResponse::redirect(302, "/account");
    r.headers.add("Set-Cookie", "session=s3cret; Path=/; HttpOnly");
    r.headers.add("Set-Cookie", "theme=dark; Path=/account");
    return r;
  });
  auto echo = [](http::Request r) {
    return http::ServerResponse::text(200, std::string(r.headers.get("Cookie").value_or("none")));
  };
  router.route("/account", echo);
  router.route("/other", echo);
  auto site = std::make_shared<http::Site>(reactor, std::move(router));
  auto port = listenTCP(reactor, 0, site, {.interface = "127.0.0.1"});
  const std::string base = absl::StrCat(":", port->getHost().port());
  // The same site on another loopback address: another host to the jar.
  auto otherPort = listenTCP(reactor, port->getHost().port(), site, {.interface = "127.0.0.2"});

  auto jar = std::make_shared<CookieJar>();
  AgentOptions options;
  options.cookieJar = jar;
  auto agent = std::make_shared<Agent>(reactor, options);
  PageOptions page;
  page.agent = agent;
  page.method = "POST";
  page.redirectMode = RedirectMode::kBrowser;
  auto account = wait(reactor, getPage("http://127.0.0.1" + base + "/login", page));
  ASSERT_TRUE(account.value) << account.failure->describe();
  EXPECT_EQ(*account.value, "theme=dark; session=s3cret");
  EXPECT_EQ(jar->size(), 2u);

  PageOptions plain;
  plain.agent = agent;
  plain.headers.add("Cookie", "mine=1");
  auto other = wait(reactor, getPage("http://127.0.0.1" + base + "/other", plain));
  ASSERT_TRUE(other.value) << other.failure->describe();
  EXPECT_EQ(*other.value, "session=s3cret; mine=1") << "the jar's first, then the caller's";
  // Another host (same server, another loopback address): nothing.
  auto elsewhere = wait(reactor, getPage("http://127.0.0.2" + base + "/other", PageOptions()));
  ASSERT_TRUE(elsewhere.value) << elsewhere.failure->describe();
  EXPECT_EQ(*elsewhere.value, "none");
}

}  // namespace
}  // namespace deft::web
