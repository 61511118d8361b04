// The protocol of SshRemote's persistent shells: one long-lived bash per SSH channel runs the
// commands sent on its standard input, one at a time, each in a process of its own (so `exit`,
// `cd`, env and traps behave as on an exec channel), and closes each command's output with a
// frame carrying a per-command random marker and the exit status, on stdout and on stderr. The
// frames make a channel reusable: opening a channel and starting a login shell on the server
// for every command is most of what a command costs.
//
// The process is a subshell (a fork of the shell: no new bash to start, a third of the cost on
// a small VM) unless the script names `$$`, which a subshell would answer with the persistent
// shell's pid: those run in a new `bash -c`, as before.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace fj {

/// The exec request that starts a persistent shell (run by the login shell of the SSH user).
/// `builtin`: the node's path of the fj_holders loadable builtin (shell_builtin.c), or empty;
/// where bash cannot load it, the shell does the same look in bash.
std::string persistent_shell_command(const std::string& builtin = "");

/// An unguessable marker for one command's frames (letters and digits only).
std::string new_frame_marker();

/// What the client writes on the shell's stdin to run `script` (a bash script without NUL
/// bytes): the length of the rest in ten decimal digits, the marker, a newline and the script.
/// The length lets bash read it in bulk (`read -N`); a delimited read takes a byte per syscall.
std::string frame_request(const std::string& marker, const std::string& script);

/// The signals the shell turns into a TERM and a KILL for the running command's process group,
/// the way GNU timeout does on an exec channel. They are sent with `kill` on an exec channel:
/// OpenSSH refuses SSH "signal" requests in many configurations.
inline constexpr const char* kShellTermSignal = "USR1";
inline constexpr const char* kShellKillSignal = "USR2";

/// One output stream of a persistent shell (stdout or stderr) while a command runs: collects
/// the bytes, cuts the command's frame out of them and remembers what it said.
class FramedStream {
 public:
  /// `acknowledged`: false for stdout, where the shell acknowledges the command first.
  FramedStream(const std::string& marker, bool acknowledged);

  /// Adds bytes received on the stream.
  void append(const char* data, std::size_t n);

  /// True once the shell said it read the command (and is about to start it).
  bool acknowledged() const { return acknowledged_; }
  /// The shell's pid, from its acknowledgement (0 if none came yet).
  int shell_pid() const { return shell_pid_; }
  /// True once the frame arrived: everything the command wrote before its end is in text().
  bool framed() const { return status_.has_value(); }
  /// The command's exit status (as bash's `$?`: 128+N when killed by signal N); framed() only.
  int status() const { return *status_; }
  /// The shell found processes of the command still holding its output and is exiting, so
  /// that the channel's end of file marks the end of the output, as on an exec channel.
  bool retiring() const { return retiring_; }
  /// Bytes that came after the frame (only a retiring shell may send any).
  std::size_t trailing() const { return framed() ? text_.size() - frame_at_ : 0; }

  /// The command's output: what the stream carried, without the frame.
  std::string& text() { return text_; }

 private:
  std::string key_;      // marker + " ", then the status, k or r and a newline
  std::string ack_key_;  // marker + "+", then the shell's pid and a newline
  bool acknowledged_;
  int shell_pid_ = 0;
  std::string text_;
  std::size_t scan_from_ = 0;
  std::size_t frame_at_ = 0;
  std::optional<int> status_;
  bool retiring_ = false;
};

}  // namespace fj
