#include "history/history.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string_view>

#include "common/json_scan.hpp"

namespace fj {

namespace {

// A full buffer wakes the writer; a much fuller one (writer stuck on a slow disk) makes the
// recording thread write itself, so memory stays bounded.
constexpr size_t kWakeBytes = 1 << 20;
constexpr size_t kBackPressureBytes = 64 << 20;

bool is_op_type(std::string_view t) {
  return t == "invoke" || t == "ok" || t == "fail" || t == "info";
}

bool is_core_key(std::string_view k) {
  return k == "index" || k == "time" || k == "process" || k == "type" || k == "f" || k == "value";
}

void append_int(std::string& out, int64_t v) {
  char tmp[24];
  auto r = std::to_chars(tmp, tmp + sizeof tmp, v);
  out.append(tmp, r.ptr);
}

// Strings are nearly always short ASCII identifiers: copy those as they are; anything needing
// escapes or UTF-8 checks goes through nlohmann (invalid UTF-8 replaced rather than thrown).
void append_string(std::string& out, std::string_view s) {
  bool plain = true;
  for (unsigned char c : s) {
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      plain = false;
      break;
    }
  }
  if (plain) {
    out.push_back('"');
    out.append(s);
    out.push_back('"');
  } else {
    out += json(s).dump(-1, ' ', false, json::error_handler_t::replace);
  }
}

void append_json(std::string& out, const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      out += "null";
      return;
    case json::value_t::boolean:
      out += v.get<bool>() ? "true" : "false";
      return;
    case json::value_t::number_integer:
      append_int(out, v.get<int64_t>());
      return;
    case json::value_t::number_unsigned: {
      char tmp[24];
      auto r = std::to_chars(tmp, tmp + sizeof tmp, v.get<uint64_t>());
      out.append(tmp, r.ptr);
      return;
    }
    case json::value_t::number_float: {
      double d = v.get<double>();
      if (!std::isfinite(d)) {  // as nlohmann does: JSON has no NaN or infinity
        out += "null";
        return;
      }
      char tmp[32];
      auto r = std::to_chars(tmp, tmp + sizeof tmp, d);
      std::string_view text(tmp, static_cast<size_t>(r.ptr - tmp));
      out += text;
      // Keep it a float when read back: 2.0, not 2.
      if (text.find_first_of(".e") == std::string_view::npos) out += ".0";
      return;
    }
    case json::value_t::string:
      append_string(out, v.get_ref<const std::string&>());
      return;
    case json::value_t::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& e : v) {
        if (!first) out.push_back(',');
        first = false;
        append_json(out, e);
      }
      out.push_back(']');
      return;
    }
    case json::value_t::object: {
      out.push_back('{');
      bool first = true;
      for (const auto& [k, e] : v.get_ref<const json::object_t&>()) {
        if (!first) out.push_back(',');
        first = false;
        append_string(out, k);
        out.push_back(':');
        append_json(out, e);
      }
      out.push_back('}');
      return;
    }
    default:
      out += v.dump(-1, ' ', false, json::error_handler_t::replace);
  }
}

// Everything of a line after the index and time: `"process":...,...}\n`.
void append_tail(std::string& out, const json& process, std::string_view type, std::string_view f,
                 const json& value, const json& extra) {
  out += "\"process\":";
  append_json(out, process);
  out += ",\"type\":";
  append_string(out, type);
  out += ",\"f\":";
  append_string(out, f);
  out += ",\"value\":";
  append_json(out, value);
  if (extra.is_object()) {
    for (const auto& [k, v] : extra.get_ref<const json::object_t&>()) {
      out.push_back(',');
      append_string(out, k);
      out.push_back(':');
      append_json(out, v);
    }
  }
  out += "}\n";
}

void check_op(const json& process, const std::string& type, const json& extra) {
  if (!(process.is_number_integer() || process.is_string()))
    throw std::invalid_argument("op process must be an integer or a string, got " + process.dump());
  if (!is_op_type(type))
    throw std::invalid_argument("op type must be invoke, ok, fail or info, got '" + type + "'");
  if (!extra.is_null()) {
    if (!extra.is_object())
      throw std::invalid_argument("op extra fields must be an object, got " + extra.dump());
    for (const auto& [k, v] : extra.items())
      if (is_core_key(k))
        throw std::invalid_argument("op extra field '" + k + "' would replace a core field");
  }
}

std::string read_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot open history " + path + ": " + std::strerror(errno));
  std::string data;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_size > 0) data.reserve(static_cast<size_t>(st.st_size) + 1);
  char chunk[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      throw std::runtime_error("cannot read history " + path + ": " + std::strerror(e));
    }
    if (n == 0) break;
    data.append(chunk, static_cast<size_t>(n));
  }
  ::close(fd);
  return data;
}

// nlohmann's parser costs about 2 us a line here, too slow for million-op histories. This parser
// takes the common subset (ASCII strings without escapes, any numbers, nesting up to 64) and
// builds the Op directly; on anything else it gives up and the line goes through nlohmann, which
// also produces the error for a corrupt line. It accepts only valid JSON, so both agree.
class FastLine {
 public:
  explicit FastLine(std::string_view line) : c_(line) {}

  /// true when the line is an op in the common subset; false sends it through nlohmann (which
  /// also explains what is wrong with it).
  bool parse_op(Op& op) {
    bool has_index = false, has_time = false, has_process = false, has_type = false, has_f = false;
    op.value = nullptr;
    op.extra = nullptr;
    bool read = c_.members([&](std::string_view key) {
      if (key == "index" || key == "time")
        return c_.op_clock(key, op.index, op.time, has_index, has_time);
      if (key == "process") {
        has_process = true;
        return value(op.process, 0) && (op.process.is_number_integer() || op.process.is_string());
      }
      if (key == "type" || key == "f") {
        std::string_view sv;
        if (!c_.plain_string(sv)) return false;
        if (key == "f") {
          op.f.assign(sv);
          return has_f = true;
        }
        op.type.assign(sv);
        return has_type = is_op_type(sv);
      }
      if (key == "value") return value(op.value, 0);
      if (op.extra.is_null()) op.extra = json::object();
      return value(op.extra[std::string(key)], 0);
    });
    c_.ws();
    return read && c_.at_end() && has_index && has_time && has_process && has_type && has_f;
  }

 private:
  bool number(json& out) {
    const char* s = c_.pos();
    bool is_float;
    if (!c_.number(is_float)) return false;
    const char* e = c_.pos();
    if (!is_float) {
      int64_t i;
      auto r = std::from_chars(s, e, i);
      if (r.ec == std::errc() && r.ptr == e) {
        out = i;
        return true;
      }
      if (*s != '-') {
        uint64_t u;
        r = std::from_chars(s, e, u);
        if (r.ec == std::errc() && r.ptr == e) {
          out = u;
          return true;
        }
      }
    }
    double d;
    auto r = std::from_chars(s, e, d);
    if (r.ec != std::errc() || r.ptr != e) return false;  // out of range: let nlohmann decide
    out = d;
    return true;
  }

  bool value(json& out, int depth) {
    if (c_.at_end() || depth > JsonCursor::kMaxDepth) return false;
    switch (c_.peek()) {
      case '"': {
        std::string_view sv;
        if (!c_.plain_string(sv)) return false;
        out = std::string(sv);
        return true;
      }
      case '{': {
        c_.eat('{');
        out = json::object();
        auto& obj = out.get_ref<json::object_t&>();
        c_.ws();
        if (c_.eat('}')) return true;
        for (;;) {
          std::string_view key;
          if (!c_.key(key) || !value(obj[std::string(key)], depth + 1)) return false;
          c_.ws();
          if (c_.eat(',')) continue;
          return c_.eat('}');
        }
      }
      case '[': {
        c_.eat('[');
        out = json::array();
        auto& arr = out.get_ref<json::array_t&>();
        c_.ws();
        if (c_.eat(']')) return true;
        for (;;) {
          c_.ws();
          if (!value(arr.emplace_back(), depth + 1)) return false;
          c_.ws();
          if (c_.eat(',')) continue;
          return c_.eat(']');
        }
      }
      case 't':
        out = true;
        return c_.literal("true");
      case 'f':
        out = false;
        return c_.literal("false");
      case 'n':
        out = nullptr;
        return c_.literal("null");
      default:
        return number(out);
    }
  }

  JsonCursor c_;
};

bool blank(std::string_view line) {
  return std::all_of(line.begin(), line.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

// Parses the lines of data[begin, end) (begin at a line start); first_line is begin's line number.
// Parses the lines of `data` (which starts at a line start) into slots[0..], one per line, and
// marks the slots that hold an op. first_line is the 0-based number of data's first line.
void parse_range(std::string_view data, size_t first_line, Op* slots, char* filled,
                 std::vector<std::pair<size_t, std::string>>& errors) {
  size_t line = 0;
  size_t pos = 0;
  std::string reason;
  while (pos < data.size()) {
    size_t nl = data.find('\n', pos);
    size_t stop = nl == std::string_view::npos ? data.size() : nl;
    std::string_view text = data.substr(pos, stop - pos);
    pos = stop + 1;
    size_t slot = line++;
    if (blank(text)) continue;
    if (parse_op_line(text, nl == std::string_view::npos, slots[slot], reason))
      filled[slot] = 1;
    else
      errors.emplace_back(first_line + slot + 1, reason);
  }
}

}  // namespace

bool parse_op_line(std::string_view line, bool last, Op& op, std::string& error) {
  if (FastLine(line).parse_op(op)) return true;
  json j = json::parse(line.begin(), line.end(), nullptr, false);
  if (j.is_discarded()) {
    error = last ? "invalid JSON (truncated last line?)" : "invalid JSON";
    return false;
  }
  return op_from_json(std::move(j), op, error);
}

void append_value_json(std::string& out, const json& v) { append_json(out, v); }

json Op::to_json() const {
  json j = json::object();
  j["index"] = index;
  j["time"] = time;
  j["process"] = process;
  j["type"] = type;
  j["f"] = f;
  j["value"] = value;
  if (extra.is_object())
    for (const auto& [k, v] : extra.items()) j[k] = v;
  return j;
}

std::string Op::error() const {
  if (!extra.is_object()) return "";
  auto it = extra.find("error");
  if (it == extra.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

bool op_from_json(json&& j, Op& op, std::string& error) {
  if (!j.is_object()) {
    error = "not a JSON object";
    return false;
  }
  bool has_index = false, has_time = false, has_process = false, has_type = false, has_f = false;
  op.value = nullptr;
  op.extra = nullptr;
  for (auto& [k, v] : j.get_ref<json::object_t&>()) {
    if (k == "index") {
      if (!v.is_number_integer()) {
        error = "index is not an integer";
        return false;
      }
      op.index = v.get<int64_t>();
      has_index = true;
    } else if (k == "time") {
      if (!v.is_number_integer()) {
        error = "time is not an integer";
        return false;
      }
      op.time = v.get<int64_t>();
      has_time = true;
    } else if (k == "process") {
      if (!(v.is_number_integer() || v.is_string())) {
        error = "process is neither an integer nor a string";
        return false;
      }
      op.process = std::move(v);
      has_process = true;
    } else if (k == "type") {
      if (!v.is_string() || !is_op_type(v.get_ref<const std::string&>())) {
        error = "type is not one of invoke, ok, fail, info";
        return false;
      }
      op.type = std::move(v.get_ref<std::string&>());
      has_type = true;
    } else if (k == "f") {
      if (!v.is_string()) {
        error = "f is not a string";
        return false;
      }
      op.f = std::move(v.get_ref<std::string&>());
      has_f = true;
    } else if (k == "value") {
      op.value = std::move(v);
    } else {
      if (op.extra.is_null()) op.extra = json::object();
      op.extra[k] = std::move(v);
    }
  }
  const char* missing = !has_index     ? "index"
                        : !has_time    ? "time"
                        : !has_process ? "process"
                        : !has_type    ? "type"
                        : !has_f       ? "f"
                                       : nullptr;
  if (missing) {
    error = std::string("missing field '") + missing + "'";
    return false;
  }
  return true;
}

void append_op_line(std::string& out, const Op& op) {
  out += "{\"index\":";
  append_int(out, op.index);
  out += ",\"time\":";
  append_int(out, op.time);
  out.push_back(',');
  append_tail(out, op.process, op.type, op.f, op.value, op.extra);
  out.pop_back();  // the tail ends the line; callers add their own separator
}

// ---- HistoryRecorder ---------------------------------------------------------------------------

HistoryRecorder::HistoryRecorder(const std::string& path, bool keep_in_memory,
                                 double flush_interval_s)
    : path_(path),
      keep_(keep_in_memory),
      start_(std::chrono::steady_clock::now()),
      flush_interval_(flush_interval_s > 0 ? flush_interval_s : 0.5) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw std::runtime_error("cannot create history " + path + ": " + std::strerror(errno));
  buf_.reserve(kWakeBytes + 4096);
  io_buf_.reserve(kWakeBytes + 4096);
  writer_ = std::thread([this] { writer_loop(); });
}

HistoryRecorder::~HistoryRecorder() {
  try {
    close();
  } catch (const std::exception& e) {
    spdlog::error("history {}: {}", path_, e.what());
  }
}

int64_t HistoryRecorder::now_ns() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() -
                                                              start_)
      .count();
}

int64_t HistoryRecorder::record(json process, std::string type, std::string f, json value,
                                json extra) {
  check_op(process, type, extra);
  // Serialise before taking the lock: only numbering and appending happen under it.
  thread_local std::string tail;
  tail.clear();
  append_tail(tail, process, type, f, value, extra);
  int64_t now = now_ns();

  bool wake = false, back_pressure = false;
  int64_t index;
  {
    std::lock_guard lk(mu_);
    if (closing_) throw std::logic_error("history " + path_ + " is closed");
    index = next_index_++;
    last_time_ = std::max(last_time_, now);
    buf_ += "{\"index\":";
    append_int(buf_, index);
    buf_ += ",\"time\":";
    append_int(buf_, last_time_);
    buf_.push_back(',');
    buf_ += tail;
    if (!observers_.empty()) notify_locked(index, process, type, f, value, extra);
    if (keep_) {
      ops_.push_back(Op{index, last_time_, std::move(process), std::move(type), std::move(f),
                        std::move(value), std::move(extra)});
    }
    if (buf_.size() >= kWakeBytes && !wake_pending_) wake = wake_pending_ = true;
    back_pressure = buf_.size() >= kBackPressureBytes;
  }
  if (wake) wake_.notify_one();
  if (back_pressure) {
    std::lock_guard io(io_mu_);
    drain_locked_io();
  }
  return index;
}

void HistoryRecorder::notify_locked(int64_t index, const json& process, const std::string& type,
                                    const std::string& f, const json& value, const json& extra) {
  bool nemesis = process.is_string() && process.get_ref<const std::string&>() == "nemesis";
  std::optional<Op> op;
  for (const auto& o : observers_) {
    if (!o->wants(f, nemesis)) continue;
    if (!op) op = Op{index, last_time_, process, type, f, value, extra};
    try {
      o->observe(*op);
    } catch (const std::exception& e) {
      spdlog::warn("history observer failed on op {}: {}", index, e.what());
    }
  }
}

void HistoryRecorder::add_observer(std::shared_ptr<HistoryObserver> observer) {
  if (!observer) throw std::invalid_argument("observer is null");
  std::lock_guard lk(mu_);
  observers_.push_back(std::move(observer));
}

void HistoryRecorder::remove_observer(const std::shared_ptr<HistoryObserver>& observer) {
  std::lock_guard lk(mu_);
  observers_.erase(std::remove(observers_.begin(), observers_.end(), observer), observers_.end());
}

void HistoryRecorder::drain_locked_io() {
  {
    std::lock_guard lk(mu_);
    if (closed_ || buf_.empty()) return;
    std::swap(buf_, io_buf_);
  }
  const char* p = io_buf_.data();
  size_t left = io_buf_.size();
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      std::lock_guard lk(mu_);
      if (write_error_.empty())
        write_error_ = "cannot write history " + path_ + ": " + std::strerror(errno);
      break;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  io_buf_.clear();
}

void HistoryRecorder::writer_loop() {
  std::unique_lock lk(mu_);
  while (!closing_) {
    wake_.wait_for(lk, flush_interval_, [this] { return closing_ || wake_pending_; });
    if (closing_) break;
    wake_pending_ = false;
    lk.unlock();
    {
      std::lock_guard io(io_mu_);
      drain_locked_io();
    }
    lk.lock();
  }
}

void HistoryRecorder::flush() {
  std::lock_guard io(io_mu_);
  drain_locked_io();
  std::lock_guard lk(mu_);
  if (!write_error_.empty()) throw std::runtime_error(write_error_);
}

namespace {
/// fsync, where the file can be synced at all (a character device cannot: EINVAL).
std::string sync_fd(int fd, const std::string& path) {
  if (fd >= 0 && ::fsync(fd) != 0 && errno != EINVAL && errno != EROFS) {
    return "cannot sync history " + path + ": " + std::strerror(errno);
  }
  return "";
}
}  // namespace

void HistoryRecorder::sync() {
  std::lock_guard io(io_mu_);
  drain_locked_io();
  std::lock_guard lk(mu_);
  if (write_error_.empty() && !closed_) write_error_ = sync_fd(fd_, path_);
  if (!write_error_.empty()) throw std::runtime_error(write_error_);
}

void HistoryRecorder::close() {
  {
    std::lock_guard lk(mu_);
    if (closing_) {
      if (!write_error_.empty() && !closed_) throw std::runtime_error(write_error_);
      return;
    }
    closing_ = true;
  }
  wake_.notify_all();
  if (writer_.joinable()) writer_.join();
  std::string error;
  {
    std::lock_guard io(io_mu_);
    drain_locked_io();
    std::lock_guard lk(mu_);
    if (write_error_.empty()) write_error_ = sync_fd(fd_, path_);
    if (::close(fd_) != 0 && write_error_.empty())
      write_error_ = "cannot close history " + path_ + ": " + std::strerror(errno);
    fd_ = -1;
    closed_ = true;
    error = write_error_;
  }
  if (!error.empty()) throw std::runtime_error(error);
}

bool HistoryRecorder::closed() const {
  std::lock_guard lk(mu_);
  return closing_;
}

int64_t HistoryRecorder::size() const {
  std::lock_guard lk(mu_);
  return next_index_;
}

std::vector<Op> HistoryRecorder::ops() const {
  std::lock_guard lk(mu_);
  return ops_;
}

// ---- reading -----------------------------------------------------------------------------------

ReadResult read_history(const std::string& path) {
  std::string data = read_file(path);
  std::string_view all(data);
  // Large files are parsed in slices on every core: parsing is the whole cost of reading. Each
  // line has its slot in the result, so slices fill it in place without a merge.
  unsigned workers = std::max(1u, std::min(std::thread::hardware_concurrency(), 16u));
  if (all.size() < (4u << 20)) workers = 1;
  std::vector<size_t> cuts{0};
  for (unsigned w = 1; w < workers; ++w) {
    size_t at = std::max(cuts.back(), all.size() * w / workers);
    size_t nl = all.find('\n', at);
    if (nl == std::string_view::npos || nl + 1 >= all.size()) break;
    cuts.push_back(nl + 1);
  }
  cuts.push_back(all.size());
  size_t slices = cuts.size() - 1;
  std::vector<size_t> first_line(slices + 1, 0);
  for (size_t s = 0; s < slices; ++s) {
    auto b = all.begin() + static_cast<ptrdiff_t>(cuts[s]);
    auto e = all.begin() + static_cast<ptrdiff_t>(cuts[s + 1]);
    size_t lines = static_cast<size_t>(std::count(b, e, '\n'));
    if (e > b && *(e - 1) != '\n') ++lines;  // a last line without its newline
    first_line[s + 1] = first_line[s] + lines;
  }
  size_t total = first_line[slices];

  ReadResult out;
  out.ops.resize(total);
  std::vector<char> filled(total, 0);
  std::vector<std::vector<std::pair<size_t, std::string>>> errors(slices);
  auto run = [&](size_t s) {
    parse_range(all.substr(cuts[s], cuts[s + 1] - cuts[s]), first_line[s],
                out.ops.data() + first_line[s], filled.data() + first_line[s], errors[s]);
  };
  {
    std::vector<std::jthread> threads;
    for (size_t s = 1; s < slices; ++s) threads.emplace_back(run, s);
    run(0);
  }
  // Close the holes left by blank and bad lines.
  size_t kept = 0;
  for (size_t i = 0; i < total; ++i) {
    if (!filled[i]) continue;
    if (kept != i) out.ops[kept] = std::move(out.ops[i]);
    ++kept;
  }
  out.ops.resize(kept);
  for (auto& e : errors) std::move(e.begin(), e.end(), std::back_inserter(out.errors));
  return out;
}

}  // namespace fj
