#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "check/availability.hpp"
#include "history/history.hpp"

namespace {

using fj::json;

int64_t ns(double s) { return static_cast<int64_t>(std::llround(s * 1e9)); }

// Builds a history by hand; build() orders it by time and numbers it, as a recorder would.
class History {
 public:
  // The original's tests give times in ns.
  void add_ns(int64_t t, json process, const std::string& type, const std::string& f, json value,
              json extra = json()) {
    add(static_cast<double>(t) / 1e9, std::move(process), type, f, std::move(value),
        std::move(extra));
    ops_.back().time = t;
  }
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
  // A fault that had no effect (a kill that hit no process).
  void nemesis_fail(const std::string& f, double start, double end) {
    add(start, "nemesis", "invoke", f, nullptr);
    add(end, "nemesis", "fail", f, {{"killed", json::object()}}, {{"error", "hit no process"}});
  }
  void cancel(int process, const std::string& job, double t, const std::string& type = "ok") {
    add(t - 0.05, process, "invoke", "cancel-job", job);
    json extra = type == "ok" ? json() : json{{"error", "http 503"}};
    add(t, process, type, "cancel-job", {{"job", job}, {"status", type == "ok" ? 202 : 503}},
        extra);
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

bool has_type(const json& r, const std::string& type) {
  for (const auto& a : r["anomalies"])
    if (a["type"] == type) return true;
  return false;
}

// ---- the original's checker_test.clj, case by case ------------------------------------------
// Its polls are jobs-running? maps; here each is a job-running? op of the one job. Its healthy
// threshold of 3 polls 1 ns apart is a healthy duration of 2 ns; grace 60 s, cancel grace 10 s.
const std::string kJob = "3886d6b547969c3f15c53896bb496b8f";

fj::AvailabilityOptions original_options() {
  fj::AvailabilityOptions o;
  o.grace_period_s = 60;
  o.healthy_duration_s = 2e-9;
  o.cancel_grace_s = 10;
  return o;
}

void running_ns(History& h, int64_t t, bool running) {
  h.add_ns(t, 0, "ok", "job-running?",
           {{"job", kJob}, {"running", running}, {"state", running ? "RUNNING" : "RESTARTING"}});
}
void failed_ns(History& h, int64_t t) {
  h.add_ns(t, 0, "fail", "job-running?", {{"job", kJob}}, {{"error", "Error"}});
}
void cancel_ns(History& h, int64_t invoke, int64_t t, const std::string& type = "ok") {
  h.add_ns(invoke, 1, "invoke", "cancel-job", kJob);
  h.add_ns(t, 1, type, "cancel-job", {{"job", kJob}});
}
std::string first_message(const json& r) {
  return r["anomalies"].empty() ? "" : r["anomalies"][0]["message"].get<std::string>();
}

}  // namespace

TEST(OriginalChecker, ModelShouldBeInconsistentIfJobIsNotRunningAfterGracePeriod) {
  History h;
  h.add_ns(0, "nemesis", "info", "kill-task-managers", json::array({"172.31.32.48"}));
  running_ns(h, 60000000001, false);
  json r = check(h, original_options());
  EXPECT_EQ(r["valid?"], false);
  EXPECT_EQ(first_message(r), "Job is not running.");
}

TEST(OriginalChecker, ModelShouldBeConsistentIfJobIsRunningAfterGracePeriod) {
  History h;
  h.add_ns(0, "nemesis", "info", "kill-task-managers", json::array({"172.31.32.48"}));
  for (int64_t t : {60000000001, 60000000002, 60000000003}) running_ns(h, t, true);
  json r = check(h, original_options());
  EXPECT_EQ(r["valid?"], true) << r.dump(2);
}

TEST(OriginalChecker, ShouldTolerateNonRunningJobDuringFailures) {
  History h;
  h.add_ns(-1, "nemesis", "info", "partition-start", nullptr);
  h.add_ns(0, "nemesis", "info", "partition-start", "Cut off [...]");
  running_ns(h, 60000000001, false);
  h.add_ns(60000000002, "nemesis", "info", "partition-stop", nullptr);
  h.add_ns(60000000003, "nemesis", "info", "partition-stop", "fully connected");
  for (int64_t t : {60000000004, 60000000005, 60000000006}) running_ns(h, t, true);
  json r = check(h, original_options());
  EXPECT_EQ(r["valid?"], true) << r.dump(2);
  EXPECT_EQ(r["faults"][0]["kind"], "partition");
}

TEST(OriginalChecker, ShouldNotTolerateNonRunningJobWithoutACause) {
  History h;
  running_ns(h, 0, true);
  running_ns(h, 1, true);
  running_ns(h, 60000000001, false);
  running_ns(h, 60000000002, true);
  json r = check(h, original_options());
  EXPECT_EQ(r["valid?"], false);
  EXPECT_EQ(first_message(r), "Job is not running.");
}

TEST(OriginalChecker, ModelShouldBeInconsistentIfJobSubmissionWasUnsuccessful) {
  History h;
  h.add_ns(239150413307, 0, "invoke", "job-running?", nullptr);
  h.add_ns(239150751938, 0, "info", "job-running?", nullptr,
           {{"error", "indeterminate: Assert failed: job-id"}});
  json r = check(h, original_options());
  EXPECT_EQ(r["valid?"], false);
  EXPECT_TRUE(has_type(r, "no-job")) << r.dump(2);
}

TEST(OriginalChecker, ModelShouldBeInconsistentIfTheClusterIsUnavailable) {
  History h;
  h.add_ns(0, 0, "fail", "job-running?", {{"job", kJob}, {"running", true}}, {{"error", "Error"}});
  failed_ns(h, 60000000001);
  failed_ns(h, 60000000002);
  json r = check(h, original_options());
  EXPECT_EQ(r["valid?"], false);
  EXPECT_EQ(first_message(r), "Cluster is not running.");
}

TEST(OriginalChecker, ShouldTolerateNonRunningJobAfterCancellation) {
  History h;
  cancel_ns(h, 0, 1);
  running_ns(h, 2, true);
  running_ns(h, 3, false);
  json r = check(h, original_options());
  EXPECT_EQ(r["valid?"], true) << r.dump(2);
}

TEST(OriginalChecker, ModelShouldBeInconsistentIfJobIsRunningAfterCancellation) {
  History h;
  cancel_ns(h, 0, 1);
  running_ns(h, 10000000002, true);
  json r = check(h, original_options());
  EXPECT_EQ(r["valid?"], false);
  EXPECT_EQ(first_message(r), "Job is running after cancellation.");
}

TEST(OriginalChecker, ModelShouldBeInconsistentIfTheClusterIsNotAvailableAtTheEnd) {
  History h;
  for (int64_t t : {0, 1, 2}) running_ns(h, t, true);
  failed_ns(h, 60000000003);
  json r = check(h, original_options());
  EXPECT_EQ(r["valid?"], false);
  EXPECT_EQ(first_message(r), "Cluster is not running.");
}

TEST(OriginalChecker, ModelShouldBeInconsistentIfTheClusterIsNotAvailableAfterJobCancellation) {
  History h;
  running_ns(h, 0, true);
  cancel_ns(h, 1, 2);
  failed_ns(h, 60000000001);
  json r = check(h, original_options());
  EXPECT_EQ(r["valid?"], false);
  EXPECT_EQ(first_message(r), "Cluster is not running.");
}

// The original threw an AssertionError (":cancel-job must not fail"); here a failed cancel
// exempts the job from nothing and the verdict says why the cancellation was not checked.
TEST(OriginalChecker, AFailedCancelIsNeverAnExemption) {
  History h;
  running_ns(h, 0, true);
  cancel_ns(h, 1, 2, "fail");
  json r = check(h, original_options());
  EXPECT_EQ(r["valid?"], false);  // one running poll: not healthy at the end, and not excused
  EXPECT_TRUE(has_type(r, "not-healthy-at-end"));
  EXPECT_NE(r["error"].get<std::string>().find("cancel-job of job " + kJob + " did not succeed"),
            std::string::npos);
}

TEST(OriginalChecker, ShouldTolerateNonRunningJobIfGracePeriodHasNotPassed) {
  History h;
  h.add_ns(0, 0, "invoke", "job-running?", kJob);
  running_ns(h, 1, false);
  for (int64_t t : {2, 3, 4}) running_ns(h, t, true);
  json r = check(h, original_options());
  EXPECT_EQ(r["valid?"], true) << r.dump(2);
}

// all-jobs-running?-history-test: the stop rule's view of a history of polls (running, then
// not): here the model's settled_s after each poll.
TEST(OriginalChecker, AllJobsRunningHistory) {
  fj::AvailabilityOptions o = original_options();
  fj::AvailabilityModel m(o);
  std::vector<bool> settled;
  History h;
  h.add_ns(121898381144, "nemesis", "info", "kill-random-subset-task-managers",
           json::array({"172.31.33.170"}));
  h.add_ns(127443701575, 0, "invoke", "job-running?", kJob);
  running_ns(h, 127453553462, false);
  h.add_ns(127453553463, 0, "invoke", "job-running?", kJob);
  running_ns(h, 127453553464, true);
  h.add_ns(127453553465, 0, "info", "job-running?", nullptr);
  for (const auto& op : h.build()) {
    m.step(op);
    if (op.f == "job-running?" && op.type != "invoke") settled.push_back(m.settled_s().has_value());
  }
  EXPECT_EQ(settled, (std::vector<bool>{false, true, false}));
}

// nemeses-active?-test: a fault started twice stays active until it is stopped twice.
TEST(OriginalChecker, NemesesActive) {
  History h;
  h.nemesis("start-partition", 10, 10.1);
  h.nemesis("start-partition", 20, 20.1);
  h.nemesis("stop-partition", 30, 30.1);
  h.polls(0, "aaaa", 1, 10, 1, true);
  h.polls(0, "aaaa", 10, 300, 1, false);  // down while a partition is still active
  h.nemesis("stop-partition", 300, 300.1);
  h.polls(0, "aaaa", 301, 340, 1, true);
  json r = check(h);
  EXPECT_EQ(r["valid?"], true) << r.dump(2);
  ASSERT_EQ(r["faults"].size(), 1u);
  EXPECT_DOUBLE_EQ(r["faults"][0]["start_s"].get<double>(), 10);
  EXPECT_DOUBLE_EQ(r["faults"][0]["end_s"].get<double>(), 300.1);
}

// ---- issue 10's points, each with a history today's rule would pass or misjudge ------------

// 1. The grace period runs from the most recent fault before each poll, not from the last
// fault of the run: down for longer than the grace period between two faults is flagged.
TEST(Availability, DowntimeBetweenTwoFaultsLongerThanTheGracePeriodIsFlagged) {
  History h;
  h.nemesis("kill-task-managers", 10, 10.5);
  h.nemesis("kill-task-managers", 110, 110.5);
  h.polls(0, "aaaa", 1, 11, 1, true);
  h.polls(0, "aaaa", 11, 100, 1, false);  // 89 s down after the first kill
  h.polls(0, "aaaa", 100, 111, 1, true);
  h.polls(0, "aaaa", 111, 115, 1, false);
  h.polls(0, "aaaa", 115, 200, 1, true);
  fj::AvailabilityOptions o;
  o.grace_period_s = 60;
  json r = check(h, o);
  EXPECT_EQ(r["valid?"], false);
  EXPECT_EQ(types_of(r), std::vector<std::string>{"job-not-running:aaaa"});
  const json& a = r["anomalies"][0];
  EXPECT_DOUBLE_EQ(a["time"].get<double>(), 71);  // the first poll more than 60 s after 10.5
  EXPECT_DOUBLE_EQ(a["end"].get<double>(), 99);
  EXPECT_EQ(a["polls"], 29);
  EXPECT_DOUBLE_EQ(a["last_failure_s"].get<double>(), 10.5);
  // The anomaly names the ops that show it: the completions of its first and last poll.
  auto ops = h.build();
  ASSERT_EQ(a["ops"].size(), 2u) << a.dump();
  const fj::Op& first = ops.at(a["ops"][0].get<size_t>());
  const fj::Op& last = ops.at(a["ops"][1].get<size_t>());
  EXPECT_EQ(first.time, ns(71));
  EXPECT_EQ(last.time, ns(99));
  EXPECT_EQ(first.f, "job-running?");
  EXPECT_EQ(first.type, "ok");
  EXPECT_EQ(first.value["running"], false);
}

// 2. Time zero is the workload's first op: a slow setup neither eats nor extends the grace.
TEST(Availability, TheGracePeriodOfAFaultFreeRunStartsWithTheWorkload) {
  History h;                               // setup took 100 s: the history's first op is at 100 s
  h.polls(0, "aaaa", 100, 150, 1, false);  // the job takes 50 s to start: within the grace
  h.polls(0, "aaaa", 150, 200, 1, true);
  fj::AvailabilityOptions o;
  o.grace_period_s = 60;
  json r = check(h, o);
  EXPECT_EQ(r["valid?"], true) << r.dump(2);
  EXPECT_DOUBLE_EQ(r["workload_start_s"].get<double>(), 100 - 0.01);
  History late;
  late.polls(0, "aaaa", 100, 170, 1, false);
  late.polls(0, "aaaa", 170, 220, 1, true);
  json l = check(late, o);
  ASSERT_EQ(types_of(l), std::vector<std::string>{"job-not-running:aaaa"});
  EXPECT_DOUBLE_EQ(l["anomalies"][0]["time"].get<double>(), 160);  // 99.99 + 60 < 160
}

// 3. After a cancel: a 404 is an answer (not running), a failed poll is the cluster down.
TEST(Availability, AfterACancelA404IsAnAnswerAndAFailedPollIsTheClusterDown) {
  History h;
  h.polls(0, "aaaa", 1, 20, 1, true);
  h.cancel(0, "aaaa", 20.5);
  h.polls(0, "aaaa", 21, 120, 1, false, "NOT_FOUND");
  fj::AvailabilityOptions o;
  o.grace_period_s = 60;
  EXPECT_EQ(check(h, o)["valid?"], true);
  for (double t = 120; t < 140; t += 1) h.poll_fail(0, "aaaa", t, "connection refused");
  json r = check(h, o);
  EXPECT_EQ(types_of(r), std::vector<std::string>{"cluster-not-running:aaaa"});
  EXPECT_EQ(r["anomalies"][0]["polls"], 20);
  EXPECT_EQ(r["anomalies"][0]["message"], "Cluster is not running.");
}

// 4. A cancel that failed, or whose outcome is unknown, exempts the job from no check.
TEST(Availability, ACancelThatFailedOrIsUnknownExemptsNothing) {
  fj::AvailabilityOptions o;
  o.grace_period_s = 60;
  History failed;  // ten refused cancels, and the job stopped anyway: not excused
  failed.polls(0, "aaaa", 1, 20, 1, true);
  for (int i = 0; i < 10; ++i) failed.cancel(0, "aaaa", 20.5 + 2 * i, "fail");
  failed.polls(0, "aaaa", 41, 120, 1, false, "CANCELED");
  json r = check(failed, o);
  EXPECT_EQ(r["valid?"], false);
  EXPECT_TRUE(has_type(r, "job-not-running"));
  EXPECT_EQ(r["jobs"]["aaaa"]["cancel_attempts"], 10);
  EXPECT_NE(r["error"].get<std::string>().find("did not succeed in 10 attempt(s)"),
            std::string::npos);

  History unknown;  // an unknown outcome, and the job keeps running: unknown, with the reason
  unknown.polls(0, "aaaa", 1, 20, 1, true);
  unknown.cancel(0, "aaaa", 20.5, "info");
  unknown.polls(0, "aaaa", 21, 120, 1, true);
  json u = check(unknown, o);
  EXPECT_EQ(u["valid?"], "unknown") << u.dump(2);
  EXPECT_TRUE(u["anomalies"].empty());
  EXPECT_NE(u["error"].get<std::string>().find("cancel-job of job aaaa"), std::string::npos);
}

// 8. A fault without effect is not a fault: it neither restarts the grace period nor counts.
TEST(Availability, AFaultWithoutEffectIsNotAFault) {
  History h;
  h.nemesis("kill-task-managers", 10, 10.5);
  for (double t : {30.0, 50.0, 70.0}) h.nemesis_fail("kill-task-managers", t, t + 0.1);
  h.polls(0, "aaaa", 1, 11, 1, true);
  h.polls(0, "aaaa", 11, 90, 1, false);  // unsupervised: down until something restarts it
  h.polls(0, "aaaa", 90, 150, 1, true);
  fj::AvailabilityOptions o;
  o.grace_period_s = 60;
  json r = check(h, o);
  EXPECT_EQ(types_of(r), std::vector<std::string>{"job-not-running:aaaa"});
  EXPECT_DOUBLE_EQ(r["anomalies"][0]["time"].get<double>(), 71);
  EXPECT_EQ(r["faults"].size(), 1u);
  ASSERT_EQ(r["ineffective_faults"].size(), 3u);
  EXPECT_EQ(r["ineffective_faults"][0]["reason"], "hit no process");
  EXPECT_EQ(r["recovery"]["kill-task-managers"]["count"], 1);
}

TEST(Availability, ASchedulePromisingFaultsThatInjectedNoneIsUnknown) {
  History h;
  h.nemesis_fail("kill-task-managers", 10, 10.1);
  h.polls(0, "aaaa", 1, 100, 1, true);
  fj::AvailabilityOptions o;
  o.expect_faults = true;
  json r = check(h, o);
  EXPECT_EQ(r["valid?"], "unknown");
  EXPECT_NE(r["error"].get<std::string>().find("none had an effect (1 without effect)"),
            std::string::npos);
  o.expect_faults = false;  // utopia: no fault is what was asked for
  EXPECT_EQ(check(h, o)["valid?"], true);
  History effective = h;
  effective.nemesis("kill-task-managers", 20, 20.1);
  o.expect_faults = true;
  EXPECT_EQ(check(effective, o)["valid?"], true);
}

// 9. The checker knows which jobs were submitted.
TEST(Availability, SubmittedJobsMustBePolledAndNoOtherJobMayAppear) {
  History h;
  h.polls(0, "aaaa", 1, 100, 1, true);
  h.polls(1, "ffff", 1, 100, 1, true);            // nobody submitted it
  h.add(1, 2, "invoke", "job-running?", "bbbb");  // its poll never completed
  fj::AvailabilityOptions o;
  o.jobs = {"aaaa", "bbbb", "cccc"};
  json r = check(h, o);
  EXPECT_EQ(r["valid?"], false);
  EXPECT_EQ(types_of(r), (std::vector<std::string>{"never-polled:bbbb", "never-polled:cccc",
                                                   "unexpected-job:ffff"}));
  o.jobs = {"aaaa", "ffff"};
  EXPECT_EQ(check(h, o)["valid?"], true);
}

// 6. Outages: each stretch of unavailability, its length and the faults inside it.
TEST(Availability, OutagesNameTheirFaultsAndLength) {
  History h;
  h.nemesis("kill-task-managers", 10, 10.5);
  h.nemesis("kill-task-managers", 12, 12.5);
  h.nemesis("kill-task-managers", 40, 40.5);
  h.polls(0, "aaaa", 1, 11, 1, true);
  h.polls(0, "aaaa", 11, 20, 1, false);
  h.polls(0, "aaaa", 20, 41, 1, true);
  h.polls(0, "aaaa", 41, 43, 1, false);
  h.polls(0, "aaaa", 43, 100, 1, true);
  json r = check(h);
  ASSERT_EQ(r["outages"].size(), 2u) << r["outages"].dump(2);
  const json& o = r["outages"][0];
  EXPECT_EQ(o["job"], "aaaa");
  EXPECT_DOUBLE_EQ(o["since_s"].get<double>(), 10);
  EXPECT_DOUBLE_EQ(o["start_s"].get<double>(), 11);
  EXPECT_DOUBLE_EQ(o["end_s"].get<double>(), 20);
  EXPECT_DOUBLE_EQ(o["length_s"].get<double>(), 9);
  EXPECT_EQ(o["polls"], 9);
  ASSERT_EQ(o["faults"].size(), 2u);
  EXPECT_DOUBLE_EQ(o["faults"][1]["start_s"].get<double>(), 12);
  EXPECT_EQ(o["anomalous"], false);
  EXPECT_TRUE(o["after"].is_null());
  EXPECT_EQ(r["outages"][1]["faults"].size(), 1u);
  // An outage that begins well after a kill (Flink noticed late) names the kill before it.
  History late;
  late.nemesis("kill-task-managers", 10, 10.5);
  late.polls(0, "aaaa", 1, 24, 1, true);
  late.polls(0, "aaaa", 24, 30, 1, false);
  late.polls(0, "aaaa", 30, 80, 1, true);
  json l = check(late);
  ASSERT_EQ(l["outages"].size(), 1u);
  EXPECT_TRUE(l["outages"][0]["faults"].empty());
  EXPECT_EQ(l["outages"][0]["after"]["kind"], "kill-task-managers");
  EXPECT_DOUBLE_EQ(l["outages"][0]["after"]["end_s"].get<double>(), 10.5);
  EXPECT_EQ(r["jobs"]["aaaa"]["outages"], 2);
}

// 5. The stop rule, stepped live: only polls after the heal count.
TEST(StopRule, OnlyPollsAfterTheHealCount) {
  fj::AvailabilityOptions o;
  o.healthy_duration_s = 10;
  fj::AvailabilityModel m(o);
  History h;
  h.polls(0, "aaaa", 1, 50, 1, true);
  for (const auto& op : h.build()) m.step(op);
  ASSERT_TRUE(m.settled_s().has_value());
  EXPECT_DOUBLE_EQ(*m.settled_s(), 48);
  m.observe_from(ns(50));  // the heal
  EXPECT_FALSE(m.settled_s().has_value());
  History after;
  after.polls(0, "aaaa", 51, 56, 1, true);
  int64_t index = 1000;
  for (auto op : after.build()) {
    op.index = index++;
    m.step(op);
  }
  EXPECT_DOUBLE_EQ(*m.settled_s(), 4);  // 51 .. 55
}

TEST(StopRule, AFailureThatBeginsAfterTheHealKeepsTheRunGoing) {
  fj::AvailabilityOptions o;
  o.healthy_duration_s = 10;
  fj::AvailabilityModel m(o);
  History h;
  h.polls(0, "aaaa", 1, 50, 1, true);
  h.polls(0, "aaaa", 50, 80, 1, false);  // the TaskManagers stopped for good at the heal
  auto ops = h.build();
  for (const auto& op : ops) {
    if (op.time >= ns(49.995)) break;
    m.step(op);
  }
  m.observe_from(ns(49.995));
  for (const auto& op : ops)
    if (op.time >= ns(49.995)) m.step(op);
  EXPECT_FALSE(m.settled_s().has_value());
}

TEST(StopRule, ACancelledJobIsSettledOnceItIsGone) {
  fj::AvailabilityOptions o;
  o.healthy_duration_s = 5;
  History h;
  h.polls(0, "aaaa", 1, 20, 1, true);
  h.cancel(0, "aaaa", 20.5);
  h.polls(0, "aaaa", 21, 23, 1, true);  // still cancelling
  h.polls(0, "aaaa", 23, 40, 1, false, "NOT_FOUND");
  fj::AvailabilityModel m(o);
  for (const auto& op : h.build()) m.step(op);
  ASSERT_TRUE(m.settled_s().has_value());
  EXPECT_DOUBLE_EQ(*m.settled_s(), 16);  // 23 .. 39
}

TEST(StopRule, TheMonitorSeesEveryRecordedOpAndWakesTheWaiter) {
  auto path = (std::filesystem::temp_directory_path() /
               ("fj_monitor_" + std::to_string(::getpid()) + ".jsonl"))
                  .string();
  auto rec = std::make_shared<fj::HistoryRecorder>(path);
  fj::AvailabilityOptions o;
  o.jobs = {"aaaa"};
  auto mon = std::make_shared<fj::AvailabilityMonitor>(o);
  rec->add_observer(mon);
  EXPECT_FALSE(mon->wait_settled(0.0, 0.01));  // no poll yet
  std::thread poller([&] {
    for (int i = 0; i < 40; ++i) {
      rec->record(0, "invoke", "job-running?", "aaaa");
      rec->record(0, "ok", "job-running?", {{"job", "aaaa"}, {"running", true}});
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  mon->observe_from(rec->now_ns());
  bool reached = mon->wait_settled(0.05, 30);
  int64_t seen = rec->size();
  poller.join();
  EXPECT_TRUE(reached);
  EXPECT_LT(seen, 80);  // woken before the poller finished
  EXPECT_GE(*mon->settled_s(), 0.05);
  json live = mon->result();
  rec->remove_observer(mon);
  rec->close();
  fj::AvailabilityOptions file_options = o;
  json from_file = fj::check_availability_file(path, file_options);
  EXPECT_EQ(live["polls"], 40);
  EXPECT_EQ(live["polls"], from_file["polls"]);
  EXPECT_EQ(live["jobs"], from_file["jobs"]);
  std::filesystem::remove(path);
}

// ---- what the checker reports beyond a verdict ----------------------------------------------

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
            (std::vector<std::string>{"cluster-not-running:bbbb", "job-not-running:bbbb",
                                      "not-healthy-at-end:bbbb"}));
  const json& first = r["anomalies"][0];
  EXPECT_EQ(first["type"], "job-not-running");
  EXPECT_DOUBLE_EQ(first["time"].get<double>(), 191);  // the first poll after 10.5 + 180 s
  EXPECT_EQ(first["polls"], 59);                       // 191 .. 249
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
  History h;  // no faults: the grace period runs from the workload's start
  h.polls(0, "aaaa", 1, 301, 1, true);
  h.polls(1, "bbbb", 1, 50, 1, true);
  h.polls(1, "bbbb", 50, 301, 1, false, "CANCELED");
  json r = check(h);
  EXPECT_EQ(r["valid?"], false);
  EXPECT_EQ(types_of(r),
            (std::vector<std::string>{"job-not-running:bbbb", "not-healthy-at-end:bbbb"}));
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
  EXPECT_EQ(types_of(r), std::vector<std::string>{"job-running-after-cancellation:aaaa"});
  const json& a = r["anomalies"][0];
  EXPECT_DOUBLE_EQ(a["time"].get<double>(), 61);  // the first poll 10 s after 50.5
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
  h.polls(1, "bbbb", 60, 400, 1, false, "NOT_FOUND");
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
  h.polls(0, "aaaa", 11, 20, 1, true);   // the first kill cost nothing
  h.polls(0, "aaaa", 21, 23, 1, true);   // the second: running for a while,
  h.polls(0, "aaaa", 23, 60, 1, false);  // then down for good
  json r = check(h);
  EXPECT_DOUBLE_EQ(r["faults"][0]["recovery_s"].get<double>(), 0.5);
  EXPECT_TRUE(r["faults"][0]["outage_start_s"].is_null());
  EXPECT_TRUE(r["faults"][1]["recovery_s"].is_null());
  EXPECT_DOUBLE_EQ(r["faults"][1]["outage_start_s"].get<double>(), 23);
  EXPECT_EQ(r["recovery"]["kill-task-managers"]["count"], 2);
  EXPECT_EQ(r["recovery"]["kill-task-managers"]["recovered"], 1);
  EXPECT_DOUBLE_EQ(r["recovery"]["kill-task-managers"]["median_s"].get<double>(), 0.5);
}

TEST(Availability, RecoveryRunsToTheEndOfTheOutageAFaultCausedLater) {
  // Flink sees a killed TaskManager only at the heartbeat timeout: the job still runs for 12 s
  // after the kill, is down from 22.5 to 30, and runs again at 30. Its recovery is 30 - 10.5,
  // not the 0.5 s to the first poll after the kill. The second kill, 50 s later, causes an
  // outage 3 s after it; an outage that began before a fault is not that fault's.
  History h;
  h.nemesis("kill-task-managers", 10, 10.5);
  h.nemesis("kill-task-managers", 60, 60.5);
  auto down = [](double t) { return (t >= 22.5 && t < 30) || (t >= 63.5 && t < 70); };
  for (int i = 1; i <= 400; ++i) h.poll(0, "aaaa", i * 0.5, !down(i * 0.5));
  fj::AvailabilityOptions o;
  o.grace_period_s = 60;
  json r = check(h, o);
  EXPECT_EQ(r["valid?"], true) << r.dump(2);
  ASSERT_EQ(r["faults"].size(), 2u);
  EXPECT_DOUBLE_EQ(r["faults"][0]["outage_start_s"].get<double>(), 22.5);
  EXPECT_DOUBLE_EQ(r["faults"][0]["recovery_s"].get<double>(), 19.5);
  EXPECT_DOUBLE_EQ(r["faults"][1]["outage_start_s"].get<double>(), 63.5);
  EXPECT_DOUBLE_EQ(r["faults"][1]["recovery_s"].get<double>(), 9.5);
  EXPECT_DOUBLE_EQ(r["recovery"]["kill-task-managers"]["median_s"].get<double>(), 14.5);
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

TEST(Availability, AnEmptyHistoryIsInvalidAsInTheOriginal) {
  json r = fj::check_availability({});
  EXPECT_EQ(r["valid?"], false);
  EXPECT_EQ(r["anomalies"][0]["type"], "no-job");
  History only_faults;
  only_faults.nemesis("kill-task-managers", 1, 2);
  EXPECT_EQ(check(only_faults)["valid?"], false);
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

// The file is read by a scanner of its own (no Op per line): it must agree with the checker
// over the same ops in memory, also for a file whose lines are out of index order (read whole
// and sorted), blank lines, and nemesis ops (parsed in full).
TEST(Availability, TheFileScannerAgreesWithTheOpsInMemory) {
  History h = healthy_run();
  h.nemesis("start-partition", 100, 100.2);
  h.nemesis("stop-partition", 110, 110.2);
  h.nemesis_fail("kill-task-managers", 120, 120.1);
  h.cancel(1, "bbbb", 290.5);
  h.polls(2, "aaaa", 200, 205, 1, false);  // an anomaly, to compare the ops it names
  auto ops = h.build();
  fj::AvailabilityOptions o;
  o.grace_period_s = 60;
  o.jobs = {"aaaa", "bbbb"};
  json memory = fj::check_availability(ops, o);
  ASSERT_FALSE(memory["anomalies"].empty());
  EXPECT_EQ(memory["anomalies"][0]["ops"].size(), 1u) << memory["anomalies"].dump();
  auto write = [&](const std::string& name, bool shuffle) {
    auto path =
        (std::filesystem::temp_directory_path() / (name + std::to_string(::getpid()) + ".jsonl"))
            .string();
    std::vector<std::string> lines;
    for (const auto& op : ops) {
      std::string line;
      fj::append_op_line(line, op);
      lines.push_back(line);
    }
    if (shuffle) std::swap(lines[10], lines[20]);
    std::ofstream out(path);
    for (size_t i = 0; i < lines.size(); ++i) out << lines[i] << (i == 5 ? "\n  \n" : "\n");
    return path;
  };
  for (bool shuffle : {false, true}) {
    auto path = write("fj_scan_", shuffle);
    json file = fj::check_availability_file(path, o);
    std::filesystem::remove(path);
    EXPECT_EQ(file, memory) << (shuffle ? "out of order" : "in order");
  }
  EXPECT_EQ(memory["faults"].size(), 2u);
  EXPECT_EQ(memory["ineffective_faults"].size(), 1u);
  EXPECT_EQ(memory["jobs"]["bbbb"]["cancelled"], true);
}
