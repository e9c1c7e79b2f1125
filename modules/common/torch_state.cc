#include "modules/common/torch_state.h"

#include <torch/nn/module.h>
#include <torch/optim/adam.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <cmath>
#include <map>
#include <sstream>
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

}  // namespace

void save_module(torch::serialize::OutputArchive& archive, const std::string& key,
                 const torch::nn::Module& module) {
  torch::serialize::OutputArchive sub;
  module.save(sub);
  archive.write(key, sub);
}

Status load_module(torch::serialize::InputArchive& archive, const std::string& key,
                   torch::nn::Module& module) {
  return torch_guarded("module '" + key + "'", [&]() -> Status {
    std::vector<std::pair<std::string, std::pair<std::vector<int64_t>, at::ScalarType>>> expected;
    for (const auto& [name, t] : tensors_of(module)) {
      expected.push_back({name, {t.sizes().vec(), t.scalar_type()}});
    }
    torch::serialize::InputArchive sub;
    if (!archive.try_read(key, sub)) {
      return Status(ErrorCode::malformed, "module '" + key + "' is missing");
    }
    module.load(sub);
    auto loaded = tensors_of(module);
    for (const auto& [name, shape_type] : expected) {
      const at::Tensor& t = loaded.at(name);
      if (t.sizes().vec() != shape_type.first || t.scalar_type() != shape_type.second) {
        return Status(ErrorCode::malformed,
                      "module '" + key + "': tensor '" + name +
                          "' has a different shape or type than this configuration builds");
      }
    }
    return Status();
  });
}

void save_generator(torch::serialize::OutputArchive& archive, const std::string& key,
                    const at::Generator& generator) {
  archive.write(key, generator.get_state(), /*is_buffer=*/true);
}

Status load_generator(torch::serialize::InputArchive& archive, const std::string& key,
                      at::Generator& generator) {
  return torch_guarded("generator '" + key + "'", [&]() -> Status {
    at::Tensor state;
    if (!archive.try_read(key, state, /*is_buffer=*/true)) {
      return Status(ErrorCode::malformed, "generator '" + key + "' is missing");
    }
    generator.set_state(state);
    return Status();
  });
}

Status check_adam_state(torch::optim::Adam& optimizer) {
  auto bad = [](const std::string& what) {
    return Status(ErrorCode::malformed, "optimizer: " + what);
  };
  auto finite = [](double v) { return std::isfinite(v); };
  for (const auto& group : optimizer.param_groups()) {
    const auto& o = static_cast<const torch::optim::AdamOptions&>(group.options());
    const auto [beta1, beta2] = o.betas();
    if (!finite(o.lr()) || o.lr() <= 0 || !finite(beta1) || beta1 < 0 || beta1 >= 1 ||
        !finite(beta2) || beta2 < 0 || beta2 >= 1 || !finite(o.eps()) || o.eps() < 0 ||
        !finite(o.weight_decay()) || o.weight_decay() < 0) {
      return bad("options out of range");
    }
    for (const auto& p : group.params()) {
      auto it = optimizer.state().find(c10::guts::to_string(p.unsafeGetTensorImpl()));
      if (it == optimizer.state().end()) continue;  // no step taken yet
      const auto& s = static_cast<const torch::optim::AdamParamState&>(*it->second);
      auto fits = [&](const at::Tensor& t) {
        return t.defined() && t.sizes() == p.sizes() && t.scalar_type() == p.scalar_type();
      };
      if (s.step() < 0 || !fits(s.exp_avg()) || !fits(s.exp_avg_sq()) ||
          (o.amsgrad() && !fits(s.max_exp_avg_sq()))) {
        return bad("state does not fit the parameters of this configuration");
      }
    }
  }
  return Status();
}

std::string archive_to_bytes(torch::serialize::OutputArchive& archive) {
  std::ostringstream out;
  archive.save_to(out);
  return out.str();
}

Status archive_from_bytes(const std::string& bytes, torch::serialize::InputArchive& archive) {
  return torch_guarded("archive", [&]() -> Status {
    std::istringstream in(bytes);
    archive.load_from(in);
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
