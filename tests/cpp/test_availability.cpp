#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "check/availability.hpp"
#include "history/history.hpp"

namespace {

using fj::json;

int64_t ns(double s) { return static_cast<int64_t>(std::llround(s * 1e9)); }

// Builds a history by hand; build() orders it by time and numbers it, as a recorder would.
class History {
 public:
  void add(double t, json process, const std::string& type, const std::string& f, json value,
           json extra = json()) {
    fj::Op op;
    op.time = ns(t);
    op.process = std::move(process);
    op.type = type;
    op.f = f;
    op.value = std::move(value);
    op.extra = std::move(extra);
    ops_.push_back(std::move(op));
  }
  void poll(int process, const std::string& job, double t, bool running,
            const std::string& state = "") {
    add(t - 0.01, process, "invoke", "job-running?", job);
    add(t, process, "ok", "job-running?",
        {{"job", job},
         {"running", running},
         {"state", state.empty() ? (running ? "RUNNING" : "RESTARTING") : state}});
  }
  void poll_fail(int process, const std::string& job, double t, const std::string& error) {
    add(t - 0.01, process, "invoke", "job-running?", job);
    add(t, process, "fail", "job-running?", {{"job", job}}, {{"error", error}});
  }
  // Polls every `step` seconds in [from, to), running or not.
  void polls(int process, const std::string& job, double from, double to, double step, bool running,
             const std::string& state = "") {
    for (int i = 0; from + i * step < to - 1e-9; ++i)
      poll(process, job, from + i * step, running, state);
  }
  void nemesis(const std::string& f, double start, double end) {
    add(start, "nemesis", "invoke", f, nullptr);
    add(end, "nemesis", "info", f, "done");
  }
  void cancel(int process, const std::string& job, double t, const std::string& type = "ok") {
    add(t - 0.05, process, "invoke", "cancel-job", job);
    add(t, process, type, "cancel-job", {{"job", job}, {"status", 202}});
  }
  std::vector<fj::Op> build() const {
    auto ops = ops_;
    std::stable_sort(ops.begin(), ops.end(),
                     [](const fj::Op& a, const fj::Op& b) { return a.time < b.time; });
    for (size_t i = 0; i < ops.size(); ++i) ops[i].index = static_cast<int64_t>(i);
    return ops;
  }

 private:
  std::vector<fj::Op> ops_;
};

json check(const History& h, fj::AvailabilityOptions o = {}) {
  return fj::check_availability(h.build(), o);
}

std::vector<std::string> types_of(const json& result) {
  std::vector<std::string> out;
  for (const auto& a : result["anomalies"])
    out.push_back(a["type"].get<std::string>() + ":" + a["job"].get<std::string>());
  std::sort(out.begin(), out.end());
  return out;
}

// Two jobs, polled every second for 300 s, both knocked out by a kill at 10 s for a few seconds.
History healthy_run() {
  History h;
  h.nemesis("kill-task-managers", 10, 10.5);
  for (auto [p, job] : {std::pair{0, "aaaa"}, std::pair{1, "bbbb"}}) {
    h.polls(p, job, 1, 11, 1, true);
    h.polls(p, job, 11, 15, 1, false);
    h.polls(p, job, 15, 301, 1, true);
  }
  return h;
}

}  // namespace

TEST(Availability, AHealthyRunIsValid) {
  json r = check(healthy_run());
  EXPECT_EQ(r["valid?"], true) << r.dump(2);
  EXPECT_TRUE(r["anomalies"].empty());
  EXPECT_EQ(r["jobs"]["aaaa"]["polls"], 300);
  EXPECT_EQ(r["jobs"]["aaaa"]["running_polls"], 296);
  EXPECT_EQ(r["jobs"]["aaaa"]["failed_polls"], 0);
  EXPECT_DOUBLE_EQ(r["jobs"]["aaaa"]["final_running_streak_s"].get<double>(), 285);
  EXPECT_EQ(r["jobs"]["bbbb"]["cancelled"], false);
  EXPECT_DOUBLE_EQ(r["last_fault_end_s"].get<double>(), 10.5);
  ASSERT_EQ(r["faults"].size(), 1u);
  EXPECT_EQ(r["faults"][0]["kind"], "kill-task-managers");
  EXPECT_DOUBLE_EQ(r["faults"][0]["recovery_s"].get<double>(), 4.5);
}

TEST(Availability, AJobDownAfterTheGracePeriodIsFlagged) {
  History h;
  h.nemesis("kill-task-managers", 10, 10.5);
  h.polls(0, "aaaa", 1, 301, 1, true);
  h.polls(1, "bbbb", 1, 11, 1, true);
  h.polls(1, "bbbb", 11, 250, 1, false);
  h.polls(1, "bbbb", 250, 260, 1, true);  // back for a while, not long enough
  for (double t = 260; t < 301; t += 1) h.poll_fail(1, "bbbb", t, "http 503");
  json r = check(h);
  EXPECT_EQ(r["valid?"], false);
  EXPECT_EQ(types_of(r),
            (std::vector<std::string>{"not-healthy-at-end:bbbb", "unavailable-after-grace:bbbb",
                                      "unavailable-after-grace:bbbb"}));
  EXPECT_EQ(r["anomaly_types"]["unavailable-after-grace"], 2);
  EXPECT_EQ(r["anomaly_types"]["not-healthy-at-end"], 1);
  // The first run of bad polls starts at the first poll invoked after 10.5 + 180 s.
  const json& first = r["anomalies"][0];
  EXPECT_EQ(first["type"], "unavailable-after-grace");
  EXPECT_NEAR(first["time"].get<double>(), 190.99, 1e-9);
  EXPECT_NEAR(first["deadline_s"].get<double>(), 190.5, 1e-9);
  EXPECT_EQ(first["polls"], 59);  // 191 .. 249
  EXPECT_EQ(first["first"], "state RESTARTING");
  EXPECT_EQ(r["anomalies"][1]["first"], "http 503");
  EXPECT_EQ(r["anomalies"][1]["polls"], 41);
  EXPECT_EQ(r["jobs"]["bbbb"]["failed_polls"], 41);
}

TEST(Availability, DownWithinTheGracePeriodIsValid) {
  History h;
  h.nemesis("kill-job-managers", 10, 10.5);
  h.polls(0, "aaaa", 1, 11, 1, true);
  for (double t = 11; t < 180; t += 1) h.poll_fail(0, "aaaa", t, "connection refused at n1:8081");
  h.polls(0, "aaaa", 180, 230, 1, true);
  json r = check(h);
  EXPECT_EQ(r["valid?"], true) << r.dump(2);
  EXPECT_DOUBLE_EQ(r["faults"][0]["recovery_s"].get<double>(), 169.5);
}

TEST(Availability, AJobCancelledBehindTheClientsBackIsFlagged) {
  History h;  // no faults: the grace period runs from the start
  h.polls(0, "aaaa", 1, 301, 1, true);
  h.polls(1, "bbbb", 1, 50, 1, true);
  h.polls(1, "bbbb", 50, 301, 1, false, "CANCELED");
  json r = check(h);
  EXPECT_EQ(r["valid?"], false);
  EXPECT_EQ(types_of(r),
            (std::vector<std::string>{"not-healthy-at-end:bbbb", "unavailable-after-grace:bbbb"}));
  EXPECT_EQ(r["anomalies"][0]["first"], "state CANCELED");
  EXPECT_EQ(r["jobs"]["bbbb"]["cancelled"], false);
}

TEST(Availability, ACancelledJobThatKeepsRunningIsFlagged) {
  History h;
  h.polls(0, "aaaa", 1, 50, 1, true);
  h.cancel(0, "aaaa", 50.5);
  h.polls(0, "aaaa", 51, 71, 1, true);  // still running 20 s after the cancel
  h.polls(0, "aaaa", 71, 100, 1, false, "CANCELED");
  json r = check(h);
  EXPECT_EQ(r["valid?"], false);
  EXPECT_EQ(types_of(r), std::vector<std::string>{"running-after-cancel:aaaa"});
  const json& a = r["anomalies"][0];
  EXPECT_NEAR(a["time"].get<double>(), 60.99, 1e-9);  // first poll invoked after 50.5 + 10 s
  EXPECT_EQ(a["polls"], 10);
  EXPECT_EQ(r["jobs"]["aaaa"]["cancelled"], true);
}

TEST(Availability, ACancelledJobThatStopsIsValid) {
  History h;
  h.polls(0, "aaaa", 1, 400, 1, true);
  h.polls(1, "bbbb", 1, 50, 1, true);
  h.cancel(1, "bbbb", 50.5);
  h.polls(1, "bbbb", 51, 56, 1, true);  // the cancel takes a few seconds
  h.polls(1, "bbbb", 56, 60, 1, false, "CANCELLING");
  for (double t = 60; t < 400; t += 1) h.poll_fail(1, "bbbb", t, "http 404 job not found");
  json r = check(h);
  EXPECT_EQ(r["valid?"], true) << r.dump(2);
  EXPECT_EQ(r["jobs"]["bbbb"]["cancelled"], true);
}

TEST(Availability, RecoveryTimesAreExact) {
  History h;
  // Kills at 10, 30, 50 (0.5 s each); the jobs come back 4.0, 2.0 and 3.0 s after each ends.
  // A partition from 70 to 80; back 1.0 s after it heals.
  h.nemesis("kill-task-managers", 10, 10.5);
  h.nemesis("kill-task-managers", 30, 30.5);
  h.nemesis("kill-task-managers", 50, 50.5);
  h.nemesis("start-partition", 70, 70.2);
  h.nemesis("stop-partition", 79.8, 80);
  auto down = [](double t) {
    return (t > 10 && t < 14.5) || (t > 30 && t < 32.5) || (t > 50 && t < 53.5) ||
           (t > 70 && t < 81);
  };
  for (int i = 1; i <= 240; ++i) {  // every 0.5 s to 120 s
    double t = i * 0.5;
    h.poll(0, "aaaa", t, !down(t));
    h.poll(1, "bbbb", t - 0.2, !down(t));  // bbbb polled 0.2 s earlier, back 0.2 s earlier
  }
  fj::AvailabilityOptions o;
  o.grace_period_s = 60;
  json r = check(h, o);
  EXPECT_EQ(r["valid?"], true) << r.dump(2);
  const json& f = r["faults"];
  ASSERT_EQ(f.size(), 4u) << f.dump();
  EXPECT_DOUBLE_EQ(f[0]["start_s"].get<double>(), 10);
  EXPECT_DOUBLE_EQ(f[0]["end_s"].get<double>(), 10.5);
  EXPECT_DOUBLE_EQ(f[0]["recovery_s"].get<double>(), 4.0);
  EXPECT_DOUBLE_EQ(f[1]["recovery_s"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(f[2]["recovery_s"].get<double>(), 3.0);
  EXPECT_EQ(f[3]["kind"], "partition");
  EXPECT_DOUBLE_EQ(f[3]["start_s"].get<double>(), 70);
  EXPECT_DOUBLE_EQ(f[3]["end_s"].get<double>(), 80);
  EXPECT_DOUBLE_EQ(f[3]["recovery_s"].get<double>(), 1.0);
  const json& k = r["recovery"]["kill-task-managers"];
  EXPECT_EQ(k["count"], 3);
  EXPECT_EQ(k["recovered"], 3);
  EXPECT_DOUBLE_EQ(k["min_s"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(k["median_s"].get<double>(), 3.0);
  EXPECT_DOUBLE_EQ(k["max_s"].get<double>(), 4.0);
  EXPECT_DOUBLE_EQ(r["last_fault_end_s"].get<double>(), 80);
}

TEST(Availability, AFaultNeverRecoveredFromHasNoRecoveryTime) {
  History h;
  h.nemesis("kill-task-managers", 10, 10.5);
  h.nemesis("kill-task-managers", 20, 20.5);
  h.polls(0, "aaaa", 1, 10, 1, true);
  h.polls(0, "aaaa", 11, 15, 1, true);
  h.polls(0, "aaaa", 15, 60, 1, false);  // down after the second kill, for good
  json r = check(h);
  EXPECT_DOUBLE_EQ(r["faults"][0]["recovery_s"].get<double>(), 0.5);
  EXPECT_TRUE(r["faults"][1]["recovery_s"].is_null());
  EXPECT_EQ(r["recovery"]["kill-task-managers"]["count"], 2);
  EXPECT_EQ(r["recovery"]["kill-task-managers"]["recovered"], 1);
  EXPECT_DOUBLE_EQ(r["recovery"]["kill-task-managers"]["median_s"].get<double>(), 0.5);
}

TEST(Availability, JepsenStyleNemesisInfosAndUnhealedFaults) {
  History h;
  h.add(5, "nemesis", "info", "start-partition", nullptr);
  h.add(5.1, "nemesis", "info", "start-partition", "cut");
  h.add(15, "nemesis", "info", "stop-partition", nullptr);
  h.add(15.2, "nemesis", "info", "stop-partition", "healed");
  h.nemesis("start-pause", 20, 20.1);  // never stopped
  h.polls(0, "aaaa", 1, 40, 1, true);
  json r = check(h);
  ASSERT_EQ(r["faults"].size(), 2u) << r["faults"].dump();
  EXPECT_EQ(r["faults"][0]["kind"], "partition");
  EXPECT_DOUBLE_EQ(r["faults"][0]["start_s"].get<double>(), 5);
  EXPECT_DOUBLE_EQ(r["faults"][0]["end_s"].get<double>(), 15.2);
  EXPECT_EQ(r["faults"][1]["kind"], "pause");
  EXPECT_EQ(r["faults"][1]["healed"], false);
  EXPECT_TRUE(r["faults"][1]["recovery_s"].is_null());
  EXPECT_DOUBLE_EQ(r["last_fault_end_s"].get<double>(), 39);  // open until the history ends
}

TEST(Availability, NotHealthyLongEnoughAtTheEndIsFlagged) {
  History h;
  h.polls(0, "aaaa", 1, 100, 1, true);
  h.polls(0, "aaaa", 100, 150, 1, false);
  h.polls(0, "aaaa", 150, 171, 1, true);  // 20 s of running at the end: less than 25
  json r = check(h);
  EXPECT_EQ(types_of(r), std::vector<std::string>{"not-healthy-at-end:aaaa"});
  EXPECT_DOUBLE_EQ(r["anomalies"][0]["final_running_streak_s"].get<double>(), 20);
  fj::AvailabilityOptions o;
  o.healthy_duration_s = 20;
  EXPECT_EQ(check(h, o)["valid?"], true);
}

TEST(Availability, AJobNeverPolledIsFlagged) {
  History h;
  h.polls(0, "aaaa", 1, 100, 1, true);
  h.add(1, 1, "invoke", "job-running?", "bbbb");  // its poll never completed
  fj::AvailabilityOptions o;
  o.jobs = {"aaaa", "cccc"};
  json r = check(h, o);
  EXPECT_EQ(r["valid?"], false);
  EXPECT_EQ(types_of(r), (std::vector<std::string>{"never-polled:bbbb", "never-polled:cccc"}));
}

TEST(Availability, AnEmptyHistoryIsUnknown) {
  json r = fj::check_availability({});
  EXPECT_EQ(r["valid?"], "unknown");
  EXPECT_NE(r["error"].get<std::string>().find("no completed job-running? poll"),
            std::string::npos);
  History only_faults;
  only_faults.nemesis("kill-task-managers", 1, 2);
  EXPECT_EQ(check(only_faults)["valid?"], "unknown");
}

TEST(Availability, AnUnreadableLineMakesAValidFileUnknown) {
  auto path = (std::filesystem::temp_directory_path() /
               ("fj_avail_" + std::to_string(::getpid()) + ".jsonl"))
                  .string();
  {
    fj::HistoryRecorder rec(path);
    for (const auto& op : healthy_run().build())
      rec.record(op.process, op.type, op.f, op.value, op.extra);
  }
  // Times were re-stamped by the recorder: all polls within a few ms, so not healthy for 25 s.
  fj::AvailabilityOptions o;
  o.healthy_duration_s = 0;
  json good = fj::check_availability_file(path, o);
  EXPECT_EQ(good["valid?"], true) << good.dump(2);
  std::ofstream(path, std::ios::app) << "{\"index\": 9999, \"time\": 1, \"proc\n";
  json r = fj::check_availability_file(path, o);
  EXPECT_EQ(r["valid?"], "unknown");
  EXPECT_EQ(r["history_errors"]["count"], 1);
  EXPECT_EQ(r["history_errors"]["first"][0]["line"], 1203);  // after 2 faults + 1200 polls
  std::filesystem::remove(path);
}
