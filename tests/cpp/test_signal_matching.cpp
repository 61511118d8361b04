// Remote::signal_matching for real: marker processes inside and outside a throwaway network
// namespace, signalled through the native /proc scan (NetnsRemote, LocalRemote) and through the
// bash snippet every other remote uses.
#include <gtest/gtest.h>
#include <signal.h>

#include <stdexcept>

#include "netns_helpers.hpp"
#include "remote/signal_matching.hpp"

using fj::testing::Marker;
using fj::testing::NetnsTest;
using fj::testing::unique_name;

namespace {

/// A remote that only knows how to exec (through a real node), so signal_matching is the
/// default: the bash snippet, as on an SSH node. With `pgrep` the snippet takes the path of
/// shells older than bash 4.4.
class ExecOnlyRemote : public fj::Remote {
 public:
  explicit ExecOnlyRemote(fj::RemotePtr inner, bool pgrep = false)
      : inner_(std::move(inner)), pgrep_(pgrep) {}
  const std::string& node() const override { return inner_->node(); }
  fj::ExecResult exec(const std::string& command, const fj::ExecOptions& options) override {
    fj::ExecOptions o = options;
    if (pgrep_) o.env["FJ_SCAN_WITH_PGREP"] = "1";
    return inner_->exec(command, o);
  }
  void upload(const std::string& l, const std::string& r) override { inner_->upload(l, r); }
  void download(const std::string& r, const std::string& l) override { inner_->download(r, l); }

 private:
  fj::RemotePtr inner_;
  bool pgrep_;
};

/// Both ways of the snippet.
class SnippetTest : public NetnsTest, public ::testing::WithParamInterface<bool> {
 protected:
  ExecOnlyRemote remote(const std::string& ns) {
    return ExecOnlyRemote(node("n1", ns), GetParam());
  }
};

}  // namespace

TEST(Signals, NamesAndNumbers) {
  EXPECT_EQ(fj::signal_number("KILL"), SIGKILL);
  EXPECT_EQ(fj::signal_number("sigstop"), SIGSTOP);
  EXPECT_EQ(fj::signal_number("CONT"), SIGCONT);
  EXPECT_EQ(fj::signal_number("15"), SIGTERM);
  EXPECT_EQ(fj::signal_name(SIGHUP), "HUP");
  EXPECT_EQ(fj::signal_name(SIGUSR1), std::to_string(SIGUSR1));
  EXPECT_THROW(fj::signal_number("BOGUS"), std::invalid_argument);
  EXPECT_THROW(fj::signal_number("0"), std::invalid_argument);
  EXPECT_THROW(fj::signal_number("65"), std::invalid_argument);
}

TEST(PatternSet, MatchesLikePgrepAndRefusesDangerousPatterns) {
  fj::PatternSet p({"[T]askManagerRunner", "^java .*Entry(P|p)oint"});
  EXPECT_TRUE(p.matches("java -cp x org.apache.flink.runtime.taskexecutor.TaskManagerRunner"));
  EXPECT_TRUE(p.matches("java -Xmx1g StandaloneSessionClusterEntrypoint"));
  EXPECT_FALSE(p.matches("bash -c java"));
  EXPECT_THROW(fj::PatternSet({""}), std::invalid_argument);
  EXPECT_THROW(fj::PatternSet({"a\nb"}), std::invalid_argument);
  EXPECT_THROW(fj::PatternSet({"(unclosed"}), std::invalid_argument);
}

TEST_F(NetnsTest, NativeScanKillsOnlyTheNamespacesProcesses) {
  const std::string ns = make_netns();
  const std::string marker = unique_name("fjmarker-native-");
  Marker inside(marker, ns);
  Marker outside(marker);
  ASSERT_TRUE(inside.ready() && outside.ready());

  auto remote = node("n1", ns);
  EXPECT_EQ(remote->signal_matching({marker}, SIGKILL), std::vector<int>{inside.pid()});
  EXPECT_EQ(inside.termination_signal(), SIGKILL);
  EXPECT_TRUE(outside.alive()) << "a process outside the node's namespace was hit";
  // Nothing left to match: an empty answer, not an error.
  EXPECT_TRUE(remote->signal_matching({marker}, SIGKILL).empty());
}

TEST_F(NetnsTest, LocalRemoteHitsTheControlMachinesNamespaceOnly) {
  const std::string ns = make_netns();
  const std::string marker = unique_name("fjmarker-local-");
  Marker inside(marker, ns);
  Marker outside(marker);
  ASSERT_TRUE(inside.ready() && outside.ready());

  fj::LocalRemote control;
  EXPECT_EQ(control.signal_matching({marker}, SIGKILL), std::vector<int>{outside.pid()});
  EXPECT_EQ(outside.termination_signal(), SIGKILL);
  EXPECT_TRUE(inside.alive());
}

TEST_F(NetnsTest, StopAndContShowInTheProcessState) {
  const std::string ns = make_netns();
  const std::string marker = unique_name("fjmarker-stop-");
  Marker m(marker, ns);
  ASSERT_TRUE(m.ready());
  auto remote = node("n1", ns);
  EXPECT_EQ(remote->signal_matching({marker}, SIGSTOP), std::vector<int>{m.pid()});
  EXPECT_TRUE(m.reaches('T')) << "state " << m.state();
  EXPECT_EQ(remote->signal_matching({marker}, SIGCONT), std::vector<int>{m.pid()});
  EXPECT_TRUE(m.reaches('S')) << "state " << m.state();
}

TEST_P(SnippetTest, KillsOnlyTheNamespacesProcesses) {
  const std::string ns = make_netns();
  const std::string marker = unique_name("fjmarker-snippet-");
  Marker inside(marker, ns);
  Marker outside(marker);
  Marker other(unique_name("fjmarker-other-"), ns);
  ASSERT_TRUE(inside.ready() && outside.ready() && other.ready());

  ExecOnlyRemote remote = this->remote(ns);
  EXPECT_EQ(remote.signal_matching({"no-such-process-xyz", marker}, SIGKILL),
            std::vector<int>{inside.pid()});
  EXPECT_EQ(inside.termination_signal(), SIGKILL);
  EXPECT_TRUE(outside.alive());
  EXPECT_TRUE(other.alive());
  // A back-reference keeps its meaning (the patterns then go one pgrep each).
  EXPECT_EQ(remote.signal_matching({"no-such-process-xyz", "fjmark(e)r-oth\\1r-"}, SIGKILL),
            std::vector<int>{other.pid()});
  EXPECT_EQ(other.termination_signal(), SIGKILL);
}

TEST_P(SnippetTest, NeverHitsItself) {
  // Patterns that match the snippet's own shell (its text) and the command lines that start it:
  // only the marker may be hit, and the call must come back with its answer. (No catch-all
  // pattern such as "." here: should the namespace filter ever break, it would hit the host.)
  const std::string ns = make_netns();
  const std::string marker = unique_name("fjmarker-self-");
  Marker m(marker, ns);
  ASSERT_TRUE(m.ready());
  ExecOnlyRemote remote = this->remote(ns);
  EXPECT_EQ(remote.signal_matching({"FJ_PP", "pgrep -f", "FJ_NODE=" + ns, marker}, SIGKILL),
            std::vector<int>{m.pid()});
  EXPECT_EQ(m.termination_signal(), SIGKILL);
}

TEST_P(SnippetTest, StopsAndContinues) {
  const std::string ns = make_netns();
  const std::string marker = unique_name("fjmarker-snipstop-");
  Marker m(marker, ns);
  ASSERT_TRUE(m.ready());
  ExecOnlyRemote remote = this->remote(ns);
  EXPECT_EQ(remote.signal_matching({marker}, SIGSTOP), std::vector<int>{m.pid()});
  EXPECT_TRUE(m.reaches('T')) << "state " << m.state();
  EXPECT_EQ(remote.signal_matching({marker}, SIGCONT), std::vector<int>{m.pid()});
  EXPECT_TRUE(m.reaches('S')) << "state " << m.state();
}

TEST_F(NetnsTest, BadPatternsAndSignalsAreRefusedBeforeAnythingIsSignalled) {
  const std::string ns = make_netns();
  const std::string marker = unique_name("fjmarker-bad-");
  Marker m(marker, ns);
  ASSERT_TRUE(m.ready());
  auto remote = node("n1", ns);
  ExecOnlyRemote snippet(remote);
  for (fj::Remote* r :
       {static_cast<fj::Remote*>(remote.get()), static_cast<fj::Remote*>(&snippet)}) {
    EXPECT_THROW(r->signal_matching({marker, ""}, SIGKILL), std::invalid_argument);
    EXPECT_THROW(r->signal_matching({marker, "(("}, SIGKILL), std::invalid_argument);
    EXPECT_THROW(r->signal_matching({marker}, 0), std::invalid_argument);
  }
  EXPECT_TRUE(m.alive());
}

TEST_F(NetnsTest, NativeScanOfAMissingNamespaceThrows) {
  auto remote = node("n1", unique_name("fjct-missing-"));
  EXPECT_THROW(remote->signal_matching({"x"}, SIGKILL), std::system_error);
}

INSTANTIATE_TEST_SUITE_P(Scan, SnippetTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Pgrep" : "Builtins"; });
