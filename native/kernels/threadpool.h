// The addon's one owner of the CPU cores: a fixed pool of worker threads that
// runs every parallel part of a kernel, the GEMMs included. OpenBLAS is kept
// at one thread (see setNumThreads) and is called from these threads on
// disjoint blocks; otherwise OpenBLAS's spinning threads and ours would
// fight over the same cores at every timestep.
//
// A kernel dispatches to the pool once or twice per timestep, so a dispatch
// must cost about a microsecond: the workers spin on an atomic generation
// counter for a short while after each task before they go to sleep.
//
// The pool's size (setNumThreads) is process-wide, like OpenBLAS's own
// thread count; with the buffer cache (buffer.h) it is the addon's global
// mutable state.
#pragma once

#include <atomic>
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

  // Splits [0, n) into min(n, size()) contiguous chunks and runs
  // fn(begin, end) on each. Blocks until all are done. Chunks are claimed,
  // not assigned: the calling thread takes the first and then any chunk no
  // worker has started, so a worker the OS has descheduled (more threads
  // than free cores) delays nothing it has not begun. If another caller is
  // using the pool, runs everything on this thread instead of waiting (two
  // async workers must never deadlock on it).
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
  void workerLoop();
  bool waitForTask(long seen);
  void runChunks(long generation);

  std::vector<std::thread> workers_;
  std::mutex busy_;  // held by the one caller that owns the pool right now
  // The task of the current generation; written by the owner before it
  // publishes the generation in claims_ (release), read by a thread only
  // after it has claimed a chunk of that generation (acquire).
  Task task_ = nullptr;
  void* ctx_ = nullptr;
  int n_ = 0;
  // Read by a late worker before its claim fails: atomic, so that read is
  // not a data race with the next task's write.
  std::atomic<int> parts_{0};
  // (generation << 32) | next unclaimed chunk: a chunk is claimed by a
  // compare-exchange that also checks the generation, so a late worker can
  // never run a chunk of a task that has already finished.
  std::atomic<unsigned long long> claims_{0};
  std::atomic<int> done_{0};  // chunks of the current generation finished
  std::atomic<long> generation_{0};  // wakes the workers
  std::atomic<bool> stop_{false};
  bool spin_ = true;  // false when the pool has more threads than cores
  // Sleeping workers wait here; the owner takes the mutex after bumping the
  // generation so that a worker about to sleep cannot miss the wake-up.
  std::mutex sleepMutex_;
  std::condition_variable wake_;
};

// The process-wide pool used by the kernels, replaced by setNumThreads().
// Its default size is OpenBLAS's thread count when the addon first runs
// (OPENBLAS_NUM_THREADS or the number of cores); OpenBLAS itself is then set
// to one thread.
std::shared_ptr<ThreadPool> acquireGatePool();
void setNumThreads(int n);
int getNumThreads();

// Elementwise work over fewer elements than this runs on one thread: a
// dispatch would cost more than it saves.
inline bool worthSplitting(long elements) { return elements >= 4096; }

}  // namespace gatedrnn
