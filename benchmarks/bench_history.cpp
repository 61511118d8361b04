// Measures the history recorder and reader: recording rate from one thread and from several,
// with and without keeping ops in memory, and the time to read the file back (ops and columns).
// Usage: bench_history [ops=1000000] [dir=/tmp]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "history/columns.hpp"
#include "history/history.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Small values like the poller's and a client's: an id string, a number, a short object.
fj::json sample_value(int64_t i) {
  switch (i % 3) {
    case 0:
      return "a1b2c3d4e5f60718293a4b5c6d7e8f90";
    case 1:
      return i;
    default:
      return fj::json{{"job", "a1b2c3d4"}, {"running", true}};
  }
}

double record_run(const std::string& path, int64_t n, int threads, bool keep) {
  fj::HistoryRecorder rec(path, keep);
  auto t0 = Clock::now();
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      for (int64_t i = t; i < n; i += threads)
        rec.record(fj::json(t), i % 2 ? "ok" : "invoke", "job-running?", sample_value(i));
    });
  for (auto& t : ts) t.join();
  rec.close();
  return seconds_since(t0);
}

}  // namespace

int main(int argc, char** argv) {
  int64_t n = argc > 1 ? std::atoll(argv[1]) : 1000000;
  std::string dir = argc > 2 ? argv[2] : "/tmp";
  std::string path = dir + "/bench_history.jsonl";

  struct Case {
    int threads;
    bool keep;
  };
  for (Case c : {Case{1, false}, Case{1, true}, Case{4, false}}) {
    double best = 1e9;
    for (int rep = 0; rep < 3; ++rep) best = std::min(best, record_run(path, n, c.threads, c.keep));
    std::printf("record %lld ops, %d thread(s)%s: %.3f s, %.2f M ops/s (best of 3, incl. close)\n",
                static_cast<long long>(n), c.threads, c.keep ? ", kept in memory" : "", best,
                static_cast<double>(n) / best / 1e6);
  }

  record_run(path, n, 1, false);
  double best = 1e9;
  size_t got = 0;
  for (int rep = 0; rep < 3; ++rep) {
    auto t0 = Clock::now();
    auto r = fj::read_history(path);
    best = std::min(best, seconds_since(t0));
    got = r.ops.size();
  }
  std::printf("read_history %zu ops: %.3f s (best of 3)\n", got, best);
  best = 1e9;
  for (int rep = 0; rep < 3; ++rep) {
    auto t0 = Clock::now();
    auto c = fj::read_history_columns(path);
    best = std::min(best, seconds_since(t0));
    got = c.index.size();
  }
  std::printf("read_history_columns %zu ops: %.3f s (best of 3)\n", got, best);
  std::remove(path.c_str());
  return 0;
}
