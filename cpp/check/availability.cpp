#include "check/availability.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <memory>
#include <set>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace fj {

namespace {

constexpr const char* kPoll = "job-running?";
constexpr const char* kCancel = "cancel-job";
constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

double secs(int64_t ns) { return static_cast<double>(ns) / 1e9; }
int64_t nanos(double s) { return static_cast<int64_t>(s * 1e9); }

// The job an op's value is about: a string value, or an object's "job".
std::string_view job_of(const json& v) {
  if (v.is_string()) return v.get_ref<const std::string&>();
  if (v.is_object()) {
    auto it = v.find("job");
    if (it != v.end() && it->is_string()) return it->get_ref<const std::string&>();
  }
  return {};
}

AvailabilityEvent event_of(const Op& op) {
  AvailabilityEvent e;
  e.index = op.index;
  e.time = op.time;
  e.poll = op.f == "job-running?";
  e.type = op.type;
  if (op.process.is_number_integer()) {
    e.proc = op.process.get<int64_t>();
  } else {
    e.proc_is_int = false;
    e.proc_text = op.process.is_string()
                      ? std::string_view(op.process.get_ref<const std::string&>())
                      : std::string_view("?");
  }
  e.job = job_of(op.value);
  if (op.value.is_object()) {
    const auto& v = op.value;
    auto r = v.find("running");
    e.running = r != v.end() && r->is_boolean() && r->get<bool>();
    auto st = v.find("state");
    if (st != v.end() && st->is_string()) e.state = st->get_ref<const std::string&>();
    auto t = v.find("tasks_running"), p = v.find("parallelism_total");
    if (t != v.end() && p != v.end() && t->is_number_integer() && p->is_number_integer()) {
      e.has_tasks = true;
      e.tasks = t->get<int64_t>();
      e.parallelism = p->get<int64_t>();
    }
  }
  if (op.extra.is_object()) {
    auto er = op.extra.find("error");
    if (er != op.extra.end() && er->is_string()) e.error = er->get_ref<const std::string&>();
  }
  return e;
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

// What one poll saw, kept per job for the anomaly that may need it.
struct Seen {
  int64_t index = -1;  // the poll's completion in the history
  bool ok = true;
  std::string state;
  bool has_tasks = false;
  int64_t tasks = 0, parallelism = 0;
  std::string error;

  void set(const AvailabilityEvent& e, bool ok_) {
    index = e.index;
    ok = ok_;
    if (ok) {
      state.assign(e.state.empty() ? std::string_view("?") : e.state);
      has_tasks = e.has_tasks;
      tasks = e.tasks;
      parallelism = e.parallelism;
    } else {
      error.assign(e.error.empty() ? e.type : e.error);
    }
  }
  std::string describe() const {
    if (!ok) return error;
    std::string out = "state " + state;
    if (has_tasks)
      out +=
          " (" + std::to_string(tasks) + "/" + std::to_string(parallelism) + " subtasks running)";
    return out;
  }
};

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
  Seen last;
  std::optional<json> open;  // the anomaly being extended by consecutive polls
  const char* open_type = nullptr;
  int64_t open_end = 0, open_polls = 0, open_first_index = -1;
  Seen open_last;
  std::vector<json> anomalies;
  // For recovery: the latest poll.
  int64_t latest_time = -1;
  bool latest_running = false;
};

struct Pending {
  int64_t time;
  const std::string* id;  // the invoke's job (a key of the jobs map), or null
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
  std::map<std::string, Job, std::less<>> jobs;
  std::unordered_map<int64_t, Pending> pending;               // integer processes
  std::map<std::string, Pending, std::less<>> pending_named;  // any other process
  std::vector<std::pair<int64_t, int64_t>> moments;           // (m, time), see recovery
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

  // Extends the job's open anomaly of this type by one poll, or opens one.
  void add_anomaly(Job& j, const std::string& id, const char* type, int64_t t) {
    if (j.open && std::string_view(j.open_type) == type) {
      j.open_end = t;
      ++j.open_polls;
      j.open_last = j.last;
      return;
    }
    close_anomaly(j);
    std::string what = j.last.describe();
    json a = {{"type", type},
              {"message", message_of(type)},
              {"job", id},
              {"time", secs(t)},
              {"first", what}};
    if (std::string_view(type) == "job-running-after-cancellation") {
      a["cancelled_at_s"] = secs(j.cancel_time);
    } else {
      a["last_failure_s"] = secs(last_failure);
      a["grace_period_s"] = opt.grace_period_s;
    }
    j.open = std::move(a);
    j.open_first_index = j.last.index;
    j.open_type = type;
    j.open_end = t;
    j.open_polls = 1;
    j.open_last = j.last;
  }

  static json finished(const Job& j) {
    json a = *j.open;
    a["end"] = secs(j.open_end);
    a["polls"] = j.open_polls;
    a["last"] = j.open_last.describe();
    // The completions of the first and the last poll that show it (one when they are the same).
    a["ops"] = j.open_first_index == j.open_last.index
                   ? json::array({j.open_first_index})
                   : json::array({j.open_first_index, j.open_last.index});
    return a;
  }

  static void close_anomaly(Job& j) {
    if (j.open) j.anomalies.push_back(finished(j));
    j.open.reset();
    j.open_type = nullptr;
  }

  void step_poll(const AvailabilityEvent& e, Job& j, const std::string& id, int64_t invoked) {
    int64_t t = e.time;
    bool ok = e.type == "ok";
    bool running = ok && e.running;
    ++total_polls;
    ++j.polls;
    j.failed += !ok;
    j.running += running;
    j.last.set(e, ok);

    bool healthy_expected = should_be_healthy(t);
    bool anomaly = true;
    if (!ok && healthy_expected) {
      add_anomaly(j, id, "cluster-not-running", t);
    } else if (running && j.cancelled && t - j.cancel_time >= cancel_grace_ns) {
      add_anomaly(j, id, "job-running-after-cancellation", t);
    } else if (ok && !running && healthy_expected && !j.cancelled) {
      add_anomaly(j, id, "job-not-running", t);
    } else {
      anomaly = false;
      if (j.open) close_anomaly(j);
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
      if (!j.outage) j.outage = Outage{j.last_available, t, -1, 0, false, j.last.describe()};
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

  void step_cancel(const AvailabilityEvent& e, Job& j) {
    ++j.cancel_attempts;
    if (e.type == "ok") {
      if (!j.cancelled) {
        j.cancelled = true;
        j.cancel_time = e.time;
        j.streak_first = j.streak_last = j.streak_first_since = -1;
        close_anomaly(j);
      }
    } else {
      j.cancel_error = std::string(e.type) + (e.error.empty() ? "" : ": " + std::string(e.error));
    }
  }

  void begin(int64_t time) {
    if (!started) {
      started = true;
      origin = last_failure = time;
    }
    last_time = std::max(last_time, time);
  }

  void step(const Op& op) {
    begin(op.time);
    if (op.is_nemesis()) {
      step_nemesis(op);
      return;
    }
    if (op.f != kPoll && op.f != kCancel) return;
    step_event(event_of(op));
  }

  std::pair<const std::string*, Job*> job_named(std::string_view id) {
    auto it = jobs.find(id);
    if (it == jobs.end()) it = jobs.emplace(std::string(id), Job{}).first;
    return {&it->first, &it->second};
  }

  // A poll's or cancel's invoke or completion (begin() has been called).
  void step_event(const AvailabilityEvent& e) {
    Pending* slot = nullptr;
    if (e.type == "invoke") {
      Pending p{e.time, e.job.empty() ? nullptr : job_named(e.job).first};
      if (e.proc_is_int)
        pending[e.proc] = p;
      else
        pending_named[std::string(e.proc_text)] = p;
      return;
    }
    int64_t invoked = e.time;
    const std::string* id = nullptr;
    if (e.proc_is_int) {
      auto it = pending.find(e.proc);
      if (it != pending.end()) slot = &it->second;
    } else {
      auto it = pending_named.find(e.proc_text);
      if (it != pending_named.end()) slot = &it->second;
    }
    if (slot) {
      invoked = slot->time;
      id = slot->id;
      slot->time = kNever;  // consumed: a second completion has no invoke
      slot->id = nullptr;
      if (invoked == kNever) invoked = e.time;
    }
    Job* job = nullptr;
    if (!e.job.empty()) {
      std::tie(id, job) = job_named(e.job);
    } else if (id) {
      job = &jobs.find(*id)->second;
    }
    if (!job) {
      // A poll naming no job (the original's jobs-running? polled every job in one op, and a
      // failed one said nothing of any): it counts for every job known so far.
      if (e.poll && !jobs.empty()) {
        for (auto& [other_id, other] : jobs) step_poll(e, other, other_id, invoked);
      } else {
        unattributed_polls += e.poll;
      }
      return;
    }
    if (e.poll)
      step_poll(e, *job, *id, invoked);
    else
      step_cancel(e, *job);
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
  for (const auto& [kind, o] : open_faults)
    all.push_back({kind, o.start, last_time, false, o.value});
  std::stable_sort(all.begin(), all.end(), [](const Fault& a, const Fault& b) {
    return a.start != b.start ? a.start < b.start : a.end < b.end;
  });
  int64_t last_fault_end = 0, longest = 0;
  for (const auto& f : all) {
    last_fault_end = std::max(last_fault_end, f.end);
    longest = std::max(longest, f.end - f.start);
  }
  std::vector<size_t> by_end(all.size());
  for (size_t i = 0; i < all.size(); ++i) by_end[i] = i;
  std::stable_sort(by_end.begin(), by_end.end(),
                   [&](size_t a, size_t b) { return all[a].end < all[b].end; });

  std::set<std::string> submitted(opt.jobs.begin(), opt.jobs.end());
  json anomalies = json::array();
  json jobs_out = json::object();
  json outages = json::array();
  std::vector<std::pair<const Outage*, const std::string*>> outage_list;
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
    if (j.open) anomalies.push_back(finished(j));
    if (!submitted.empty() && !submitted.count(id) && (j.polls > 0 || j.cancel_attempts > 0))
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
        errors.push_back(
            "cancel-job of job " + id + " did not succeed in " + std::to_string(j.cancel_attempts) +
            " attempt(s) (last: " + j.cancel_error + "): the cancellation cannot be checked");
      }
    }
    if (j.polls > 0 && !j.cancelled && streak < opt.healthy_duration_s)
      anomalies.push_back({{"type", "not-healthy-at-end"},
                           {"message", "Job is not healthy at the end."},
                           {"job", id},
                           {"time", secs(last_time)},
                           {"final_running_streak_s", streak},
                           {"required_s", opt.healthy_duration_s},
                           {"last", j.last.describe()}});
    jo["outages"] = j.outages.size() + (j.outage ? 1 : 0);
    jobs_out[id] = std::move(jo);
    for (const auto& o : j.outages) outage_list.emplace_back(&o, &id);
    if (j.outage) outage_list.emplace_back(&*j.outage, &id);
  }
  // Outages in time order, each with the faults overlapping it (all is sorted by start; none
  // lasts longer than `longest`) and the most recent fault that ended before it began. Built
  // with emplace: a long run has tens of thousands.
  std::stable_sort(outage_list.begin(), outage_list.end(),
                   [](const auto& a, const auto& b) { return a.first->start < b.first->start; });
  auto& outage_array = outages.get_ref<json::array_t&>();
  outage_array.reserve(outage_list.size());
  for (const auto& [o, id] : outage_list) {
    int64_t from = o->since >= 0 ? o->since : o->start;
    int64_t to = o->end >= 0 ? o->end : last_time;
    json inside = json::array();
    auto lo = std::partition_point(all.begin(), all.end(),
                                   [&](const Fault& f) { return f.start < from - longest; });
    for (auto it = lo; it != all.end() && it->start <= to; ++it) {
      if (it->end < from) continue;
      json f(json::value_t::object);
      auto& fm = f.get_ref<json::object_t&>();
      fm.emplace("fault", it - all.begin());
      fm.emplace("kind", it->kind);
      fm.emplace("start_s", secs(it->start));
      inside.push_back(std::move(f));
    }
    json after = nullptr;
    auto e = std::partition_point(by_end.begin(), by_end.end(),
                                  [&](size_t i) { return all[i].end < from; });
    if (e != by_end.begin()) {
      size_t i = *(e - 1);
      after = json(json::value_t::object);
      auto& am = after.get_ref<json::object_t&>();
      am.emplace("fault", i);
      am.emplace("kind", all[i].kind);
      am.emplace("end_s", secs(all[i].end));
    }
    json out(json::value_t::object);
    auto& m = out.get_ref<json::object_t&>();
    m.emplace("job", *id);
    m.emplace("since_s", o->since >= 0 ? json(secs(o->since)) : json());
    m.emplace("start_s", secs(o->start));
    m.emplace("end_s", o->end >= 0 ? json(secs(o->end)) : json());
    m.emplace("length_s", o->end >= 0 ? json(secs(o->end - o->start)) : json());
    m.emplace("polls", o->polls);
    m.emplace("first", o->first);
    m.emplace("anomalous", o->anomalous);
    m.emplace("faults", std::move(inside));
    m.emplace("after", std::move(after));
    outage_array.push_back(std::move(out));
  }

  // A fault's recovery runs from its end to the end of the outage it caused: the first outage
  // (any job) that begins while it is active or after it, before the next fault starts. Flink
  // notices a lost TaskManager only at a heartbeat timeout, so the polls right after a kill
  // still see the job running; measured from the fault's end to the next running poll, such a
  // kill would seem to cost nothing. A fault followed by no outage recovers at the next poll
  // that finds every job running.
  std::vector<int64_t> outage_starts;
  outage_starts.reserve(outage_list.size());
  for (const auto& [o, id] : outage_list) outage_starts.push_back(o->start);  // sorted above
  std::vector<int64_t> fault_starts;
  fault_starts.reserve(all.size());
  for (const auto& f : all) fault_starts.push_back(f.start);  // all is sorted by start
  json faults_out = json::array();
  std::map<std::string, std::vector<double>> recovered;
  std::map<std::string, int64_t> fault_count;
  for (const auto& f : all) {
    int64_t next = kNever;
    auto ns = std::upper_bound(fault_starts.begin(), fault_starts.end(), f.end);
    if (ns != fault_starts.end()) next = *ns;
    auto os = std::lower_bound(outage_starts.begin(), outage_starts.end(), f.start);
    bool caused = os != outage_starts.end() && *os < next;
    int64_t from = caused ? std::max(f.end, *os) : f.end;
    auto it = std::partition_point(moments.begin(), moments.end(),
                                   [&](const auto& mt) { return mt.first <= from; });
    json rec = nullptr;
    ++fault_count[f.kind];
    if (it != moments.end() && f.healed) {
      double r = secs(it->second - f.end);
      rec = r;
      recovered[f.kind].push_back(r);
    }
    json fo(json::value_t::object);
    auto& m = fo.get_ref<json::object_t&>();
    m.emplace("kind", f.kind);
    m.emplace("start_s", secs(f.start));
    m.emplace("end_s", secs(f.end));
    m.emplace("recovery_s", std::move(rec));
    m.emplace("outage_start_s", caused ? json(secs(*os)) : json());
    m.emplace("instant", f.instant);
    m.emplace("value", f.value);
    if (!f.healed) m.emplace("healed", false);
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

AvailabilityModel::AvailabilityModel(AvailabilityOptions options) : s_(std::make_unique<State>()) {
  s_->grace_ns = nanos(options.grace_period_s);
  s_->cancel_grace_ns = nanos(options.cancel_grace_s);
  s_->opt = std::move(options);
}
AvailabilityModel::~AvailabilityModel() = default;
AvailabilityModel::AvailabilityModel(AvailabilityModel&&) noexcept = default;
AvailabilityModel& AvailabilityModel::operator=(AvailabilityModel&&) noexcept = default;

void AvailabilityModel::step(const Op& op) { s_->step(op); }

void AvailabilityModel::step(const AvailabilityEvent& e) {
  s_->begin(e.time);
  s_->step_event(e);
}

void AvailabilityModel::skip(int64_t time) { s_->begin(time); }

void AvailabilityModel::observe_from(int64_t since_ns) {
  s_->since = since_ns;
  for (auto& [id, j] : s_->jobs) j.streak_first_since = -1;
}

std::optional<double> AvailabilityModel::settled_s() const { return s_->settled_s(); }

json AvailabilityModel::result() const { return s_->result(); }

json check_availability(const std::vector<Op>& input, const AvailabilityOptions& opt) {
  AvailabilityModel model(opt);
  auto by_index = [](const Op& a, const Op& b) { return a.index < b.index; };
  if (std::is_sorted(input.begin(), input.end(), by_index)) {  // as a recorder leaves them
    for (const Op& op : input) model.step(op);
    return model.result();
  }
  std::vector<const Op*> ops;
  ops.reserve(input.size());
  for (const auto& op : input) ops.push_back(&op);
  std::stable_sort(ops.begin(), ops.end(),
                   [](const Op* a, const Op* b) { return a->index < b->index; });
  for (const Op* op : ops) model.step(*op);
  return model.result();
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
