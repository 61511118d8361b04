#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "check/availability.hpp"
#include "history/history.hpp"
#include "loopback_server.hpp"
#include "poll/poller.hpp"

namespace {

using fj::json;
using fj_test::ServerReply;

// Flink's GET /jobs/<id>: two vertices of parallelism 2.
std::string job_json(const std::string& id, const std::string& state,
                     const std::string& vertex1 = "RUNNING",
                     const std::string& vertex2 = "RUNNING") {
  // "PARTLY": Flink's vertex status is RUNNING as soon as one of its subtasks runs.
  auto vertex = [](const std::string& name, std::string status) {
    int running = status == "RUNNING" ? 2 : status == "PARTLY" ? 1 : 0;
    if (status == "PARTLY") status = "RUNNING";
    return json{{"id", name},
                {"name", name},
                {"parallelism", 2},
                {"status", status},
                {"tasks", {{"RUNNING", running}, {"DEPLOYING", 2 - running}, {"CANCELED", 0}}}};
  };
  return json{{"jid", id},
              {"name", "job " + id},
              {"state", state},
              {"vertices", {vertex("source", vertex1), vertex("sink", vertex2)}}}
      .dump();
}

// A fake Flink REST server: each job behaves as its mode says; PATCH cancels.
class FakeFlink {
 public:
  FakeFlink() {
    server_ = fj_test::start_loopback_server(
        [this](const std::string& method, const std::string& target) {
          return answer(method, target);
        });
  }
  void set(const std::string& job, const std::string& mode) {
    std::lock_guard lk(mu_);
    modes_[job] = mode;
  }
  std::string endpoint() const {
    return "127.0.0.1:" + std::to_string(fj_test::loopback_port(*server_));
  }
  std::vector<std::string> requests() const { return fj_test::loopback_requests(*server_); }

 private:
  ServerReply answer(const std::string& method, const std::string& target) {
    std::string path = target.substr(0, target.find('?'));
    if (path.rfind("/jobs/", 0) != 0) return {404, R"({"errors":["Not found."]})"};
    std::string id = path.substr(6);
    std::lock_guard lk(mu_);
    auto it = modes_.find(id);
    std::string mode = it == modes_.end() ? "404" : it->second;
    if (method == "PATCH") {
      if (mode == "404") return {404, R"({"errors":["Job could not be found."]})"};
      modes_[id] = "canceled";
      return {202, "{}"};
    }
    if (mode == "running") return {200, job_json(id, "RUNNING")};
    if (mode == "restarting") return {200, job_json(id, "RESTARTING", "CANCELING", "CANCELED")};
    if (mode == "deploying") return {200, job_json(id, "RUNNING", "RUNNING", "DEPLOYING")};
    if (mode == "partly") return {200, job_json(id, "RUNNING", "RUNNING", "PARTLY")};
    if (mode == "canceled") return {200, job_json(id, "CANCELED", "CANCELED", "CANCELED")};
    if (mode == "503") return {503, R"({"errors":["ongoing leader election"]})"};
    if (mode == "garbage") return {200, "<html>proxy</html>"};
    if (mode == "slow") {
      ServerReply r{200, job_json(id, "RUNNING")};
      r.delay_s = 1.0;
      return r;
    }
    if (mode == "chunked") {
      ServerReply r{200, job_json(id, "RUNNING")};
      r.chunked = true;
      return r;
    }
    return {404, R"({"errors":["Job could not be found."]})"};
  }

  std::mutex mu_;
  std::map<std::string, std::string> modes_;
  std::shared_ptr<fj_test::LoopbackServer> server_;
};

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("fj_poller_" + std::to_string(::getpid()) + "_" + name + ".jsonl"))
      .string();
}

void sleep_s(double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); }

// Completed ops of one process, checking Jepsen's rule on the way: an invoke, then its
// completion, never two invokes in flight.
std::vector<fj::Op> completions(const std::vector<fj::Op>& ops, int process,
                                const std::string& f = "job-running?") {
  std::vector<fj::Op> out;
  const fj::Op* open = nullptr;
  for (const auto& op : ops) {
    if (op.process != json(process)) continue;
    if (op.type == "invoke") {
      EXPECT_EQ(open, nullptr) << "two invokes in flight on process " << process << " at "
                               << op.index;
      open = &op;
    } else {
      EXPECT_NE(open, nullptr) << "completion without invoke at " << op.index;
      if (open) {
        EXPECT_EQ(open->f, op.f);
      }
      open = nullptr;
      if (op.f == f) out.push_back(op);
    }
  }
  return out;
}

}  // namespace

TEST(Poller, ParsesFlinkJobDetails) {
  fj::JobStatus st;
  std::string error;
  ASSERT_TRUE(fj::parse_job_status(job_json("a", "RUNNING"), st, error));
  EXPECT_TRUE(st.running);
  EXPECT_EQ(st.state, "RUNNING");
  EXPECT_EQ(st.vertices, 2);
  EXPECT_EQ(st.vertices_running, 2);
  EXPECT_EQ(st.tasks_running, 4);
  EXPECT_EQ(st.parallelism_total, 4);
  ASSERT_TRUE(fj::parse_job_status(job_json("a", "RUNNING", "RUNNING", "DEPLOYING"), st, error));
  EXPECT_FALSE(st.running);  // the job says RUNNING, but not every vertex does
  EXPECT_EQ(st.vertices_running, 1);
  EXPECT_EQ(st.tasks_running, 2);
  ASSERT_TRUE(fj::parse_job_status(job_json("a", "RUNNING", "RUNNING", "PARTLY"), st, error));
  EXPECT_FALSE(st.running);  // every vertex says RUNNING, but one subtask of two is not
  EXPECT_EQ(st.vertices_running, 2);
  EXPECT_EQ(st.tasks_running, 3);
  ASSERT_TRUE(fj::parse_job_status(job_json("a", "FAILING"), st, error));
  EXPECT_FALSE(st.running);  // every vertex RUNNING, but the job is not
  EXPECT_FALSE(fj::parse_job_status("<html>", st, error));
  EXPECT_EQ(error, "invalid JSON answer");
  EXPECT_FALSE(fj::parse_job_status(R"({"jid":"a"})", st, error));
  EXPECT_EQ(error, "answer without job state");
}

TEST(Poller, NormalizesEndpoints) {
  EXPECT_EQ(fj::normalize_endpoint("n1:8081"), "n1:8081");
  EXPECT_EQ(fj::normalize_endpoint("http://n2:8081/"), "n2:8081");
  EXPECT_EQ(fj::normalize_endpoint("[::1]:8081"), "[::1]:8081");
  EXPECT_THROW(fj::normalize_endpoint("n1"), std::invalid_argument);
  EXPECT_THROW(fj::normalize_endpoint("n1:http"), std::invalid_argument);
  EXPECT_THROW(fj::normalize_endpoint("https://n1:8081"), std::invalid_argument);
  EXPECT_THROW(fj::normalize_endpoint("::1:8081"), std::invalid_argument);
  EXPECT_THROW(fj::normalize_endpoint("n1:70000"), std::invalid_argument);
}

TEST(Poller, RecordsRunningNotRunningAndFailedPolls) {
  FakeFlink flink;
  flink.set("aaaa", "running");
  flink.set("bbbb", "restarting");
  flink.set("dddd", "503");
  flink.set("eeee", "garbage");
  flink.set("ffff", "chunked");
  auto path = temp_path("kinds");
  auto rec = std::make_shared<fj::HistoryRecorder>(path, true);
  {
    fj::AvailabilityPoller p(rec, {flink.endpoint()}, 0.05, 2.0);
    for (auto id : {"aaaa", "bbbb", "cccc", "dddd", "eeee", "ffff"}) p.add_job(id);
    p.start();
    sleep_s(0.4);
    p.stop();
  }
  auto ops = rec->ops();
  std::string ep = flink.endpoint();

  auto a = completions(ops, 0);
  ASSERT_GE(a.size(), 3u);
  EXPECT_EQ(a[0].type, "ok");
  EXPECT_EQ(a[0].value, (json{{"job", "aaaa"},
                              {"running", true},
                              {"state", "RUNNING"},
                              {"vertices", 2},
                              {"vertices_running", 2},
                              {"tasks_running", 4},
                              {"parallelism_total", 4},
                              {"endpoint", ep}}));
  auto b = completions(ops, 1);
  ASSERT_FALSE(b.empty());
  EXPECT_EQ(b[0].type, "ok");
  EXPECT_EQ(b[0].value["running"], false);
  EXPECT_EQ(b[0].value["state"], "RESTARTING");
  EXPECT_EQ(b[0].value["vertices_running"], 0);

  auto expect_fail = [&](int process, const std::string& error) {
    auto c = completions(ops, process);
    ASSERT_FALSE(c.empty());
    for (const auto& op : c) {
      EXPECT_EQ(op.type, "fail");
      EXPECT_EQ(op.error(), error);
    }
  };
  auto c = completions(ops, 2);  // 404: an answer, as in the original (not running)
  ASSERT_FALSE(c.empty());
  EXPECT_EQ(c[0].type, "ok");
  EXPECT_EQ(c[0].value["running"], false);
  EXPECT_EQ(c[0].value["state"], "NOT_FOUND");
  expect_fail(3, "http 503");
  expect_fail(4, "invalid JSON answer");
  auto f = completions(ops, 5);
  ASSERT_FALSE(f.empty());
  EXPECT_EQ(f[0].value["running"], true);

  // Invokes carry the job id; the file holds what memory holds.
  for (const auto& op : ops)
    if (op.type == "invoke") {
      EXPECT_TRUE(op.value.is_string());
    }
  rec->close();
  auto r = fj::read_history(path);
  EXPECT_TRUE(r.errors.empty());
  EXPECT_EQ(r.ops.size(), ops.size());
  std::filesystem::remove(path);
}

TEST(Poller, SustainsTenHertzPerJob) {
  FakeFlink flink;
  flink.set("aaaa", "running");
  flink.set("bbbb", "running");
  auto path = temp_path("rate");
  auto rec = std::make_shared<fj::HistoryRecorder>(path, true);
  fj::AvailabilityPoller p(rec, {flink.endpoint()});  // defaults: 10 Hz, 2 s timeout
  p.add_job("aaaa");
  p.add_job("bbbb");
  p.start();
  sleep_s(2.0);
  p.stop();
  for (int proc : {0, 1}) {
    auto c = completions(rec->ops(), proc);
    EXPECT_GE(c.size(), 19u) << "process " << proc;  // 10 Hz for 2 s, the first at once
    EXPECT_LE(c.size(), 22u) << "process " << proc;
    for (size_t i = 1; i < c.size(); ++i)
      EXPECT_LT(c[i].time - c[i - 1].time, 200'000'000) << "gap before poll " << i;
  }
  std::filesystem::remove(path);
}

TEST(Poller, ASlowJobDoesNotDelayTheOthers) {
  FakeFlink flink;
  flink.set("fast", "running");
  flink.set("slow", "slow");
  auto path = temp_path("slow");
  auto rec = std::make_shared<fj::HistoryRecorder>(path, true);
  fj::AvailabilityPoller p(rec, {flink.endpoint()}, 0.1, 0.3);
  p.add_job("fast");
  p.add_job("slow");
  p.start();
  sleep_s(1.5);
  p.stop();
  auto fast = completions(rec->ops(), 0);
  auto slow = completions(rec->ops(), 1);
  EXPECT_GE(fast.size(), 14u);
  ASSERT_GE(slow.size(), 2u);
  EXPECT_LE(slow.size(), 6u);
  EXPECT_EQ(slow[0].type, "fail");
  EXPECT_EQ(slow[0].error(), "timed out after 0.3 s waiting for the answer at " + flink.endpoint());
  std::filesystem::remove(path);
}

TEST(Poller, FailsOverToTheNextEndpointAndFollowsThePreferredOne) {
  FakeFlink first, second;
  first.set("aaaa", "running");
  second.set("aaaa", "running");
  std::string dead = "127.0.0.1:" + std::to_string(fj_test::unused_port());
  auto path = temp_path("failover");
  auto rec = std::make_shared<fj::HistoryRecorder>(path, true);
  fj::AvailabilityPoller p(rec, {dead, first.endpoint()}, 0.05, 1.0);
  p.add_job("aaaa");
  p.start();
  sleep_s(0.3);
  p.set_preferred(second.endpoint());
  sleep_s(0.3);
  p.stop();
  auto c = completions(rec->ops(), 0);
  ASSERT_GE(c.size(), 6u);
  EXPECT_EQ(c[0].type, "fail");
  EXPECT_EQ(c[0].error(), "connection refused at " + dead);
  EXPECT_EQ(c[0].value["endpoint"], dead);
  EXPECT_EQ(c[1].type, "ok");
  EXPECT_EQ(c[1].value["endpoint"], first.endpoint());
  EXPECT_EQ(c.back().type, "ok");
  EXPECT_EQ(c.back().value["endpoint"], second.endpoint());
  // Once found, a working endpoint is kept: only the first poll failed.
  EXPECT_EQ(std::count_if(c.begin(), c.end(), [](const fj::Op& o) { return o.type == "fail"; }), 1);
  std::filesystem::remove(path);
}

TEST(Poller, CancelsAJobAsAnOpOfItsProcess) {
  FakeFlink flink;
  flink.set("aaaa", "running");
  flink.set("bbbb", "running");
  auto path = temp_path("cancel");
  auto rec = std::make_shared<fj::HistoryRecorder>(path, true);
  fj::AvailabilityPoller p(rec, {flink.endpoint()}, 0.02, 1.0);
  p.add_job("aaaa");
  p.add_job("bbbb");
  p.start();
  sleep_s(0.2);
  json done = p.cancel_job("bbbb");
  sleep_s(0.2);
  json missing = p.cancel_job("zzzz");  // unknown to Flink: 404, and a process of its own
  p.stop();

  EXPECT_EQ(done["type"], "ok");
  EXPECT_EQ(done["process"], 1);
  EXPECT_EQ(done["value"]["status"], 202);
  EXPECT_EQ(missing["type"], "ok");  // the original's rule: a job not there is cancelled
  EXPECT_EQ(missing["value"]["status"], 404);
  EXPECT_EQ(missing["process"], 2);
  auto reqs = flink.requests();
  EXPECT_NE(std::find(reqs.begin(), reqs.end(), "PATCH /jobs/bbbb?mode=cancel"), reqs.end());

  auto ops = rec->ops();
  auto cancels = completions(ops, 1, "cancel-job");  // also checks no interleaving on process 1
  ASSERT_EQ(cancels.size(), 1u);
  EXPECT_EQ(cancels[0].type, "ok");
  auto polls = completions(ops, 1);
  ASSERT_FALSE(polls.empty());
  EXPECT_EQ(polls.back().value["state"], "CANCELED");
  EXPECT_EQ(polls.back().value["running"], false);

  // The checker sees a cancelled job that stopped: no anomaly for it.
  fj::AvailabilityOptions o;
  o.grace_period_s = 0;
  o.healthy_duration_s = 0.05;
  auto result = fj::check_availability(ops, o);
  EXPECT_EQ(result["jobs"]["bbbb"]["cancelled"], true);
  for (const auto& a : result["anomalies"]) EXPECT_NE(a["job"], "bbbb") << a.dump();
  std::filesystem::remove(path);
}

TEST(Poller, ReportsLastStateAndStopsPollingRemovedJobs) {
  FakeFlink flink;
  flink.set("aaaa", "running");
  auto path = temp_path("state");
  auto rec = std::make_shared<fj::HistoryRecorder>(path, true);
  fj::AvailabilityPoller p(rec, {flink.endpoint()}, 0.05, 1.0);
  p.add_job("aaaa");
  p.add_job("cccc");
  p.start();
  sleep_s(0.3);
  json s = p.last_state();
  EXPECT_EQ(s["aaaa"]["running"], true);
  EXPECT_EQ(s["aaaa"]["state"], "RUNNING");
  EXPECT_TRUE(s["aaaa"]["last_ok_s"].is_number());
  EXPECT_EQ(s["aaaa"]["process"], 0);
  EXPECT_EQ(s["cccc"]["running"], false);
  EXPECT_EQ(s["cccc"]["state"], "NOT_FOUND");
  EXPECT_EQ(s["cccc"]["last_error"], nullptr);
  EXPECT_EQ(s["cccc"]["failed_polls"].get<int>(), 0);

  p.remove_job("cccc");
  EXPECT_EQ(p.jobs(), std::vector<std::string>{"aaaa"});
  auto before = completions(rec->ops(), 1).size();
  sleep_s(0.25);
  EXPECT_EQ(completions(rec->ops(), 1).size(), before);
  EXPECT_GT(completions(rec->ops(), 0).size(), 6u);
  p.add_job("cccc");  // back with the same process number
  EXPECT_EQ(p.process_of("cccc"), 1);
  sleep_s(0.15);
  p.stop();
  EXPECT_GT(completions(rec->ops(), 1).size(), before);
  EXPECT_FALSE(p.running());
  std::filesystem::remove(path);
}

// A planted failure on a test double of Flink's REST API: the job and each of its vertices say
// RUNNING, but half of one vertex's subtasks never run. Polled and checked as a real run is, it
// must be flagged ("Job is not running."), and pass once every subtask runs.
TEST(Poller, AJobWithSubtasksOnlyPartlyRunningIsFlaggedByTheChecker) {
  for (const std::string mode : {"partly", "running"}) {
    FakeFlink flink;
    flink.set("aaaa", mode);
    auto path = temp_path("partly-" + mode);
    auto rec = std::make_shared<fj::HistoryRecorder>(path, true);
    {
      fj::AvailabilityPoller p(rec, {flink.endpoint()}, 0.02, 1.0);
      p.add_job("aaaa");
      p.start();
      sleep_s(0.5);
      p.stop();
    }
    fj::AvailabilityOptions o;
    o.grace_period_s = 0.1;  // scaled down: the job is expected to run after 0.1 s
    o.healthy_duration_s = 0.2;
    o.jobs = {"aaaa"};
    json r = fj::check_availability(rec->ops(), o);
    rec->close();
    std::filesystem::remove(path);
    if (mode == "partly") {
      EXPECT_EQ(r["valid?"], false) << r.dump(2);
      ASSERT_FALSE(r["anomalies"].empty());
      EXPECT_EQ(r["anomalies"][0]["type"], "job-not-running");
      EXPECT_EQ(r["anomalies"][0]["first"], "state RUNNING (3/4 subtasks running)");
    } else {
      EXPECT_EQ(r["valid?"], true) << r.dump(2);
    }
  }
}
