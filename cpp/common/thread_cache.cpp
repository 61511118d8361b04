#include "common/thread_cache.hpp"

#include <pthread.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <new>
#include <thread>

namespace fj {

namespace {

constexpr auto kIdleLimit = std::chrono::seconds(30);

class ThreadCache {
 public:
  void run(std::function<void()> task) {
    std::unique_lock lock(mu_);
    tasks_.push_back(std::move(task));
    // Every queued task needs a waiting thread of its own, or it would wait for a busy one.
    const bool start = tasks_.size() > waiting_;
    if (!start) cv_.notify_one();
    lock.unlock();
    if (start) std::thread([this] { work(); }).detach();
  }

  std::size_t idle() {
    std::lock_guard lock(mu_);
    return waiting_;
  }

 private:
  void work() {
    std::unique_lock lock(mu_);
    while (true) {
      if (!tasks_.empty()) {
        std::function<void()> task = std::move(tasks_.front());
        tasks_.pop_front();
        lock.unlock();
        task();
        lock.lock();
        continue;
      }
      ++waiting_;
      const bool woken = cv_.wait_for(lock, kIdleLimit, [&] { return !tasks_.empty(); });
      --waiting_;
      if (!woken) return;
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  std::size_t waiting_ = 0;
};

// In static storage and never destroyed: detached threads may still wait on it while the
// process exits. A forked child has none of the parent's threads, so it starts a fresh cache in
// the same storage (the parent's lock may have been held at the fork).
alignas(ThreadCache) unsigned char g_storage[sizeof(ThreadCache)];

ThreadCache& cache() {
  static ThreadCache* const instance = [] {
    ::pthread_atfork(nullptr, nullptr, [] { new (g_storage) ThreadCache(); });
    return new (g_storage) ThreadCache();
  }();
  return *instance;
}

}  // namespace

void run_on_cached_thread(std::function<void()> task) { cache().run(std::move(task)); }

std::size_t cached_idle_threads() { return cache().idle(); }

}  // namespace fj
