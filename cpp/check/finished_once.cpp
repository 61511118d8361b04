#include "check/finished_once.hpp"

#include <map>
#include <set>
#include <string_view>

namespace fj {

namespace {

bool globally_terminal(std::string_view s) {
  return s == "FINISHED" || s == "FAILED" || s == "CANCELED";
}

// States in which a job is scheduled or runs (SUSPENDED is neither: a leader let it go).
bool scheduled(std::string_view s) {
  return s == "CREATED" || s == "INITIALIZING" || s == "RUNNING" || s == "RESTARTING" ||
         s == "FAILING" || s == "CANCELLING" || s == "RECONCILING";
}

struct JobSeen {
  size_t polls_ok = 0;
  const Op* terminal = nullptr;  // the first poll that saw a globally terminal state
  std::string terminal_state;
  std::string last_state;
  std::vector<const Op*> again;  // polls after `terminal` that saw the job scheduled or running
  size_t again_count = 0;
};

std::string state_of(const json& v) {
  auto it = v.find("state");
  return it != v.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool running_of(const json& v) {
  auto it = v.find("running");
  return it != v.end() && it->is_boolean() && it->get<bool>();
}

}  // namespace

json check_finished_once(const std::vector<Op>& ops, const std::vector<std::string>& jobs,
                         size_t max_examples, const json& log_ends) {
  std::map<std::string, JobSeen> seen;
  for (const auto& j : jobs) seen[j];
  for (const Op& op : ops) {
    if (op.f != "job-running?" || op.type != "ok" || !op.value.is_object()) continue;
    auto jit = op.value.find("job");
    if (jit == op.value.end() || !jit->is_string()) continue;
    auto s = seen.find(jit->get<std::string>());
    if (s == seen.end()) continue;
    JobSeen& js = s->second;
    const std::string state = state_of(op.value);
    ++js.polls_ok;
    if (!state.empty()) js.last_state = state;
    if (js.terminal == nullptr) {
      if (globally_terminal(state)) {
        js.terminal = &op;
        js.terminal_state = state;
      }
    } else if (scheduled(state) || running_of(op.value)) {
      ++js.again_count;
      if (js.again.size() < max_examples) js.again.push_back(&op);
    }
  }

  json result = {{"jobs", json::object()}, {"anomalies", json::array()}};
  bool unknown = false;
  std::set<std::string> types;
  for (const auto& [id, js] : seen) {
    json& out = result["jobs"][id];
    out = {{"polls_ok", js.polls_ok},
           {"terminal_state", js.terminal ? json(js.terminal_state) : json(nullptr)},
           {"first_terminal", js.terminal ? js.terminal->to_json() : json(nullptr)},
           {"ran_again", js.again_count},
           {"last_state", js.last_state.empty() ? json(nullptr) : json(js.last_state)}};
    auto anomaly = [&](const std::string& type, json ops_shown) {
      types.insert(type);
      result["anomalies"].push_back({{"type", type}, {"job", id}, {"ops", std::move(ops_shown)}});
    };
    const json* ends = nullptr;
    if (log_ends.is_object()) {
      auto e = log_ends.find(id);
      if (e != log_ends.end() && e->is_array()) ends = &*e;
    }
    out["ends_logged"] = ends ? json(ends->size()) : json(nullptr);
    if (ends && ends->size() > 1) anomaly("finished-more-than-once", *ends);
    if (js.polls_ok == 0) {
      if (!(ends && ends->size() > 1)) unknown = true;
      continue;
    }
    if (js.terminal == nullptr) {
      // A logged end the polls missed is an end (the REST endpoint closed with it).
      if (!ends || ends->empty()) anomaly("never-finished", json::array());
      continue;
    }
    if (js.terminal_state != "FINISHED") anomaly("ended-not-finished", {js.terminal->to_json()});
    if (js.again_count > 0) {
      json shown = json::array({js.terminal->to_json()});
      for (const Op* o : js.again) shown.push_back(o->to_json());
      anomaly("ran-after-finished", std::move(shown));
    }
  }
  result["anomaly_types"] = json(std::vector<std::string>(types.begin(), types.end()));
  if (!types.empty())
    result["valid"] = false;
  else if (unknown || seen.empty())
    result["valid"] = "unknown";
  else
    result["valid"] = true;
  return result;
}

json check_finished_once_file(const std::string& path, const std::vector<std::string>& jobs,
                              size_t max_examples, const json& log_ends) {
  ReadResult read = read_history(path);
  json result = check_finished_once(read.ops, jobs, max_examples, log_ends);
  result["bad_line_count"] = read.errors.size();
  if (!read.errors.empty() && result["valid"] == true) result["valid"] = "unknown";
  return result;
}

}  // namespace fj
