// Threads kept for reuse. A fan-out starts a thread per node, many times a second, and starting a
// thread costs about as much as running a trivial command on a persistent shell. A task never
// waits for a free thread (a new one starts when none is idle), so tasks that fan out again
// cannot deadlock; threads idle for half a minute end.
#pragma once

#include <functional>

namespace fj {

/// Runs `task` on an idle cached thread, or on a new one. `task` must not throw.
void run_on_cached_thread(std::function<void()> task);

/// Threads currently idle in the cache (for tests).
std::size_t cached_idle_threads();

}  // namespace fj
