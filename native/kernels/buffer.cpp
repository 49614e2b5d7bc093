#include "buffer.h"

#include <cstdlib>
#include <map>
#include <mutex>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace gatedrnn {

namespace {

constexpr size_t kHugePage = size_t(2) << 20;
// Below this, malloc's own free lists reuse memory well; above it glibc
// maps fresh pages for every allocation, so the cache takes over.
constexpr size_t kCached = size_t(64) << 10;

// Cached blocks are rounded up to 64 KiB so that calls of the same shape
// find each other's blocks. Not to whole 2 MB pages: that would add up to
// 2 MB of resident memory to every large block (the large ones are still
// 2 MB aligned, so their whole 2 MB stretches can be huge pages).
size_t roundedSize(size_t bytes) { return (bytes + kCached - 1) / kCached * kCached; }

struct BlockCache {
  std::mutex mutex;
  std::multimap<size_t, void*> free[2];  // per BlockUse: rounded size -> block
  size_t bytes = 0;
  size_t limit = size_t(512) << 20;
};

BlockCache& cache() {
  // Never destroyed: blocks may be released by finalizers after static
  // destructors have run at process exit.
  static BlockCache* c = new BlockCache();
  return *c;
}

// A block that is not in the cache is new memory, and its pages fault in
// one at a time on first write: on virtual machines each fault is an exit to
// the hypervisor, and a kernel writing a fresh 1 MB output took longer
// faulting than computing. So on Linux the pages are populated in one system
// call when the block is made (MAP_POPULATE, MADV_POPULATE_WRITE); the
// kernel still zeroes them, once.
void* allocateRounded(size_t rounded) {
  if (rounded < kHugePage) {
#if defined(__linux__) && defined(MAP_POPULATE)
    void* m = mmap(nullptr, rounded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (m == MAP_FAILED) throw std::bad_alloc();
    return m;
#else
    void* p = std::malloc(rounded);
    if (!p) throw std::bad_alloc();
    return p;
#endif
  }
  void* p = nullptr;
  if (posix_memalign(&p, kHugePage, rounded) != 0) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  madvise(p, rounded, MADV_HUGEPAGE);
#endif
#if defined(__linux__) && defined(MADV_POPULATE_WRITE)
  // Older kernels refuse the advice (EINVAL): the pages then fault in as usual.
  madvise(p, rounded, MADV_POPULATE_WRITE);
#endif
  return p;
}

// Gives back a block made by allocateRounded.
void freeRounded(void* p, size_t rounded) {
#if defined(__linux__) && defined(MAP_POPULATE)
  if (rounded < kHugePage) {
    munmap(p, rounded);
    return;
  }
#endif
  std::free(p);
}

}  // namespace

void* acquireBlock(size_t bytes, BlockUse use) {
  if (bytes < kCached) {
    void* p = std::malloc(bytes);
    if (!p) throw std::bad_alloc();
    return p;
  }
  size_t rounded = roundedSize(bytes);
  {
    BlockCache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    auto& list = c.free[static_cast<int>(use)];
    auto it = list.find(rounded);
    if (it != list.end()) {
      void* p = it->second;
      list.erase(it);
      c.bytes -= rounded;
      return p;
    }
  }
  return allocateRounded(rounded);
}

void releaseBlock(void* p, size_t bytes, BlockUse use) {
  if (!p) return;
  if (bytes < kCached) {
    std::free(p);
    return;
  }
  size_t rounded = roundedSize(bytes);
  BlockCache& c = cache();
  std::unique_lock<std::mutex> lock(c.mutex);
  if (c.bytes + rounded <= c.limit) {
    c.free[static_cast<int>(use)].emplace(rounded, p);
    c.bytes += rounded;
    return;
  }
  lock.unlock();
  freeRounded(p, rounded);
}

void setBufferCacheLimit(size_t bytes) {
  BlockCache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  c.limit = bytes;
  // Drop the largest blocks first until the cache fits.
  while (c.bytes > c.limit && !(c.free[0].empty() && c.free[1].empty())) {
    auto& list = c.free[1].empty() || (!c.free[0].empty() && c.free[0].rbegin()->first > c.free[1].rbegin()->first)
                     ? c.free[0]
                     : c.free[1];
    auto last = std::prev(list.end());
    c.bytes -= last->first;
    freeRounded(last->second, last->first);
    list.erase(last);
  }
}

size_t bufferCacheBytes() {
  BlockCache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return c.bytes;
}

}  // namespace gatedrnn
