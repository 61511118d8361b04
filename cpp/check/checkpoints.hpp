// The checkpoint-continuity checker: a job's completed checkpoint ids never go back. Flink keeps
// a job's checkpoint id counter and its completed checkpoints in the HA store, so that the next
// leader goes on from them; ids that start again from a lower number mean that store was wiped
// while the job lived (FLINK-34518's kind of bug: a leader that mistook a suspension for the
// job's end cleaned up its checkpoints), and the job went on from an empty state, which the
// availability checker cannot see. Reads the `checkpoints` completions that the harness's
// checkpoint watcher records (value: job, completed, restored).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "history/history.hpp"

namespace fj {

/// Judges `ops` for `jobs`. Ids went back when at least three answers in a row are below the
/// highest id seen (one or two are a stale leader's REST endpoint answering while leadership
/// moves). Returns {valid (true or false), jobs: {id: {polls_ok,
/// max_completed, last_completed, last_restored, went_back}}, anomalies: [{type:
/// "checkpoint-ids-went-back", job, ops: [the op with the highest id so far, then up to
/// max_examples ops below it]}], anomaly_types}. A job that never completed a checkpoint has
/// nothing to judge and is valid.
json check_checkpoints(const std::vector<Op>& ops, const std::vector<std::string>& jobs,
                       size_t max_examples = 5);

/// The same over a history file (unreadable lines make an otherwise valid result "unknown").
json check_checkpoints_file(const std::string& path, const std::vector<std::string>& jobs,
                            size_t max_examples = 5);

}  // namespace fj
