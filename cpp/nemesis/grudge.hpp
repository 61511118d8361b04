// Grudges, Jepsen's description of a partition: node -> the nodes whose packets it drops.
// The shapes here are the ones users know: halves, one node alone, bridge, majorities ring.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace fj {

using Grudge = std::map<std::string, std::set<std::string>>;
using Components = std::vector<std::vector<std::string>>;

/// Every node drops packets from every node outside its own component.
Grudge complete_grudge(const Components& components);

/// First half (floor(n/2) nodes) and the rest.
Components bisect(const std::vector<std::string>& nodes);

/// One node alone, the others together.
Components split_one(const std::vector<std::string>& nodes, const std::string& loner);

/// The nodes shuffled (deterministically for a seed), then bisected.
Components random_halves(const std::vector<std::string>& nodes, std::uint64_t seed);

/// Two halves that cannot talk to each other, and one node in the middle that sees both.
Grudge bridge(const std::vector<std::string>& nodes);

/// Every node sees a majority (itself and its ring neighbours), but no two see the same one.
Grudge majorities_ring(const std::vector<std::string>& nodes, std::uint64_t seed);

/// Cuts every edge between `a` and `b` in both directions, leaving all else connected.
Grudge cut_between(const std::vector<std::string>& a, const std::vector<std::string>& b);

/// Throws std::invalid_argument naming the first node in the grudge that is not in `nodes`.
void validate_grudge(const Grudge& grudge, const std::vector<std::string>& nodes);

}  // namespace fj
