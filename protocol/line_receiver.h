// File: protocol/line_receiver.h
//
// LineReceiver: a Protocol that splits what arrives into lines (Twisted's
// twisted.protocols.basic.LineReceiver).
//
//   class Chat : public LineReceiver {
//     void lineReceived(std::string_view line) override { sendLine(line); }
//   };
//
// Lines end with `delimiter()` ("\r\n" by default), which lineReceived does not see. A line
// longer than `maxLength()` (16 KiB by default) without a delimiter goes to lineLengthExceeded,
// which closes the connection unless overridden. setRawMode() switches to rawDataReceived (for a
// body after a header, say); setLineMode(extra) switches back, feeding `extra` as line data.

#ifndef DEFT_PROTOCOL_LINE_RECEIVER_H_
#define DEFT_PROTOCOL_LINE_RECEIVER_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "protocol/protocol.h"

namespace deft {

class LineReceiver : public Protocol {
 public:
  virtual void lineReceived(std::string_view line) = 0;
  // Raw mode's data. By default it is dropped.
  virtual void rawDataReceived(std::string_view data) { (void)data; }
  // A line over maxLength(): by default, close the connection.
  virtual void lineLengthExceeded(std::string_view partial) {
    (void)partial;
    transport()->loseConnection();
  }

  // Writes `line` and the delimiter, as one write.
  void sendLine(std::string_view line);

  void setRawMode() { rawMode_ = true; }
  void setLineMode(std::string_view extra = {});

  void setDelimiter(std::string delimiter) { delimiter_ = std::move(delimiter); }
  const std::string& delimiter() const { return delimiter_; }
  void setMaxLength(std::size_t bytes) { maxLength_ = bytes; }
  std::size_t maxLength() const { return maxLength_; }

  void dataReceived(std::string_view data) final;

 private:
  std::string buffer_;  // a partial line
  std::string delimiter_ = "\r\n";
  std::size_t maxLength_ = 16 * 1024;
  bool rawMode_ = false;
  bool paused_ = false;
};

}  // namespace deft

#endif  // DEFT_PROTOCOL_LINE_RECEIVER_H_
