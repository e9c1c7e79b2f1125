#include "modules/session/replay_options.h"

#include <cmath>

namespace engram {
namespace {

using nlohmann::json;

constexpr std::pair<RecallSampler, const char*> kSamplers[] = {
    {RecallSampler::uniform, "uniform"},
    {RecallSampler::class_balanced, "class_balanced"},
    {RecallSampler::task_balanced, "task_balanced"},
    {RecallSampler::recent, "recent"},
    {RecallSampler::weighted, "weighted"},
    {RecallSampler::active, "active"},
    {RecallSampler::diverse, "diverse"},
};

// The targets of `targets = {label = a, soft = b}`.
const std::vector<Setting>& target_weights() {
  static const std::vector<Setting> declared = {
      {"label", SettingType::number, 0.0, "weight of the cross-entropy to the stored label", 0,
       1e6},
      {"soft", SettingType::number, 0.0, "weight of the distillation from the last consolidation",
       0, 1e6},
  };
  return declared;
}

}  // namespace

const char* sampler_name(RecallSampler s) {
  for (const auto& [value, name] : kSamplers) {
    if (value == s) return name;
  }
  return "?";
}

Expected<RecallSampler> parse_sampler(const std::string& name) {
  std::string names;
  for (const auto& [value, n] : kSamplers) {
    if (name == n) return value;
    names += std::string(names.empty() ? "" : ", ") + n;
  }
  return Status(ErrorCode::invalid_argument,
                "sampler \"" + name + "\" is unknown (samplers: " + names + ", or a Lua function)");
}

const std::vector<Setting>& replay_settings() {
  static const std::vector<Setting> declared = {
      {"per_batch", SettingType::integer, 128, "recollections mixed into each batch (0 = none)", 0,
       1 << 20},
      {"sampler",
       SettingType::choice,
       "uniform",
       "which stored items are recalled (or a Lua function returning weights per class or task, "
       "called once per phase)",
       0,
       0,
       {"uniform", "class_balanced", "task_balanced", "recent", "active", "diverse"}},
      {"candidates", SettingType::integer, 4,
       "active, diverse: candidates drawn per recollection kept", 1, 64},
      {"targets",
       SettingType::choice,
       "label",
       "\"label\" (stored labels), \"soft\" (the classifier at the last consolidation), or "
       "{label = a, soft = b}",
       0,
       0,
       {"label", "soft"}},
      {"temperature", SettingType::number, 2.0, "temperature of the soft targets", 0.01, 100},
      {"weight", SettingType::number, -1.0,
       "share of the replay loss in a step; < 0: 1 - 1/(tasks seen) (van de Ven & Tolias)", -1, 1},
      {"delay", SettingType::integer, 1,
       "N-step delayed replay: decode N batches of recollections at once, feed them over N steps",
       1, 1000},
  };
  return declared;
}

Expected<ReplayOptions> replay_options_from_json(const json& value, const std::string& where) {
  ReplayOptions o;
  if (value.is_null()) return o;
  if (value.is_number()) {
    auto checked = apply_settings(replay_settings(), json{{"per_batch", value}}, where);
    if (!checked.ok()) return checked.status();
    o.per_batch = checked->at("per_batch").get<int>();
    return o;
  }
  // An empty Lua table converts to an empty JSON array: the same as no options.
  const bool empty_table = value.is_array() && value.empty();
  if (!value.is_object() && !empty_table) {
    return Status(ErrorCode::invalid_argument,
                  where + " must be a number (recollections per batch) or a table");
  }
  json input = empty_table ? json::object() : value;
  json targets;
  if (auto t = input.find("targets"); t != input.end() && t->is_object()) {
    targets = *t;
    input.erase("targets");
  }
  auto checked = apply_settings(replay_settings(), input, where);
  if (!checked.ok()) return checked.status();
  const json& c = *checked;
  o.per_batch = c.at("per_batch").get<int>();
  auto sampler = parse_sampler(c.at("sampler").get<std::string>());
  if (!sampler.ok()) return sampler.status();
  o.sampler = *sampler;
  o.candidates = c.at("candidates").get<int>();
  o.temperature = c.at("temperature").get<double>();
  o.weight = c.at("weight").get<double>();
  o.delay = c.at("delay").get<int>();
  if (!targets.is_null()) {
    auto w = apply_settings(target_weights(), targets, where + ".targets");
    if (!w.ok()) return w.status();
    o.label_weight = w->at("label").get<double>();
    o.soft_weight = w->at("soft").get<double>();
    if (!(o.label_weight + o.soft_weight > 0)) {
      return Status(ErrorCode::invalid_argument,
                    where + ".targets: the label and soft weights are both 0");
    }
  } else {
    const bool soft = c.at("targets").get<std::string>() == "soft";
    o.label_weight = soft ? 0 : 1;
    o.soft_weight = soft ? 1 : 0;
  }
  return o;
}

json replay_options_to_json(const ReplayOptions& o) {
  // "weighted" weights come from a function and are not written: the phase that used them
  // recomputes them.
  return {{"per_batch", o.per_batch},
          {"sampler", o.sampler == RecallSampler::weighted ? "uniform" : sampler_name(o.sampler)},
          {"candidates", o.candidates},
          {"targets", {{"label", o.label_weight}, {"soft", o.soft_weight}}},
          {"temperature", o.temperature},
          {"weight", o.weight},
          {"delay", o.delay}};
}

Status validate(const ReplayOptions& o, int classes, int tasks) {
  auto bad = [](const std::string& m) {
    return Status(ErrorCode::invalid_argument, "replay: " + m);
  };
  if (o.per_batch < 0 || o.per_batch > (1 << 20)) return bad("per_batch must be in [0, 2^20]");
  if (o.candidates < 1 || o.candidates > 64) return bad("candidates must be in [1, 64]");
  if (o.delay < 1 || o.delay > 1000) return bad("delay must be in [1, 1000]");
  if (!(o.temperature >= 0.01 && o.temperature <= 100))
    return bad("temperature must be in [0.01, 100]");
  if (!(o.weight <= 1) || !(o.weight >= -1))
    return bad("weight must be in [0, 1] (or < 0: automatic)");
  if (!(o.label_weight >= 0) || !(o.soft_weight >= 0) || !(o.label_weight + o.soft_weight > 0) ||
      !std::isfinite(o.label_weight + o.soft_weight)) {
    return bad("target weights must be finite, >= 0 and not both 0");
  }
  const bool by_class = !o.class_weights.empty(), by_task = !o.task_weights.empty();
  if (o.sampler != RecallSampler::weighted) {
    if (by_class || by_task) return bad("weights are given only with a sampler function");
    return {};
  }
  if (by_class == by_task) return bad("a sampler function gives weights per class or per task");
  const std::vector<double>& w = by_class ? o.class_weights : o.task_weights;
  const size_t expected = static_cast<size_t>(by_class ? classes : tasks);
  if (w.size() != expected) {
    return bad(std::string("the sampler gave ") + std::to_string(w.size()) + " weights, expected " +
               std::to_string(expected) + (by_class ? " (one per class)" : " (one per task)"));
  }
  double sum = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    if (!std::isfinite(w[i]) || w[i] < 0) {
      return bad(std::string("the sampler's weight of ") + (by_class ? "class " : "task ") +
                 std::to_string(i) + " is " + std::to_string(w[i]) + " (must be finite and >= 0)");
    }
    sum += w[i];
  }
  if (!(sum > 0)) return bad("the sampler's weights are all 0");
  return {};
}

}  // namespace engram
