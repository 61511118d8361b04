// The availability checker: the original flink-jepsen semantics (every job must be running again
// within a grace period after the last fault, and be healthy at the end; a job cancelled on
// purpose must stop), plus how long the jobs took to recover from each fault.
#pragma once

#include <string>
#include <vector>

#include "history/history.hpp"

namespace fj {

struct AvailabilityOptions {
  double grace_period_s = 180;
  /// The original's healthy threshold (5 polls) times its 5 s poll interval, as a duration.
  double healthy_duration_s = 25;
  double cancel_grace_s = 10;
  /// Jobs that must have been polled (beyond those the history names); may be empty.
  std::vector<std::string> jobs;
};

/// Checks a history (any order; ops are taken in index order). Conservative timing: a poll
/// counts as "after" a moment by its invoke time, and its observation as known at its completion.
/// Result: {"valid?", "anomalies", "anomaly_types", "jobs", "faults", "recovery",
/// "last_fault_end_s", "polls"}; times in seconds since the run start.
json check_availability(const std::vector<Op>& ops, const AvailabilityOptions& options = {});

/// Reads the history file and checks it; unreadable lines are reported under "history_errors"
/// and make an otherwise valid result unknown (a lost line may have been a failed poll).
json check_availability_file(const std::string& path, const AvailabilityOptions& options = {});

}  // namespace fj
