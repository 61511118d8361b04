// Measures the exactly-once checker on a synthetic workload history: N records sent in batches
// (invoke + completion, as the harness records them) and drained from P output partitions in
// polls, with a few anomalies injected so the checker has something to find. Times: writing the
// history through the recorder, the check from the file (in a child process, so its peak memory
// is its own), reading alone, and the check from memory, with dense and with sparse ids.
// Usage: bench_exactly_once [records=10000000] [dir=/tmp]
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "check/exactly_once.hpp"
#include "history/history.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using fj::json;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// CPU seconds of this process so far, every thread: beside wall time, it shows what a run cost
// when other work shares the machine.
double cpu_seconds() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return s(ru.ru_utime) + s(ru.ru_stime);
}

double max_rss_mb(const rusage& ru) { return static_cast<double>(ru.ru_maxrss) / 1024.0; }

double self_max_rss_mb() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return max_rss_mb(ru);
}

uint64_t splitmix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

constexpr int64_t kBatch = 1000;
constexpr int64_t kKeys = 10000;
constexpr int64_t kPartitions = 8;
constexpr int kProducers = 4;

// Writes the history; returns the number of output records written.
int64_t write_history(const std::string& path, int64_t n) {
  fj::HistoryRecorder rec(path);
  std::vector<int64_t> next_seq(kKeys, 0), count(kKeys, 0), last_seq(kKeys, -1);
  std::vector<std::vector<fj::OutputRecord>> partitions(kPartitions);
  for (auto& p : partitions) p.reserve(static_cast<size_t>(n / kPartitions + kBatch));

  const int64_t info_batch = 7, fail_batch = 13;
  for (int64_t b = 0; b * kBatch < n; ++b) {
    int process = static_cast<int>(b % kProducers);
    const char* type = b == info_batch ? "info" : b == fail_batch ? "fail" : "ok";
    json value = json::array();
    auto& arr = value.get_ref<json::array_t&>();
    arr.reserve(kBatch);
    for (int64_t id = b * kBatch; id < std::min(n, (b + 1) * kBatch); ++id) {
      int64_t key = static_cast<int64_t>(splitmix(static_cast<uint64_t>(id)) % kKeys);
      int64_t seq = next_seq[key]++;
      arr.push_back(json::array({id, key, seq}));
      // The job sees what Kafka took: every ok record, half of the unknown ones.
      bool written = b == info_batch ? id % 2 == 0 : b != fail_batch;
      if (!written) continue;
      partitions[key % kPartitions].push_back({id, key, seq, count[key] + 1, last_seq[key]});
      ++count[key];
      last_seq[key] = seq;
    }
    rec.record(process, "invoke", "send", value);
    rec.record(process, type, "send", std::move(value));
    if (b % 100 == 50) {
      rec.record("nemesis", "invoke", "kill-task-managers", nullptr);
      rec.record("nemesis", "info", "kill-task-managers", "n3");
      rec.record(9, "invoke", "job-running?", "a1b2c3");
      rec.record(9, "ok", "job-running?", {{"job", "a1b2c3"}, {"running", true}});
    }
  }

  // Anomalies: 3 lost (the job counted them: the next of each key skips), 2 duplicated right
  // after themselves (order and state show them too), 1 never sent.
  auto& p0 = partitions[0];
  for (size_t k : {p0.size() / 4, p0.size() / 2, p0.size() * 3 / 4})
    p0.erase(p0.begin() + static_cast<ptrdiff_t>(k));
  auto& p1 = partitions[1];
  for (size_t k : {p1.size() / 3, p1.size() * 2 / 3})
    p1.insert(p1.begin() + static_cast<ptrdiff_t>(k), p1[k]);
  partitions[2].push_back({n + 1000000, kKeys * 10 + 2, 0, 1, -1});

  int64_t written = 0;
  for (int64_t p = 0; p < kPartitions; ++p) {
    const auto& out = partitions[static_cast<size_t>(p)];
    for (size_t i = 0; i < out.size(); i += kBatch) {
      json value = json::array();
      auto& arr = value.get_ref<json::array_t&>();
      for (size_t j = i; j < std::min(out.size(), i + kBatch); ++j) {
        const auto& o = out[j];
        arr.push_back(json::array({o.id, o.key, o.seq, o.count, o.prev_seq}));
      }
      int process = 100 + static_cast<int>(p);
      rec.record(process, "invoke", "poll", nullptr);
      rec.record(process, "ok", "poll", std::move(value), {{"partition", p}});
    }
    written += static_cast<int64_t>(out.size());
  }
  rec.close();
  return written;
}

std::string summary(const fj::ExactlyOnceResult& r) {
  json j = r;
  json s = {{"valid", j["valid"]},
            {"sent", j["sent"]},
            {"read", j["read"]},
            {"lost", j["lost"]["count"]},
            {"duplicated", j["duplicated"]["count"]},
            {"unexpected", j["unexpected"]["count"]},
            {"order", j["order"]["count"]},
            {"state", j["state"]["count"]},
            {"unknown_delivered", j["unknown_delivered"]},
            {"unknown_missing", j["unknown_missing"]}};
  return s.dump();
}

}  // namespace

int main(int argc, char** argv) {
  int64_t n = argc > 1 ? std::atoll(argv[1]) : 10000000;
  std::string dir = argc > 2 ? argv[2] : "/tmp";
  std::string path = dir + "/bench_exactly_once_" + std::to_string(::getpid()) + ".jsonl";

  auto t0 = Clock::now();
  double c0 = cpu_seconds();
  int64_t read = write_history(path, n);
  double write_s = seconds_since(t0), write_cpu = cpu_seconds() - c0;
  double mb = static_cast<double>(std::filesystem::file_size(path)) / 1e6;
  std::printf(
      "write %lld sent + %lld output records (%.0f MB) through the recorder: %.2f s (%.2f s CPU)\n",
      static_cast<long long>(n), static_cast<long long>(read), mb, write_s, write_cpu);
  std::printf("  peak RSS after writing: %.0f MB\n", self_max_rss_mb());
  std::fflush(stdout);

  // The check from the file, in a child: its peak RSS is that of the check alone.
  pid_t pid = ::fork();
  if (pid == 0) {
    double best = 1e9, best_cpu = 1e9;
    fj::ExactlyOnceResult r;
    for (int rep = 0; rep < 3; ++rep) {
      auto t = Clock::now();
      double c = cpu_seconds();
      r = fj::check_exactly_once(path);
      best = std::min(best, seconds_since(t));
      best_cpu = std::min(best_cpu, cpu_seconds() - c);
    }
    std::printf(
        "check from the file: %.3f s (best of 3; %.3f s CPU), %.2f M output records/s, %.0f MB/s\n",
        best, best_cpu, static_cast<double>(read) / best / 1e6, mb / best);
    std::printf("  %s\n", summary(r).c_str());
    std::fflush(stdout);
    std::_Exit(0);
  }
  int status = 0;
  rusage child{};
  ::wait4(pid, &status, 0, &child);
  std::printf("  peak RSS of the file check: %.0f MB\n", max_rss_mb(child));

  t0 = Clock::now();
  c0 = cpu_seconds();
  fj::ExactlyOnceHistory h = fj::read_exactly_once_history(path);
  std::printf("read_exactly_once_history alone: %.3f s (%.3f s CPU)\n", seconds_since(t0),
              cpu_seconds() - c0);
  double best = 1e9, best_cpu = 1e9;
  fj::ExactlyOnceResult r;
  for (int rep = 0; rep < 3; ++rep) {
    t0 = Clock::now();
    c0 = cpu_seconds();
    r = fj::check_exactly_once(h);
    best = std::min(best, seconds_since(t0));
    best_cpu = std::min(best_cpu, cpu_seconds() - c0);
  }
  std::printf(
      "check from memory, dense ids: %.3f s (best of 3; %.3f s CPU), %.2f M output records/s\n",
      best, best_cpu, static_cast<double>(read) / best / 1e6);

  // Ids spread over the whole int64 range (hashing keeps them distinct): the sorting path.
  auto spread = [](int64_t id) {
    return static_cast<int64_t>(splitmix(static_cast<uint64_t>(id)) >> 1);
  };
  for (auto* v : {&h.ok, &h.info, &h.fail})
    for (auto& s : *v) s.id = spread(s.id);
  for (auto& o : h.read) o.id = spread(o.id);
  t0 = Clock::now();
  c0 = cpu_seconds();
  auto sparse = fj::check_exactly_once(h);
  double sparse_s = seconds_since(t0);
  std::printf("check from memory, sparse ids: %.3f s (%.3f s CPU), %.2f M output records/s\n",
              sparse_s, cpu_seconds() - c0, static_cast<double>(read) / sparse_s / 1e6);
  std::printf("  %s\n", summary(sparse).c_str());
  std::printf("peak RSS of this process (writing, reading, in-memory checks): %.0f MB\n",
              self_max_rss_mb());
  std::remove(path.c_str());
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
