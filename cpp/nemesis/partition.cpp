#include "nemesis/partition.hpp"

#include <spdlog/spdlog.h>

#include <stdexcept>

#include "remote/fanout.hpp"

namespace fj {

namespace {
const std::string kChain = kPartitionChain;
ExecOptions opts() {
  ExecOptions o;
  o.timeout_s = 30;
  return o;
}
const std::string kEnsureChain =
    "iptables -w -N " + kChain + " 2>/dev/null; iptables -w -C INPUT -j " + kChain +
    " 2>/dev/null || iptables -w -I INPUT 1 -j " + kChain;
}  // namespace

Partitioner::Partitioner(std::map<std::string, RemotePtr> remotes,
                         std::map<std::string, std::string> addresses)
    : remotes_(std::move(remotes)), addresses_(std::move(addresses)) {
  for (const auto& [node, remote] : remotes_) {
    if (!addresses_.count(node)) throw std::invalid_argument("no address known for node " + node);
  }
}

std::vector<std::string> Partitioner::nodes() const {
  std::vector<std::string> out;
  for (const auto& [node, remote] : remotes_) out.push_back(node);
  return out;
}

std::vector<RemotePtr> Partitioner::all_remotes() const {
  std::vector<RemotePtr> out;
  for (const auto& [node, remote] : remotes_) out.push_back(remote);
  return out;
}

void Partitioner::setup() { fan_out_check(all_remotes(), kEnsureChain, opts()); }

void Partitioner::drop(const Grudge& grudge) {
  validate_grudge(grudge, nodes());
  std::vector<RemotePtr> targets;
  std::map<const Remote*, std::string> scripts;
  for (const auto& [node, drops] : grudge) {
    if (drops.empty()) continue;
    std::string script = kEnsureChain + "\n";
    for (const auto& peer : drops) {
      const std::string ip = addresses_.at(peer);
      script += "iptables -w -C " + kChain + " -s " + ip + " -j DROP 2>/dev/null || iptables -w -A " +
                kChain + " -s " + ip + " -j DROP\n";
    }
    auto remote = remotes_.at(node);
    scripts[remote.get()] = script;
    targets.push_back(remote);
  }
  spdlog::info("partition: cutting {} node(s)", targets.size());
  for_each_node(targets, [&](Remote& r) { r.check(scripts.at(&r), opts()); });
  std::lock_guard lock(mutex_);
  for (const auto& [node, drops] : grudge) current_[node].insert(drops.begin(), drops.end());
}

void Partitioner::heal() {
  spdlog::info("partition: healing all nodes");
  fan_out_check(all_remotes(), "iptables -w -F " + kChain + " 2>/dev/null || true", opts());
  std::lock_guard lock(mutex_);
  current_.clear();
}

void Partitioner::teardown() {
  fan_out(all_remotes(),
          "iptables -w -D INPUT -j " + kChain + " 2>/dev/null; iptables -w -F " + kChain +
              " 2>/dev/null; iptables -w -X " + kChain + " 2>/dev/null; true",
          opts());
  std::lock_guard lock(mutex_);
  current_.clear();
}

Grudge Partitioner::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

}  // namespace fj
