// Run one command on many nodes at once: Jepsen's on-nodes. Every node gets its own thread (a
// cached one: starting a thread costs as much as a short command), so a slow node never delays
// the others; results come back per node, in the order nodes were given.
#pragma once

#include <functional>
#include <vector>

#include "remote/remote.hpp"

namespace fj {

/// Runs `command` on every remote concurrently; never throws for a failed command.
std::vector<ExecResult> fan_out(const std::vector<RemotePtr>& remotes, const std::string& command,
                                const ExecOptions& options);

/// Like fan_out, but throws RemoteError for the first failed node (in node order) once all
/// nodes are done, naming node, command, exit status and stderr tail.
std::vector<ExecResult> fan_out_check(const std::vector<RemotePtr>& remotes,
                                      const std::string& command, const ExecOptions& options);

/// Copies the same files to every remote concurrently (Remote::upload_files on each); rethrows
/// the first failure (node order) once all are done.
void upload_to_all(const std::vector<RemotePtr>& remotes, const std::vector<FileCopy>& files);

/// Runs an arbitrary action per remote concurrently; rethrows the first exception (node order).
void for_each_node(const std::vector<RemotePtr>& remotes,
                   const std::function<void(Remote&)>& action);

}  // namespace fj
