#include "deferred/internal/step_queue.h"

#include <algorithm>
#include <cstdlib>

namespace deft::internal {

StepQueue::Chunk* StepQueue::grow(std::uint32_t size) {
  const std::uint32_t capacity = std::max(kChunkBytes, size);
  // One block: the Chunk bookkeeping, then the data, aligned for steps.
  void* block = ::operator new(roundUp(sizeof(Chunk)) + capacity, std::align_val_t{kAlign});
  auto* chunk = new (block) Chunk;
  chunk->data = static_cast<unsigned char*>(block) + roundUp(sizeof(Chunk));
  chunk->capacity = capacity;
  write_->next = chunk;
  write_ = chunk;
  return chunk;
}

void StepQueue::release(Chunk* chunk) noexcept {
  if (chunk == &inline_) {
    inline_.next = nullptr;
    inline_.head = inline_.tail = 0;
    return;
  }
  chunk->~Chunk();
  ::operator delete(static_cast<void*>(chunk), std::align_val_t{kAlign});
}

bool StepQueue::advance() noexcept {
  while (read_->head == read_->tail) {
    Chunk* next = read_->next;
    if (next == nullptr) return false;
    release(read_);
    read_ = next;
  }
  return true;
}

void StepQueue::clearSlow() noexcept {
  while (advance()) {
    unsigned char* at = read_->data + read_->head;
    auto* header = reinterpret_cast<Header*>(at);
    read_->head += header->size;
    header->ops->destroy(at + sizeof(Header));
  }
  compact();
}

void StepQueue::compactSlow() noexcept {
  if (!empty()) return;
  if (read_ != &inline_) release(read_);
  inline_.next = nullptr;
  inline_.head = inline_.tail = 0;
  read_ = write_ = &inline_;
}

}  // namespace deft::internal
