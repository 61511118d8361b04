#include <gtest/gtest.h>

#include "nemesis/grudge.hpp"

namespace {
const std::vector<std::string> kFive = {"n1", "n2", "n3", "n4", "n5"};

/// Can a send b a packet under this grudge (b does not drop a)?
bool hears(const fj::Grudge& g, const std::string& b, const std::string& a) {
  auto it = g.find(b);
  return it == g.end() || !it->second.count(a);
}
}  // namespace

TEST(Grudge, BisectSplitsFloorHalf) {
  auto c = fj::bisect(kFive);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0], (std::vector<std::string>{"n1", "n2"}));
  EXPECT_EQ(c[1], (std::vector<std::string>{"n3", "n4", "n5"}));
}

TEST(Grudge, CompleteGrudgeCutsAcrossComponentsOnly) {
  auto g = fj::complete_grudge(fj::bisect(kFive));
  EXPECT_FALSE(hears(g, "n1", "n3"));
  EXPECT_FALSE(hears(g, "n5", "n2"));
  EXPECT_TRUE(hears(g, "n1", "n2"));
  EXPECT_TRUE(hears(g, "n3", "n5"));
}

TEST(Grudge, SplitOneIsolatesTheLoner) {
  auto g = fj::complete_grudge(fj::split_one(kFive, "n4"));
  for (const auto& n : kFive) {
    if (n == "n4") continue;
    EXPECT_FALSE(hears(g, "n4", n));
    EXPECT_FALSE(hears(g, n, "n4"));
  }
  EXPECT_TRUE(hears(g, "n1", "n5"));
  EXPECT_THROW(fj::split_one(kFive, "n9"), std::invalid_argument);
}

TEST(Grudge, RandomHalvesIsDeterministicPerSeedAndCoversAllNodes) {
  auto a = fj::random_halves(kFive, 42);
  auto b = fj::random_halves(kFive, 42);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a[0].size() + a[1].size(), kFive.size());
  bool differs = false;
  for (std::uint64_t seed = 0; seed < 20 && !differs; ++seed) {
    differs = fj::random_halves(kFive, seed) != a;
  }
  EXPECT_TRUE(differs) << "the seed has no effect";
}

TEST(Grudge, BridgeNodeSeesBothSides) {
  auto g = fj::bridge(kFive);
  EXPECT_FALSE(hears(g, "n1", "n4"));
  EXPECT_FALSE(hears(g, "n5", "n2"));
  for (const auto& n : kFive) {
    EXPECT_TRUE(hears(g, "n3", n));
    EXPECT_TRUE(hears(g, n, "n3"));
  }
}

TEST(Grudge, MajoritiesRingGivesEveryNodeAMajorityButNoCommonOne) {
  auto g = fj::majorities_ring(kFive, 7);
  std::set<std::set<std::string>> views;
  for (const auto& n : kFive) {
    std::set<std::string> sees;
    for (const auto& m : kFive) {
      if (hears(g, n, m)) sees.insert(m);
    }
    EXPECT_EQ(sees.size(), 3u) << n;
    EXPECT_TRUE(sees.count(n));
    views.insert(sees);
  }
  EXPECT_EQ(views.size(), kFive.size());
}

TEST(Grudge, ValidateNamesTheUnknownNode) {
  fj::Grudge g{{"n1", {"n7"}}};
  try {
    fj::validate_grudge(g, kFive);
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("n7"), std::string::npos);
  }
}
