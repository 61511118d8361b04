// Daemons on a node, Jepsen style: started detached with a pidfile and a log file, stopped and
// signalled through that pidfile, so a fault hits exactly this node's process and its children.
#pragma once

#include <string>

#include "remote/remote.hpp"

namespace fj {

struct DaemonSpec {
  std::string command;  ///< bash command line; `exec` is prepended so the pid is the program's
  std::string pidfile;  ///< absolute path on the node
  std::string logfile;  ///< stdout and stderr go here (appended)
  ExecOptions options;  ///< cwd and env of the daemon
};

/// Starts the daemon unless its pidfile names a live process. Returns true if it started it.
bool start_daemon(Remote& remote, const DaemonSpec& spec);

/// Is the process named by the pidfile alive?
bool daemon_running(Remote& remote, const std::string& pidfile);

/// Sends a signal (name or number, e.g. "KILL", "STOP", "CONT") to the daemon's process group.
/// Returns false if no live process was found.
bool signal_daemon(Remote& remote, const std::string& pidfile, const std::string& signal);

/// SIGTERM, wait up to grace_s, then SIGKILL; removes the pidfile.
void stop_daemon(Remote& remote, const std::string& pidfile, double grace_s = 10.0);

}  // namespace fj
