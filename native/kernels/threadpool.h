// A small fixed pool of worker threads for the gate math, which is split
// across batch rows. BLAS calls bring their own threads (OpenBLAS); this pool
// is only for our elementwise loops between the GEMMs.
//
// The pool's size (setNumThreads) is process-wide, like OpenBLAS's own
// thread count; with the buffer cache (buffer.h) it is the addon's global
// mutable state.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace gatedrnn {

class ThreadPool {
 public:
  explicit ThreadPool(int numThreads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Splits [0, n) into size() contiguous chunks and runs fn(begin, end) on
  // each, the calling thread taking the first. Blocks until all are done.
  // If another caller is using the pool, runs everything on this thread
  // instead of waiting (two async workers must never deadlock on it).
  template <class Fn>
  void parallelFor(int n, const Fn& fn) {
    auto trampoline = [](void* ctx, int begin, int end) {
      (*static_cast<const Fn*>(ctx))(begin, end);
    };
    run(n, trampoline, const_cast<Fn*>(&fn));
  }

 private:
  using Task = void (*)(void*, int, int);
  void run(int n, Task task, void* ctx);
  void workerLoop(int index);

  std::vector<std::thread> workers_;
  std::mutex busy_;  // held by the one caller that owns the pool right now
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  Task task_ = nullptr;
  void* ctx_ = nullptr;
  int n_ = 0;
  long generation_ = 0;
  int pending_ = 0;
  bool stop_ = false;
};

// Gate math over fewer elements than this per step runs on one thread: waking
// the pool would cost more than it saves.
inline bool worthSplitting(long elements) { return elements >= 8192; }

// The process-wide pool used by the kernels, replaced by setNumThreads().
// Its default size is OpenBLAS's thread count (OPENBLAS_NUM_THREADS or the
// number of cores), so both halves of a kernel use the same threads.
std::shared_ptr<ThreadPool> acquireGatePool();
void setNumThreads(int n);  // sets both the gate pool and OpenBLAS
int getNumThreads();

}  // namespace gatedrnn
