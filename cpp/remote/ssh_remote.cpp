#include "remote/ssh_remote.hpp"

#include <fcntl.h>
#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/sftp.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "remote/shell_frames.hpp"

namespace fj {
namespace detail {

struct SessionDeleter {
  void operator()(ssh_session s) const noexcept {
    if (ssh_is_connected(s)) ssh_disconnect(s);
    ssh_free(s);
  }
};
using SessionPtr = std::unique_ptr<ssh_session_struct, SessionDeleter>;

struct SshConnection;

/// Frees a channel under its session's mutex (and unhooks its callbacks first).
struct ChannelDeleter {
  SshConnection* conn = nullptr;
  ssh_channel_callbacks callbacks = nullptr;  // removed before the channel goes
  void operator()(ssh_channel ch) const noexcept;
};
using ChannelPtr = std::unique_ptr<ssh_channel_struct, ChannelDeleter>;

/// One SSH session. Every libssh call on it or on any of its channels holds `mu` (libssh
/// sessions are not thread-safe); the mutex is recursive so RAII handles can be released while
/// it is held.
struct SshConnection {
  std::recursive_mutex mu;
  SessionPtr session;
  std::atomic<bool> broken{false};  ///< found dead: the pool replaces it on the next acquire
  std::string label;                ///< user@host:port
  /// Persistent shells waiting for their next command (under mu); freed before the session.
  std::vector<ChannelPtr> idle_shells;

  /// Under mu.
  bool dead() const {
    ssh_session s = session.get();
    return ssh_is_connected(s) == 0 || (ssh_get_status(s) & (SSH_CLOSED | SSH_CLOSED_ERROR)) != 0;
  }
  /// Under mu.
  std::string error() const {
    const char* e = ssh_get_error(session.get());
    return e != nullptr && *e != '\0' ? e : "unknown error";
  }
};

void ChannelDeleter::operator()(ssh_channel ch) const noexcept {
  std::lock_guard<std::recursive_mutex> lock(conn->mu);
  if (callbacks != nullptr) ssh_remove_channel_callbacks(ch, callbacks);
  ssh_channel_free(ch);  // sends a close if the channel is still open
}

}  // namespace detail

namespace {

using detail::SshConnection;
using Clock = std::chrono::steady_clock;
using ConnPtr = std::shared_ptr<SshConnection>;
using Lock = std::lock_guard<std::recursive_mutex>;

constexpr std::size_t kIoChunk = 64 * 1024;  // channel reads/writes, SFTP reads
constexpr std::size_t kReadAhead = 16;       // SFTP read requests in flight during a download
// An idle exec sleeps on the session socket; the cap bounds the delay when another thread
// handled the packets meant for it (then the socket shows nothing new).
constexpr auto kMinIdleWait = std::chrono::milliseconds(2);
constexpr auto kMaxIdleWait = std::chrono::milliseconds(50);

/// A failure a new attempt may cure: cannot connect, session lost, channel refused. Never
/// leaves SshRemote; with_retries turns the last one into a ConnectionError.
class Transient : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

void init_libssh() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (ssh_init() != SSH_OK) throw std::runtime_error("ssh_init failed");
  });
}

// ---- RAII handles ------------------------------------------------------------------------------

struct KeyDeleter {
  void operator()(ssh_key k) const noexcept { ssh_key_free(k); }
};
using KeyPtr = std::unique_ptr<ssh_key_struct, KeyDeleter>;

struct HashDeleter {
  void operator()(unsigned char* h) const noexcept { ssh_clean_pubkey_hash(&h); }
};
using HashPtr = std::unique_ptr<unsigned char, HashDeleter>;

struct SshStringDeleter {
  void operator()(char* s) const noexcept { ssh_string_free_char(s); }
};
using SshCharPtr = std::unique_ptr<char, SshStringDeleter>;

using detail::ChannelDeleter;
using detail::ChannelPtr;

struct SftpDeleter {
  SshConnection* conn = nullptr;
  void operator()(sftp_session s) const noexcept {
    Lock lock(conn->mu);
    sftp_free(s);
  }
};
using SftpPtr = std::unique_ptr<sftp_session_struct, SftpDeleter>;

struct SftpFileDeleter {
  SshConnection* conn = nullptr;
  void operator()(sftp_file f) const noexcept {
    Lock lock(conn->mu);
    sftp_close(f);
  }
};
using SftpFilePtr = std::unique_ptr<sftp_file_struct, SftpFileDeleter>;

struct SftpAttrDeleter {
  void operator()(sftp_attributes a) const noexcept { sftp_attributes_free(a); }
};
using SftpAttrPtr = std::unique_ptr<sftp_attributes_struct, SftpAttrDeleter>;

/// Holds one of the node's channel slots for its lifetime.
class SlotGuard {
 public:
  explicit SlotGuard(std::counting_semaphore<SshRemote::kMaxChannels>& slots) : slots_(slots) {
    slots_.acquire();
  }
  ~SlotGuard() { slots_.release(); }
  SlotGuard(const SlotGuard&) = delete;
  SlotGuard& operator=(const SlotGuard&) = delete;

 private:
  std::counting_semaphore<SshRemote::kMaxChannels>& slots_;
};

// ---- helpers -----------------------------------------------------------------------------------

std::chrono::milliseconds backoff() {
  thread_local std::mt19937 rng{std::random_device{}()};
  return std::chrono::milliseconds(std::uniform_int_distribution<int>(50, 300)(rng));
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// A duration for GNU timeout: plain decimal whatever the locale, never 0 (which would mean
/// "no timeout").
std::string timeout_arg(double seconds) {
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, std::clamp(seconds, 0.001, 1e9),
                                 std::chars_format::fixed, 3);
  return std::string(buf, res.ptr);
}

int signal_number(const std::string& name) {
  static const std::map<std::string, int> kSignals = {
      {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"ILL", SIGILL},   {"TRAP", SIGTRAP},
      {"ABRT", SIGABRT}, {"BUS", SIGBUS},   {"FPE", SIGFPE},   {"KILL", SIGKILL}, {"USR1", SIGUSR1},
      {"SEGV", SIGSEGV}, {"USR2", SIGUSR2}, {"PIPE", SIGPIPE}, {"ALRM", SIGALRM}, {"TERM", SIGTERM},
      {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ}};
  auto it = kSignals.find(name);
  return it == kSignals.end() ? 127 : it->second;
}

/// What the server reported about the end of the remote command (filled by channel callbacks).
struct ExitState {
  std::optional<int> status;
  std::optional<std::string> signal;
  bool known() const { return status.has_value() || signal.has_value(); }
};

void on_exit_status(ssh_session, ssh_channel, int status, void* userdata) {
  static_cast<ExitState*>(userdata)->status = status;
}

void on_exit_signal(ssh_session, ssh_channel, const char* signal, int, const char*, const char*,
                    void* userdata) {
  static_cast<ExitState*>(userdata)->signal = signal != nullptr ? signal : "?";
}

/// Sleeps until the session socket is readable or `max` passed (another thread may consume
/// the data first, hence the short cap).
void wait_readable(socket_t fd, std::chrono::milliseconds max) {
  if (max.count() <= 0) return;
  if (fd == SSH_INVALID_SOCKET) {
    std::this_thread::sleep_for(max);
    return;
  }
  pollfd p{};
  p.fd = fd;
  p.events = POLLIN;
  ::poll(&p, 1, static_cast<int>(max.count()));
}

std::string sftp_error_text(int code) {
  switch (code) {
    case SSH_FX_OK:
      return "no error reported";
    case SSH_FX_EOF:
      return "unexpected end of file";
    case SSH_FX_NO_SUCH_FILE:
      return "no such file";
    case SSH_FX_PERMISSION_DENIED:
      return "permission denied";
    case SSH_FX_FAILURE:
      return "failure";
    case SSH_FX_BAD_MESSAGE:
      return "bad message";
    case SSH_FX_NO_CONNECTION:
      return "no connection";
    case SSH_FX_CONNECTION_LOST:
      return "connection lost";
    case SSH_FX_OP_UNSUPPORTED:
      return "operation unsupported";
    case SSH_FX_INVALID_HANDLE:
      return "invalid handle";
    case SSH_FX_NO_SUCH_PATH:
      return "no such path";
    case SSH_FX_FILE_ALREADY_EXISTS:
      return "file already exists";
    case SSH_FX_WRITE_PROTECT:
      return "write-protected";
    case SSH_FX_NO_MEDIA:
      return "no media";
    default:
      return "SFTP error " + std::to_string(code);
  }
}

std::string errno_text(int err) { return std::generic_category().message(err); }

/// "SHA256:... (ssh-ed25519)" for the server's host key, or a placeholder.
std::string server_key_fingerprint(ssh_session s) {
  ssh_key raw_key = nullptr;
  if (ssh_get_server_publickey(s, &raw_key) != SSH_OK) return "key unavailable";
  KeyPtr key(raw_key);
  unsigned char* raw_hash = nullptr;
  size_t hash_len = 0;
  if (ssh_get_publickey_hash(key.get(), SSH_PUBLICKEY_HASH_SHA256, &raw_hash, &hash_len) != 0) {
    return "key unavailable";
  }
  HashPtr hash(raw_hash);
  SshCharPtr fp(ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash.get(), hash_len));
  const char* type = ssh_key_type_to_char(ssh_key_type(key.get()));
  return std::string(fp ? fp.get() : "?") + " (" + (type != nullptr ? type : "?") + ")";
}

}  // namespace

// ---- SshRemote ---------------------------------------------------------------------------------

namespace {

/// FNV-1a, 64 bits, in hex: names a builtin's copy on a host by its bytes, so harnesses of
/// different versions sharing a host never load each other's.
std::string content_name(const std::string& bytes) {
  std::uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

}  // namespace

SshRemote::SshRemote(std::string node, SshConfig cfg)
    : node_(std::move(node)), cfg_(std::move(cfg)) {
  if (!cfg_.shell_builtin_upload.empty()) {
    std::ifstream in(cfg_.shell_builtin_upload, std::ios::binary);
    std::ostringstream bytes;
    if (in) bytes << in.rdbuf();
    builtin_bytes_ = bytes.str();
    if (!in || builtin_bytes_.empty()) {
      throw std::invalid_argument("SshRemote " + node_ + ": cannot read the shell builtin " +
                                  cfg_.shell_builtin_upload + " (shell_builtin_upload)");
    }
    if (cfg_.shell_builtin.empty()) {
      cfg_.shell_builtin = std::string(kHostShellBuiltinDir) + "/fj_shell_builtin-" +
                           content_name(builtin_bytes_) + ".so";
    }
  }
  shell_command_ = persistent_shell_command(cfg_.shell_builtin);
  if (cfg_.host.empty()) throw std::invalid_argument("SshRemote " + node_ + ": empty host");
  if (cfg_.port <= 0 || cfg_.port > 65535) {
    throw std::invalid_argument("SshRemote " + node_ + ": bad port " + std::to_string(cfg_.port));
  }
  if (cfg_.host_key_policy != "strict" && cfg_.host_key_policy != "accept-new" &&
      cfg_.host_key_policy != "no") {
    throw std::invalid_argument("SshRemote " + node_ + ": unknown host_key_policy '" +
                                cfg_.host_key_policy + "' (expected strict, accept-new or no)");
  }
  if (cfg_.retries < 0) cfg_.retries = 0;
}

SshRemote::~SshRemote() = default;

std::string SshRemote::endpoint() const {
  if (cfg_.host.find(':') != std::string::npos) {
    return "[" + cfg_.host + "]:" + std::to_string(cfg_.port);
  }
  return cfg_.host + ":" + std::to_string(cfg_.port);
}

bool SshRemote::connected() const {
  std::lock_guard lock(pool_mutex_);
  return conn_ != nullptr && !conn_->broken.load();
}

void SshRemote::disconnect() {
  ConnPtr old;
  {
    std::lock_guard lock(pool_mutex_);
    old = std::move(conn_);
  }
  if (old) spdlog::debug("[{}] ssh: disconnecting from {}", node_, old->label);
  // `old` is released here; the session closes once commands still using it are done.
}

SshRemote::ConnPtr SshRemote::acquire() {
  std::lock_guard lock(pool_mutex_);
  if (conn_ && !conn_->broken.load()) return conn_;
  if (conn_ || ever_connected_) {
    spdlog::debug("[{}] ssh: reconnecting to {}@{}", node_, cfg_.username, endpoint());
  }
  conn_.reset();
  conn_ = connect_new();
  ever_connected_ = true;
  return conn_;
}

SshRemote::ConnPtr SshRemote::connect_new() {
  init_libssh();
  const auto start = Clock::now();
  auto conn = std::make_shared<SshConnection>();
  conn->label = cfg_.username + "@" + endpoint();
  conn->session.reset(ssh_new());
  if (!conn->session) throw ConnectionError(node_, "cannot allocate an SSH session");
  ssh_session s = conn->session.get();
  Lock lock(conn->mu);

  auto set = [&](ssh_options_e option, const void* value, const char* name) {
    if (ssh_options_set(s, option, value) != SSH_OK) {
      throw ConnectionError(node_, std::string("cannot set SSH option ") + name + " for " +
                                       conn->label + ": " + conn->error());
    }
  };
  const int verbosity = SSH_LOG_NOLOG;
  set(SSH_OPTIONS_LOG_VERBOSITY, &verbosity, "log verbosity");
  set(SSH_OPTIONS_HOST, cfg_.host.c_str(), "host");
  const int port = cfg_.port;
  set(SSH_OPTIONS_PORT, &port, "port");
  set(SSH_OPTIONS_USER, cfg_.username.c_str(), "user");
  const int nodelay = 1;  // small request/response round trips; Nagle would add ~40 ms each
  set(SSH_OPTIONS_NODELAY, &nodelay, "nodelay");
  const bool process_config = false;  // only SshConfig counts, not ~/.ssh/config
  set(SSH_OPTIONS_PROCESS_CONFIG, &process_config, "process config");
  if (cfg_.connect_timeout_s > 0) {
    const long sec = static_cast<long>(cfg_.connect_timeout_s);
    const long usec = static_cast<long>((cfg_.connect_timeout_s - static_cast<double>(sec)) * 1e6);
    set(SSH_OPTIONS_TIMEOUT, &sec, "timeout");
    set(SSH_OPTIONS_TIMEOUT_USEC, &usec, "timeout");
  }
  if (!cfg_.known_hosts_path.empty()) {
    set(SSH_OPTIONS_KNOWNHOSTS, cfg_.known_hosts_path.c_str(), "known_hosts");
  }

  spdlog::debug("[{}] ssh: connecting to {}", node_, conn->label);
  if (ssh_connect(s) != SSH_OK) {
    throw Transient("cannot connect to " + endpoint() + ": " + conn->error());
  }
  verify_host_key(*conn);
  authenticate(*conn);
  spdlog::debug("[{}] ssh: connected to {} in {:.3f} s", node_, conn->label, seconds_since(start));
  return conn;
}

void SshRemote::verify_host_key(SshConnection& conn) {
  const std::string& policy = cfg_.host_key_policy;
  if (policy == "no") return;
  ssh_session s = conn.session.get();
  std::string known_hosts =
      cfg_.known_hosts_path.empty() ? "~/.ssh/known_hosts" : cfg_.known_hosts_path;
  {
    char* raw = nullptr;
    if (ssh_options_get(s, SSH_OPTIONS_KNOWNHOSTS, &raw) == SSH_OK && raw != nullptr) {
      SshCharPtr path(raw);
      known_hosts = path.get();
    }
  }
  const ssh_known_hosts_e state = ssh_session_is_known_server(s);
  const std::string host = endpoint();
  switch (state) {
    case SSH_KNOWN_HOSTS_OK:
      return;
    case SSH_KNOWN_HOSTS_CHANGED:
      throw ConnectionError(node_, "host key of " + host + " has CHANGED, it is now " +
                                       server_key_fingerprint(s) + " (policy " + policy +
                                       "); this may be a man-in-the-middle attack; if the host "
                                       "was reinstalled, remove its old entry from " +
                                       known_hosts);
    case SSH_KNOWN_HOSTS_OTHER:
      throw ConnectionError(node_, "host key of " + host + " is " + server_key_fingerprint(s) +
                                       " but " + known_hosts +
                                       " holds a key of another type for it (policy " + policy +
                                       "); this may be a man-in-the-middle attack");
    case SSH_KNOWN_HOSTS_UNKNOWN:
    case SSH_KNOWN_HOSTS_NOT_FOUND:
      if (policy == "strict") {
        throw ConnectionError(node_, "host key of " + host + " (" + server_key_fingerprint(s) +
                                         ") is not in known_hosts " + known_hosts +
                                         " (policy strict)");
      }
      if (ssh_session_update_known_hosts(s) != SSH_OK) {
        throw ConnectionError(node_, "cannot add the host key of " + host + " to " + known_hosts +
                                         " (policy accept-new): " + conn.error());
      }
      spdlog::info("[{}] ssh: added host key {} of {} to {} (policy accept-new)", node_,
                   server_key_fingerprint(s), host, known_hosts);
      return;
    case SSH_KNOWN_HOSTS_ERROR:
    default:
      if (conn.dead()) {
        throw Transient("connection to " + host +
                        " lost while checking its host key: " + conn.error());
      }
      throw ConnectionError(node_, "cannot check the host key of " + host + " against " +
                                       known_hosts + " (policy " + policy + "): " + conn.error());
  }
}

void SshRemote::authenticate(SshConnection& conn) {
  ssh_session s = conn.session.get();
  std::vector<std::string> tried;
  std::string notes;

  // Returns true on success; throws when the session itself failed.
  auto outcome = [&](int rc, const char* method) {
    if (rc == SSH_AUTH_SUCCESS) {
      spdlog::debug("[{}] ssh: authenticated as {} by {}", node_, conn.label, method);
      return true;
    }
    if (rc == SSH_AUTH_PARTIAL) {
      notes += std::string(notes.empty() ? "" : "; ") + method +
               " was accepted but the server requires more methods";
    } else if (rc == SSH_AUTH_ERROR || rc == SSH_AUTH_AGAIN) {
      if (conn.dead() || rc == SSH_AUTH_AGAIN) {
        throw Transient("connection to " + endpoint() + " lost during " + method +
                        " authentication: " + conn.error());
      }
      notes += std::string(notes.empty() ? "" : "; ") + method + ": " + conn.error();
    }
    return false;
  };

  if (!cfg_.private_key_path.empty()) {
    ssh_key raw = nullptr;
    const int rc =
        ssh_pki_import_privkey_file(cfg_.private_key_path.c_str(), nullptr, nullptr, nullptr, &raw);
    KeyPtr key(raw);
    if (rc != SSH_OK || !key) {
      notes = "cannot read private key " + cfg_.private_key_path +
              (rc == SSH_EOF ? " (missing or unreadable)"
                             : " (bad format, or protected by a passphrase)");
      if (cfg_.password.empty()) {
        throw ConnectionError(node_, "authentication failed for " + conn.label + ": " + notes);
      }
    } else {
      tried.emplace_back("publickey");
      if (outcome(ssh_userauth_publickey(s, nullptr, key.get()), "publickey")) return;
    }
  }
  if (!cfg_.password.empty()) {
    tried.emplace_back("password");
    if (outcome(ssh_userauth_password(s, nullptr, cfg_.password.c_str()), "password")) return;
  }
  if (cfg_.private_key_path.empty() && cfg_.password.empty()) {
    tried.emplace_back("publickey from the agent and default keys");
    if (outcome(ssh_userauth_publickey_auto(s, nullptr, nullptr), "publickey")) return;
  }

  std::string methods;
  for (const auto& m : tried) methods += (methods.empty() ? "" : ", ") + m;
  throw ConnectionError(node_, "authentication failed for " + conn.label + " (tried: " + methods +
                                   ")" + (notes.empty() ? "" : "; " + notes));
}

template <class F>
auto SshRemote::with_retries(const std::string& what, F&& attempt) {
  std::string reason;
  for (int i = 0;; ++i) {
    try {
      return attempt(acquire());
    } catch (const Transient& e) {
      reason = e.what();
    }
    if (i >= cfg_.retries) {
      throw ConnectionError(node_, reason + " (" + what + ": gave up after " +
                                       std::to_string(i + 1) + " attempt" + (i > 0 ? "s" : "") +
                                       ")");
    }
    const auto delay = backoff();
    spdlog::warn("[{}] ssh: {}; retrying {} in {} ms (attempt {} of {})", node_, reason, what,
                 delay.count(), i + 2, cfg_.retries + 1);
    std::this_thread::sleep_for(delay);
  }
}

namespace {

/// A channel operation failed before the command started: a dead or unresponsive session is
/// marked broken (the retry reconnects); a refusal on a live session is retried on it.
[[noreturn]] void channel_failure(SshConnection& conn, const std::string& step, int rc) {
  if (rc == SSH_AGAIN) {
    conn.broken = true;
    throw Transient(step + " on " + conn.label + ": no answer within the session timeout");
  }
  if (conn.dead()) {
    conn.broken = true;
    throw Transient(step + " on " + conn.label + ": session lost (" + conn.error() + ")");
  }
  throw Transient(step + " on " + conn.label + ": " + conn.error());
}

}  // namespace

SshRemote::Counters SshRemote::counters() const {
  Counters c;
  c.shell_commands = shell_commands_.load();
  c.channel_commands = channel_commands_.load();
  c.shells_started = shells_started_.load();
  return c;
}

namespace {

/// One debug line per command, whichever path (exec channel or persistent shell) ran it.
void log_exec_result(const std::string& node, const std::string& command,
                     const ExecResult& result) {
  if (result.timed_out) {
    spdlog::debug("[{}] exec timed out after {:.3f} s: {}", node, result.seconds, command);
  } else {
    spdlog::debug("[{}] exec exited {} after {:.3f} s: {}", node, result.exit_status,
                  result.seconds, command);
  }
}

/// Bash cannot read a NUL into a variable, and a bash variable is not the place for megabytes:
/// such scripts go on an exec channel.
constexpr std::size_t kMaxShellScript = 1024 * 1024;

/// An idle persistent shell fit to take a command: open, not at end of file, nothing unread
/// (output after its last frame would mean a writer it missed). Under conn.mu.
ChannelPtr take_idle_shell(SshConnection& conn) {
  while (!conn.idle_shells.empty()) {
    ChannelPtr ch = std::move(conn.idle_shells.back());
    conn.idle_shells.pop_back();
    if (ssh_channel_is_open(ch.get()) != 0 && ssh_channel_is_eof(ch.get()) == 0 &&
        ssh_channel_poll(ch.get(), 0) == 0 && ssh_channel_poll(ch.get(), 1) == 0) {
      return ch;
    }
  }
  return nullptr;
}

}  // namespace

ExecResult SshRemote::exec(const std::string& command, const ExecOptions& options) {
  if (!options.stdin_data) {
    std::string script = wrap_command(command, options);
    if (script.size() <= kMaxShellScript && script.find('\0') == std::string::npos) {
      return exec_on_shell(command, options, script);
    }
  }
  return exec_on_channel(command, options, true);
}

void SshRemote::signal_shell(int shell_pid, const char* signal) {
  if (shell_pid <= 0) return;
  ExecOptions options;
  options.timeout_s = 10;
  const std::string command = "kill -s " + std::string(signal) + " " + std::to_string(shell_pid);
  try {
    // Without a channel slot: the commands holding them may be the ones timing out.
    const ExecResult res = exec_on_channel(command, options, false);
    if (!res.ok()) {
      spdlog::debug("[{}] ssh: `{}` failed: {}", node_, command, tail_lines(res.err, 3));
    }
  } catch (const std::exception& e) {
    spdlog::debug("[{}] ssh: `{}` failed: {}", node_, command, e.what());
  }
}

void SshRemote::put_shell_builtin() {
  if (builtin_bytes_.empty()) return;
  const std::string& path = cfg_.shell_builtin;
  const auto slash = path.rfind('/');
  std::string command;
  if (slash != std::string::npos && slash > 0) {
    command = "mkdir -p " + shell_quote(path.substr(0, slash)) + " && ";
  }
  // Through a file of its own, renamed into place: a shell loading the builtin meanwhile, or
  // another harness putting it there too, never sees it half written.
  command += "cat >" + shell_quote(path) + ".$$ && mv -f " + shell_quote(path) + ".$$ " +
             shell_quote(path);
  ExecOptions options;
  options.timeout_s = 30;
  options.stdin_data = builtin_bytes_;
  // No session at all throws ConnectionError, as the command that asked would have: nothing is
  // put, and the next command tries again (call_once). Anything else leaves the look in bash.
  const ExecResult res = exec_on_channel(command, options, true);
  if (res.ok()) {
    spdlog::debug("[{}] ssh: the shell builtin is at {}", node_, path);
  } else {
    spdlog::info("[{}] ssh: cannot put the shell builtin at {} ({}); shells look in bash", node_,
                 path, tail_lines(res.err, 2));
  }
}

ExecResult SshRemote::exec_on_channel(const std::string& command, const ExecOptions& options,
                                      bool take_slot, const InputPull* input) {
  ++channel_commands_;
  const auto start = Clock::now();
  ExecResult result;
  result.node = node_;
  result.command = command;

  const bool timed = options.timeout_s > 0;
  std::string remote = "bash -c " + shell_quote(wrap_command(command, options));
  if (timed) remote = "timeout --kill-after=2 " + timeout_arg(options.timeout_s) + " " + remote;
  spdlog::debug("[{}] exec: {}", node_, command);

  std::optional<SlotGuard> slot;
  if (take_slot) slot.emplace(channel_slots_);
  // Both outlive the channel: the callbacks are registered on it until it is freed.
  ExitState exit_state;
  ssh_channel_callbacks_struct callbacks{};
  ssh_callbacks_init(&callbacks);
  callbacks.userdata = &exit_state;
  callbacks.channel_exit_status_function = on_exit_status;
  callbacks.channel_exit_signal_function = on_exit_signal;

  auto [conn, channel] = with_retries("exec", [&](const ConnPtr& c) {
    Lock lock(c->mu);
    ChannelPtr ch(ssh_channel_new(c->session.get()), ChannelDeleter{c.get(), nullptr});
    if (!ch) channel_failure(*c, "cannot create a channel", SSH_ERROR);
    int rc = ssh_channel_open_session(ch.get());
    if (rc != SSH_OK) channel_failure(*c, "cannot open a channel", rc);
    ssh_set_channel_callbacks(ch.get(), &callbacks);
    ch.get_deleter().callbacks = &callbacks;
    rc = ssh_channel_request_exec(ch.get(), remote.c_str());
    if (rc != SSH_OK) channel_failure(*c, "the exec request was refused", rc);
    return std::make_pair(c, std::move(ch));
  });

  // The command runs: from here on nothing is retried.
  ssh_channel ch = channel.get();
  ssh_session s = conn->session.get();
  // Standard input: pulled a chunk at a time (an upload's stream), or options.stdin_data.
  std::size_t given = 0;
  InputPull from_options = [&](char* out, std::size_t n) -> std::size_t {
    if (!options.stdin_data) return 0;
    const std::size_t k = std::min(n, options.stdin_data->size() - given);
    std::memcpy(out, options.stdin_data->data() + given, k);
    given += k;
    return k;
  };
  const InputPull& pull = input != nullptr ? *input : from_options;
  std::vector<char> pending(kIoChunk);
  std::size_t pending_at = 0;
  std::size_t pending_len = 0;
  bool input_done = false;
  bool out_eof = false;
  bool err_eof = false;
  bool finished = false;
  bool client_timeout = false;
  std::string lost;  // why the session failed while the command ran
  std::optional<Clock::time_point> deadline;
  if (timed) {
    deadline = start + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(options.timeout_s + 5.0));
  }
  std::vector<char> buf(kIoChunk);
  auto idle_wait = kMinIdleWait;

  bool input_end = false;  // the source gave everything
  while (true) {
    bool progress = false;
    socket_t fd = SSH_INVALID_SOCKET;
    if (!input_done && !input_end && pending_at == pending_len) {
      pending_len = pull(pending.data(), pending.size());  // outside the session's lock
      pending_at = 0;
      input_end = pending_len == 0;
    }
    {
      Lock lock(conn->mu);
      // Standard input, no more than the remote window takes, so a command that writes a lot
      // before reading cannot deadlock us.
      if (!input_done && pending_at < pending_len) {
        const std::size_t window = ssh_channel_window_size(ch);
        if (window > 0) {
          const auto n = static_cast<uint32_t>(std::min(window, pending_len - pending_at));
          const int rc = ssh_channel_write(ch, pending.data() + pending_at, n);
          if (rc < 0) {
            if (conn->dead()) lost = "writing standard input: " + conn->error();
            input_done = true;  // the remote side closed the channel: stop feeding it
          } else {
            pending_at += static_cast<std::size_t>(rc);
            progress = progress || rc > 0;
          }
        }
      }
      if (!input_done && input_end) {
        if (ssh_channel_send_eof(ch) != SSH_OK && conn->dead()) {
          lost = "sending end of input: " + conn->error();
        }
        input_done = true;
      }
      // Standard output and error.
      for (int is_stderr = 0; is_stderr < 2 && lost.empty(); ++is_stderr) {
        bool& eof = is_stderr != 0 ? err_eof : out_eof;
        std::string& sink = is_stderr != 0 ? result.err : result.out;
        for (int k = 0; k < 16 && !eof; ++k) {
          const int rc = ssh_channel_read_nonblocking(ch, buf.data(),
                                                      static_cast<uint32_t>(buf.size()), is_stderr);
          if (rc > 0) {
            sink.append(buf.data(), static_cast<std::size_t>(rc));
            progress = true;
            continue;
          }
          if (rc == SSH_EOF) {
            eof = true;
          } else if (rc < 0) {
            if (conn->dead()) {
              lost = "reading output: " + conn->error();
            } else if (ssh_channel_is_closed(ch) != 0) {
              eof = true;
            } else {
              lost = "reading output: " + conn->error();
            }
          }
          break;
        }
      }
      // Once both streams ended, wait for the exit status (or the channel's close).
      if (lost.empty() && out_eof && err_eof) {
        if (!exit_state.known()) {
          ssh_set_blocking(s, 0);
          const int status = ssh_channel_get_exit_status(ch);  // handles pending packets only
          ssh_set_blocking(s, 1);
          if (status >= 0 && !exit_state.known()) exit_state.status = status;
        }
        if (exit_state.known() || ssh_channel_is_closed(ch) != 0) {
          finished = true;
        } else if (conn->dead()) {
          lost = "waiting for the exit status: " + conn->error();
        }
      }
      if (!lost.empty()) conn->broken = true;
      fd = ssh_get_fd(s);
    }
    if (finished || !lost.empty()) break;
    if (deadline && Clock::now() >= *deadline) {
      client_timeout = true;
      break;
    }
    if (progress) {
      idle_wait = kMinIdleWait;
      continue;
    }
    auto wait = idle_wait;
    if (deadline) {
      wait = std::min(wait, std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now()));
    }
    wait_readable(fd, wait);
    idle_wait = std::min(idle_wait * 2, kMaxIdleWait);
  }

  if (client_timeout) {
    Lock lock(conn->mu);
    ssh_channel_close(ch);
  }
  channel.reset();
  result.seconds = seconds_since(start);

  if (!lost.empty()) {
    result.exit_status = -1;
    if (!result.err.empty() && result.err.back() != '\n') result.err += '\n';
    result.err += "fj: SSH session to " + conn->label + " lost while the command ran (" + lost +
                  "); its outcome is unknown\n";
    spdlog::warn("[{}] ssh: session lost while running `{}`: {}", node_, command, lost);
  } else if (client_timeout) {
    result.timed_out = true;
    result.exit_status = -1;
  } else {
    int status = -1;
    if (exit_state.status) {
      status = *exit_state.status;
    } else if (exit_state.signal) {
      status = 128 + signal_number(*exit_state.signal);
    } else {
      if (!result.err.empty() && result.err.back() != '\n') result.err += '\n';
      result.err += "fj: the channel to " + conn->label +
                    " closed without an exit status (was the server's session process killed?); "
                    "the command's outcome is unknown\n";
      spdlog::warn("[{}] ssh: no exit status for `{}`", node_, command);
    }
    // GNU timeout exits 124 after its TERM, 137 after the KILL that follows --kill-after.
    if (timed && (status == 124 || status == 137) && result.seconds >= options.timeout_s) {
      result.timed_out = true;
      result.exit_status = -1;
    } else {
      result.exit_status = status;
    }
  }
  log_exec_result(node_, command, result);
  return result;
}

ExecResult SshRemote::exec_on_shell(const std::string& command, const ExecOptions& options,
                                    const std::string& script) {
  // Before the first shell starts, and before this command takes a channel slot.
  std::call_once(builtin_put_, [this] { put_shell_builtin(); });
  ++shell_commands_;
  const auto start = Clock::now();
  ExecResult result;
  result.node = node_;
  result.command = command;
  const bool timed = options.timeout_s > 0;
  auto after = [&](double seconds) {
    return start + std::chrono::duration_cast<Clock::duration>(
                       std::chrono::duration<double>(options.timeout_s + seconds));
  };
  const auto term_at = after(0);   // TERM to the command's process group, as GNU timeout
  const auto kill_at = after(2);   // ... and KILL (--kill-after=2)
  const auto deadline = after(5);  // the client gives up, as on an exec channel
  spdlog::debug("[{}] exec: {}", node_, command);

  SlotGuard slot(channel_slots_);
  struct Outcome {
    explicit Outcome(const std::string& marker) : out(marker, false), err(marker, true) {}
    FramedStream out;
    FramedStream err;
    bool out_eof = false;
    bool err_eof = false;
    int signals_sent = 0;  // 1: TERM asked for, 2: KILL too
    bool client_timeout = false;
    std::string lost;  // why the session failed while the command ran
    std::string conn_label;
  };

  // One attempt: a shell (idle or new), the request, then its output up to the frames. A session
  // lost before the shell acknowledged the command is Transient: the command never started.
  auto attempt = [&](const ConnPtr& conn) {
    const std::string marker = new_frame_marker();
    Outcome o(marker);
    o.conn_label = conn->label;
    ChannelPtr channel;
    {
      Lock lock(conn->mu);
      channel = take_idle_shell(*conn);
      if (!channel) {
        channel =
            ChannelPtr(ssh_channel_new(conn->session.get()), ChannelDeleter{conn.get(), nullptr});
        if (!channel) channel_failure(*conn, "cannot create a channel", SSH_ERROR);
        int rc = ssh_channel_open_session(channel.get());
        if (rc != SSH_OK) channel_failure(*conn, "cannot open a channel", rc);
        rc = ssh_channel_request_exec(channel.get(), shell_command_.c_str());
        if (rc != SSH_OK) channel_failure(*conn, "the shell's exec request was refused", rc);
        ++shells_started_;
      }
      const std::string request = frame_request(marker, script);
      const int rc =
          ssh_channel_write(channel.get(), request.data(), static_cast<uint32_t>(request.size()));
      if (rc != static_cast<int>(request.size())) {
        channel_failure(*conn, "cannot send the command to the shell", SSH_ERROR);
      }
    }
    ssh_channel ch = channel.get();
    ssh_session s = conn->session.get();
    std::vector<char> buf(kIoChunk);
    auto idle_wait = kMinIdleWait;
    auto done = [&] {
      const bool framed = o.out.framed() && o.err.framed();
      if (framed && !o.out.retiring()) return true;
      if (o.out_eof && o.err_eof) return true;  // retired, or the shell ended early
      return (o.out_eof && !o.out.framed()) || (o.err_eof && !o.err.framed());
    };
    while (true) {
      bool progress = false;
      socket_t fd = SSH_INVALID_SOCKET;
      {
        Lock lock(conn->mu);
        for (int is_stderr = 0; is_stderr < 2 && o.lost.empty(); ++is_stderr) {
          bool& eof = is_stderr != 0 ? o.err_eof : o.out_eof;
          FramedStream& sink = is_stderr != 0 ? o.err : o.out;
          for (int k = 0; k < 16 && !eof; ++k) {
            const int rc = ssh_channel_read_nonblocking(
                ch, buf.data(), static_cast<uint32_t>(buf.size()), is_stderr);
            if (rc > 0) {
              sink.append(buf.data(), static_cast<std::size_t>(rc));
              progress = true;
              continue;
            }
            if (rc == SSH_EOF || (rc < 0 && !conn->dead() && ssh_channel_is_closed(ch) != 0)) {
              eof = true;
            } else if (rc < 0) {
              o.lost = "reading output: " + conn->error();
            }
            break;
          }
        }
        if (!o.lost.empty()) conn->broken = true;
        fd = ssh_get_fd(s);
      }
      if (!o.lost.empty() && !o.out.acknowledged()) {
        throw Transient("the session to " + conn->label + " was lost before the command started (" +
                        o.lost + ")");
      }
      if ((o.out_eof || o.err_eof) && !o.out.acknowledged()) {
        // The shell went away before it read the command (killed while idle): not started.
        throw Transient("the shell on " + conn->label + " ended before it took the command");
      }
      if (done() || !o.lost.empty()) break;
      const auto now = Clock::now();
      if (timed && !o.out.framed() && o.signals_sent < 2 &&
          now >= (o.signals_sent == 0 ? term_at : kill_at)) {
        ++o.signals_sent;
        signal_shell(o.out.shell_pid(), o.signals_sent == 1 ? kShellTermSignal : kShellKillSignal);
      }
      if (timed && now >= deadline) {
        o.client_timeout = true;
        break;
      }
      if (progress) {
        idle_wait = kMinIdleWait;
        continue;
      }
      auto wait = idle_wait;
      if (timed) {
        const auto next = o.out.framed() || o.signals_sent >= 2 ? deadline
                          : o.signals_sent == 0                 ? term_at
                                                                : kill_at;
        wait = std::min(wait, std::chrono::ceil<std::chrono::milliseconds>(next - now));
      }
      wait_readable(fd, wait);
      idle_wait = std::min(idle_wait * 2, kMaxIdleWait);
    }
    // A shell is used again only if it is known idle: it framed the command, was not told to
    // kill it (a late signal must not hit the next command) and sent nothing after the frame.
    const bool reusable = o.lost.empty() && !o.client_timeout && o.signals_sent == 0 &&
                          o.out.framed() && o.err.framed() && !o.out.retiring() && !o.out_eof &&
                          !o.err_eof && o.out.trailing() == 0 && o.err.trailing() == 0;
    Lock lock(conn->mu);
    if (o.client_timeout) ssh_channel_close(ch);
    if (reusable && !conn->broken && conn->idle_shells.size() < kIdleShells) {
      conn->idle_shells.push_back(std::move(channel));
    }
    channel.reset();
    return o;
  };
  Outcome o = with_retries("exec", attempt);

  result.out = std::move(o.out.text());
  result.err = std::move(o.err.text());
  result.seconds = seconds_since(start);
  auto note = [&](const std::string& text) {
    if (!result.err.empty() && result.err.back() != '\n') result.err += '\n';
    result.err += text;
  };
  if (!o.lost.empty()) {
    result.exit_status = -1;
    note("fj: SSH session to " + o.conn_label + " lost while the command ran (" + o.lost +
         "); its outcome is unknown\n");
    spdlog::warn("[{}] ssh: session lost while running `{}`: {}", node_, command, o.lost);
  } else if (o.client_timeout) {
    result.timed_out = true;
    result.exit_status = -1;
  } else if (!o.out.framed() || !o.err.framed() || o.out.status() < 0) {
    result.exit_status = -1;
    note("fj: the shell on " + o.conn_label +
         " ended without the command's exit status (was it killed?); the command's outcome is "
         "unknown\n");
    spdlog::warn("[{}] ssh: no exit status for `{}`", node_, command);
  } else if (o.signals_sent > 0) {
    result.timed_out = true;  // as GNU timeout's 124/137 on an exec channel
    result.exit_status = -1;
  } else {
    result.exit_status = o.out.status();
  }
  log_exec_result(node_, command, result);
  return result;
}

// ---- SFTP --------------------------------------------------------------------------------------

namespace {

/// An SFTP step failed: a lost session is Transient (the whole transfer is retried); anything
/// else is a ConnectionError naming the node, the transfer and the reason. Call under conn.mu.
[[noreturn]] void sftp_failure(const std::string& node, SshConnection& conn, sftp_session sftp,
                               const std::string& transfer, const std::string& step) {
  if (conn.dead()) {
    conn.broken = true;
    throw Transient(transfer + ": session lost while " + step + " (" + conn.error() + ")");
  }
  if (sftp != nullptr && sftp->channel != nullptr &&
      (ssh_channel_is_eof(sftp->channel) != 0 || ssh_channel_is_closed(sftp->channel) != 0)) {
    // The server's sftp-server went away (often the first sign of a dying session).
    throw Transient(transfer + ": the SFTP channel closed while " + step);
  }
  std::string reason;
  const int code = sftp != nullptr ? sftp_get_error(sftp) : SSH_FX_FAILURE;
  if (sftp != nullptr && code != SSH_FX_OK && code != SSH_FX_FAILURE) {
    reason = sftp_error_text(code);
  } else {
    reason = conn.error();
  }
  throw ConnectionError(node, transfer + ": " + step + " failed: " + reason);
}

SftpPtr open_sftp(const std::string& node, SshConnection& conn, const std::string& transfer) {
  Lock lock(conn.mu);
  SftpPtr sftp(sftp_new(conn.session.get()), SftpDeleter{&conn});
  if (!sftp) {
    // sftp_new opens a channel and requests the subsystem: like an exec channel, a dead
    // session is retried on a new one.
    if (conn.dead()) {
      conn.broken = true;
      throw Transient(transfer + ": cannot open an SFTP channel, session lost (" + conn.error() +
                      ")");
    }
    throw ConnectionError(node,
                          transfer + ": cannot start SFTP on " + conn.label + ": " + conn.error());
  }
  if (sftp_init(sftp.get()) != SSH_OK) {
    sftp_failure(node, conn, sftp.get(), transfer, "initialising SFTP");
  }
  return sftp;
}

}  // namespace

TarMember SshRemote::prepare_upload(const FileCopy& file) const {
  const std::string transfer =
      "upload " + file.local_path + " to " + node_ + ":" + file.remote_path;
  struct stat st {};
  if (::stat(file.local_path.c_str(), &st) != 0) {
    throw ConnectionError(node_, transfer + ": cannot read local file: " + errno_text(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    throw ConnectionError(node_, transfer + ": local path is not a regular file");
  }
  return TarMember{file.local_path, file.remote_path, static_cast<std::uint64_t>(st.st_size),
                   static_cast<unsigned>(st.st_mode & 07777)};
}

void SshRemote::upload(const std::string& local_path, const std::string& remote_path) {
  upload_files({FileCopy{local_path, remote_path}});
}

// One `tar -x` on the node takes the whole batch as a stream on one channel: no reply to wait
// for between files or chunks (libssh 0.10's SFTP waits after every write), and missing parent
// directories are made on the way. Names and modes are the archive's (-P keeps absolute paths,
// -p the exact modes); owners and times are the node's own, as an SFTP upload's would be. An
// existing file is replaced, not written through: a link to it elsewhere keeps its content.
void SshRemote::upload_files(const std::vector<FileCopy>& files) {
  if (files.empty()) return;
  std::vector<TarMember> members;
  members.reserve(files.size());
  for (const auto& f : files) members.push_back(prepare_upload(f));
  const std::string what =
      "upload " + files.front().local_path + " to " + node_ + ":" + files.front().remote_path +
      (files.size() > 1 ? " (and " + std::to_string(files.size() - 1) + " more)" : std::string());
  const auto start = Clock::now();
  spdlog::debug("[{}] ssh: {}", node_, what);
  const std::string command = "tar -x -m -p -P --no-same-owner -f -";
  for (int attempt = 0;; ++attempt) {
    TarStream stream(members);
    const InputPull pull = [&stream](char* out, std::size_t n) { return stream.read(out, n); };
    ExecResult res;
    try {
      res = exec_on_channel(command, ExecOptions{}, true, &pull);
    } catch (const ConnectionError&) {
      throw;
    } catch (const std::runtime_error& e) {
      throw ConnectionError(node_, what + ": " + e.what());  // a local file failed us
    }
    if (res.ok()) break;
    // The stream is whole or nothing is: a session lost under it is sent again from the start.
    const bool session_lost = res.exit_status == -1 && !res.timed_out;
    if (!session_lost || attempt >= cfg_.retries) {
      throw ConnectionError(node_, what + ": tar on the node exited " +
                                       std::to_string(res.exit_status) + ": " +
                                       tail_lines(res.err, 5));
    }
    std::this_thread::sleep_for(backoff());
  }
  spdlog::debug("[{}] ssh: uploaded {} file(s) in {:.3f} s", node_, members.size(),
                seconds_since(start));
}

void SshRemote::download(const std::string& remote_path, const std::string& local_path) {
  const std::string transfer = "download " + node_ + ":" + remote_path + " to " + local_path;
  const std::filesystem::path local(local_path);
  std::error_code ec;
  if (local.has_parent_path()) std::filesystem::create_directories(local.parent_path(), ec);
  if (ec) {
    throw ConnectionError(node_, transfer + ": cannot create the local directory " +
                                     local.parent_path().string() + ": " + ec.message());
  }
  static std::atomic<unsigned> counter{0};
  const std::string tmp = local_path + ".fj-part-" + std::to_string(::getpid()) + "-" +
                          std::to_string(counter.fetch_add(1));
  const auto start = Clock::now();
  spdlog::debug("[{}] ssh: {}", node_, transfer);
  try {
    with_retries("download",
                 [&](const ConnPtr& c) { download_once(c, transfer, remote_path, tmp); });
    std::filesystem::rename(tmp, local_path, ec);
    if (ec) {
      throw ConnectionError(node_,
                            transfer + ": cannot move " + tmp + " into place: " + ec.message());
    }
  } catch (...) {
    std::filesystem::remove(tmp, ec);
    throw;
  }
  spdlog::debug("[{}] ssh: downloaded {} in {:.3f} s", node_, remote_path, seconds_since(start));
}

void SshRemote::download_once(const ConnPtr& conn, const std::string& transfer,
                              const std::string& remote_path, const std::string& tmp_path) {
  SlotGuard slot(channel_slots_);
  std::ofstream out(tmp_path, std::ios::binary | std::ios::trunc);
  if (!out) {
    throw ConnectionError(
        node_, transfer + ": cannot create local file " + tmp_path + ": " + errno_text(errno));
  }
  SftpPtr sftp = open_sftp(node_, *conn, transfer);
  SftpFilePtr file(nullptr, SftpFileDeleter{conn.get()});
  std::uint64_t size = 0;
  {
    Lock lock(conn->mu);
    file.reset(sftp_open(sftp.get(), remote_path.c_str(), O_RDONLY, 0));
    if (!file) sftp_failure(node_, *conn, sftp.get(), transfer, "opening the remote file");
    SftpAttrPtr attrs(sftp_fstat(file.get()));
    if (attrs && (attrs->flags & SSH_FILEXFER_ATTR_SIZE) != 0) size = attrs->size;
  }
  std::vector<char> buf(kIoChunk);
  auto write_local = [&](std::size_t n) {
    out.write(buf.data(), static_cast<std::streamsize>(n));
    if (!out) {
      throw ConnectionError(node_,
                            transfer + ": writing the local file failed: " + errno_text(errno));
    }
  };

  // Pipelined reads over the size known at open, completed in order. A short answer (the file
  // shrank, or the server returned less) ends the pipeline; the synchronous reads below carry
  // on from the last byte received, up to the end of file (which also picks up appended data).
  struct Request {
    int id;
    std::uint64_t offset;
    std::uint32_t len;
  };
  std::deque<Request> in_flight;
  std::uint64_t next = 0;
  std::uint64_t pos = 0;
  bool short_read = false;
  while (!short_read && pos < size) {
    {
      Lock lock(conn->mu);
      while (in_flight.size() < kReadAhead && next < size) {
        const auto len = static_cast<std::uint32_t>(std::min<std::uint64_t>(kIoChunk, size - next));
        sftp_seek64(file.get(), next);
        const int id = sftp_async_read_begin(file.get(), len);
        if (id < 0) sftp_failure(node_, *conn, sftp.get(), transfer, "requesting data");
        in_flight.push_back({id, next, len});
        next += len;
      }
    }
    const Request req = in_flight.front();
    in_flight.pop_front();
    int n = 0;
    {
      Lock lock(conn->mu);
      n = sftp_async_read(file.get(), buf.data(), req.len, static_cast<std::uint32_t>(req.id));
      if (n < 0) sftp_failure(node_, *conn, sftp.get(), transfer, "reading the remote file");
    }
    write_local(static_cast<std::size_t>(n));
    pos += static_cast<std::uint64_t>(n);
    if (static_cast<std::uint32_t>(n) < req.len) short_read = true;
  }
  {
    // Collect the answers still in flight (their data is not used). After an end-of-file
    // answer libssh returns at once and drops the rest when the SFTP session is freed.
    Lock lock(conn->mu);
    for (const Request& req : in_flight) {
      if (sftp_async_read(file.get(), buf.data(), req.len, static_cast<std::uint32_t>(req.id)) <
              0 &&
          conn->dead()) {
        sftp_failure(node_, *conn, sftp.get(), transfer, "reading the remote file");
      }
    }
    in_flight.clear();
    sftp_seek64(file.get(), pos);  // also clears libssh's end-of-file flag
  }
  while (true) {
    ssize_t n = 0;
    {
      Lock lock(conn->mu);
      n = sftp_read(file.get(), buf.data(), buf.size());
      if (n < 0) sftp_failure(node_, *conn, sftp.get(), transfer, "reading the remote file");
    }
    if (n == 0) break;
    write_local(static_cast<std::size_t>(n));
  }
  out.close();
  if (!out) {
    throw ConnectionError(node_,
                          transfer + ": writing the local file failed: " + errno_text(errno));
  }
}

}  // namespace fj
