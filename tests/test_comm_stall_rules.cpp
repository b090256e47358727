// The stall watchdog's verdicts without MPI: rank 0 names the ranks that did not arrive or fell
// silent inside the collective (with their hosts, at most eight by name), or says that all are
// there; another rank names rank 0 when it falls silent, and gives up after the grace period
// when rank 0 is in but nothing completes. And the progress guard's clock: "still here" while
// rank 0 makes progress, the end of a rank stuck outside MPI, and no verdict across a SIGSTOP.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "stall_rules.hpp"

namespace fmnist {
namespace {

const std::vector<std::string> kHosts = {"node1", "node2", "node3", "node3"};

TEST(LateRanks, AreThoseBehindTheCollectiveOrSilent) {
  const std::vector<double> recent = {0, 100, 100, 100};
  EXPECT_EQ(late_ranks({9, 5, 4, 5}, recent, 5, 101, 5), (std::vector<int>{2}));
  EXPECT_EQ(late_ranks({0, 5, 5, 6}, recent, 5, 101, 5), (std::vector<int>{}));
  EXPECT_EQ(late_ranks({0, 0, 0}, {0, 100, 100}, 1, 101, 5), (std::vector<int>{1, 2}));  // rank 0 is ignored
  // Arrived, then silent for the silence limit: frozen inside the collective.
  EXPECT_EQ(late_ranks({0, 5, 5, 5}, {0, 100, 94, 96}, 5, 101, 5), (std::vector<int>{2, 3}));
}

TEST(StallRules, RootWaitsUntilTheTimeout) {
  const StallRules rules(0, kHosts, 30, 5);
  const std::vector<double> heard = {0, 129, 99, 129};
  EXPECT_EQ(rules.root_verdict(129.9, 100, {0, 1, 0, 1}, heard, 1, "at step 7 (epoch 1)"), "");
  EXPECT_EQ(rules.root_verdict(130.2, 100, {0, 1, 0, 1}, heard, 1, "at step 7 (epoch 1)"),
            "rank 0: no word from rank 2 (node3) for 30 s at step 7 (epoch 1); aborting");
  EXPECT_EQ(rules.word_interval(), 7.5);
}

TEST(StallRules, RootNamesEveryLateRankAndTheirHosts) {
  const StallRules rules(0, kHosts, 10, 5);
  EXPECT_EQ(rules.root_verdict(11, 0, {0, 3, 2, 2}, {0, 10, 0, 0}, 3, "at step 1234 (epoch 15)"),
            "rank 0: no word from rank 2 (node3), rank 3 (node3) for 11 s at step 1234 (epoch 15); aborting");
}

TEST(StallRules, RootNamesARankFrozenInsideTheCollective) {
  // Rank 2 arrived at collective 4 and has said nothing for 7 s since; the others keep talking.
  const StallRules rules(0, kHosts, 10, 5);
  EXPECT_EQ(rules.root_verdict(10, 0, {0, 4, 4, 4}, {0, 9.9, 3, 9.8}, 4, "at step 41 (epoch 3)"),
            "rank 0: no word from rank 2 (node3) for 7 s at step 41 (epoch 3); aborting");
}

TEST(StallRules, RootNamesAtMostEight) {
  std::vector<std::string> hosts;
  for (int r = 0; r < 12; ++r) {
    std::string host = "n";
    host += std::to_string(r);
    hosts.push_back(host);
  }
  const StallRules rules(0, hosts, 10, 5);
  const std::string m =
      rules.root_verdict(10, 0, std::vector<std::int64_t>(12, 0), std::vector<double>(12, 0), 1, "at step 1 (epoch 1)");
  EXPECT_NE(m.find("rank 8 (n8) and 3 more for 10 s"), std::string::npos) << m;
  EXPECT_EQ(m.find("rank 9 "), std::string::npos) << m;
}

TEST(StallRules, RootSaysWhenEveryoneIsThereButNothingCompleted) {
  const StallRules rules(0, kHosts, 10, 5);
  const std::string m = rules.root_verdict(10, 0, {0, 4, 4, 4}, {0, 9, 9.5, 8}, 4, "at step 3 (epoch 2)");
  EXPECT_EQ(m, "rank 0: every rank arrived, but the collective at step 3 (epoch 2) has not completed for 10 s "
               "(a network fault between ranks?); aborting");
}

TEST(StallRules, MemberNamesASilentRankZero) {
  const StallRules rules(2, kHosts, 10, 5);
  EXPECT_EQ(rules.member_verdict(9.9, -1, "at step 5 (epoch 1)"), "");
  EXPECT_EQ(rules.member_verdict(10, -1, "at step 5 (epoch 1)"),
            "rank 2: no word from rank 0 (node1) for 10 s at step 5 (epoch 1); aborting");
  // Silence counts even when rank 0 had entered the collective.
  EXPECT_NE(rules.member_verdict(12, 12, "at step 5 (epoch 1)").find("no word from rank 0 (node1) for 12 s"),
            std::string::npos);
}

TEST(StallRules, MemberWaitsTheGraceForRankZerosVerdict) {
  const StallRules rules(1, kHosts, 10, 5);
  // Rank 0 keeps talking and is in the collective: its own verdict is due at 10 s; wait 5 more.
  EXPECT_EQ(rules.member_verdict(1, 14.9, "at step 5 (epoch 1)"), "");
  EXPECT_EQ(rules.member_verdict(1, 15, "at step 5 (epoch 1)"),
            "rank 1: rank 0 (node1) arrived, but the collective at step 5 (epoch 1) has not completed for 15 s; aborting");
  // Rank 0 talking but not in the collective (evaluating alone): no limit.
  EXPECT_EQ(rules.member_verdict(1, -1, "at step 5 (epoch 1)"), "");
}

TEST(StallRules, SeveralHosts) {
  EXPECT_TRUE(StallRules(0, kHosts, 10, 5).several_hosts());
  EXPECT_FALSE(StallRules(0, {"vm", "vm", "vm"}, 10, 5).several_hosts());
}

TEST(StallRules, UnknownRankHasAPlaceholderHost) {
  const StallRules rules(0, {"a"}, 10, 5);
  EXPECT_EQ(rules.name(3), "rank 3 (host unknown)");
}

TEST(StallRules, HostsArriveOneByOne) {
  StallRules rules(0, {"a"}, 10, 5);
  EXPECT_EQ(rules.name(2), "rank 2 (host unknown)");
  EXPECT_FALSE(rules.several_hosts());
  rules.set_host(2, "b");
  EXPECT_EQ(rules.name(2), "rank 2 (b)");
  EXPECT_EQ(rules.name(1), "rank 1 (host unknown)");
  EXPECT_TRUE(rules.several_hosts());
  rules.set_timeout(20);
  EXPECT_EQ(rules.root_verdict(19, 0, {0, 0, 0}, {0, 0, 0}, 1, "in the start-up check of the options"), "");
  EXPECT_EQ(rules.root_verdict(20, 0, {0, 0, 0}, {0, 0, 0}, 1, "in the start-up check of the options"),
            "rank 0: no word from rank 1 (host unknown), rank 2 (b) for 20 s in the start-up check of the options; "
            "aborting");
}

// Looks every 0.1 s from t0 to t1; `moved` says whether the main thread used CPU time at each.
template <typename Moved>
void look_until(ProgressRules& rules, double t0, double t1, Moved moved) {
  for (int i = 0; t0 + i * ProgressRules::kLookEvery <= t1 + 1e-9; ++i) {
    const double t = t0 + i * ProgressRules::kLookEvery;
    rules.look(t, moved(t));
  }
}

TEST(ProgressRules, AHungRankEndsAfterTheOthersTimeOut) {
  ProgressRules rules(100);
  look_until(rules, 100, 110, [](double) { return true; });  // working
  EXPECT_FALSE(rules.hung(110, 10));
  look_until(rules, 110.1, 127.4, [](double) { return false; });  // a read that never returns
  EXPECT_FALSE(rules.hung(127.4, 10));  // 17.4 s < 1.25 x 10 + 5
  rules.look(127.6, false);
  EXPECT_TRUE(rules.hung(127.6, 10));
  EXPECT_DOUBLE_EQ(ProgressRules::hang_limit(10), 17.5);
  EXPECT_GT(ProgressRules::hang_limit(10), 10 + 10 / 4.0);  // after the others' verdict on rank 0
  EXPECT_FALSE(rules.hung(127.6, 0));  // --stall-timeout 0: off
}

TEST(ProgressRules, RankZeroSaysStillHereOnlyWhileItMoves) {
  ProgressRules rules(0);
  // A slow write: blocked, with a little progress every half second.
  look_until(rules, 0, 30, [](double t) { return std::fmod(t + 1e-6, 0.5) < 0.1; });
  EXPECT_TRUE(rules.keep_alive(30, 10));
  EXPECT_FALSE(rules.hung(30, 10));
  look_until(rules, 30.1, 32.4, [](double) { return false; });
  EXPECT_TRUE(rules.keep_alive(32.4, 10));  // 2.4 s still < 10 / 4
  look_until(rules, 32.5, 33, [](double) { return false; });
  EXPECT_FALSE(rules.keep_alive(33, 10));
  EXPECT_FALSE(rules.keep_alive(30, 0));
}

TEST(ProgressRules, AStoppedProcessCountsFromItsContinue) {
  ProgressRules rules(0);
  rules.look(0.1, false);
  rules.look(60, false);  // SIGSTOP for a minute, then SIGCONT: this look came late
  EXPECT_FALSE(rules.hung(60, 10));
  EXPECT_TRUE(rules.keep_alive(60, 10));
  look_until(rules, 60.1, 77.4, [](double) { return false; });
  EXPECT_FALSE(rules.hung(77.4, 10));
  look_until(rules, 77.5, 77.7, [](double) { return false; });
  EXPECT_TRUE(rules.hung(77.7, 10));
}

}  // namespace
}  // namespace fmnist
