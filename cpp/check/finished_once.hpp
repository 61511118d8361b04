// The finished-once checker for bounded jobs: a job that was submitted once must reach FINISHED,
// and once any poll has seen it in a globally terminal state (FINISHED, FAILED, CANCELED) no
// later poll may see it scheduled or running again. A JobManager that takes over after the job
// ended and runs it a second time (FLINK-11813's kind of bug: the end was not recorded where the
// next leader looks) writes its output twice; here it shows as the job seen RUNNING after
// FINISHED. Only the `job-running?` completions the availability poller records are read.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "history/history.hpp"

namespace fj {

/// Judges `ops` (file order) for `jobs`. Returns {valid (true, false or "unknown"), jobs: {id:
/// {first_terminal, terminal_state, polls_ok, ran_again, last_state}}, anomalies: [{type, job,
/// ops}], anomaly_types}. Anomalies: "ran-after-finished" (a poll saw the job non-terminal or
/// running after a terminal state; the ops are the terminal poll and at most max_examples polls
/// after it), "never-finished" (no poll saw FINISHED while polls were answered, and no end was
/// logged) and
/// "ended-not-finished" (the job's first terminal state was FAILED or CANCELED). A job no poll
/// ever answered for is "unknown", not invalid.
///
/// `log_ends` (null or {job: [evidence...]}) are the job's ends as the JobManagers logged them
/// (one entry per "switched from state ... to FINISHED" line, e.g. {where, line}): an end lasts
/// only as long as the leader's REST endpoint, which an application cluster closes at once, so
/// a poll can miss it. More than one logged end is "finished-more-than-once" (the entries are
/// the anomaly's evidence), whatever the polls saw.
json check_finished_once(const std::vector<Op>& ops, const std::vector<std::string>& jobs,
                         size_t max_examples = 5, const json& log_ends = json());

/// The same over a history file (unreadable lines make an otherwise valid result "unknown").
json check_finished_once_file(const std::string& path, const std::vector<std::string>& jobs,
                              size_t max_examples = 5, const json& log_ends = json());

}  // namespace fj
