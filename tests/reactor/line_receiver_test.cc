// LineReceiver, fed directly (no sockets) through a transport that records writes.

#include "reactor/line_receiver.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace deft {
namespace {

// A transport that only records; enough for protocol logic.
class StringTransport : public ITransport {
 public:
  void write(std::string_view data) override { written.append(data); }
  void writeSequence(std::span<const std::string_view> pieces) override {
    for (auto p : pieces) written.append(p);
  }
  void loseConnection() override { closed = true; }
  void abortConnection() override { closed = true; }
  void loseWriteConnection() override {}
  Address getPeer() const override { return {}; }
  Address getHost() const override { return {}; }
  void setTcpNoDelay(bool) override {}
  void setTcpKeepAlive(bool) override {}
  std::size_t bufferedBytes() const override { return 0; }
  void setHighWaterMark(std::size_t) override {}
  void registerProducer(IPushProducer*) override {}
  void registerProducer(IPullProducer*) override {}
  void unregisterProducer() override {}
  void pauseProducing() override {}
  void resumeProducing() override {}
  void stopProducing() override {}

  std::string written;
  bool closed = false;
};

class Lines : public LineReceiver {
 public:
  void lineReceived(std::string_view line) override { lines.emplace_back(line); }
  void rawDataReceived(std::string_view data) override { raw.append(data); }
  std::vector<std::string> lines;
  std::string raw;
};

TEST(LineReceiverTest, SplitsLinesWhateverTheChunking) {
  const std::string input = "first\r\nsecond line\r\n\r\nlast\r\n";
  for (std::size_t chunk = 1; chunk <= input.size(); ++chunk) {
    StringTransport transport;
    Lines lines;
    lines.makeConnection(&transport);
    for (std::size_t i = 0; i < input.size(); i += chunk) lines.dataReceived(input.substr(i, chunk));
    EXPECT_EQ(lines.lines, (std::vector<std::string>{"first", "second line", "", "last"}))
        << "chunk size " << chunk;
  }
}

TEST(LineReceiverTest, SendLineAppendsTheDelimiter) {
  StringTransport transport;
  Lines lines;
  lines.makeConnection(&transport);
  lines.sendLine("hello");
  EXPECT_EQ(transport.written, "hello\r\n");
}

TEST(LineReceiverTest, OverlongLineClosesTheConnection) {
  StringTransport transport;
  Lines lines;
  lines.setMaxLength(10);
  lines.makeConnection(&transport);
  lines.dataReceived("short\r\n");
  lines.dataReceived(std::string(11, 'x'));  // no delimiter yet, already too long
  EXPECT_TRUE(transport.closed);
  EXPECT_EQ(lines.lines, (std::vector<std::string>{"short"}));
}

TEST(LineReceiverTest, OverlongCompleteLineAlsoCloses) {
  StringTransport transport;
  Lines lines;
  lines.setMaxLength(4);
  lines.makeConnection(&transport);
  lines.dataReceived("toolong\r\nok\r\n");
  EXPECT_TRUE(transport.closed);
  EXPECT_TRUE(lines.lines.empty());
}

TEST(LineReceiverTest, RawModeAndBack) {
  StringTransport transport;
  struct Switching : Lines {
    void lineReceived(std::string_view line) override {
      Lines::lineReceived(line);
      if (line == "BODY") setRawMode();
    }
  } lines;
  lines.makeConnection(&transport);
  lines.dataReceived("HEAD\r\nBODY\r\nraw bytes\r\nmore");
  EXPECT_EQ(lines.lines, (std::vector<std::string>{"HEAD", "BODY"}));
  EXPECT_EQ(lines.raw, "raw bytes\r\nmore");
  lines.setLineMode("again\r\n");
  EXPECT_EQ(lines.lines.back(), "again");
}

TEST(LineReceiverTest, CustomDelimiter) {
  StringTransport transport;
  Lines lines;
  lines.setDelimiter("\n");
  lines.makeConnection(&transport);
  lines.dataReceived("a\nb\n");
  EXPECT_EQ(lines.lines, (std::vector<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace deft
