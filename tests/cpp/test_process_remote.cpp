#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "remote/daemon.hpp"
#include "remote/fanout.hpp"
#include "remote/process_remote.hpp"

namespace {
fj::ExecOptions with_timeout(double t) {
  fj::ExecOptions o;
  o.timeout_s = t;
  return o;
}
}  // namespace

TEST(ProcessRemote, ReturnsOutErrAndStatus) {
  fj::LocalRemote r("control");
  auto res = r.exec("echo out; echo err >&2; exit 3", with_timeout(10));
  EXPECT_EQ(res.exit_status, 3);
  EXPECT_EQ(res.out, "out\n");
  EXPECT_EQ(res.err, "err\n");
  EXPECT_EQ(res.node, "control");
  EXPECT_FALSE(res.ok());
}

TEST(ProcessRemote, AppliesEnvCwdAndStdin) {
  fj::LocalRemote r;
  fj::ExecOptions o = with_timeout(10);
  o.env = {{"GREETING", "it's me"}};
  o.cwd = "/tmp";
  o.stdin_data = std::string("line1\nline2\n");
  auto res = r.exec("echo \"$GREETING\"; pwd; wc -l", o);
  EXPECT_EQ(res.out, "it's me\n/tmp\n2\n");
}

TEST(ProcessRemote, StdinForACommandThatNeverReadsItIsNoSigpipe) {
  // The command exits while its stdin is still being fed: the write fails with EPIPE, and the
  // SIGPIPE it raises must not kill the caller.
  fj::LocalRemote r;
  fj::ExecOptions o = with_timeout(10);
  o.stdin_data = std::string(4 << 20, 'x');
  for (int i = 0; i < 3; ++i) {
    auto res = r.exec("exit 3", o);
    EXPECT_EQ(res.exit_status, 3);
  }
}

TEST(ProcessRemote, TimeoutKillsTheWholeProcessGroup) {
  fj::LocalRemote r;
  // Durations no other process on the machine sleeps for: the check below finds only ours.
  const std::string tag =
      std::to_string(300 + ::getpid() % 1000) + "." +
      std::to_string(std::chrono::steady_clock::now().time_since_epoch().count() % 100000);
  const auto start = std::chrono::steady_clock::now();
  auto res = r.exec("sleep " + tag + "1 & sleep " + tag + "2; echo never", with_timeout(0.5));
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_TRUE(res.timed_out);
  EXPECT_EQ(res.exit_status, -1);
  EXPECT_LT(took, 5.0);
  // SIGKILL is delivered asynchronously: on a busy machine a killed child may take a moment to
  // be gone. Survivors are those still there 3 s later.
  std::string left;
  for (int i = 0; i < 60; ++i) {
    left = r.exec("pgrep -f 'sleep " + tag + "[12]$' || true", with_timeout(10)).out;
    if (left.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(left, "") << "children of a timed-out command survived";
}

TEST(ProcessRemote, CheckThrowsWithNodeCommandStatusAndStderrTail) {
  fj::LocalRemote r("n3");
  try {
    r.check("echo first >&2; echo boom >&2; exit 7", with_timeout(10));
    FAIL() << "no error";
  } catch (const fj::RemoteError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("n3"), std::string::npos) << what;
    EXPECT_NE(what.find("status 7"), std::string::npos) << what;
    EXPECT_NE(what.find("boom"), std::string::npos) << what;
    EXPECT_EQ(e.result().exit_status, 7);
  }
}

TEST(FanOut, RunsConcurrentlyAndKeepsOrder) {
  std::vector<fj::RemotePtr> remotes;
  for (int i = 0; i < 5; ++i) {
    remotes.push_back(std::make_shared<fj::LocalRemote>("n" + std::to_string(i + 1)));
  }
  const auto start = std::chrono::steady_clock::now();
  auto results = fj::fan_out(remotes, "sleep 1; echo done", with_timeout(10));
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(results.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(results[i].node, "n" + std::to_string(i + 1));
    EXPECT_EQ(results[i].out, "done\n");
  }
  EXPECT_LT(took, 3.0) << "fan-out ran the nodes one after another";
}

TEST(FanOut, CheckNamesTheFailingNode) {
  std::vector<fj::RemotePtr> remotes = {std::make_shared<fj::LocalRemote>("n1"),
                                        std::make_shared<fj::LocalRemote>("n2")};
  // Both fail: the error names the first failing node in the order the nodes were given.
  try {
    fj::ExecOptions o = with_timeout(10);
    fj::fan_out_check(remotes, "[ \"$(cat /proc/self/comm)\" = bash ] && false", o);
    FAIL() << "no error";
  } catch (const fj::RemoteError& e) {
    EXPECT_EQ(e.result().node, "n1");
  }
}

TEST(Daemon, StartSignalStop) {
  fj::LocalRemote r;
  const std::string dir = "/tmp/fj-daemon-test-" + std::to_string(::getpid());
  fj::DaemonSpec spec{"sleep 1000", dir + "/run/d.pid", dir + "/log/d.log", with_timeout(30)};
  ASSERT_TRUE(fj::start_daemon(r, spec));
  EXPECT_TRUE(fj::daemon_running(r, spec.pidfile));
  EXPECT_FALSE(fj::start_daemon(r, spec)) << "started a second copy";
  EXPECT_TRUE(fj::signal_daemon(r, spec.pidfile, "STOP"));
  auto state = r.exec("ps -o stat= -p $(cat " + spec.pidfile + ")", with_timeout(10));
  EXPECT_EQ(state.out.substr(0, 1), "T");
  EXPECT_TRUE(fj::signal_daemon(r, spec.pidfile, "CONT"));
  fj::stop_daemon(r, spec.pidfile, 5);
  EXPECT_FALSE(fj::daemon_running(r, spec.pidfile));
  EXPECT_FALSE(fj::signal_daemon(r, spec.pidfile, "KILL"));
  std::filesystem::remove_all(dir);
}

TEST(Daemon, StopGivesTheGraceAskedForThenKills) {
  // A daemon that ignores TERM (its children inherit that): stop waits the grace, then KILLs;
  // with no grace (Flink's teardown, as the original's SIGKILL) it is gone at once.
  fj::LocalRemote r;
  const std::string dir = "/tmp/fj-daemon-grace-" + std::to_string(::getpid());
  fj::DaemonSpec spec{"bash -c 'trap \"\" TERM; while :; do sleep 0.1; done'", dir + "/run/d.pid",
                      dir + "/log/d.log", with_timeout(30)};
  for (const double grace : {2.0, 0.0}) {
    ASSERT_TRUE(fj::start_daemon(r, spec));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // its trap is set
    const auto start = std::chrono::steady_clock::now();
    fj::stop_daemon(r, spec.pidfile, grace);
    const double took =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_FALSE(fj::daemon_running(r, spec.pidfile)) << grace;
    if (grace > 0) {
      EXPECT_GE(took, grace * 0.9) << "TERM was not ignored, or the grace was cut short";
    } else {
      EXPECT_LT(took, 1.0) << "no grace asked for, yet stop waited";
    }
  }
  std::filesystem::remove_all(dir);
}
