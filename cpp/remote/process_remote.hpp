// Remotes that run commands as child processes of the control machine: the control machine
// itself (LocalRemote) and a local node, i.e. a network namespace with its own UTS namespace
// and hosts file (NetnsRemote). Files are shared with the host, so upload/download are copies.
#pragma once

#include <string>
#include <vector>

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

/// A local node: `nsenter --uts=<uts_file> ip netns exec <netns> bash -c ...`, so a command sees
/// the node's hostname, network and /etc/netns/<netns>/ files (hosts, shadow) over /etc.
/// signal_matching hits the processes in /run/netns/<netns>.
class NetnsRemote : public ProcessRemote {
 public:
  NetnsRemote(std::string node, std::string netns, std::string uts_file);
};

}  // namespace fj
