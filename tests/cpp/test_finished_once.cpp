#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "check/finished_once.hpp"
#include "history/history.hpp"

namespace {

using fj::json;
using fj::Op;

Op poll(int64_t index, const std::string& job, const std::string& state, bool running,
        const std::string& type = "ok") {
  Op op;
  op.index = index;
  op.time = index * 100'000'000;
  op.process = 0;
  op.type = type;
  op.f = "job-running?";
  op.value = {{"job", job}, {"running", running}};
  if (!state.empty()) op.value["state"] = state;
  return op;
}

TEST(FinishedOnce, AJobThatFinishesOnceIsValid) {
  std::vector<Op> ops = {poll(0, "a", "RUNNING", false), poll(1, "a", "RUNNING", true),
                         poll(2, "a", "FINISHED", false), poll(3, "a", "FINISHED", false),
                         poll(4, "a", "", false, "fail")};
  json r = fj::check_finished_once(ops, {"a"});
  EXPECT_EQ(r["valid"], true) << r.dump();
  EXPECT_EQ(r["jobs"]["a"]["terminal_state"], "FINISHED");
  EXPECT_EQ(r["jobs"]["a"]["first_terminal"]["index"], 2);
  EXPECT_TRUE(r["anomalies"].empty());
}

TEST(FinishedOnce, AFinishedJobSeenRunningAgainIsFlaggedWithTheOpsThatShowIt) {
  std::vector<Op> ops = {poll(0, "a", "RUNNING", true),   poll(1, "a", "FINISHED", false),
                         poll(2, "a", "", false, "fail"), poll(3, "a", "CREATED", false),
                         poll(4, "a", "RUNNING", true),   poll(5, "a", "FINISHED", false)};
  json r = fj::check_finished_once(ops, {"a"}, 1);
  EXPECT_EQ(r["valid"], false) << r.dump();
  ASSERT_EQ(r["anomalies"].size(), 1u);
  const json& a = r["anomalies"][0];
  EXPECT_EQ(a["type"], "ran-after-finished");
  EXPECT_EQ(a["job"], "a");
  ASSERT_EQ(a["ops"].size(), 2u);  // the terminal poll and one example (max_examples = 1)
  EXPECT_EQ(a["ops"][0]["index"], 1);
  EXPECT_EQ(a["ops"][1]["index"], 3);
  EXPECT_EQ(r["jobs"]["a"]["ran_again"], 2);
}

TEST(FinishedOnce, ARunningFlagAfterTheEndCountsEvenWithoutAState) {
  std::vector<Op> ops = {poll(0, "a", "FINISHED", false), poll(1, "a", "", true)};
  EXPECT_EQ(fj::check_finished_once(ops, {"a"})["valid"], false);
}

TEST(FinishedOnce, NeverFinishedAndFailedJobsAreAnomaliesAndSuspendedIsNoRerun) {
  std::vector<Op> ops = {poll(0, "a", "RUNNING", true), poll(1, "b", "FAILED", false),
                         poll(2, "c", "FINISHED", false), poll(3, "c", "SUSPENDED", false)};
  json r = fj::check_finished_once(ops, {"a", "b", "c"});
  EXPECT_EQ(r["valid"], false);
  std::vector<std::string> types = r["anomaly_types"];
  EXPECT_EQ(types, (std::vector<std::string>{"ended-not-finished", "never-finished"}));
  EXPECT_EQ(r["jobs"]["c"]["ran_again"], 0);
}

TEST(FinishedOnce, NoAnsweredPollIsUnknownAndOtherJobsAreIgnored) {
  std::vector<Op> ops = {poll(0, "a", "", false, "fail"), poll(1, "x", "RUNNING", true)};
  json r = fj::check_finished_once(ops, {"a"});
  EXPECT_EQ(r["valid"], "unknown");
  EXPECT_EQ(r["jobs"].size(), 1u);
  EXPECT_EQ(fj::check_finished_once({}, {})["valid"], "unknown");
}

}  // namespace

namespace {

TEST(FinishedOnce, TwoLoggedEndsAreAnAnomalyEvenWhenThePollsMissedOne) {
  std::vector<Op> ops = {poll(0, "a", "RUNNING", true), poll(1, "a", "RUNNING", true),
                         poll(2, "a", "FINISHED", false)};
  json once = {{"a", json::array({{{"where", "n2:7"}}})}};
  EXPECT_EQ(fj::check_finished_once(ops, {"a"}, 5, once)["valid"], true);
  json twice = {{"a", json::array({{{"where", "n2:7"}}, {{"where", "n1:9"}}})}};
  json r = fj::check_finished_once(ops, {"a"}, 5, twice);
  EXPECT_EQ(r["valid"], false) << r.dump();
  ASSERT_EQ(r["anomalies"].size(), 1u);
  EXPECT_EQ(r["anomalies"][0]["type"], "finished-more-than-once");
  EXPECT_EQ(r["anomalies"][0]["ops"][1]["where"], "n1:9");
  EXPECT_EQ(r["jobs"]["a"]["ends_logged"], 2);
  // Polls that missed both ends: the logged ends still count, and the job did finish.
  std::vector<Op> missed = {poll(0, "a", "RUNNING", true), poll(1, "a", "", false)};
  json r2 = fj::check_finished_once(missed, {"a"}, 5, twice);
  std::vector<std::string> types = r2["anomaly_types"];
  EXPECT_EQ(types, std::vector<std::string>{"finished-more-than-once"}) << r2.dump();
  EXPECT_EQ(fj::check_finished_once(missed, {"a"}, 5, once)["valid"], true);
  EXPECT_EQ(fj::check_finished_once(missed, {"a"})["anomaly_types"][0], "never-finished");
}

}  // namespace
