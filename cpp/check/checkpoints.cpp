#include "check/checkpoints.hpp"

#include <map>
#include <optional>

namespace fj {

namespace {

std::optional<int64_t> id_of(const json& v, const char* key) {
  auto it = v.find(key);
  if (it == v.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<int64_t>();
}

struct JobSeen {
  size_t polls_ok = 0;
  std::optional<int64_t> max_completed, last_completed, last_restored;
  const Op* max_op = nullptr;         // the op that saw max_completed first
  const Op* max_when_back = nullptr;  // max_op as it was when the ids first went back
  std::vector<const Op*> back;        // examples: ops that saw a completed id below the maximum
  std::vector<const Op*> below;       // the current streak of ops below the maximum
  size_t went_back = 0;               // ops below the maximum, in streaks of kMinBelow or more
};

// A stale leader's REST endpoint may answer once or twice with older ids while leadership
// moves; a wiped store keeps every later answer below the old maximum.
constexpr size_t kMinBelow = 3;

}  // namespace

json check_checkpoints(const std::vector<Op>& ops, const std::vector<std::string>& jobs,
                       size_t max_examples) {
  std::map<std::string, JobSeen> seen;
  for (const auto& j : jobs) seen[j];
  for (const Op& op : ops) {
    if (op.f != "checkpoints" || op.type != "ok" || !op.value.is_object()) continue;
    auto jit = op.value.find("job");
    if (jit == op.value.end() || !jit->is_string()) continue;
    auto s = seen.find(jit->get<std::string>());
    if (s == seen.end()) continue;
    JobSeen& js = s->second;
    ++js.polls_ok;
    if (auto r = id_of(op.value, "restored")) js.last_restored = r;
    auto c = id_of(op.value, "completed");
    if (!c) continue;  // none yet (or a JobMaster still restoring): nothing to compare
    js.last_completed = c;
    if (!js.max_completed || *c >= *js.max_completed) {
      if (!js.max_completed || *c > *js.max_completed) js.max_op = &op;
      js.max_completed = c;
      js.below.clear();  // back at (or past) the maximum: a lower answer was a stale read
    } else {
      js.below.push_back(&op);
      if (js.below.size() == kMinBelow) {  // the ids went back and stayed back
        if (js.went_back == 0) {
          js.max_when_back = js.max_op;
          for (const Op* o : js.below)
            if (js.back.size() < max_examples) js.back.push_back(o);
        }
        js.went_back += kMinBelow;
      } else if (js.below.size() > kMinBelow) {
        ++js.went_back;
        if (js.back.size() < max_examples && js.max_when_back == js.max_op) js.back.push_back(&op);
      }
    }
  }

  json result = {{"jobs", json::object()}, {"anomalies", json::array()}};
  auto opt = [](const std::optional<int64_t>& v) { return v ? json(*v) : json(nullptr); };
  for (const auto& [id, js] : seen) {
    result["jobs"][id] = {{"polls_ok", js.polls_ok},
                          {"max_completed", opt(js.max_completed)},
                          {"last_completed", opt(js.last_completed)},
                          {"last_restored", opt(js.last_restored)},
                          {"went_back", js.went_back}};
    if (js.went_back > 0) {
      json shown = json::array({js.max_when_back->to_json()});
      for (const Op* o : js.back) shown.push_back(o->to_json());
      result["anomalies"].push_back(
          {{"type", "checkpoint-ids-went-back"}, {"job", id}, {"ops", std::move(shown)}});
    }
  }
  const bool bad = !result["anomalies"].empty();
  result["anomaly_types"] = bad ? json::array({"checkpoint-ids-went-back"}) : json::array();
  result["valid"] = !bad;
  return result;
}

json check_checkpoints_file(const std::string& path, const std::vector<std::string>& jobs,
                            size_t max_examples) {
  ReadResult read = read_history(path);
  json result = check_checkpoints(read.ops, jobs, max_examples);
  result["bad_line_count"] = read.errors.size();
  if (!read.errors.empty() && result["valid"] == true) result["valid"] = "unknown";
  return result;
}

}  // namespace fj
