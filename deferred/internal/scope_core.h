// File: deferred/internal/scope_core.h
//
// The one heap object behind a Scope (deferred/scope.h): whether the scope has ended, and the
// list of tracked Deferreds that have not fired yet (so that ending it can cancel them). The list
// is intrusive: each entry lives in the step that a tracked Deferred carries, so tracking costs no
// allocation of its own. Reference-counted: a Scope holds one reference, and so does every
// Deferred state it guards and every callable it bound, so none of them outlives the flag it reads.
// Single-threaded, like every Deferred.

#ifndef DEFT_DEFERRED_INTERNAL_SCOPE_CORE_H_
#define DEFT_DEFERRED_INTERNAL_SCOPE_CORE_H_

#include <cstdint>

namespace deft::internal {

class StateBase;

class ScopeCore {
 public:
  // One tracked Deferred that has not fired: `producer` is cancelled when the scope ends, and
  // `out` (what track() returned) lets go of it.
  struct Link {
    Link* prev = nullptr;
    Link* next = nullptr;
    StateBase* producer = nullptr;  // not owned: the link lives in one of its steps
    StateBase* out = nullptr;       // not owned: that step holds it
    bool linked() const { return prev != nullptr; }
  };

  ScopeCore() { head_.prev = head_.next = &head_; }
  ScopeCore(const ScopeCore&) = delete;
  ScopeCore& operator=(const ScopeCore&) = delete;

  void addRef() { ++refs_; }
  void release() {
    if (--refs_ == 0) delete this;
  }

  bool ended() const { return ended_; }
  void markEnded() { ended_ = true; }

  void link(Link& link) {
    link.prev = head_.prev;
    link.next = &head_;
    head_.prev->next = &link;
    head_.prev = &link;
  }
  static void unlink(Link& link) {
    if (!link.linked()) return;
    link.prev->next = link.next;
    link.next->prev = link.prev;
    link.prev = link.next = nullptr;
  }
  // The oldest tracked Deferred still pending, or nullptr.
  Link* first() { return head_.next == &head_ ? nullptr : head_.next; }

 private:
  ~ScopeCore() = default;

  std::uint32_t refs_ = 1;
  bool ended_ = false;
  Link head_;
};

}  // namespace deft::internal

#endif  // DEFT_DEFERRED_INTERNAL_SCOPE_CORE_H_
