#include "modules/common/fused_adam.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/util/C++17.h>
#include <torch/csrc/autograd/variable.h>
#include <torch/optim/adam.h>
#include <torch/utils.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <typeinfo>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define ENGRAM_FUSED_ADAM_AVX2 1
#endif

namespace engram {
namespace {

// The scalars of one parameter's step, as torch's kernels see them: every double option is
// rounded to float once (a Scalar applied to a float tensor), the bias corrections are
// computed in double first.
struct Coefficients {
  float beta1, one_minus_beta1;      // exp_avg.mul_(beta1).add_(grad, 1 - beta1)
  float beta2, one_minus_beta2;      // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2)
  float sqrt_bias_correction2, eps;  // denom = sqrt(exp_avg_sq) / sqrt(bc2) + eps
  float neg_step_size;               // p.addcdiv_(exp_avg, denom, -lr / bc1)
  float weight_decay;                // grad + weight_decay * p
};

// Element i of the update, in the operation order of torch's CPU kernels (add with alpha and
// addcmul fused multiply-adds as in their vectorised paths, then sqrt, divide, add, and
// p + (step * m) / denom). fma, sqrt and division are correctly rounded, so this scalar form
// and the vector form below give identical bits for every element.
template <bool Decay>
inline void update_one(float& p, float g, float& m, float& v, const Coefficients& c) {
  if (Decay) g = std::fma(p, c.weight_decay, g);
  const float mi = std::fma(g, c.one_minus_beta1, m * c.beta1);
  const float vi = std::fma(c.one_minus_beta2 * g, g, v * c.beta2);
  m = mi;
  v = vi;
  const float denom = std::sqrt(vi) / c.sqrt_bias_correction2 + c.eps;
  p = p + (c.neg_step_size * mi) / denom;
}

template <bool Decay>
void update_portable(float* __restrict p, const float* __restrict g, float* __restrict m,
                     float* __restrict v, int64_t n, const Coefficients& c) {
  for (int64_t i = 0; i < n; ++i) update_one<Decay>(p[i], g[i], m[i], v[i], c);
}

#ifdef ENGRAM_FUSED_ADAM_AVX2
template <bool Decay>
__attribute__((target("avx2,fma"))) void update_avx2(float* __restrict p, const float* __restrict g,
                                                     float* __restrict m, float* __restrict v,
                                                     int64_t n, const Coefficients& c) {
  const __m256 beta1 = _mm256_set1_ps(c.beta1), one_minus_beta1 = _mm256_set1_ps(c.one_minus_beta1);
  const __m256 beta2 = _mm256_set1_ps(c.beta2), one_minus_beta2 = _mm256_set1_ps(c.one_minus_beta2);
  const __m256 sqrt_bc2 = _mm256_set1_ps(c.sqrt_bias_correction2), eps = _mm256_set1_ps(c.eps);
  const __m256 neg_step = _mm256_set1_ps(c.neg_step_size);
  const __m256 decay = _mm256_set1_ps(c.weight_decay);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 param = _mm256_loadu_ps(p + i);
    __m256 grad = _mm256_loadu_ps(g + i);
    if (Decay) grad = _mm256_fmadd_ps(param, decay, grad);
    const __m256 mi =
        _mm256_fmadd_ps(grad, one_minus_beta1, _mm256_mul_ps(_mm256_loadu_ps(m + i), beta1));
    const __m256 vi = _mm256_fmadd_ps(_mm256_mul_ps(one_minus_beta2, grad), grad,
                                      _mm256_mul_ps(_mm256_loadu_ps(v + i), beta2));
    _mm256_storeu_ps(m + i, mi);
    _mm256_storeu_ps(v + i, vi);
    const __m256 denom = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vi), sqrt_bc2), eps);
    param = _mm256_add_ps(param, _mm256_div_ps(_mm256_mul_ps(neg_step, mi), denom));
    _mm256_storeu_ps(p + i, param);
  }
  for (; i < n; ++i) update_one<Decay>(p[i], g[i], m[i], v[i], c);
}

bool cpu_has_avx2_fma() {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
}
#endif

std::atomic<bool> force_portable{false};

void update(float* p, const float* g, float* m, float* v, int64_t n, const Coefficients& c) {
  const bool decay = c.weight_decay != 0.0f;
#ifdef ENGRAM_FUSED_ADAM_AVX2
  if (!force_portable.load(std::memory_order_relaxed) && cpu_has_avx2_fma()) {
    decay ? update_avx2<true>(p, g, m, v, n, c) : update_avx2<false>(p, g, m, v, n, c);
    return;
  }
#endif
  decay ? update_portable<true>(p, g, m, v, n, c) : update_portable<false>(p, g, m, v, n, c);
}

bool plain_float(const at::Tensor& t) {
  return t.defined() && t.device().is_cpu() && t.layout() == at::kStrided &&
         t.scalar_type() == at::kFloat && t.is_contiguous();
}

// torch::optim::Adam's key of a parameter's state.
std::string state_key(const at::Tensor& p) { return c10::guts::to_string(p.unsafeGetTensorImpl()); }

// Elements per intra-op task: large enough that splitting pays off.
constexpr int64_t kGrain = 32768;

}  // namespace

bool fused_adam_applies(const torch::optim::Adam& optimizer) {
  for (const auto& group : optimizer.param_groups()) {
    if (static_cast<const torch::optim::AdamOptions&>(group.options()).amsgrad()) return false;
    for (const at::Tensor& p : group.params()) {
      const at::Tensor& grad = p.grad();
      if (!grad.defined()) continue;
      if (!plain_float(p) || !plain_float(grad) || grad.sizes() != p.sizes()) return false;
      auto it = optimizer.state().find(state_key(p));
      if (it == optimizer.state().end()) continue;
      const auto& s = static_cast<const torch::optim::AdamParamState&>(*it->second);
      for (const at::Tensor* moment : {&s.exp_avg(), &s.exp_avg_sq()}) {
        if (!plain_float(*moment) || moment->sizes() != p.sizes()) return false;
      }
    }
  }
  return true;
}

bool fused_adam_step(torch::optim::Adam& optimizer) {
  if (!fused_adam_applies(optimizer)) {
    optimizer.step();
    return false;
  }
  torch::NoGradGuard no_grad;
  auto& states = optimizer.state();
  for (auto& group : optimizer.param_groups()) {
    const auto& o = static_cast<const torch::optim::AdamOptions&>(group.options());
    const double beta1 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas());
    for (at::Tensor& p : group.params()) {
      const at::Tensor& grad = p.grad();
      if (!grad.defined()) continue;
      const std::string key = state_key(p);
      auto it = states.find(key);
      if (it == states.end()) {
        auto fresh = std::make_unique<torch::optim::AdamParamState>();
        fresh->step(0);
        fresh->exp_avg(at::zeros_like(p, at::MemoryFormat::Preserve));
        fresh->exp_avg_sq(at::zeros_like(p, at::MemoryFormat::Preserve));
        it = states.insert({key, std::move(fresh)}).first;
      }
      auto& s = static_cast<torch::optim::AdamParamState&>(*it->second);
      s.step(s.step() + 1);
      const double bias_correction1 = 1 - std::pow(beta1, s.step());
      const double bias_correction2 = 1 - std::pow(beta2, s.step());
      Coefficients c;
      c.beta1 = static_cast<float>(beta1);
      c.one_minus_beta1 = static_cast<float>(1 - beta1);
      c.beta2 = static_cast<float>(beta2);
      c.one_minus_beta2 = static_cast<float>(1 - beta2);
      c.sqrt_bias_correction2 = static_cast<float>(std::sqrt(bias_correction2));
      c.eps = static_cast<float>(o.eps());
      c.neg_step_size = static_cast<float>(-(o.lr() / bias_correction1));
      c.weight_decay = static_cast<float>(o.weight_decay());

      float* pp = p.data_ptr<float>();
      const float* gp = grad.data_ptr<float>();
      float* mp = s.exp_avg().data_ptr<float>();
      float* vp = s.exp_avg_sq().data_ptr<float>();
      at::parallel_for(0, p.numel(), kGrain, [&](int64_t begin, int64_t end) {
        update(pp + begin, gp + begin, mp + begin, vp + begin, end - begin, c);
      });
      torch::autograd::impl::bump_version(p);
    }
  }
  return true;
}

void set_fused_adam_portable(bool portable) { force_portable.store(portable); }

void apply_optimizer_step(torch::optim::Optimizer& optimizer) {
  // The exact type only: a subclass may have its own step().
  if (typeid(optimizer) == typeid(torch::optim::Adam)) {
    fused_adam_step(static_cast<torch::optim::Adam&>(optimizer));
  } else {
    optimizer.step();
  }
}

}  // namespace engram
