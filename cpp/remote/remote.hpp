// The control interface every node is driven through: local network namespaces and SSH hosts
// implement the same calls, so the layers above never know which one they talk to.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace fj {

/// How to run one command on a node.
struct ExecOptions {
  double timeout_s = 60.0;                 ///< <= 0 means no timeout
  std::map<std::string, std::string> env;  ///< exported before the command runs
  std::string cwd;                         ///< empty: the login's default directory
  std::optional<std::string> stdin_data;   ///< fed to the command's standard input
  bool sudo = false;                       ///< wrap in `sudo -n` (for non-root SSH users)
};

/// What one command did on one node.
struct ExecResult {
  std::string node;
  std::string command;
  int exit_status = -1;  ///< -1 when the command never ran to completion (timeout, transport error)
  std::string out;
  std::string err;
  bool timed_out = false;
  double seconds = 0.0;
  bool ok() const { return exit_status == 0 && !timed_out; }
};

/// One file to copy to a node.
struct FileCopy {
  std::string local_path;
  std::string remote_path;
};

/// A command failed on a node: carries node, command, exit status and the tail of stderr.
class RemoteError : public std::runtime_error {
 public:
  explicit RemoteError(ExecResult result);
  const ExecResult& result() const { return result_; }

 private:
  ExecResult result_;
};

/// The transport itself failed (cannot connect, authentication refused, session lost for good).
class ConnectionError : public std::runtime_error {
 public:
  ConnectionError(const std::string& node, const std::string& what)
      : std::runtime_error(node + ": " + what), node_(node) {}
  const std::string& node() const { return node_; }

 private:
  std::string node_;
};

/// One node's control channel. Implementations must be safe to call from several threads.
class Remote {
 public:
  virtual ~Remote() = default;
  /// The node's name as the test knows it (n1, host1.example.org...).
  virtual const std::string& node() const = 0;
  /// Runs a shell command (bash) and returns what it did; never throws for a non-zero exit.
  virtual ExecResult exec(const std::string& command, const ExecOptions& options) = 0;
  /// Copies a local file to the node (parent directories are created).
  virtual void upload(const std::string& local_path, const std::string& remote_path) = 0;
  /// Copies several local files to the node, each as upload() would; transports that can
  /// share the work between files (one directory pass, one transfer session) override it.
  /// Throws as upload() for the first file that fails.
  virtual void upload_files(const std::vector<FileCopy>& files);
  /// Copies a file from the node to the control machine (parent directories are created).
  virtual void download(const std::string& remote_path, const std::string& local_path) = 0;
  /// Drops any cached connection; the next call connects again.
  virtual void disconnect() {}
  /// Sends `signal` to every process of this node whose command line (arguments joined by single
  /// spaces, as `pgrep -f` sees it) matches any of the patterns (POSIX extended regexes), never
  /// to the caller's own processes. Returns the pids signalled, sorted and unique. This default
  /// runs one bash snippet (a /proc scan + kill) on the node; local remotes scan /proc themselves.
  /// Throws std::invalid_argument for a bad pattern or signal, RemoteError if the node fails.
  virtual std::vector<int> signal_matching(const std::vector<std::string>& patterns, int signal);

  /// exec that throws RemoteError unless the command exited 0 in time.
  ExecResult check(const std::string& command, const ExecOptions& options);
};

using RemotePtr = std::shared_ptr<Remote>;

/// Quotes a string for bash: the result is one word whatever it contains.
std::string shell_quote(const std::string& s);

/// The bash script that applies cwd, env and sudo to a command (shared by every transport).
std::string wrap_command(const std::string& command, const ExecOptions& options);

/// The last `max_lines` lines of a text (error messages carry stderr tails, not whole logs).
std::string tail_lines(const std::string& text, std::size_t max_lines);

}  // namespace fj
