// Float storage that is not zero-filled, for buffers a kernel overwrites
// entirely: std::vector<float>(n) would memset every byte first, which for
// the (B, T, 3H) activation buffers costs as much as a GEMM.
//
// Large buffers are also aligned to 2 MB and offered to the kernel as huge
// pages (Linux, where transparent huge pages are enabled for madvise):
// a fresh 20 MB buffer then takes 10 page faults instead of 5,000, which on
// a virtual machine was the single largest cost of a training step.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace gatedrnn {

class FloatBuffer {
 public:
  FloatBuffer() = default;
  explicit FloatBuffer(size_t n) : data_(allocate(n)), size_(n) {}
  float* data() { return data_.get(); }
  const float* data() const { return data_.get(); }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  static constexpr size_t kHugePage = size_t(2) << 20;

  struct Free {
    void operator()(float* p) const { std::free(p); }
  };

  static float* allocate(size_t n) {
    if (n == 0) return nullptr;
    size_t bytes = n * sizeof(float);
    void* p = nullptr;
    if (bytes >= kHugePage) {
      size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
      p = std::aligned_alloc(kHugePage, rounded);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
      if (p) madvise(p, rounded, MADV_HUGEPAGE);
#endif
    } else {
      p = std::malloc(bytes);
    }
    if (!p) throw std::bad_alloc();
    return static_cast<float*>(p);
  }

  std::unique_ptr<float[], Free> data_;
  size_t size_ = 0;
};

}  // namespace gatedrnn
