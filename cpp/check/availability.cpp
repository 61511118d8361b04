#include "check/availability.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <set>
#include <utility>

namespace fj {

namespace {

constexpr const char* kPoll = "job-running?";
constexpr const char* kCancel = "cancel-job";
constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

double secs(int64_t ns) { return static_cast<double>(ns) / 1e9; }
int64_t nanos(double s) { return static_cast<int64_t>(s * 1e9); }

// The job an op is about: a string value, or an object's "job".
std::string job_of(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object()) {
    auto it = v.find("job");
    if (it != v.end() && it->is_string()) return it->get<std::string>();
  }
  return "";
}

std::string process_key(const json& p) {
  return p.is_number_integer() ? std::to_string(p.get<int64_t>()) : p.dump();
}

// A fault's kind and whether it opens or closes a lasting fault: "start-<kind>" /
// "stop-<kind>" (this harness), or the original's "<kind>-start" / "<kind>-stop".
enum class Edge { kInstant, kStart, kStop };
std::pair<Edge, std::string> edge_of(const std::string& f) {
  auto ends_with = [&](const char* suffix, size_t n) {
    return f.size() > n && f.compare(f.size() - n, n, suffix) == 0;
  };
  if (f.rfind("start-", 0) == 0) return {Edge::kStart, f.substr(6)};
  if (f.rfind("stop-", 0) == 0) return {Edge::kStop, f.substr(5)};
  if (ends_with("-start", 6)) return {Edge::kStart, f.substr(0, f.size() - 6)};
  if (ends_with("-stop", 5)) return {Edge::kStop, f.substr(0, f.size() - 5)};
  return {Edge::kInstant, f};
}

std::string describe(bool ok, const json& value, const std::string& error) {
  if (!ok) return error;
  std::string out = "state ";
  auto state = value.is_object() ? value.find("state") : value.end();
  out += state != value.end() && state->is_string() ? state->get<std::string>() : "?";
  if (value.is_object() && value.contains("tasks_running") && value.contains("parallelism_total"))
    out += " (" + value["tasks_running"].dump() + "/" + value["parallelism_total"].dump() +
           " subtasks running)";
  return out;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

const char* message_of(const std::string& type) {
  if (type == "cluster-not-running") return "Cluster is not running.";
  if (type == "job-not-running") return "Job is not running.";
  if (type == "job-running-after-cancellation") return "Job is running after cancellation.";
  return "";
}

struct Fault {
  std::string kind;
  int64_t start;
  int64_t end;
  bool healed = true;
  json value;
  bool instant = false;  // a kill, not a start/stop pair
};

struct OpenFault {
  int count = 0;
  int64_t start = 0;
  json value;
};

struct Outage {
  int64_t since = -1;  // completion of the last poll that found the job available (-1: none)
  int64_t start = 0;   // completion of the first poll that did not
  int64_t end = -1;    // completion of the first poll that found it available again
  int64_t polls = 0;
  bool anomalous = false;
  std::string first;
};

struct Job {
  int64_t polls = 0, failed = 0, running = 0;
  // The current streak of settled polls (running; after a successful cancel: answered and not
  // running), as completion times; first_since: its first poll invoked after `since`.
  int64_t streak_first = -1, streak_last = -1, streak_first_since = -1;
  int64_t last_available = -1;
  std::optional<Outage> outage;
  std::vector<Outage> outages;
  int cancel_attempts = 0;
  bool cancelled = false;
  int64_t cancel_time = kNever;
  std::string cancel_error;
  std::string last;
  std::optional<json> open;  // the anomaly being extended by consecutive polls
  std::vector<json> anomalies;
  // For recovery: the latest poll.
  int64_t latest_time = -1;
  bool latest_running = false;
};

struct PendingNemesis {
  std::string f;
  int64_t start;
  json value;
};

}  // namespace

struct AvailabilityModel::State {
  AvailabilityOptions opt;
  int64_t grace_ns;
  int64_t cancel_grace_ns;
  bool started = false;
  int64_t origin = 0;
  int64_t last_time = 0;
  int64_t last_failure = 0;
  int64_t since = 0;
  std::optional<PendingNemesis> nemesis;
  std::map<std::string, OpenFault> open_faults;
  std::vector<Fault> faults;
  json ineffective = json::array();
  std::map<std::string, Job> jobs;
  std::map<std::string, std::pair<int64_t, std::string>> pending;  // process -> invoke time, job
  std::vector<std::pair<int64_t, int64_t>> moments;                // (m, time), see recovery
  int64_t total_polls = 0;
  int64_t unattributed_polls = 0;
  std::string heal_error;

  bool should_be_healthy(int64_t t) const {
    return !nemesis && open_faults.empty() && t - last_failure > grace_ns;
  }

  void conclude(const PendingNemesis& p, int64_t end, const Op& completion) {
    auto [edge, kind] = edge_of(p.f);
    const json& value = completion.value.is_null() ? p.value : completion.value;
    if (completion.type == "fail") {
      // It had no effect (a kill that hit no process, an action that threw): not a fault.
      std::string reason = completion.error();
      if (reason.empty() && value.is_object() && value.contains("reason") &&
          value["reason"].is_string())
        reason = value["reason"].get<std::string>();
      ineffective.push_back({{"f", p.f},
                             {"start_s", secs(p.start)},
                             {"end_s", secs(end)},
                             {"reason", reason.empty() ? "no effect" : reason},
                             {"value", value}});
      if (edge == Edge::kStop && open_faults.count(kind))
        heal_error = "healing " + kind + " failed: " + (reason.empty() ? "no effect" : reason);
      return;
    }
    if (edge == Edge::kStart) {
      auto& o = open_faults[kind];
      if (o.count++ == 0) {
        o.start = p.start;
        o.value = value;
      }
      return;
    }
    last_failure = std::max(last_failure, end);
    if (edge == Edge::kStop) {
      auto it = open_faults.find(kind);
      if (it == open_faults.end()) {
        faults.push_back({kind, p.start, end, true, value});  // a stop without its start
      } else if (--it->second.count == 0) {
        faults.push_back({kind, it->second.start, end, true, it->second.value});
        open_faults.erase(it);
      }
      return;
    }
    faults.push_back({kind, p.start, end, true, value, true});
  }

  void step_nemesis(const Op& op) {
    bool completion = op.type != "invoke";
    // Jepsen's nemesis invocations are infos without a value.
    if (completion && op.type == "info" && op.value.is_null() && !nemesis) completion = false;
    if (completion) {
      if (nemesis && nemesis->f == op.f) {
        PendingNemesis p = std::move(*nemesis);
        nemesis.reset();
        conclude(p, op.time, op);
      } else {
        conclude({op.f, op.time, op.value}, op.time, op);
      }
      return;
    }
    if (nemesis) {
      // An invocation without its completion: its outcome is unknown, so it may have hit.
      Op unknown;
      unknown.type = "info";
      PendingNemesis p = std::move(*nemesis);
      conclude(p, p.start, unknown);
    }
    nemesis = PendingNemesis{op.f, op.time, op.value};
  }

  void add_anomaly(Job& j, const std::string& id, const std::string& type, int64_t t,
                   const std::string& what, const json& extra) {
    if (j.open && (*j.open)["type"] == type) {
      (*j.open)["end"] = secs(t);
      (*j.open)["polls"] = (*j.open)["polls"].get<int64_t>() + 1;
      (*j.open)["last"] = what;
      return;
    }
    close_anomaly(j);
    json a = {{"type", type},   {"message", message_of(type)},
              {"job", id},      {"time", secs(t)},
              {"end", secs(t)}, {"polls", 1},
              {"first", what},  {"last", what}};
    for (auto& [k, v] : extra.items()) a[k] = v;
    j.open = std::move(a);
  }

  static void close_anomaly(Job& j) {
    if (j.open) j.anomalies.push_back(std::move(*j.open));
    j.open.reset();
  }

  void step_poll(const Op& op, const std::string& id, int64_t invoked) {
    Job& j = jobs[id];
    int64_t t = op.time;
    bool ok = op.type == "ok";
    const json* r = op.value.is_object() ? &op.value : nullptr;
    auto rit = r ? r->find("running") : op.value.end();
    bool running = ok && r && rit != r->end() && rit->is_boolean() && rit->get<bool>();
    std::string what = describe(ok, op.value, op.error().empty() ? op.type : op.error());
    ++total_polls;
    ++j.polls;
    j.failed += !ok;
    j.running += running;
    j.last = what;

    bool healthy_expected = should_be_healthy(t);
    json context = {{"last_failure_s", secs(last_failure)}, {"grace_period_s", opt.grace_period_s}};
    bool anomaly = false;
    if (!ok && healthy_expected) {
      add_anomaly(j, id, "cluster-not-running", t, what, context);
      anomaly = true;
    } else if (running && j.cancelled && t - j.cancel_time >= cancel_grace_ns) {
      add_anomaly(j, id, "job-running-after-cancellation", t, what,
                  {{"cancelled_at_s", secs(j.cancel_time)}});
      anomaly = true;
    } else if (ok && !running && healthy_expected && !j.cancelled) {
      add_anomaly(j, id, "job-not-running", t, what, context);
      anomaly = true;
    } else {
      close_anomaly(j);
    }

    bool settled = ok && (j.cancelled ? !running : running);
    if (settled) {
      if (j.streak_first < 0) j.streak_first = t;
      j.streak_last = t;
      if (j.streak_first_since < 0 && invoked >= since) j.streak_first_since = t;
    } else {
      j.streak_first = j.streak_last = j.streak_first_since = -1;
    }

    bool available = ok && (running || j.cancelled);
    if (available) {
      if (j.outage) {
        j.outage->end = t;
        j.outages.push_back(std::move(*j.outage));
        j.outage.reset();
      }
      j.last_available = t;
    } else {
      if (!j.outage) j.outage = Outage{j.last_available, t, -1, 0, false, what};
      ++j.outage->polls;
      j.outage->anomalous = j.outage->anomalous || anomaly;
    }

    // Recovery: the moments at which every job's latest poll says running. At such a moment m
    // is the oldest of those latest polls; m never decreases, so the first moment that recovers
    // a fault ending at e (all latest polls after e) is found by binary search on m.
    j.latest_time = t;
    j.latest_running = running;
    if (!running || j.cancelled) return;
    int64_t m = kNever;
    for (const auto& [other_id, o] : jobs) {
      if (o.latest_time < 0 || o.cancelled) continue;
      if (!o.latest_running) return;
      m = std::min(m, o.latest_time);
    }
    if (m != kNever) moments.emplace_back(m, t);
  }

  void step_cancel(const Op& op, const std::string& id) {
    Job& j = jobs[id];
    ++j.cancel_attempts;
    if (op.type == "ok") {
      if (!j.cancelled) {
        j.cancelled = true;
        j.cancel_time = op.time;
        j.streak_first = j.streak_last = j.streak_first_since = -1;
        close_anomaly(j);
      }
    } else {
      j.cancel_error = op.type + (op.error().empty() ? "" : ": " + op.error());
    }
  }

  void step(const Op& op) {
    if (!started) {
      started = true;
      origin = last_failure = op.time;
    }
    last_time = std::max(last_time, op.time);
    if (op.is_nemesis()) {
      step_nemesis(op);
      return;
    }
    if (op.f != kPoll && op.f != kCancel) return;
    std::string key = process_key(op.process);
    if (op.type == "invoke") {
      pending[key] = {op.time, job_of(op.value)};
      return;
    }
    int64_t invoked = op.time;
    std::string id = job_of(op.value);
    if (auto it = pending.find(key); it != pending.end()) {
      invoked = it->second.first;
      if (id.empty()) id = it->second.second;
      pending.erase(it);
    }
    if (id.empty()) {
      unattributed_polls += op.f == kPoll;
      return;
    }
    if (op.f == kPoll)
      step_poll(op, id, invoked);
    else
      step_cancel(op, id);
  }

  std::vector<std::string> expected_jobs() const {
    if (!opt.jobs.empty()) return opt.jobs;
    std::vector<std::string> out;
    for (const auto& [id, j] : jobs) out.push_back(id);
    return out;
  }

  std::optional<double> settled_s() const {
    auto ids = expected_jobs();
    if (ids.empty()) return std::nullopt;
    double least = std::numeric_limits<double>::infinity();
    for (const auto& id : ids) {
      auto it = jobs.find(id);
      if (it == jobs.end() || it->second.streak_first_since < 0) return std::nullopt;
      least = std::min(least, secs(it->second.streak_last - it->second.streak_first_since));
    }
    return least;
  }

  json result() const;
};

json AvailabilityModel::State::result() const {
  // Faults: the concluded ones, an invocation still pending (it may have hit), and lasting
  // faults never stopped (not healed: no recovery is measured for them).
  std::vector<Fault> all = faults;
  if (nemesis) {
    auto [edge, kind] = edge_of(nemesis->f);
    if (edge == Edge::kInstant)
      all.push_back({kind, nemesis->start, nemesis->start, true, nemesis->value, true});
  }
  for (const auto& [kind, o] : open_faults) all.push_back({kind, o.start, last_time, false,
                                                           o.value});
  std::stable_sort(all.begin(), all.end(), [](const Fault& a, const Fault& b) {
    return a.start != b.start ? a.start < b.start : a.end < b.end;
  });
  int64_t last_fault_end = 0;
  for (const auto& f : all) last_fault_end = std::max(last_fault_end, f.end);

  std::set<std::string> submitted(opt.jobs.begin(), opt.jobs.end());
  json anomalies = json::array();
  json jobs_out = json::object();
  json outages = json::array();
  std::vector<std::string> errors;
  for (const auto& id : opt.jobs)
    if (!jobs.count(id) || jobs.at(id).polls == 0)
      anomalies.push_back({{"type", "never-polled"},
                           {"message", "A submitted job was never polled."},
                           {"job", id},
                           {"time", nullptr}});
  if (jobs.empty() && opt.jobs.empty())
    anomalies.push_back({{"type", "no-job"},
                         {"message", "No job id in the history: no job was submitted or polled."},
                         {"job", nullptr},
                         {"time", nullptr},
                         {"unattributed_polls", unattributed_polls}});

  for (const auto& [id, j] : jobs) {
    for (const auto& a : j.anomalies) anomalies.push_back(a);
    if (j.open) anomalies.push_back(*j.open);
    if (!submitted.empty() && !submitted.count(id))
      anomalies.push_back({{"type", "unexpected-job"},
                           {"message", "A job that nobody submitted was seen."},
                           {"job", id},
                           {"time", nullptr},
                           {"polls", j.polls}});
    double streak = j.streak_first >= 0 ? secs(j.streak_last - j.streak_first) : 0;
    json jo = {{"polls", j.polls},
               {"failed_polls", j.failed},
               {"running_polls", j.running},
               {"final_running_streak_s", j.cancelled ? 0.0 : streak},
               {"cancelled", j.cancelled}};
    if (j.cancel_attempts) {
      jo["cancel_attempts"] = j.cancel_attempts;
      if (j.cancelled) jo["cancelled_at_s"] = secs(j.cancel_time);
      if (!j.cancelled) {
        jo["cancel_error"] = j.cancel_error;
        errors.push_back("cancel-job of job " + id + " did not succeed in " +
                         std::to_string(j.cancel_attempts) + " attempt(s) (last: " +
                         j.cancel_error + "): the cancellation cannot be checked");
      }
    }
    if (j.polls > 0 && !j.cancelled && streak < opt.healthy_duration_s)
      anomalies.push_back({{"type", "not-healthy-at-end"},
                           {"message", "Job is not healthy at the end."},
                           {"job", id},
                           {"time", secs(last_time)},
                           {"final_running_streak_s", streak},
                           {"required_s", opt.healthy_duration_s},
                           {"last", j.last}});
    std::vector<Outage> list = j.outages;
    if (j.outage) list.push_back(*j.outage);
    jo["outages"] = list.size();
    jobs_out[id] = std::move(jo);
    for (const auto& o : list) {
      int64_t from = o.since >= 0 ? o.since : o.start;
      int64_t to = o.end >= 0 ? o.end : last_time;
      json inside = json::array();
      for (size_t i = 0; i < all.size(); ++i)
        if (all[i].start <= to && all[i].end >= from)
          inside.push_back({{"fault", i}, {"kind", all[i].kind}, {"start_s", secs(all[i].start)}});
      outages.push_back({{"job", id},
                         {"since_s", o.since >= 0 ? json(secs(o.since)) : json()},
                         {"start_s", secs(o.start)},
                         {"end_s", o.end >= 0 ? json(secs(o.end)) : json()},
                         {"length_s", o.end >= 0 ? json(secs(o.end - o.start)) : json()},
                         {"polls", o.polls},
                         {"first", o.first},
                         {"anomalous", o.anomalous},
                         {"faults", std::move(inside)}});
    }
  }
  std::stable_sort(outages.begin(), outages.end(), [](const json& a, const json& b) {
    return a["start_s"].get<double>() < b["start_s"].get<double>();
  });

  json faults_out = json::array();
  std::map<std::string, std::vector<double>> recovered;
  std::map<std::string, int64_t> fault_count;
  for (const auto& f : all) {
    auto it = std::partition_point(moments.begin(), moments.end(),
                                   [&](const auto& mt) { return mt.first <= f.end; });
    json rec = nullptr;
    ++fault_count[f.kind];
    if (it != moments.end() && f.healed) {
      double r = secs(it->second - f.end);
      rec = r;
      recovered[f.kind].push_back(r);
    }
    json fo = {{"kind", f.kind},
               {"start_s", secs(f.start)},
               {"end_s", secs(f.end)},
               {"recovery_s", rec},
               {"instant", f.instant},
               {"value", f.value}};
    if (!f.healed) fo["healed"] = false;
    faults_out.push_back(std::move(fo));
  }
  json recovery = json::object();
  for (const auto& [kind, n] : fault_count) {
    auto rit = recovered.find(kind);
    std::vector<double> r = rit == recovered.end() ? std::vector<double>{} : rit->second;
    recovery[kind] = {{"count", n}, {"recovered", r.size()}};
    if (r.empty()) {
      recovery[kind]["min_s"] = recovery[kind]["median_s"] = recovery[kind]["max_s"] = nullptr;
    } else {
      recovery[kind]["min_s"] = *std::min_element(r.begin(), r.end());
      recovery[kind]["median_s"] = median(r);
      recovery[kind]["max_s"] = *std::max_element(r.begin(), r.end());
    }
  }

  std::stable_sort(anomalies.begin(), anomalies.end(), [](const json& a, const json& b) {
    double ta = a["time"].is_number() ? a["time"].get<double>() : -1;
    double tb = b["time"].is_number() ? b["time"].get<double>() : -1;
    return ta < tb;
  });
  json types = json::object();
  for (const auto& a : anomalies) {
    std::string t = a["type"].get<std::string>();
    types[t] = types.value(t, 0) + 1;
  }

  if (opt.expect_faults && all.empty())
    errors.push_back("the fault schedule was to inject faults, but none had an effect (" +
                     std::to_string(ineffective.size()) + " without effect)");
  if (!heal_error.empty()) errors.push_back(heal_error);

  json out;
  if (!anomalies.empty()) {
    out["valid?"] = false;
  } else if (!errors.empty()) {
    out["valid?"] = "unknown";
  } else {
    out["valid?"] = true;
  }
  if (!errors.empty()) {
    std::string joined;
    for (const auto& e : errors) joined += (joined.empty() ? "" : "; ") + e;
    out["error"] = joined;
  }
  out["anomalies"] = std::move(anomalies);
  out["anomaly_types"] = std::move(types);
  out["jobs"] = std::move(jobs_out);
  out["faults"] = std::move(faults_out);
  out["ineffective_faults"] = ineffective;
  out["outages"] = std::move(outages);
  out["recovery"] = std::move(recovery);
  out["workload_start_s"] = secs(origin);
  out["last_fault_end_s"] = secs(last_fault_end);
  out["grace_period_s"] = opt.grace_period_s;
  out["healthy_duration_s"] = opt.healthy_duration_s;
  out["polls"] = total_polls;
  return out;
}

AvailabilityModel::AvailabilityModel(AvailabilityOptions options)
    : s_(std::make_unique<State>()) {
  s_->grace_ns = nanos(options.grace_period_s);
  s_->cancel_grace_ns = nanos(options.cancel_grace_s);
  s_->opt = std::move(options);
}
AvailabilityModel::~AvailabilityModel() = default;
AvailabilityModel::AvailabilityModel(AvailabilityModel&&) noexcept = default;
AvailabilityModel& AvailabilityModel::operator=(AvailabilityModel&&) noexcept = default;

void AvailabilityModel::step(const Op& op) { s_->step(op); }

void AvailabilityModel::observe_from(int64_t since_ns) {
  s_->since = since_ns;
  for (auto& [id, j] : s_->jobs) j.streak_first_since = -1;
}

std::optional<double> AvailabilityModel::settled_s() const { return s_->settled_s(); }

json AvailabilityModel::result() const { return s_->result(); }

json check_availability(const std::vector<Op>& input, const AvailabilityOptions& opt) {
  std::vector<const Op*> ops;
  ops.reserve(input.size());
  for (const auto& op : input) ops.push_back(&op);
  std::stable_sort(ops.begin(), ops.end(),
                   [](const Op* a, const Op* b) { return a->index < b->index; });
  AvailabilityModel model(opt);
  for (const Op* op : ops) model.step(*op);
  return model.result();
}

json check_availability_file(const std::string& path, const AvailabilityOptions& options) {
  ReadResult r = read_history(path);
  json out = check_availability(r.ops, options);
  if (!r.errors.empty()) {
    json first = json::array();
    for (size_t i = 0; i < r.errors.size() && i < 10; ++i)
      first.push_back({{"line", r.errors[i].first}, {"error", r.errors[i].second}});
    out["history_errors"] = {{"count", r.errors.size()}, {"first", std::move(first)}};
    if (out["valid?"] == true) {
      out["valid?"] = "unknown";
      out["error"] = std::to_string(r.errors.size()) +
                     " line(s) of the history could not be read (see history_errors)";
    }
  }
  return out;
}

// ---- the live monitor ------------------------------------------------------------------------

AvailabilityMonitor::AvailabilityMonitor(AvailabilityOptions options)
    : model_(std::move(options)) {}

bool AvailabilityMonitor::wants(const std::string& f, bool nemesis) const {
  return nemesis || f == kPoll || f == kCancel;
}

void AvailabilityMonitor::observe(const Op& op) {
  {
    std::lock_guard lk(mu_);
    model_.step(op);
  }
  changed_.notify_all();
}

void AvailabilityMonitor::observe_from(int64_t since_ns) {
  {
    std::lock_guard lk(mu_);
    model_.observe_from(since_ns);
  }
  changed_.notify_all();
}

bool AvailabilityMonitor::wait_settled(double duration_s, double timeout_s) {
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                      std::chrono::duration<double>(std::max(0.0, timeout_s)));
  std::unique_lock lk(mu_);
  return changed_.wait_until(lk, deadline, [&] {
    auto s = model_.settled_s();
    return s && *s >= duration_s;
  });
}

std::optional<double> AvailabilityMonitor::settled_s() const {
  std::lock_guard lk(mu_);
  return model_.settled_s();
}

json AvailabilityMonitor::result() const {
  std::lock_guard lk(mu_);
  return model_.result();
}

}  // namespace fj
