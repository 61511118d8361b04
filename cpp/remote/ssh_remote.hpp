// A Remote that drives a node over SSH (libssh): one pooled session per node, commands on
// channels, files over SFTP.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <semaphore>
#include <string>

#include "remote/remote.hpp"
#include "remote/tar_stream.hpp"

namespace fj {

/// How to reach and authenticate to one SSH host.
struct SshConfig {
  std::string host;
  int port = 22;
  std::string username = "root";
  std::string password;          ///< empty: no password authentication
  std::string private_key_path;  ///< empty: no key file (if no password either: agent/default keys)
  /// "strict": the host key must already be in known_hosts;
  /// "accept-new": unknown keys are added to known_hosts, changed keys are refused;
  /// "no": the host key is not checked.
  std::string host_key_policy = "no";
  std::string known_hosts_path;   ///< empty: ~/.ssh/known_hosts
  double connect_timeout_s = 10;  ///< TCP connect and every blocking protocol step; <= 0: none
  int retries = 3;  ///< extra attempts when the connection is lost before a command starts
  /// The node's path of the persistent shell's fj_holders builtin (shell_builtin.c); empty: the
  /// shell does its look in bash (a third of a fan-out round's CPU more on local nodes).
  std::string shell_builtin;
  /// This machine's copy of that builtin, put on the host once, before the first command (at
  /// shell_builtin, or where that is empty at kHostShellBuiltinDir/fj_shell_builtin-<hash of its
  /// bytes>.so under the login directory). Empty: nothing is put there. This is how real hosts get
  /// it; local nodes have it copied into their tree. A host that cannot take it, or whose bash
  /// cannot load it (another architecture, an older C library), keeps the look in bash.
  std::string shell_builtin_upload;
};

/// Where a host keeps the builtins put there (SshConfig::shell_builtin_upload), relative to the
/// login directory.
inline constexpr const char* kHostShellBuiltinDir = ".cache/flink-jepsen";

namespace detail {
struct SshConnection;
}

/// Remote over SSH. Thread-safe: every call may come from any thread. All threads share one
/// session per node; every libssh call on the session is serialized by the session's mutex, so
/// several commands on one node can run at the same time (at most kMaxChannels channels at once,
/// plus kIdleShells idle ones: OpenSSH's default MaxSessions is 10). A command without standard
/// input runs in a persistent shell (shell_frames.hpp) kept open on its own channel between
/// commands; one with standard input, and every transfer, gets a channel of its own.
class SshRemote : public Remote {
 public:
  /// Concurrent channels (exec or SFTP) per node; further callers wait for a free slot.
  static constexpr int kMaxChannels = 8;
  /// Persistent shells kept open per session while no command runs in them.
  static constexpr std::size_t kIdleShells = 2;

  /// How the commands so far were carried (tests and benchmarks look).
  struct Counters {
    std::uint64_t shell_commands = 0;    ///< run in a persistent shell
    std::uint64_t channel_commands = 0;  ///< run on an exec channel of their own
    std::uint64_t shells_started = 0;    ///< persistent shells opened
  };

  /// Does not connect; the session is opened by the first call that needs it.
  /// Throws std::invalid_argument for an unknown host_key_policy, an empty host, or a
  /// shell_builtin_upload that cannot be read.
  SshRemote(std::string node, SshConfig cfg);
  ~SshRemote() override;
  SshRemote(const SshRemote&) = delete;
  SshRemote& operator=(const SshRemote&) = delete;

  const std::string& node() const override { return node_; }
  /// As given, but for shell_builtin, which names the upload's place when it was left empty.
  const SshConfig& config() const { return cfg_; }

  /// Runs `bash -c <wrap_command(command, options)>` on the node; when options.timeout_s > 0 its
  /// process group gets a TERM after T seconds and a KILL 2 s later (as from
  /// `timeout --kill-after=2 T`), and the client gives up at T + 5 s. Never throws for a non-zero
  /// exit or a timeout. If the session is lost before the command could start it reconnects and
  /// retries (cfg.retries times); throws ConnectionError when it cannot get a working session. A
  /// session lost while the command runs gives exit_status -1 and a note in `err`.
  ExecResult exec(const std::string& command, const ExecOptions& options) override;

  /// SFTP upload, streamed; creates remote parent directories (`mkdir -p`) and gives the remote
  /// file the local file's permission bits. Transfers are retried whole on a lost session.
  /// Throws ConnectionError naming the node and both paths when the transfer fails (like the
  /// other Remotes), RemoteError when the remote `mkdir -p` fails.
  void upload(const std::string& local_path, const std::string& remote_path) override;

  /// Several uploads sharing their work: one `mkdir -p` for every parent directory and one SFTP
  /// session for all the files (a single upload pays for both each time). Retried whole on a
  /// lost session; errors as upload().
  void upload_files(const std::vector<FileCopy>& files) override;

  /// SFTP download, streamed (pipelined reads); creates local parent directories and writes
  /// through a temporary file renamed into place, so a failed download leaves no partial file.
  void download(const std::string& remote_path, const std::string& local_path) override;

  /// Drops the pooled session; commands still running on it finish first. The next call
  /// connects again.
  void disconnect() override;

  /// True if a session is pooled and was not found broken (it does not probe the network).
  bool connected() const;

  Counters counters() const;

 private:
  using ConnPtr = std::shared_ptr<detail::SshConnection>;

  ExecResult exec_on_shell(const std::string& command, const ExecOptions& options,
                           const std::string& script);
  /// Standard input handed out a piece at a time: up to n bytes into the buffer, 0 at the end.
  using InputPull = std::function<std::size_t(char*, std::size_t)>;
  ExecResult exec_on_channel(const std::string& command, const ExecOptions& options, bool take_slot,
                             const InputPull* input = nullptr);
  void signal_shell(int shell_pid, const char* signal);  // a timeout's USR1 or USR2
  void put_shell_builtin();  // shell_builtin_upload's bytes to shell_builtin (ConnectionError)
  ConnPtr acquire();         // the pooled session, connecting if there is none (or it broke)
  ConnPtr connect_new();     // opens, verifies and authenticates a fresh session
  void verify_host_key(detail::SshConnection& conn);
  void authenticate(detail::SshConnection& conn);
  std::string endpoint() const;  // host:port
  template <class F>
  auto with_retries(const std::string& what, F&& attempt);
  TarMember prepare_upload(const FileCopy& file) const;  // checks the local file
  void download_once(const ConnPtr& conn, const std::string& transfer,
                     const std::string& remote_path, const std::string& tmp_path);

  std::string node_;
  SshConfig cfg_;
  std::string shell_command_;  ///< the exec request that starts a persistent shell
  std::string builtin_bytes_;  ///< shell_builtin_upload's content, put on the host once
  std::once_flag builtin_put_;
  mutable std::mutex pool_mutex_;
  ConnPtr conn_;
  bool ever_connected_ = false;
  std::counting_semaphore<kMaxChannels> channel_slots_{kMaxChannels};
  std::atomic<std::uint64_t> shell_commands_{0};
  std::atomic<std::uint64_t> channel_commands_{0};
  std::atomic<std::uint64_t> shells_started_{0};
};

}  // namespace fj
