// Faults carried out by the core and recorded as they happen: every fault is an op pair of
// process "nemesis" in the history, an `invoke` with what was decided, then `info` with the
// outcome when the fault had an effect, or `fail` (outcome as value, {"error": why} beside it)
// when it had none. The decision stays with the caller (Python schedules); the execution, its
// timing and its record are here, so nothing sits between the decision and the signal.
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "history/history.hpp"
#include "nemesis/packets.hpp"
#include "nemesis/partition.hpp"
#include "remote/remote.hpp"

namespace fj {

/// node -> the command line patterns whose processes a signal hits there.
using SignalTargets = std::map<std::string, std::vector<std::string>>;

/// The bash that empties every chain the project's faults fill (partitions, packet faults), for
/// a run's start: a run killed during a fault (kill -9) leaves its rules behind.
std::string scrub_command();

/// Thread-safe. Every fault returns its outcome; when the completion was `fail` the returned
/// object also carries "error": the reason recorded beside the value.
class FaultInjector {
 public:
  /// remotes: node -> control channel; addresses: node -> IP its peers see; history: where
  /// faults are recorded. Throws std::invalid_argument for a node without an address.
  FaultInjector(std::map<std::string, RemotePtr> remotes,
                std::map<std::string, std::string> addresses,
                std::shared_ptr<HistoryRecorder> history);

  /// Creates the partition and packet chains on every node (not recorded).
  void setup();
  /// Removes the partition and packet chains from every node (not recorded).
  void teardown();

  /// Sends `signal` to the processes matching each target node's patterns, all nodes at once.
  /// value: the invoke's value (null: {"nodes": [...]}). Outcome: {"nodes": [...], "signal":
  /// "KILL" (a name, or the number when it has none), "killed" (SIGKILL, SIGTERM) or "signalled"
  /// (any other signal): {node: [pids]}, and "errors": {node: message} for nodes whose remote
  /// threw}. `fail` when no process was signalled: "the kill matched no process" (or "the signal
  /// matched no process"), or the nodes' errors when every node failed.
  /// Throws std::invalid_argument (recording nothing) for an unknown node, a bad pattern or
  /// signal.
  nlohmann::json signal(const std::string& f, const SignalTargets& targets, int signal,
                        nlohmann::json value = nullptr);

  /// Computes the shape's grudge (see plan_partition) and applies it on top of what is cut.
  /// The value and outcome: {"grudge": {node: [peers]}, "shape": description}. `fail` when the
  /// grudge cuts no link ("the grudge cuts no link") or applying it threw (its message).
  /// Throws std::invalid_argument (recording nothing) for a bad shape or unknown node.
  nlohmann::json partition(const std::string& f, const nlohmann::json& shape);

  /// Flushes every node's partition chain. Invoke value null; outcome {"healed": the grudge
  /// that was in force}. If healing throws, `fail` is recorded and the error rethrown.
  nlohmann::json heal(const std::string& f);

  /// Gives the target nodes a packet fault on their links to every other node (or to `peers`):
  /// see PacketShaper::apply. Value and outcome: {"nodes": targets, "peers" (when given), and
  /// the fault's keys (loss, duplicate, delay_ms, jitter_ms, reorder)}. `fail` when a node
  /// cannot carry it out (the capability it lacks) or applying threw. Throws
  /// std::invalid_argument (recording nothing) for a bad fault or an unknown node.
  nlohmann::json packets(const std::string& f, const std::vector<std::string>& targets,
                         const std::vector<std::string>& peers, const nlohmann::json& fault);

  /// Removes every packet fault. Invoke value null; outcome {"healed": {node: fault}}. If
  /// healing throws, `fail` is recorded and the error rethrown.
  nlohmann::json heal_packets(const std::string& f);

  /// What each node can do: node -> ["loss", "duplicate", "delay", "reorder"] (probed once).
  std::map<std::string, std::vector<std::string>> packet_capabilities();

  /// Sets the clock offset (seconds, libfaketime) of the processes whose clock files are given
  /// per node, all nodes at once. Outcome: {"nodes": [...], "offset": s, "files": {node:
  /// [files]}, "errors": {node: why} for nodes that failed}. `fail` when no node's clock moved.
  /// With record false nothing is written to the history (the steps of a drifting clock, whose
  /// start and end the caller records) and a failure throws instead.
  nlohmann::json clock(const std::string& f,
                       const std::map<std::string, std::vector<std::string>>& files,
                       double offset_s, nlohmann::json value = nullptr, bool record = true);

  /// The grudge in force (everything cut through this injector since the last heal).
  Grudge current() const;
  std::vector<std::string> nodes() const;

 private:
  /// Records the completion (info, or fail when `missed` is not empty) and returns the outcome.
  nlohmann::json complete(const std::string& f, nlohmann::json outcome, const std::string& missed);

  std::map<std::string, RemotePtr> remotes_;
  std::shared_ptr<HistoryRecorder> history_;
  Partitioner partitioner_;
  PacketShaper shaper_;
};

}  // namespace fj
