// Latent size from a storage budget (papers/000 appendix B). Every expected (c, l) is worked out
// by hand in the comments; a brute-force search over small ranges checks the optimiser besides.
#include "modules/distill/latent_budget.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace engram {
namespace {

LatentBudget incremental(double budget_bytes, int64_t examples, double rho = 1) {
  LatentBudget b;
  b.budget_bytes = budget_bytes;
  b.examples = examples;
  b.rho = rho;
  b.kind = BudgetKind::incremental;
  return b;
}

LatentBudget total(double budget_bytes, int64_t examples, ParameterModel params) {
  LatentBudget b = incremental(budget_bytes, examples);
  b.kind = BudgetKind::total;
  b.parameters = params;
  return b;
}

LatentSize optimum(const LatentBudget& b) {
  auto r = optimize_latent_size(b);
  REQUIRE_MESSAGE(r.ok(), r.status().to_string());
  return *r;
}

std::string error_of(const LatentBudget& b) {
  auto r = optimize_latent_size(b);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == ErrorCode::invalid_argument);
  return r.status().message();
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("code size and capacity follow eqs. 1 and 2") {
  CHECK(code_bits(168, 2) == 168);  // 6272 / 168 = 37.3x, papers/000 Table 6
  CHECK(code_bits(50, 18) == 250);  // ceil(log2 18) = 5; 6272 / 250 = 25.088x, 001 Table 3
  CHECK(code_bits(620, 3) == 1240);
  CHECK(code_bits(3, 16) == 12);
  CHECK(code_bits(3, 17) == 15);
  CHECK(code_capacity_bits(50, 4) == 100.0);
  CHECK(code_capacity_bits(2, 3) == doctest::Approx(3.169925));  // 2 log2 3 = log2 9
  // 1*(2*3)^2 + 2*(2*3) + 3 = 36 + 12 + 3.
  CHECK(parameter_bits(ParameterModel{1, 2, 3}, 2, 3) == 51.0);
}

TEST_CASE("incremental: exactly 100 bits per stored code gives c=100, l=2") {
  // 1250 bytes = 10000 bits for N = 100 examples, all stored: 100 bits per code. Capacity is at
  // most S_sbe <= 100, reached by every l = 2^b with b | 100 and c = 100 / b (l=2,c=100;
  // l=4,c=50; l=16,c=25; ...). All waste nothing, so the smallest l wins: c = 100, l = 2.
  LatentSize s = optimum(incremental(1250, 100));
  CHECK(s.c == 100);
  CHECK(s.l == 2);
  CHECK(s.capacity_bits == 100.0);
  CHECK(s.bits_per_code == 100);
  CHECK(s.parameter_bits == 0.0);
  CHECK(s.bytes == doctest::Approx(1250));  // 100 codes of 100 bits

  SUBCASE("rho scales the rate: 10 bits per example, 1 in 10 stored -> 100 bits per code") {
    // 1250 bytes for N = 1000 at rho = 0.1: gamma/N = 10 bits, S_sbe <= 10 / 0.1 = 100. The
    // 1e-9 slack keeps c = 100 despite 0.1 not being exact in binary.
    LatentSize r = optimum(incremental(1250, 1000, 0.1));
    CHECK(r.c == 100);
    CHECK(r.l == 2);
    CHECK(r.bytes == doctest::Approx(1250));  // 1000 * 0.1 codes of 100 bits
  }
  SUBCASE("a fractional allowance rounds down: 100.9 bits per code -> c=100") {
    // 1261.25 bytes = 10090 bits over 100 examples.
    LatentSize r = optimum(incremental(1261.25, 100));
    CHECK(r.c == 100);
    CHECK(r.l == 2);
    CHECK(r.bytes == doctest::Approx(1250));
  }
  SUBCASE("one bit short: 99 bits per code -> c=99") {
    LatentSize r = optimum(incremental(1237.5, 100));  // 9900 bits / 100
    CHECK(r.c == 99);
    CHECK(r.l == 2);
  }
}

TEST_CASE("incremental: a cap on c moves the optimum to larger l") {
  SUBCASE("max_c = 50: l=4 (50 x 2 bits = 100) beats l=2 (50 bits)") {
    // 100 bits per code. With c <= 50: l=2 gives 50 bits of capacity, l=3 gives
    // 50 log2 3 = 79.2, l=4 gives 50 * 2 = 100 = the most S_sbe allows. Other ties at 100 need
    // l = 2^b with b | 100, b >= 2: l=4 is the smallest.
    LatentBudget b = incremental(1250, 100);
    b.max_c = 50;
    LatentSize s = optimum(b);
    CHECK(s.c == 50);
    CHECK(s.l == 4);
    CHECK(s.capacity_bits == 100.0);
    CHECK(s.bits_per_code == 100);
  }
  SUBCASE("max_c = 30: l=16 (25 x 4 bits)") {
    // l=8: c = 30 (90 bits) -> capacity 90. l=16: c = 25 -> 100. l = 32: c = 20 -> 100 (tie,
    // larger l). l in 9..15 have 4 bits per variable but less capacity than 16.
    LatentBudget b = incremental(1250, 100);
    b.max_c = 30;
    LatentSize s = optimum(b);
    CHECK(s.c == 25);
    CHECK(s.l == 16);
    CHECK(s.capacity_bits == 100.0);
  }
  SUBCASE("max_l = 3, max_c = 2, 4 bits: c=2, l=3 (log2 9 bits in 4 stored)") {
    // One example, half a byte: 4 bits. l=2: c=2 -> 2 bits. l=3 (2 bits per variable): c=2 ->
    // 2 log2 3 = 3.17 bits. l=3 wins although it wastes 0.83 bits.
    LatentBudget b = incremental(0.5, 1);
    b.max_c = 2;
    b.max_l = 3;
    LatentSize s = optimum(b);
    CHECK(s.c == 2);
    CHECK(s.l == 3);
    CHECK(s.capacity_bits == doctest::Approx(3.169925));
    CHECK(s.bits_per_code == 4);
    CHECK(s.bytes == doctest::Approx(0.5));
  }
}

TEST_CASE("incremental: C_ve ~ gamma / (N rho) at MNIST scale") {
  // 60000 examples, a tenth of their 6272 bits each: 627.2 bits per code -> c = 627, l = 2.
  LatentSize s = optimum(incremental(60000.0 * 6272 / 8 / 10, 60000));
  CHECK(s.c == 627);
  CHECK(s.l == 2);
  CHECK(s.capacity_bits == doctest::Approx(60000.0 * 6272 / 10 / 60000).epsilon(0.001));
}

TEST_CASE("total: the parameters eat the budget") {
  SUBCASE("|theta| = (cl)^2 bits: c=39, l=2 where the incremental budget gave c=100") {
    // N = 100, rho = 1, gamma = 10000 bits; constraint 100 * c * ceil(log2 l) + (c*l)^2 <= 10000.
    //   l=2: 100c + 4c^2:  c=39 -> 3900 + 6084 = 9984 ok; c=40 -> 10400. capacity 39.
    //   l=3: 200c + 9c^2:  c=24 -> 9984 ok; c=25 -> 10625. capacity 24 log2 3 = 38.04.
    //   l=4: 200c + 16c^2: c=19 -> 9576 ok; c=20 -> 10400. capacity 38.
    //   l=5: 300c + 25c^2: c=14 -> 9100 ok; c=15 -> 10125. capacity 32.5. Larger l: less.
    LatentSize s = optimum(total(1250, 100, ParameterModel{1, 0, 0}));
    CHECK(s.c == 39);
    CHECK(s.l == 2);
    CHECK(s.capacity_bits == 39.0);
    CHECK(s.bits_per_code == 39);
    CHECK(s.parameter_bits == 6084.0);  // (39 * 2)^2
    CHECK(s.bytes == doctest::Approx(9984.0 / 8));
  }
  SUBCASE("default model (64 bits per (cl)^2): l=2, c=6 ties l=4, c=3 and wins on l") {
    // 100c * ceil(log2 l) + 64 (cl)^2 <= 10000:
    //   l=2: 100c + 256c^2:  c=6 -> 600 + 9216 = 9816 ok; c=7 -> 13244. capacity 6.
    //   l=3: 200c + 576c^2:  c=3 -> 5784 ok; c=4 -> 10016. capacity 4.75.
    //   l=4: 200c + 1024c^2: c=3 -> 600 + 9216 = 9816 ok. capacity 6: a tie, no waste either.
    //   l=8: 300c + 4096c^2: c=1 -> 4396 ok; c=2 -> 16984. capacity 3.
    // The tie goes to the smaller l.
    LatentSize s = optimum(total(1250, 100, ParameterModel{}));
    CHECK(s.c == 6);
    CHECK(s.l == 2);
    CHECK(s.capacity_bits == 6.0);
    CHECK(s.parameter_bits == 9216.0);
    CHECK(s.bytes == doctest::Approx(9816.0 / 8));
  }
  SUBCASE("a fixed 9000-bit model leaves 1000 bits: c=7, l=2") {
    // 100c * ceil(log2 l) + (cl)^2 + 9000 <= 10000:
    //   l=2: 100c + 4c^2 <= 1000: c=7 -> 896 ok; c=8 -> 1056. capacity 7.
    //   l=3: 200c + 9c^2: c=4 -> 944 ok. capacity 6.34. l=4: c=3 -> 744 ok; c=4 -> 1056. 6.
    LatentSize s = optimum(total(1250, 100, ParameterModel{1, 0, 9000}));
    CHECK(s.c == 7);
    CHECK(s.l == 2);
    CHECK(s.parameter_bits == 9196.0);  // 196 + 9000
    CHECK(s.bytes == doctest::Approx(9896.0 / 8));
  }
  SUBCASE("a 9900-bit model leaves 100 bits: not even c=1, l=2 fits") {
    // c=1, l=2: 100 bits of codes + 4 + 9900 of parameters = 10004 > 10000.
    const std::string message = error_of(total(1250, 100, ParameterModel{1, 0, 9900}));
    CAPTURE(message);
    CHECK(contains(message, "total budget"));
    CHECK(contains(message, "9904"));  // bits of parameters of the smallest code
    // The same budget counted incrementally still affords c = 100.
    CHECK(optimum(incremental(1250, 100)).c == 100);
  }
}

TEST_CASE("the optimum matches a brute-force search over small ranges") {
  for (int kind = 0; kind < 2; ++kind) {
    for (double bytes : {0.125, 0.5, 1.0, 3.0, 7.5, 20.0, 64.0, 300.0}) {
      for (double rho : {1.0, 0.5, 0.3}) {
        LatentBudget b = incremental(bytes, 3, rho);
        b.kind = kind == 0 ? BudgetKind::incremental : BudgetKind::total;
        b.parameters = ParameterModel{0.05, 0.5, 1};
        b.max_c = 40;
        b.max_l = 40;
        CAPTURE(kind);
        CAPTURE(bytes);
        CAPTURE(rho);
        double best = -1;
        for (int64_t c = 1; c <= b.max_c; ++c) {
          for (int64_t l = 2; l <= b.max_l; ++l) {
            double used =
                3 * rho *
                static_cast<double>(
                    c * static_cast<int64_t>(std::ceil(std::log2(static_cast<double>(l)))));
            if (kind == 1) used += 0.05 * double(c * l) * double(c * l) + 0.5 * double(c * l) + 1;
            if (used <= 8 * bytes * (1 + 1e-9))
              best = std::max(best, static_cast<double>(c) * std::log2(static_cast<double>(l)));
          }
        }
        auto r = optimize_latent_size(b);
        if (best < 0) {
          CHECK_FALSE(r.ok());
          continue;
        }
        REQUIRE_MESSAGE(r.ok(), r.status().to_string());
        CHECK(r->capacity_bits == doctest::Approx(best));
        CHECK(r->bytes <= bytes * (1 + 1e-9));
      }
    }
  }
}

TEST_CASE("bad input is refused with a message naming the field") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  for (double bytes : {0.0, -1.0, nan, inf}) {
    CAPTURE(bytes);
    CHECK(contains(error_of(incremental(bytes, 100)), "budget_bytes"));
  }
  for (double rho : {0.0, -0.1, 1.5, nan}) {
    CAPTURE(rho);
    CHECK(contains(error_of(incremental(1250, 100, rho)), "rho"));
  }
  for (int64_t n : {int64_t{0}, int64_t{-5}})
    CHECK(contains(error_of(incremental(1250, n)), "examples"));
  LatentBudget b = incremental(1250, 100);
  b.max_c = 0;
  CHECK(contains(error_of(b), "max_c"));
  b = incremental(1250, 100);
  b.max_l = 1;
  CHECK(contains(error_of(b), "max_l"));
  b.max_l = (int64_t{1} << 24) + 1;
  CHECK(contains(error_of(b), "max_l"));
  b = total(1250, 100, ParameterModel{-1, 0, 0});
  CHECK(contains(error_of(b), "parameter model"));
  b = total(1250, 100, ParameterModel{1, nan, 0});
  CHECK(contains(error_of(b), "parameter model"));

  SUBCASE("a budget below one bit per stored code") {
    // 1 byte over 100 examples is 0.08 bits per code.
    const std::string message = error_of(incremental(1, 100));
    CAPTURE(message);
    CHECK(contains(message, "0.08 bits"));
    CHECK(contains(message, "c=1, l=2"));
  }
  SUBCASE("budget kind names") {
    CHECK(parse_budget_kind("incremental").value() == BudgetKind::incremental);
    CHECK(parse_budget_kind("total").value() == BudgetKind::total);
    CHECK(std::string(budget_kind_name(BudgetKind::total)) == "total");
    auto r = parse_budget_kind("overall");
    REQUIRE_FALSE(r.ok());
    CHECK(contains(r.status().message(), "overall"));
  }
}

}  // namespace engram
