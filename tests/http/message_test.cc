// Headers, serialisation and its refusal of unsafe messages.

#include "http/message.h"

#include "gtest/gtest.h"
#include "http/errors.h"
#include "http/headers.h"

namespace deft::http {
namespace {

TEST(HeadersTest, SetReplacesAllAndRemoveCounts) {
  Headers h{{"A", "1"}, {"b", "2"}, {"a", "3"}};
  h.set("A", "x");
  EXPECT_EQ(h.getAll("a"), (std::vector<std::string_view>{"x"}));
  EXPECT_EQ(h.size(), 2u);
  EXPECT_EQ(h.remove("B"), 1u);
  EXPECT_FALSE(h.has("b"));
  h.set("New", "v");
  EXPECT_EQ(h.get("new"), "v");
}

TEST(HeadersTest, HasToken) {
  EXPECT_TRUE(hasToken("keep-alive, Upgrade", "upgrade"));
  EXPECT_TRUE(hasToken(" close ", "close"));
  EXPECT_FALSE(hasToken("closed", "close"));
  EXPECT_FALSE(hasToken("", "close"));
}

TEST(SerializeTest, RequestHead) {
  RequestHead head{"POST", "/submit?x=%0D%0A", {{"Host", "example.com:8080"}}, {1, 1}};
  EXPECT_EQ(serialize(head),
            "POST /submit?x=%0D%0A HTTP/1.1\r\nHost: example.com:8080\r\n\r\n");
}

TEST(SerializeTest, ResponseHeadWithDefaultReason) {
  ResponseHead head{404, "", {{"Content-Length", "0"}}, {1, 1}};
  EXPECT_EQ(serialize(head), "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
  head.reason = "Gone Fishing";
  EXPECT_EQ(serialize(head), "HTTP/1.1 404 Gone Fishing\r\nContent-Length: 0\r\n\r\n");
}

TEST(SerializeTest, RefusesCrLfNulAnywhere) {
  const auto refuses = [](RequestHead head) {
    EXPECT_THROW(serialize(head), InvalidMessageError) << head.method << " " << head.target;
  };
  refuses({"GET", "/a\r\nX-Injected: 1", {}, {}});
  refuses({"GET", "/a b", {}, {}});
  refuses({"GET", std::string("/a\0b", 4), {}, {}});
  refuses({"GET\r\n", "/", {}, {}});
  refuses({"GET", "/", {{"X-Bad\r\nInjected", "v"}}, {}});
  refuses({"GET", "/", {{"X", "v\r\nInjected: 1"}}, {}});
  refuses({"GET", "/", {{"X", "v\nInjected: 1"}}, {}});
  refuses({"GET", "/", {{"X", std::string("a\0b", 3)}}, {}});
  refuses({"GET", "/", {{"Bad Name", "v"}}, {}});
  EXPECT_THROW(serialize(ResponseHead{200, "OK\r\nX: y", {}, {}}), InvalidMessageError);
  EXPECT_THROW(serialize(ResponseHead{200, "OK", {{"Set-Cookie", "a\rb"}}, {}}),
               InvalidMessageError);
  EXPECT_THROW(serialize(ResponseHead{42, "", {}, {}}), InvalidMessageError);
}

TEST(SerializeTest, ChunkHeader) {
  EXPECT_EQ(chunkHeader(26), "1a\r\n");
  EXPECT_EQ(chunkHeader(1), "1\r\n");
}

TEST(MessageTest, ResponseHasNoBody) {
  EXPECT_TRUE(responseHasNoBody("HEAD", 200));
  EXPECT_TRUE(responseHasNoBody("GET", 204));
  EXPECT_TRUE(responseHasNoBody("GET", 304));
  EXPECT_TRUE(responseHasNoBody("GET", 100));
  EXPECT_FALSE(responseHasNoBody("GET", 200));
}

}  // namespace
}  // namespace deft::http
