#include "modules/session/session_settings.h"

#include <algorithm>

#include "modules/memory/memory_registry.h"

namespace engram {
namespace {

using nlohmann::json;

constexpr double kAllUint64 = 18446744073709551616.0;  // 2^64: the whole of uint64 (settings.h)

std::string key_name(const std::string& where, const std::string& key) {
  return where.empty() ? key : where + "." + key;
}

std::vector<Setting> concat(const std::vector<Setting>& a, const std::vector<Setting>& b) {
  std::vector<Setting> out = a;
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

bool declares(const std::vector<Setting>& declared, const std::string& key) {
  return std::any_of(declared.begin(), declared.end(),
                     [&](const Setting& s) { return s.name == key; });
}

// The registered kinds other than `kind` that declare `key`, quoted and joined.
std::string kinds_declaring(const std::string& key, const std::string& kind) {
  std::string names;
  for (const MemoryKind* k : memory_kinds()) {
    if (k->name() == kind || !declares(k->settings(), key)) continue;
    names += (names.empty() ? "\"" : ", \"") + k->name() + "\"";
  }
  return names;
}

}  // namespace

const std::vector<Setting>& session_settings() {
  static const std::vector<Setting> declared = {
      {"tasks", SettingType::integer, 5, "number of tasks; task ids are in [0, tasks)", 1, 65536},
      {"seed", SettingType::integer, 1,
       "seeds every module, the buffer and the driver (equal seeds, equal runs)", 0, kAllUint64},
      {"threads", SettingType::integer, 1, "LibTorch intra-op threads of each learning actor", 1,
       256},
      {"device", SettingType::string, "cpu",
       "where every learning module runs: cpu, cuda or cuda:N (when LibTorch has CUDA)"},
      {"neocortex", SettingType::table, json::object(), "the classifier (neocortex options)"},
      {"memory", SettingType::table, json::object(),
       "what is remembered and how (memory options, plus the options of its kind)"},
  };
  return declared;
}

const std::vector<Setting>& neocortex_settings() {
  static const std::vector<Setting> declared = {
      {"net",
       SettingType::choice,
       "mlp",
       "mlp (ReLU layers) or cnn (2 conv + 2 dense, 28x28 images)",
       0,
       0,
       {"mlp", "cnn"}},
      {"hidden", SettingType::integer_list, json::array({400, 400}),
       "mlp hidden widths (van de Ven & Tolias: 2x400)", 1, 1 << 20},
      {"lr", SettingType::number, 1e-3, "learning rate of the classifier's optimizer", 1e-12, 1e3},
      {"optimizer",
       SettingType::choice,
       "adam",
       "adam, or sgd (plain, no momentum: papers/003's online protocol)",
       0,
       0,
       {"adam", "sgd"}},
  };
  return declared;
}

const std::vector<Setting>& memory_settings() {
  static const std::vector<Setting> declared = [] {
    std::vector<std::string> kinds;
    for (const MemoryKind* k : memory_kinds()) kinds.push_back(k->name());
    std::vector<std::string> selectors;
    for (Selector s : {Selector::reservoir, Selector::class_balanced, Selector::fifo}) {
      selectors.push_back(selector_name(s));
    }
    return std::vector<Setting>{
        {"kind", SettingType::choice, "dvae",
         "the memory kind; its own options go in the same table", 0, 0, kinds},
        {"budget_bytes", SettingType::integer, 156800,
         "bytes the buffer may hold (the incremental view; kinds with a buffer)", 1,
         static_cast<double>(int64_t{1} << 40)},
        {"selector", SettingType::choice, "reservoir",
         "what a full buffer keeps: reservoir (uniform over everything seen), class_balanced, "
         "fifo (the most recent)",
         0, 0, selectors},
        {"association_from", SettingType::string, "",
         "a snapshot file (rt:snapshot) whose association this memory starts from, e.g. one "
         "pretrained on other data: same kind and architecture; \"\" = a fresh association"},
    };
  }();
  return declared;
}

const std::vector<Setting>& agent_settings() {
  static const std::vector<Setting> declared = {
      {"name", SettingType::string, "host", "names the input stream in snapshots and reports"},
      {"input", SettingType::table, json::object(), "the observations' shape: rows, cols"},
      {"classes", SettingType::integer, 10, "number of classes (labels are in [0, classes))", 2,
       65536},
      {"learning", SettingType::table, json::object(),
       "how observations are batched and learned (learning options)"},
  };
  return declared;
}

const std::vector<Setting>& agent_input_settings() {
  static const std::vector<Setting> declared = {
      {"rows", SettingType::integer, 28, "image rows (one channel, row-major)", 1, 4096},
      {"cols", SettingType::integer, 28, "image columns", 1, 4096},
  };
  return declared;
}

const std::vector<Setting>& agent_learning_settings() {
  static const std::vector<Setting> declared = {
      {"batch", SettingType::integer, 32, "observations per training step (<= queue)", 1, 65536},
      {"replay", SettingType::table, 32,
       "recollections mixed into each step (a number), or a replay table (replay options)"},
      {"queue", SettingType::integer, 1024,
       "observations engram_observe can hold before it says full (queue * rows * cols <= 2^30)", 1,
       1 << 24},
      {"predict_refresh_ms", SettingType::integer, 100,
       "how often predictions pick up the learner's latest weights (ms)", 0, 3600000},
  };
  return declared;
}

Expected<MemoryConfig> memory_config_from_settings(const json& table, const std::string& where,
                                                   bool tolerate_other_kinds) {
  if (!table.is_null() && !table.is_object()) {
    // apply_settings words the error.
    return apply_settings(memory_settings(), table, where).status();
  }
  const json input = table.is_null() ? json::object() : table;
  // The kind first (its options decide which other keys are known).
  json common = json::object();
  for (const Setting& s : memory_settings()) {
    if (auto it = input.find(s.name); it != input.end()) common[s.name] = *it;
  }
  auto checked_common = apply_settings(memory_settings(), common, where);
  if (!checked_common.ok()) return checked_common.status();
  const std::string kind_name = checked_common->at("kind").get<std::string>();
  auto kind = find_memory_kind(kind_name);
  if (!kind.ok())
    return Status(kind.status().code(), key_name(where, "kind") + ": " + kind.status().message());
  const std::vector<Setting>& options = (*kind)->settings();
  json own = json::object();
  for (const auto& item : input.items()) {
    const std::string& key = item.key();
    if (declares(memory_settings(), key)) continue;
    if (!declares(options, key)) {
      const std::string others = kinds_declaring(key, kind_name);
      if (!others.empty() && tolerate_other_kinds) continue;
      if (!others.empty()) {
        return Status(ErrorCode::invalid_argument,
                      key_name(where, key) + " is an option of memory kind " + others +
                          ", not of \"" + kind_name + "\" (" + key_name(where, "kind") + ")");
      }
    }
    own[key] = item.value();
  }
  // One check over every key of the table, so an unknown key lists all the known ones.
  for (const auto& item : common.items()) own[item.key()] = item.value();
  auto all = apply_settings(concat(memory_settings(), options), own, where);
  if (!all.ok()) return all.status();
  MemoryConfig m;
  m.kind = kind_name;
  m.budget_bytes = all->at("budget_bytes").get<size_t>();
  auto selector = parse_selector(all->at("selector").get<std::string>());
  if (!selector.ok()) return selector.status();
  m.selector = *selector;
  m.association_from = all->at("association_from").get<std::string>();
  m.options = json::object();
  for (const Setting& s : options) m.options[s.name] = all->at(s.name);
  return m;
}

Expected<SessionConfig> session_config_from_settings(const json& tree, const std::string& where,
                                                     const std::vector<Setting>& extra,
                                                     json* checked, bool tolerate_other_kinds) {
  auto top = apply_settings(concat(session_settings(), extra), tree, where);
  if (!top.ok()) return top.status();
  SessionConfig c;
  c.num_tasks = top->at("tasks").get<int>();
  c.seed = top->at("seed").get<uint64_t>();
  c.threads = top->at("threads").get<int>();
  c.device = top->at("device").get<std::string>();
  c.neocortex.device = c.device;
  auto neocortex =
      apply_settings(neocortex_settings(), top->at("neocortex"), key_name(where, "neocortex"));
  if (!neocortex.ok()) return neocortex.status();
  c.neocortex.classifier.net = neocortex->at("net").get<std::string>();
  c.neocortex.classifier.hidden = neocortex->at("hidden").get<std::vector<int>>();
  c.neocortex.lr = neocortex->at("lr").get<double>();
  c.neocortex.optimizer = neocortex->at("optimizer").get<std::string>();
  auto memory = memory_config_from_settings(top->at("memory"), key_name(where, "memory"),
                                            tolerate_other_kinds);
  if (!memory.ok()) return memory.status();
  c.memory = std::move(*memory);
  if (checked) *checked = std::move(*top);
  return c;
}

json session_config_to_settings(const SessionConfig& c) {
  json options = c.memory.options.is_null() ? json::object() : c.memory.options;
  if (auto kind = find_memory_kind(c.memory.kind); kind.ok()) {
    // Every option written, defaults included; options that do not check are written as they
    // are (the reader then names the problem).
    if (auto filled = apply_settings((*kind)->settings(), options, "memory"); filled.ok()) {
      options = std::move(*filled);
    }
  }
  json memory = {{"kind", c.memory.kind},
                 {"budget_bytes", c.memory.budget_bytes},
                 {"selector", selector_name(c.memory.selector)},
                 {"association_from", c.memory.association_from}};
  if (options.is_object()) {
    for (const auto& item : options.items()) memory[item.key()] = item.value();
  }
  return {{"tasks", c.num_tasks},
          {"seed", c.seed},
          {"threads", c.threads},
          {"device", c.device},
          {"neocortex",
           {{"net", c.neocortex.classifier.net},
            {"hidden", c.neocortex.classifier.hidden},
            {"lr", c.neocortex.lr},
            {"optimizer", c.neocortex.optimizer}}},
          {"memory", memory}};
}

}  // namespace engram
