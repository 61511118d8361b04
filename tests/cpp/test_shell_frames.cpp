// The persistent shell's framing, without a server: what the client cuts out of a stream, fed
// the way the network delivers it (in pieces of any size).
#include <gtest/gtest.h>

#include <string>

#include "remote/shell_frames.hpp"

namespace {

/// Feeds `stream` in pieces of `piece` bytes.
fj::FramedStream feed(const std::string& marker, bool acknowledged, const std::string& stream,
                      std::size_t piece) {
  fj::FramedStream s(marker, acknowledged);
  for (std::size_t i = 0; i < stream.size(); i += piece) {
    const std::string part = stream.substr(i, piece);
    s.append(part.data(), part.size());
  }
  return s;
}

const std::string kMarker = "fj0123456789abcdef0123456789abcdef";

TEST(ShellFrames, CutsTheFrameWhateverThePieces) {
  for (std::size_t piece : {1u, 2u, 5u, 7u, 64u, 4096u}) {
    auto s = feed(kMarker, true, "hello\n" + kMarker + " 3 k\n", piece);
    ASSERT_TRUE(s.framed()) << piece;
    EXPECT_EQ(s.status(), 3);
    EXPECT_FALSE(s.retiring());
    EXPECT_EQ(s.text(), "hello\n") << piece;
    EXPECT_EQ(s.trailing(), 0u);
  }
}

TEST(ShellFrames, OutputWithoutTrailingNewlineIsKeptExactly) {
  auto s = feed(kMarker, true, "no newline" + kMarker + " 0 k\n", 3);
  ASSERT_TRUE(s.framed());
  EXPECT_EQ(s.text(), "no newline");
  auto empty = feed(kMarker, true, kMarker + " 0 k\n", 1);
  ASSERT_TRUE(empty.framed());
  EXPECT_EQ(empty.text(), "");
}

TEST(ShellFrames, AcknowledgementIsCutAndGivesTheShellPid) {
  auto s = feed(kMarker, false, kMarker + "+4242\nout\n" + kMarker + " 1 k\n", 4);
  EXPECT_TRUE(s.acknowledged());
  EXPECT_EQ(s.shell_pid(), 4242);
  ASSERT_TRUE(s.framed());
  EXPECT_EQ(s.text(), "out\n");
  // Before the acknowledgement nothing is a frame.
  auto early = feed(kMarker, false, kMarker + " 0 k\n", 1);
  EXPECT_FALSE(early.framed());
  EXPECT_FALSE(early.acknowledged());
}

TEST(ShellFrames, OtherMarkersAndPartialFramesAreOutput) {
  const std::string other = "fjffffffffffffffffffffffffffffffff";
  const std::string body = other + " 0 k\n" + kMarker + "\n" + kMarker + "x 0 k\n" +
                           kMarker.substr(0, 20) + " 0 k\n" + kMarker.substr(1) + " 0 k\n";
  auto s = feed(kMarker, true, body + kMarker + " 7 k\n", 3);
  ASSERT_TRUE(s.framed());
  EXPECT_EQ(s.status(), 7);
  EXPECT_EQ(s.text(), body);
}

TEST(ShellFrames, RetiringShellMayStillSendOutput) {
  auto s = feed(kMarker, true, "a\n" + kMarker + " 0 r\nlate\n", 2);
  ASSERT_TRUE(s.framed());
  EXPECT_TRUE(s.retiring());
  EXPECT_EQ(s.trailing(), 5u);
  EXPECT_EQ(s.text(), "a\nlate\n");
}

TEST(ShellFrames, GarbledFrameIsNotAStatus) {
  auto s = feed(kMarker, true, kMarker + " x k\n", 64);
  ASSERT_TRUE(s.framed());
  EXPECT_EQ(s.status(), -1);
  EXPECT_TRUE(s.retiring());
}

TEST(ShellFrames, RequestCarriesLengthMarkerAndScript) {
  EXPECT_EQ(fj::frame_request("m", "echo 'a\nb'"), "0000000012m\necho 'a\nb'");
  const std::string a = fj::new_frame_marker();
  const std::string b = fj::new_frame_marker();
  EXPECT_NE(a, b);
  EXPECT_EQ(a.size(), 34u);
  EXPECT_EQ(a.find_first_not_of("fj0123456789abcdef"), std::string::npos);
}

}  // namespace
