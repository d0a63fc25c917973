#include "deferred/internal/state.h"

#include <cxxabi.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <thread>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "deferred/errors.h"

namespace deft::internal {
namespace {

std::string typeName(const TypeOps* type) {
  if (type == typeOps<Unit>()) return "void";
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> name(
      abi::__cxa_demangle(type->type.name(), nullptr, nullptr, &status), std::free);
  std::string readable = status == 0 && name ? std::string(name.get()) : type->type.name();
  // The one spelling that makes messages unreadable.
  constexpr std::string_view kLongString =
      "std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >";
  for (std::size_t at; (at = readable.find(kLongString)) != std::string::npos;) {
    readable.replace(at, kLongString.size(), "std::string");
  }
  return readable;
}

// Lives in an inner Deferred's queue while an outer one waits on it (the outer's callback
// returned the inner, or it was chained with chainDeferred). Holds a reference to the outer so
// that the outer's remaining callbacks still run when the inner fires, whoever else dropped it:
// the same thing keeps an outer Deferred alive in Twisted.
class HandOff {
 public:
  HandOff(StateBase* to, bool resumesWait) : to_(to), resumesWait_(resumesWait) {}
  HandOff(const HandOff&) = delete;
  HandOff& operator=(const HandOff&) = delete;
  ~HandOff() {
    if (to_ == nullptr) return;
    if (resumesWait_) to_->setWaitingOn(nullptr);
    to_->release();
  }

  void run(StateBase& from, RunStack& stack) {
    StateBase* to = std::exchange(to_, nullptr);
    if (resumesWait_) {
      to->resumeFromWait();
      from.moveResultTo(*to);
      stack.push(to);  // run by this loop, not by a nested call: no stack growth per link
    } else {
      from.fireFromChain(to, stack);  // chainDeferred
    }
  }

 private:
  StateBase* to_;
  bool resumesWait_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------

RunStack::~RunStack() {
  while (!empty()) pop();
}

void RunStack::push(StateBase* state) {
  state->onStack_ = true;
  state->nextOnStack_ = top_;
  top_ = state;
}

void RunStack::pop() {
  StateBase* state = top_;
  top_ = state->nextOnStack_;
  state->nextOnStack_ = nullptr;
  state->onStack_ = false;
  state->steps_.compact();
  state->release();
}

// ---------------------------------------------------------------------------------------------

StateBase::~StateBase() {
  steps_.clear();
  if (guard_ != nullptr) {
    if (guard_->ended()) discardResult();  // cut off on purpose: not an unhandled failure
    guard_->release();
  }
  if (result_ == Result::kFailure && !failureConsumed_) {
    Failure failure = takeFailure();
    reportUnhandledFailure(failure);
  } else {
    discardResult();
  }
}

void StateBase::tellSoleHolder() {
  SoleHolder* holder = soleHolder_;
  takeReferenceBack();
  holder->onlyHolderLeft();  // may free this state: nothing after it
}

void StateBase::discardResult() noexcept {
  if (result_ == Result::kValue) {
    valueType_->destroy(slot_);
  } else if (result_ == Result::kFailure) {
    std::launder(reinterpret_cast<Failure*>(slot_))->~Failure();
  }
  result_ = Result::kNone;
}

void StateBase::moveResultTo(StateBase& to) {
  if (result_ == Result::kValue) {
    valueType_->relocate(slot_, to.slot_);
    to.valueType_ = valueType_;
    to.result_ = Result::kValue;
    result_ = Result::kNone;
  } else if (result_ == Result::kFailure) {
    to.setFailure(takeFailure());
  }
  setValue<Unit>();
}

void StateBase::throwTailMismatch(const TypeOps* expected, const char* operation) const {
  throw DeferredTypeError(absl::StrCat(
      operation, " through a Deferred<", typeName(expected), "> handle, but its chain carries ",
      typeName(tailType_), " now: another handle moved it on. Use the handle that call returned."));
}

void StateBase::throwInputMismatch(const TypeOps* expected) const {
  throw DeferredTypeError(absl::StrCat("callback() through a Deferred<", typeName(expected),
                                       "> handle, but this Deferred takes ",
                                       typeName(inputType_), ": fire it through its first handle."));
}

namespace {
std::atomic<std::thread::id> deferredThread{};
}  // namespace

void StateBase::checkFiringThread() {
  const std::thread::id owner = deferredThread.load(std::memory_order_relaxed);
  const std::thread::id here = std::this_thread::get_id();
  if (owner == std::thread::id() || owner == here) return;
  std::ostringstream message;
  message << "deft: a Deferred was fired on thread " << here
          << ", but Deferreds belong to the reactor thread " << owner
          << ". Hand results over with Reactor::callFromThread, or use deferToThread.\n";
  std::fputs(message.str().c_str(), stderr);
  std::abort();
}

namespace {
std::string place(const std::source_location& where) {
  if (where.line() == 0) return "in deft";
  return absl::StrCat(where.file_name(), ":", where.line());
}
}  // namespace

std::string StateBase::describe() const {
  char address[32];
  std::snprintf(address, sizeof address, "%p", static_cast<const void*>(this));
  std::string out = absl::StrCat("<Deferred at ", address);
  if (createdAt_.line() != 0) absl::StrAppend(&out, " created ", place(createdAt_));
  if (!called_) {
    absl::StrAppend(&out, ", not fired");
  } else if (waiting_ && waitingOn_ != nullptr) {
    absl::StrAppend(&out, ", waiting on ", waitingOn_->describe());
  } else if (result_ == Result::kValue) {
    absl::StrAppend(&out, ", current result: ", typeName(valueType_));
  } else if (result_ == Result::kFailure) {
    absl::StrAppend(&out, ", current result: failure ", peekFailure().describe());
  }
  if (pauseCount_ > 0) absl::StrAppend(&out, ", paused");
  if (!steps_.empty()) absl::StrAppend(&out, ", callbacks pending");
  if (cutOffByScope()) absl::StrAppend(&out, ", cut off by its scope");
  out += ">";
  return out;
}

bool StateBase::beginSecondFire(std::source_location where) {
  if (suppressAlreadyCalled_) {
    suppressAlreadyCalled_ = false;
    return false;
  }
  throw AlreadyCalledError(absl::StrCat(
      "Deferred already has a result: it can be fired only once (created ", place(createdAt_),
      ", first fired ", place(firedAt_), ", fired again ", place(where), ")"));
}

void StateBase::errback(Failure failure, std::source_location where) {
  if (!beginFire(where)) return;
  setFailure(std::move(failure));
  finishFire();
}

void StateBase::runLoop() {
  RunStack stack;
  addRef();
  stack.push(this);
  while (!stack.empty()) {
    StateBase* current = stack.top();
    bool descended = false;
    while (current->canRun()) {
      if (current->guard_ != nullptr && current->guard_->ended()) [[unlikely]] {
        current->cutOff();
        break;
      }
      current->steps_.runNext(*current, stack);
      if (stack.top() != current) {
        descended = true;  // a step handed its result to another Deferred: run that one first
        break;
      }
    }
    if (!descended) stack.pop();
  }
}

void StateBase::fireFromChain(StateBase* to, RunStack& stack) {
  // Twisted's `d.callback(result)` from inside a chain. A target that fired already raises
  // AlreadyCalledError there, which becomes this chain's result.
  bool fire = false;
  try {
    fire = to->beginFire();
  } catch (const AlreadyCalledError&) {
    to->release();
    discardResult();
    setFailure(Failure::fromCurrentException());
    return;
  }
  if (!fire) {  // the one firing a cancelled Deferred absorbs
    to->release();
    discardResult();
    setValue<Unit>();
    return;
  }
  to->markCalled();
  moveResultTo(*to);
  stack.push(to);  // run by this loop, not by a nested call: no stack growth per link
}

void StateBase::cutOff() noexcept {
  steps_.clear();  // may destroy a suspended coroutine, or release a Deferred waiting on this one
  discardResult();
  setValue<Unit>();
}

void StateBase::unpause() {
  if (pauseCount_ == 0) return;
  if (--pauseCount_ == 0) runCallbacks();
}

void StateBase::adoptReturnedDeferred(StateBase* inner, const TypeOps* expected) {
  if (inner == this) {
    inner->release();
    setFailure(Failure(DeferredTypeError(
        "a callback returned the Deferred it was added to: that Deferred can never fire")));
    return;
  }
  if (inner->tailType_ != expected) {
    const std::string message = absl::StrCat(
        "a callback returned a Deferred<", typeName(expected), "> whose chain carries ",
        typeName(inner->tailType_), " now");
    inner->release();
    setFailure(Failure(DeferredTypeError(message)));
    return;
  }
  if (inner->readyToHandOff()) {
    inner->moveResultTo(*this);
    inner->tailType_ = typeOps<Unit>();
    inner->release();
    return;
  }
  waiting_ = true;
  waitingOn_ = inner;
  addRef();
  inner->steps_.push<HandOff>(this, /*resumesWait=*/true);
  inner->tailType_ = typeOps<Unit>();
  inner->runCallbacks();  // in case it is fired and idle but was not ready (e.g. unpaused since)
  inner->release();
}

void StateBase::chainTo(StateBase* other) {
  other->checkInput(tailType_);
  other->addRef();
  steps_.push<HandOff>(other, /*resumesWait=*/false);
  tailType_ = typeOps<Unit>();
  runCallbacks();
}

void StateBase::cancel() {
  addRef();  // a canceller or an errback may drop the last outside handle
  ReleaseOnExit release(this);  // a canceller may throw (to the caller of cancel(), as in Twisted)
  if (!called_) {
    bool inHand = false;
    if (canceller_) {
      // Called from a local: the canceller may finish the work that set it (a coroutine) and
      // replace or clear it meanwhile. Put back only if nobody did and it may be needed again,
      // which includes after it threw: a later cancel() may try again.
      struct PutBack {
        StateBase& state;
        Canceller canceller;
        ~PutBack() {
          if (!state.cancellerReplaced_ && !state.called_) state.canceller_ = std::move(canceller);
        }
      } local{*this, std::move(canceller_)};
      canceller_ = nullptr;
      cancellerReplaced_ = false;
      inHand = local.canceller(*this);
    } else {
      suppressAlreadyCalled_ = true;
    }
    if (!called_ && !inHand) errback(Failure(CancelledError()));
  } else if (waiting_ && waitingOn_ != nullptr) {
    waitingOn_->cancel();
  }
}

}  // namespace deft::internal

namespace deft {

void setDeferredThread(std::thread::id owner) {
  internal::deferredThread.store(owner, std::memory_order_relaxed);
}

void clearDeferredThread() { internal::deferredThread.store({}, std::memory_order_relaxed); }

}  // namespace deft
