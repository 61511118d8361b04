// The persistent shell's fj_holders builtin (cpp/remote/shell_builtin.c), loaded into a local
// bash as the shell loads it: what it answers for a process group still running, for a writer
// that left the group, for one that let go of the output, for the shell and its parent, and for
// bad arguments.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "netns_helpers.hpp"

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

TEST(ShellBuiltin, DoesNotCountTheShellOrItsParent) {
  // The shell holds its own output, and so does its parent, which reads it (as sshd reads the
  // persistent shell's): neither is what the look is for. Here the shell's output is a process
  // substitution its parent bash reads itself (a `cat` would be a reader started since), and its
  // fd 4 a file only it has open. Set the pid counter just below the two, so the group leader of
  // the next job gets a lower pid and the processes started after it pass theirs. (Others in that
  // range, as this test's own process, hold none of the shell's files.)
  if (::access("/proc/sys/kernel/ns_last_pid", W_OK) != 0) {
    GTEST_SKIP() << "needs to set the pid counter (root)";
  }
  char script[] = "/tmp/fj-holders-shell-XXXXXX";
  const int fd = ::mkstemp(script);
  ASSERT_GE(fd, 0);
  const std::string text =
      "enable -f " FJ_SHELL_BUILTIN_PATH
      " fj_holders || exit 9\n"
      "t=$(mktemp); exec 4>\"$t\"; rm -f \"$t\"\n"
      "set -m; lo=$$; [ $PPID -lt $lo ] && lo=$PPID\n"
      "p=$((lo - 1)); while [ -e /proc/$p ]; do p=$((p - 1)); done\n"
      "echo $((p - 1)) >/proc/sys/kernel/ns_last_pid; true & j=$!; wait $j\n"
      "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do /bin/true; done\n"
      "[ $j -lt $lo ] && [ $(cat /proc/sys/kernel/ns_last_pid) -gt $$ ] && echo spans\n"
      "fj_holders $j; echo $?\n";
  ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fd);
  std::string out;
  for (int attempt = 0; attempt < 3; ++attempt) {  // another process may take the pids meanwhile
    out = fj::testing::output_of(
        "bash --noprofile --norc -c 'exec 5< <(exec bash --noprofile --norc " +
        std::string(script) +
        "); while IFS= read -r l; do echo \"$l\"; done <&5' </dev/null 2>/dev/null");
    if (out.rfind("spans\n", 0) == 0) break;
  }
  ::unlink(script);
  EXPECT_EQ(out, "spans\n0\n");
}

TEST(ShellBuiltin, RefusesBadArguments) {
  EXPECT_EQ(run_with_builtin("fj_holders; echo $?; fj_holders x; echo $?; fj_holders 0; echo $?; "
                             "fj_holders 1 2; echo $?"),
            "2\n2\n2\n2\n");
}

}  // namespace
