// The persistent shell's fj_holders builtin (cpp/remote/shell_builtin.c), loaded into a local
// bash as the shell loads it: what it answers for a process group still running, for a writer
// that left the group, for one that let go of the output, and for bad arguments; and the
// persistent shell's look, with it and in bash, once the pid counter comes round to the shell.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "netns_helpers.hpp"
#include "remote/shell_frames.hpp"

namespace {

/// Runs `script` in `bash -c` with the builtin enabled, fd 4 on a file of its own (as the
/// persistent shell's fd 4 is the channel's stderr), stdout on a pipe to this process and
/// stderr (job notices) on /dev/null.
std::string run_with_builtin(const std::string& script) {
  char err_file[] = "/tmp/fj-holders-XXXXXX";
  const int fd = ::mkstemp(err_file);
  if (fd >= 0) ::close(fd);
  const std::string command = "bash --noprofile --norc -c 'enable -f " FJ_SHELL_BUILTIN_PATH
                              " fj_holders || exit 9; exec 4>" +
                              std::string(err_file) + "; " + script + "' </dev/null 2>/dev/null";
  const std::string out = fj::testing::output_of(command);
  ::unlink(err_file);
  return out;
}

TEST(ShellBuiltin, AnswersForTheGroupAndForWritersThatLeftIt) {
  // A command's process group still running holds the output; once it is gone, nothing does.
  EXPECT_EQ(run_with_builtin("set -m; sleep 0.5 & j=$!; fj_holders $j; echo $?; wait $j; "
                             "fj_holders $j; echo $?"),
            "1\n0\n");
  // A writer in a session of its own (setsid forks, as the job leads its group): the group
  // ends at once, the writer is found among the processes started since.
  EXPECT_EQ(run_with_builtin("set -m; setsid sleep 1 & j=$!; sleep 0.3; kill -0 -- -$j 2>/dev/null "
                             "|| echo group-gone; fj_holders $j; echo $?"),
            "group-gone\n1\n");
  // The same on the other stream (fd 4), and a writer that redirected both holds nothing.
  EXPECT_EQ(run_with_builtin("set -m; setsid sleep 1 >/dev/null 2>&4 4>&- & j=$!; sleep 0.3; "
                             "fj_holders $j; echo $?"),
            "1\n");
  EXPECT_EQ(run_with_builtin("set -m; setsid sleep 1 >/dev/null 2>&1 4>&- & j=$!; sleep 0.3; "
                             "fj_holders $j; echo $?"),
            "0\n");
}

/// The persistent shell (shell_frames.cpp) as a coprocess of a bash that plays sshd (it holds
/// the shell's pipes and sends it frames), in a pid namespace of its own: there the pid counter
/// can be set back without disturbing anything else on the machine. The player, with free pids
/// below its own, sets the counter just below those of the shell and itself, and has the shell run
/// a command that starts a dozen processes, which pass the player's and the shell's pids. It
/// prints "spans" if they did, the command's "<status> <k|r>", and "same-shell" if the next
/// command ran in the same shell.
std::string shell_look_round_the_counter(const std::string& builtin) {
  const std::string player =
      "trap '' PIPE\n"
      "n=0\n"
      "run() {\n"
      "  n=$((n + 1)); local m=fjtestmark$n line body\n"
      "  body=\"$m\"$'\\n'\"$1\"\n"
      "  printf '%010d%s' \"${#body}\" \"$body\" >&\"${SH[1]}\"\n"
      "  OUT=(); ST=eof\n"
      "  while IFS= read -r line <&\"${SH[0]}\"; do\n"
      "    case $line in\n"
      "      \"$m+\"*) ;;\n"
      "      \"$m \"*) ST=${line#\"$m \"}; return ;;\n"
      "      *) OUT+=(\"$line\") ;;\n"
      "    esac\n"
      "  done\n"
      "}\n"
      "t=$(mktemp)\n"
      "coproc SH { " +
      fj::persistent_shell_command(builtin) +
      "; } 2>\"$t\"\n"
      "rm -f \"$t\"\n"
      "run 'read -r _ _ _ s _ </proc/self/stat; echo $s'; s=${OUT[0]}\n"
      "lo=$$; [ \"$s\" -lt \"$lo\" ] && lo=$s\n"
      "p=$((lo - 1)); while [ -e /proc/$p ]; do p=$((p - 1)); done\n"
      "echo $((p - 1)) >/proc/sys/kernel/ns_last_pid\n"
      "run 'echo $BASHPID; for i in 1 2 3 4 5 6 7 8 9 10 11 12; do /bin/true; done; "
      "read -r l </proc/sys/kernel/ns_last_pid; echo $l'\n"
      "[ \"${OUT[0]}\" -lt \"$lo\" ] && [ \"${OUT[1]}\" -gt \"$s\" ] && [ \"${OUT[1]}\" -gt $$ ] "
      "&& echo spans\n"
      "echo \"$ST\"\n"
      "run 'read -r _ _ _ s _ </proc/self/stat; echo $s'\n"
      "[ \"${OUT[0]:-}\" = \"$s\" ] && echo same-shell\n";
  char path[] = "/tmp/fj-shell-look-XXXXXX";
  const int fd = ::mkstemp(path);
  if (fd < 0) return "cannot make a temporary file";
  const bool written =
      ::write(fd, player.data(), player.size()) == static_cast<ssize_t>(player.size());
  ::close(fd);
  // The namespace's init burns ten pids, then forks the player (not pid 1, with free pids below).
  const std::string out =
      written ? fj::testing::output_of(
                    "unshare --pid --fork --mount-proc bash --noprofile --norc -c 'for i in 1 2 "
                    "3 4 5 6 7 8 9 10; do /bin/true; done; bash --noprofile --norc " +
                    std::string(path) + "; exit $?' </dev/null 2>/dev/null")
              : "cannot write " + std::string(path);
  ::unlink(path);
  return out;
}

TEST(ShellLook, DoesNotCountTheShellOrItsParent) {
  // The shell holds its own output, and so does its parent, which reads it (sshd): neither is a
  // writer the command left behind, but once the pid counter comes round to their pids they are
  // in the range the look covers. (That retired every shell each time it did.) With both looks.
  if (!fj::testing::succeeds("unshare --pid --fork --mount-proc true 2>/dev/null")) {
    GTEST_SKIP() << "needs a pid namespace of its own (root)";
  }
  for (const std::string& builtin : {std::string(), std::string(FJ_SHELL_BUILTIN_PATH)}) {
    EXPECT_EQ(shell_look_round_the_counter(builtin), "spans\n0 k\nsame-shell\n")
        << (builtin.empty() ? "bash look" : "builtin look");
  }
}

TEST(ShellBuiltin, RefusesBadArguments) {
  EXPECT_EQ(run_with_builtin("fj_holders; echo $?; fj_holders x; echo $?; fj_holders 0; echo $?; "
                             "fj_holders 1 2; echo $?"),
            "2\n2\n2\n2\n");
}

}  // namespace
