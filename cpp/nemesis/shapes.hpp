// Partition shapes as data: a JSON description of a partition ({"shape": "random-halves",
// "nodes": [...], "seed": 7}) turned into the grudge that carries it out and a description a
// person reads in the history, so a caller never round-trips the grudge itself.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nemesis/grudge.hpp"

namespace fj {

/// A partition ready to apply.
struct PartitionPlan {
  Grudge grudge;
  std::string description;  ///< e.g. "halves [[n1,n3],[n2,n4,n5]]"
};

/// Computes the grudge of a shape:
///   {"shape": "random-halves", "nodes": [...], "seed": N}
///   {"shape": "halves", "nodes": [...]}
///   {"shape": "one", "nodes": [...], "loner": "n2"}
///   {"shape": "bridge", "nodes": [...]}
///   {"shape": "majorities-ring", "nodes": [...], "seed": N}
///   {"shape": "components", "components": [[...], [...]]}
///   {"shape": "grudge", "grudge": {node: [nodes]}}
/// An optional "description" string replaces the generated one (the caller knows that the loner
/// is the leading JobManager). Every node must be in `known`, and nodes may not repeat.
/// Throws std::invalid_argument naming what is wrong.
PartitionPlan plan_partition(const nlohmann::json& shape, const std::vector<std::string>& known);

/// "[[n1,n3],[n2,n4,n5]]"
std::string describe_components(const Components& components);

/// {node: [peers, sorted]} for every node of the grudge (a node that drops nothing has []).
nlohmann::json grudge_to_json(const Grudge& grudge);

/// Does the grudge drop any packet at all?
bool cuts_any_link(const Grudge& grudge);

}  // namespace fj
