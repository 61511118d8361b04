// Reads a history file for the availability checker: mapped, scanned line by line into light
// events (a second thread scans the next batch while the model steps through the last), with the
// lines outside the fast subset (nemesis ops, odd JSON) parsed in full. Histories of long runs
// and of the exactly-once workload are never parsed into memory.

#include <algorithm>
#include <cstring>
#include <future>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "check/availability.hpp"
#include "common/json_scan.hpp"
#include "common/mapped_file.hpp"

namespace fj {

namespace {

constexpr std::string_view kPoll = "job-running?";
constexpr std::string_view kCancel = "cancel-job";

// Reads what the checker needs of one history line without building an Op: index, time,
// process, type, f and, for polls and cancels, the value's job, running, state, tasks and the
// error. Returns false for a line outside this fast subset (a nemesis op, escapes in strings,
// a malformed line): the caller parses it in full.
class LineScan {
 public:
  explicit LineScan(std::string_view line) : c_(line) {}

  bool scan(int64_t& index, AvailabilityEvent& e, bool& is_nemesis, bool& relevant) {
    bool has_index = false, has_time = false, has_process = false, has_type = false, has_f = false,
         value_done = false;
    std::string_view f;
    const char* value_at = nullptr;
    bool read = c_.members([&](std::string_view key) {
      if (key == "index" || key == "time")
        return c_.op_clock(key, index, e.time, has_index, has_time);
      if (key == "process") {
        has_process = true;
        if (c_.at_end() || c_.peek() != '"') return c_.integer(e.proc);
        e.proc_is_int = false;
        return c_.plain_string(e.proc_text);
      }
      if (key == "type") return has_type = c_.plain_string(e.type);
      if (key == "f") return has_f = c_.plain_string(f);
      if (key == "value") {
        if (has_f && (f == kPoll || f == kCancel)) {
          // The usual order (f before value): read the value's fields in one pass.
          return value_done = scan_value(e);
        }
        value_at = c_.pos();
        return c_.skip_value();
      }
      if (key == "error" && !c_.at_end() && c_.peek() == '"') return c_.plain_string(e.error);
      return c_.skip_value();
    });
    c_.ws();
    if (!(read && c_.at_end() && has_index && has_time && has_process && has_type && has_f))
      return false;
    if (e.type != "invoke" && e.type != "ok" && e.type != "fail" && e.type != "info") return false;
    is_nemesis = !e.proc_is_int && e.proc_text == "nemesis";
    relevant = is_nemesis || f == kPoll || f == kCancel;
    if (is_nemesis || !relevant) return true;
    e.poll = f == kPoll;
    if (value_done || value_at == nullptr) return true;
    c_.seek(value_at);
    return scan_value(e);
  }

 private:
  // A poll's or cancel's value: the job id as a string, or an object with the poller's fields.
  bool scan_value(AvailabilityEvent& e) {
    if (c_.at_end()) return false;
    if (c_.peek() == '"') return c_.plain_string(e.job);
    if (c_.peek() != '{') return c_.skip_value();
    return c_.members([&](std::string_view key) {
      char next = c_.at_end() ? '\0' : c_.peek();
      if (key == "job" && next == '"') return c_.plain_string(e.job);
      if (key == "state" && next == '"') return c_.plain_string(e.state);
      if (key == "running" && (next == 't' || next == 'f')) {
        e.running = next == 't';
        return c_.literal(e.running ? "true" : "false");
      }
      if (key == "tasks_running" || key == "parallelism_total") {
        e.has_tasks = true;
        return c_.integer(key == "tasks_running" ? e.tasks : e.parallelism);
      }
      return c_.skip_value();
    });
  }

  JsonCursor c_;
};

// One line of a history file, scanned: the event (fast), or the text for a full parse.
struct ScannedLine {
  bool fast = false;
  bool relevant = false;
  bool last = false;  // the file's last line, without its newline
  int64_t index = -1;
  size_t line = 0;  // 1-based
  AvailabilityEvent event;
  std::string_view text;
};

struct ScanBatch {
  std::vector<ScannedLine> lines;
  size_t first_line = 1;
  size_t end = 0;  // where the next batch starts
};

// Scans up to kBatchLines lines of data from pos (at a line start).
ScanBatch scan_batch(std::string_view data, size_t pos, size_t first_line) {
  constexpr size_t kBatchLines = 1 << 16;
  ScanBatch b;
  b.first_line = first_line;
  b.lines.reserve(kBatchLines);
  while (pos < data.size() && b.lines.size() < kBatchLines) {
    const void* nl = std::memchr(data.data() + pos, '\n', data.size() - pos);
    size_t stop =
        nl ? static_cast<size_t>(static_cast<const char*>(nl) - data.data()) : data.size();
    ScannedLine& l = b.lines.emplace_back();
    l.text = data.substr(pos, stop - pos);
    l.line = first_line + b.lines.size() - 1;
    l.last = nl == nullptr;
    bool nemesis = false;
    l.fast = LineScan(l.text).scan(l.index, l.event, nemesis, l.relevant) && !nemesis;
    l.event.index = l.index;
    pos = stop + 1;
  }
  b.end = std::min(pos, data.size());
  return b;
}

}  // namespace

json check_availability_file(const std::string& path, const AvailabilityOptions& options) {
  // Steps the model line by line in index order, without an Op per line; a second thread scans
  // the next batch of lines while this one steps through the last (the scans are views into the
  // mapping, so a batch costs no copies, and its pages are handed back once stepped). A file
  // whose indices go backwards is read whole and sorted instead.
  AvailabilityModel model(options);
  std::vector<std::pair<size_t, std::string>> errors;
  int64_t last_index = -1;
  bool ordered = true;
  auto slow = [&](const ScannedLine& l) {  // a line outside the fast subset: parsed in full
    std::string_view text = l.text;
    if (std::all_of(text.begin(), text.end(),
                    [](char c) { return c == ' ' || c == '\t' || c == '\r'; }))
      return;  // a blank line
    json j = json::parse(text.begin(), text.end(), nullptr, false);
    Op op;
    std::string reason;
    if (j.is_discarded()) {
      errors.emplace_back(l.line, l.last ? "invalid JSON (truncated last line?)" : "invalid JSON");
    } else if (!op_from_json(std::move(j), op, reason)) {
      errors.emplace_back(l.line, reason);
    } else {
      if (op.index <= last_index) ordered = false;
      last_index = op.index;
      model.step(op);
    }
  };
  MappedFile mapped(path);
  {
    std::string_view data = mapped.view();
    auto next = std::async(std::launch::async, scan_batch, data, size_t{0}, size_t{1});
    for (size_t start = 0;;) {
      ScanBatch batch = next.get();
      bool more = batch.end < data.size();
      if (more)
        next = std::async(std::launch::async, scan_batch, data, batch.end,
                          batch.first_line + batch.lines.size());
      for (const auto& l : batch.lines) {
        if (!l.fast) {
          slow(l);
        } else {
          if (l.index <= last_index) ordered = false;
          last_index = l.index;
          if (l.relevant)
            model.step(l.event);
          else
            model.skip(l.event.time);
        }
      }
      mapped.release(start, batch.end);  // stepped: its pages may go
      start = batch.end;
      if (!more) break;
      if (!ordered) {
        next.wait();
        break;
      }
    }
  }

  json out;
  if (ordered) {
    out = model.result();
  } else {
    ReadResult r = read_history(path);
    out = check_availability(r.ops, options);
    errors = std::move(r.errors);
  }
  if (!errors.empty()) {
    json first = json::array();
    for (size_t i = 0; i < errors.size() && i < 10; ++i)
      first.push_back({{"line", errors[i].first}, {"error", errors[i].second}});
    out["history_errors"] = {{"count", errors.size()}, {"first", std::move(first)}};
    if (out["valid?"] == true) {
      out["valid?"] = "unknown";
      out["error"] = std::to_string(errors.size()) +
                     " line(s) of the history could not be read (see history_errors)";
    }
  }
  return out;
}

}  // namespace fj
