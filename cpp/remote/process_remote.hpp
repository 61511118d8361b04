// Remotes that run commands as child processes of the control machine: the control machine
// itself (LocalRemote) and a local node, i.e. a network namespace with its own UTS namespace
// and hosts file, and, when it has one, its own mount namespace (NetnsRemote). upload/download are
// copies on the host's side, to the host path of the node's path (PathMap).
#pragma once

#include <string>
#include <vector>

#include "remote/path_map.hpp"
#include "remote/remote.hpp"

namespace fj {

/// Runs argv (no shell) with a timeout; kills the whole process group when it expires.
ExecResult run_process(const std::vector<std::string>& argv, const std::string& stdin_data,
                       double timeout_s);

/// Runs bash commands through a fixed argv prefix (empty for the control machine itself).
class ProcessRemote : public Remote {
 public:
  /// netns_path names the node's network namespace (a file whose stat is the namespace): its
  /// processes are the ones signal_matching may hit. They share this machine's PID namespace,
  /// so they are found by scanning /proc, with no child process.
  ProcessRemote(std::string node, std::vector<std::string> prefix, std::string netns_path);
  const std::string& node() const override { return node_; }
  ExecResult exec(const std::string& command, const ExecOptions& options) override;
  void upload(const std::string& local_path, const std::string& remote_path) override;
  void download(const std::string& remote_path, const std::string& local_path) override;
  std::vector<int> signal_matching(const std::vector<std::string>& patterns, int signal) override;
  const std::string& netns_path() const { return netns_path_; }
  /// Where a path of this node is on the control machine (the path itself here).
  virtual std::string host_path(const std::string& path) const { return path; }

 private:
  std::string node_;
  std::vector<std::string> prefix_;
  std::string netns_path_;
};

/// The control machine; signal_matching hits processes in its own network namespace only.
class LocalRemote : public ProcessRemote {
 public:
  explicit LocalRemote(std::string node = "control")
      : ProcessRemote(std::move(node), {}, "/proc/self/ns/net") {}
};

/// A local node: `nsenter [--mount=<mount_file>] --uts=<uts_file> ip netns exec <netns> bash -c
/// ...`, so a command sees the node's hostname, network, /etc/netns/<netns>/ files (hosts, shadow)
/// over /etc and, with a mount namespace, the node's own /tmp, /var/tmp and /opt (ip netns exec
/// makes its mount namespace a copy of the one entered, so the node's binds are inherited).
/// upload/download copy to and from the host paths `paths` gives for the node's paths.
/// signal_matching hits the processes in /run/netns/<netns>.
class NetnsRemote : public ProcessRemote {
 public:
  NetnsRemote(std::string node, std::string netns, std::string uts_file,
              std::string mount_file = "", PathMap paths = {});
  void upload(const std::string& local_path, const std::string& remote_path) override;
  void download(const std::string& remote_path, const std::string& local_path) override;
  std::string host_path(const std::string& path) const override;
  const PathMap& paths() const { return paths_; }

 private:
  PathMap paths_;
};

/// The argv prefix NetnsRemote runs commands through (for tests and tools).
std::vector<std::string> netns_prefix(const std::string& netns, const std::string& uts_file,
                                      const std::string& mount_file);

}  // namespace fj
