#include "remote/path_map.hpp"

#include <algorithm>
#include <filesystem>
#include <stdexcept>

namespace fj {

namespace {

/// `/a/./b//c/../d/` -> `/a/b/d`; the root stays `/`.
std::string normalised(const std::string& path) {
  std::string out = std::filesystem::path(path).lexically_normal().string();
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

/// Whether `path` is `prefix` or below it, by whole components.
bool under(const std::string& path, const std::string& prefix) {
  if (prefix == "/") return true;
  return path.compare(0, prefix.size(), prefix) == 0 &&
         (path.size() == prefix.size() || path[prefix.size()] == '/');
}

}  // namespace

PathMap::PathMap(std::vector<Entry> entries) {
  for (auto& [node_prefix, host_prefix] : entries) {
    if (node_prefix.empty() || node_prefix.front() != '/')
      throw std::invalid_argument("path map: node prefix '" + node_prefix + "' is not absolute");
    if (!host_prefix.empty() && host_prefix.front() != '/')
      throw std::invalid_argument("path map: host prefix '" + host_prefix + "' is not absolute");
    entries_.emplace_back(normalised(node_prefix),
                          host_prefix.empty() ? std::string() : normalised(host_prefix));
  }
  std::stable_sort(entries_.begin(), entries_.end(),
                   [](const Entry& a, const Entry& b) { return a.first.size() > b.first.size(); });
}

std::string PathMap::host_path(const std::string& node_path) const {
  if (node_path.empty() || node_path.front() != '/')
    throw std::invalid_argument("'" + node_path + "' is not an absolute path");
  const std::string path = normalised(node_path);
  for (const auto& [node_prefix, host_prefix] : entries_) {
    if (!under(path, node_prefix)) continue;
    if (host_prefix.empty())
      throw std::invalid_argument(path + " is not visible on this node (" + node_prefix +
                                  " is hidden from it)");
    // The rest of the path after the prefix, with its leading '/' (empty at the prefix itself).
    const std::string rest =
        node_prefix == "/" ? (path == "/" ? std::string() : path) : path.substr(node_prefix.size());
    const std::string joined = (host_prefix == "/" ? std::string() : host_prefix) + rest;
    return joined.empty() ? "/" : joined;
  }
  return path;
}

}  // namespace fj
