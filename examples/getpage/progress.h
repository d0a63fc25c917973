// curl's progress meter for getpage: the classic table (to a terminal, when the body does not go
// to it) or, with -#, a bar of '#'. Updated at most once a second and when the transfer ends.

#ifndef DEFT_EXAMPLES_GETPAGE_PROGRESS_H_
#define DEFT_EXAMPLES_GETPAGE_PROGRESS_H_

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

#include "absl/time/time.h"

namespace getpage {

class ProgressMeter {
 public:
  ProgressMeter(FILE* out, bool bar, absl::Time start) : out_(out), bar_(bar), start_(start) {}

  // `received` bytes of the body so far, of `total` when known.
  void update(std::uint64_t received, std::optional<std::uint64_t> total, absl::Time now);
  // The transfer (or this attempt of it) is over: the last line, and a newline.
  void finish(absl::Time now);

 private:
  void draw(absl::Time now);

  FILE* out_;
  bool bar_;
  absl::Time start_;
  absl::Time lastDraw_ = absl::InfinitePast();
  bool headerDrawn_ = false;
  std::uint64_t received_ = 0;
  std::optional<std::uint64_t> total_;
};

// A size in five characters, as curl's meter writes it: "  512", "9766k", "97.6M", " 976M".
std::string fiveCharacters(std::uint64_t bytes);

}  // namespace getpage

#endif  // DEFT_EXAMPLES_GETPAGE_PROGRESS_H_
