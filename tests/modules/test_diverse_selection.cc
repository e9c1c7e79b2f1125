// Curriculum selection: MSSS (papers/000 appendix D) and hardest(). Expected picks are worked
// out by hand in the comments.
#include "modules/distill/diverse_selection.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace engram {
namespace {

std::vector<size_t> msss(const std::vector<float>& x, size_t d, size_t k, MsssOptions opt = {},
                         std::mt19937_64* rng = nullptr) {
  auto r = select_msss(x.data(), x.size() / d, d, k, opt, rng);
  REQUIRE_MESSAGE(r.ok(), r.status().to_string());
  return *r;
}

std::string msss_error(const std::vector<float>& x, size_t d, size_t k, MsssOptions opt = {},
                       std::mt19937_64* rng = nullptr) {
  auto r = select_msss(x.data(), d == 0 ? 0 : x.size() / d, d, k, opt, rng);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == ErrorCode::invalid_argument);
  return r.status().message();
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// 4 clusters of 3 near-duplicates in 8 dimensions: cluster c lies along axis c with a length of
// 1, 1.05 or 1.1 and +-0.02 on the other axes. Candidates are listed in a scrambled order;
// cluster_of[i] names candidate i's cluster.
struct Clusters {
  static constexpr size_t d = 8;
  std::vector<float> x;
  std::vector<int> cluster_of;
};

Clusters make_clusters() {
  const int order[12] = {0, 0, 1, 2, 3, 1, 2, 0, 3, 3, 1, 2};  // cluster of each candidate
  Clusters out;
  int seen[4] = {0, 0, 0, 0};
  for (size_t i = 0; i < 12; ++i) {
    const int c = order[i];
    for (size_t j = 0; j < Clusters::d; ++j) {
      const float noise = ((i * 7 + j * 3) % 5 < 2) ? 0.02f : -0.02f;
      out.x.push_back(static_cast<int>(j) == c ? 1.0f + 0.05f * static_cast<float>(seen[c])
                                               : noise);
    }
    ++seen[c];
    out.cluster_of.push_back(c);
  }
  return out;
}

// The smallest sum of squared similarities over the k-subsets of the candidates that leave out
// at least one cluster (so hold two near-duplicates).
double best_missing_a_cluster(const Clusters& cl, size_t k) {
  const size_t m = cl.cluster_of.size();
  double best = std::numeric_limits<double>::infinity();
  std::vector<bool> pick(m, false);
  std::fill(pick.begin(), pick.begin() + static_cast<std::ptrdiff_t>(k), true);
  do {
    std::vector<size_t> idx;
    std::set<int> clusters;
    for (size_t i = 0; i < m; ++i) {
      if (!pick[i]) continue;
      idx.push_back(i);
      clusters.insert(cl.cluster_of[i]);
    }
    if (clusters.size() < 4)
      best = std::min(best, sum_squared_similarities(cl.x.data(), Clusters::d, idx));
  } while (std::prev_permutation(pick.begin(), pick.end()));
  return best;
}

}  // namespace

TEST_CASE("msss: a hand-worked greedy run in 2-d") {
  // x0 = (1,0), x1 = (0.9,0.1), x2 = (0,1), x3 = (0.6,0.6); start = 1 takes x0.
  // Step 1, squared dot products with x0: x1 0.81, x2 0, x3 0.36 -> x2.
  // Step 2, plus those with x2: x1 0.81 + 0.01 = 0.82, x3 0.36 + 0.36 = 0.72 -> x3.
  const std::vector<float> x = {1, 0, 0.9f, 0.1f, 0, 1, 0.6f, 0.6f};
  MsssOptions opt;
  opt.start = 1;
  CHECK(msss(x, 2, 3, opt) == std::vector<size_t>{0, 2, 3});
  CHECK(msss(x, 2, 2, opt) == std::vector<size_t>{0, 2});
  // Pairs of {x0, x2, x3}: 0 + 0.36 + 0.36.
  CHECK(sum_squared_similarities(x.data(), 2, {0, 2, 3}) == doctest::Approx(0.72));
  // Algorithm 1's default opens with two candidates: x0 and x1, then x2 (0 + 0.01 = 0.01
  // against x3's 0.36 + 0.36).
  CHECK(msss(x, 2, 3) == std::vector<size_t>{0, 1, 2});
}

TEST_CASE("msss: takes one candidate from each cluster of near-duplicates") {
  const Clusters cl = make_clusters();
  SUBCASE("start = 1") {
    MsssOptions opt;
    opt.start = 1;
    const std::vector<size_t> picked = msss(cl.x, Clusters::d, 4, opt);
    REQUIRE(picked.size() == 4);
    std::set<int> clusters;
    for (size_t i : picked) clusters.insert(cl.cluster_of[i]);
    CHECK(clusters.size() == 4);
    CHECK(picked[0] == 0);
    // Greedy is not the exact optimum (the +-0.02 noise decides among one-per-cluster sets),
    // but it beats every 4-subset that holds two near-duplicates (about 1 each) by far.
    const double sum = sum_squared_similarities(cl.x.data(), Clusters::d, picked);
    CHECK(sum < 0.01);
    CHECK(best_missing_a_cluster(cl, 4) > 0.9);
  }
  SUBCASE("start = 2 opening with two clusters (candidates 1 and 2)") {
    // Drop candidate 0 so the list opens with clusters 0 and 1.
    const std::vector<float> x(cl.x.begin() + Clusters::d, cl.x.end());
    const std::vector<size_t> picked = msss(x, Clusters::d, 4);
    std::set<int> clusters;
    for (size_t i : picked) clusters.insert(cl.cluster_of[i + 1]);
    CHECK(clusters.size() == 4);
  }
  SUBCASE("cosine similarity agrees on unit-ish clusters") {
    MsssOptions opt;
    opt.start = 1;
    opt.cosine = true;
    std::set<int> clusters;
    for (size_t i : msss(cl.x, Clusters::d, 4, opt)) clusters.insert(cl.cluster_of[i]);
    CHECK(clusters.size() == 4);
  }
  SUBCASE("a random subset per step still returns distinct valid indices") {
    MsssOptions opt;
    opt.subset_fraction = 0.25;
    std::mt19937_64 rng(7);
    std::vector<size_t> picked = msss(cl.x, Clusters::d, 8, opt, &rng);
    std::mt19937_64 rng2(7);
    CHECK(msss(cl.x, Clusters::d, 8, opt, &rng2) == picked);  // same seed, same picks
    std::sort(picked.begin(), picked.end());
    CHECK(std::unique(picked.begin(), picked.end()) == picked.end());
    CHECK(picked.back() < 12);
  }
}

TEST_CASE("msss: dot product prefers a short vector, cosine looks at direction only") {
  // x0 = (1,0) opens; x1 = (0.1,0) points the same way but is short; x2 = (0.5,1).
  // Dot: x1 0.01, x2 0.25 -> x1. Cosine: x1 1, x2 0.5^2 / 1.25 = 0.2 -> x2.
  const std::vector<float> x = {1, 0, 0.1f, 0, 0.5f, 1};
  MsssOptions opt;
  opt.start = 1;
  CHECK(msss(x, 2, 2, opt) == std::vector<size_t>{0, 1});
  opt.cosine = true;
  CHECK(msss(x, 2, 2, opt) == std::vector<size_t>{0, 2});
  CHECK(sum_squared_similarities(x.data(), 2, {0, 2}, true) == doctest::Approx(0.2));
}

TEST_CASE("msss: k = m returns every index, k = 0 none, k > m is refused") {
  const Clusters cl = make_clusters();
  std::vector<size_t> all = msss(cl.x, Clusters::d, 12);
  std::sort(all.begin(), all.end());
  for (size_t i = 0; i < 12; ++i) CHECK(all[i] == i);
  CHECK(msss(cl.x, Clusters::d, 0).empty());
  CHECK(msss(cl.x, Clusters::d, 1) == std::vector<size_t>{0});  // k below start
  CHECK(contains(msss_error(cl.x, Clusters::d, 13), "k = 13"));
}

TEST_CASE("msss: bad input is refused") {
  std::vector<float> x = {1, 0, 0, 1, 1, 1};
  CHECK(contains(select_msss(x.data(), 3, 0, 1).status().message(), "d must be"));
  CHECK(contains(select_msss(nullptr, 3, 2, 1).status().message(), "null"));
  MsssOptions opt;
  opt.start = 0;
  CHECK(contains(msss_error(x, 2, 2, opt), "start"));
  opt = MsssOptions{};
  opt.subset_fraction = 0;
  CHECK(contains(msss_error(x, 2, 2, opt), "subset_fraction"));
  opt.subset_fraction = 0.5;
  CHECK(contains(msss_error(x, 2, 2, opt), "rng"));  // no rng given
  x[3] = std::numeric_limits<float>::quiet_NaN();
  CHECK(contains(msss_error(x, 2, 2), "candidate 1"));
}

TEST_CASE("hardest: the highest loss, the first on ties") {
  CHECK(hardest(std::vector<float>{0.1f, 2.5f, 0.3f, 2.5f}).value() == 1);
  CHECK(hardest(std::vector<float>{0.7f}).value() == 0);
  CHECK(hardest(std::vector<float>{-1, -0.5f, -2}).value() == 1);
  const float inf = std::numeric_limits<float>::infinity();
  CHECK(hardest(std::vector<float>{-inf, -1}).value() == 1);
  CHECK(hardest(std::vector<float>{3, inf, 4}).value() == 1);

  auto empty = hardest(std::vector<float>{});
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.status().code() == ErrorCode::invalid_argument);
  auto nan = hardest(std::vector<float>{1, std::numeric_limits<float>::quiet_NaN(), 2});
  REQUIRE_FALSE(nan.ok());
  CHECK(contains(nan.status().message(), "loss 1 is NaN"));
}

}  // namespace engram
