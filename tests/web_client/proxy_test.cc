// Proxy settings: the URL forms curl accepts, no_proxy matching, and the environment's variables
// (the Agent through a real proxy, tinyproxy, is in getpage_cli_test).

#include <cstdlib>

#include "gtest/gtest.h"
#include "web_client/agent.h"
#include "web_client/proxy.h"

namespace deft::web {
namespace {

TEST(ProxyTest, ProxyUrlsTakeCurlsForms) {
  auto bare = parseProxyUrl("127.0.0.1");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->port, 1080) << "curl's default proxy port";
  auto full = parseProxyUrl("http://user:p%40ss@proxy.test:3128");
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->host, "proxy.test");
  EXPECT_EQ(full->port, 3128);
  EXPECT_EQ(full->userinfo, "user:p%40ss");
  EXPECT_FALSE(parseProxyUrl("socks5://127.0.0.1:1080").ok());
  EXPECT_FALSE(parseProxyUrl("https://127.0.0.1:443").ok());
  EXPECT_THROW(Agent(reactor(), AgentOptions{.proxy = {.httpProxy = "socks5://127.0.0.1"}}),
               std::invalid_argument);
}

TEST(ProxyTest, NoProxyMatchesNamesTheirSubdomainsAndAddresses) {
  EXPECT_TRUE(bypassesProxy("example.com", "example.com"));
  EXPECT_TRUE(bypassesProxy("www.Example.com", "example.com"));
  EXPECT_TRUE(bypassesProxy("www.example.com", ".example.com"));
  EXPECT_FALSE(bypassesProxy("notexample.com", "example.com"));
  EXPECT_FALSE(bypassesProxy("example.com.evil", "example.com"));
  EXPECT_TRUE(bypassesProxy("anything", "*"));
  EXPECT_TRUE(bypassesProxy("127.0.0.1", "localhost, 127.0.0.1"));
  EXPECT_FALSE(bypassesProxy("127.0.0.10", "127.0.0.1"));
  EXPECT_TRUE(bypassesProxy("::1", "[::1]"));
  EXPECT_FALSE(bypassesProxy("a.test", ""));
}

TEST(ProxyTest, TheEnvironmentGivesProxiesWithCgiSafety) {
  ::setenv("HTTP_PROXY", "http://cgi-header.test:1", 1);  // a CGI request's Proxy: header
  ::unsetenv("http_proxy");
  ::setenv("HTTPS_PROXY", "http://secure.test:3128", 1);
  ::setenv("all_proxy", "http://all.test:8080", 1);
  ::setenv("NO_PROXY", "internal.test", 1);
  ProxySettings settings = ProxySettings::fromEnvironment();
  EXPECT_EQ(settings.httpProxy, "http://all.test:8080") << "HTTP_PROXY must not be used";
  EXPECT_EQ(settings.httpsProxy, "http://secure.test:3128");
  EXPECT_EQ(settings.noProxy, "internal.test");
  ::setenv("http_proxy", "http://plain.test:3128", 1);
  EXPECT_EQ(ProxySettings::fromEnvironment().httpProxy, "http://plain.test:3128");
  for (const char* name : {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "all_proxy", "NO_PROXY"}) ::unsetenv(name);
}

}  // namespace
}  // namespace deft::web
