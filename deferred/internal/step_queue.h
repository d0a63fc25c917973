// File: deferred/internal/step_queue.h
//
// The callback list of one Deferred: a FIFO of type-erased steps, stored inline for the first
// few and in linked heap chunks after that.
//
// Why not a vector of AnyInvocable: Abseil's AnyInvocable keeps 16 bytes inline, so a callback
// capturing a pointer plus the errback beside it already goes to the heap; and a vector relocates
// its elements when it grows, which would move the step that is running when a callback adds
// another callback to its own Deferred. Here a step never moves once placed: growth links a new
// chunk instead. A chain of up to four small callbacks lives entirely inside the Deferred's one
// allocation.

#ifndef DEFT_DEFERRED_INTERNAL_STEP_QUEUE_H_
#define DEFT_DEFERRED_INTERNAL_STEP_QUEUE_H_

#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>

namespace deft::internal {

class StateBase;
class RunStack;

// What the queue knows about a step: how to run it and how to drop it unrun.
struct StepOps {
  // Runs the step, then destroys it (even if running throws): one indirect call per step.
  void (*runAndDestroy)(void* step, StateBase& state, RunStack& stack);
  void (*destroy)(void* step) noexcept;
};

template <class S>
inline constexpr StepOps kStepOps = {
    [](void* step, StateBase& state, RunStack& stack) {
      S* s = static_cast<S*>(step);
      struct DestroyAfterRun {
        S* s;
        ~DestroyAfterRun() { s->~S(); }
      } destroyAfterRun{s};
      s->run(state, stack);
    },
    [](void* step) noexcept { static_cast<S*>(step)->~S(); },
};

class StepQueue {
 public:
  // Inline capacity: four steps whose callbacks capture up to about three pointers.
  static constexpr std::uint32_t kInlineBytes = 192;

  StepQueue() = default;
  StepQueue(const StepQueue&) = delete;
  StepQueue& operator=(const StepQueue&) = delete;
  ~StepQueue() { clear(); }

  bool empty() const { return read_->head == read_->tail && read_->next == nullptr; }

  // Appends a step constructed from `args`.
  template <class S, class... Args>
  void push(Args&&... args) {
    static_assert(alignof(S) <= kAlign, "step over-aligned");
    constexpr std::uint32_t size = roundUp(sizeof(Header) + sizeof(S));
    Chunk* chunk = write_;
    if (chunk->capacity - chunk->tail < size) chunk = grow(size);
    unsigned char* at = chunk->data + chunk->tail;
    new (at + sizeof(Header)) S(std::forward<Args>(args)...);
    new (at) Header{&kStepOps<S>, size};
    chunk->tail += size;
  }

  // Removes the first step, runs it, destroys it. The queue must not be empty. Steps pushed while
  // it runs go behind it; the running step's memory stays put until it is destroyed.
  void runNext(StateBase& state, RunStack& stack) {
    if (read_->head == read_->tail && !advance()) return;
    unsigned char* at = read_->data + read_->head;
    auto* header = reinterpret_cast<Header*>(at);
    read_->head += header->size;
    header->ops->runAndDestroy(at + sizeof(Header), state, stack);
  }

  // Destroys every step without running it.
  void clear() noexcept {
    if (read_ == &inline_ && inline_.head == inline_.tail && inline_.next == nullptr) {
      inline_.head = inline_.tail = 0;
      return;
    }
    clearSlow();
  }

  // Frees overflow chunks once everything has run, so the next steps go inline again. Call only
  // when no step is running.
  void compact() noexcept {
    if (read_ == &inline_ && inline_.next == nullptr) {
      if (inline_.head == inline_.tail) inline_.head = inline_.tail = 0;
      return;
    }
    compactSlow();
  }

 private:
  static constexpr std::uint32_t kAlign = 16;
  static constexpr std::uint32_t kChunkBytes = 512;

  static constexpr std::uint32_t roundUp(std::size_t n) {
    return static_cast<std::uint32_t>((n + kAlign - 1) / kAlign * kAlign);
  }

  struct alignas(kAlign) Header {
    const StepOps* ops;
    std::uint32_t size;  // header and step, rounded up to kAlign
  };

  struct Chunk {
    Chunk* next = nullptr;
    unsigned char* data = nullptr;
    std::uint32_t capacity = 0;
    std::uint32_t head = 0;  // first unread byte
    std::uint32_t tail = 0;  // first free byte
  };

  Chunk* grow(std::uint32_t size);
  void clearSlow() noexcept;
  void compactSlow() noexcept;
  // Moves read_ past drained chunks; returns false when the queue is empty.
  bool advance() noexcept;
  void release(Chunk* chunk) noexcept;

  alignas(kAlign) unsigned char inlineData_[kInlineBytes];
  Chunk inline_{nullptr, inlineData_, kInlineBytes, 0, 0};
  Chunk* read_ = &inline_;
  Chunk* write_ = &inline_;
};

}  // namespace deft::internal

#endif  // DEFT_DEFERRED_INTERNAL_STEP_QUEUE_H_
