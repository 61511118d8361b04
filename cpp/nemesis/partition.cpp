#include "nemesis/partition.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <stdexcept>
#include <thread>

#include "remote/fanout.hpp"

namespace fj {

namespace {
const std::string kChain = kPartitionChain;
ExecOptions opts() {
  ExecOptions o;
  o.timeout_s = 30;
  return o;
}
// An address goes into iptables-restore input: one word, no room for a second rule.
bool plain_address(const std::string& a) {
  return !a.empty() && a[0] != '-' && std::all_of(a.begin(), a.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == ':' || c == '/' || c == '-' || c == '_';
  });
}
const std::string kEnsureChain = "iptables -w -N " + kChain +
                                 " 2>/dev/null; iptables -w -C INPUT -j " + kChain +
                                 " 2>/dev/null || iptables -w -I INPUT 1 -j " + kChain;
}  // namespace

Partitioner::Partitioner(std::map<std::string, RemotePtr> remotes,
                         std::map<std::string, std::string> addresses)
    : remotes_(std::move(remotes)), addresses_(std::move(addresses)) {
  for (const auto& [node, remote] : remotes_) {
    auto it = addresses_.find(node);
    if (it == addresses_.end()) throw std::invalid_argument("no address known for node " + node);
    if (!plain_address(it->second)) {
      throw std::invalid_argument("address '" + it->second + "' of node " + node +
                                  " is not an IP address or host name");
    }
  }
}

std::string partition_rules(const std::vector<std::string>& sources) {
  std::string rules = "*filter\n:" + kChain + " - [0:0]\n";
  for (const auto& s : sources) rules += "-A " + kChain + " -s " + s + " -j DROP\n";
  rules += "COMMIT\n";
  return rules;
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

void Partitioner::setup() {
  std::lock_guard apply(apply_mutex_);
  fan_out_check(all_remotes(), kEnsureChain, opts());
}

void Partitioner::drop(const Grudge& grudge) {
  validate_grudge(grudge, nodes());
  std::lock_guard apply(apply_mutex_);
  // Each node's whole rule set: what is already cut plus the new grudge. Nodes whose set does
  // not grow are left alone.
  Grudge next = current();
  std::vector<std::string> changed;
  for (const auto& [node, drops] : grudge) {
    auto& cut = next[node];
    const std::size_t before = cut.size();
    cut.insert(drops.begin(), drops.end());
    if (cut.size() != before) changed.push_back(node);
  }
  spdlog::info("partition: cutting {} node(s)", changed.size());
  std::vector<std::exception_ptr> errors(changed.size());
  {
    std::vector<std::jthread> threads;
    threads.reserve(changed.size());
    for (std::size_t i = 0; i < changed.size(); ++i) {
      threads.emplace_back([&, i] {
        try {
          const std::string& node = changed[i];
          std::vector<std::string> sources;
          for (const auto& peer : next.at(node)) sources.push_back(addresses_.at(peer));
          ExecOptions o = opts();
          o.stdin_data = partition_rules(sources);
          remotes_.at(node)->check("iptables-restore -w --noflush", o);
          std::lock_guard lock(mutex_);
          current_[node] = next.at(node);
        } catch (...) {
          errors[i] = std::current_exception();
        }
      });
    }
  }
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

void Partitioner::heal() {
  std::lock_guard apply(apply_mutex_);
  spdlog::info("partition: healing all nodes");
  fan_out_check(all_remotes(), "iptables -w -F " + kChain + " 2>/dev/null || true", opts());
  std::lock_guard lock(mutex_);
  current_.clear();
}

void Partitioner::teardown() {
  std::lock_guard apply(apply_mutex_);
  fan_out(all_remotes(),
          // Every jump, should an interrupted setup have left more than one.
          "while iptables -w -D INPUT -j " + kChain + " 2>/dev/null; do :; done; iptables -w -F " +
              kChain + " 2>/dev/null; iptables -w -X " + kChain + " 2>/dev/null; true",
          opts());
  std::lock_guard lock(mutex_);
  current_.clear();
}

Grudge Partitioner::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

}  // namespace fj
