#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "history/columns.hpp"
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

// Every row's text of a column.
std::vector<std::string> texts(const fj::TextColumn& column) {
  std::vector<std::string> out;
  for (size_t i = 0; i < column.codes.size(); ++i) out.emplace_back(column.at(i));
  return out;
}

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
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c.index, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(texts(c.process), (std::vector<std::string>{"3", "3", "nemesis"}));
  EXPECT_EQ(texts(c.type), (std::vector<std::string>{"invoke", "ok", "info"}));
  EXPECT_EQ(texts(c.value), (std::vector<std::string>{"\"j1\"", "{\"running\":true}", "null"}));
  EXPECT_EQ(c.process.texts, (std::vector<std::string>{"3", "nemesis"}));  // distinct, in order
  EXPECT_EQ(c.process.codes, (std::vector<int32_t>{0, 0, 1}));
  EXPECT_FALSE(c.error.has(0));
  EXPECT_FALSE(c.error.has(1));
  EXPECT_TRUE(c.error.has(2));
  EXPECT_EQ(c.error.at(2), "boom");
  EXPECT_LE(c.time[0], c.time[1]);
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_EQ(c.errors[0].first, 4u);
}

// The columns the general reader's ops give: what read_history_columns must equal, whichever of
// its paths (the recorder's own form, or the general reader) takes a line.
void expect_columns_match_ops(const fj::HistoryColumns& c, const fj::ReadResult& r) {
  ASSERT_EQ(c.errors, r.errors);
  ASSERT_EQ(c.size(), r.ops.size());
  for (size_t i = 0; i < r.ops.size(); ++i) {
    const fj::Op& op = r.ops[i];
    std::string value;
    fj::append_value_json(value, op.value);
    bool has_error =
        op.extra.is_object() && op.extra.contains("error") && !op.extra["error"].is_null();
    ASSERT_EQ(c.index[i], op.index) << "row " << i;
    ASSERT_EQ(c.time[i], op.time) << "row " << i;
    ASSERT_EQ(c.process.at(i),
              op.process.is_string() ? op.process.get<std::string>() : op.process.dump())
        << "row " << i;
    ASSERT_EQ(c.type.at(i), op.type) << "row " << i;
    ASSERT_EQ(c.f.at(i), op.f) << "row " << i;
    ASSERT_EQ(c.value.at(i), value) << "row " << i;
    ASSERT_EQ(c.error.has(i), has_error) << "row " << i;
    ASSERT_EQ(c.error.at(i), op.error()) << "row " << i;
  }
  for (const fj::TextColumn* col : {&c.process, &c.type, &c.f, &c.value, &c.error}) {
    std::vector<std::string> distinct = col->texts;
    std::sort(distinct.begin(), distinct.end());
    EXPECT_EQ(std::adjacent_find(distinct.begin(), distinct.end()), distinct.end())
        << "a text twice among a column's texts";
  }
}

TEST(HistoryColumns, OddLinesReadAsTheGeneralReaderReadsThem) {
  TempFile f("columns_odd");
  f.write(
      // the recorder's own form
      R"({"index":0,"time":10,"process":0,"type":"invoke","f":"job-running?","value":"j1"})"
      "\n"
      R"({"index":1,"time":11,"process":0,"type":"ok","f":"job-running?","value":{"job":"j1","running":true}})"
      "\n"
      // unsorted keys, whitespace, floats, escapes and unicode in the value: rewritten
      R"({"index":2,"time":12,"process":0,"type":"ok","f":"job-running?","value":{"running":true,"job":"j1"}})"
      "\n"
      R"({"index":3,"time":13,"process":0,"type":"ok","f":"job-running?","value":{ "job" : "j1" }})"
      "\n"
      R"({"index":4,"time":14,"process":"nemesis","type":"info","f":"start-clock","value":{"offset":2.50,"big":1e3}})"
      "\n"
      R"({"index":5,"time":15,"process":"nemesis","type":"info","f":"kill","value":"n\u00e9ud \"3\"\n"})"
      "\n"
      "{\"index\":6,\"time\":16,\"process\":\"n\xc3\xa9mesis\",\"type\":\"info\",\"f\":"
      "\"k\xc3\xbcll\","
      "\"value\":\"\xe2\x9c\x93\"}\n"
      // integers the recorder would write otherwise, a DEL, a duplicate key (the last one wins)
      R"({"index":7,"time":17,"process":1,"type":"ok","f":"x","value":[-0,123456789012345678901]})"
      "\n"
      "{\"index\":8,\"time\":18,\"process\":1,\"type\":\"ok\",\"f\":\"x\",\"value\":\"a\x7f\"}\n"
      R"({"index":9,"time":19,"process":1,"type":"ok","f":"x","value":1,"value":2})"
      "\n"
      // missing value, fail and info with errors (string, object, null), other extra fields
      R"({"index":10,"time":20,"process":2,"type":"fail","f":"job-running?","error":"connect: refused"})"
      "\n"
      R"({"type":"info","f":"x","process":2,"time":21,"index":11,"value":null,"error":{"code":7}})"
      "\n"
      R"({"index":12,"time":22,"process":2,"type":"fail","f":"x","value":[],"error":null,"node":"n1"})"
      "\n"
      R"({"index":13,"time":23,"process":2,"type":"info","f":"x","value":{},"error":"caf\u00e9"})"
      "\n"
      "   \n"
      // bad lines: not JSON, missing f, bad type, bad process, not an object
      "not json\n"
      R"({"index":14,"time":24,"process":0,"type":"ok","value":1})"
      "\n"
      R"({"index":15,"time":25,"process":0,"type":"done","f":"x","value":1})"
      "\n"
      R"({"index":16,"time":26,"process":[0],"type":"ok","f":"x","value":1})"
      "\n"
      "[1,2]\n"
      R"({"index":17,"time":27,"process":0,"type":"ok","f":"job-running?","value":"j1"})"
      "\n"
      // a torn last line
      R"({"index":18,"time":28,"process":0,"type":"ok","f":"job-running?","val)");
  auto c = fj::read_history_columns(f.path());
  auto r = fj::read_history(f.path());
  ASSERT_EQ(r.ops.size(), 15u);
  ASSERT_EQ(r.errors.size(), 6u);
  EXPECT_EQ(r.errors.back(),
            (std::pair<size_t, std::string>{22, "invalid JSON (truncated last line?)"}));
  expect_columns_match_ops(c, r);
  // Spot checks that do not lean on the general reader.
  EXPECT_EQ(c.value.at(2), R"({"job":"j1","running":true})");
  EXPECT_EQ(c.value.codes[1], c.value.codes[2]);  // one text, one code
  EXPECT_EQ(c.value.at(3), R"({"job":"j1"})");
  EXPECT_EQ(c.value.at(4), R"({"big":1000.0,"offset":2.5})");
  EXPECT_EQ(c.value.at(5), "\"n\xc3\xa9ud \\\"3\\\"\\n\"");
  EXPECT_EQ(c.process.at(6), "n\xc3\xa9mesis");
  EXPECT_EQ(c.f.at(6), "k\xc3\xbcll");
  EXPECT_EQ(c.value.at(7), "[0,123456789012345683968.0]");  // too big: a float
  EXPECT_EQ(c.value.at(9), "2");
  EXPECT_EQ(c.value.at(10), "null");
  EXPECT_EQ(c.error.at(10), "connect: refused");
  EXPECT_EQ(c.error.at(11), R"({"code":7})");
  EXPECT_FALSE(c.error.has(12));
  EXPECT_EQ(c.error.at(13), "caf\xc3\xa9");
  EXPECT_EQ(c.index.back(), 17);
}

TEST(HistoryColumns, LargeFilesInSlicesKeepOrderLinesAndCodes) {
  TempFile f("columns_large");
  constexpr int kOps = 60000;  // > 4 MB: read in slices
  {
    fj::HistoryRecorder rec(f.path());
    for (int i = 0; i < kOps; ++i) {
      json value = {{"job", "job" + std::to_string(i % 3)}, {"pad", std::string(40, 'x')}};
      if (i % 7 == 0) value["n"] = i;  // distinct texts too
      if (i % 11 == 0)
        rec.record(i % 2, "fail", "job-running?", value, {{"error", "e" + std::to_string(i % 4)}});
      else
        rec.record(i % 2, i % 2 ? "ok" : "invoke", "job-running?", value);
    }
  }
  std::string text = f.text();
  ASSERT_GT(text.size(), 4u << 20);
  // Break a line on each side of the middle, and rewrite one in a form the recorder does not
  // write (its keys in another order).
  std::vector<size_t> starts{0};
  for (size_t p = text.find('\n'); p != std::string::npos && p + 1 < text.size();
       p = text.find('\n', p + 1))
    starts.push_back(p + 1);
  text[starts[20000]] = '#';
  text[starts[45000]] = '#';
  size_t a = starts[40000], b = starts[40001] - 1;
  json moved = json::parse(text.substr(a, b - a));
  text.replace(a, b - a, moved.dump(1));  // indented: spaces, sorted keys
  std::replace(text.begin() + static_cast<ptrdiff_t>(a),
               text.begin() + static_cast<ptrdiff_t>(a + moved.dump(1).size()), '\n', ' ');
  f.write(text);
  auto c = fj::read_history_columns(f.path());
  auto r = fj::read_history(f.path());
  ASSERT_EQ(r.errors.size(), 2u);
  EXPECT_EQ(r.errors[0].first, 20001u);
  EXPECT_EQ(r.errors[1].first, 45001u);
  expect_columns_match_ops(c, r);
  EXPECT_EQ(c.f.texts, (std::vector<std::string>{"job-running?"}));
  EXPECT_EQ(c.process.texts, (std::vector<std::string>{"0", "1"}));
  EXPECT_EQ(c.type.texts, (std::vector<std::string>{"fail", "ok", "invoke"}));
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
