#include "threadpool.h"

#include <chrono>
#include <memory>

#include "gemm.h"

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
#include <immintrin.h>
#endif
#if defined(__linux__)
#include <sched.h>
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
constexpr auto kSpinFor = std::chrono::microseconds(100);

// Cores this process may run on (its affinity mask, which containers and
// taskset narrow), or the hardware's count elsewhere.
int availableCores() {
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
#endif
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

void chunkOf(int n, int parts, int index, int* begin, int* end) {
  int base = n / parts, extra = n % parts;
  *begin = index * base + (index < extra ? index : extra);
  *end = *begin + base + (index < extra ? 1 : 0);
}

}  // namespace

ThreadPool::ThreadPool(int numThreads) {
  // More threads than cores: a spinning worker would take the core from the
  // thread doing the work it waits for. Such a pool's workers sleep at once,
  // and the claiming of chunks keeps a slow wake-up from delaying anything.
  spin_ = numThreads <= availableCores();
  try {
    for (int i = 1; i < numThreads; i++) workers_.emplace_back([this] { workerLoop(); });
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

// Claims and runs chunks of `generation` until none is left (or a newer
// generation has replaced it).
void ThreadPool::runChunks(long generation) {
  const unsigned long long tag = static_cast<unsigned long long>(generation) << 32;
  unsigned long long state = claims_.load(std::memory_order_acquire);
  for (;;) {
    if ((state & ~0xffffffffULL) != tag) return;
    const int chunk = static_cast<int>(state & 0xffffffffULL);
    if (chunk >= parts_.load(std::memory_order_relaxed)) return;
    if (!claims_.compare_exchange_weak(state, state + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
    int begin, end;
    chunkOf(n_, parts_.load(std::memory_order_relaxed), chunk, &begin, &end);
    task_(ctx_, begin, end);
    done_.fetch_add(1, std::memory_order_acq_rel);
    state = claims_.load(std::memory_order_acquire);
  }
}

void ThreadPool::run(int n, Task task, void* ctx) {
  if (n <= 0) return;
  std::unique_lock<std::mutex> owner(busy_, std::try_to_lock);
  if (workers_.empty() || n == 1 || !owner.owns_lock()) {
    task(ctx, 0, n);
    return;
  }
  const long generation = generation_.load(std::memory_order_relaxed) + 1;
  task_ = task;
  ctx_ = ctx;
  n_ = n;
  const int parts = size() < n ? size() : n;
  parts_.store(parts, std::memory_order_relaxed);
  done_.store(0, std::memory_order_relaxed);
  claims_.store(static_cast<unsigned long long>(generation) << 32, std::memory_order_release);
  generation_.store(generation, std::memory_order_release);
  { std::lock_guard<std::mutex> lock(sleepMutex_); }
  wake_.notify_all();

  runChunks(generation);
  // Every chunk is claimed; wait for the ones still running elsewhere. If
  // that takes long, their thread is probably waiting for a core: yield ours.
  for (int spins = 0; done_.load(std::memory_order_acquire) != parts; spins++) {
    if (spin_ && spins < 2048) cpuRelax();
    else std::this_thread::yield();
  }
}

// Spins, then sleeps, until a new generation or stop; false on stop.
bool ThreadPool::waitForTask(long seen) {
  auto changed = [&] { return stop_.load() || generation_.load(std::memory_order_acquire) != seen; };
  auto start = std::chrono::steady_clock::now();
  for (int spins = 0; !changed(); spins++) {
    cpuRelax();
    if (!spin_ || ((spins & 255) == 255 && std::chrono::steady_clock::now() - start > kSpinFor)) {
      std::unique_lock<std::mutex> lock(sleepMutex_);
      wake_.wait(lock, changed);
      break;
    }
  }
  return !stop_.load();
}

void ThreadPool::workerLoop() {
  long seen = 0;
  while (waitForTask(seen)) {
    seen = generation_.load(std::memory_order_acquire);
    runChunks(seen);
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
