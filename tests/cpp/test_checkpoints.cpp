#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "check/checkpoints.hpp"
#include "history/history.hpp"

namespace {

using fj::json;
using fj::Op;

Op cp(int64_t index, const std::string& job, json completed, json restored = nullptr,
      const std::string& type = "ok") {
  Op op;
  op.index = index;
  op.time = index * 1'000'000'000;
  op.process = 500;
  op.type = type;
  op.f = "checkpoints";
  op.value = {{"job", job}, {"completed", completed}, {"restored", restored}};
  return op;
}

TEST(Checkpoints, IdsThatGoOnAcrossARestoreAreValid) {
  std::vector<Op> ops = {cp(0, "a", nullptr), cp(1, "a", 1),    cp(2, "a", 5),
                         cp(3, "a", nullptr),  // a new JobMaster, still restoring
                         cp(4, "a", 5, 5),    cp(5, "a", 6, 5), cp(6, "a", 2, nullptr, "fail")};
  json r = fj::check_checkpoints(ops, {"a"});
  EXPECT_EQ(r["valid"], true) << r.dump();
  EXPECT_EQ(r["jobs"]["a"]["max_completed"], 6);
  EXPECT_EQ(r["jobs"]["a"]["last_restored"], 5);
}

TEST(Checkpoints, IdsStartingAgainAfterTheStoreWasWipedAreFlagged) {
  std::vector<Op> ops = {cp(0, "a", 18), cp(1, "a", 19), cp(2, "a", nullptr), cp(3, "a", 1),
                         cp(4, "a", 2),  cp(5, "a", 3),  cp(6, "b", 1)};
  json r = fj::check_checkpoints(ops, {"a", "b"}, 2);
  EXPECT_EQ(r["valid"], false) << r.dump();
  ASSERT_EQ(r["anomalies"].size(), 1u);
  const json& a = r["anomalies"][0];
  EXPECT_EQ(a["type"], "checkpoint-ids-went-back");
  EXPECT_EQ(a["job"], "a");
  ASSERT_EQ(a["ops"].size(), 3u);  // the op with id 19, then two examples below it
  EXPECT_EQ(a["ops"][0]["value"]["completed"], 19);
  EXPECT_EQ(a["ops"][1]["value"]["completed"], 1);
  EXPECT_EQ(r["jobs"]["a"]["went_back"], 3);
  EXPECT_EQ(r["jobs"]["b"]["went_back"], 0);
}

TEST(Checkpoints, AStaleLeadersAnswerOrTwoIsNotAWipe) {
  std::vector<Op> ops = {cp(0, "a", 19), cp(1, "a", 20), cp(2, "a", 19), cp(3, "a", 19),
                         cp(4, "a", 21), cp(5, "a", 20), cp(6, "a", 22)};
  json r = fj::check_checkpoints(ops, {"a"});
  EXPECT_EQ(r["valid"], true) << r.dump();
  EXPECT_EQ(r["jobs"]["a"]["went_back"], 0);
}

TEST(Checkpoints, AJobWithoutCheckpointsHasNothingToJudge) {
  json r = fj::check_checkpoints({cp(0, "a", nullptr)}, {"a"});
  EXPECT_EQ(r["valid"], true);
  EXPECT_TRUE(r["jobs"]["a"]["max_completed"].is_null());
}

}  // namespace
