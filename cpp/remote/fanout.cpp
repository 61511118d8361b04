#include "remote/fanout.hpp"

#include <condition_variable>
#include <exception>
#include <mutex>

#include "common/thread_cache.hpp"

namespace fj {

void for_each_node(const std::vector<RemotePtr>& remotes,
                   const std::function<void(Remote&)>& action) {
  std::vector<std::exception_ptr> errors(remotes.size());
  std::mutex mu;
  std::condition_variable all_done;
  std::size_t running = remotes.size();
  auto one = [&](std::size_t i) {
    try {
      action(*remotes[i]);
    } catch (...) {
      errors[i] = std::current_exception();
    }
    std::lock_guard lock(mu);
    if (--running == 0) all_done.notify_one();
  };
  // Every node but the first on a cached thread; the first on the caller's, which waits anyway.
  for (std::size_t i = 1; i < remotes.size(); ++i) run_on_cached_thread([&one, i] { one(i); });
  if (!remotes.empty()) one(0);
  {
    std::unique_lock lock(mu);
    all_done.wait(lock, [&] { return running == 0; });
  }
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

std::vector<ExecResult> fan_out(const std::vector<RemotePtr>& remotes, const std::string& command,
                                const ExecOptions& options) {
  std::vector<ExecResult> results(remotes.size());
  std::vector<Remote*> order;
  for (const auto& r : remotes) order.push_back(r.get());
  for_each_node(remotes, [&](Remote& remote) {
    std::size_t i = 0;
    while (order[i] != &remote) ++i;
    try {
      results[i] = remote.exec(command, options);
    } catch (const std::exception& e) {
      // A transport failure is a result too: the caller sees which node could not be reached.
      results[i].node = remote.node();
      results[i].command = command;
      results[i].exit_status = -1;
      results[i].err = e.what();
    }
  });
  return results;
}

std::vector<ExecResult> fan_out_check(const std::vector<RemotePtr>& remotes,
                                      const std::string& command, const ExecOptions& options) {
  auto results = fan_out(remotes, command, options);
  for (auto& r : results) {
    if (!r.ok()) throw RemoteError(r);
  }
  return results;
}

void upload_to_all(const std::vector<RemotePtr>& remotes, const std::vector<FileCopy>& files) {
  for_each_node(remotes, [&](Remote& remote) { remote.upload_files(files); });
}

}  // namespace fj
