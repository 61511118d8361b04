#include "poll/poller.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <thread>

#include "poll/http.hpp"

namespace fj {

namespace {

// The state recorded for a job the REST API does not know (404).
constexpr const char* kNotFound = "NOT_FOUND";

std::string http_error(int status) {
  return status == 404 ? "http 404 job not found" : "http " + std::to_string(status);
}

// Job ids are hex, but a path must never be broken by whatever the caller passes.
std::string url_escape(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

// "host:port" or "[v6]:port" -> host, port (already normalized).
std::pair<std::string, int> split_endpoint(const std::string& ep) {
  size_t colon = ep.rfind(':');
  std::string host = ep.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return {host, std::stoi(ep.substr(colon + 1))};
}

int64_t int_field(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

}  // namespace

bool parse_job_status(const std::string& body, JobStatus& out, std::string& error) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    error = "invalid JSON answer";
    return false;
  }
  auto state = j.find("state");
  if (state == j.end() || !state->is_string()) {
    error = "answer without job state";
    return false;
  }
  out = JobStatus{};
  out.state = state->get<std::string>();
  auto vertices = j.find("vertices");
  if (vertices != j.end() && vertices->is_array()) {
    for (const auto& v : *vertices) {
      if (!v.is_object()) continue;
      ++out.vertices;
      auto status = v.find("status");
      if (status != v.end() && status->is_string() &&
          status->get_ref<const std::string&>() == "RUNNING")
        ++out.vertices_running;
      out.parallelism_total += int_field(v, "parallelism");
      auto tasks = v.find("tasks");
      if (tasks != v.end() && tasks->is_object()) out.tasks_running += int_field(*tasks, "RUNNING");
    }
  }
  // Available: the job RUNNING and every subtask of every vertex RUNNING. The original asked
  // only for every vertex, but Flink calls a vertex RUNNING as soon as one subtask runs.
  out.running = out.state == "RUNNING" && out.vertices > 0 &&
                out.vertices_running == out.vertices && out.parallelism_total > 0 &&
                out.tasks_running == out.parallelism_total;
  return true;
}

std::string normalize_endpoint(const std::string& endpoint) {
  std::string ep = endpoint;
  if (ep.rfind("http://", 0) == 0) ep = ep.substr(7);
  if (ep.find("://") != std::string::npos)
    throw std::invalid_argument("REST endpoint '" + endpoint + "': only http:// is supported");
  while (!ep.empty() && ep.back() == '/') ep.pop_back();
  size_t colon = ep.rfind(':');
  bool ok = colon != std::string::npos && colon > 0 && colon + 1 < ep.size() &&
            ep.find('/') == std::string::npos;
  if (ok) {
    for (size_t i = colon + 1; i < ep.size(); ++i)
      ok = ok && std::isdigit(static_cast<unsigned char>(ep[i]));
    // A bare IPv6 address has colons of its own: it needs brackets.
    std::string host = ep.substr(0, colon);
    ok = ok && (host.find(':') == std::string::npos || (host.front() == '[' && host.back() == ']'));
    if (ok) {
      long port = std::stol(ep.substr(colon + 1));
      ok = port > 0 && port < 65536;
    }
  }
  if (!ok) throw std::invalid_argument("REST endpoint '" + endpoint + "' is not host:port");
  return ep;
}

struct AvailabilityPoller::Job {
  std::string id;
  int process = 0;
  // Under the poller's mu_:
  bool active = false;
  bool stop = false;
  uint64_t generation = 0;  // a thread polls while this is the one it was started with
  std::thread thread;
  std::optional<bool> running;
  std::string state;
  int64_t last_ok_ns = -1;
  int64_t last_poll_ns = -1;
  int64_t polls = 0;
  int64_t failed = 0;
  std::string last_error;
  std::string endpoint;
  // Held across an op's invoke and completion: one op in flight per process, as Jepsen's model
  // wants, when a cancel comes in while the job is being polled. Guards what follows too.
  std::mutex op_mu;
  size_t cursor = 0;
  uint64_t version = ~uint64_t{0};
  std::map<std::string, std::unique_ptr<HttpClient>> clients;
};

AvailabilityPoller::AvailabilityPoller(std::shared_ptr<HistoryRecorder> recorder,
                                       std::vector<std::string> endpoints, double interval_s,
                                       double timeout_s)
    : recorder_(std::move(recorder)), interval_s_(interval_s), timeout_s_(timeout_s) {
  if (!recorder_) throw std::invalid_argument("AvailabilityPoller needs a history recorder");
  if (interval_s <= 0) throw std::invalid_argument("poll interval must be positive");
  if (timeout_s <= 0) throw std::invalid_argument("poll timeout must be positive");
  set_endpoints(std::move(endpoints));
}

AvailabilityPoller::~AvailabilityPoller() { stop(); }

void AvailabilityPoller::start() {
  std::lock_guard lk(mu_);
  if (started_) return;
  started_ = true;
  for (auto& [id, job] : jobs_)
    if (job->active) spawn_locked(job);
}

void AvailabilityPoller::stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lk(mu_);
    started_ = false;
    for (auto& [id, job] : jobs_) {
      job->stop = true;
      if (job->thread.joinable()) threads.push_back(std::move(job->thread));
    }
  }
  wake_.notify_all();
  for (auto& t : threads) t.join();
}

bool AvailabilityPoller::running() const {
  std::lock_guard lk(mu_);
  return started_;
}

std::shared_ptr<AvailabilityPoller::Job> AvailabilityPoller::job_locked(const std::string& id) {
  auto& job = jobs_[id];
  if (!job) {
    job = std::make_shared<Job>();
    job->id = id;
    job->process = next_process_++;
  }
  return job;
}

void AvailabilityPoller::spawn_locked(const std::shared_ptr<Job>& job) {
  if (job->thread.joinable()) return;
  job->stop = false;
  uint64_t generation = ++job->generation;
  job->thread = std::thread([this, job, generation] { run(job, generation); });
}

void AvailabilityPoller::add_job(const std::string& id) {
  if (id.empty()) throw std::invalid_argument("job id is empty");
  std::lock_guard lk(mu_);
  auto job = job_locked(id);
  job->active = true;
  if (started_) spawn_locked(job);
}

void AvailabilityPoller::remove_job(const std::string& id) {
  std::thread t;
  {
    std::lock_guard lk(mu_);
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return;
    it->second->active = false;
    it->second->stop = true;
    t = std::move(it->second->thread);
  }
  wake_.notify_all();
  if (t.joinable()) t.join();
}

std::vector<std::string> AvailabilityPoller::jobs() const {
  std::lock_guard lk(mu_);
  std::vector<std::pair<int, std::string>> active;
  for (const auto& [id, job] : jobs_)
    if (job->active) active.emplace_back(job->process, id);
  std::sort(active.begin(), active.end());
  std::vector<std::string> out;
  for (auto& [p, id] : active) out.push_back(id);
  return out;
}

int AvailabilityPoller::process_of(const std::string& id) {
  std::lock_guard lk(mu_);
  return job_locked(id)->process;
}

void AvailabilityPoller::set_endpoints(std::vector<std::string> endpoints) {
  std::vector<std::string> normalized;
  for (const auto& e : endpoints) normalized.push_back(normalize_endpoint(e));
  std::lock_guard lk(mu_);
  endpoints_ = std::move(normalized);
  ++endpoints_version_;
}

void AvailabilityPoller::set_preferred(const std::string& endpoint) {
  std::string ep = endpoint.empty() ? "" : normalize_endpoint(endpoint);
  std::lock_guard lk(mu_);
  if (ep == preferred_) return;
  preferred_ = ep;
  ++endpoints_version_;
}

void AvailabilityPoller::set_interval(double seconds) {
  if (seconds <= 0) throw std::invalid_argument("poll interval must be positive");
  std::lock_guard lk(mu_);
  interval_s_ = seconds;
}

void AvailabilityPoller::set_timeout(double seconds) {
  if (seconds <= 0) throw std::invalid_argument("poll timeout must be positive");
  std::lock_guard lk(mu_);
  timeout_s_ = seconds;
}

std::vector<std::string> AvailabilityPoller::candidates_locked() const {
  std::vector<std::string> out;
  if (!preferred_.empty()) out.push_back(preferred_);
  for (const auto& e : endpoints_)
    if (e != preferred_) out.push_back(e);
  return out;
}

// Caller holds job.op_mu. A change of endpoints starts again from the first (the preferred).
std::string AvailabilityPoller::current_endpoint(Job& job) {
  std::lock_guard lk(mu_);
  auto cands = candidates_locked();
  if (job.version != endpoints_version_) {
    job.version = endpoints_version_;
    job.cursor = 0;
  }
  return cands.empty() ? "" : cands[job.cursor % cands.size()];
}

void AvailabilityPoller::run(std::shared_ptr<Job> job, uint64_t generation) {
  using Clock = std::chrono::steady_clock;
  auto next = Clock::now();
  for (;;) {
    double interval;
    {
      std::unique_lock lk(mu_);
      auto done = [&] { return job->stop || job->generation != generation; };
      wake_.wait_until(lk, next, done);
      if (done()) return;
      interval = interval_s_;
    }
    try {
      poll_once(*job);
    } catch (const std::exception& e) {
      // Only the recorder throws here (closed, full disk): nothing more can be recorded.
      spdlog::error("poller: job {}: {}; polling of this job stops", job->id, e.what());
      return;
    }
    // Ticks on a fixed grid; after a slow poll the next one starts at once, without a burst.
    next += std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(interval));
    auto now = Clock::now();
    if (next < now) next = now;
  }
}

void AvailabilityPoller::poll_once(Job& job) {
  std::lock_guard op(job.op_mu);
  std::string ep = current_endpoint(job);
  double timeout;
  {
    std::lock_guard lk(mu_);
    timeout = timeout_s_;
  }
  recorder_->record(job.process, "invoke", "job-running?", job.id);

  std::string error;
  JobStatus st;
  if (ep.empty()) {
    error = "no REST endpoint known";
  } else {
    auto& client = job.clients[ep];
    if (!client) {
      auto [host, port] = split_endpoint(ep);
      client = std::make_unique<HttpClient>(host, port, timeout);
    }
    client->set_timeout(timeout);
    try {
      HttpResponse r = client->request("GET", "/jobs/" + url_escape(job.id));
      if (r.status == 404)
        st.state = kNotFound;  // an answer, as in the original: the job is not (or no longer) there
      else if (r.status != 200)
        error = http_error(r.status);
      else
        parse_job_status(r.body, st, error);
    } catch (const HttpError& e) {
      error = e.what();
    }
  }

  int64_t t;
  if (error.empty()) {
    json v = {{"job", job.id},
              {"running", st.running},
              {"state", st.state},
              {"vertices", st.vertices},
              {"vertices_running", st.vertices_running},
              {"tasks_running", st.tasks_running},
              {"parallelism_total", st.parallelism_total},
              {"endpoint", ep}};
    recorder_->record(job.process, "ok", "job-running?", std::move(v));
  } else {
    ++job.cursor;  // the next tick asks the next candidate
    recorder_->record(job.process, "fail", "job-running?", json{{"job", job.id}, {"endpoint", ep}},
                      json{{"error", error}});
  }
  t = recorder_->now_ns();

  std::lock_guard lk(mu_);
  ++job.polls;
  job.last_poll_ns = t;
  job.endpoint = ep;
  if (error.empty()) {
    job.running = st.running;
    job.state = st.state;
    job.last_ok_ns = t;
    job.last_error.clear();
  } else {
    ++job.failed;
    job.last_error = error;
  }
}

json AvailabilityPoller::cancel_job(const std::string& id) {
  std::shared_ptr<Job> job;
  double timeout;
  {
    std::lock_guard lk(mu_);
    job = job_locked(id);
    timeout = timeout_s_;
  }
  std::lock_guard op(job->op_mu);
  std::string ep = current_endpoint(*job);
  recorder_->record(job->process, "invoke", "cancel-job", id);

  std::string type = "fail", error;
  int status = 0;
  if (ep.empty()) {
    error = "no REST endpoint known";
  } else {
    auto& client = job->clients[ep];
    if (!client) {
      auto [host, port] = split_endpoint(ep);
      client = std::make_unique<HttpClient>(host, port, timeout);
    }
    client->set_timeout(timeout);
    try {
      HttpResponse r = client->request("PATCH", "/jobs/" + url_escape(id) + "?mode=cancel");
      status = r.status;
      if (status >= 200 && status < 300)
        type = "ok";
      else if (status == 404)
        type = "ok";  // the original's rule: a job that is not there counts as cancelled
      else
        error = http_error(status);
    } catch (const HttpError& e) {
      error = e.what();
      if (e.sent()) type = "info";  // Flink may have got it: the outcome is unknown
    }
  }
  json value = {{"job", id}, {"endpoint", ep}};
  if (status) value["status"] = status;
  json extra = error.empty() ? json() : json{{"error", error}};
  if (type != "ok") ++job->cursor;
  int64_t index = recorder_->record(job->process, type, "cancel-job", value, extra);
  json out = {{"index", index},
              {"process", job->process},
              {"type", type},
              {"f", "cancel-job"},
              {"value", value}};
  if (!error.empty()) out["error"] = error;
  return out;
}

json AvailabilityPoller::last_state() const {
  std::lock_guard lk(mu_);
  json out = json::object();
  auto secs = [](int64_t ns) { return ns < 0 ? json() : json(static_cast<double>(ns) / 1e9); };
  for (const auto& [id, job] : jobs_) {
    out[id] = {{"process", job->process},
               {"active", job->active},
               {"running", job->running ? json(*job->running) : json()},
               {"state", job->state.empty() ? json() : json(job->state)},
               {"last_ok_s", secs(job->last_ok_ns)},
               {"last_poll_s", secs(job->last_poll_ns)},
               {"polls", job->polls},
               {"failed_polls", job->failed},
               {"last_error", job->last_error.empty() ? json() : json(job->last_error)},
               {"endpoint", job->endpoint}};
  }
  return out;
}

}  // namespace fj
