// Where a local node's paths are on the control machine. A local node runs in its own mount
// namespace: some directories are bound over (its own /tmp, /var/tmp and /opt are directories
// of its tree), some are hidden (the other nodes' trees), the rest is the host's. Copies made
// on the host's side (NetnsRemote upload/download, staging) go through this map.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace fj {

class PathMap {
 public:
  /// One entry: node paths under `node_prefix` are host paths under `host_prefix`; an empty
  /// `host_prefix` hides the prefix (the node cannot see it). The longest matching prefix wins,
  /// matched by whole path components. Paths no entry covers are the host's own.
  using Entry = std::pair<std::string, std::string>;

  PathMap() = default;
  /// Throws std::invalid_argument for a prefix that is not absolute.
  explicit PathMap(std::vector<Entry> entries);

  /// The host path of an absolute node path (normalised lexically: `.`, `..`, repeated `/`).
  /// Throws std::invalid_argument for a relative path or a hidden one.
  std::string host_path(const std::string& node_path) const;

  const std::vector<Entry>& entries() const { return entries_; }

 private:
  std::vector<Entry> entries_;  ///< normalised, longest prefix first
};

}  // namespace fj
