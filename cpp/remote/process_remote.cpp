#include "remote/process_remote.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "remote/signal_matching.hpp"

extern char** environ;

namespace fj {

namespace {

/// A pipe whose ends close themselves.
struct Pipe {
  int fds[2] = {-1, -1};
  Pipe() {
    if (pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
  }
  ~Pipe() {
    close_read();
    close_write();
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  void close_read() {
    if (fds[0] >= 0) ::close(fds[0]);
    fds[0] = -1;
  }
  void close_write() {
    if (fds[1] >= 0) ::close(fds[1]);
    fds[1] = -1;
  }
};

/// posix_spawn file actions and attributes, destroyed on scope exit.
struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

/// write(2) to a pipe whose reader may be gone (a command that exits without reading its stdin)
/// without SIGPIPE killing the caller: the signal is blocked in this thread for the call and the
/// one it raised is consumed; EPIPE says it all.
ssize_t write_no_sigpipe(int fd, const char* data, std::size_t size) {
  sigset_t pipe_only, old, pending;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  sigpending(&pending);
  const bool was_pending = sigismember(&pending, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
  const ssize_t w = ::write(fd, data, size);
  const int saved = errno;
  if (w < 0 && saved == EPIPE && !was_pending) {
    const timespec zero{0, 0};
    while (sigtimedwait(&pipe_only, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = saved;
  return w;
}

void set_nonblocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

}  // namespace

ExecResult run_process(const std::vector<std::string>& argv, const std::string& stdin_data,
                       double timeout_s) {
  using clock = std::chrono::steady_clock;
  ExecResult result;
  const auto start = clock::now();
  Pipe in, out, err;
  SpawnSetup spawn;
  posix_spawn_file_actions_adddup2(&spawn.actions, in.fds[0], 0);
  posix_spawn_file_actions_adddup2(&spawn.actions, out.fds[1], 1);
  posix_spawn_file_actions_adddup2(&spawn.actions, err.fds[1], 2);
  // Its own session, so a timeout can kill the command and everything it forked.
  posix_spawnattr_setflags(&spawn.attr,
                           POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  sigset_t empty, all;
  sigemptyset(&empty);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&spawn.attr, &empty);
  posix_spawnattr_setsigdefault(&spawn.attr, &all);

  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, cargv[0], &spawn.actions, &spawn.attr, cargv.data(), environ);
  if (rc != 0) {
    result.err = std::string("cannot start ") + argv[0] + ": " + std::strerror(rc);
    result.exit_status = 127;
    return result;
  }
  in.close_read();
  out.close_write();
  err.close_write();
  set_nonblocking(in.fds[1]);
  set_nonblocking(out.fds[0]);
  set_nonblocking(err.fds[0]);
  std::size_t written = 0;
  if (stdin_data.empty()) in.close_write();

  const bool has_deadline = timeout_s > 0;
  const auto deadline =
      start + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(timeout_s));
  char buf[65536];
  while (out.fds[0] >= 0 || err.fds[0] >= 0) {
    std::vector<pollfd> fds;
    if (out.fds[0] >= 0) fds.push_back({out.fds[0], POLLIN, 0});
    if (err.fds[0] >= 0) fds.push_back({err.fds[0], POLLIN, 0});
    if (in.fds[1] >= 0) fds.push_back({in.fds[1], POLLOUT, 0});
    int wait_ms = -1;
    if (has_deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
      if (left.count() <= 0) {
        result.timed_out = true;
        break;
      }
      wait_ms = static_cast<int>(left.count()) + 1;
    }
    int n = ::poll(fds.data(), fds.size(), wait_ms);
    if (n < 0 && errno != EINTR) break;
    for (const auto& p : fds) {
      if (!p.revents) continue;
      if (p.fd == in.fds[1]) {
        ssize_t w =
            write_no_sigpipe(p.fd, stdin_data.data() + written, stdin_data.size() - written);
        if (w > 0) written += static_cast<std::size_t>(w);
        if (w < 0 && errno != EAGAIN) written = stdin_data.size();
        if (written >= stdin_data.size()) in.close_write();
        continue;
      }
      ssize_t r = ::read(p.fd, buf, sizeof buf);
      if (r > 0) {
        (p.fd == out.fds[0] ? result.out : result.err).append(buf, static_cast<std::size_t>(r));
      } else if (r == 0 || errno != EAGAIN) {
        if (p.fd == out.fds[0])
          out.close_read();
        else
          err.close_read();
      }
    }
  }
  if (result.timed_out) {
    // The command owns its process group (setsid): take all of it down.
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (result.timed_out) {
    result.exit_status = -1;
  } else if (WIFEXITED(status)) {
    result.exit_status = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.exit_status = 128 + WTERMSIG(status);
  }
  result.seconds = std::chrono::duration<double>(clock::now() - start).count();
  return result;
}

ProcessRemote::ProcessRemote(std::string node, std::vector<std::string> prefix,
                             std::string netns_path)
    : node_(std::move(node)), prefix_(std::move(prefix)), netns_path_(std::move(netns_path)) {}

std::vector<int> ProcessRemote::signal_matching(const std::vector<std::string>& patterns,
                                                int signal) {
  return signal_in_netns(netns_path_, PatternSet(patterns), signal);
}

ExecResult ProcessRemote::exec(const std::string& command, const ExecOptions& options) {
  std::vector<std::string> argv = prefix_;
  argv.insert(argv.end(), {"bash", "-c", wrap_command(command, options)});
  spdlog::debug("[{}] exec: {}", node_, command);
  ExecResult r = run_process(argv, options.stdin_data.value_or(""), options.timeout_s);
  r.node = node_;
  r.command = command;
  return r;
}

namespace {
void copy_file(const std::string& node, const std::string& from, const std::string& to) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path dest(to);
  if (dest.has_parent_path()) fs::create_directories(dest.parent_path(), ec);
  fs::copy_file(from, dest, fs::copy_options::overwrite_existing, ec);
  if (ec) throw ConnectionError(node, "cannot copy " + from + " to " + to + ": " + ec.message());
}
}  // namespace

void ProcessRemote::upload(const std::string& local_path, const std::string& remote_path) {
  copy_file(node_, local_path, remote_path);
}

void ProcessRemote::download(const std::string& remote_path, const std::string& local_path) {
  copy_file(node_, remote_path, local_path);
}

std::vector<std::string> netns_prefix(const std::string& netns, const std::string& uts_file,
                                      const std::string& mount_file) {
  std::vector<std::string> argv{"nsenter"};
  // nsenter opens every namespace file before it enters any, so both paths are the host's.
  if (!mount_file.empty()) argv.push_back("--mount=" + mount_file);
  argv.insert(argv.end(), {"--uts=" + uts_file, "ip", "netns", "exec", netns, "env",
                           // A tag every process on the node inherits: teardown finds strays by it.
                           "FJ_NODE=" + netns});
  return argv;
}

NetnsRemote::NetnsRemote(std::string node, std::string netns, std::string uts_file,
                         std::string mount_file, PathMap paths)
    : ProcessRemote(std::move(node), netns_prefix(netns, uts_file, mount_file),
                    "/run/netns/" + netns),
      paths_(std::move(paths)) {}

std::string NetnsRemote::host_path(const std::string& path) const {
  try {
    return paths_.host_path(path);
  } catch (const std::invalid_argument& e) {
    throw ConnectionError(node(), e.what());
  }
}

void NetnsRemote::upload(const std::string& local_path, const std::string& remote_path) {
  copy_file(node(), local_path, host_path(remote_path));
}

void NetnsRemote::download(const std::string& remote_path, const std::string& local_path) {
  copy_file(node(), host_path(remote_path), local_path);
}

}  // namespace fj
