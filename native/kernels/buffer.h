// Float storage for the kernels and for the arrays handed back to
// JavaScript.
//
// Two costs dominate a training step when every call allocates fresh memory:
// zero-filling (std::vector<float>(n) memsets every byte) and the kernel
// zeroing fresh pages on first touch. So buffers are not zero-filled (every
// user overwrites them entirely), those of 2 MB and more are 2 MB aligned and
// offered as huge pages, and freed blocks of 64 KiB and more are kept in a
// small process-wide cache (capped) so the next call of the same shape
// reuses them without touching the page allocator at all.
#pragma once

#include <cstddef>
#include <memory>

namespace gatedrnn {

// What a block is for. The cache keeps the two apart: blocks held beyond
// the call (results handed to JavaScript, training caches) come back only
// when the garbage collector or releaseCache frees them, and if they came
// from the same free list they would drain it, leaving a kernel's scratch
// (freed at the end of every call) to fault in fresh pages on every call.
enum class BlockUse { Scratch = 0, Held = 1 };

// Raw blocks of at least `bytes`; large blocks come from and go back to the
// cache's list for `use`. Thread-safe.
void* acquireBlock(size_t bytes, BlockUse use = BlockUse::Scratch);
void releaseBlock(void* p, size_t bytes, BlockUse use = BlockUse::Scratch);

// Bytes the cache may hold; 0 disables it. Default 512 MiB.
void setBufferCacheLimit(size_t bytes);
size_t bufferCacheBytes();

class FloatBuffer {
 public:
  FloatBuffer() = default;
  explicit FloatBuffer(size_t n, BlockUse use = BlockUse::Scratch) : size_(n), use_(use) {
    if (n) data_ = static_cast<float*>(acquireBlock(n * sizeof(float), use));
  }
  ~FloatBuffer() {
    if (data_) releaseBlock(data_, size_ * sizeof(float), use_);
  }
  FloatBuffer(FloatBuffer&& o) noexcept : data_(o.data_), size_(o.size_), use_(o.use_) {
    o.data_ = nullptr;
    o.size_ = 0;
  }
  FloatBuffer& operator=(FloatBuffer&& o) noexcept {
    if (this != &o) {
      if (data_) releaseBlock(data_, size_ * sizeof(float), use_);
      data_ = o.data_;
      size_ = o.size_;
      use_ = o.use_;
      o.data_ = nullptr;
      o.size_ = 0;
    }
    return *this;
  }
  FloatBuffer(const FloatBuffer&) = delete;
  FloatBuffer& operator=(const FloatBuffer&) = delete;

  float* data() { return data_; }
  const float* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  float* data_ = nullptr;
  size_t size_ = 0;
  BlockUse use_ = BlockUse::Scratch;
};

}  // namespace gatedrnn
