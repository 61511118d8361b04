// Network partitions as real packet drops: iptables rules inside each node, in a chain the
// project owns (FJ-PARTITION), jumped to from INPUT. A cut rewrites each affected node's chain
// whole with one `iptables-restore --noflush` (atomic, one process per node); healing flushes
// only that chain, so the host's and the node's other rules are never touched.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "nemesis/grudge.hpp"
#include "remote/remote.hpp"

namespace fj {

inline constexpr const char* kPartitionChain = "FJ-PARTITION";

/// The iptables-restore input that makes `kPartitionChain` drop exactly these sources (the
/// chain is declared, hence flushed, then refilled; with --noflush nothing else is touched).
std::string partition_rules(const std::vector<std::string>& sources);

class Partitioner {
 public:
  /// remotes: node -> its control channel; addresses: node -> the IP its peers see.
  Partitioner(std::map<std::string, RemotePtr> remotes,
              std::map<std::string, std::string> addresses);

  /// Creates the chain and the INPUT jump to it on every node (idempotent).
  void setup();
  /// Applies a grudge on top of what is already cut (all nodes concurrently). A node whose
  /// rewrite failed keeps what it had; the first failure is rethrown once all nodes are done.
  void drop(const Grudge& grudge);
  /// Flushes the chain on every node: everything can talk again.
  void heal();
  /// Removes the chain and its jump on every node.
  void teardown();
  /// The grudge currently in force (as applied through this object).
  Grudge current() const;
  std::vector<std::string> nodes() const;

 private:
  std::vector<RemotePtr> all_remotes() const;
  std::map<std::string, RemotePtr> remotes_;
  std::map<std::string, std::string> addresses_;
  std::mutex apply_mutex_;    // one change of the rules at a time (a cut reads what is in force)
  mutable std::mutex mutex_;  // guards current_
  Grudge current_;
};

}  // namespace fj
