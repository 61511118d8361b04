#include "nemesis/packets.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <sstream>
#include <stdexcept>

#include "remote/fanout.hpp"

namespace fj {

namespace {

const std::string kIn = "FJ-PACKET-IN";
const std::string kOut = "FJ-PACKET-OUT";
const std::string kDup = "FJ-PACKET-DUP";

ExecOptions opts() {
  ExecOptions o;
  o.timeout_s = 30;
  return o;
}

/// A probability as iptables and tc read it: plain decimal, no exponent.
std::string decimal(double v, int digits = 6) {
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(digits);
  out << v;
  return out.str();
}

const std::string kSetup =
    // filter: incoming and outgoing loss
    "iptables -w -N " + kIn + " 2>/dev/null; iptables -w -C INPUT -j " + kIn +
    " 2>/dev/null || iptables -w -I INPUT 1 -j " + kIn + "; iptables -w -N " + kOut +
    " 2>/dev/null; iptables -w -C OUTPUT -j " + kOut +
    " 2>/dev/null || iptables -w -I OUTPUT 1 -j " + kOut +
    // mangle: duplication (only where the table exists; the probe says so otherwise)
    "; if iptables -w -t mangle -S >/dev/null 2>&1; then iptables -w -t mangle -N " + kDup +
    " 2>/dev/null; iptables -w -t mangle -C OUTPUT -j " + kDup +
    " 2>/dev/null || iptables -w -t mangle -I OUTPUT 1 -j " + kDup + "; fi; true";

const std::string kFlush = "iptables -w -F " + kIn + " 2>/dev/null; iptables -w -F " + kOut +
                           " 2>/dev/null; iptables -w -t mangle -F " + kDup + " 2>/dev/null; true";

const std::string kTeardown =
    "while iptables -w -D INPUT -j " + kIn + " 2>/dev/null; do :; done; while iptables -w -D " +
    "OUTPUT -j " + kOut + " 2>/dev/null; do :; done; while iptables -w -t mangle -D OUTPUT -j " +
    kDup + " 2>/dev/null; do :; done; " + kFlush + "; iptables -w -X " + kIn +
    " 2>/dev/null; iptables -w -X " + kOut + " 2>/dev/null; iptables -w -t mangle -X " + kDup +
    " 2>/dev/null; true";

void check_probability(const std::string& key, double v) {
  if (!std::isfinite(v) || v < 0 || v > 1) {
    throw std::invalid_argument("packet fault: " + key + " must be a probability in [0, 1], not " +
                                decimal(v));
  }
}

void check_millis(const std::string& key, double v) {
  if (!std::isfinite(v) || v < 0 || v > 60000) {
    throw std::invalid_argument("packet fault: " + key + " must be between 0 and 60000 ms, not " +
                                decimal(v));
  }
}

}  // namespace

const char* const kPacketProbe =
    "iptables -w -N FJ-PROBE 2>/dev/null; "
    "iptables -w -A FJ-PROBE -m statistic --mode random --probability 0.5 -j RETURN 2>/dev/null "
    "&& echo loss; iptables -w -F FJ-PROBE 2>/dev/null; iptables -w -X FJ-PROBE 2>/dev/null; "
    "iptables -w -t mangle -N FJ-PROBE 2>/dev/null; "
    "iptables -w -t mangle -A FJ-PROBE -m statistic --mode random --probability 0.5 "
    "-j TEE --gateway 127.0.0.1 2>/dev/null && echo duplicate; "
    "iptables -w -t mangle -F FJ-PROBE 2>/dev/null; iptables -w -t mangle -X FJ-PROBE 2>/dev/null; "
    "if command -v tc >/dev/null && tc qdisc add dev lo root netem delay 1ms 2>/dev/null; then "
    "tc qdisc del dev lo root 2>/dev/null; echo delay; echo reorder; fi; true";

nlohmann::json PacketFault::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  if (loss > 0) j["loss"] = loss;
  if (duplicate > 0) j["duplicate"] = duplicate;
  if (delay_ms > 0) j["delay_ms"] = delay_ms;
  if (jitter_ms > 0) j["jitter_ms"] = jitter_ms;
  if (reorder > 0) j["reorder"] = reorder;
  return j;
}

PacketFault PacketFault::from_json(const nlohmann::json& j) {
  if (!j.is_object()) throw std::invalid_argument("packet fault: expected an object");
  PacketFault f;
  for (const auto& [key, value] : j.items()) {
    if (!value.is_number()) {
      throw std::invalid_argument("packet fault: " + key + " must be a number, not " +
                                  value.dump());
    }
    const double v = value.get<double>();
    if (key == "loss") {
      check_probability(key, v);
      f.loss = v;
    } else if (key == "duplicate") {
      check_probability(key, v);
      f.duplicate = v;
    } else if (key == "reorder") {
      check_probability(key, v);
      f.reorder = v;
    } else if (key == "delay_ms") {
      check_millis(key, v);
      f.delay_ms = v;
    } else if (key == "jitter_ms") {
      check_millis(key, v);
      f.jitter_ms = v;
    } else {
      throw std::invalid_argument("packet fault: unknown key '" + key +
                                  "' (known: loss, duplicate, delay_ms, jitter_ms, reorder)");
    }
  }
  if (!f.any()) {
    throw std::invalid_argument(
        "packet fault: it does nothing (give loss, duplicate, delay_ms or reorder)");
  }
  if (f.reorder > 0 && f.delay_ms <= 0) {
    throw std::invalid_argument(
        "packet fault: reorder needs a delay_ms (netem reorders by "
        "sending some packets without the delay)");
  }
  if (f.jitter_ms > 0 && f.delay_ms <= 0) {
    throw std::invalid_argument("packet fault: jitter_ms needs a delay_ms");
  }
  return f;
}

std::string packet_rules(const PacketFault& fault, const std::vector<std::string>& in_peers,
                         const std::vector<std::string>& out_peers) {
  const std::string stat = " -m statistic --mode random --probability ";
  std::string rules = "*filter\n:" + kIn + " - [0:0]\n:" + kOut + " - [0:0]\n";
  if (fault.loss > 0) {
    for (const auto& p : in_peers) {
      rules += "-A " + kIn + " -s " + p + stat + decimal(fault.loss) + " -j DROP\n";
    }
    for (const auto& p : out_peers) {
      rules += "-A " + kOut + " -d " + p + stat + decimal(fault.loss) + " -j DROP\n";
    }
  }
  rules += "COMMIT\n";
  if (fault.duplicate > 0) {
    // Every peer gets the node's packets to it, and a clone of some of them routed to it again.
    rules += "*mangle\n:" + kDup + " - [0:0]\n";
    std::vector<std::string> all = in_peers;
    for (const auto& p : out_peers) {
      if (std::find(all.begin(), all.end(), p) == all.end()) all.push_back(p);
    }
    for (const auto& p : all) {
      rules += "-A " + kDup + " -d " + p + stat + decimal(fault.duplicate) + " -j TEE --gateway " +
               p + "\n";
    }
    rules += "COMMIT\n";
  }
  return rules;
}

namespace {
std::string device_toward(const std::string& peer) {
  return "dev=$(ip -o route get " + shell_quote(peer) +
         " | sed -n 's/.* dev \\([^ ]*\\).*/\\1/p'); [ -n \"$dev\" ] || { echo \"no route to " +
         peer + "\" >&2; exit 3; }; ";
}
}  // namespace

std::string netem_command(const PacketFault& fault, const std::string& peer) {
  std::string netem = "netem delay " + decimal(fault.delay_ms, 3) + "ms";
  if (fault.jitter_ms > 0) netem += " " + decimal(fault.jitter_ms, 3) + "ms";
  if (fault.reorder > 0) netem += " reorder " + decimal(fault.reorder * 100, 4) + "%";
  return device_toward(peer) + "tc qdisc replace dev \"$dev\" root " + netem;
}

std::string netem_heal_command(const std::string& peer) {
  return device_toward(peer) + "tc qdisc del dev \"$dev\" root 2>/dev/null; true";
}

PacketCapabilities parse_capabilities(const std::string& probe_output) {
  PacketCapabilities out;
  std::istringstream in(probe_output);
  std::string word;
  while (in >> word) {
    if (word == "loss" || word == "duplicate" || word == "delay" || word == "reorder") {
      out.insert(word);
    }
  }
  return out;
}

PacketShaper::PacketShaper(std::map<std::string, RemotePtr> remotes,
                           std::map<std::string, std::string> addresses)
    : remotes_(std::move(remotes)), addresses_(std::move(addresses)) {
  for (const auto& [node, remote] : remotes_) {
    if (!addresses_.count(node)) throw std::invalid_argument("no address known for node " + node);
  }
}

std::vector<RemotePtr> PacketShaper::all_remotes() const {
  std::vector<RemotePtr> out;
  for (const auto& [node, remote] : remotes_) out.push_back(remote);
  return out;
}

void PacketShaper::setup() {
  std::lock_guard apply(apply_mutex_);
  fan_out_check(all_remotes(), kSetup, opts());
}

std::map<std::string, PacketCapabilities> PacketShaper::capabilities() {
  {
    std::lock_guard lock(mutex_);
    if (capabilities_.size() == remotes_.size()) return capabilities_;
  }
  std::lock_guard apply(apply_mutex_);
  const auto results = fan_out(all_remotes(), kPacketProbe, opts());
  std::lock_guard lock(mutex_);
  std::size_t i = 0;
  for (const auto& [node, remote] : remotes_) {
    capabilities_[node] = parse_capabilities(results[i++].out);
  }
  return capabilities_;
}

void PacketShaper::apply(const std::vector<std::string>& targets,
                         const std::vector<std::string>& peers, const PacketFault& fault) {
  if (targets.empty()) throw std::invalid_argument("packet fault: no target node");
  for (const auto& n : targets) {
    if (!remotes_.count(n)) throw std::invalid_argument("packet fault names unknown node " + n);
  }
  for (const auto& n : peers) {
    if (!remotes_.count(n)) throw std::invalid_argument("packet fault names unknown peer " + n);
  }
  const auto caps = capabilities();
  std::vector<std::string> wanted;
  if (fault.loss > 0) wanted.push_back("loss");
  if (fault.duplicate > 0) wanted.push_back("duplicate");
  if (fault.delay_ms > 0) wanted.push_back("delay");
  if (fault.reorder > 0) wanted.push_back("reorder");
  for (const auto& n : targets) {
    for (const auto& w : wanted) {
      if (!caps.at(n).count(w)) {
        throw std::runtime_error("node " + n + " cannot carry out packet " + w +
                                 (w == "delay" || w == "reorder"
                                      ? " (no netem qdisc: tc netem is absent)"
                                      : " (iptables lacks the match or target)"));
      }
    }
  }
  std::lock_guard apply(apply_mutex_);
  const std::set<std::string> target_set(targets.begin(), targets.end());
  std::vector<RemotePtr> chosen;
  for (const auto& n : targets) chosen.push_back(remotes_.at(n));
  for_each_node(chosen, [&](Remote& remote) {
    const std::string& node = remote.node();
    std::vector<std::string> in, out;
    for (const auto& [peer, r] : remotes_) {
      if (peer == node) continue;
      if (!peers.empty() && std::find(peers.begin(), peers.end(), peer) == peers.end()) continue;
      in.push_back(addresses_.at(peer));
      // Between two targets the receiver's incoming rule already drops its share.
      if (!target_set.count(peer)) out.push_back(addresses_.at(peer));
    }
    if (in.empty()) throw std::invalid_argument("packet fault: " + node + " has no peer");
    ExecOptions o = opts();
    o.stdin_data = packet_rules(fault, in, out);
    remote.check("iptables-restore -w --noflush", o);
    if (fault.needs_netem()) remote.check(netem_command(fault, in[0]), opts());
    std::lock_guard lock(mutex_);
    current_[node] = fault;
    if (fault.needs_netem()) netem_[node] = in[0];
  });
}

void PacketShaper::heal() {
  std::lock_guard apply(apply_mutex_);
  std::map<std::string, std::string> netem;
  {
    std::lock_guard lock(mutex_);
    netem = netem_;
  }
  fan_out_check(all_remotes(), kFlush, opts());
  for (const auto& [node, peer] : netem) {
    remotes_.at(node)->check(netem_heal_command(peer), opts());
  }
  std::lock_guard lock(mutex_);
  current_.clear();
  netem_.clear();
}

void PacketShaper::teardown() {
  heal();
  std::lock_guard apply(apply_mutex_);
  fan_out(all_remotes(), kTeardown, opts());
}

std::map<std::string, PacketFault> PacketShaper::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

}  // namespace fj
