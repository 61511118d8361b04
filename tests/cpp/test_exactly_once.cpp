#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "check/exactly_once.hpp"
#include "history/history.hpp"

namespace {

using fj::json;
using fj::OutputRecord;
using fj::SentRecord;
using fj::Validity;

class TempFile {
 public:
  explicit TempFile(const std::string& name)
      : path_((std::filesystem::temp_directory_path() /
               ("fj_eo_" + std::to_string(::getpid()) + "_" + name + ".jsonl"))
                  .string()) {}
  ~TempFile() { std::filesystem::remove(path_); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

  void write(const std::vector<std::string>& lines, bool last_newline = true) const {
    std::ofstream out(path_, std::ios::trunc | std::ios::binary);
    for (size_t i = 0; i < lines.size(); ++i)
      out << lines[i] << (i + 1 < lines.size() || last_newline ? "\n" : "");
  }
  std::vector<std::string> lines() const {
    std::ifstream in(path_);
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }
  /// Inserts a line so that it becomes line `number` (1-based).
  void insert(size_t number, const std::string& text) const {
    auto all = lines();
    all.insert(all.begin() + static_cast<ptrdiff_t>(number - 1), text);
    write(all);
  }

 private:
  std::string path_;
};

json records_json(const std::vector<SentRecord>& rs) {
  json v = json::array();
  for (const auto& r : rs) v.push_back({r.id, r.key, r.seq});
  return v;
}

json records_json(const std::vector<OutputRecord>& rs) {
  json v = json::array();
  for (const auto& r : rs) v.push_back({r.id, r.key, r.seq, r.count, r.prev_seq});
  return v;
}

// What the job writes when it sees `in` in this order exactly once: per key, count and prev_seq.
std::vector<OutputRecord> job(const std::vector<SentRecord>& in) {
  std::map<int64_t, std::pair<int64_t, int64_t>> state;  // key -> (count, last seq)
  std::vector<OutputRecord> out;
  for (const auto& r : in) {
    auto [it, fresh] = state.try_emplace(r.key, 0, -1);
    auto& [count, last] = it->second;
    out.push_back({r.id, r.key, r.seq, count + 1, last});
    ++count;
    last = r.seq;
  }
  return out;
}

// A workload history written through the recorder, as the harness writes it: every send and
// poll as an invoke and its completion, with a fault and an availability poll in between.
class Workload {
 public:
  explicit Workload(const std::string& name) : file_(name), rec_(file_.path()) {
    rec_.record("nemesis", "invoke", "kill-task-managers", nullptr);
    rec_.record("nemesis", "info", "kill-task-managers", "n3");
  }
  void send(const std::string& type, const std::vector<SentRecord>& records, int process = 0) {
    json v = records_json(records);
    rec_.record(process, "invoke", "send", v);
    rec_.record(process, type, "send", v, type == "ok" ? json() : json{{"error", "timeout"}});
  }
  void poll(const std::vector<OutputRecord>& records, int partition = 0, int process = 100) {
    rec_.record(process, "invoke", "poll", nullptr);
    rec_.record(process, "ok", "poll", records_json(records), {{"partition", partition}});
    rec_.record(7, "invoke", "job-running?", "a1b2");
    rec_.record(7, "ok", "job-running?", {{"job", "a1b2"}, {"running", true}});
  }
  void failed_poll(int process = 100) {
    rec_.record(process, "invoke", "poll", nullptr);
    rec_.record(process, "fail", "poll", nullptr, {{"error", "broker down"}});
  }
  /// Closes the history; its lines are final after this.
  const TempFile& file() {
    rec_.close();
    return file_;
  }
  int64_t lines() const { return rec_.size(); }
  fj::ExactlyOnceResult check(size_t max_examples = 5) {
    return fj::check_exactly_once(file().path(), max_examples);
  }

 private:
  TempFile file_;
  fj::HistoryRecorder rec_;
};

// Three keys: 10 (ids 0, 1, 2), 11 (ids 3, 4, 5), 12 (id 6 only), interleaved as sent.
std::vector<SentRecord> base_sends() {
  return {{0, 10, 0}, {1, 10, 1}, {3, 11, 0}, {2, 10, 2}, {4, 11, 1}, {5, 11, 2}, {6, 12, 0}};
}

// Output records of id in `out`.
OutputRecord& output_of(std::vector<OutputRecord>& out, int64_t id) {
  for (auto& o : out)
    if (o.id == id) return o;
  throw std::logic_error("no output record for id " + std::to_string(id));
}

void expect_only(const fj::ExactlyOnceResult& r, const std::string& kind) {
  EXPECT_EQ(r.lost.count, kind == "lost" ? 1u : 0u) << json(r).dump(2);
  EXPECT_EQ(r.duplicated.count, kind == "duplicated" ? 1u : 0u) << json(r).dump(2);
  EXPECT_EQ(r.unexpected.count, kind == "unexpected" ? 1u : 0u) << json(r).dump(2);
  EXPECT_EQ(r.order.count, kind == "order" ? 1u : 0u) << json(r).dump(2);
  EXPECT_EQ(r.state.count, kind == "state" ? 1u : 0u) << json(r).dump(2);
  EXPECT_EQ(r.valid, Validity::invalid);
  EXPECT_EQ(r.bad_line_count, 0u);
}

}  // namespace

TEST(ExactlyOnce, ACleanHistoryIsValid) {
  Workload w("clean");
  auto sends = base_sends();
  w.send("ok", {sends.begin(), sends.begin() + 4});
  w.send("ok", {sends.begin() + 4, sends.end()}, 1);
  auto out = job(sends);
  w.poll({out.begin(), out.begin() + 3}, 0);
  w.poll({out.begin() + 3, out.end()}, 1);
  w.poll({}, 2);  // an empty poll at the end of the drain
  auto r = w.check();
  EXPECT_EQ(r.valid, Validity::valid) << json(r).dump(2);
  EXPECT_EQ(r.reason, "");
  EXPECT_EQ(r.sent.ok, 7u);
  EXPECT_EQ(r.sent.info, 0u);
  EXPECT_EQ(r.sent.fail, 0u);
  EXPECT_EQ(r.polls_ok, 3u);
  EXPECT_EQ(r.read, 7u);
  EXPECT_EQ(r.distinct_read, 7u);
  EXPECT_EQ(r.lost.count + r.duplicated.count + r.unexpected.count + r.order.count + r.state.count,
            0u);
  EXPECT_EQ(r.bad_line_count, 0u);
}

TEST(ExactlyOnce, ALostRecordIsFlagged) {
  Workload w("lost");
  w.send("ok", base_sends());
  auto out = job(base_sends());
  out.pop_back();  // id 6, the only record of key 12: nothing else changes
  w.poll(out);
  auto r = w.check();
  expect_only(r, "lost");
  ASSERT_EQ(r.lost.examples.size(), 1u);
  EXPECT_EQ(r.lost.examples[0].id, 6);
  EXPECT_EQ(r.lost.examples[0].key, 12);
  EXPECT_EQ(r.lost.examples[0].seq, 0);
  EXPECT_EQ(r.read, 6u);
  EXPECT_EQ(r.reason, "records 1 lost");
}

TEST(ExactlyOnce, ADuplicateIsFlagged) {
  Workload w("duplicate");
  w.send("ok", base_sends());
  auto out = job(base_sends());
  // Id 5 (key 11, seq 2) processed again after a restore: the state moves on (count 4,
  // prev_seq 2), so only its seq repeats: a duplicate, and (by design) an order violation.
  out.push_back({5, 11, 2, 4, 2});
  w.poll(out);
  auto r = w.check();
  EXPECT_EQ(r.valid, Validity::invalid);
  EXPECT_EQ(r.duplicated.count, 1u);
  EXPECT_EQ(r.duplicated.extra_copies, 1u);
  ASSERT_EQ(r.duplicated.examples.size(), 1u);
  EXPECT_EQ(r.duplicated.examples[0].id, 5);
  EXPECT_EQ(r.duplicated.examples[0].copies, 2u);
  EXPECT_EQ(r.duplicated.examples[0].key, 11);
  EXPECT_EQ(r.duplicated.examples[0].positions, (std::vector<uint64_t>{5, 7}));
  EXPECT_EQ(r.order.count, 1u);
  ASSERT_EQ(r.order.examples.size(), 1u);
  EXPECT_EQ(r.order.examples[0].position, 7u);
  EXPECT_EQ(r.order.examples[0].previous_position, 5u);
  EXPECT_EQ(r.lost.count, 0u);
  EXPECT_EQ(r.unexpected.count, 0u);
  EXPECT_EQ(r.state.count, 0u);
  EXPECT_EQ(r.read, 8u);
  EXPECT_EQ(r.distinct_read, 7u);
}

TEST(ExactlyOnce, ARecordNeverSentIsUnexpected) {
  Workload w("never_sent");
  w.send("ok", base_sends());
  auto out = job(base_sends());
  out.push_back({100, 13, 0, 1, -1});
  w.poll(out);
  auto r = w.check();
  expect_only(r, "unexpected");
  EXPECT_EQ(r.unexpected.never_sent, 1u);
  ASSERT_EQ(r.unexpected.examples.size(), 1u);
  const auto& e = r.unexpected.examples[0];
  EXPECT_EQ(e.id, 100);
  EXPECT_EQ(e.key, 13);
  EXPECT_EQ(e.position, 7u);
  EXPECT_EQ(e.reason, fj::UnexpectedExample::Reason::never_sent);
  EXPECT_EQ(json(r)["unexpected"]["examples"][0]["reason"], "never-sent");
}

TEST(ExactlyOnce, ARecordWhoseFieldsDifferIsUnexpected) {
  Workload w("fields_differ");
  w.send("ok", base_sends());
  auto out = job(base_sends());
  output_of(out, 6).seq = 5;  // sent as seq 0 (still the first of key 12: state is fine)
  w.poll(out);
  auto r = w.check();
  expect_only(r, "unexpected");
  EXPECT_EQ(r.unexpected.fields_differ, 1u);
  ASSERT_EQ(r.unexpected.examples.size(), 1u);
  const auto& e = r.unexpected.examples[0];
  EXPECT_EQ(e.id, 6);
  EXPECT_EQ(e.seq, 5);
  EXPECT_EQ(e.sent_key, 12);
  EXPECT_EQ(e.sent_seq, 0);
  EXPECT_EQ(e.reason, fj::UnexpectedExample::Reason::fields_differ);
  json j = r;
  EXPECT_EQ(j["unexpected"]["examples"][0]["sent"], (json{{"key", 12}, {"seq", 0}}));
  EXPECT_EQ(r.lost.count, 0u);  // it did arrive
}

TEST(ExactlyOnce, AnOrderViolationIsFlagged) {
  Workload w("order");
  w.send("ok", base_sends());
  // The job saw key 10's seq 2 before seq 1: its state is consistent, the order is not.
  auto out =
      job({{0, 10, 0}, {2, 10, 2}, {1, 10, 1}, {3, 11, 0}, {4, 11, 1}, {5, 11, 2}, {6, 12, 0}});
  w.poll(out);
  auto r = w.check();
  expect_only(r, "order");
  ASSERT_EQ(r.order.examples.size(), 1u);
  const auto& e = r.order.examples[0];
  EXPECT_EQ(e.key, 10);
  EXPECT_EQ(e.id, 1);
  EXPECT_EQ(e.seq, 1);
  EXPECT_EQ(e.position, 2u);
  EXPECT_EQ(e.previous_id, 2);
  EXPECT_EQ(e.previous_seq, 2);
  EXPECT_EQ(e.previous_position, 1u);
}

TEST(ExactlyOnce, ACountThatGoesBackwardsIsAStateError) {
  Workload w("count_backwards");
  w.send("ok", base_sends());
  auto out = job(base_sends());
  output_of(out, 5).count = 1;  // key 11's third record, as if the state had been lost
  w.poll(out);
  auto r = w.check();
  expect_only(r, "state");
  EXPECT_EQ(r.state.count_backwards, 1u);
  EXPECT_EQ(r.state.count_skips, 0u);
  EXPECT_EQ(r.state.wrong_prev_seq, 0u);
  ASSERT_EQ(r.state.examples.size(), 1u);
  const auto& e = r.state.examples[0];
  EXPECT_EQ(e.key, 11);
  EXPECT_EQ(e.id, 5);
  EXPECT_EQ(e.expected_count, 3);
  EXPECT_EQ(e.found_count, 1);
  EXPECT_EQ(e.expected_prev_seq, 1);
  EXPECT_EQ(e.found_prev_seq, 1);
  EXPECT_EQ(json(r)["state"]["examples"][0]["problems"], json::array({"count-backwards"}));
}

TEST(ExactlyOnce, ACountThatSkipsIsAStateError) {
  Workload w("count_skips");
  w.send("ok", base_sends());
  auto out = job(base_sends());
  output_of(out, 5).count = 4;
  w.poll(out);
  auto r = w.check();
  expect_only(r, "state");
  EXPECT_EQ(r.state.count_skips, 1u);
  EXPECT_EQ(r.state.count_backwards, 0u);
  EXPECT_EQ(r.state.wrong_prev_seq, 0u);
  ASSERT_EQ(r.state.examples.size(), 1u);
  EXPECT_EQ(r.state.examples[0].id, 5);
  EXPECT_EQ(r.state.examples[0].expected_count, 3);
  EXPECT_EQ(r.state.examples[0].found_count, 4);
  EXPECT_EQ(json(r)["state"]["examples"][0]["problems"], json::array({"count-skips"}));
}

TEST(ExactlyOnce, AWrongPrevSeqIsAStateError) {
  Workload w("prev_seq");
  w.send("ok", base_sends());
  auto out = job(base_sends());
  output_of(out, 2).prev_seq = 0;  // key 10's seq 2 follows seq 1
  w.poll(out);
  auto r = w.check();
  expect_only(r, "state");
  EXPECT_EQ(r.state.wrong_prev_seq, 1u);
  EXPECT_EQ(r.state.count_backwards + r.state.count_skips, 0u);
  ASSERT_EQ(r.state.examples.size(), 1u);
  const auto& e = r.state.examples[0];
  EXPECT_EQ(e.key, 10);
  EXPECT_EQ(e.id, 2);
  EXPECT_EQ(e.position, 3u);
  EXPECT_EQ(e.expected_prev_seq, 1);
  EXPECT_EQ(e.found_prev_seq, 0);
  EXPECT_EQ(e.expected_count, e.found_count);
  EXPECT_EQ(json(r)["state"]["examples"][0]["problems"], json::array({"wrong-prev-seq"}));
}

TEST(ExactlyOnce, UnknownRecordsMayOrMayNotArrive) {
  Workload w("unknown");
  w.send("ok", base_sends());
  w.send("info", {{7, 13, 0}, {8, 14, 0}});
  auto sends = base_sends();
  sends.push_back({7, 13, 0});  // 8 never made it
  w.poll(job(sends));
  auto r = w.check();
  EXPECT_EQ(r.valid, Validity::valid) << json(r).dump(2);
  EXPECT_EQ(r.sent.ok, 7u);
  EXPECT_EQ(r.sent.info, 2u);
  EXPECT_EQ(r.unknown_delivered, 1u);
  EXPECT_EQ(r.unknown_missing, 1u);
  EXPECT_EQ(r.lost.count, 0u);
  EXPECT_EQ(r.unexpected.count, 0u);
}

TEST(ExactlyOnce, AFailedSendThatArrivesIsUnexpected) {
  Workload w("failed_send");
  w.send("ok", base_sends());
  w.send("fail", {{9, 15, 0}, {10, 16, 0}});
  auto sends = base_sends();
  sends.push_back({9, 15, 0});
  w.poll(job(sends));
  auto r = w.check();
  expect_only(r, "unexpected");
  EXPECT_EQ(r.sent.fail, 2u);
  EXPECT_EQ(r.unexpected.send_failed, 1u);
  ASSERT_EQ(r.unexpected.examples.size(), 1u);
  EXPECT_EQ(r.unexpected.examples[0].id, 9);
  EXPECT_EQ(r.unexpected.examples[0].reason, fj::UnexpectedExample::Reason::send_failed);
}

TEST(ExactlyOnce, NoAcknowledgedSendIsUnknown) {
  {
    Workload w("no_ack");
    w.send("info", {{0, 10, 0}});
    w.send("fail", {{1, 11, 0}});
    w.poll(job({{0, 10, 0}}));
    auto r = w.check();
    EXPECT_EQ(r.valid, Validity::unknown) << json(r).dump(2);
    EXPECT_NE(r.reason.find("no record was acknowledged"), std::string::npos) << r.reason;
    EXPECT_EQ(json(r)["valid"], "unknown");
  }
  {
    // Nothing acknowledged, but what was read is still wrong: that is an anomaly.
    Workload w("no_ack_dup");
    w.send("info", {{0, 10, 0}});
    auto out = job({{0, 10, 0}});
    out.push_back(out[0]);
    w.poll(out);
    auto r = w.check();
    EXPECT_EQ(r.valid, Validity::invalid);
    EXPECT_EQ(r.duplicated.count, 1u);
  }
}

TEST(ExactlyOnce, NoPollIsUnknown) {
  {
    Workload w("no_poll");
    w.send("ok", base_sends());
    w.failed_poll();
    auto r = w.check();
    EXPECT_EQ(r.valid, Validity::unknown);
    EXPECT_EQ(r.reason, "no poll completed ok: the output was never read (1 failed)");
    EXPECT_EQ(r.polls_failed, 1u);
    EXPECT_EQ(r.polls_ok, 0u);
  }
  {
    TempFile empty("empty");
    empty.write({});
    auto r = fj::check_exactly_once(empty.path());
    EXPECT_EQ(r.valid, Validity::unknown);
    EXPECT_EQ(r.sent.ok, 0u);
    EXPECT_EQ(r.read, 0u);
  }
}

TEST(ExactlyOnce, ACorruptLineIsReportedAndTheRestChecked) {
  {
    Workload w("corrupt_lost");
    w.send("ok", base_sends());  // lines 3, 4 (after the nemesis op)
    auto out = job(base_sends());
    out.pop_back();
    w.poll(out);  // lines 5-8
    const TempFile& f = w.file();
    f.insert(5, R"({"index":4,"time":99,"process":0,"type":"ok","f":"send","value":[[11,1)");
    auto r = fj::check_exactly_once(f.path());
    EXPECT_EQ(r.valid, Validity::invalid);
    EXPECT_EQ(r.bad_line_count, 1u);
    ASSERT_EQ(r.bad_lines.size(), 1u);
    EXPECT_EQ(r.bad_lines[0].line, 5u);
    EXPECT_EQ(r.bad_lines[0].error, "invalid JSON");
    EXPECT_EQ(r.lost.count, 1u);
    ASSERT_EQ(r.lost.examples.size(), 1u);
    EXPECT_EQ(r.lost.examples[0].id, 6);
    EXPECT_EQ(r.read, 6u);
    EXPECT_EQ(r.reason, "records 1 lost; 1 line(s) of the history could not be read");
  }
  {
    Workload w("corrupt_clean");
    w.send("ok", base_sends());
    w.poll(job(base_sends()));
    const TempFile& f = w.file();
    f.insert(2, "not json at all");
    auto r = fj::check_exactly_once(f.path());
    EXPECT_EQ(r.valid, Validity::unknown);
    ASSERT_EQ(r.bad_lines.size(), 1u);
    EXPECT_EQ(r.bad_lines[0].line, 2u);
    EXPECT_EQ(r.read, 7u);
    EXPECT_EQ(r.sent.ok, 7u);
    EXPECT_EQ(json(r)["bad_lines"][0], (json{{"line", 2}, {"error", "invalid JSON"}}));
  }
}

TEST(ExactlyOnce, ExamplesAreCappedAtMaxExamples) {
  Workload w("capped");
  std::vector<SentRecord> sends;
  for (int64_t id = 19; id >= 0; --id) sends.push_back({id, id, 0});  // one key per id
  w.send("ok", sends);
  auto out = job({sends.begin(), sends.begin() + 10});  // ids 19..10 arrive, 9..0 are lost
  for (int64_t id = 1003; id >= 1000; --id) out.push_back({id, id, 0, 1, -1});  // never sent
  w.poll(out);
  const TempFile& f = w.file();
  for (int i = 0; i < 4; ++i) f.insert(1, "{");
  auto r = fj::check_exactly_once(f.path(), 3);
  EXPECT_EQ(r.lost.count, 10u);
  ASSERT_EQ(r.lost.examples.size(), 3u);
  EXPECT_EQ(r.lost.examples[0].id, 0);  // smallest ids first
  EXPECT_EQ(r.lost.examples[1].id, 1);
  EXPECT_EQ(r.lost.examples[2].id, 2);
  EXPECT_EQ(r.unexpected.count, 4u);
  ASSERT_EQ(r.unexpected.examples.size(), 3u);
  EXPECT_EQ(r.unexpected.examples[0].id, 1000);  // smallest ids first, not first read
  EXPECT_EQ(r.unexpected.examples[0].position, 13u);
  EXPECT_EQ(r.unexpected.examples[2].id, 1002);
  EXPECT_EQ(r.bad_line_count, 4u);
  ASSERT_EQ(r.bad_lines.size(), 3u);
  EXPECT_EQ(r.bad_lines[2].line, 3u);
  EXPECT_EQ(r.bad_lines[2].error, "invalid JSON");
  EXPECT_EQ(fj::check_exactly_once(f.path()).lost.examples.size(), 5u);  // the default
  EXPECT_EQ(fj::check_exactly_once(f.path(), 0).lost.examples.size(), 0u);
}

TEST(ExactlyOnce, FieldOrderWhitespaceAndExtraFieldsDoNotMatter) {
  TempFile f("shapes");
  f.write({
      // value first, extra nested fields, spaces everywhere
      R"( { "value" : [ [0, 10, 0] , [ 1,10,1 ] ], "f" : "send", "type":"ok", "process": 0,)"
      R"( "time": 5, "index": 1, "extra": {"a": [1, 2.5e3, {"b": null}], "t": true} } )",
      "",
      R"({"index":2,"time":6,"process":"nemesis","type":"info","f":"start-partition","value":"n1"})",
      // escapes and non-ASCII text: through the generic parser
      "{\"index\":3,\"time\":9,\"process\":100,\"type\":\"ok\",\"f\":\"poll\",\"partition\":0,"
      "\"value\":[[0,10,0,1,-1]],\"note\":\"caf\\u00e9 \\\"quoted\\\" \xc3\xa9\"}\r",
      R"({"index":4,"time":9,"process":7,"type":"ok","f":"job-running?","value":{"job":"x"}})",
      R"({"type":"ok","f":"poll","value":[[1,10,1,2,0]]})",  // index, time, process not needed
  });
  auto r = fj::check_exactly_once(f.path());
  EXPECT_EQ(r.valid, Validity::valid) << json(r).dump(2);
  EXPECT_EQ(r.bad_line_count, 0u);
  EXPECT_EQ(r.sent.ok, 2u);
  EXPECT_EQ(r.read, 2u);
  EXPECT_EQ(r.polls_ok, 2u);
}

TEST(ExactlyOnce, WrongShapesAreBadLines) {
  TempFile f("bad_shapes");
  const std::string send_err =
      "send completion value is not a list of [id, key, seq] integer lists";
  const std::string poll_err =
      "poll completion value is not a list of [id, key, seq, count, prev_seq] integer lists";
  f.write(
      {
          R"({"index":0,"time":1,"process":0,"type":"ok","f":"send","value":[[1,2]]})",
          R"({"index":1,"time":1,"process":0,"type":"ok","f":"send","value":[[1,2]],"e":"\n"})",
          R"({"index":2,"time":1,"process":1,"type":"ok","f":"poll","value":null})",
          R"({"index":3,"time":1,"process":0,"type":"info","f":"send","value":[[1,2,3.5]]})",
          R"({"index":4,"time":1,"process":0,"type":"done","f":"send","value":[]})",
          R"({"index":5,"time":1,"process":0,"type":"ok","value":[]})",
          R"([1,2,3])",
          R"({"index":7,"time":1,"process":0,"type":"ok","f":"send","value":[[1,2,99999999999999999999]]})",
          R"({"index":8,"time":1,"process":0,"type":"ok","f":"send","value":[[0,10,0]]})",
          R"({"index":9,"time":1,"process":1,"type":"ok","f":"poll","value":[[0,10,0,1,-1]]})",
          R"({"type":"ok","f":"send","value":[[1,11,0],[2,12,0]]})",  // the shape is fine
          // A good record before a bad one: none of the line's records may stay.
          R"({"index":11,"time":1,"process":0,"type":"ok","f":"send","value":[[5,20,0],[6,2]]})",
          R"({"index":12,"time":1,"process":0,"type":"ok","f":"send","value":[[7,21,0],[8,2]],"e":"\n"})",
          R"({"index":13,"time":1,"process":1,"type":"ok","f":"poll","value":[[9,9,0,1,-1],[1,11,0,1]]})",
          R"({"index":10,"time":1,"process":0,"type":"ok","f":"send","val)",
      },
      false);
  auto r = fj::check_exactly_once(f.path(), 20);
  std::vector<std::pair<size_t, std::string>> want = {
      {1, send_err},
      {2, send_err},
      {3, poll_err},
      {4, send_err},
      {5, "type is not one of invoke, ok, fail, info"},
      {6, "missing field 'f'"},
      {7, "not a JSON object"},
      {8, send_err},
      {12, send_err},
      {13, send_err},
      {14, poll_err},
      {15, "invalid JSON (truncated last line?)"},
  };
  ASSERT_EQ(r.bad_lines.size(), want.size()) << json(r).dump(2);
  EXPECT_EQ(r.bad_line_count, want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(r.bad_lines[i].line, want[i].first);
    EXPECT_EQ(r.bad_lines[i].error, want[i].second) << "line " << want[i].first;
  }
  // Nothing of a bad line is kept: only lines 9, 10 and 11 count.
  EXPECT_EQ(r.sent.ok, 3u);
  EXPECT_EQ(r.read, 1u);
  EXPECT_EQ(r.lost.count, 2u);
  EXPECT_EQ(r.unexpected.count, 0u);
  EXPECT_EQ(r.polls_ok, 1u);
}

TEST(ExactlyOnce, CompactAndSpacedRecordsReadAlike) {
  // The recorder's compact lists take a fast path; anything else in the same list (spaces, a
  // 19-digit id, -0) the general one. Both must give the same records, and an invoke's value,
  // skipped, must still be JSON but need not have the records' shape.
  TempFile f("compact");
  f.write({
      R"({"index":0,"time":1,"process":0,"type":"invoke","f":"send","value":[[1,10,0],[2,10,1]]})",
      R"({"index":1,"time":1,"process":0,"type":"ok","f":"send","value":[[1,10,0],[ 2, 10 ,1 ],[-0,-7,0],[1234567890123456789,11,0]]})",
      // invokes that are JSON but not records: fine; one that is not JSON: a bad line
      R"({"index":2,"time":1,"process":0,"type":"invoke","f":"send","value":[[3,10,2],[4,2]]})",
      R"({"index":3,"time":1,"process":0,"type":"invoke","f":"send","value":[[3,10,2],{"a":1.5}]})",
      R"({"index":4,"time":1,"process":0,"type":"invoke","f":"send","value":[[3,10,2],]})",
      R"({"index":5,"time":1,"process":0,"type":"invoke","f":"send","value":[[3,10,2])",
      R"({"index":6,"time":1,"process":0,"type":"ok","f":"send","value":[[3,10,2],[01,1,1]]})",
      R"({"index":7,"time":1,"process":0,"type":"ok","f":"send","value":[[5,12,0]]})",
      R"({"index":8,"time":1,"process":1,"type":"ok","f":"poll","value":[[1,10,0,1,-1],[2,10,1,2,0],[0,-7,0,1,-1]]})",
      R"({"index":9,"time":1,"process":1,"type":"ok","f":"poll","value":[ [1234567890123456789, 11, 0, 1, -1] ,[5,12,0,1,-1],[5,12,0,1,-1]]})",
  });
  auto r = fj::check_exactly_once(f.path(), 20);
  std::vector<std::pair<size_t, std::string>> want = {
      {5, "invalid JSON"},
      {6, "invalid JSON"},
      {7, "invalid JSON"},
  };
  ASSERT_EQ(r.bad_lines.size(), want.size()) << json(r).dump(2);
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(r.bad_lines[i].line, want[i].first);
    EXPECT_EQ(r.bad_lines[i].error, want[i].second) << "line " << want[i].first;
  }
  EXPECT_EQ(r.sent.ok, 5u);  // 1, 2, 0 (as -0), 1234567890123456789, 5
  EXPECT_EQ(r.read, 6u);
  EXPECT_EQ(r.lost.count, 0u) << json(r).dump(2);
  EXPECT_EQ(r.unexpected.count, 0u) << json(r).dump(2);
  EXPECT_EQ(r.duplicated.count, 1u);
  ASSERT_EQ(r.duplicated.examples.size(), 1u);
  EXPECT_EQ(r.duplicated.examples[0].id, 5);
  EXPECT_EQ(r.order.count, 1u);
  EXPECT_EQ(r.state.count, 1u);
}

TEST(ExactlyOnce, ALargeCheckFindsWhatWasPlanted) {
  // Over a million output records: the walk over keys runs beside the join over ids. Planted:
  // 2 lost (their keys' next records skip), 3 duplicated right after themselves (each also out
  // of order and a state error), 1 never sent, 1 whose seq differs from what was sent.
  const int64_t n = 1'200'000, keys = 1000;
  fj::ExactlyOnceHistory h;
  std::vector<int64_t> next(keys, 0);
  for (int64_t id = 0; id < n; ++id) h.ok.push_back({id, id % keys, next[id % keys]++});
  h.read = job(h.ok);
  h.polls_ok = 1;
  for (int64_t id : {600'003, 1'000'001}) {  // lost: the job counted them, nobody read them
    auto at = std::find_if(h.read.begin(), h.read.end(), [&](auto& o) { return o.id == id; });
    h.read.erase(at);
  }
  for (size_t pos : {10u, 500'000u, 1'100'000u})
    h.read.insert(h.read.begin() + static_cast<ptrdiff_t>(pos + 1), h.read[pos]);
  h.read.push_back({n + 5, 7'777, 0, 1, -1});  // never sent, a key of its own
  h.read[20].seq += 1000;                      // differs from what was sent; its key's order holds
  auto r = fj::check_exactly_once(h);
  EXPECT_EQ(r.lost.count, 2u);
  ASSERT_EQ(r.lost.examples.size(), 2u);
  EXPECT_EQ(r.lost.examples[0].id, 600'003);
  EXPECT_EQ(r.duplicated.count, 3u);
  EXPECT_EQ(r.duplicated.extra_copies, 3u);
  EXPECT_EQ(r.unexpected.count, 2u);
  EXPECT_EQ(r.unexpected.never_sent, 1u);
  EXPECT_EQ(r.unexpected.fields_differ, 1u);
  EXPECT_EQ(r.order.count, 3u + 1u);  // the copies; and the record after the bumped seq
  EXPECT_EQ(r.state.count_skips, 2u);
  EXPECT_EQ(r.state.count, 2u + 3u + 1u);  // lost, copies, the prev_seq after the bumped seq
  EXPECT_EQ(r.read, static_cast<uint64_t>(n - 2 + 3 + 1));
  EXPECT_EQ(r.valid, Validity::invalid);
}

TEST(ExactlyOnce, SparseIdsAndKeysGiveTheSameResult) {
  // Every kind of anomaly at once, checked from memory with small ids and keys (tables indexed
  // by value) and with the same ones spread far apart (sorting).
  fj::ExactlyOnceHistory h;
  h.ok = base_sends();
  h.ok.push_back({20, 30, 0});  // lost
  h.ok.push_back({30, 5, 0});   // key 5 is read in the wrong order, after key 10's violation
  h.ok.push_back({31, 5, 1});
  h.info = {{7, 13, 0}, {8, 14, 0}};  // 7 arrives
  h.fail = {{9, 15, 0}};              // arrives: unexpected
  h.read = job({{0, 10, 0},
                {2, 10, 2},
                {1, 10, 1},
                {3, 11, 0},
                {4, 11, 1},
                {5, 11, 2},
                {6, 12, 0},
                {7, 13, 0},
                {9, 15, 0},
                {31, 5, 1},
                {30, 5, 0}});
  h.read.push_back({100, 16, 0, 1, -1});  // never sent
  h.read.push_back({4, 11, 1, 2, 0});     // duplicate of id 4: order, count backwards, prev_seq
  h.polls_ok = 1;
  auto dense = fj::check_exactly_once(h);

  const int64_t scale = 1'000'000'007;
  auto id = [&](int64_t v) { return v * scale - 3; };
  auto key = [&](int64_t v) { return v * scale * 1000 + 11; };
  for (auto* v : {&h.ok, &h.info, &h.fail})
    for (auto& s : *v) s.id = id(s.id), s.key = key(s.key);
  for (auto& o : h.read) o.id = id(o.id), o.key = key(o.key);
  auto sparse = fj::check_exactly_once(h);

  for (const auto* r : {&dense, &sparse}) {
    EXPECT_EQ(r->valid, Validity::invalid);
    EXPECT_EQ(r->lost.count, 1u);
    EXPECT_EQ(r->duplicated.count, 1u);
    EXPECT_EQ(r->unexpected.count, 2u);
    EXPECT_EQ(r->unexpected.never_sent, 1u);
    EXPECT_EQ(r->unexpected.send_failed, 1u);
    EXPECT_EQ(r->order.count, 3u);  // key 10's seq 1 after 2, key 5's 0 after 1, id 4's copy
    EXPECT_EQ(r->state.count, 1u);  // the copy: count 2 after 3, prev_seq 0 after 2
    EXPECT_EQ(r->state.count_backwards, 1u);
    EXPECT_EQ(r->state.wrong_prev_seq, 1u);
    EXPECT_EQ(r->unknown_delivered, 1u);
    EXPECT_EQ(r->unknown_missing, 1u);
    EXPECT_EQ(r->sent.ok, 10u);
    EXPECT_EQ(r->distinct_read, 12u);
    EXPECT_EQ(r->read, 13u);
    ASSERT_EQ(r->order.examples.size(), 3u);
    EXPECT_EQ(r->order.examples[0].position, 2u);  // first read first, whatever the key
    EXPECT_EQ(r->order.examples[1].position, 10u);
    EXPECT_EQ(r->order.examples[2].position, 12u);
    ASSERT_EQ(r->state.examples.size(), 1u);
    EXPECT_EQ(r->state.examples[0].position, 12u);
  }
  EXPECT_EQ(dense.lost.examples[0].id, 20);
  EXPECT_EQ(sparse.lost.examples[0].id, id(20));
  ASSERT_EQ(sparse.unexpected.examples.size(), 2u);
  EXPECT_EQ(sparse.unexpected.examples[0].id, id(9));  // smallest id first
  EXPECT_EQ(sparse.unexpected.examples[1].id, id(100));
  EXPECT_EQ(sparse.order.examples[1].key, key(5));
  EXPECT_EQ(sparse.state.examples[0].key, key(11));
  EXPECT_EQ(sparse.state.examples[0].expected_count, 4);
  EXPECT_EQ(sparse.duplicated.examples[0].positions, dense.duplicated.examples[0].positions);
  EXPECT_EQ(dense.duplicated.examples[0].positions, (std::vector<uint64_t>{4, 12}));
}

TEST(ExactlyOnce, AResentIdCountsOnceAsItsBestOutcome) {
  Workload w("resent");
  w.send("info", {{6, 12, 0}});
  w.send("ok", base_sends());    // 6 again, acknowledged this time
  w.send("fail", {{6, 12, 0}});  // and once more, failed: it stays acknowledged
  w.poll(job(base_sends()));
  auto r = w.check();
  EXPECT_EQ(r.valid, Validity::valid) << json(r).dump(2);
  EXPECT_EQ(r.sent.ok, 7u);
  EXPECT_EQ(r.sent.info, 0u);
  EXPECT_EQ(r.sent.fail, 0u);
  EXPECT_EQ(r.sent.resent, 2u);
}

TEST(ExactlyOnce, AResentIdKeepsItsBestOutcomeAndItsFirstSend) {
  // From memory, with ids in a range and spread out (both ways of joining ids): id 3 also sent
  // with outcomes fail and info, id 6 acknowledged twice with different fields (a harness bug):
  // the output is compared with the first.
  fj::ExactlyOnceHistory h;
  h.fail = {{3, 11, 0}};
  h.info = {{3, 11, 0}};
  h.ok = base_sends();
  h.ok.push_back({6, 12, 7});
  h.read = job(base_sends());
  h.polls_ok = 1;
  for (int64_t scale : {int64_t{1}, int64_t{1'000'000'000'000}}) {
    auto s = h;
    for (auto* v : {&s.ok, &s.info, &s.fail})
      for (auto& x : *v) x.id *= scale;
    for (auto& o : s.read) o.id *= scale;
    auto r = fj::check_exactly_once(s);
    EXPECT_EQ(r.valid, Validity::valid) << json(r).dump(2);
    EXPECT_EQ(r.sent.ok, 7u);
    EXPECT_EQ(r.sent.info, 0u);
    EXPECT_EQ(r.sent.fail, 0u);
    EXPECT_EQ(r.sent.resent, 3u);
  }
}

TEST(ExactlyOnce, ALargeHistoryIsReadInSlicesInOrder) {
  // Large enough (about 6.6 MB) to be read in slices on a multi-core machine: the records must
  // come back in file order and bad lines with their line numbers in the whole file.
  Workload w("large");
  const int64_t n = 120000, batch = 100, keys = 97;
  std::vector<SentRecord> sends;
  std::vector<int64_t> next(keys, 0);
  for (int64_t id = 0; id < n; ++id) sends.push_back({id, id % keys, next[id % keys]++});
  for (int64_t b = 0; b < n; b += batch)
    w.send("ok", {sends.begin() + b, sends.begin() + b + batch}, static_cast<int>(b / batch % 4));
  auto out = job(sends);
  // Lost late in the file; the job did count it, so the next record of its key skips it.
  const int64_t lost = n - 500;
  out.erase(out.begin() + lost);
  for (size_t b = 0; b < out.size(); b += 1000)
    w.poll({out.begin() + static_cast<ptrdiff_t>(b),
            out.begin() + static_cast<ptrdiff_t>(std::min(out.size(), b + 1000))});
  int64_t lines = w.lines();
  const TempFile& f = w.file();
  { std::ofstream(f.path(), std::ios::app) << "{\"index\":\n"; }
  ASSERT_GT(std::filesystem::file_size(f.path()), 4u << 20);  // read in slices above 4 MB
  auto r = fj::check_exactly_once(f.path());
  EXPECT_EQ(r.sent.ok, static_cast<uint64_t>(n));
  EXPECT_EQ(r.read, static_cast<uint64_t>(n - 1));
  EXPECT_EQ(r.lost.count, 1u);
  ASSERT_EQ(r.lost.examples.size(), 1u);
  EXPECT_EQ(r.lost.examples[0].id, lost);
  EXPECT_EQ(r.order.count, 0u);
  EXPECT_EQ(r.state.count, 1u);
  EXPECT_EQ(r.state.count_skips, 1u);
  EXPECT_EQ(r.state.wrong_prev_seq, 1u);
  ASSERT_EQ(r.state.examples.size(), 1u);
  EXPECT_EQ(r.state.examples[0].id, lost + keys);
  EXPECT_EQ(r.state.examples[0].position, static_cast<uint64_t>(lost + keys - 1));
  ASSERT_EQ(r.bad_lines.size(), 1u);
  EXPECT_EQ(r.bad_lines[0].line, static_cast<size_t>(lines + 1));
  EXPECT_EQ(r.unexpected.count + r.duplicated.count, 0u);
}

TEST(ExactlyOnce, TheResultAsJson) {
  fj::ExactlyOnceHistory h;
  h.ok = base_sends();
  h.read = job(base_sends());
  h.read.erase(h.read.begin() + 6);       // id 6 lost
  h.read[5].count = 1;                    // id 5: count backwards
  h.read.push_back({100, 13, 0, 1, -1});  // never sent
  h.polls_ok = 2;
  h.bad_line_count = 1;
  h.bad_lines = {{4, "invalid JSON"}};
  json j = fj::check_exactly_once(h);
  EXPECT_EQ(j["valid"], false);
  EXPECT_EQ(j["reason"],
            "records 1 lost, 1 unexpected, 1 with wrong state; 1 line(s) of the history could "
            "not be read");
  EXPECT_EQ(j["sent"], (json{{"ok", 7}, {"info", 0}, {"fail", 0}, {"resent", 0}}));
  EXPECT_EQ(j["polls"], (json{{"ok", 2}, {"failed", 0}}));
  EXPECT_EQ(j["read"], 7);
  EXPECT_EQ(j["distinct_read"], 7);
  EXPECT_EQ(j["unknown_delivered"], 0);
  EXPECT_EQ(j["unknown_missing"], 0);
  EXPECT_EQ(j["lost"], (json{{"count", 1}, {"examples", {{{"id", 6}, {"key", 12}, {"seq", 0}}}}}));
  EXPECT_EQ(j["duplicated"],
            (json{{"count", 0}, {"extra_copies", 0}, {"examples", json::array()}}));
  EXPECT_EQ(j["unexpected"]["count"], 1);
  EXPECT_EQ(
      j["unexpected"]["examples"][0],
      (json{{"id", 100}, {"key", 13}, {"seq", 0}, {"position", 6}, {"reason", "never-sent"}}));
  EXPECT_EQ(j["order"], (json{{"count", 0}, {"examples", json::array()}}));
  EXPECT_EQ(j["state"]["count"], 1);
  EXPECT_EQ(j["state"]["examples"][0], (json{{"key", 11},
                                             {"id", 5},
                                             {"seq", 2},
                                             {"position", 5},
                                             {"problems", {"count-backwards"}},
                                             {"count", {{"expected", 3}, {"found", 1}}},
                                             {"prev_seq", {{"expected", 1}, {"found", 1}}}}));
  EXPECT_EQ(j["anomaly_types"], (json{{"lost", 1}, {"unexpected", 1}, {"state", 1}}));
  EXPECT_EQ(j["bad_line_count"], 1);
  EXPECT_EQ(j["bad_lines"], (json{{{"line", 4}, {"error", "invalid JSON"}}}));

  fj::ExactlyOnceHistory clean;
  clean.ok = base_sends();
  clean.read = job(base_sends());
  clean.polls_ok = 1;
  json v = fj::check_exactly_once(clean);
  EXPECT_EQ(v["valid"], true);
  EXPECT_TRUE(v["reason"].is_null());
  EXPECT_EQ(v["anomaly_types"], json::object());
}

TEST(ExactlyOnce, AMissingFileThrows) {
  EXPECT_THROW(fj::check_exactly_once(std::string("/nonexistent/history.jsonl")),
               std::runtime_error);
}
