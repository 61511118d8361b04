// Network partitions as real packet drops: iptables rules inside each node, in a chain the
// project owns (FJ-PARTITION), jumped to from INPUT. Healing flushes only that chain, so the
// host's and the node's other rules are never touched.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "nemesis/grudge.hpp"
#include "remote/remote.hpp"

namespace fj {

inline constexpr const char* kPartitionChain = "FJ-PARTITION";

class Partitioner {
 public:
  /// remotes: node -> its control channel; addresses: node -> the IP its peers see.
  Partitioner(std::map<std::string, RemotePtr> remotes,
              std::map<std::string, std::string> addresses);

  /// Creates the chain on every node (idempotent).
  void setup();
  /// Applies a grudge on top of what is already cut (all nodes concurrently).
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
  mutable std::mutex mutex_;
  Grudge current_;
};

}  // namespace fj
