// SshRemote against a real OpenSSH server: the fixture starts /usr/sbin/sshd on 127.0.0.1 on a
// free port, with its own host key, client key and authorized_keys in a temporary directory.
// Needs root (sshd must switch users and read its keys); skipped otherwise.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "remote/ssh_remote.hpp"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

fj::ExecOptions with_timeout(double t) {
  fj::ExecOptions o;
  o.timeout_s = t;
  return o;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const fs::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << data;
}

/// Runs a local shell command and returns its standard output.
std::string local_output(const std::string& command) {
  std::string out;
  FILE* f = ::popen(command.c_str(), "r");
  if (f == nullptr) return out;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  ::pclose(f);
  return out;
}

bool run_local(const std::string& command) { return std::system(command.c_str()) == 0; }

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

bool port_open(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

std::string random_token() {
  std::mt19937_64 rng{std::random_device{}()};
  return std::to_string(rng() % 1000000000ULL);
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

/// The sshd shared by every test of the suite.
struct Sshd {
  std::string skip_reason;  // non-empty: the suite is skipped
  fs::path dir;
  int port = -1;
  pid_t pid = -1;
  fs::path client_key;

  void start() {
    if (::geteuid() != 0) {
      skip_reason = "needs root to run sshd";
      return;
    }
    if (!fs::exists("/usr/sbin/sshd")) {
      skip_reason = "/usr/sbin/sshd is missing (install openssh-server)";
      return;
    }
    char templ[] = "/tmp/fj-sshd-XXXXXX";
    if (::mkdtemp(templ) == nullptr) {
      skip_reason = "mkdtemp failed";
      return;
    }
    dir = templ;
    // sshd refuses to start without its privilege separation directory.
    std::error_code ec;
    fs::create_directories("/run/sshd", ec);
    ::chmod("/run/sshd", 0755);

    const fs::path host_key = dir / "host_key";
    client_key = dir / "client_key";
    if (!run_local("ssh-keygen -q -t ed25519 -N '' -f " + host_key.string()) ||
        !run_local("ssh-keygen -q -t ed25519 -N '' -f " + client_key.string())) {
      skip_reason = "ssh-keygen failed";
      return;
    }
    const fs::path auth = dir / "auth";
    fs::create_directories(auth);
    ::chmod(auth.c_str(), 0700);
    fs::copy_file(client_key.string() + ".pub", auth / "authorized_keys");

    port = free_port();
    const std::vector<std::string> args = {
        "/usr/sbin/sshd",
        "-D",
        "-e",
        "-f",
        "/dev/null",
        "-o",
        "ListenAddress=127.0.0.1",
        "-o",
        "Port=" + std::to_string(port),
        "-o",
        "HostKey=" + host_key.string(),
        "-o",
        "PidFile=" + (dir / "sshd.pid").string(),
        "-o",
        "AuthorizedKeysFile=" + (auth / "authorized_keys").string(),
        "-o",
        "StrictModes=no",
        "-o",
        "PermitRootLogin=yes",
        "-o",
        "UsePAM=no",
        "-o",
        "PasswordAuthentication=yes",
        "-o",
        "MaxStartups=100",
        "-o",
        "Subsystem=sftp /usr/lib/openssh/sftp-server",
        // A UTF-8 locale, as PAM gives sessions on most hosts: bash then counts characters.
        "-o",
        "SetEnv=LANG=C.UTF-8",
    };
    const std::string log = (dir / "sshd.log").string();
    pid = ::fork();
    if (pid == 0) {
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      std::vector<char*> argv;
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    const auto start = Clock::now();
    while (!port_open(port)) {
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        pid = -1;
        skip_reason = "sshd exited at start: " + read_file(log);
        return;
      }
      if (seconds_since(start) > 10) {
        skip_reason = "sshd did not listen within 10 s: " + read_file(log);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  void stop() {
    if (pid > 0) {
      ::kill(pid, SIGTERM);
      int status = 0;
      ::waitpid(pid, &status, 0);
      pid = -1;
    }
    if (!dir.empty()) {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  }

  std::string log() const { return read_file(dir / "sshd.log"); }
};

Sshd* g_sshd = nullptr;

class SshRemoteTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    g_sshd = new Sshd();
    g_sshd->start();
  }
  static void TearDownTestSuite() {
    g_sshd->stop();
    delete g_sshd;
    g_sshd = nullptr;
  }
  void SetUp() override {
    if (!g_sshd->skip_reason.empty()) GTEST_SKIP() << g_sshd->skip_reason;
    work_ = g_sshd->dir / ("work-" + random_token());
    fs::create_directories(work_);
  }
  void TearDown() override {
    if (HasFailure() && g_sshd != nullptr && !g_sshd->dir.empty()) {
      std::cerr << "sshd log:\n" << g_sshd->log() << "\n";
    }
  }

  fj::SshConfig config() const {
    fj::SshConfig c;
    c.host = "127.0.0.1";
    c.port = g_sshd->port;
    c.username = "root";
    c.private_key_path = g_sshd->client_key.string();
    c.connect_timeout_s = 5;
    return c;
  }

  /// The two ways a persistent shell looks for processes left holding its channel: in bash, and
  /// with the fj_holders builtin (shell_builtin.c, as built for this test). Tests of what the
  /// look decides run with both.
  std::vector<std::pair<std::string, fj::SshConfig>> looks() const {
    fj::SshConfig with_builtin = config();
    with_builtin.shell_builtin = FJ_SHELL_BUILTIN_PATH;
    return {{"bash look", config()}, {"builtin look", with_builtin}};
  }

  /// ShellGivesWhatAnExecChannelGives for one look.
  void gives_what_an_exec_channel_gives(const std::string& look, const fj::SshConfig& cfg);

  /// Kills the per-connection sshd processes (children of the listener): every session dies.
  static void kill_sessions() {
    run_local("pkill -P " + std::to_string(g_sshd->pid));
    const auto start = Clock::now();
    while (!local_output("pgrep -P " + std::to_string(g_sshd->pid)).empty() &&
           seconds_since(start) < 5) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  fs::path work_;
};

}  // namespace

TEST_F(SshRemoteTest, SshExecReturnsOutErrAndStatus) {
  fj::SshRemote r("n1", config());
  auto res = r.exec("echo out; echo err >&2; exit 3", with_timeout(10));
  EXPECT_EQ(res.exit_status, 3);
  EXPECT_EQ(res.out, "out\n");
  EXPECT_EQ(res.err, "err\n");
  EXPECT_EQ(res.node, "n1");
  EXPECT_EQ(res.command, "echo out; echo err >&2; exit 3");
  EXPECT_FALSE(res.timed_out);
  EXPECT_FALSE(res.ok());
  EXPECT_GT(res.seconds, 0.0);

  auto ok = r.exec("true", with_timeout(0));  // no timeout at all
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(ok.out, "");
  EXPECT_TRUE(r.connected());
}

TEST_F(SshRemoteTest, SshAppliesEnvCwdAndStdin) {
  fj::SshRemote r("n1", config());
  fj::ExecOptions o = with_timeout(10);
  o.env = {{"GREETING", "it's me"}, {"OTHER", "a b"}};
  o.cwd = work_.string();
  o.stdin_data = std::string("line1\nline2\n");
  auto res = r.exec("echo \"$GREETING|$OTHER\"; pwd; wc -l", o);
  EXPECT_EQ(res.exit_status, 0) << res.err;
  EXPECT_EQ(res.out, "it's me|a b\n" + work_.string() + "\n2\n");

  // No stdin_data: the command sees end of input at once instead of hanging.
  auto empty = r.exec("wc -c", with_timeout(10));
  EXPECT_EQ(empty.out, "0\n");
}

TEST_F(SshRemoteTest, SshLargeStdinAndOutputDoNotDeadlock) {
  fj::SshRemote r("n1", config());
  std::string input(3 * 1024 * 1024 + 17, '\0');
  std::mt19937 rng(42);
  for (auto& c : input) c = static_cast<char>('a' + rng() % 26);
  fj::ExecOptions o = with_timeout(60);
  o.stdin_data = input;
  // cat echoes everything back while we are still writing; stderr gets a copy too.
  auto res = r.exec("tee /dev/stderr", o);
  EXPECT_EQ(res.exit_status, 0);
  EXPECT_EQ(res.out.size(), input.size());
  EXPECT_TRUE(res.out == input);
  EXPECT_TRUE(res.err == input);
}

TEST_F(SshRemoteTest, SshTimeoutKillsTheRemoteCommand) {
  fj::SshRemote r("n1", config());
  const std::string token = random_token();
  const std::string a = "30." + token;  // unique sleep durations, found by pgrep below
  const std::string b = "31." + token;
  const auto start = Clock::now();
  auto res = r.exec("sleep " + a + " & sleep " + b + "; echo never", with_timeout(1));
  const double took = seconds_since(start);
  EXPECT_TRUE(res.timed_out);
  EXPECT_EQ(res.exit_status, -1);
  EXPECT_FALSE(res.ok());
  EXPECT_EQ(res.out, "");
  EXPECT_GE(took, 1.0);
  EXPECT_LT(took, 5.0);
  // The bracket keeps pgrep's own shell from matching.
  const std::string pattern = "'[s]leep 3[01][.]" + token + "'";
  std::string left = local_output("pgrep -f " + pattern);
  for (int i = 0; i < 30 && !left.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    left = local_output("pgrep -f " + pattern);
  }
  EXPECT_EQ(left, "") << "the remote sleep survived its timeout";

  // A command that ends in time is not a timeout, whatever its status.
  auto quick = r.exec("exit 124", with_timeout(5));
  EXPECT_FALSE(quick.timed_out);
  EXPECT_EQ(quick.exit_status, 124);
}

TEST_F(SshRemoteTest, SshClientDeadlineWhenOutputStaysOpen) {
  // A process outside timeout's reach (own session) keeps the output channel open: the remote
  // timeout alone cannot end the exec, the client-side deadline (timeout + 5 s) does.
  fj::SshRemote r("n1", config());
  const std::string token = random_token();
  const auto start = Clock::now();
  auto res = r.exec("setsid sleep 32." + token + " & echo begun; sleep 60", with_timeout(1));
  const double took = seconds_since(start);
  run_local("pkill -f '[s]leep 32[.]" + token + "'");
  EXPECT_TRUE(res.timed_out);
  EXPECT_EQ(res.exit_status, -1);
  EXPECT_EQ(res.out, "begun\n");  // output received before the deadline is kept
  EXPECT_GE(took, 5.5);
  EXPECT_LT(took, 10.0);
  // The session is still usable.
  EXPECT_TRUE(r.exec("true", with_timeout(10)).ok());
}

TEST_F(SshRemoteTest, SshKilledBySignalReports128PlusSignal) {
  fj::SshRemote r("n1", config());
  auto res = r.exec("kill -9 $$", with_timeout(10));
  EXPECT_EQ(res.exit_status, 137);
  EXPECT_FALSE(res.timed_out);
}

TEST_F(SshRemoteTest, SshUploadDownloadRoundTripKeepsBytesAndMode) {
  fj::SshRemote r("n1", config());
  std::string data(5 * 1024 * 1024 + 123, '\0');
  std::mt19937_64 rng{std::random_device{}()};
  for (auto& c : data) c = static_cast<char>(rng() & 0xff);
  const fs::path local = work_ / "src.bin";
  write_file(local, data);
  ::chmod(local.c_str(), 0751);

  const fs::path remote = work_ / "remote" / "a" / "b" / "dst.bin";  // parents do not exist
  r.upload(local.string(), remote.string());
  ASSERT_TRUE(fs::exists(remote));
  struct stat st {};
  ASSERT_EQ(::stat(remote.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0751u);
  EXPECT_TRUE(read_file(remote) == data) << "uploaded bytes differ";
  auto check = r.exec("stat -c %a " + remote.string(), with_timeout(10));
  EXPECT_EQ(check.out, "751\n");

  // Uploading over an existing file replaces it and applies the new mode.
  const fs::path small = work_ / "small.txt";
  write_file(small, "small\n");
  ::chmod(small.c_str(), 0600);
  r.upload(small.string(), remote.string());
  EXPECT_EQ(read_file(remote), "small\n");
  ASSERT_EQ(::stat(remote.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);

  r.upload(local.string(), remote.string());
  const fs::path back = work_ / "back" / "c" / "d" / "copy.bin";  // parents do not exist
  r.download(remote.string(), back.string());
  const std::string got = read_file(back);
  EXPECT_EQ(got.size(), data.size());
  EXPECT_TRUE(got == data) << "downloaded bytes differ";

  // A file whose size the server does not know in advance (/proc reports 0) comes whole.
  r.download("/proc/self/mountinfo", (work_ / "mountinfo").string());
  EXPECT_FALSE(read_file(work_ / "mountinfo").empty());
  EXPECT_TRUE(contains(read_file(work_ / "mountinfo"), " / "));

  // An empty file round-trips too.
  const fs::path empty = work_ / "empty";
  write_file(empty, "");
  r.upload(empty.string(), (work_ / "remote" / "empty").string());
  r.download((work_ / "remote" / "empty").string(), (work_ / "empty.back").string());
  EXPECT_TRUE(fs::exists(work_ / "empty.back"));
  EXPECT_EQ(fs::file_size(work_ / "empty.back"), 0u);
}

TEST_F(SshRemoteTest, SshTransferErrorsNameNodeAndPaths) {
  fj::SshRemote r("n7", config());
  const fs::path missing = work_ / "no-such-remote-file";
  const fs::path target = work_ / "out" / "file";
  try {
    r.download(missing.string(), target.string());
    FAIL() << "no error";
  } catch (const fj::ConnectionError& e) {
    const std::string what = e.what();
    EXPECT_TRUE(contains(what, "n7")) << what;
    EXPECT_TRUE(contains(what, missing.string())) << what;
    EXPECT_TRUE(contains(what, "no such file")) << what;
  }
  EXPECT_FALSE(fs::exists(target));
  // No temporary file left behind either.
  if (fs::exists(target.parent_path())) {
    EXPECT_TRUE(fs::is_empty(target.parent_path()));
  }

  try {
    r.upload((work_ / "no-such-local-file").string(), (work_ / "x").string());
    FAIL() << "no error";
  } catch (const fj::ConnectionError& e) {
    const std::string what = e.what();
    EXPECT_TRUE(contains(what, "n7")) << what;
    EXPECT_TRUE(contains(what, "no-such-local-file")) << what;
  }

  // The node cannot write there (a parent is a file): the node, the paths and its reason.
  const fs::path local = work_ / "some-file";
  write_file(local, "x");
  const std::string blocked = (local / "below" / "it").string();
  try {
    r.upload(local.string(), blocked);
    FAIL() << "no error";
  } catch (const fj::ConnectionError& e) {
    const std::string what = e.what();
    EXPECT_TRUE(contains(what, "n7")) << what;
    EXPECT_TRUE(contains(what, blocked)) << what;
    EXPECT_TRUE(contains(what, "Not a directory")) << what;
  }
}

TEST_F(SshRemoteTest, SshUnreachablePortFailsQuickly) {
  fj::SshConfig c = config();
  c.port = free_port();  // nothing listens there
  fj::SshRemote r("n9", c);
  const auto start = Clock::now();
  try {
    r.exec("true", with_timeout(10));
    FAIL() << "no error";
  } catch (const fj::ConnectionError& e) {
    const std::string what = e.what();
    EXPECT_EQ(e.node(), "n9");
    EXPECT_TRUE(contains(what, "cannot connect to 127.0.0.1:" + std::to_string(c.port))) << what;
  }
  EXPECT_LT(seconds_since(start), 5.0);
  EXPECT_FALSE(r.connected());
}

TEST_F(SshRemoteTest, SshWrongPasswordIsAnAuthenticationFailure) {
  fj::SshConfig c = config();
  c.private_key_path.clear();
  c.password = "certainly-not-the-password-" + random_token();
  fj::SshRemote r("n2", c);
  try {
    r.exec("true", with_timeout(10));
    FAIL() << "no error";
  } catch (const fj::ConnectionError& e) {
    const std::string what = e.what();
    EXPECT_TRUE(contains(what, "authentication failed for root@127.0.0.1:")) << what;
    EXPECT_TRUE(contains(what, "password")) << what;
  }
}

TEST_F(SshRemoteTest, SshKeyIsTriedBeforePassword) {
  fj::SshConfig c = config();
  c.password = "wrong-" + random_token();  // never needed: the key is accepted first
  fj::SshRemote r("n2", c);
  EXPECT_TRUE(r.exec("true", with_timeout(10)).ok());
}

TEST_F(SshRemoteTest, SshUnknownKeyIsAnAuthenticationFailure) {
  const fs::path other = work_ / "other_key";
  ASSERT_TRUE(run_local("ssh-keygen -q -t ed25519 -N '' -f " + other.string()));
  fj::SshConfig c = config();
  c.private_key_path = other.string();
  fj::SshRemote r("n2", c);
  try {
    r.exec("true", with_timeout(10));
    FAIL() << "no error";
  } catch (const fj::ConnectionError& e) {
    const std::string what = e.what();
    EXPECT_TRUE(contains(what, "authentication failed")) << what;
    EXPECT_TRUE(contains(what, "tried: publickey")) << what;
  }
  c.private_key_path = (work_ / "missing_key").string();
  fj::SshRemote missing("n2", c);
  try {
    missing.exec("true", with_timeout(10));
    FAIL() << "no error";
  } catch (const fj::ConnectionError& e) {
    EXPECT_TRUE(contains(e.what(), "cannot read private key")) << e.what();
  }
}

TEST_F(SshRemoteTest, SshConcurrentExecFromEightThreads) {
  fj::SshRemote r("n1", config());
  constexpr int kThreads = 8;
  constexpr int kPerThread = 6;
  std::atomic<int> good{0};
  std::vector<std::string> failures(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        try {
          fj::ExecOptions o = with_timeout(30);
          o.stdin_data = std::to_string(t) + "\n";
          auto res = r.exec("read x; echo $((x * 100 + " + std::to_string(i) + "))", o);
          if (res.ok() && res.out == std::to_string(t * 100 + i) + "\n") {
            ++good;
          } else {
            failures[t] += "status " + std::to_string(res.exit_status) + " out '" + res.out +
                           "' err '" + res.err + "'\n";
          }
        } catch (const std::exception& e) {
          failures[t] += std::string(e.what()) + "\n";
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], "") << "thread " << t;
  EXPECT_EQ(good.load(), kThreads * kPerThread);

  // Commands on one node run side by side, not one after the other.
  const auto start = Clock::now();
  threads.clear();
  std::atomic<int> slept{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      if (r.exec("sleep 1", with_timeout(10)).ok()) ++slept;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(slept.load(), kThreads);
  EXPECT_LT(seconds_since(start), 6.0);  // one after the other would take 8 s
}

TEST_F(SshRemoteTest, SshReconnectsAfterTheServerKillsTheSession) {
  fj::SshRemote r("n1", config());
  ASSERT_TRUE(r.exec("true", with_timeout(10)).ok());
  kill_sessions();
  auto res = r.exec("echo again", with_timeout(10));
  EXPECT_EQ(res.exit_status, 0) << res.err;
  EXPECT_EQ(res.out, "again\n");
  // And once more, on the new session.
  EXPECT_TRUE(r.exec("true", with_timeout(10)).ok());

  // Transfers reconnect too.
  kill_sessions();
  const fs::path local = work_ / "f.txt";
  write_file(local, "payload\n");
  r.upload(local.string(), (work_ / "g.txt").string());
  EXPECT_EQ(read_file(work_ / "g.txt"), "payload\n");
  kill_sessions();
  r.download((work_ / "g.txt").string(), (work_ / "h.txt").string());
  EXPECT_EQ(read_file(work_ / "h.txt"), "payload\n");
}

TEST_F(SshRemoteTest, SshSessionLostWhileCommandRuns) {
  fj::SshRemote r("n1", config());
  ASSERT_TRUE(r.exec("true", with_timeout(10)).ok());
  fj::ExecResult res;
  const auto start = Clock::now();
  const fs::path runs = work_ / "runs";
  const std::string token = random_token();
  std::thread t([&] {
    res = r.exec("echo run >> " + runs.string() + "; echo started; sleep 20." + token,
                 with_timeout(30));
  });
  // Cut the session only once the command runs (a fixed delay is too short on a loaded machine),
  // and give its first output line time to reach the client.
  for (int i = 0; i < 200 && read_file(runs).empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  kill_sessions();
  t.join();
  // Without its session the command lives on until its own timeout: end it here.
  run_local("pkill -f '[s]leep 20[.]" + token + "'");
  EXPECT_LT(seconds_since(start), 10.0);
  EXPECT_EQ(res.exit_status, -1);  // the command did not run to completion
  EXPECT_FALSE(res.timed_out);
  EXPECT_EQ(res.out, "started\n");
  EXPECT_TRUE(contains(res.err, "lost")) << res.err;
  // Not re-run, and the next command gets a new session.
  auto next = r.exec("echo next", with_timeout(10));
  EXPECT_EQ(next.out, "next\n");
  EXPECT_EQ(read_file(runs), "run\n");
}

TEST_F(SshRemoteTest, SshDisconnectDropsTheSession) {
  fj::SshRemote r("n1", config());
  EXPECT_FALSE(r.connected());
  ASSERT_TRUE(r.exec("true", with_timeout(10)).ok());
  EXPECT_TRUE(r.connected());
  r.disconnect();
  EXPECT_FALSE(r.connected());
  EXPECT_TRUE(r.exec("true", with_timeout(10)).ok());
  EXPECT_TRUE(r.connected());
}

TEST_F(SshRemoteTest, SshHostKeyPolicies) {
  const fs::path known_hosts = work_ / "known_hosts";
  write_file(known_hosts, "");
  fj::SshConfig c = config();
  c.known_hosts_path = known_hosts.string();

  c.host_key_policy = "strict";
  {
    fj::SshRemote r("n1", c);
    try {
      r.exec("true", with_timeout(10));
      FAIL() << "strict accepted an unknown host key";
    } catch (const fj::ConnectionError& e) {
      const std::string what = e.what();
      EXPECT_TRUE(contains(what, "policy strict")) << what;
      EXPECT_TRUE(contains(what, "not in known_hosts")) << what;
      EXPECT_TRUE(contains(what, "127.0.0.1:" + std::to_string(c.port))) << what;
    }
  }
  EXPECT_EQ(read_file(known_hosts), "");

  c.host_key_policy = "accept-new";
  {
    fj::SshRemote r("n1", c);
    EXPECT_TRUE(r.exec("true", with_timeout(10)).ok());
  }
  EXPECT_TRUE(contains(read_file(known_hosts), "[127.0.0.1]:" + std::to_string(c.port)))
      << read_file(known_hosts);

  c.host_key_policy = "strict";
  {
    fj::SshRemote r("n1", c);
    EXPECT_TRUE(r.exec("true", with_timeout(10)).ok());
  }

  // A different key on record for the host: refused by strict and by accept-new.
  const std::string pub = read_file(g_sshd->client_key.string() + ".pub");  // not the host key
  write_file(known_hosts, "[127.0.0.1]:" + std::to_string(c.port) + " " + pub);
  for (const char* policy : {"strict", "accept-new"}) {
    c.host_key_policy = policy;
    fj::SshRemote r("n1", c);
    try {
      r.exec("true", with_timeout(10));
      FAIL() << policy << " accepted a changed host key";
    } catch (const fj::ConnectionError& e) {
      const std::string what = e.what();
      EXPECT_TRUE(contains(what, "CHANGED")) << what;
      EXPECT_TRUE(contains(what, std::string("policy ") + policy)) << what;
    }
  }

  // "no" does not look.
  c.host_key_policy = "no";
  fj::SshRemote r("n1", c);
  EXPECT_TRUE(r.exec("true", with_timeout(10)).ok());
}

// ---- the persistent shell ----------------------------------------------------------------------
// Commands without stdin run in a persistent shell whose output is framed; each test checks that
// the command really went through it (counters) and that what it did is exactly what an exec
// channel would give.

/// Runs `command` on an exec channel of its own (an empty stdin sends it there).
fj::ExecResult on_channel(fj::SshRemote& r, const std::string& command) {
  fj::ExecOptions o = with_timeout(20);
  o.stdin_data = std::string();
  return r.exec(command, o);
}

TEST_F(SshRemoteTest, ShellExitStatusesAndSeparateStreams) {
  fj::SshRemote r("n1", config());
  auto ok = r.exec("echo out; echo err >&2", with_timeout(10));
  EXPECT_EQ(ok.exit_status, 0);
  EXPECT_EQ(ok.out, "out\n");
  EXPECT_EQ(ok.err, "err\n");
  auto one = r.exec("echo to-err >&2; false", with_timeout(10));
  EXPECT_EQ(one.exit_status, 1);
  EXPECT_EQ(one.out, "");
  EXPECT_EQ(one.err, "to-err\n");
  auto missing = r.exec("no-such-command-" + random_token(), with_timeout(10));
  EXPECT_EQ(missing.exit_status, 127);
  EXPECT_TRUE(contains(missing.err, "command not found")) << missing.err;
  EXPECT_EQ(missing.out, "");
  const auto c = r.counters();
  EXPECT_EQ(c.shell_commands, 3u);
  EXPECT_EQ(c.channel_commands, 0u);
  EXPECT_EQ(c.shells_started, 1u);  // one shell ran all three
}

TEST_F(SshRemoteTest, ShellsStayUpWhileOtherProcessesComeAndGo) {
  // After each command a shell looks at the processes started since it began. Other sessions'
  // commands, and anything else on the host, come and go in that pid range; one that ends while
  // it is looked at holds nothing and must not retire the shell.
  constexpr int kRemotes = 5;
  constexpr int kRounds = 200;
  for (const auto& [look, cfg] : looks()) {
    std::vector<std::unique_ptr<fj::SshRemote>> remotes;
    for (int i = 0; i < kRemotes; ++i) {
      remotes.push_back(std::make_unique<fj::SshRemote>("n" + std::to_string(i + 1), cfg));
    }
    std::atomic<bool> stop{false};
    std::thread churn([&] {
      while (!stop.load()) std::system("/bin/true; /bin/true; /bin/true");
    });
    std::vector<std::thread> runners;
    std::atomic<int> failed{0};
    for (auto& r : remotes) {
      runners.emplace_back([&r, &failed] {
        for (int k = 0; k < kRounds; ++k) {
          if (r->exec("true", with_timeout(20)).exit_status != 0) ++failed;
        }
      });
    }
    for (auto& t : runners) t.join();
    stop = true;
    churn.join();
    EXPECT_EQ(failed.load(), 0) << look;
    for (auto& r : remotes) {
      EXPECT_EQ(r->counters().shell_commands, static_cast<std::uint64_t>(kRounds))
          << look << " " << r->node();
      EXPECT_EQ(r->counters().shells_started, 1u) << look << " " << r->node();
    }
  }
}

TEST_F(SshRemoteTest, ShellKeepsOutputWithoutTrailingNewlineExactly) {
  fj::SshRemote r("n1", config());
  EXPECT_EQ(r.exec("printf abc", with_timeout(10)).out, "abc");
  EXPECT_EQ(r.exec("printf 'a\\n\\n'", with_timeout(10)).out, "a\n\n");
  EXPECT_EQ(r.exec("printf '\\n'", with_timeout(10)).out, "\n");
  EXPECT_EQ(r.exec("true", with_timeout(10)).out, "");
  auto err = r.exec("printf xyz >&2; printf uvw", with_timeout(10));
  EXPECT_EQ(err.err, "xyz");
  EXPECT_EQ(err.out, "uvw");
  EXPECT_EQ(r.counters().shells_started, 1u);
}

TEST_F(SshRemoteTest, ShellCarriesLargeBinaryOutputOnBothStreams) {
  fj::SshRemote r("n1", config());
  std::string data(3 * 1024 * 1024 + 5, '\0');
  std::mt19937_64 rng{std::random_device{}()};
  for (auto& ch : data) ch = static_cast<char>(rng() & 0xff);
  data += "\n" + std::string("fj") + "0 0 k\n";  // ends like a frame, with a wrong marker
  const fs::path file = work_ / "blob.bin";
  write_file(file, data);
  auto res = r.exec("cat " + file.string() + "; cat " + file.string() + " >&2", with_timeout(60));
  EXPECT_EQ(res.exit_status, 0);
  EXPECT_EQ(res.out.size(), data.size());
  EXPECT_TRUE(res.out == data) << "stdout differs";
  EXPECT_TRUE(res.err == data) << "stderr differs";
  EXPECT_EQ(r.counters().shell_commands, 1u);
}

TEST_F(SshRemoteTest, ShellCommandReadingStdinSeesEndOfInput) {
  fj::SshRemote r("n1", config());
  auto res = r.exec("cat; echo \"cat=$?\"; read -r x; echo \"read=$?\"; wc -c </dev/stdin",
                    with_timeout(10));
  EXPECT_EQ(res.exit_status, 0) << res.err;
  EXPECT_EQ(res.out, "cat=0\nread=1\n0\n");
  // The command did not eat the shell's input: the next command runs normally.
  EXPECT_EQ(r.exec("echo next", with_timeout(10)).out, "next\n");
  EXPECT_EQ(r.counters().shells_started, 1u);
}

TEST_F(SshRemoteTest, ShellExitCdAndEnvDoNotLeakIntoTheNextCommand) {
  fj::SshRemote r("n1", config());
  const std::string before = r.exec("pwd; umask; echo \"${FJ_LEAK-unset}\"", with_timeout(10)).out;
  EXPECT_EQ(r.exec("exit 3", with_timeout(10)).exit_status, 3);
  EXPECT_EQ(r.exec("echo alive", with_timeout(10)).out, "alive\n");
  EXPECT_EQ(r.exec("cd /tmp && export FJ_LEAK=1 && umask 077 && set -e && trap 'echo t' EXIT",
                   with_timeout(10))
                .exit_status,
            0);
  EXPECT_EQ(r.exec("pwd; umask; echo \"${FJ_LEAK-unset}\"", with_timeout(10)).out, before);
  EXPECT_TRUE(contains(before, "unset")) << before;
  EXPECT_FALSE(contains(before, "/tmp\n")) << before;
  EXPECT_EQ(r.counters().shells_started, 1u);
  EXPECT_EQ(r.counters().shell_commands, 5u);
}

TEST_F(SshRemoteTest, ShellTimeoutDoesNotPoisonTheNextCommand) {
  fj::SshRemote r("n1", config());
  ASSERT_TRUE(r.exec("true", with_timeout(10)).ok());
  const std::string token = random_token();
  const auto start = Clock::now();
  auto res = r.exec("echo begun; sleep 40." + token + "; echo never", with_timeout(1));
  EXPECT_TRUE(res.timed_out);
  EXPECT_EQ(res.exit_status, -1);
  EXPECT_EQ(res.out, "begun\n");
  EXPECT_LT(seconds_since(start), 5.0);
  auto next = r.exec("echo next; exit 4", with_timeout(10));
  EXPECT_EQ(next.out, "next\n");
  EXPECT_EQ(next.exit_status, 4);
  EXPECT_FALSE(next.timed_out);
  EXPECT_EQ(r.counters().shells_started, 2u);  // the timed-out shell was dropped
  std::string left = local_output("pgrep -f '[s]leep 40[.]" + token + "'");
  for (int i = 0; i < 30 && !left.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    left = local_output("pgrep -f '[s]leep 40[.]" + token + "'");
  }
  EXPECT_EQ(left, "") << "the command survived its timeout";
}

TEST_F(SshRemoteTest, ShellIsNotConfusedByMarkerLikeOutput) {
  fj::SshRemote r("n1", config());
  // Frames as the shell writes them, with markers of the right form: only the command's own
  // (random, never on a command line) marker counts.
  const std::string fake = "fj0123456789abcdef0123456789abcdef";
  const std::string script = "printf '%s+1\\n\\n%s 0 k\\n\\n%s 9 r\\n' " + fake + " " + fake + " " +
                             fake + "; printf '\\n%s 0 k\\n' " + fake + " >&2; exit 5";
  auto res = r.exec(script, with_timeout(10));
  EXPECT_EQ(res.exit_status, 5);
  EXPECT_EQ(res.out, fake + "+1\n\n" + fake + " 0 k\n\n" + fake + " 9 r\n");
  EXPECT_EQ(res.err, "\n" + fake + " 0 k\n");
  // A listing of every process's command line shows no marker either.
  auto ps = r.exec("cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' '", with_timeout(10));
  EXPECT_EQ(ps.exit_status, 0);
  EXPECT_EQ(r.exec("echo fine", with_timeout(10)).out, "fine\n");
  EXPECT_EQ(r.counters().shells_started, 1u);
}

TEST_F(SshRemoteTest, ShellWaitsForWritersLeftBehindLikeAnExecChannel) {
  for (const auto& [look, cfg] : looks()) {
    fj::SshRemote r("n1", cfg);
    // A background writer in the command's process group, one that left it (setsid), and one
    // in a session begun by a process the command's process started (setsid twice over): the
    // output ends when they close it, not when the command exits.
    for (const std::string writer :
         {"bash -c 'sleep 1; echo late; echo late-err >&2'",
          "setsid bash -c 'sleep 1; echo late; echo late-err >&2'",
          "setsid bash -c 'setsid bash -c \"sleep 1; echo late; echo late-err >&2\" &'"}) {
      const auto start = Clock::now();
      // The command outlives the writer's start (setsid has run by the time it ends): the
      // writer is found by the look through the processes, not in the process group.
      auto res = r.exec(writer + " & sleep 0.3; echo now", with_timeout(20));
      const std::string what = look + ": " + writer;
      EXPECT_EQ(res.exit_status, 0) << what;
      EXPECT_EQ(res.out, "now\nlate\n") << what;
      EXPECT_EQ(res.err, "late-err\n") << what;
      EXPECT_GE(seconds_since(start), 0.9) << what;
      auto next = r.exec("echo next", with_timeout(10));
      EXPECT_EQ(next.out, "next\n") << what;
      EXPECT_EQ(next.err, "") << what;
    }
    // A writer that redirected its output does not hold the command up.
    const auto start = Clock::now();
    auto quick = r.exec("setsid sleep 3 >/dev/null 2>&1 </dev/null & echo q", with_timeout(20));
    EXPECT_EQ(quick.out, "q\n") << look;
    EXPECT_LT(seconds_since(start), 2.5) << look;
    EXPECT_EQ(r.counters().channel_commands, 0u) << look;
  }
}

TEST_F(SshRemoteTest, ShellLoadsItsBuiltinOrLooksInBash) {
  // Given the builtin, the shell looks with it; given a path bash cannot load (another host's
  // architecture, or no file), it looks in bash, and still waits for a writer left behind.
  fj::SshConfig missing = config();
  missing.shell_builtin = "/nonexistent/fj_shell_builtin.so";
  for (const auto& [cfg, want] : {std::pair{looks()[1].second, std::string("builtin\n")},
                                  std::pair{missing, std::string("")}}) {
    fj::SshRemote r("n1", cfg);
    auto type = r.exec("type -t fj_holders; echo \"$# $0\"", with_timeout(10));
    EXPECT_EQ(type.out, want + "0 bash\n") << cfg.shell_builtin;
    const auto start = Clock::now();
    auto res =
        r.exec("setsid bash -c 'sleep 1; echo late' & sleep 0.3; echo now", with_timeout(20));
    EXPECT_EQ(res.out, "now\nlate\n") << cfg.shell_builtin;
    EXPECT_GE(seconds_since(start), 0.9) << cfg.shell_builtin;
    EXPECT_EQ(r.counters().channel_commands, 0u);
  }
}

TEST_F(SshRemoteTest, ShellBuiltinIsPutOnTheHostBeforeTheFirstShell) {
  // As for a real host: the builtin is this machine's file, put where the config says, once.
  fj::SshConfig cfg = config();
  cfg.shell_builtin = (work_ / "lib" / "fj_shell_builtin.so").string();
  cfg.shell_builtin_upload = FJ_SHELL_BUILTIN_PATH;
  fj::SshRemote r("n1", cfg);
  EXPECT_EQ(r.exec("type -t fj_holders", with_timeout(10)).out, "builtin\n");
  EXPECT_EQ(r.exec("type -t fj_holders", with_timeout(10)).out, "builtin\n");
  const std::string mine = read_file(FJ_SHELL_BUILTIN_PATH);
  EXPECT_FALSE(mine.empty());
  EXPECT_TRUE(read_file(cfg.shell_builtin) == mine) << "the bytes put there differ";
  EXPECT_EQ(r.counters().channel_commands, 1u);  // the one that put it there
  EXPECT_EQ(r.counters().shells_started, 1u);
  // Nothing but the file is left in its directory (it is written beside it, then renamed).
  EXPECT_EQ(local_output("ls " + (work_ / "lib").string()), "fj_shell_builtin.so\n");
}

TEST_F(SshRemoteTest, ShellBuiltinThatCannotBePutLeavesTheLookInBash) {
  fj::SshConfig cfg = config();
  cfg.shell_builtin = "/proc/fj-no-such-dir/fj_shell_builtin.so";
  cfg.shell_builtin_upload = FJ_SHELL_BUILTIN_PATH;
  fj::SshRemote r("n1", cfg);
  auto res = r.exec("type -t fj_holders; echo ran", with_timeout(10));
  EXPECT_EQ(res.exit_status, 0) << res.err;
  EXPECT_EQ(res.out, "ran\n");
  // A writer left behind is still waited for.
  auto late = r.exec("setsid bash -c 'sleep 0.5; echo late' & echo now", with_timeout(20));
  EXPECT_EQ(late.out, "now\nlate\n");
}

TEST_F(SshRemoteTest, ShellBuiltinForAnUnreachableHostFailsOnceAsTheCommandWould) {
  // No session at all: the command's ConnectionError, after one round of retries (not a round
  // for the builtin and another for the command); the next command tries both again.
  fj::SshConfig c = config();
  c.port = free_port();
  c.retries = 1;
  c.shell_builtin_upload = FJ_SHELL_BUILTIN_PATH;
  fj::SshRemote r("n9", c);
  for (int i = 0; i < 2; ++i) {
    try {
      r.exec("true", with_timeout(10));
      FAIL() << "no error";
    } catch (const fj::ConnectionError& e) {
      EXPECT_TRUE(contains(e.what(), "gave up after 2 attempts")) << e.what();
    }
  }
  EXPECT_EQ(r.counters().channel_commands, 2u);  // one try to put it there per command
  EXPECT_EQ(r.counters().shell_commands, 0u);
}

TEST_F(SshRemoteTest, ShellBuiltinUploadIsNamedByItsBytesAndMustBeReadable) {
  fj::SshConfig cfg = config();
  cfg.shell_builtin_upload = FJ_SHELL_BUILTIN_PATH;
  const fj::SshRemote r("n1", cfg);
  const std::string& path = r.config().shell_builtin;
  const std::string dir = std::string(fj::kHostShellBuiltinDir) + "/fj_shell_builtin-";
  ASSERT_EQ(path.rfind(dir, 0), 0u) << path;
  EXPECT_EQ(path.size(), dir.size() + 16 + 3) << path;               // 64 bits in hex, then ".so"
  EXPECT_EQ(fj::SshRemote("n2", cfg).config().shell_builtin, path);  // the same bytes, one name
  fj::SshConfig other = cfg;
  other.shell_builtin_upload = (work_ / "other.so").string();
  std::ofstream(other.shell_builtin_upload) << "not the same bytes";
  EXPECT_NE(fj::SshRemote("n3", other).config().shell_builtin, path);
  // A file that cannot be read is an error that names it.
  other.shell_builtin_upload = (work_ / "missing.so").string();
  try {
    fj::SshRemote bad("n4", other);
    FAIL() << "no error for a missing shell_builtin_upload";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("missing.so"), std::string::npos) << e.what();
  }
}

TEST_F(SshRemoteTest, ShellGivesWhatAnExecChannelGives) {
  for (const auto& [look, cfg] : looks()) {
    gives_what_an_exec_channel_gives(look, cfg);
  }
}

void SshRemoteTest::gives_what_an_exec_channel_gives(const std::string& look,
                                                     const fj::SshConfig& cfg) {
  fj::SshRemote r("n1", cfg);
  // PATH with its repeats dropped: the exec channel's wrapping `bash -c` (started by the login
  // shell's `-c`) reads ~/.bashrc again, as bash does for a shell it takes to be sshd's, so
  // entries a .bashrc prepends can appear twice there; what is on the PATH, in order, is the same.
  const std::string probe =
      "env | grep -v -e '^_=' -e '^PATH=' | sort; "
      "printf %s \"$PATH\" | tr : '\\n' | awk '!seen[$0]++'; "
      "echo \"0=$0 flags=$- args=$# shlvl=$SHLVL\"; "
      "grep -E '^(SigIgn|SigBlk|NoNewPrivs)' /proc/self/status; umask; ulimit -a; pwd; "
      "ls -l /proc/self/fd/ | awk 'NR > 1 && $9 + 0 <= 2 { print $9 }'; ls /proc/self/fd | wc -l";
  auto shell = r.exec(probe, with_timeout(10));
  auto channel = on_channel(r, probe);
  ASSERT_EQ(shell.exit_status, 0) << look << ": " << shell.err;
  ASSERT_EQ(channel.exit_status, 0) << look << ": " << channel.err;
  EXPECT_EQ(shell.out, channel.out) << look;
  EXPECT_EQ(shell.err, channel.err) << look;
  EXPECT_EQ(r.counters().shell_commands, 1u) << look;
  EXPECT_EQ(r.counters().channel_commands, 1u) << look;
}

TEST_F(SshRemoteTest, ShellTakesLongAndMultibyteScriptsWhole) {
  fj::SshRemote r("n1", config());
  // Characters of two to four bytes (the shell's locale is UTF-8) and a script of 200 KB: the
  // shell reads exactly as many bytes as were sent, so what follows is framed correctly.
  const std::string text = "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xf0\x9f\x90\xbf";
  auto utf8 = r.exec("echo \"$LANG\"; printf '%s' '" + text + "' | od -An -tx1 | tr -d ' \\n'",
                     with_timeout(10));
  ASSERT_EQ(utf8.exit_status, 0) << utf8.err;
  std::string hex;
  for (unsigned char c : text) {
    char two[3];
    std::snprintf(two, sizeof two, "%02x", c);
    hex += two;
  }
  EXPECT_EQ(utf8.out, "C.UTF-8\n" + hex);
  std::string script = "n=0\n";
  for (int i = 0; i < 20000; ++i) script += "n=$((n + 1)) # \xc3\xa9\n";
  script += "echo \"$n\"";
  ASSERT_GT(script.size(), 200000u);
  auto big = r.exec(script, with_timeout(30));
  EXPECT_EQ(big.exit_status, 0) << big.err;
  EXPECT_EQ(big.out, "20000\n");
  EXPECT_EQ(r.exec("echo next", with_timeout(10)).out, "next\n");
  EXPECT_EQ(r.counters().shell_commands, 3u);
  EXPECT_EQ(r.counters().channel_commands, 0u);
  EXPECT_EQ(r.counters().shells_started, 1u);
}

TEST_F(SshRemoteTest, ShellCommandsGetTheirOwnPidAndProcessGroup) {
  fj::SshRemote r("n1", config());
  // A script naming $$ gets a bash of its own, whose $$ is its pid (as on an exec channel) ...
  auto own = r.exec("echo $$ $BASHPID; ps -o pgid= -p $$", with_timeout(10));
  ASSERT_EQ(own.exit_status, 0) << own.err;
  std::istringstream own_words(own.out);
  std::string dollar, bashpid, pgid;
  own_words >> dollar >> bashpid >> pgid;
  EXPECT_EQ(dollar, bashpid);
  EXPECT_EQ(pgid, dollar);  // the leader of its own process group
  // ... the others run in a subshell, which also leads a group of its own (not the shell's).
  auto sub =
      r.exec("echo $BASHPID; ps -o pgid= -p $BASHPID; ps -o pgid= -p $PPID", with_timeout(10));
  ASSERT_EQ(sub.exit_status, 0) << sub.err;
  std::istringstream sub_words(sub.out);
  std::string pid, group, parent_group;
  sub_words >> pid >> group >> parent_group;
  EXPECT_EQ(group, pid);
  EXPECT_NE(group, parent_group);
  // Killed by a signal: 128 + N on either path.
  EXPECT_EQ(r.exec("kill -9 $BASHPID", with_timeout(10)).exit_status, 137);
  EXPECT_EQ(r.exec("kill -15 $$", with_timeout(10)).exit_status, 143);
  EXPECT_EQ(r.counters().shells_started, 1u);
  EXPECT_EQ(r.counters().channel_commands, 0u);
}

TEST_F(SshRemoteTest, ShellKilledWhileIdleIsReplaced) {
  fj::SshRemote r("n1", config());
  auto first = r.exec("ps -o ppid= -p $BASHPID", with_timeout(10));
  ASSERT_EQ(first.exit_status, 0);
  const std::string shell_pid = first.out.substr(0, first.out.find('\n'));
  run_local("kill -9 " + shell_pid);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto next = r.exec("echo again", with_timeout(10));
  EXPECT_EQ(next.exit_status, 0) << next.err;
  EXPECT_EQ(next.out, "again\n");
  EXPECT_EQ(r.counters().shells_started, 2u);
}

TEST_F(SshRemoteTest, SshUploadFilesSharesOneSessionAndKeepsModes) {
  fj::SshRemote r("n1", config());
  std::vector<fj::FileCopy> files;
  std::vector<std::string> contents;
  for (int i = 0; i < 6; ++i) {
    const fs::path local = work_ / ("in-" + std::to_string(i));
    contents.push_back(std::string(static_cast<std::size_t>(i) * 1000 + 1, 'a' + i));
    write_file(local, contents.back());
    ::chmod(local.c_str(), i % 2 == 0 ? 0640 : 0755);
    files.push_back(
        {local.string(),
         (work_ / "up" / ("d" + std::to_string(i % 3)) / ("f" + std::to_string(i))).string()});
  }
  r.upload_files(files);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(read_file(files[i].remote_path), contents[i]) << i;
    struct stat st {};
    ASSERT_EQ(::stat(files[i].remote_path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, i % 2 == 0 ? 0640u : 0755u) << i;
  }
  // A missing local file is named, and nothing is half-done before the check.
  files.push_back({(work_ / "no-such-file").string(), (work_ / "up" / "x").string()});
  try {
    r.upload_files(files);
    FAIL() << "no error";
  } catch (const fj::ConnectionError& e) {
    EXPECT_TRUE(contains(e.what(), "no-such-file")) << e.what();
    EXPECT_TRUE(contains(e.what(), "n1")) << e.what();
  }
}

TEST(SshRemoteConfig, SshRejectsBadConfig) {
  fj::SshConfig c;
  c.host = "10.0.0.1";
  c.host_key_policy = "maybe";
  EXPECT_THROW(fj::SshRemote("n1", c), std::invalid_argument);
  c.host_key_policy = "strict";
  c.host.clear();
  EXPECT_THROW(fj::SshRemote("n1", c), std::invalid_argument);
  c.host = "10.0.0.1";
  c.port = 0;
  EXPECT_THROW(fj::SshRemote("n1", c), std::invalid_argument);
  c.port = 22;
  fj::SshRemote ok("n1", c);  // does not connect
  EXPECT_EQ(ok.node(), "n1");
  EXPECT_FALSE(ok.connected());
}
