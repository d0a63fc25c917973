// parseMultipart: RFC 7578's example, quoted parameters, and the malformed bodies a server must
// refuse rather than misread.

#include "http/multipart.h"

#include "gtest/gtest.h"

namespace deft::http {
namespace {

TEST(MultipartTest, ReadsRfc7578sExampleWithQuotedParameters) {
  const std::string body =
      "--AaB03x\r\n"
      "Content-Disposition: form-data; name=\"field1\"\r\n"
      "Content-Type: text/plain;charset=UTF-8\r\n"
      "\r\n"
      "Joe owes =E2=82=AC100.\r\n"
      "--AaB03x\r\n"
      "Content-Disposition: form-data; name=\"pics\"; filename=\"file1.txt\"\r\n"
      "Content-Type: text/plain\r\n"
      "\r\n"
      "...contents of file1.txt...\r\n--not the end\r\n"
      "--AaB03x\r\n"
      "Content-Disposition: form-data; name=\"a\\\"b\"; filename=semi\r\n"
      "\r\n"
      "\r\n"
      "--AaB03x--\r\n";
  auto parts = parseMultipart(body, "multipart/form-data; boundary=AaB03x");
  ASSERT_TRUE(parts.ok()) << parts.status();
  ASSERT_EQ(parts->size(), 3u);
  EXPECT_EQ((*parts)[0].name, "field1");
  EXPECT_FALSE((*parts)[0].filename);
  EXPECT_EQ((*parts)[0].contentType, "text/plain;charset=UTF-8");
  EXPECT_EQ((*parts)[0].data, "Joe owes =E2=82=AC100.");
  EXPECT_EQ((*parts)[1].filename, "file1.txt");
  EXPECT_EQ((*parts)[1].data, "...contents of file1.txt...\r\n--not the end");
  EXPECT_EQ((*parts)[2].name, "a\"b");
  EXPECT_EQ((*parts)[2].filename, "semi");
  EXPECT_EQ((*parts)[2].data, "");
  // The boundary quoted, as some clients send it.
  EXPECT_TRUE(parseMultipart(body, "Multipart/Form-Data; boundary=\"AaB03x\"").ok());
}

TEST(MultipartTest, RefusesWhatItCannotReadWhole) {
  const std::string good = "--b\r\nContent-Disposition: form-data; name=x\r\n\r\nv\r\n--b--\r\n";
  EXPECT_TRUE(parseMultipart(good, "multipart/form-data; boundary=b").ok());
  EXPECT_FALSE(parseMultipart(good, "application/x-www-form-urlencoded").ok());
  EXPECT_FALSE(parseMultipart(good, "multipart/form-data").ok()) << "no boundary";
  EXPECT_FALSE(parseMultipart(good.substr(0, good.size() - 12), "multipart/form-data; boundary=b").ok())
      << "cut short";
  EXPECT_FALSE(parseMultipart("--b\r\nNo-Colon\r\n\r\nv\r\n--b--", "multipart/form-data; boundary=b").ok());
  EXPECT_FALSE(parseMultipart("--b\r\nX: y\r\n\r\nv\r\n--b--", "multipart/form-data; boundary=b").ok())
      << "no Content-Disposition";
  std::string many;
  for (int i = 0; i < 5; ++i) many += "--b\r\nContent-Disposition: form-data; name=x\r\n\r\n\r\n";
  many += "--b--";
  EXPECT_FALSE(parseMultipart(many, "multipart/form-data; boundary=b", 4).ok());
}

}  // namespace
}  // namespace deft::http
