// A local node's paths on the control machine: its own /tmp, /var/tmp and /opt are directories of
// its tree, other nodes' trees are hidden, the rest is the host's.
#include <gtest/gtest.h>

#include <stdexcept>

#include "remote/path_map.hpp"
#include "remote/process_remote.hpp"

namespace fj {
namespace {

// The layout local.py gives n1 when the state home is under /tmp (as in the pytest suite): the
// node's root is bound back at its own path over its /tmp, so the longest prefix must win.
PathMap n1_map() {
  const std::string root = "/tmp/home/nodes/fj/n1";
  return PathMap({{"/tmp", root + "/fs/tmp"},
                  {"/var/tmp", root + "/fs/var-tmp"},
                  {"/opt/", root + "/fs/opt"},
                  {"/tmp/home/nodes/fj", ""},
                  {root, root},
                  {"/tmp/home/shared/fj", "/tmp/home/shared/fj"},
                  {"/etc/hosts", "/etc/netns/fj-n1/hosts"}});
}

TEST(PathMap, BoundDirectoriesAreTheNodesOwnTree) {
  const auto m = n1_map();
  EXPECT_EQ(m.host_path("/tmp/x"), "/tmp/home/nodes/fj/n1/fs/tmp/x");
  EXPECT_EQ(m.host_path("/tmp"), "/tmp/home/nodes/fj/n1/fs/tmp");
  EXPECT_EQ(m.host_path("/var/tmp/a/b"), "/tmp/home/nodes/fj/n1/fs/var-tmp/a/b");
  EXPECT_EQ(m.host_path("/opt/flink/conf"), "/tmp/home/nodes/fj/n1/fs/opt/flink/conf");
  EXPECT_EQ(m.host_path("/etc/hosts"), "/etc/netns/fj-n1/hosts");
}

TEST(PathMap, TheLongestPrefixWinsByWholeComponents) {
  const auto m = n1_map();
  EXPECT_EQ(m.host_path("/tmp/home/nodes/fj/n1/log/a.log"), "/tmp/home/nodes/fj/n1/log/a.log");
  EXPECT_EQ(m.host_path("/tmp/home/shared/fj/run/ha"), "/tmp/home/shared/fj/run/ha");
  // Not under /tmp, /opt or /etc/hosts: a prefix of the name is not a prefix of the path.
  EXPECT_EQ(m.host_path("/tmpfoo/x"), "/tmpfoo/x");
  EXPECT_EQ(m.host_path("/optional"), "/optional");
  EXPECT_EQ(m.host_path("/etc/hosts.allow"), "/etc/hosts.allow");
  EXPECT_EQ(m.host_path("/usr/bin/java"), "/usr/bin/java");
}

TEST(PathMap, PathsAreNormalisedFirst) {
  const auto m = n1_map();
  EXPECT_EQ(m.host_path("//tmp/./a//b/"), "/tmp/home/nodes/fj/n1/fs/tmp/a/b");
  EXPECT_EQ(m.host_path("/opt/../tmp/y"), "/tmp/home/nodes/fj/n1/fs/tmp/y");
  EXPECT_EQ(m.host_path("/tmp/../etc/passwd"), "/etc/passwd");
  EXPECT_EQ(m.host_path("/../../tmp/z"), "/tmp/home/nodes/fj/n1/fs/tmp/z");
}

TEST(PathMap, HiddenAndRelativePathsAreErrors) {
  const auto m = n1_map();
  try {
    m.host_path("/tmp/home/nodes/fj/n2/log/x");
    FAIL() << "another node's tree must be hidden";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(),
                 "/tmp/home/nodes/fj/n2/log/x is not visible on this node "
                 "(/tmp/home/nodes/fj is hidden from it)");
  }
  EXPECT_THROW(m.host_path("/tmp/home/nodes/fj"), std::invalid_argument);
  // A way out of the own tree through `..` is normalised before the lookup, so it is hidden too.
  EXPECT_THROW(m.host_path("/tmp/home/nodes/fj/n1/../n2/x"), std::invalid_argument);
  EXPECT_THROW(m.host_path("tmp/x"), std::invalid_argument);
  EXPECT_THROW(m.host_path(""), std::invalid_argument);
}

PathMap one(const std::string& node_prefix, const std::string& host_prefix) {
  return PathMap(std::vector<PathMap::Entry>{{node_prefix, host_prefix}});
}

TEST(PathMap, TheRootAndAnEmptyMap) {
  EXPECT_EQ(PathMap().host_path("/tmp/x"), "/tmp/x");
  const PathMap everything = one("/", "/srv/n1");
  EXPECT_EQ(everything.host_path("/"), "/srv/n1");
  EXPECT_EQ(everything.host_path("/a/b"), "/srv/n1/a/b");
  const PathMap identity = one("/x", "/");
  EXPECT_EQ(identity.host_path("/x/a"), "/a");
  EXPECT_EQ(identity.host_path("/x"), "/");
  EXPECT_THROW(one("relative", "/x"), std::invalid_argument);
  EXPECT_THROW(one("/x", "relative"), std::invalid_argument);
}

TEST(NetnsRemote, EntersTheMountNamespaceFirstWhenItHasOne) {
  EXPECT_EQ(netns_prefix("fj-n1", "/run/u", ""),
            (std::vector<std::string>{"nsenter", "--uts=/run/u", "ip", "netns", "exec", "fj-n1",
                                      "env", "FJ_NODE=fj-n1"}));
  EXPECT_EQ(netns_prefix("fj-n1", "/run/u", "/run/m"),
            (std::vector<std::string>{"nsenter", "--mount=/run/m", "--uts=/run/u", "ip", "netns",
                                      "exec", "fj-n1", "env", "FJ_NODE=fj-n1"}));
}

TEST(NetnsRemote, HostPathOfAHiddenPathIsAConnectionErrorNamingTheNode) {
  NetnsRemote r("n1", "fj-n1", "/proc/self/ns/uts", "", n1_map());
  EXPECT_EQ(r.host_path("/tmp/x"), "/tmp/home/nodes/fj/n1/fs/tmp/x");
  try {
    r.host_path("/tmp/home/nodes/fj/n2");
    FAIL() << "another node's tree must be hidden";
  } catch (const ConnectionError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("n1: /tmp/home/nodes/fj/n2 is not visible", 0), 0u)
        << e.what();
  }
  EXPECT_THROW(r.upload("/etc/hostname", "/tmp/home/nodes/fj/n3/x"), ConnectionError);
}

}  // namespace
}  // namespace fj
