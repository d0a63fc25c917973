// A line-based chat server: every line a client sends goes to every other client.
//
//   ./bazelw run //examples:chat_server -- --port=8001
//   nc 127.0.0.1 8001      (in two terminals; type lines)
//
// Commands: "/nick NAME" renames you, "/who" lists who is here, "/quit" leaves.
//
// A member who does not read what the room says is dropped once more than --sendq bytes wait to
// be sent to them (IRC servers' "SendQ exceeded"), and the others are told: otherwise one idle
// reader would make the server hold everything everyone says, forever.

#include <cstdint>
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "protocol/line_receiver.h"
#include "reactor/reactor.h"
#include "strings/str_cat.h"
#include "tcp/tcp.h"

ABSL_FLAG(std::uint16_t, port, 8001, "TCP port to listen on (0: any free port)");
ABSL_FLAG(std::string, interface, "127.0.0.1", "address to listen on");
ABSL_FLAG(std::size_t, sendq, 1 << 20, "bytes that may wait to be sent to one member");

namespace {

class ChatProtocol;

// The room: the factory, shared by every connection (Twisted keeps such state on the factory).
class ChatRoom : public deft::Factory {
 public:
  explicit ChatRoom(std::size_t sendQ) : sendQ_(sendQ) {}
  std::unique_ptr<deft::Protocol> buildProtocol(const deft::Address& peer) override;

  void join(ChatProtocol* member) { members_.insert(member); }
  void leave(ChatProtocol* member) { members_.erase(member); }
  void broadcast(const ChatProtocol* from, std::string_view line);
  std::string who() const;

 private:
  std::set<ChatProtocol*> members_;
  std::size_t sendQ_;
  int nextGuest_ = 1;
};

class ChatProtocol : public deft::LineReceiver {
 public:
  ChatProtocol(ChatRoom& room, std::string nick) : room_(room), nick_(std::move(nick)) {}

  void connectionMade() override {
    room_.join(this);
    sendLine(absl::StrCat("Welcome, ", nick_, ". Here: ", room_.who()));
    room_.broadcast(this, absl::StrCat("* ", nick_, " joined"));
  }

  void lineReceived(std::string_view line) override {
    if (line.starts_with("/nick ")) {
      std::string old = std::exchange(nick_, std::string(line.substr(6)));
      room_.broadcast(this, absl::StrCat("* ", old, " is now ", nick_));
    } else if (line == "/who") {
      sendLine(room_.who());
    } else if (line == "/quit") {
      sendLine("Bye.");
      transport()->loseConnection();
    } else {
      room_.broadcast(this, deft::StrCat("<", nick_, "> ", line));
    }
  }

  void connectionLost(const deft::Failure&) override {
    room_.leave(this);  // the room must not keep a protocol that is about to be freed
    room_.broadcast(this, absl::StrCat("* ", nick_, " left", dropped_ ? " (SendQ exceeded)" : ""));
  }

  // Cuts a member who does not read: what waits for them is discarded.
  void drop() {
    dropped_ = true;
    room_.leave(this);
    transport()->abortConnection();  // connectionLost follows, from the loop
  }

  const std::string& nick() const { return nick_; }

 private:
  ChatRoom& room_;
  std::string nick_;
  bool dropped_ = false;
};

std::unique_ptr<deft::Protocol> ChatRoom::buildProtocol(const deft::Address&) {
  return std::make_unique<ChatProtocol>(*this, absl::StrCat("guest", nextGuest_++));
}

void ChatRoom::broadcast(const ChatProtocol* from, std::string_view line) {
  std::vector<ChatProtocol*> unread;
  for (ChatProtocol* member : members_) {
    if (member == from) continue;
    member->sendLine(line);
    if (member->transport()->bufferedBytes() > sendQ_) unread.push_back(member);
  }
  for (ChatProtocol* member : unread) member->drop();  // not while iterating members_
}

std::string ChatRoom::who() const {
  return absl::StrJoin(members_, ", ",
                       [](std::string* out, const ChatProtocol* m) { out->append(m->nick()); });
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  auto room = std::make_shared<ChatRoom>(absl::GetFlag(FLAGS_sendq));
  auto port = deft::listenTCP(deft::reactor(), absl::GetFlag(FLAGS_port), room,
                              {.interface = absl::GetFlag(FLAGS_interface)});
  std::printf("chat server on %s\n", port->getHost().toString().c_str());
  std::fflush(stdout);
  deft::reactor().run();
  return 0;
}
