// The stall watchdog's verdicts (see stall_rules.hpp): rank 0 names the ranks that did not
// arrive or fell silent while waiting; the others name rank 0 when it falls silent, and give up
// after a grace period when rank 0 is in the collective but neither it nor the collective ends.
// And the progress guard's clock.
#include "stall_rules.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

namespace fmnist {
namespace {

constexpr std::size_t kMostNamed = 8;  // a message names at most this many ranks, then "and N more"

std::string seconds(double s) {
  char text[32];
  std::snprintf(text, sizeof text, "%.0f s", std::floor(s));
  return text;
}

}  // namespace

StallRules::StallRules(int rank, std::vector<std::string> hosts, double timeout, double grace)
    : rank_(rank), hosts_(std::move(hosts)), timeout_(timeout), grace_(grace) {}

void StallRules::set_host(int rank, const std::string& host) {
  if (rank < 0) return;
  if (static_cast<std::size_t>(rank) >= hosts_.size()) hosts_.resize(static_cast<std::size_t>(rank) + 1);
  hosts_[static_cast<std::size_t>(rank)] = host;
}

std::string StallRules::name(int rank) const {
  const bool known = rank >= 0 && static_cast<std::size_t>(rank) < hosts_.size() &&
                     !hosts_[static_cast<std::size_t>(rank)].empty();
  return "rank " + std::to_string(rank) + " (" + (known ? hosts_[static_cast<std::size_t>(rank)] : "host unknown") + ")";
}

bool StallRules::several_hosts() const {
  return std::any_of(hosts_.begin(), hosts_.end(),
                     [&](const std::string& h) { return !h.empty() && h != hosts_.front(); });
}

std::vector<int> late_ranks(const std::vector<std::int64_t>& arrived, const std::vector<double>& heard,
                            std::int64_t seq, double now, double silence) {
  std::vector<int> late;
  for (std::size_t r = 1; r < arrived.size() && r < heard.size(); ++r)
    if (arrived[r] < seq || now - heard[r] >= silence) late.push_back(static_cast<int>(r));
  return late;
}

std::string StallRules::root_verdict(double now, double entered, const std::vector<std::int64_t>& arrived,
                                     const std::vector<double>& heard, std::int64_t seq,
                                     const std::string& where) const {
  if (now - entered < timeout_) return "";
  const std::vector<int> late = late_ranks(arrived, heard, seq, now, timeout_ / 2);
  const std::string prefix = "rank " + std::to_string(rank_) + ": ";
  if (late.empty())
    return prefix + "every rank arrived, but the collective " + where + " has not completed for " +
           seconds(now - entered) + " (a network fault between ranks?); aborting";
  std::string names;
  double silent = now - entered;  // none of the named ranks has said anything for this long
  for (std::size_t i = 0; i < late.size(); ++i) {
    silent = std::min(silent, now - heard[static_cast<std::size_t>(late[i])]);
    if (i < kMostNamed) names += (i ? ", " : "") + name(late[i]);
  }
  if (late.size() > kMostNamed) names += " and " + std::to_string(late.size() - kMostNamed) + " more";
  return prefix + "no word from " + names + " for " + seconds(silent) + " " + where + "; aborting";
}

void ProgressRules::look(double now, bool moved) {
  if (moved || now - last_look_ > kStoppedGap) last_progress_ = now;
  last_look_ = now;
}

std::string StallRules::member_verdict(double silent, double since_root_in, const std::string& where) const {
  const std::string prefix = "rank " + std::to_string(rank_) + ": ";
  if (silent >= timeout_) return prefix + "no word from " + name(0) + " for " + seconds(silent) + " " + where + "; aborting";
  if (since_root_in >= timeout_ + grace_)
    return prefix + name(0) + " arrived, but the collective " + where + " has not completed for " +
           seconds(since_root_in) + "; aborting";
  return "";
}

}  // namespace fmnist
