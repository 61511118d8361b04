// The persistent shell's fj_holders builtin (cpp/remote/shell_builtin.c), loaded into a local
// bash as the shell loads it: what it answers for a process group still running, for a writer
// that left the group, for one that let go of the output, and for bad arguments.
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

TEST(ShellBuiltin, RefusesBadArguments) {
  EXPECT_EQ(run_with_builtin("fj_holders; echo $?; fj_holders x; echo $?; fj_holders 0; echo $?; "
                             "fj_holders 1 2; echo $?"),
            "2\n2\n2\n2\n");
}

}  // namespace
