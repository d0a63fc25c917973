// curl's progress meters for getpage, drawn to a terminal: one transfer's (the classic table, or
// with -# a bar of '#'), and -Z's, all transfers at once on one line.

#ifndef DEFT_EXAMPLES_GETPAGE_PROGRESS_H_
#define DEFT_EXAMPLES_GETPAGE_PROGRESS_H_

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
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

// -Z's meter, curl's for parallel transfers:
//
//   DL% UL%  Dled  Uled  Xfers  Live Total     Current  Left    Speed
//   100 --   9766k    0     20    0  0:00:02  0:00:01  0:00:01 4883k
//
// Bytes received by all transfers, how many have started and how many run, and the speed over
// the last ten draws. Redrawn at most every half second (tick() and update() ask), and once more
// at the end.
class ParallelMeter {
 public:
  ParallelMeter(FILE* out, absl::Time start) : out_(out), start_(start) {}

  // A transfer starts: its number, for update() and done().
  std::size_t add();
  // Transfer `id` has received `received` bytes of the body, of `total` when known.
  void update(std::size_t id, std::uint64_t received, std::optional<std::uint64_t> total, absl::Time now);
  // Transfer `id` starts again (--retry): what it received so far stays counted.
  void retry(std::size_t id);
  // Transfer `id` is over.
  void done(std::size_t id);
  // Redraws, if half a second has passed since the last draw.
  void tick(absl::Time now);
  // The last line, and a newline.
  void finish(absl::Time now);

 private:
  struct Live {
    std::uint64_t received = 0;
    bool sizeKnown = false;  // and counted in totals_
  };
  struct Sample {
    std::uint64_t received;
    absl::Time at;
  };
  void draw(absl::Time now, bool final);

  FILE* out_;
  absl::Time start_;
  absl::Time lastDraw_ = absl::InfinitePast();
  bool headerDrawn_ = false;
  std::size_t started_ = 0;
  absl::flat_hash_map<std::size_t, Live> live_;
  std::uint64_t receivedByDone_ = 0;  // by the transfers that ended
  std::uint64_t totals_ = 0;          // the sizes known, each counted once
  Sample samples_[10] = {};
  std::size_t nextSample_ = 0;
  bool samplesWrapped_ = false;
};

// A size in five characters, as curl's meter writes it: "  512", "9766k", "97.6M", " 976M".
std::string fiveCharacters(std::uint64_t bytes);

}  // namespace getpage

#endif  // DEFT_EXAMPLES_GETPAGE_PROGRESS_H_
