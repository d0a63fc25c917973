// LineReceiver, fed directly (no sockets) through the StringTransport deft ships for this.

#include "protocol/line_receiver.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "protocol/string_transport.h"

namespace deft {
namespace {

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
    transport.connect(lines);
    for (std::size_t i = 0; i < input.size(); i += chunk) lines.dataReceived(input.substr(i, chunk));
    EXPECT_EQ(lines.lines, (std::vector<std::string>{"first", "second line", "", "last"}))
        << "chunk size " << chunk;
  }
}

TEST(LineReceiverTest, SendLineAppendsTheDelimiter) {
  StringTransport transport;
  Lines lines;
  transport.connect(lines);
  lines.sendLine("hello");
  EXPECT_EQ(transport.value(), "hello\r\n");
}

TEST(LineReceiverTest, OverlongLineClosesTheConnection) {
  StringTransport transport;
  Lines lines;
  lines.setMaxLength(10);
  transport.connect(lines);
  lines.dataReceived("short\r\n");
  lines.dataReceived(std::string(11, 'x'));  // no delimiter yet, already too long
  EXPECT_TRUE(transport.disconnecting());
  EXPECT_EQ(lines.lines, (std::vector<std::string>{"short"}));
}

TEST(LineReceiverTest, OverlongCompleteLineAlsoCloses) {
  StringTransport transport;
  Lines lines;
  lines.setMaxLength(4);
  transport.connect(lines);
  lines.dataReceived("toolong\r\nok\r\n");
  EXPECT_TRUE(transport.disconnecting());
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
  transport.connect(lines);
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
  transport.connect(lines);
  lines.dataReceived("a\nb\n");
  EXPECT_EQ(lines.lines, (std::vector<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace deft
