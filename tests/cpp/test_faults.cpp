// FaultInjector and Partitioner for real, as root: nodes are throwaway network namespaces joined
// by a bridge in a namespace of their own (the host's interfaces and rules are never touched),
// faults are real signals and real iptables rules, and the history is read back from its file.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include "history/history.hpp"
#include "nemesis/clock.hpp"
#include "nemesis/faults.hpp"
#include "nemesis/packets.hpp"
#include "netns_helpers.hpp"

using fj::json;
using fj::testing::Marker;
using fj::testing::NetnsTest;
using fj::testing::output_of;
using fj::testing::succeeds;
using fj::testing::unique_name;

namespace {

/// Nodes n1..nN in namespaces on one bridge (10.213.99.11..), a history file, an injector.
class FaultsTest : public NetnsTest {
 protected:
  void SetUp() override {
    NetnsTest::SetUp();
    if (IsSkipped()) return;
    history_path_ = std::filesystem::temp_directory_path() / (unique_name("fj-faults-") + ".jsonl");
    history_ = std::make_shared<fj::HistoryRecorder>(history_path_.string(), false, 0.05);
  }
  void TearDown() override {
    injector_.reset();
    history_.reset();
    std::filesystem::remove(history_path_);
    NetnsTest::TearDown();
  }

  /// Makes `count` nodes; with `wired` they can reach each other through a bridge.
  void make_nodes(int count, bool wired) {
    std::string sw;
    if (wired) {
      sw = make_netns();
      ASSERT_TRUE(succeeds("ip -n " + sw + " link add br0 type bridge && ip -n " + sw +
                           " link set br0 up"));
    }
    for (int i = 1; i <= count; ++i) {
      const std::string name = "n" + std::to_string(i);
      const std::string ns = make_netns();
      const std::string ip = "10.213.99." + std::to_string(10 + i);
      if (wired) {
        const std::string port = "p" + std::to_string(i);
        ASSERT_TRUE(succeeds("ip -n " + ns + " link add eth0 type veth peer name " + port +
                             " netns " + sw + " && ip -n " + sw + " link set " + port +
                             " master br0 up && ip -n " + ns + " addr add " + ip +
                             "/24 dev eth0 && ip -n " + ns + " link set eth0 up"));
      }
      ns_[name] = ns;
      ip_[name] = ip;
      remotes_[name] = node(name, ns);
    }
    injector_ = std::make_unique<fj::FaultInjector>(remotes_, ip_, history_);
  }

  /// Does a TCP SYN from `from` to `to` get an answer (a refusal counts: port 9 is closed)?
  bool reaches(const std::string& from, const std::string& to) {
    const std::string probe = "timeout 0.5 bash -c 'echo > /dev/tcp/" + ip_.at(to) + "/9'";
    return std::system(("ip netns exec " + ns_.at(from) + " " + probe + " 2>/dev/null").c_str()) !=
           124 << 8;
  }

  std::string chain(const std::string& node) {
    return in_netns(ns_.at(node), "iptables -w -S FJ-PARTITION");
  }

  std::vector<fj::Op> ops() {
    history_->flush();
    auto r = fj::read_history(history_path_.string());
    EXPECT_TRUE(r.errors.empty());
    return r.ops;
  }

  std::filesystem::path history_path_;
  std::shared_ptr<fj::HistoryRecorder> history_;
  std::map<std::string, std::string> ns_, ip_;
  std::map<std::string, fj::RemotePtr> remotes_;
  std::unique_ptr<fj::FaultInjector> injector_;
};

}  // namespace

TEST_F(FaultsTest, KillHitsTheTargetsAndRecordsThePids) {
  make_nodes(2, false);
  const std::string marker = unique_name("fjmarker-kill-");
  Marker m1(marker, ns_["n1"]), m2(marker, ns_["n2"]), outside(marker);
  ASSERT_TRUE(m1.ready() && m2.ready() && outside.ready());

  json out = injector_->signal("kill-task-managers", {{"n1", {marker}}, {"n2", {marker}}}, SIGKILL);
  EXPECT_EQ(m1.termination_signal(), SIGKILL);
  EXPECT_EQ(m2.termination_signal(), SIGKILL);
  EXPECT_TRUE(outside.alive());
  const json expected = {{"nodes", {"n1", "n2"}},
                         {"signal", "KILL"},
                         {"killed", {{"n1", {m1.pid()}}, {"n2", {m2.pid()}}}}};
  EXPECT_EQ(out, expected);

  auto h = ops();
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0].type, "invoke");
  EXPECT_TRUE(h[0].is_nemesis());
  EXPECT_EQ(h[0].f, "kill-task-managers");
  EXPECT_EQ(h[0].value, json({{"nodes", {"n1", "n2"}}}));
  EXPECT_EQ(h[1].type, "info");
  EXPECT_EQ(h[1].value, expected);
  EXPECT_EQ(h[1].error(), "");
}

TEST_F(FaultsTest, KillMatchingNothingIsAFail) {
  make_nodes(1, false);
  json out = injector_->signal("kill-job-managers", {{"n1", {unique_name("fjmarker-none-")}}},
                               SIGKILL, json({{"why", "test"}}));
  EXPECT_EQ(out["error"], "the kill matched no process");
  EXPECT_EQ(out["killed"], json({{"n1", json::array()}}));
  auto h = ops();
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0].value, json({{"why", "test"}}));
  EXPECT_EQ(h[1].type, "fail");
  EXPECT_EQ(h[1].error(), "the kill matched no process");
  EXPECT_EQ(h[1].value,
            json({{"nodes", {"n1"}}, {"signal", "KILL"}, {"killed", {{"n1", json::array()}}}}));
}

TEST_F(FaultsTest, StopAndContinueAreSignalledAndVisible) {
  make_nodes(1, false);
  const std::string marker = unique_name("fjmarker-pause-");
  Marker m(marker, ns_["n1"]);
  ASSERT_TRUE(m.ready());
  json out = injector_->signal("start-pause", {{"n1", {marker}}}, SIGSTOP);
  EXPECT_TRUE(m.reaches('T')) << m.state();
  EXPECT_EQ(out["signal"], "STOP");
  EXPECT_EQ(out["signalled"], json({{"n1", {m.pid()}}}));
  out = injector_->signal("stop-pause", {{"n1", {marker}}}, SIGCONT);
  EXPECT_TRUE(m.reaches('S')) << m.state();
  auto h = ops();
  ASSERT_EQ(h.size(), 4u);
  EXPECT_EQ(h[1].type, "info");
  EXPECT_EQ(h[3].type, "info");
  EXPECT_EQ(h[3].value["signal"], "CONT");
}

TEST_F(FaultsTest, ANodeThatFailsIsNamedAndTheOthersStillHit) {
  make_nodes(1, false);
  remotes_["n2"] = node("n2", unique_name("fjct-gone-"));  // no such namespace
  ip_["n2"] = "10.213.99.99";
  injector_ = std::make_unique<fj::FaultInjector>(remotes_, ip_, history_);
  const std::string marker = unique_name("fjmarker-half-");
  Marker m(marker, ns_["n1"]);
  ASSERT_TRUE(m.ready());

  json out = injector_->signal("kill", {{"n1", {marker}}, {"n2", {marker}}}, SIGKILL);
  EXPECT_EQ(m.termination_signal(), SIGKILL);
  EXPECT_EQ(out["killed"]["n1"], json({m.pid()}));
  ASSERT_TRUE(out["errors"].contains("n2")) << out.dump();
  EXPECT_FALSE(out.contains("error"));

  out = injector_->signal("kill", {{"n2", {marker}}}, SIGKILL);
  ASSERT_TRUE(out.contains("error"));
  EXPECT_NE(out["error"].get<std::string>().find("n2: "), std::string::npos) << out.dump();
  auto h = ops();
  ASSERT_EQ(h.size(), 4u);
  EXPECT_EQ(h[1].type, "info");
  EXPECT_EQ(h[3].type, "fail");
  EXPECT_EQ(h[3].error(), out["error"]);
}

TEST_F(FaultsTest, BadInputThrowsAndRecordsNothing) {
  make_nodes(2, false);
  EXPECT_THROW(injector_->signal("kill", {{"n9", {"x"}}}, SIGKILL), std::invalid_argument);
  EXPECT_THROW(injector_->signal("kill", {{"n1", {""}}}, SIGKILL), std::invalid_argument);
  EXPECT_THROW(injector_->signal("kill", {{"n1", {"x"}}}, 0), std::invalid_argument);
  EXPECT_THROW(injector_->partition("start-partition", {{"shape", "pentagon"}}),
               std::invalid_argument);
  EXPECT_THROW(
      injector_->partition("start-partition", {{"shape", "halves"}, {"nodes", {"n1", "n7"}}}),
      std::invalid_argument);
  EXPECT_EQ(history_->size(), 0);
}

TEST_F(FaultsTest, PartitionCutsTheLinksAndHealRestoresThem) {
  make_nodes(3, true);
  injector_->setup();
  for (const auto& [node, ns] : ns_) {
    EXPECT_NE(in_netns(ns, "iptables -w -S INPUT").find("-A INPUT -j FJ-PARTITION"),
              std::string::npos);
  }
  // The wiring works before anything is cut (the first SYN may wait for ARP).
  bool wired = false;
  for (int i = 0; i < 20 && !wired; ++i) wired = reaches("n1", "n2");
  ASSERT_TRUE(wired);
  const std::string host_before = output_of("iptables -w -S 2>&1");

  json out = injector_->partition(
      "start-partition-leader", {{"shape", "one"}, {"nodes", {"n1", "n2", "n3"}}, {"loner", "n2"}});
  const json grudge = {{"n1", {"n2"}}, {"n2", {"n1", "n3"}}, {"n3", {"n2"}}};
  EXPECT_EQ(out, json({{"grudge", grudge}, {"shape", "n2 alone"}}));
  EXPECT_EQ(chain("n2"),
            "-N FJ-PARTITION\n-A FJ-PARTITION -s 10.213.99.11/32 -j DROP\n"
            "-A FJ-PARTITION -s 10.213.99.13/32 -j DROP\n");
  EXPECT_EQ(chain("n1"), "-N FJ-PARTITION\n-A FJ-PARTITION -s 10.213.99.12/32 -j DROP\n");
  EXPECT_FALSE(reaches("n1", "n2"));
  EXPECT_FALSE(reaches("n2", "n3"));
  EXPECT_TRUE(reaches("n1", "n3"));
  EXPECT_EQ(injector_->current(),
            (fj::Grudge{{"n1", {"n2"}}, {"n2", {"n1", "n3"}}, {"n3", {"n2"}}}));

  json healed = injector_->heal("stop-partition-leader");
  EXPECT_EQ(healed, json({{"healed", grudge}}));
  for (const auto& n : {"n1", "n2", "n3"}) EXPECT_EQ(chain(n), "-N FJ-PARTITION\n");
  EXPECT_TRUE(reaches("n1", "n2"));
  EXPECT_TRUE(injector_->current().empty());
  EXPECT_EQ(output_of("iptables -w -S 2>&1"), host_before) << "the host's rules changed";

  auto h = ops();
  ASSERT_EQ(h.size(), 4u);
  EXPECT_EQ(h[0].type, "invoke");
  EXPECT_EQ(h[0].value, out);
  EXPECT_EQ(h[1].type, "info");
  EXPECT_EQ(h[1].value, out);
  EXPECT_EQ(h[2].f, "stop-partition-leader");
  EXPECT_TRUE(h[2].value.is_null());
  EXPECT_EQ(h[3].type, "info");
  EXPECT_EQ(h[3].value, healed);

  injector_->teardown();
  EXPECT_EQ(in_netns(ns_["n1"], "iptables -w -S").find("FJ-PARTITION"), std::string::npos);
}

TEST_F(FaultsTest, AGrudgeThatCutsNoLinkIsAFail) {
  make_nodes(2, false);
  injector_->setup();
  json out = injector_->partition("start-partition", {{"shape", "halves"}, {"nodes", {"n1"}}});
  EXPECT_EQ(out["error"], "the grudge cuts no link");
  auto h = ops();
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[1].type, "fail");
  EXPECT_EQ(h[1].error(), "the grudge cuts no link");
  EXPECT_EQ(chain("n1"), "-N FJ-PARTITION\n");
}

TEST_F(FaultsTest, AFailedCutIsAFailAndAFailedHealThrows) {
  make_nodes(1, false);
  remotes_["n2"] = node("n2", unique_name("fjct-gone-"));
  ip_["n2"] = "10.213.99.99";
  injector_ = std::make_unique<fj::FaultInjector>(remotes_, ip_, history_);
  json out = injector_->partition("start-partition",
                                  {{"shape", "components"}, {"components", {{"n1"}, {"n2"}}}});
  ASSERT_TRUE(out.contains("error"));
  // n1 was cut all the same: what is in force says so, and heal undoes it.
  EXPECT_EQ(injector_->current(), (fj::Grudge{{"n1", {"n2"}}}));
  EXPECT_EQ(chain("n1"), "-N FJ-PARTITION\n-A FJ-PARTITION -s 10.213.99.99/32 -j DROP\n");
  EXPECT_THROW(injector_->heal("stop-partition"), fj::RemoteError);
  auto h = ops();
  ASSERT_EQ(h.size(), 4u);
  EXPECT_EQ(h[1].type, "fail");
  EXPECT_EQ(h[1].error(), out["error"]);
  EXPECT_EQ(h[3].type, "fail");
  EXPECT_NE(h[3].error(), "");
}

TEST_F(NetnsTest, RestoreRewritesOnlyThePartitionChain) {
  // iptables here is the nf_tables flavour; --noflush with a declared chain must flush and refill
  // that chain and leave every other rule and chain as it was.
  const std::string ns = make_netns();
  ASSERT_TRUE(succeeds("ip netns exec " + ns +
                       " bash -c 'iptables -w -A INPUT -s 192.0.2.1 -j ACCEPT && "
                       "iptables -w -N OTHER && iptables -w -A OTHER -s 192.0.2.2 -j DROP && "
                       "iptables -w -A OUTPUT -d 192.0.2.3 -j DROP'"));
  // b and c live elsewhere: only a's rules are looked at here.
  std::map<std::string, fj::RemotePtr> remotes = {
      {"a", node("a", ns)}, {"b", node("b", make_netns())}, {"c", node("c", make_netns())}};
  fj::Partitioner p(remotes, {{"a", "198.51.100.1"}, {"b", "198.51.100.2"}, {"c", "198.51.100.3"}});
  p.setup();
  p.setup();  // idempotent: one jump
  auto others = [&] {
    std::string out;
    std::istringstream all(in_netns(ns, "iptables -w -S"));
    for (std::string line; std::getline(all, line);) {
      if (line.find("FJ-PARTITION") == std::string::npos) out += line + "\n";
    }
    return out;
  };
  const std::string before = others();
  EXPECT_NE(before.find("-A OTHER -s 192.0.2.2/32 -j DROP"), std::string::npos) << before;
  const std::string rules = in_netns(ns, "iptables -w -S INPUT");
  EXPECT_EQ(rules,
            "-P INPUT ACCEPT\n-A INPUT -j FJ-PARTITION\n-A INPUT -s 192.0.2.1/32 -j ACCEPT\n");

  p.drop({{"a", {"b"}}});
  p.drop({{"a", {"c"}}});  // on top of what is cut
  EXPECT_EQ(in_netns(ns, "iptables -w -S FJ-PARTITION"),
            "-N FJ-PARTITION\n-A FJ-PARTITION -s 198.51.100.2/32 -j DROP\n"
            "-A FJ-PARTITION -s 198.51.100.3/32 -j DROP\n");
  EXPECT_EQ(others(), before);
  p.heal();
  EXPECT_EQ(in_netns(ns, "iptables -w -S FJ-PARTITION"), "-N FJ-PARTITION\n");
  EXPECT_EQ(others(), before);
  p.teardown();
  EXPECT_EQ(in_netns(ns, "iptables -w -S").find("FJ-PARTITION"), std::string::npos);
  EXPECT_EQ(others(), before);
}

TEST(Partitioner, RefusesAddressesThatAreNotOneWord) {
  std::map<std::string, fj::RemotePtr> remotes = {{"a", std::make_shared<fj::LocalRemote>("a")}};
  EXPECT_THROW(fj::Partitioner(remotes, {{"a", "10.0.0.1 -j ACCEPT"}}), std::invalid_argument);
  EXPECT_THROW(fj::Partitioner(remotes, {{"a", "-s"}}), std::invalid_argument);
  EXPECT_THROW(fj::Partitioner(remotes, {}), std::invalid_argument);
  EXPECT_EQ(fj::partition_rules({"10.0.0.1"}),
            "*filter\n:FJ-PARTITION - [0:0]\n-A FJ-PARTITION -s 10.0.0.1 -j DROP\nCOMMIT\n");
}

// ---- packet faults ------------------------------------------------------------------------------
namespace {

/// How many of `count` UDP datagrams sent from `from` to `to` arrive (a receiver in `to`'s
/// namespace counts until the sender has been quiet for a second).
int udp_delivered(const std::map<std::string, std::string>& ns,
                  const std::map<std::string, std::string>& ip, const std::string& from,
                  const std::string& to, int count) {
  const std::string port = "19999";
  const std::string out = std::filesystem::temp_directory_path() / unique_name("fj-udp-");
  const std::string receiver =
      "ip netns exec " + ns.at(to) +
      " python3 -c \"import socket\n"
      "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(('" +
      ip.at(to) + "'," + port +
      "))\ns.settimeout(1.5)\nn=0\ntry:\n  while True:\n    s.recv(64); n+=1\n"
      "except socket.timeout: pass\nprint(n)\" > " +
      out + " &";
  if (std::system(receiver.c_str()) != 0) return -1;
  std::system("sleep 0.4");
  const std::string sender =
      "ip netns exec " + ns.at(from) +
      " python3 -c \"import socket,time\n"
      "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nfor i in range(" +
      std::to_string(count) + "):\n  try: s.sendto(b'x',('" + ip.at(to) + "'," + port +
      "))\n"
      "  except PermissionError: pass\n  time.sleep(0.0003)\"";  // EPERM: dropped in OUTPUT
  if (std::system(sender.c_str()) != 0) return -1;
  for (int i = 0; i < 50; ++i) {  // the receiver writes its count once it times out
    std::system("sleep 0.1");
    const std::string got = output_of("cat " + out + " 2>/dev/null");
    if (!got.empty()) {
      std::filesystem::remove(out);
      return std::stoi(got);
    }
  }
  return -1;
}

}  // namespace

TEST_F(FaultsTest, PacketLossDropsAboutTheAskedShareInBothDirections) {
  make_nodes(2, true);
  injector_->setup();
  ASSERT_EQ(udp_delivered(ns_, ip_, "n2", "n1", 500), 500);  // a clean link loses nothing
  json out = injector_->packets("packet-loss", {"n1"}, {}, json({{"loss", 0.3}}));
  EXPECT_FALSE(out.contains("error")) << out.dump();
  const int in = udp_delivered(ns_, ip_, "n2", "n1", 2000);
  const int outgoing = udp_delivered(ns_, ip_, "n1", "n2", 2000);
  // 70% of 2000 is 1400; a binomial's standard deviation here is about 20.
  EXPECT_NEAR(in, 1400, 120);
  EXPECT_NEAR(outgoing, 1400, 120);
  injector_->heal_packets("packet-loss");
  EXPECT_EQ(udp_delivered(ns_, ip_, "n2", "n1", 500), 500);

  auto h = ops();
  ASSERT_EQ(h.size(), 4u);
  EXPECT_EQ(h[1].type, "info");
  EXPECT_EQ(h[1].value, json({{"loss", 0.3}, {"nodes", {"n1"}}}));
  EXPECT_EQ(h[3].value, json({{"healed", {{"n1", {{"loss", 0.3}}}}}}));
  injector_->teardown();
  EXPECT_EQ(in_netns(ns_["n1"], "iptables -w -S | grep -c FJ-PACKET"), "0\n");
}

TEST_F(FaultsTest, PacketDuplicationSendsAboutTheAskedShareTwice) {
  make_nodes(2, true);
  injector_->setup();
  const auto caps = injector_->packet_capabilities();
  const auto& n1 = caps.at("n1");
  if (std::find(n1.begin(), n1.end(), "duplicate") == n1.end()) {
    GTEST_SKIP() << "iptables TEE is not available here";
  }
  json out = injector_->packets("packet-duplicate", {"n1"}, {}, json({{"duplicate", 0.3}}));
  EXPECT_FALSE(out.contains("error")) << out.dump();
  EXPECT_NEAR(udp_delivered(ns_, ip_, "n1", "n2", 2000), 2600, 120);
  EXPECT_EQ(udp_delivered(ns_, ip_, "n2", "n1", 500), 500);  // only n1's packets are cloned
  injector_->heal_packets("packet-duplicate");
  EXPECT_EQ(udp_delivered(ns_, ip_, "n1", "n2", 500), 500);
}

TEST_F(FaultsTest, APacketFaultTheNodeCannotDoIsAFailThatNamesWhy) {
  make_nodes(2, true);
  injector_->setup();
  const auto caps = injector_->packet_capabilities().at("n1");
  const bool netem = std::find(caps.begin(), caps.end(), "delay") != caps.end();
  json out = injector_->packets("packet-delay", {"n1"}, {}, json({{"delay_ms", 50}}));
  if (netem) {
    EXPECT_FALSE(out.contains("error")) << out.dump();
  } else {
    EXPECT_NE(out.value("error", "").find("cannot carry out packet delay"), std::string::npos)
        << out.dump();
    EXPECT_EQ(ops().back().type, "fail");
  }
  injector_->heal_packets("packet-delay");
  EXPECT_THROW(injector_->packets("p", {"n1"}, {}, json({{"loss", 1.5}})), std::invalid_argument);
  EXPECT_THROW(injector_->packets("p", {"n9"}, {}, json({{"loss", 0.5}})), std::invalid_argument);
  EXPECT_THROW(injector_->packets("p", {"n1"}, {}, json({{"lose", 0.5}})), std::invalid_argument);
  EXPECT_THROW(injector_->packets("p", {"n1"}, {}, json::object()), std::invalid_argument);
}

TEST(PacketRules, LossBothWaysDuplicationByTee) {
  fj::PacketFault f;
  f.loss = 0.25;
  f.duplicate = 0.1;
  const std::string r = fj::packet_rules(f, {"10.0.0.2", "10.0.0.3"}, {"10.0.0.3"});
  EXPECT_NE(r.find("-A FJ-PACKET-IN -s 10.0.0.2 -m statistic --mode random --probability "
                   "0.250000 -j DROP"),
            std::string::npos);
  EXPECT_EQ(r.find("-A FJ-PACKET-OUT -d 10.0.0.2"), std::string::npos);  // another target
  EXPECT_NE(r.find("-A FJ-PACKET-OUT -d 10.0.0.3"), std::string::npos);
  EXPECT_NE(r.find("-A FJ-PACKET-DUP -d 10.0.0.2 -m statistic --mode random --probability "
                   "0.100000 -j TEE --gateway 10.0.0.2"),
            std::string::npos);
  EXPECT_THROW(fj::PacketFault::from_json(json({{"reorder", 0.5}})), std::invalid_argument);
  EXPECT_EQ(fj::parse_capabilities("loss\nduplicate\nnoise\n"),
            (fj::PacketCapabilities{"duplicate", "loss"}));
}

// ---- clock faults -------------------------------------------------------------------------------
TEST(FaketimeSpec, SignedSecondsAndBadOffsetsRefused) {
  EXPECT_EQ(fj::faketime_spec(12.5), "+12.500000s");
  EXPECT_EQ(fj::faketime_spec(-3), "-3.000000s");
  EXPECT_THROW(fj::faketime_spec(1e12), std::invalid_argument);
  EXPECT_THROW(fj::clock_command({"relative/path"}, 1), std::invalid_argument);
}

TEST_F(FaultsTest, ClockFaultRewritesTheClockFileAndAMissingOneIsAFail) {
  make_nodes(2, false);
  const auto dir = std::filesystem::temp_directory_path() / unique_name("fj-clock-");
  std::filesystem::create_directories(dir);
  const std::string file = (dir / "flink").string();
  { std::ofstream(file) << "+0\n"; }
  json out = injector_->clock("clock-skew", {{"n1", {file}}}, 30.25);
  EXPECT_FALSE(out.contains("error")) << out.dump();
  EXPECT_EQ(output_of("cat " + file), "+30.250000s\n");
  auto h = ops();
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0].value, json({{"nodes", {"n1"}}, {"offset", 30.25}}));
  EXPECT_EQ(h[1].type, "info");

  // A process under libfaketime sees it (when the library is installed here).
  if (std::filesystem::exists(fj::kFaketimeLibrary)) {
    const std::string seen =
        output_of(std::string("LD_PRELOAD=") + fj::kFaketimeLibrary +
                  " FAKETIME_TIMESTAMP_FILE=" + file + " FAKETIME_DONT_FAKE_MONOTONIC=1 date +%s");
    const long now = static_cast<long>(std::time(nullptr));
    EXPECT_NEAR(std::stol(seen) - now, 30, 2);
  }

  // Not recorded: the steps of a drift.
  injector_->clock("clock-drift", {{"n1", {file}}}, 2, nullptr, false);
  EXPECT_EQ(ops().size(), 2u);
  EXPECT_THROW(
      injector_->clock("clock-drift", {{"n2", {(dir / "none").string()}}}, 2, nullptr, false),
      std::runtime_error);

  out = injector_->clock("clock-skew", {{"n2", {(dir / "none").string()}}}, 5);
  EXPECT_NE(out.value("error", "").find("not started under libfaketime"), std::string::npos)
      << out.dump();
  EXPECT_EQ(ops().back().type, "fail");
  std::filesystem::remove_all(dir);
}
