#include "threadpool.h"

#include <chrono>
#include <memory>

#include "gemm.h"

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
#include <immintrin.h>
#endif

namespace gatedrnn {

namespace {

// One pause of a spin loop: tells the core (and its SMT sibling) that this
// thread is only waiting.
inline void cpuRelax() {
#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#else
  std::this_thread::yield();
#endif
}

// How long a worker keeps spinning for the next task before it sleeps. A
// kernel's dispatches come every few hundred microseconds at most; the
// first sleep after the kernel ends gives the cores back.
constexpr auto kSpinFor = std::chrono::microseconds(200);

void chunkOf(int n, int parts, int index, int* begin, int* end) {
  int base = n / parts, extra = n % parts;
  *begin = index * base + (index < extra ? index : extra);
  *end = *begin + base + (index < extra ? 1 : 0);
}

}  // namespace

ThreadPool::ThreadPool(int numThreads) {
  try {
    for (int i = 1; i < numThreads; i++) workers_.emplace_back([this, i] { workerLoop(i); });
  } catch (...) {
    // A thread could not be started: stop and join the ones that were, or
    // unwinding would destroy what they wait on.
    stop_.store(true);
    { std::lock_guard<std::mutex> lock(sleepMutex_); }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
    throw;
  }
}

ThreadPool::~ThreadPool() {
  stop_.store(true);
  { std::lock_guard<std::mutex> lock(sleepMutex_); }
  wake_.notify_all();
  for (auto& w : workers_) w.join();
}

void ThreadPool::run(int n, Task task, void* ctx) {
  if (n <= 0) return;
  std::unique_lock<std::mutex> owner(busy_, std::try_to_lock);
  if (workers_.empty() || n == 1 || !owner.owns_lock()) {
    task(ctx, 0, n);
    return;
  }
  task_ = task;
  ctx_ = ctx;
  n_ = n;
  pending_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);
  { std::lock_guard<std::mutex> lock(sleepMutex_); }
  wake_.notify_all();

  int parts = size() < n ? size() : n;
  int begin, end;
  chunkOf(n, parts, 0, &begin, &end);
  task(ctx, begin, end);

  // The workers' chunks take about as long as ours: spin, and yield if one
  // of them was descheduled (more threads than free cores).
  for (int spins = 0; pending_.load(std::memory_order_acquire) != 0; spins++) {
    if (spins < 4096) cpuRelax();
    else std::this_thread::yield();
  }
}

// Spins, then sleeps, until a new generation or stop; false on stop.
bool ThreadPool::waitForTask(long seen) {
  auto changed = [&] { return stop_.load() || generation_.load(std::memory_order_acquire) != seen; };
  auto start = std::chrono::steady_clock::now();
  for (int spins = 0; !changed(); spins++) {
    cpuRelax();
    if ((spins & 255) == 255 && std::chrono::steady_clock::now() - start > kSpinFor) {
      std::unique_lock<std::mutex> lock(sleepMutex_);
      wake_.wait(lock, changed);
      break;
    }
  }
  return !stop_.load();
}

void ThreadPool::workerLoop(int index) {
  long seen = 0;
  while (waitForTask(seen)) {
    seen = generation_.load(std::memory_order_acquire);
    int n = n_;
    int parts = size() < n ? size() : n;
    if (index < parts) {
      int begin, end;
      chunkOf(n, parts, index, &begin, &end);
      task_(ctx_, begin, end);
    }
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

// The pool is replaced, not resized, when the thread count changes; callers
// hold a shared_ptr so a pool in use is only destroyed after its last user.
static std::mutex poolMutex;
static std::shared_ptr<ThreadPool> pool;

// The first pool takes OpenBLAS's thread count (what OPENBLAS_NUM_THREADS or
// the core count gave it), then OpenBLAS is held at one thread: from here on
// our pool decides how many cores a kernel uses.
static int takeBlasThreads() {
  int n = blasGetNumThreads();
  blasSetNumThreads(1);
  return n < 1 ? 1 : n;
}

std::shared_ptr<ThreadPool> acquireGatePool() {
  std::lock_guard<std::mutex> lock(poolMutex);
  if (!pool) pool = std::make_shared<ThreadPool>(takeBlasThreads());
  return pool;
}

void setNumThreads(int n) {
  if (n < 1) n = 1;
  std::lock_guard<std::mutex> lock(poolMutex);
  blasSetNumThreads(1);
  pool = std::make_shared<ThreadPool>(n);
}

int getNumThreads() { return acquireGatePool()->size(); }

}  // namespace gatedrnn
