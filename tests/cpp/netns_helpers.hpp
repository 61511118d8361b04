// Test helpers for real faults: throwaway network namespaces named fjct-<pid>-<n> (apart from the
// Python suite's local nodes, fjt-n*; deleted again by the fixture) and
// marker processes with a unique command line (killed and reaped by their destructor). Needs
// root; tests using the fixture are skipped otherwise.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "remote/process_remote.hpp"

extern char** environ;

namespace fj::testing {

/// Runs a local shell command; returns its standard output.
inline std::string output_of(const std::string& command) {
  std::string out;
  std::unique_ptr<FILE, int (*)(FILE*)> f(::popen(command.c_str(), "r"), ::pclose);
  if (!f) return out;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f.get())) > 0) out.append(buf, n);
  return out;
}

inline bool succeeds(const std::string& command) { return std::system(command.c_str()) == 0; }

/// A name no other test process uses (pid + counter).
inline std::string unique_name(const std::string& stem) {
  static std::atomic<int> counter{0};
  return stem + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

/// A process `sleep 1000` whose command line is "<marker> 1000", started (optionally) inside a
/// network namespace. Its state and exit are observed from here; the destructor kills it.
class Marker {
 public:
  Marker(const std::string& marker, const std::string& netns = "") : marker_(marker) {
    std::vector<std::string> argv;
    if (!netns.empty()) argv = {"ip", "netns", "exec", netns};
    argv.insert(argv.end(), {"bash", "-c", "exec -a " + marker + " sleep 1000"});
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    if (::posix_spawnp(&pid_, cargv[0], nullptr, nullptr, cargv.data(), environ) != 0) pid_ = -1;
  }
  ~Marker() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  Marker(const Marker&) = delete;
  Marker& operator=(const Marker&) = delete;

  int pid() const { return pid_; }

  /// Waits until the process runs under its marker name (ip and bash have exec'd into it).
  bool ready(double timeout_s = 10) const {
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    while (std::chrono::steady_clock::now() < deadline) {
      std::ifstream in("/proc/" + std::to_string(pid_) + "/cmdline");
      std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (cmd.rfind(marker_ + '\0', 0) == 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }

  /// The state letter of /proc/PID/stat (S sleeping, T stopped, Z zombie), '?' if gone.
  char state() const {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto close = stat.rfind(')');
    return close == std::string::npos || close + 2 >= stat.size() ? '?' : stat[close + 2];
  }

  /// Waits for a state letter (a signal is delivered asynchronously).
  bool reaches(char wanted, double timeout_s = 5) const {
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    while (std::chrono::steady_clock::now() < deadline) {
      if (state() == wanted) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return false;
  }

  /// The signal that ended the process, if it ended within the timeout; 0 if it still runs.
  int termination_signal(double timeout_s = 5) {
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        reaped_ = true;
        return WIFSIGNALED(status) ? WTERMSIG(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return 0;
  }

  /// Still alive (not even a zombie)?
  bool alive() const {
    const char s = state();
    return s != '?' && s != 'Z' && s != 'X';
  }

 private:
  std::string marker_;
  pid_t pid_ = -1;
  bool reaped_ = false;
};

/// Makes network namespaces and deletes them (and whatever they hold) on TearDown.
class NetnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces, iptables)";
  }
  void TearDown() override {
    for (const auto& ns : namespaces_) succeeds("ip netns del " + ns + " 2>/dev/null");
  }

  /// A fresh namespace with loopback up.
  std::string make_netns() {
    const std::string ns = unique_name("fjct-");
    namespaces_.push_back(ns);
    EXPECT_TRUE(succeeds("ip netns add " + ns + " && ip -n " + ns + " link set lo up")) << ns;
    return ns;
  }

  /// Links two namespaces with a veth pair (eth0 in each) and addresses them.
  void link(const std::string& a, const std::string& a_ip, const std::string& b,
            const std::string& b_ip) {
    ASSERT_TRUE(succeeds("ip -n " + a + " link add eth0 type veth peer name eth0 netns " + b +
                         " && ip -n " + a + " addr add " + a_ip + "/24 dev eth0 && ip -n " + b +
                         " addr add " + b_ip + "/24 dev eth0 && ip -n " + a +
                         " link set eth0 up && ip -n " + b + " link set eth0 up"));
  }

  /// A node whose commands run in the namespace (its UTS namespace is the host's).
  static std::shared_ptr<NetnsRemote> node(const std::string& name, const std::string& ns) {
    return std::make_shared<NetnsRemote>(name, ns, "/proc/self/ns/uts");
  }

  /// What `cmd` prints inside the namespace.
  static std::string in_netns(const std::string& ns, const std::string& cmd) {
    return output_of("ip netns exec " + ns + " " + cmd + " 2>&1");
  }

  std::vector<std::string> namespaces_;
};

}  // namespace fj::testing
