#include "nemesis/faults.hpp"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <exception>
#include <stdexcept>
#include <thread>

#include "nemesis/clock.hpp"
#include "nemesis/shapes.hpp"
#include "remote/fanout.hpp"
#include "remote/signal_matching.hpp"

namespace fj {

namespace {

const json kNemesis = "nemesis";

/// What one node's signal_matching did: the pids, or why the node could not be asked.
struct NodeSignal {
  std::vector<int> pids;
  std::string error;
  bool failed = false;
};

std::string error_text(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "unknown error";
  }
}

}  // namespace

std::string scrub_command() {
  std::string cmd = "iptables -w -F " + std::string(kPartitionChain) + " 2>/dev/null; ";
  for (const char* chain : {"FJ-PACKET-IN", "FJ-PACKET-OUT"}) {
    cmd += "iptables -w -F " + std::string(chain) + " 2>/dev/null; ";
  }
  return cmd + "iptables -w -t mangle -F FJ-PACKET-DUP 2>/dev/null; true";
}

FaultInjector::FaultInjector(std::map<std::string, RemotePtr> remotes,
                             std::map<std::string, std::string> addresses,
                             std::shared_ptr<HistoryRecorder> history)
    : remotes_(remotes),
      history_(std::move(history)),
      partitioner_(remotes, addresses),
      shaper_(std::move(remotes), std::move(addresses)) {
  if (!history_) throw std::invalid_argument("a FaultInjector needs a history recorder");
}

void FaultInjector::setup() {
  partitioner_.setup();
  shaper_.setup();
}

void FaultInjector::teardown() {
  partitioner_.teardown();
  shaper_.teardown();
}

Grudge FaultInjector::current() const { return partitioner_.current(); }

std::vector<std::string> FaultInjector::nodes() const { return partitioner_.nodes(); }

json FaultInjector::complete(const std::string& f, json outcome, const std::string& missed) {
  if (missed.empty()) {
    history_->record(kNemesis, "info", f, outcome);
    return outcome;
  }
  history_->record(kNemesis, "fail", f, outcome, {{"error", missed}});
  spdlog::info("nemesis {} had no effect: {}", f, missed);
  outcome["error"] = missed;
  return outcome;
}

json FaultInjector::signal(const std::string& f, const SignalTargets& targets, int signal,
                           json value) {
  // Bad input is the caller's bug: refused before anything is recorded or sent.
  validate_signal(signal);
  std::vector<std::string> names;
  std::vector<RemotePtr> remotes;
  for (const auto& [node, patterns] : targets) {
    auto it = remotes_.find(node);
    if (it == remotes_.end()) throw std::invalid_argument("signal names unknown node " + node);
    PatternSet check(patterns);
    names.push_back(node);
    remotes.push_back(it->second);
  }
  if (value.is_null()) value = {{"nodes", names}};

  history_->record(kNemesis, "invoke", f, value);
  std::vector<NodeSignal> results(names.size());
  {
    std::vector<std::jthread> threads;
    threads.reserve(names.size());
    for (std::size_t i = 0; i < names.size(); ++i) {
      threads.emplace_back([&, i] {
        try {
          results[i].pids = remotes[i]->signal_matching(targets.at(names[i]), signal);
        } catch (...) {
          results[i].failed = true;
          results[i].error = error_text(std::current_exception());
        }
      });
    }
  }

  const bool kill = signal == SIGKILL || signal == SIGTERM;
  const std::string name = signal_name(signal);
  json outcome = {{"nodes", names}};
  outcome["signal"] = name == std::to_string(signal) ? json(signal) : json(name);
  json hit = json::object();
  json errors = json::object();
  std::size_t signalled = 0;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (results[i].failed) {
      errors[names[i]] = results[i].error;
      spdlog::warn("nemesis {}: {}: {}", f, names[i], results[i].error);
    }
    hit[names[i]] = results[i].pids;
    signalled += results[i].pids.size();
  }
  outcome[kill ? "killed" : "signalled"] = std::move(hit);
  std::string missed;
  if (signalled == 0) {
    missed = kill ? "the kill matched no process" : "the signal matched no process";
    if (!errors.empty()) {
      std::string why;
      for (const auto& [node, message] : errors.items()) {
        why += (why.empty() ? "" : "; ") + node + ": " + message.get<std::string>();
      }
      missed = errors.size() == names.size() ? why : missed + " (" + why + ")";
    }
  }
  if (!errors.empty()) outcome["errors"] = std::move(errors);
  spdlog::info("nemesis {}: SIG{} to {} process(es) on {} node(s)", f, name, signalled,
               names.size());
  return complete(f, std::move(outcome), missed);
}

json FaultInjector::partition(const std::string& f, const json& shape) {
  const PartitionPlan plan = plan_partition(shape, partitioner_.nodes());
  json value = {{"grudge", grudge_to_json(plan.grudge)}, {"shape", plan.description}};
  history_->record(kNemesis, "invoke", f, value);
  if (!cuts_any_link(plan.grudge)) return complete(f, std::move(value), "the grudge cuts no link");
  std::string missed;
  try {
    partitioner_.drop(plan.grudge);
    spdlog::info("nemesis {}: {}", f, plan.description);
  } catch (...) {
    missed = error_text(std::current_exception());
    spdlog::warn("nemesis {} failed: {}", f, missed);
  }
  return complete(f, std::move(value), missed);
}

json FaultInjector::heal(const std::string& f) {
  history_->record(kNemesis, "invoke", f, nullptr);
  const Grudge healed = partitioner_.current();
  try {
    partitioner_.heal();
  } catch (...) {
    const std::string why = error_text(std::current_exception());
    history_->record(kNemesis, "fail", f, nullptr, {{"error", why}});
    spdlog::error("nemesis {} failed: {}", f, why);
    throw;
  }
  return complete(f, {{"healed", grudge_to_json(healed)}}, "");
}

json FaultInjector::packets(const std::string& f, const std::vector<std::string>& targets,
                            const std::vector<std::string>& peers, const json& fault) {
  const PacketFault parsed = PacketFault::from_json(fault);
  for (const auto& n : targets) {
    if (!remotes_.count(n)) throw std::invalid_argument("packet fault names unknown node " + n);
  }
  if (targets.empty()) throw std::invalid_argument("packet fault: no target node");
  json value = parsed.to_json();
  value["nodes"] = targets;
  if (!peers.empty()) value["peers"] = peers;
  history_->record(kNemesis, "invoke", f, value);
  std::string missed;
  try {
    shaper_.apply(targets, peers, parsed);
    spdlog::info("nemesis {}: {} on {} node(s)", f, parsed.to_json().dump(), targets.size());
  } catch (const std::invalid_argument&) {
    throw;
  } catch (...) {
    missed = error_text(std::current_exception());
    spdlog::warn("nemesis {} failed: {}", f, missed);
  }
  return complete(f, std::move(value), missed);
}

json FaultInjector::heal_packets(const std::string& f) {
  history_->record(kNemesis, "invoke", f, nullptr);
  json healed = json::object();
  for (const auto& [node, fault] : shaper_.current()) healed[node] = fault.to_json();
  try {
    shaper_.heal();
  } catch (...) {
    const std::string why = error_text(std::current_exception());
    history_->record(kNemesis, "fail", f, nullptr, {{"error", why}});
    spdlog::error("nemesis {} failed: {}", f, why);
    throw;
  }
  return complete(f, {{"healed", std::move(healed)}}, "");
}

std::map<std::string, std::vector<std::string>> FaultInjector::packet_capabilities() {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& [node, caps] : shaper_.capabilities()) {
    out[node] = std::vector<std::string>(caps.begin(), caps.end());
  }
  return out;
}

json FaultInjector::clock(const std::string& f,
                          const std::map<std::string, std::vector<std::string>>& files,
                          double offset_s, json value, bool record) {
  std::vector<std::string> names;
  std::vector<RemotePtr> remotes;
  std::vector<std::string> commands;
  for (const auto& [node, paths] : files) {
    auto it = remotes_.find(node);
    if (it == remotes_.end()) throw std::invalid_argument("clock fault names unknown node " + node);
    names.push_back(node);
    remotes.push_back(it->second);
    commands.push_back(clock_command(paths, offset_s));
  }
  if (names.empty()) throw std::invalid_argument("clock fault: no node");
  if (value.is_null()) value = {{"nodes", names}, {"offset", offset_s}};
  if (record) history_->record(kNemesis, "invoke", f, value);
  std::vector<ExecResult> results(names.size());
  {
    std::vector<std::jthread> threads;
    threads.reserve(names.size());
    for (std::size_t i = 0; i < names.size(); ++i) {
      threads.emplace_back([&, i] {
        ExecOptions o;
        o.timeout_s = 30;
        try {
          results[i] = remotes[i]->exec(commands[i], o);
        } catch (...) {
          results[i].exit_status = -1;
          results[i].err = error_text(std::current_exception());
        }
      });
    }
  }
  json outcome = {{"nodes", names}, {"offset", offset_s}, {"files", files}};
  json errors = json::object();
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (!results[i].ok()) {
      errors[names[i]] = results[i].timed_out ? "timed out" : tail_lines(results[i].err, 3);
    }
  }
  std::string missed;
  if (errors.size() == names.size()) {
    for (const auto& [node, why] : errors.items()) {
      missed += (missed.empty() ? "" : "; ") + node + ": " + why.get<std::string>();
    }
  }
  if (!errors.empty()) outcome["errors"] = std::move(errors);
  if (!record) {
    if (!missed.empty()) throw std::runtime_error("clock fault " + f + ": " + missed);
    return outcome;
  }
  spdlog::info("nemesis {}: clock {:+.3f} s on {} node(s)", f, offset_s, names.size());
  return complete(f, std::move(outcome), missed);
}

}  // namespace fj
