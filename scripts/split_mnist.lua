-- Split MNIST (papers/000, van de Ven & Tolias protocol): at the same bytes of memory, many
-- lossy recollections against a few stored images.
--
--   engram run scripts/split_mnist.lua                          full protocol, seed 1
--   engram run scripts/split_mnist.lua --set iterations=1000 --set replay=64
--                                                               shorter schedule: 96.2% in under
--                                                               a third of DGR's time (README)
--   engram run scripts/split_mnist.lua --set seeds=1,2,3 --set methods=recollections
--
--   engram run scripts/split_mnist.lua --set budget=total --set budget_bytes=392000
--                                                               the total view, 500 images' bytes
--
-- Settings (--set key=value): iterations (per task, 2000), batch (128), replay (128),
-- budget_bytes (156800 = 200 MNIST images), budget (codes: budget_bytes holds the stored codes
-- and labels, papers/000's incremental view; total: it also holds the association's weights at
-- rest, encoder and decoder, papers/000's Table 5. In the total view the split is chosen for
-- you: int8 weights and the widest association of 512, 256, ... 16 whose weights take at most
-- total_share (0.7) of the bytes, the rest for codes; hidden and weights override it. `er` is
-- then given the whole budget_bytes, and the default methods are er,recollections),
-- weights (f32; int8 in the total view), targets (mixed: half towards the stored labels, half
-- towards the classifier at the last consolidation, T = 2, measured best; label; soft),
-- c (100), l (2), hidden (256, association width),
-- methods (finetune,er,recollections,er_total,joint; also lifelong_vae: the papers/002 generator
-- as the memory, and er_lifelong: raw images at its total bytes, after it), seeds (1), threads (1), dataset (mnist),
-- sleep_steps (500: a consolidation phase of that many steps of 256 recollections at each task
-- end, for the methods with a memory; 0 = none, the protocol before issue 21), record_every (50:
-- a point of each run's learning curve every that many iterations; 0 = none), grid (8: real
-- examples and recollections per class in recollections_<method>_seed<k>.png, for the methods
-- with stored codes; 0 = no grid), out (runs).
--
-- results.json, per run: class_il/task_il (accuracy after each task), baseline and
-- baseline_task_il (accuracy on each task before learning), bwt, forgetting, fwt (class-IL;
-- task_il_metrics.fwt from the task-IL baseline), curve = {every, iteration,
-- task, loss, samples_per_s [, association_neg_elbo]}, phases[i].association_neg_elbo (dvae).

local cfg = engram.settings {
  "batch", "budget", "budget_bytes", "c", "dataset", "grid", "hidden", "iterations", "kl_weight",
  "l", "methods", "out", "record_every", "replay", "seeds", "sleep_steps", "targets", "threads",
  "total_share", "weights"
}

local iterations = engram.integer(cfg.iterations, 2000)
local batch = engram.integer(cfg.batch, 128)
local replay = engram.integer(cfg.replay, 128)
-- What recollections are trained towards, in learning and consolidation phases: label (the
-- stored labels), soft (the classifier at the last consolidation, temperature 2), or mixed
-- (half each).
local targets = cfg.targets or "mixed"
local targets_option = ({ label = "label", soft = "soft",
                          mixed = { label = 0.5, soft = 0.5 } })[targets]
if not targets_option then
  error(("split_mnist: targets must be label, soft or mixed, not %q"):format(targets))
end
-- The default curriculum (docs/results/CURRICULUM.md): a consolidation phase at each task end.
local sleep_steps = engram.integer(cfg.sleep_steps, 500)
if sleep_steps < 0 then
  error(("split_mnist: sleep_steps must be >= 0 (0 = no consolidation phase), not %d")
    :format(sleep_steps))
end
local budget = engram.integer(cfg.budget_bytes, 156800)
local threads = engram.integer(cfg.threads, 1)
local record_every = engram.integer(cfg.record_every, 50)
local grid = engram.integer(cfg.grid, 8)
local budget_view = cfg.budget or "codes"
if budget_view ~= "codes" and budget_view ~= "total" then
  error(("split_mnist: budget must be codes or total, not %q"):format(budget_view))
end
local total_view = budget_view == "total"
local methods = engram.list(cfg.methods,
                            total_view and "er,recollections" or "finetune,er,recollections,er_total,joint")
local seeds = engram.numbers(cfg.seeds, "1")
local association = {
  kind = "dvae", c = engram.integer(cfg.c, 100), l = engram.integer(cfg.l, 2),
  hidden = { engram.integer(cfg.hidden, 256) }, kl_weight = engram.number(cfg.kl_weight, 0),
  weights = cfg.weights or (total_view and "int8" or "f32"),
}

local dataset = engram.dataset(cfg.dataset or "mnist")
local tasks = engram.split(dataset, { {0, 1}, {2, 3}, {4, 5}, {6, 7}, {8, 9} })

-- The association's weights at rest (bytes) with hidden width h.
local function association_bytes(h)
  local a = { budget_bytes = 1000 }
  for k, v in pairs(association) do a[k] = v end
  a.hidden = { h }
  local probe = engram.runtime { dataset = dataset, tasks = #tasks, memory = a }
  local bytes = probe:memory().memory_weight_bytes
  probe:close()
  return bytes
end

-- The total view: budget_bytes = codes and labels + association weights. The codes get what the
-- weights leave.
local codes_budget = budget
if total_view then
  if not cfg.hidden then
    local share = engram.number(cfg.total_share, 0.7)
    local chosen = nil
    for _, h in ipairs({ 512, 256, 128, 64, 32, 16 }) do
      if association_bytes(h) <= share * budget then chosen = h break end
    end
    if not chosen then
      error(("split_mnist: budget_bytes %d is too small for the total view"):format(budget))
    end
    association.hidden = { chosen }
  end
  codes_budget = budget - association_bytes(association.hidden[1])
  if codes_budget <= 0 then
    error(("split_mnist: the association's weights alone take more than budget_bytes %d")
      :format(budget))
  end
end

local run_dir = engram.run_dir(cfg.out or "runs", "split_mnist")
print(("split_mnist: %d tasks, %d iterations/task, batch %d + %d replayed, budget %d bytes (%s) -> %s")
  :format(#tasks, iterations, batch, replay, budget, budget_view, run_dir))
if total_view then
  print(("total view: association hidden %d, %s weights %d bytes, codes %d bytes")
    :format(association.hidden[1], association.weights, budget - codes_budget, codes_budget))
end

-- Bytes of the recollection memory in the total-budget view (codes + association weights),
-- filled by the recollections run so er_total can be given the same bytes.
local total_view_bytes = nil
-- The same for the lifelong VAE (its total bytes: the teacher VAE), filled by its run.
local lifelong_bytes = nil

local function memory_for(method)
  if method == "finetune" or method == "joint" then return { kind = "none" } end
  if method == "er" then return { kind = "raw", budget_bytes = budget } end
  if method == "lifelong_vae" then return { kind = "lifelong_vae" } end
  if method == "er_lifelong" then
    assert(lifelong_bytes, "er_lifelong needs the lifelong_vae run first (methods order)")
    return { kind = "raw", budget_bytes = lifelong_bytes }
  end
  if method == "er_total" then
    assert(not total_view, "er_total: with budget=total, er already has the total bytes")
    assert(total_view_bytes, "er_total needs the recollections run first (methods order)")
    return { kind = "raw", budget_bytes = total_view_bytes }
  end
  local m = { budget_bytes = codes_budget }
  for k, v in pairs(association) do m[k] = v end
  return m
end

local function run(method, seed)
  local started = engram.clock()
  local rt = engram.runtime {
    dataset = dataset, tasks = #tasks, seed = seed, threads = threads,
    neocortex = { net = "mlp", hidden = { 400, 400 }, lr = 1e-3 },
    memory = memory_for(method),
  }
  local result = { method = method, seed = seed, class_il = {}, task_il = {}, phases = {},
                   baseline = {} }
  -- FWT's baseline: the untrained model's class-IL accuracy on each task.
  -- (Class-IL FWT is about -baseline: before a task is learned its classes lose to the learned
  -- ones. task_il_metrics.fwt, from the task-IL baseline, shows transfer within a task.)
  result.baseline_task_il = {}
  for j, t in ipairs(tasks) do
    result.baseline[j] = rt:accuracy(t, "class")
    result.baseline_task_il[j] = rt:accuracy(t, "task")
  end
  local schedule = tasks
  if method == "joint" then schedule = { engram.joint(tasks) } end
  local done = 0
  for i, task in ipairs(schedule) do
    local its = method == "joint" and iterations * #tasks or iterations
    local phase = rt:learn(task, { iterations = its, batch = batch,
                                   replay = { per_batch = replay, targets = targets_option },
                                   record_every = record_every,
                                   label = ("%s s%d task %d"):format(method, seed, i) })
    phase.task = i
    if record_every > 0 then
      result.curve = engram.append_curve(result.curve or {}, phase, i, done)
      phase.curve = nil
    end
    done = done + phase.iterations
    result.phases[#result.phases + 1] = phase
    if sleep_steps > 0 and memory_for(method).kind ~= "none" then
      phase.sleep = rt:consolidate { steps = sleep_steps, batch = 2 * batch, record_every = 0,
                                     targets = targets_option,
                                     label = ("%s s%d sleep %d"):format(method, seed, i) }
    end
    local class_row, task_row = {}, {}
    for j, t in ipairs(tasks) do
      class_row[j] = rt:accuracy(t, "class")
      task_row[j] = rt:accuracy(t, "task")
    end
    result.class_il[#result.class_il + 1] = class_row
    result.task_il[#result.task_il + 1] = task_row
  end
  local last = #result.class_il
  local function mean(row) local s = 0 for _, v in ipairs(row) do s = s + v end return s / #row end
  result.acc_class = mean(result.class_il[last])
  result.acc_task = mean(result.task_il[last])
  if method ~= "joint" then
    local m = engram.metrics(result.class_il, result.baseline)
    result.bwt, result.forgetting, result.fwt = m.bwt, m.forgetting, m.fwt
    result.task_il_metrics = engram.metrics(result.task_il, result.baseline_task_il)
  end
  result.memory = rt:memory()
  if method == "recollections" then
    local l1 = 0
    for _, t in ipairs(tasks) do l1 = l1 + rt:distortion(t, 1000) end
    result.l1_distortion = l1 / #tasks
    total_view_bytes = result.memory.total_bytes
  end
  if method == "lifelong_vae" then lifelong_bytes = result.memory.total_bytes end
  local kind = memory_for(method).kind or "dvae"
  if grid > 0 and (kind == "dvae" or kind == "raw") then
    result.recollection_grid = ("recollections_%s_seed%d.png"):format(method, seed)
    rt:recollection_grid(run_dir .. "/" .. result.recollection_grid,
                         { tasks = tasks, per_class = grid })
  end
  result.counters = rt:counters()
  rt:close()
  result.wall_seconds = engram.clock() - started
  return result
end

local results = {}
for _, seed in ipairs(seeds) do
  for _, method in ipairs(methods) do
    local r = run(method, seed)
    results[#results + 1] = r
    print(("%-13s seed %s: class-IL ACC %.4f  task-IL ACC %.4f  (%.0f s)")
      :format(method, seed, r.acc_class, r.acc_task, r.wall_seconds))
  end
end

local function fmt(v, pattern) return v and pattern:format(v) or "-" end
local header = { "method", "seed", "class-IL ACC", "task-IL ACC", "BWT", "forgetting",
                 "memory bytes", "items stored", "assoc. weights", "total bytes", "L1", "FWT",
                 "wall s" }
local rows, csv = {}, {}
for _, r in ipairs(results) do
  local m = r.memory
  local row = { r.method, tostring(r.seed), fmt(r.acc_class, "%.4f"), fmt(r.acc_task, "%.4f"),
                fmt(r.bwt, "%.4f"), fmt(r.forgetting, "%.4f"), tostring(m.bytes_used or 0),
                tostring(m.codes_stored or 0), tostring(m.association_weight_bytes or 0),
                tostring(m.total_bytes or 0), fmt(r.l1_distortion, "%.4f"), fmt(r.fwt, "%.4f"),
                fmt(r.wall_seconds, "%.1f") }
  rows[#rows + 1] = row
  csv[#csv + 1] = row
end
engram.write_json(run_dir .. "/results.json", {
  protocol = { tasks = #tasks, iterations = iterations, batch = batch, replay = replay,
               sleep_steps = sleep_steps, record_every = record_every, targets = targets,
               budget_bytes = budget, budget = budget_view, codes_budget_bytes = codes_budget,
               association = association, threads = threads,
               blas = engram.blas, version = engram.version },
  runs = results,
})
engram.write_csv(run_dir .. "/summary.csv", header, csv)
for _, r in ipairs(results) do
  local matrix = {}
  for i, row in ipairs(r.class_il) do
    local line = { tostring(i) }
    for j, v in ipairs(row) do line[#line + 1] = ("%.4f"):format(v) end
    for j, v in ipairs(r.task_il[i]) do line[#line + 1] = ("%.4f"):format(v) end
    matrix[#matrix + 1] = line
  end
  local cols = { "after task" }
  for j = 1, #tasks do cols[#cols + 1] = "class-IL task " .. j end
  for j = 1, #tasks do cols[#cols + 1] = "task-IL task " .. j end
  engram.write_csv(("%s/accuracy_%s_seed%d.csv"):format(run_dir, r.method, r.seed), cols, matrix)
end
print(engram.format_table(header, rows))
print("results: " .. run_dir)
