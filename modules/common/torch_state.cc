#include "modules/common/torch_state.h"

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/optim/adam.h>
#include <torch/utils.h>

#include <cmath>
#include <map>
#include <memory>
#include <vector>

namespace engram {
namespace {

// Name -> tensor of every parameter and buffer, recursively.
std::map<std::string, at::Tensor> tensors_of(const torch::nn::Module& module) {
  std::map<std::string, at::Tensor> out;
  for (const auto& p : module.named_parameters(true)) out.emplace(p.key(), p.value());
  for (const auto& b : module.named_buffers(true)) out.emplace(b.key(), b.value());
  return out;
}

constexpr double kMaxLearningRate = 1000;
constexpr int64_t kMaxSteps = int64_t{1} << 53;

bool all_finite(const at::Tensor& t) {
  return !at::isFloatingType(t.scalar_type()) || t.isfinite().all().item<bool>();
}

Status bad(const std::string& what) { return Status(ErrorCode::malformed, what); }

}  // namespace

void save_module(TensorArchive& archive, const std::string& key, const torch::nn::Module& module) {
  for (const auto& [name, t] : tensors_of(module)) archive.put(key + "/" + name, t);
}

Status load_module(const TensorArchive& archive, const std::string& key,
                   torch::nn::Module& module) {
  return torch_guarded("module '" + key + "'", [&]() -> Status {
    const auto targets = tensors_of(module);
    std::vector<std::pair<at::Tensor, at::Tensor>> copies;  // (destination, checked source)
    for (const auto& [name, t] : targets) {
      auto src = archive.get(key + "/" + name, t.scalar_type(), t.sizes());
      if (!src.ok()) return bad("module '" + key + "': " + src.status().message());
      if (!all_finite(*src)) return bad("module '" + key + "': '" + name + "' is not finite");
      copies.emplace_back(t, *src);
    }
    torch::NoGradGuard no_grad;
    for (auto& [dst, src] : copies) dst.copy_(src);
    return Status();
  });
}

void save_generator(TensorArchive& archive, const std::string& key,
                    const at::Generator& generator) {
  archive.put(key, generator.get_state());
}

Status load_generator(const TensorArchive& archive, const std::string& key,
                      at::Generator& generator) {
  return torch_guarded("generator '" + key + "'", [&]() -> Status {
    // The expected size is the size of a state this generator writes itself.
    const at::Tensor own = generator.get_state();
    auto state = archive.get(key, at::kByte, own.sizes());
    if (!state.ok()) return state.status();
    generator.set_state(*state);
    return Status();
  });
}

void save_adam(TensorArchive& archive, const std::string& key,
               const torch::optim::Adam& optimizer) {
  const auto& groups = optimizer.param_groups();
  for (size_t g = 0; g < groups.size(); ++g) {
    const std::string group = key + "/" + std::to_string(g);
    const auto& o = static_cast<const torch::optim::AdamOptions&>(groups[g].options());
    const auto [beta1, beta2] = o.betas();
    archive.put(group + "/options",
                at::tensor(std::vector<double>{o.lr(), beta1, beta2, o.eps(), o.weight_decay(),
                                               o.amsgrad() ? 1.0 : 0.0},
                           at::kDouble));
    const auto& params = groups[g].params();
    for (size_t i = 0; i < params.size(); ++i) {
      auto it = optimizer.state().find(c10::guts::to_string(params[i].unsafeGetTensorImpl()));
      if (it == optimizer.state().end()) continue;  // no step taken yet
      const auto& s = static_cast<const torch::optim::AdamParamState&>(*it->second);
      const std::string p = group + "/" + std::to_string(i);
      archive.put(p + "/step", at::tensor(std::vector<int64_t>{s.step()}, at::kLong));
      archive.put(p + "/exp_avg", s.exp_avg());
      archive.put(p + "/exp_avg_sq", s.exp_avg_sq());
      if (s.max_exp_avg_sq().defined()) archive.put(p + "/max_exp_avg_sq", s.max_exp_avg_sq());
    }
  }
}

Status load_adam(const TensorArchive& archive, const std::string& key,
                 torch::optim::Adam& optimizer) {
  return torch_guarded("optimizer", [&]() -> Status {
    auto fail = [&](const std::string& what) { return bad("optimizer '" + key + "': " + what); };
    struct Restored {
      std::string slot;
      std::unique_ptr<torch::optim::AdamParamState> state;
    };
    std::vector<Restored> states;
    std::vector<torch::optim::AdamOptions> options;
    auto& groups = optimizer.param_groups();
    for (size_t g = 0; g < groups.size(); ++g) {
      const std::string group = key + "/" + std::to_string(g);
      auto opt = archive.get(group + "/options", at::kDouble, {6});
      if (!opt.ok()) return fail(opt.status().message());
      const double* v = opt->data_ptr<double>();
      for (int k = 0; k < 6; ++k)
        if (!std::isfinite(v[k])) return fail("options are not finite");
      // The learning rate may have been scheduled; everything else comes from the configuration
      // and must match it. lr is bounded so that Adam's step size stays a float.
      if (v[0] <= 0 || v[0] > kMaxLearningRate) return fail("lr out of (0, 1000]");
      const auto& own = static_cast<const torch::optim::AdamOptions&>(groups[g].options());
      if (v[1] != std::get<0>(own.betas()) || v[2] != std::get<1>(own.betas()) ||
          v[3] != own.eps() || v[4] != own.weight_decay() || v[5] != (own.amsgrad() ? 1 : 0)) {
        return fail("betas, eps, weight decay or amsgrad differ from this configuration");
      }
      const bool amsgrad = own.amsgrad();
      options.push_back(torch::optim::AdamOptions(own).lr(v[0]));
      const auto& params = groups[g].params();
      for (size_t i = 0; i < params.size(); ++i) {
        const std::string p = group + "/" + std::to_string(i);
        if (!archive.contains(p + "/step")) continue;  // this parameter took no step yet
        auto step = archive.get(p + "/step", at::kLong, {1});
        if (!step.ok()) return fail(step.status().message());
        const int64_t steps = step->data_ptr<int64_t>()[0];
        if (steps < 0 || steps > kMaxSteps) return fail("a step count is out of [0, 2^53]");
        auto state = std::make_unique<torch::optim::AdamParamState>();
        state->step(step->data_ptr<int64_t>()[0]);
        const at::Tensor& param = params[i];
        for (const char* name : {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}) {
          const bool needed = std::string(name) != "max_exp_avg_sq" || amsgrad;
          if (!needed) continue;
          auto t = archive.get(p + "/" + name, param.scalar_type(), param.sizes());
          if (!t.ok()) return fail(t.status().message());
          if (!all_finite(*t)) return fail(p + "/" + name + " is not finite");
          if (std::string(name) != "exp_avg" && (*t < 0).any().item<bool>()) {
            return fail(p + "/" + name + " is negative");
          }
          const at::Tensor moment = t->to(param.device());
          if (std::string(name) == "exp_avg") state->exp_avg(moment);
          if (std::string(name) == "exp_avg_sq") state->exp_avg_sq(moment);
          if (std::string(name) == "max_exp_avg_sq") state->max_exp_avg_sq(moment);
        }
        states.push_back({c10::guts::to_string(param.unsafeGetTensorImpl()), std::move(state)});
      }
    }
    // Everything checked: apply.
    for (size_t g = 0; g < groups.size(); ++g) {
      static_cast<torch::optim::AdamOptions&>(groups[g].options()) = options[g];
    }
    optimizer.state().clear();
    for (auto& r : states) optimizer.state()[r.slot] = std::move(r.state);
    return Status();
  });
}

Status torch_guarded(const std::string& what, const std::function<Status()>& fn) {
  try {
    return fn();
  } catch (const c10::Error& e) {
    return Status(ErrorCode::malformed, what + ": " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    return Status(ErrorCode::malformed, what + ": " + e.what());
  }
}

}  // namespace engram
