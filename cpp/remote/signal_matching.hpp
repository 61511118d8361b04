// Signalling a node's processes by command line, as `pgrep -f` + `kill` would: the patterns are
// POSIX extended regexes matched against the arguments joined by single spaces. Two ways to do
// it: a native /proc scan for processes that share this machine's kernel (local nodes and the
// control machine), and one bash snippet for any other node (SSH).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "remote/remote.hpp"

namespace fj {

/// The signal number for a name: KILL, TERM, STOP, CONT, HUP, INT (with or without "SIG", any
/// case) or a decimal number 1..64. Throws std::invalid_argument for anything else.
int signal_number(const std::string& name);

/// KILL, TERM, STOP, CONT, HUP or INT for those signals; the number as text otherwise.
std::string signal_name(int signal);

/// Throws std::invalid_argument unless 1 <= signal <= 64 (0 only probes, it signals nothing).
void validate_signal(int signal);

/// Compiled patterns (regcomp with REG_EXTENDED | REG_NOSUB, what pgrep uses).
class PatternSet {
 public:
  /// Throws std::invalid_argument for an empty pattern (it would match every process), a
  /// pattern with a newline (the snippet reads one pattern a line) or one that does not compile.
  explicit PatternSet(const std::vector<std::string>& patterns);
  ~PatternSet();
  PatternSet(const PatternSet&) = delete;
  PatternSet& operator=(const PatternSet&) = delete;

  bool empty() const { return sources_.empty(); }
  const std::vector<std::string>& sources() const { return sources_; }
  /// Does any pattern match this command line?
  bool matches(const std::string& command_line) const;

 private:
  class Regex;
  std::vector<std::string> sources_;
  std::vector<std::unique_ptr<Regex>> compiled_;
};

/// The command line of a process as pgrep -f sees it (arguments joined by single spaces); empty
/// when it has none (kernel threads, zombies) or is gone.
std::string process_command_line(int pid);

/// Scans /proc and signals every process whose network namespace is the one `netns_path` names
/// (/run/netns/<name>, /proc/self/ns/net) and whose command line matches; never this process or
/// its ancestors. Processes that vanish mid-scan are skipped. Returns the pids signalled, sorted.
/// Throws std::system_error if netns_path cannot be read.
std::vector<int> signal_in_netns(const std::string& netns_path, const PatternSet& patterns,
                                 int signal);

/// The same through one exec of a bash snippet on the node: a /proc scan of bash builtins
/// (bash >= 4.4; pgrep on older shells) restricted to the snippet shell's network namespace,
/// then kill. Patterns travel on stdin, so no command line of the snippet contains them; the
/// snippet's own shell and its ancestors are never signalled. Throws RemoteError if the snippet
/// fails (e.g. an old shell and no pgrep).
std::vector<int> signal_by_snippet(Remote& remote, const PatternSet& patterns, int signal);

}  // namespace fj
