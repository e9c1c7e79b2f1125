-- Curricula of recall on the Split MNIST protocol of split_mnist.lua (recollections of a
-- discrete VAE, 156,800 bytes): which stored codes are recalled, a consolidation phase at each
-- task end, delayed replay, and a schedule that revisits a task.
--
--   engram run scripts/curriculum_mnist.lua                         every variant, seed 1
--   engram run scripts/curriculum_mnist.lua --set variants=uniform,active --set seeds=1,2,3
--   engram run scripts/curriculum_mnist.lua --set iterations=500    shorter schedule
--
-- Variants (--set variants=...): uniform, class_balanced, active, diverse, sleep (uniform plus
-- a consolidation phase of sleep_steps steps at each task end), delay10 (uniform, 10-step
-- delayed replay), revisit (uniform; tasks 1 2 3 1 4 5: task 1 comes back after task 3).
-- Settings: iterations (2000), batch (128), replay (128), budget_bytes (156800), c (100), l (2),
-- hidden (256), sleep_steps (500), candidates (4), seeds (1), threads (1), record_every (50: a
-- point of each run's learning curve every that many iterations; 0 = none), out (runs).
-- results.json, per run: class_il, baseline (class-IL accuracy on each task before learning),
-- bwt and fwt (variants that learn each task once), curve = {every, iteration, task, loss,
-- samples_per_s, association_neg_elbo}, phases[i] = {task, iterations, seconds,
-- association_neg_elbo, ...} (the learn phases, in order).

local cfg = engram.settings {
  "batch", "budget_bytes", "c", "candidates", "hidden", "iterations", "l", "out",
  "record_every", "replay", "seeds", "sleep_steps", "threads", "variants"
}

local iterations = engram.integer(cfg.iterations, 2000)
local batch = engram.integer(cfg.batch, 128)
local per_batch = engram.integer(cfg.replay, 128)
local budget = engram.integer(cfg.budget_bytes, 156800)
local threads = engram.integer(cfg.threads, 1)
local sleep_steps = engram.integer(cfg.sleep_steps, 500)
local candidates = engram.integer(cfg.candidates, 4)
local record_every = engram.integer(cfg.record_every, 50)
local variants = engram.list(cfg.variants,
  "uniform,class_balanced,active,diverse,sleep,delay10,revisit")
local seeds = engram.numbers(cfg.seeds, "1")

local dataset = engram.dataset("mnist")
local tasks = engram.split(dataset, { {0, 1}, {2, 3}, {4, 5}, {6, 7}, {8, 9} })
local run_dir = engram.run_dir(cfg.out or "runs", "curriculum_mnist")

-- What each variant changes: the replay table of rt:learn, a sleep at each task end, the order.
local function variant(name)
  local v = { replay = { per_batch = per_batch, sampler = "uniform" }, sleep = false,
              order = { 1, 2, 3, 4, 5 } }
  if name == "class_balanced" or name == "active" or name == "diverse" then
    v.replay.sampler = name
    if name ~= "class_balanced" then v.replay.candidates = candidates end
  elseif name == "sleep" then
    v.sleep = true
  elseif name == "delay10" then
    v.replay.delay = 10
  elseif name == "revisit" then
    v.order = { 1, 2, 3, 1, 4, 5 }
  elseif name ~= "uniform" then
    error("unknown variant " .. name)
  end
  return v
end

local function run(name, seed)
  local v = variant(name)
  local started = engram.clock()
  local rt = engram.runtime {
    dataset = dataset, tasks = #tasks, seed = seed, threads = threads,
    neocortex = { net = "mlp", hidden = { 400, 400 }, lr = 1e-3 },
    memory = { kind = "dvae", budget_bytes = budget, c = engram.integer(cfg.c, 100),
               l = engram.integer(cfg.l, 2), hidden = { engram.integer(cfg.hidden, 256) } },
  }
  local result = { variant = name, seed = seed, class_il = {}, sleep_seconds = 0, phases = {},
                   baseline = {} }
  -- FWT's baseline: the untrained model's class-IL accuracy on each task.
  for j, t in ipairs(tasks) do result.baseline[j] = rt:accuracy(t, "class") end
  local done = 0
  for step, i in ipairs(v.order) do
    local phase = rt:learn(tasks[i], {
      iterations = iterations, batch = batch, replay = v.replay, record_every = record_every,
      label = ("%s s%d step %d (task %d)"):format(name, seed, step, i) })
    if record_every > 0 then
      result.curve = engram.append_curve(result.curve or {}, phase, i, done)
      phase.curve = nil
    end
    done = done + phase.iterations
    phase.task = i
    result.phases[#result.phases + 1] = phase
    if v.sleep then
      local s = rt:consolidate { steps = sleep_steps, batch = 2 * batch, record_every = 0,
                                 sampler = v.replay.sampler, label = "sleep" }
      result.sleep_seconds = result.sleep_seconds + s.seconds
    end
    local row = {}
    for j, t in ipairs(tasks) do row[j] = rt:accuracy(t, "class") end
    result.class_il[#result.class_il + 1] = row
  end
  local last = result.class_il[#result.class_il]
  local sum = 0
  for _, a in ipairs(last) do sum = sum + a end
  result.acc_class = sum / #last
  if #v.order == #tasks then
    local m = engram.metrics(result.class_il, result.baseline)
    result.bwt, result.fwt = m.bwt, m.fwt
  end
  result.memory = rt:memory()
  rt:close()
  result.wall_seconds = engram.clock() - started
  return result
end

local results = {}
for _, seed in ipairs(seeds) do
  for _, name in ipairs(variants) do
    local r = run(name, seed)
    results[#results + 1] = r
    print(("%-15s seed %s: class-IL ACC %.4f  (%.0f s)"):format(name, seed, r.acc_class,
                                                                r.wall_seconds))
  end
end

local function fmt(x, pattern) return x and pattern:format(x) or "-" end
local header = { "variant", "seed", "class-IL ACC", "BWT", "wall s", "of which sleep s", "FWT" }
local rows = {}
for _, r in ipairs(results) do
  rows[#rows + 1] = { r.variant, tostring(r.seed), fmt(r.acc_class, "%.4f"), fmt(r.bwt, "%.4f"),
                      fmt(r.wall_seconds, "%.1f"), fmt(r.sleep_seconds, "%.1f"),
                      fmt(r.fwt, "%.4f") }
end
engram.write_json(run_dir .. "/results.json", {
  protocol = { iterations = iterations, batch = batch, replay = per_batch, budget_bytes = budget,
               sleep_steps = sleep_steps, record_every = record_every, candidates = candidates, threads = threads,
               blas = engram.blas, version = engram.version },
  runs = results,
})
engram.write_csv(run_dir .. "/summary.csv", header, rows)
print(engram.format_table(header, rows))
print("results: " .. run_dir)
