#include "nemesis/grudge.hpp"

#include <algorithm>
#include <random>
#include <stdexcept>

namespace fj {

Grudge complete_grudge(const Components& components) {
  Grudge g;
  for (std::size_t i = 0; i < components.size(); ++i) {
    for (const auto& node : components[i]) {
      auto& drops = g[node];
      for (std::size_t j = 0; j < components.size(); ++j) {
        if (i != j) drops.insert(components[j].begin(), components[j].end());
      }
    }
  }
  return g;
}

Components bisect(const std::vector<std::string>& nodes) {
  const auto half = nodes.begin() + static_cast<std::ptrdiff_t>(nodes.size() / 2);
  return {std::vector<std::string>(nodes.begin(), half),
          std::vector<std::string>(half, nodes.end())};
}

Components split_one(const std::vector<std::string>& nodes, const std::string& loner) {
  if (std::find(nodes.begin(), nodes.end(), loner) == nodes.end()) {
    throw std::invalid_argument("unknown node " + loner);
  }
  std::vector<std::string> rest;
  for (const auto& n : nodes) {
    if (n != loner) rest.push_back(n);
  }
  return {{loner}, rest};
}

Components random_halves(const std::vector<std::string>& nodes, std::uint64_t seed) {
  std::vector<std::string> shuffled = nodes;
  std::mt19937_64 rng(seed);
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  return bisect(shuffled);
}

Grudge bridge(const std::vector<std::string>& nodes) {
  if (nodes.size() < 3) throw std::invalid_argument("a bridge needs at least 3 nodes");
  const std::size_t mid = nodes.size() / 2;
  std::vector<std::string> left(nodes.begin(), nodes.begin() + static_cast<std::ptrdiff_t>(mid));
  std::vector<std::string> right(nodes.begin() + static_cast<std::ptrdiff_t>(mid) + 1, nodes.end());
  return cut_between(left, right);
}

Grudge majorities_ring(const std::vector<std::string>& nodes, std::uint64_t seed) {
  std::vector<std::string> ring = nodes;
  std::mt19937_64 rng(seed);
  std::shuffle(ring.begin(), ring.end(), rng);
  const std::size_t n = ring.size();
  const std::size_t majority = n / 2 + 1;
  Grudge g;
  for (std::size_t i = 0; i < n; ++i) {
    // Node i sees the majority centred on itself in the ring and drops everyone else.
    std::set<std::string> sees;
    const std::size_t back = (majority - 1) / 2;
    for (std::size_t k = 0; k < majority; ++k) sees.insert(ring[(i + n - back + k) % n]);
    auto& drops = g[ring[i]];
    for (const auto& other : ring) {
      if (!sees.count(other)) drops.insert(other);
    }
  }
  return g;
}

Grudge cut_between(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  Grudge g;
  for (const auto& x : a) g[x].insert(b.begin(), b.end());
  for (const auto& y : b) g[y].insert(a.begin(), a.end());
  return g;
}

void validate_grudge(const Grudge& grudge, const std::vector<std::string>& nodes) {
  auto known = [&](const std::string& n) {
    return std::find(nodes.begin(), nodes.end(), n) != nodes.end();
  };
  for (const auto& [node, drops] : grudge) {
    if (!known(node)) throw std::invalid_argument("grudge names unknown node " + node);
    for (const auto& d : drops) {
      if (!known(d)) throw std::invalid_argument("grudge of " + node + " names unknown node " + d);
      if (d == node) throw std::invalid_argument("node " + node + " cannot drop its own packets");
    }
  }
}

}  // namespace fj
