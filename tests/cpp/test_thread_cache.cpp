// The thread cache behind fan-outs: tasks run at the same time (never queued behind a busy
// thread), threads are reused, and a task may fan out again without deadlock.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "common/thread_cache.hpp"

namespace {

using namespace std::chrono_literals;

/// Runs `n` tasks that each wait until all `n` are running at once (or 10 s pass); returns how
/// many saw all of them, and the threads they ran on.
std::size_t run_together(std::size_t n, std::set<std::thread::id>* threads) {
  std::mutex mu;
  std::condition_variable cv;
  std::size_t started = 0, together = 0, finished = 0;
  for (std::size_t i = 0; i < n; ++i) {
    fj::run_on_cached_thread([&] {
      std::unique_lock lock(mu);
      if (threads != nullptr) threads->insert(std::this_thread::get_id());
      ++started;
      cv.notify_all();
      if (cv.wait_for(lock, 10s, [&] { return started == n; })) ++together;
      ++finished;
      cv.notify_all();
    });
  }
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return finished == n; });
  return together;
}

TEST(ThreadCache, TasksRunAtTheSameTime) {
  EXPECT_EQ(run_together(8, nullptr), 8u);
  EXPECT_EQ(run_together(3, nullptr), 3u);
}

TEST(ThreadCache, ThreadsAreReused) {
  std::set<std::thread::id> first, second;
  ASSERT_EQ(run_together(5, &first), 5u);
  // The five threads go back to waiting once their tasks return.
  for (int i = 0; i < 200 && fj::cached_idle_threads() < 5; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_GE(fj::cached_idle_threads(), 5u);
  ASSERT_EQ(run_together(5, &second), 5u);
  std::size_t reused = 0;
  for (const auto& id : second) reused += first.count(id);
  EXPECT_EQ(second.size(), 5u);
  EXPECT_GE(reused, 1u);  // no new thread where an idle one was waiting (ids may be recycled)
}

TEST(ThreadCache, TaskMayFanOutAgain) {
  std::mutex mu;
  std::condition_variable cv;
  std::size_t inner_together = 0;
  bool done = false;
  fj::run_on_cached_thread([&] {
    const std::size_t n = run_together(4, nullptr);
    std::lock_guard lock(mu);
    inner_together = n;
    done = true;
    cv.notify_all();
  });
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, 20s, [&] { return done; }));
  EXPECT_EQ(inner_together, 4u);
}

TEST(ThreadCache, ForkedChildStartsAFreshCache) {
  ASSERT_EQ(run_together(2, nullptr), 2u);  // the parent has cached threads now
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The parent's threads are not here: the child's tasks must still run.
    ::alarm(20);
    ::_exit(run_together(3, nullptr) == 3 ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

}  // namespace
