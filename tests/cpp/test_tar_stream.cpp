// The upload stream, checked by the tool that reads it on the nodes: GNU tar extracts exactly
// the files, bytes and modes put in, long paths included; pieces of any size make one archive.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "remote/tar_stream.hpp"

namespace fs = std::filesystem;

namespace {

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class TarStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/fj-tar-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  /// Writes the archive of `members` to a file, read in pieces of `piece` bytes, and extracts
  /// it with the options the nodes use; returns tar's exit status.
  int extract(std::vector<fj::TarMember> members, std::size_t piece) {
    fj::TarStream stream(std::move(members));
    const fs::path archive = dir_ / "a.tar";
    std::ofstream out(archive, std::ios::binary);
    std::vector<char> buf(piece);
    std::size_t n;
    while ((n = stream.read(buf.data(), buf.size())) > 0) out.write(buf.data(), n);
    out.close();
    EXPECT_EQ(fs::file_size(archive) % 512, 0u);
    const std::string cmd =
        "tar -x -m -p -P --no-same-owner -f " + archive.string() + " 2>" + (dir_ / "err").string();
    return std::system(cmd.c_str());
  }

  fs::path dir_;
};

TEST_F(TarStreamTest, GnuTarExtractsBytesModesAndLongPaths) {
  std::mt19937_64 rng{42};
  const std::vector<std::size_t> sizes = {0, 1, 511, 512, 513, 70000};
  const std::vector<unsigned> modes = {0644, 0755, 0600, 0751, 0444, 0700};
  std::vector<fj::TarMember> members;
  std::vector<std::string> contents;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    std::string data(sizes[i], '\0');
    for (auto& c : data) c = static_cast<char>(rng() & 0xff);
    const fs::path local = dir_ / ("src" + std::to_string(i));
    std::ofstream(local, std::ios::binary) << data;
    // Paths of every length class: short, over ustar's 100 bytes, over its 255 with prefix.
    std::string sub = "d" + std::to_string(i);
    for (std::size_t k = 0; k < i * 12; ++k) sub += "/directory-" + std::to_string(k);
    const fs::path remote = dir_ / "out" / sub / ("file-" + std::to_string(i) + ".bin");
    members.push_back({local.string(), remote.string(), data.size(), modes[i]});
    contents.push_back(data);
  }
  ASSERT_GT(members.back().remote_path.size(), 300u);
  for (std::size_t piece : {1u, 7u, 512u, 65536u}) {
    fs::remove_all(dir_ / "out");
    ASSERT_EQ(extract(members, piece), 0) << read_all(dir_ / "err");
    for (std::size_t i = 0; i < members.size(); ++i) {
      const fs::path p = members[i].remote_path;
      ASSERT_TRUE(fs::exists(p)) << p;
      EXPECT_TRUE(read_all(p) == contents[i]) << p << " piece " << piece;
      struct stat st {};
      ASSERT_EQ(::stat(p.c_str(), &st), 0);
      EXPECT_EQ(st.st_mode & 07777, modes[i]) << p;
    }
  }
}

TEST_F(TarStreamTest, ReplacesAFileWithoutWritingThroughItsLinks) {
  const fs::path target = dir_ / "target";
  const fs::path link = dir_ / "link";
  std::ofstream(target) << "old";
  fs::create_hard_link(target, link);
  const fs::path local = dir_ / "new";
  std::ofstream(local) << "new content";
  ASSERT_EQ(extract({{local.string(), target.string(), 11, 0640}}, 4096), 0);
  EXPECT_EQ(read_all(target), "new content");
  EXPECT_EQ(read_all(link), "old");
}

TEST_F(TarStreamTest, ALocalFileThatShrankIsAnError) {
  const fs::path local = dir_ / "short";
  std::ofstream(local) << "abc";
  fj::TarStream stream({{local.string(), (dir_ / "x").string(), 10, 0644}});
  std::vector<char> buf(4096);
  try {
    while (stream.read(buf.data(), buf.size()) > 0) {
    }
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(local.string()), std::string::npos) << e.what();
  }
}

}  // namespace
