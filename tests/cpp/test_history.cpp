#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "history/history.hpp"

namespace {

using fj::json;

class TempFile {
 public:
  explicit TempFile(const std::string& name)
      : path_((std::filesystem::temp_directory_path() /
               ("fj_history_" + std::to_string(::getpid()) + "_" + name + ".jsonl"))
                  .string()) {}
  ~TempFile() { std::filesystem::remove(path_); }
  const std::string& path() const { return path_; }
  std::string text() const {
    std::ifstream in(path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  void write(const std::string& s) const { std::ofstream(path_) << s; }

 private:
  std::string path_;
};

}  // namespace

TEST(History, RoundTripsOpsThroughTheFile) {
  TempFile f("roundtrip");
  std::vector<json> values = {nullptr,
                              42,
                              -7,
                              "a1b2c3",
                              1.5,
                              2.0,
                              json::array({1, "x", nullptr}),
                              {{"job", "j"}, {"running", true}, {"n", {{"deep", 1e-3}}}},
                              "quote \" backslash \\ newline \n tab \t",
                              "unicode: ümlaut ✓ 😀",
                              18446744073709551615ull,
                              true};
  {
    fj::HistoryRecorder rec(f.path());
    for (size_t i = 0; i < values.size(); ++i)
      EXPECT_EQ(rec.record(static_cast<int>(i % 3), "invoke", "write", values[i]),
                static_cast<int64_t>(i));
    rec.record("nemesis", "info", "kill-task-managers", "n1",
               {{"error", "timed out"}, {"node", "n1"}});
    EXPECT_EQ(rec.size(), static_cast<int64_t>(values.size()) + 1);
  }
  auto r = fj::read_history(f.path());
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].second;
  ASSERT_EQ(r.ops.size(), values.size() + 1);
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(r.ops[i].index, static_cast<int64_t>(i));
    EXPECT_EQ(r.ops[i].process, json(static_cast<int>(i % 3)));
    EXPECT_EQ(r.ops[i].type, "invoke");
    EXPECT_EQ(r.ops[i].f, "write");
    EXPECT_EQ(r.ops[i].value, values[i]) << i;
    EXPECT_EQ(r.ops[i].value.type(), values[i].type()) << i;  // 2.0 stays a float
    EXPECT_TRUE(r.ops[i].extra.is_null());
    if (i) {
      EXPECT_GE(r.ops[i].time, r.ops[i - 1].time);
    }
  }
  const auto& last = r.ops.back();
  EXPECT_TRUE(last.is_nemesis());
  EXPECT_EQ(last.error(), "timed out");
  EXPECT_EQ(last.extra, (json{{"error", "timed out"}, {"node", "n1"}}));
  // Each line is one JSON object with the core keys first.
  std::string text = f.text();
  EXPECT_EQ(text.rfind("{\"index\":0,\"time\":", 0), 0u);
  EXPECT_NE(text.find(",\"process\":\"nemesis\",\"type\":\"info\",\"f\":\"kill-task-managers\","
                      "\"value\":\"n1\",\"error\":\"timed out\",\"node\":\"n1\"}\n"),
            std::string::npos);
}

TEST(History, IndicesAreDenseAndTimesMonotonicUnderConcurrency) {
  TempFile f("threads");
  constexpr int kThreads = 4, kEach = 5000;
  {
    fj::HistoryRecorder rec(f.path());
    std::vector<std::thread> ts;
    for (int t = 0; t < kThreads; ++t)
      ts.emplace_back([&, t] {
        for (int i = 0; i < kEach; ++i) rec.record(t, "ok", "add", i);
      });
    for (auto& t : ts) t.join();
  }
  auto r = fj::read_history(f.path());
  ASSERT_TRUE(r.errors.empty());
  ASSERT_EQ(r.ops.size(), static_cast<size_t>(kThreads * kEach));
  std::vector<int> next(kThreads, 0);
  for (size_t i = 0; i < r.ops.size(); ++i) {
    EXPECT_EQ(r.ops[i].index, static_cast<int64_t>(i));
    if (i) {
      ASSERT_GE(r.ops[i].time, r.ops[i - 1].time) << i;
    }
    int t = r.ops[i].process.get<int>();
    ASSERT_EQ(r.ops[i].value, next[t]++) << "thread " << t << " out of order";
  }
}

TEST(History, ReportsCorruptLinesAndLoadsTheRest) {
  TempFile f("corrupt");
  f.write(
      "{\"index\":0,\"time\":1,\"process\":0,\"type\":\"invoke\",\"f\":\"r\",\"value\":null}\n"
      "this is not json\n"
      "{\"index\":2,\"time\":3,\"process\":0,\"type\":\"ok\",\"value\":1}\n"
      "\n"
      "{\"index\":3,\"time\":4,\"process\":1.5,\"type\":\"ok\",\"f\":\"r\",\"value\":1}\n"
      "{\"index\":4,\"time\":5,\"process\":0,\"type\":\"done\",\"f\":\"r\",\"value\":1}\n"
      "[1,2]\n"
      "{\"index\":5,\"time\":6,\"process\":\"nemesis\",\"type\":\"info\",\"f\":\"k\"}\n"
      "{\"index\":6,\"time\":7,\"process\":0,\"type\":\"inv");
  auto r = fj::read_history(f.path());
  ASSERT_EQ(r.ops.size(), 2u);
  EXPECT_EQ(r.ops[0].index, 0);
  EXPECT_EQ(r.ops[1].index, 5);
  EXPECT_TRUE(r.ops[1].value.is_null());  // a missing value is null
  std::vector<std::pair<size_t, std::string>> expected = {
      {2, "invalid JSON"},
      {3, "missing field 'f'"},
      {5, "process is neither an integer nor a string"},
      {6, "type is not one of invoke, ok, fail, info"},
      {7, "not a JSON object"},
      {9, "invalid JSON (truncated last line?)"}};
  EXPECT_EQ(r.errors, expected);
}

TEST(History, FastAndFullParsersAgree) {
  // Lines the fast path takes and lines it hands to nlohmann must read the same.
  std::vector<std::string> lines = {
      R"({"index":1,"time":2,"process":3,"type":"ok","f":"x","value":{"a":[1,2.5,-3e2,true,null],"b":"c"}})",
      R"({ "index" : 1 , "time":2,"process":"nemesis","type":"info","f":"x","value":"\u00fc\n"})",
      R"({"value":"ü","f":"x","type":"fail","process":0,"time":-5,"index":0,"error":"boom"})",
      R"({"index":1,"time":2,"process":3,"type":"ok","f":"x","value":123456789012345678901234})",
      R"({"index":1,"time":2,"process":3,"type":"ok","f":"x","value":18446744073709551615})",
      R"({"index":1,"time":2,"process":3,"type":"ok","f":"x","value":-0,"extra":{"k":[]}})",
      R"({"index":1,"time":2,"process":3,"type":"ok","f":"x","value":0.1e-5})"};
  TempFile f("agree");
  std::string all;
  for (const auto& l : lines) all += l + "\n";
  f.write(all);
  auto r = fj::read_history(f.path());
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].first << ": " << r.errors[0].second;
  ASSERT_EQ(r.ops.size(), lines.size());
  for (size_t i = 0; i < lines.size(); ++i)
    EXPECT_EQ(r.ops[i].to_json(), json::parse(lines[i])) << i;
  // Leading zeros and bare words are not JSON, whichever parser sees them.
  f.write(
      "{\"index\":01,\"time\":2,\"process\":3,\"type\":\"ok\",\"f\":\"x\",\"value\":1}\n"
      "{\"index\":1,\"time\":2,\"process\":3,\"type\":\"ok\",\"f\":\"x\",\"value\":nul}\n");
  r = fj::read_history(f.path());
  EXPECT_TRUE(r.ops.empty());
  EXPECT_EQ(r.errors.size(), 2u);
}

TEST(History, ReadsLargeFilesInParallelSlicesWithExactLineNumbers) {
  TempFile f("large");
  constexpr int kOps = 60000;  // > 4 MB: read in slices
  {
    fj::HistoryRecorder rec(f.path());
    for (int i = 0; i < kOps; ++i)
      rec.record(i % 2, i % 2 ? "ok" : "invoke", "job-running?",
                 json{{"job", "a1b2c3d4e5f60718293a4b5c6d7e8f90"}, {"pad", std::string(40, 'x')}});
  }
  // Break one line in the middle of the file.
  std::string text = f.text();
  ASSERT_GT(text.size(), 4u << 20);
  size_t pos = 0;
  for (int line = 1; line < 31234; ++line) pos = text.find('\n', pos) + 1;
  text[pos] = '#';
  f.write(text);
  auto r = fj::read_history(f.path());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].first, 31234u);
  ASSERT_EQ(r.ops.size(), static_cast<size_t>(kOps - 1));
  for (size_t i = 0; i < r.ops.size(); ++i)
    ASSERT_EQ(r.ops[i].index, static_cast<int64_t>(i < 31233 ? i : i + 1));
}

TEST(History, RefusesBadOpsAndRecordsAfterClose) {
  TempFile f("bad");
  fj::HistoryRecorder rec(f.path());
  EXPECT_THROW(rec.record(0, "done", "x", 1), std::invalid_argument);
  EXPECT_THROW(rec.record(1.5, "ok", "x", 1), std::invalid_argument);
  EXPECT_THROW(rec.record(0, "ok", "x", 1, {{"index", 3}}), std::invalid_argument);
  EXPECT_THROW(rec.record(0, "ok", "x", 1, json::array({1})), std::invalid_argument);
  EXPECT_EQ(rec.record(0, "ok", "x", 1), 0);  // refused ops take no index
  rec.close();
  EXPECT_TRUE(rec.closed());
  EXPECT_THROW(rec.record(0, "ok", "x", 1), std::logic_error);
  rec.close();  // idempotent
  EXPECT_EQ(fj::read_history(f.path()).ops.size(), 1u);
  EXPECT_THROW(fj::HistoryRecorder("/nonexistent-dir/h.jsonl"), std::runtime_error);
  EXPECT_THROW(fj::read_history("/nonexistent-dir/h.jsonl"), std::runtime_error);
}

TEST(History, KeepsOpsInMemoryWhenAsked) {
  TempFile f("memory");
  fj::HistoryRecorder rec(f.path(), true);
  rec.record(0, "invoke", "job-running?", "j1");
  rec.record(0, "fail", "job-running?", {{"job", "j1"}}, {{"error", "http 503"}});
  auto ops = rec.ops();
  rec.close();
  auto r = fj::read_history(f.path());
  ASSERT_EQ(ops.size(), 2u);
  ASSERT_EQ(r.ops.size(), 2u);
  for (size_t i = 0; i < 2; ++i) EXPECT_EQ(ops[i].to_json(), r.ops[i].to_json());
  EXPECT_EQ(ops[1].error(), "http 503");
  TempFile g("nomemory");
  fj::HistoryRecorder plain(g.path());
  plain.record(0, "invoke", "x", 1);
  EXPECT_TRUE(plain.ops().empty());
}

TEST(History, FlushAndThePeriodicWriterMakeLinesVisible) {
  TempFile f("flush");
  fj::HistoryRecorder rec(f.path(), false, 0.05);
  rec.record(0, "invoke", "x", 1);
  rec.flush();
  EXPECT_EQ(fj::read_history(f.path()).ops.size(), 1u);
  rec.record(0, "ok", "x", 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // no flush: the writer's tick
  EXPECT_EQ(fj::read_history(f.path()).ops.size(), 2u);
}

TEST(History, ReadsColumns) {
  TempFile f("columns");
  {
    fj::HistoryRecorder rec(f.path());
    rec.record(3, "invoke", "job-running?", "j1");
    rec.record(3, "ok", "job-running?", {{"running", true}});
    rec.record("nemesis", "info", "kill", nullptr, {{"error", "boom"}});
  }
  std::ofstream(f.path(), std::ios::app) << "garbage\n";
  auto c = fj::read_history_columns(f.path());
  ASSERT_EQ(c.index.size(), 3u);
  EXPECT_EQ(c.index, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(c.process, (std::vector<std::string>{"3", "3", "nemesis"}));
  EXPECT_EQ(c.type, (std::vector<std::string>{"invoke", "ok", "info"}));
  EXPECT_EQ(c.value, (std::vector<std::string>{"\"j1\"", "{\"running\":true}", "null"}));
  EXPECT_EQ(c.has_error, (std::vector<bool>{false, false, true}));
  EXPECT_EQ(c.error[2], "boom");
  EXPECT_LE(c.time[0], c.time[1]);
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_EQ(c.errors[0].first, 4u);
}

TEST(HistoryRecorderSync, AWriteErrorIsReportedBySyncAndClose) {
  fj::HistoryRecorder h("/dev/full", false, 60.0);
  h.record("p", "invoke", "f", nullptr);
  try {
    h.sync();
    FAIL() << "sync on a full disk did not throw";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot write history /dev/full"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(h.close(), std::runtime_error);
}
