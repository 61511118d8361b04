#include "check/availability.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <set>

namespace fj {

namespace {

constexpr const char* kPoll = "job-running?";
constexpr const char* kCancel = "cancel-job";
constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

double secs(int64_t ns) { return static_cast<double>(ns) / 1e9; }
int64_t nanos(double s) { return static_cast<int64_t>(s * 1e9); }

struct Poll {
  std::string job;
  int64_t invoked;    // invoke time (the completion's when there was no invoke)
  int64_t completed;  // completion time
  int64_t index;
  bool ok;
  bool running;
  std::string state;  // ok polls
  std::string error;  // failed polls
};

struct Fault {
  std::string kind;
  int64_t start;
  int64_t end;
  bool healed = true;
};

struct JobInfo {
  std::vector<Poll> polls;
  int64_t cancel_ok = kNever;       // completion of the first successful cancel
  int64_t cancel_invoked = kNever;  // its invoke (or an unknown-outcome cancel's)
  bool cancelled = false;
  bool cancel_unknown = false;
};

// The job an op is about: a string value, or an object's "job".
std::string job_of(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object()) {
    auto it = v.find("job");
    if (it != v.end() && it->is_string()) return it->get<std::string>();
  }
  return "";
}

std::string describe(const Poll& p) {
  return p.ok ? "state " + p.state : p.error.empty() ? "failed" : p.error;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace

json check_availability(const std::vector<Op>& input, const AvailabilityOptions& opt) {
  std::vector<const Op*> ops;
  ops.reserve(input.size());
  for (const auto& op : input) ops.push_back(&op);
  std::stable_sort(ops.begin(), ops.end(),
                   [](const Op* a, const Op* b) { return a->index < b->index; });

  std::map<std::string, JobInfo> jobs;
  for (const auto& id : opt.jobs) jobs[id];
  std::vector<Fault> faults;
  std::map<std::string, const Op*> pending;  // process (as text) -> its open invoke
  const Op* nemesis = nullptr;               // the nemesis's open op
  std::map<std::string, int64_t> open_faults;
  int64_t last_time = 0;

  auto fault_event = [&](const std::string& f, int64_t start, int64_t end) {
    if (f.rfind("start-", 0) == 0) {
      open_faults.emplace(f.substr(6), start);  // a second start while open changes nothing
    } else if (f.rfind("stop-", 0) == 0 && open_faults.count(f.substr(5))) {
      auto it = open_faults.find(f.substr(5));
      faults.push_back({it->first, it->second, end});
      open_faults.erase(it);
    } else {
      faults.push_back({f, start, end});  // instant faults (and a stop without its start)
    }
  };

  for (const Op* op : ops) {
    last_time = std::max(last_time, op->time);
    if (op->is_nemesis()) {
      // Nemesis ops come as invoke + completion, or Jepsen-style as two infos of the same f.
      bool completion = op->type != "invoke";
      if (nemesis && completion && nemesis->f == op->f) {
        fault_event(op->f, nemesis->time, op->time);
        nemesis = nullptr;
        continue;
      }
      if (nemesis) fault_event(nemesis->f, nemesis->time, nemesis->time);
      nemesis = nullptr;
      if (op->type == "invoke" || op->type == "info")
        nemesis = op;
      else
        fault_event(op->f, op->time, op->time);
      continue;
    }
    std::string key = op->process.dump();
    if (op->type == "invoke") {
      pending[key] = op;
      if (op->f == kPoll || op->f == kCancel) {
        std::string id = job_of(op->value);
        if (!id.empty()) jobs[id];
      }
      continue;
    }
    const Op* inv = nullptr;
    if (auto it = pending.find(key); it != pending.end()) {
      inv = it->second;
      pending.erase(it);
    }
    if (op->f == kPoll) {
      std::string id = job_of(op->value);
      if (id.empty() && inv) id = job_of(inv->value);
      if (id.empty()) continue;
      Poll p;
      p.job = id;
      p.invoked = inv ? inv->time : op->time;
      p.completed = op->time;
      p.index = op->index;
      p.ok = op->type == "ok";
      const json* running =
          op->value.is_object() && op->value.contains("running") ? &op->value["running"] : nullptr;
      p.running = p.ok && running && running->is_boolean() && running->get<bool>();
      if (p.ok && op->value.is_object() && op->value.contains("state") &&
          op->value["state"].is_string())
        p.state = op->value["state"].get<std::string>();
      if (!p.ok) p.error = op->error().empty() ? op->type : op->error();
      jobs[id].polls.push_back(std::move(p));
    } else if (op->f == kCancel) {
      std::string id = job_of(op->value);
      if (id.empty() && inv) id = job_of(inv->value);
      if (id.empty()) continue;
      auto& j = jobs[id];
      int64_t invoked = inv ? inv->time : op->time;
      if (op->type == "ok") {
        j.cancelled = true;
        j.cancel_ok = std::min(j.cancel_ok, op->time);
        j.cancel_invoked = std::min(j.cancel_invoked, invoked);
      } else if (op->type == "info") {
        j.cancel_unknown = true;  // it may have worked: neither its stop nor its running counts
        j.cancel_invoked = std::min(j.cancel_invoked, invoked);
      }
    }
  }
  if (nemesis) fault_event(nemesis->f, nemesis->time, nemesis->time);
  for (const auto& [kind, start] : open_faults) faults.push_back({kind, start, last_time, false});
  std::sort(faults.begin(), faults.end(), [](const Fault& a, const Fault& b) {
    return a.start != b.start ? a.start < b.start : a.end < b.end;
  });

  int64_t last_fault_end = 0;
  for (const auto& f : faults) last_fault_end = std::max(last_fault_end, f.end);
  int64_t deadline = last_fault_end + nanos(opt.grace_period_s);

  json anomalies = json::array();
  json jobs_out = json::object();
  size_t total_polls = 0;
  for (auto& [id, j] : jobs) {
    std::stable_sort(j.polls.begin(), j.polls.end(), [](const Poll& a, const Poll& b) {
      return a.completed != b.completed ? a.completed < b.completed : a.index < b.index;
    });
    total_polls += j.polls.size();
    int64_t failed = 0, running = 0;
    for (const auto& p : j.polls) failed += !p.ok, running += p.running;
    bool excused = j.cancelled || j.cancel_unknown;

    // The final streak of running polls, first to last.
    double streak = 0;
    if (!j.polls.empty() && j.polls.back().running) {
      size_t first = j.polls.size() - 1;
      while (first > 0 && j.polls[first - 1].running) --first;
      streak = secs(j.polls.back().completed - j.polls[first].completed);
    }
    jobs_out[id] = {{"polls", j.polls.size()},
                    {"failed_polls", failed},
                    {"running_polls", running},
                    {"final_running_streak_s", streak},
                    {"cancelled", j.cancelled}};
    if (j.cancel_unknown) jobs_out[id]["cancel_outcome_unknown"] = true;

    if (j.polls.empty()) {
      anomalies.push_back({{"type", "never-polled"}, {"job", id}, {"time", nullptr}});
      continue;
    }

    // (a) down after the grace period: one anomaly per run of consecutive bad polls.
    std::optional<json> run;
    auto close_run = [&] {
      if (run) anomalies.push_back(std::move(*run));
      run.reset();
    };
    for (const auto& p : j.polls) {
      if (p.invoked <= deadline || p.invoked >= j.cancel_invoked) continue;
      if (p.running) {
        close_run();
        continue;
      }
      if (!run) {
        run = json{{"type", "unavailable-after-grace"},
                   {"job", id},
                   {"time", secs(p.invoked)},
                   {"deadline_s", secs(deadline)},
                   {"first", describe(p)},
                   {"polls", 0}};
      }
      (*run)["end"] = secs(p.completed);
      (*run)["polls"] = (*run)["polls"].get<int64_t>() + 1;
      (*run)["last"] = describe(p);
    }
    close_run();

    // (b) not healthy for long enough at the end.
    if (!excused && streak < opt.healthy_duration_s) {
      const Poll& last = j.polls.back();
      anomalies.push_back({{"type", "not-healthy-at-end"},
                           {"job", id},
                           {"time", secs(last.completed)},
                           {"final_running_streak_s", streak},
                           {"required_s", opt.healthy_duration_s},
                           {"last", describe(last)}});
    }

    // (c) still running well after a successful cancel.
    if (j.cancelled) {
      int64_t limit = j.cancel_ok + nanos(opt.cancel_grace_s);
      std::optional<json> a;
      for (const auto& p : j.polls) {
        if (!p.running || p.invoked <= limit) continue;
        if (!a)
          a = json{{"type", "running-after-cancel"},
                   {"job", id},
                   {"time", secs(p.invoked)},
                   {"cancelled_at_s", secs(j.cancel_ok)},
                   {"polls", 0}};
        (*a)["end"] = secs(p.completed);
        (*a)["polls"] = (*a)["polls"].get<int64_t>() + 1;
      }
      if (a) anomalies.push_back(std::move(*a));
    }
  }

  // Recovery: the moments at which every job's latest poll says running. At such a moment m is
  // the oldest of those latest polls; m never decreases, so the first moment that recovers a
  // fault ending at e (all latest polls after e) is found by binary search on m.
  std::vector<const Poll*> all;
  all.reserve(total_polls);
  std::vector<std::string> ids;
  std::map<std::string, size_t> slot;
  for (const auto& [id, j] : jobs) {
    slot[id] = ids.size();
    ids.push_back(id);
    for (const auto& p : j.polls) all.push_back(&p);
  }
  std::stable_sort(all.begin(), all.end(), [](const Poll* a, const Poll* b) {
    return a->completed != b->completed ? a->completed < b->completed : a->index < b->index;
  });
  std::vector<int64_t> cancel_at(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    const auto& j = jobs[ids[i]];
    cancel_at[i] = std::min(j.cancel_invoked, j.cancel_ok);
  }
  std::vector<int64_t> latest_time(ids.size(), -1);
  std::vector<char> latest_running(ids.size(), 0);
  std::vector<std::pair<int64_t, int64_t>> moments;  // (m, time)
  for (const Poll* p : all) {
    size_t s = slot[p->job];
    latest_time[s] = p->completed;
    latest_running[s] = p->running;
    if (!p->running) continue;
    int64_t m = kNever;
    bool every = true;
    for (size_t i = 0; i < ids.size() && every; ++i) {
      if (latest_time[i] < 0 || cancel_at[i] <= p->completed) continue;
      every = latest_running[i];
      m = std::min(m, latest_time[i]);
    }
    if (every && m != kNever) moments.emplace_back(m, p->completed);
  }

  json faults_out = json::array();
  std::map<std::string, std::vector<double>> recovered;
  std::map<std::string, int64_t> fault_count;
  for (const auto& f : faults) {
    auto it = std::partition_point(moments.begin(), moments.end(),
                                   [&](const auto& mt) { return mt.first <= f.end; });
    json rec = nullptr;
    ++fault_count[f.kind];
    if (it != moments.end() && f.healed) {
      double r = secs(it->second - f.end);
      rec = r;
      recovered[f.kind].push_back(r);
    }
    json fo = {
        {"kind", f.kind}, {"start_s", secs(f.start)}, {"end_s", secs(f.end)}, {"recovery_s", rec}};
    if (!f.healed) fo["healed"] = false;
    faults_out.push_back(std::move(fo));
  }
  json recovery = json::object();
  for (const auto& [kind, n] : fault_count) {
    auto& r = recovered[kind];
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

  json out;
  if (total_polls == 0) {
    out["valid?"] = "unknown";
    out["error"] = "no completed job-running? poll in the history: availability cannot be judged";
    anomalies = json::array();
    types = json::object();
  } else {
    out["valid?"] = anomalies.empty();
  }
  out["anomalies"] = std::move(anomalies);
  out["anomaly_types"] = std::move(types);
  out["jobs"] = std::move(jobs_out);
  out["faults"] = std::move(faults_out);
  out["recovery"] = std::move(recovery);
  out["last_fault_end_s"] = secs(last_fault_end);
  out["polls"] = total_polls;
  return out;
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

}  // namespace fj
