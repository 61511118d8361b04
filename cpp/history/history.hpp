// The history of a run, Jepsen's model: one op per line of JSON (history.jsonl). The recorder is
// on the hot path (the poller records tens of ops per second per job, benchmarks far more), so it
// only takes its lock to number and timestamp an op; serialising happens in the caller's thread
// and writing in a background thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace fj {

using json = nlohmann::json;

/// One history op. `extra` is null or an object whose fields sit beside the core ones in the line.
struct Op {
  int64_t index = -1;
  int64_t time = 0;  ///< ns since the recorder was created (the run start), steady clock
  json process;      ///< client number (integer) or "nemesis"
  std::string type;  ///< invoke | ok | fail | info
  std::string f;
  json value;
  json extra;

  bool is_nemesis() const {
    return process.is_string() && process.get_ref<const std::string&>() == "nemesis";
  }
  /// The op as one JSON object (core fields and extras), as it is written to the file.
  json to_json() const;
  /// The `error` extra field as text, or "" when there is none.
  std::string error() const;
};

/// Builds an op from a parsed JSON object; returns false with `error` set when it is not an op.
bool op_from_json(json&& j, Op& op, std::string& error);

/// Appends one op as a JSON line (without the newline).
void append_op_line(std::string& out, const Op& op);

/// Reads one line of a history file (no newline) into `op`; false with `error` set when it is
/// not JSON or not an op (`last`: the file's last line, without its newline: maybe truncated).
bool parse_op_line(std::string_view line, bool last, Op& op, std::string& error);

/// Appends a value as compact JSON text, as the recorder writes it (object keys sorted).
void append_value_json(std::string& out, const json& v);

/// Sees ops as they are recorded, in index order, under the recorder's lock: observe() must be
/// short and must never call back into the recorder.
class HistoryObserver {
 public:
  virtual ~HistoryObserver() = default;
  /// Whether observe() wants ops of this f (cheap: asked for every op).
  virtual bool wants(const std::string& f, bool nemesis) const = 0;
  virtual void observe(const Op& op) = 0;
};

/// Records ops with dense indices and monotonic times; safe to call from any thread.
class HistoryRecorder {
 public:
  /// Creates (truncates) `path`. With keep_in_memory the ops are also kept for ops().
  /// flush_interval_s: how often buffered lines reach the file at the latest.
  explicit HistoryRecorder(const std::string& path, bool keep_in_memory = false,
                           double flush_interval_s = 0.5);
  ~HistoryRecorder();
  HistoryRecorder(const HistoryRecorder&) = delete;
  HistoryRecorder& operator=(const HistoryRecorder&) = delete;

  /// Records one op and returns its index. `extra` must be null or an object without core keys.
  /// Throws std::invalid_argument for a bad op, std::logic_error after close().
  int64_t record(json process, std::string type, std::string f, json value, json extra = json());

  /// Adds an observer of every op recorded from now on; remove_observer() ends it.
  void add_observer(std::shared_ptr<HistoryObserver> observer);
  void remove_observer(const std::shared_ptr<HistoryObserver>& observer);

  /// Every buffered line is in the file (written, not fsynced) when this returns; throws
  /// std::runtime_error if writing failed.
  void flush();
  /// Flushes and fsyncs: every op recorded so far survives a crash of this machine once this
  /// returns (the runner calls it at every phase change). Throws like flush(), or when the
  /// fsync fails.
  void sync();
  /// Flushes, fsyncs, stops the writer and closes the file; idempotent. Throws like flush().
  void close();
  bool closed() const;

  /// ns since this recorder was created, on the clock op times use.
  int64_t now_ns() const;
  /// Ops recorded so far.
  int64_t size() const;
  const std::string& path() const { return path_; }
  bool keeps_ops() const { return keep_; }
  /// A copy of the ops kept in memory (empty unless keep_in_memory).
  std::vector<Op> ops() const;

 private:
  void writer_loop();
  /// Writes whatever is buffered; callers hold io_mu_ so buffers reach the file in order.
  void drain_locked_io();
  /// Hands one op to the observers that want it; callers hold mu_.
  void notify_locked(int64_t index, const json& process, const std::string& type,
                     const std::string& f, const json& value, const json& extra);

  std::string path_;
  bool keep_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::duration<double> flush_interval_;
  int fd_ = -1;

  mutable std::mutex mu_;  // guards everything below up to io_mu_
  std::condition_variable wake_;
  std::string buf_;
  std::vector<Op> ops_;
  std::vector<std::shared_ptr<HistoryObserver>> observers_;
  int64_t next_index_ = 0;
  int64_t last_time_ = 0;
  bool closing_ = false;
  bool closed_ = false;
  bool wake_pending_ = false;
  std::string write_error_;

  std::mutex io_mu_;    // serialises drains (writer thread, flush, back-pressure)
  std::string io_buf_;  // the buffer being written, swapped with buf_
  std::thread writer_;
};

/// What read_history found: the ops in file order and, per bad line, (1-based line, reason).
struct ReadResult {
  std::vector<Op> ops;
  std::vector<std::pair<size_t, std::string>> errors;
};

/// Reads a JSON Lines history; a corrupt line is reported and skipped, the rest still loads.
/// Blank lines are ignored. Throws std::runtime_error if the file cannot be read.
ReadResult read_history(const std::string& path);

}  // namespace fj
