// Packet faults on a node's links, as Jepsen's packet nemesis has them, with what this kernel
// offers: loss (iptables `statistic` DROP, both directions of every link of the node),
// duplication (an iptables TEE clone of the node's outgoing packets, in the mangle table) and,
// where the netem qdisc exists, delay and reordering of the node's outgoing packets. Rules live
// in chains the project owns (FJ-PACKET-IN/OUT in filter, FJ-PACKET-DUP in mangle); each node's
// are rewritten whole with one `iptables-restore --noflush`, and a heal flushes only them.
#pragma once

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "remote/remote.hpp"

namespace fj {

/// What a packet fault does to a node's links. Probabilities are in [0, 1]; 0 leaves it alone.
struct PacketFault {
  double loss = 0.0;       ///< share of packets dropped, per direction of each link
  double duplicate = 0.0;  ///< share of outgoing packets sent twice
  double delay_ms = 0.0;   ///< netem: outgoing packets held this long (mean)
  double jitter_ms = 0.0;  ///< netem: +- this much around the delay
  double reorder = 0.0;    ///< netem: share of outgoing packets sent at once (out of order)

  bool needs_netem() const { return delay_ms > 0 || reorder > 0; }
  bool any() const { return loss > 0 || duplicate > 0 || needs_netem(); }
  nlohmann::json to_json() const;
  /// Reads {"loss": .., "duplicate": .., "delay_ms": .., "jitter_ms": .., "reorder": ..} (every
  /// key optional, no other keys). Throws std::invalid_argument naming a bad key or value, and
  /// when the fault does nothing or asks reordering without a delay (netem reorders by sending
  /// some packets without the delay).
  static PacketFault from_json(const nlohmann::json& j);
};

/// The kinds of packet fault a node can carry out: "loss", "duplicate", "delay", "reorder".
using PacketCapabilities = std::set<std::string>;

/// The iptables-restore input that gives one node `fault` on its links to `in_peers` (incoming
/// loss) and `out_peers` (outgoing loss and duplication): the project's chains declared (hence
/// flushed) and refilled; with --noflush nothing else is touched.
std::string packet_rules(const PacketFault& fault, const std::vector<std::string>& in_peers,
                         const std::vector<std::string>& out_peers);

/// The netem command for a node (bash): the device toward `peer`, then `tc qdisc replace`.
std::string netem_command(const PacketFault& fault, const std::string& peer);
/// Removes the netem qdisc from the device toward `peer` (bash; never fails).
std::string netem_heal_command(const std::string& peer);

/// Which packet faults each node's kernel and tools can carry out, probed on the node itself.
/// Delay and reorder need the netem qdisc (probed on the node's loopback for an instant).
PacketCapabilities parse_capabilities(const std::string& probe_output);
extern const char* const kPacketProbe;

class PacketShaper {
 public:
  /// remotes: node -> its control channel; addresses: node -> the IP its peers see.
  PacketShaper(std::map<std::string, RemotePtr> remotes,
               std::map<std::string, std::string> addresses);

  /// Creates the chains and their jumps on every node (idempotent; the mangle chain only where
  /// the mangle table exists).
  void setup();
  /// Gives each target node the fault on its links to every other node (or to `peers` when not
  /// empty): incoming and outgoing loss; outgoing duplication, delay, reordering. A link between
  /// two targets loses `loss` once per direction, not twice. Replaces what the targets had.
  /// Throws std::invalid_argument for an unknown node, std::runtime_error when a node cannot
  /// carry out the fault (the capability it lacks is named), RemoteError when applying failed.
  void apply(const std::vector<std::string>& targets, const std::vector<std::string>& peers,
             const PacketFault& fault);
  /// Removes every packet fault from every node.
  void heal();
  /// Removes the chains and their jumps on every node.
  void teardown();
  /// Probes each node once (cached): node -> what it can do.
  std::map<std::string, PacketCapabilities> capabilities();
  /// node -> the fault it carries now (nodes without one are absent).
  std::map<std::string, PacketFault> current() const;

 private:
  std::vector<RemotePtr> all_remotes() const;
  std::map<std::string, RemotePtr> remotes_;
  std::map<std::string, std::string> addresses_;
  std::mutex apply_mutex_;
  mutable std::mutex mutex_;  // guards current_, capabilities_, netem_
  std::map<std::string, PacketFault> current_;
  std::map<std::string, PacketCapabilities> capabilities_;
  std::map<std::string, std::string> netem_;  // node -> the peer whose route has a netem qdisc
};

}  // namespace fj
