#include "nemesis/shapes.hpp"

#include <algorithm>
#include <cstdint>
#include <set>
#include <stdexcept>

namespace fj {

namespace {

using json = nlohmann::json;

const json& field(const json& shape, const char* key) {
  auto it = shape.find(key);
  if (it == shape.end()) {
    auto kind = shape.find("shape");
    const std::string label =
        kind != shape.end() && kind->is_string() ? kind->get<std::string>() : std::string();
    throw std::invalid_argument("partition shape '" + label + "' needs \"" + key + "\"");
  }
  return *it;
}

/// A list of node names, each known and none twice (`seen` spans several lists).
std::vector<std::string> node_list(const json& j, const char* what,
                                   const std::vector<std::string>& known,
                                   std::set<std::string>& seen) {
  if (!j.is_array()) throw std::invalid_argument(std::string(what) + " must be a list of nodes");
  std::vector<std::string> out;
  for (const auto& n : j) {
    if (!n.is_string()) {
      throw std::invalid_argument(std::string(what) + " must hold node names, not " + n.dump());
    }
    const auto& name = n.get_ref<const std::string&>();
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      throw std::invalid_argument(std::string(what) + " names unknown node " + name);
    }
    if (!seen.insert(name).second) {
      throw std::invalid_argument(std::string(what) + " names node " + name + " twice");
    }
    out.push_back(name);
  }
  return out;
}

std::vector<std::string> nodes_of(const json& shape, const std::vector<std::string>& known) {
  std::set<std::string> seen;
  return node_list(field(shape, "nodes"), "nodes", known, seen);
}

std::uint64_t seed_of(const json& shape) {
  const json& s = field(shape, "seed");
  if (s.is_number_unsigned()) return s.get<std::uint64_t>();
  if (s.is_number_integer()) return static_cast<std::uint64_t>(s.get<std::int64_t>());
  throw std::invalid_argument("seed must be an integer, not " + s.dump());
}

std::string list_text(const std::vector<std::string>& nodes) {
  std::string out = "[";
  for (std::size_t i = 0; i < nodes.size(); ++i) out += (i ? "," : "") + nodes[i];
  return out + "]";
}

PartitionPlan from_components(const Components& c, const std::string& label) {
  return {complete_grudge(c), label + " " + describe_components(c)};
}

PartitionPlan plan(const std::string& kind, const json& shape,
                   const std::vector<std::string>& known) {
  if (kind == "random-halves") {
    return from_components(random_halves(nodes_of(shape, known), seed_of(shape)), "halves");
  }
  if (kind == "halves") return from_components(bisect(nodes_of(shape, known)), "halves");
  if (kind == "one") {
    const json& loner = field(shape, "loner");
    if (!loner.is_string()) throw std::invalid_argument("loner must be a node name");
    const auto nodes = nodes_of(shape, known);
    const auto& name = loner.get_ref<const std::string&>();
    if (std::find(nodes.begin(), nodes.end(), name) == nodes.end()) {
      throw std::invalid_argument("loner " + name + " is not one of the nodes");
    }
    return {complete_grudge(split_one(nodes, name)), name + " alone"};
  }
  if (kind == "bridge") {
    const auto nodes = nodes_of(shape, known);
    Grudge g = bridge(nodes);
    const auto mid = static_cast<std::ptrdiff_t>(nodes.size() / 2);
    return {std::move(g), "bridge " + nodes[static_cast<std::size_t>(mid)] + " between " +
                              list_text({nodes.begin(), nodes.begin() + mid}) + " and " +
                              list_text({nodes.begin() + mid + 1, nodes.end()})};
  }
  if (kind == "majorities-ring") {
    const auto nodes = nodes_of(shape, known);
    return {majorities_ring(nodes, seed_of(shape)), "majorities ring " + list_text(nodes)};
  }
  if (kind == "components") {
    const json& list = field(shape, "components");
    if (!list.is_array()) throw std::invalid_argument("components must be a list of lists");
    std::set<std::string> seen;
    Components c;
    for (const auto& part : list) c.push_back(node_list(part, "components", known, seen));
    return from_components(c, "components");
  }
  if (kind == "grudge") {
    const json& g = field(shape, "grudge");
    if (!g.is_object()) throw std::invalid_argument("grudge must map nodes to lists of nodes");
    Grudge grudge;
    for (const auto& [node, drops] : g.items()) {
      std::set<std::string> seen;
      auto peers = node_list(drops, "grudge", known, seen);
      grudge[node].insert(peers.begin(), peers.end());
    }
    validate_grudge(grudge, known);
    return {std::move(grudge), "grudge"};
  }
  throw std::invalid_argument("unknown partition shape '" + kind +
                              "' (expected random-halves, halves, one, bridge, majorities-ring, "
                              "components or grudge)");
}

}  // namespace

PartitionPlan plan_partition(const json& shape, const std::vector<std::string>& known) {
  if (!shape.is_object()) throw std::invalid_argument("a partition shape must be an object");
  const json& kind = field(shape, "shape");
  if (!kind.is_string()) throw std::invalid_argument("\"shape\" must be a string");
  PartitionPlan p = plan(kind.get_ref<const std::string&>(), shape, known);
  if (auto it = shape.find("description"); it != shape.end()) {
    if (!it->is_string()) throw std::invalid_argument("description must be a string");
    p.description = it->get<std::string>();
  }
  return p;
}

std::string describe_components(const Components& components) {
  std::string out = "[";
  for (std::size_t i = 0; i < components.size(); ++i) {
    out += (i ? "," : "") + list_text(components[i]);
  }
  return out + "]";
}

json grudge_to_json(const Grudge& grudge) {
  json out = json::object();
  for (const auto& [node, drops] : grudge) {
    out[node] = json(std::vector<std::string>(drops.begin(), drops.end()));
  }
  return out;
}

bool cuts_any_link(const Grudge& grudge) {
  return std::any_of(grudge.begin(), grudge.end(),
                     [](const auto& entry) { return !entry.second.empty(); });
}

}  // namespace fj
