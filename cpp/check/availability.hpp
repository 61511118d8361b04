// The availability checker: the original flink-jepsen model (checker.clj's
// job-running-within-grace-period), one implementation for the final verdict and the live stop
// rule. Per job, every poll is judged against the faults recorded before it: while a fault is
// active, or within the grace period after the most recent one ended, the job may be down;
// after that a failed poll is "Cluster is not running." and a job that is not running is "Job is
// not running.". A job cancelled on purpose must stop and stay stopped. Beyond the original it
// reports each fault's recovery time (from its end to the end of the outage it caused, which
// may begin well after it: a lost TaskManager is noticed at a heartbeat timeout) and each outage (a
// stretch of polls that found a job unavailable) with the faults inside it.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "history/history.hpp"

namespace fj {

struct AvailabilityOptions {
  double grace_period_s = 180;
  /// The original's healthy threshold (5 polls) times its 5 s poll interval, as a duration.
  double healthy_duration_s = 25;
  double cancel_grace_s = 10;
  /// The ids of the jobs that were submitted. When given, a job among them that was never
  /// polled, or a polled job not among them, is an anomaly.
  std::vector<std::string> jobs;
  /// The fault schedule was meant to inject faults: a run in which none had an effect cannot be
  /// called valid (it is unknown, with the reason).
  bool expect_faults = false;
};

/// What the checker reads of a poll or cancel op, as views into the op (or into a line of the
/// history file): stepping one costs no allocation.
struct AvailabilityEvent {
  int64_t index = -1;  ///< the op's index in the history (anomalies name the ops that show them)
  int64_t time = 0;
  bool poll = true;  ///< else a cancel
  std::string_view type;
  bool proc_is_int = true;
  int64_t proc = 0;
  std::string_view proc_text;
  std::string_view job;  ///< the value's job ("" when it names none)
  bool running = false;  ///< value.running is true
  std::string_view state;
  bool has_tasks = false;
  int64_t tasks = 0, parallelism = 0;
  std::string_view error;
};

/// The checker's state, stepped one op at a time in index order (from a file, or live from the
/// recorder). Times are ns on the history's clock.
class AvailabilityModel {
 public:
  explicit AvailabilityModel(AvailabilityOptions options);
  ~AvailabilityModel();
  AvailabilityModel(AvailabilityModel&&) noexcept;
  AvailabilityModel& operator=(AvailabilityModel&&) noexcept;

  /// Ops must come in index order; ops other than polls, cancels and the nemesis's are ignored.
  void step(const Op& op);
  /// The same for a poll or cancel read without an Op (the file scanner); `time` is the op's.
  void step(const AvailabilityEvent& e);
  /// An op the checker has no use for: only its time counts (the workload's start).
  void skip(int64_t time);

  /// From now on, a job's healthy streak counts only polls invoked at or after `since_ns` (the
  /// stop rule's "after the heal").
  void observe_from(int64_t since_ns);
  /// How long every expected job has been settled (available, or stopped after a successful
  /// cancel), counted as the stop rule does; nullopt while some job is not.
  std::optional<double> settled_s() const;

  /// The result: {"valid?", "anomalies", "anomaly_types", "jobs", "faults", "ineffective_faults",
  /// "outages", "recovery", "workload_start_s", "last_fault_end_s", "polls"}; times in seconds
  /// on the history's clock (since the run started).
  json result() const;

  struct State;  // the checker's state (availability.cpp)

 private:
  std::unique_ptr<State> s_;
};

/// Checks a history (any order; ops are taken in index order).
json check_availability(const std::vector<Op>& ops, const AvailabilityOptions& options = {});

/// Reads the history file and checks it; unreadable lines are reported under "history_errors"
/// and make an otherwise valid result unknown (a lost line may have been a failed poll).
json check_availability_file(const std::string& path, const AvailabilityOptions& options = {});

/// The live stop rule: steps the same model on every op the recorder records, so the decision
/// to stop is taken by the checker's own rules, within one poll of being reached.
class AvailabilityMonitor : public HistoryObserver {
 public:
  explicit AvailabilityMonitor(AvailabilityOptions options);
  bool wants(const std::string& f, bool nemesis) const override;
  void observe(const Op& op) override;

  void observe_from(int64_t since_ns);
  /// Waits until every job has been settled for `duration_s` (counted from polls after
  /// observe_from), at most `timeout_s`; returns whether it was reached.
  bool wait_settled(double duration_s, double timeout_s);
  std::optional<double> settled_s() const;
  json result() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable changed_;
  AvailabilityModel model_;
};

}  // namespace fj
