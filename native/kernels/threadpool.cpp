#include "threadpool.h"

#include <memory>

#include "gemm.h"

namespace gatedrnn {

ThreadPool::ThreadPool(int numThreads) {
  try {
    for (int i = 1; i < numThreads; i++) workers_.emplace_back([this, i] { workerLoop(i); });
  } catch (...) {
    // A thread could not be started: stop and join the ones that were, or
    // unwinding would destroy the condition variables they wait on.
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
    throw;
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& w : workers_) w.join();
}

static void chunkOf(int n, int parts, int index, int* begin, int* end) {
  int base = n / parts, extra = n % parts;
  *begin = index * base + (index < extra ? index : extra);
  *end = *begin + base + (index < extra ? 1 : 0);
}

void ThreadPool::run(int n, Task task, void* ctx) {
  if (n <= 0) return;
  std::unique_lock<std::mutex> owner(busy_, std::try_to_lock);
  if (workers_.empty() || n == 1 || !owner.owns_lock()) {
    task(ctx, 0, n);
    return;
  }
  int parts = size() < n ? size() : n;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    task_ = task;
    ctx_ = ctx;
    n_ = n;
    pending_ = static_cast<int>(workers_.size());
    generation_++;
  }
  wake_.notify_all();
  int begin, end;
  chunkOf(n, parts, 0, &begin, &end);
  task(ctx, begin, end);
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [this] { return pending_ == 0; });
}

void ThreadPool::workerLoop(int index) {
  long seen = 0;
  for (;;) {
    Task task;
    void* ctx;
    int n;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      task = task_;
      ctx = ctx_;
      n = n_;
    }
    int parts = size() < n ? size() : n;
    if (index < parts) {
      int begin, end;
      chunkOf(n, parts, index, &begin, &end);
      task(ctx, begin, end);
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (--pending_ == 0) done_.notify_one();
    }
  }
}

// The pool is replaced, not resized, when the thread count changes; callers
// hold a shared_ptr so a pool in use is only destroyed after its last user.
static std::mutex poolMutex;
static std::shared_ptr<ThreadPool> pool;

static int defaultThreads() {
  int n = blasGetNumThreads();
  return n < 1 ? 1 : n;
}

std::shared_ptr<ThreadPool> acquireGatePool() {
  std::lock_guard<std::mutex> lock(poolMutex);
  if (!pool) pool = std::make_shared<ThreadPool>(defaultThreads());
  return pool;
}

void setNumThreads(int n) {
  if (n < 1) n = 1;
  std::lock_guard<std::mutex> lock(poolMutex);
  // OpenBLAS caps the count at its build's MAX_THREADS; the gate pool
  // follows it so both halves of a kernel agree and getNumThreads is true.
  blasSetNumThreads(n);
  int blas = blasGetNumThreads();
  if (blas >= 1 && blas < n) n = blas;
  pool = std::make_shared<ThreadPool>(n);
}

int getNumThreads() { return acquireGatePool()->size(); }

}  // namespace gatedrnn
