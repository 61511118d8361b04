#include <gtest/gtest.h>

#include <stdexcept>

#include "nemesis/shapes.hpp"

using nlohmann::json;

namespace {
const std::vector<std::string> kFive = {"n1", "n2", "n3", "n4", "n5"};
const json kFiveJson = kFive;
}  // namespace

TEST(Shapes, HalvesInTheGivenOrder) {
  auto p = fj::plan_partition({{"shape", "halves"}, {"nodes", kFiveJson}}, kFive);
  EXPECT_EQ(p.grudge, fj::complete_grudge({{"n1", "n2"}, {"n3", "n4", "n5"}}));
  EXPECT_EQ(p.description, "halves [[n1,n2],[n3,n4,n5]]");
}

TEST(Shapes, RandomHalvesFollowTheSeed) {
  json shape = {{"shape", "random-halves"}, {"nodes", kFiveJson}, {"seed", 42}};
  auto p = fj::plan_partition(shape, kFive);
  const auto halves = fj::random_halves(kFive, 42);
  EXPECT_EQ(p.grudge, fj::complete_grudge(halves));
  EXPECT_EQ(p.description, "halves " + fj::describe_components(halves));
  // Seeds as Python's getrandbits(63) makes them fit.
  shape["seed"] = std::uint64_t{0x7fffffffffffffff};
  EXPECT_NO_THROW(fj::plan_partition(shape, kFive));
}

TEST(Shapes, OneBridgeRingComponentsGrudge) {
  auto one = fj::plan_partition({{"shape", "one"}, {"nodes", kFiveJson}, {"loner", "n2"}}, kFive);
  EXPECT_EQ(one.grudge, fj::complete_grudge(fj::split_one(kFive, "n2")));
  EXPECT_EQ(one.description, "n2 alone");

  auto bridge = fj::plan_partition({{"shape", "bridge"}, {"nodes", kFiveJson}}, kFive);
  EXPECT_EQ(bridge.grudge, fj::bridge(kFive));
  EXPECT_EQ(bridge.description, "bridge n3 between [n1,n2] and [n4,n5]");

  auto ring =
      fj::plan_partition({{"shape", "majorities-ring"}, {"nodes", kFiveJson}, {"seed", 3}}, kFive);
  EXPECT_EQ(ring.grudge, fj::majorities_ring(kFive, 3));

  auto comps =
      fj::plan_partition({{"shape", "components"}, {"components", {{"n1"}, {"n2", "n3"}}}}, kFive);
  EXPECT_EQ(comps.grudge, fj::complete_grudge({{"n1"}, {"n2", "n3"}}));
  EXPECT_EQ(comps.description, "components [[n1],[n2,n3]]");

  auto g = fj::plan_partition(
      {{"shape", "grudge"}, {"grudge", {{"n1", {"n2"}}}}, {"description", "n1 deaf to n2"}}, kFive);
  EXPECT_EQ(g.grudge, (fj::Grudge{{"n1", {"n2"}}}));
  EXPECT_EQ(g.description, "n1 deaf to n2");
}

TEST(Shapes, BadShapesNameWhatIsWrong) {
  auto message = [](const json& shape) {
    try {
      fj::plan_partition(shape, kFive);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({{"shape", "pentagon"}, {"nodes", kFiveJson}}).find("pentagon"),
            std::string::npos);
  EXPECT_NE(message({{"shape", "halves"}, {"nodes", {"n1", "n9"}}}).find("n9"), std::string::npos);
  EXPECT_NE(message({{"shape", "halves"}, {"nodes", {"n1", "n1"}}}).find("twice"),
            std::string::npos);
  EXPECT_NE(message({{"shape", "random-halves"}, {"nodes", kFiveJson}}).find("seed"),
            std::string::npos);
  EXPECT_NE(message({{"shape", "one"}, {"nodes", {"n1", "n2"}}, {"loner", "n3"}}).find("n3"),
            std::string::npos);
  EXPECT_NE(message({{"shape", "components"}, {"components", {{"n1"}, {"n1", "n2"}}}}).find("n1"),
            std::string::npos);
  EXPECT_NE(message({{"shape", "grudge"}, {"grudge", {{"n1", {"n1"}}}}}).find("n1"),
            std::string::npos);
  EXPECT_NE(message({{"shape", "grudge"}, {"grudge", {{"n7", {"n1"}}}}}).find("n7"),
            std::string::npos);
  EXPECT_NE(message({{"shape", "bridge"}, {"nodes", {"n1", "n2"}}}), "no error");
  EXPECT_NE(message(json::array()), "no error");
  EXPECT_NE(message({{"nodes", kFiveJson}}).find("shape"), std::string::npos);
}

TEST(Shapes, GrudgeAsJsonListsEveryNodeSorted) {
  fj::Grudge g{{"n2", {"n5", "n1"}}, {"n3", {}}};
  EXPECT_EQ(fj::grudge_to_json(g), json({{"n2", {"n1", "n5"}}, {"n3", json::array()}}));
  EXPECT_TRUE(fj::cuts_any_link(g));
  EXPECT_FALSE(fj::cuts_any_link({{"n3", {}}}));
}
