-- Automatic Recall Machines on MNIST (papers/003, Table 6; issue 15): the paper's online
-- protocol, with in the same run the baselines and engram's recollections at two budgets.
--
--   engram run scripts/arm_mnist.lua                           5 seeds, every method
--   engram run scripts/arm_mnist.lua --set quick=true          a few seconds (tests)
--   engram run scripts/arm_mnist.lua --set methods=naive,arm --set seeds=1,2
--
-- Protocol (as MIR / Aljundi et al. 2019 and the paper's code, xu-ji/ARM): 5 tasks of 2
-- classes, one head over all classes seen, online: one pass over 1000 training images per task
-- (500 per class, 5K in all) in batches of 10, so 100 iterations per task; plain SGD at 0.05;
-- the MLP 784-400-400-10 (478K parameters); test on the full MNIST test set; 5 seeds. A_T and
-- F_T are Chaudhry et al.'s average accuracy and forgetting after the last task
-- (engram.metrics: acc and forgetting).
--
-- Methods (all on the same stream and classifier):
--   naive               plain SGD, no memory
--   lwf                 LwF-style distillation of the previous task's model on the new data
--   er50                experience replay, 50 stored images (8-bit, with their labels), 10
--                       replayed per batch
--   recollections_er50  engram's recollections (dvae codes) in the bytes of ER-50 (its codes;
--                       the association's weights come on top, as in the incremental view)
--   recollections_arm   recollections in the bytes of ARM's frozen copy, total view (codes +
--                       the association's encoder and decoder, kept int8 = 4 B x the
--                       classifier's parameters)
--   arm                 ARM (memory.kind = "arm", the paper's Table 4 MNIST hyperparameters),
--                       engram's head: only the classes seen so far compete
--   arm_all             ARM with all 10 outputs competing from the start (outputs = "all"), as
--                       the paper's code trains its single head
--   arm_code            arm_all with D computed as the authors' code does (divergence =
--                       "mixture_kl": 0.5 KL(m||p) + 0.5 KL(m||q) instead of Jensen-Shannon)
--   lwf_distill         the paper's Distill baseline (the authors' distill.py): all 10 outputs
--                       from the start, KL at T = 1 over all of them on the real batch, in a
--                       step of its own after the real step (lwf: outputs = "all",
--                       step = "separate", temperature = 1)
--
-- Settings (--set key=value): methods, seeds (1,2,3,4,5), examples (per task, 1000), batch
-- (10), replay (10: recollections per batch of the replay methods), lr (0.05), quick (false:
-- true = 1 seed, 100 examples per task, ARM with M = 4 and S = 2), threads (1), out (runs),
-- tails (true) and balanced (true), two details of the authors' data and evaluation code that
-- the paper's numbers depend on (docs/results/ARM.md: the authors' code without the tails
-- forgets as engram's ARM without them); false gives engram's own stream and accuracy:
--   tails=true     each task ends with the single-class run the authors' stream has
--                  (code/data/mnist.py shuffles a task's images once and keeps the first
--                  examples/2 of each class in that order: once one class has them, the rest
--                  of the task is the other class alone). Drawn per seed as their shuffle draws
--                  it (which class, how many images: 1 to about 120), the run's full batches
--                  of that class end the task, in the same task (no extra boundary).
--   balanced=true  a task's accuracy is the mean of its classes' accuracies (code/util/eval.py)
--                  instead of the accuracy over its test images.

local cfg = engram.settings {
  "balanced", "batch", "examples", "lr", "methods", "out", "quick", "replay", "seeds", "tails",
  "threads"
}
-- Yes/no settings: true/yes/1 or false/no/0 (absent = false); anything else is refused by name.
local quick = engram.boolean(cfg.quick, false)
local tails = engram.boolean(cfg.tails, true)
local balanced = engram.boolean(cfg.balanced, true)
local examples = engram.integer(cfg.examples, quick and 100 or 1000)
local batch = engram.integer(cfg.batch, 10)
local replay = engram.integer(cfg.replay, 10)
local lr = engram.number(cfg.lr, 0.05)
local threads = engram.integer(cfg.threads, 1)
local seeds = engram.numbers(cfg.seeds, quick and "1" or "1,2,3,4,5")
local methods = engram.list(cfg.methods,
  "naive,lwf,lwf_distill,er50,recollections_er50,recollections_arm,arm,arm_all,arm_code")
local iterations = examples // batch  -- one pass over the task's stream
assert(iterations >= 1, "arm_mnist: examples must be at least batch")
-- ER with 50 images: the paper counts 1 B per pixel (50 x 784); the raw kind stores a label
-- with each image, so its budget is set to hold exactly 50 (measured below).
local er50_bytes = nil
local dvae = { kind = "dvae", c = 100, l = 2, hidden = { 256 }, kl_weight = 0 }

local dataset = engram.dataset("mnist")
local tasks = engram.split(dataset, { {0, 1}, {2, 3}, {4, 5}, {6, 7}, {8, 9} })
-- tails=true: the authors' single-class run at each task's end. The same split's positions give
-- the same task ids, so learning a tail continues its task (no boundary, f_old unchanged).
local tail_tasks = { engram.split(dataset, { {0}, {2}, {4}, {6}, {8} }),
                     engram.split(dataset, { {1}, {3}, {5}, {7}, {9} }) }
-- The authors' stream walks a task's images in a uniformly random order, keeping the first
-- `per_class` of each class; once one class has them, the other's remaining images end the
-- task alone. Draws that walk (without replacement from the two classes' training images; their
-- 5 % validation cut does not change the distribution) and returns, per task, the position (1 or
-- 2) of the tail's class in the task, the tail's images and its full single-class batches.
local function draw_tails(seed)
  math.randomseed(seed)
  local per_class = examples // 2
  local out = {}
  for i = 1, #tasks do
    local left = { tail_tasks[1][i].train_size, tail_tasks[2][i].train_size }
    local kept = { 0, 0 }
    while kept[1] < per_class and kept[2] < per_class do
      local k = (math.random() * (left[1] + left[2]) < left[1]) and 1 or 2
      left[k], kept[k] = left[k] - 1, kept[k] + 1
    end
    local class = kept[1] == per_class and 2 or 1
    local images = per_class - kept[class]
    out[i] = { class = class, images = images,
               batches = tails and math.min(iterations - 1, images // batch) or 0 }
  end
  return out
end
-- balanced=true: one single-class task per class, for per-class accuracies.
local class_tasks = engram.split(dataset, { {0}, {1}, {2}, {3}, {4}, {5}, {6}, {7}, {8}, {9} })
local function task_accuracy(rt, task)
  if not balanced then return rt:accuracy(task, "class") end
  local sum = 0
  for _, c in ipairs(task.classes) do sum = sum + rt:accuracy(class_tasks[c + 1], "class") end
  return sum / #task.classes
end
local run_dir = engram.run_dir(cfg.out or "runs", "arm_mnist")
print(("arm_mnist: %d tasks, %d examples/task (one pass, %d iterations of %d), SGD lr %g, seeds %s -> %s")
  :format(#tasks, examples, iterations, batch, lr, table.concat(seeds, ","), run_dir))

local neocortex = { net = "mlp", hidden = { 400, 400 }, lr = lr, optimizer = "sgd" }

local function runtime(memory, seed)
  return engram.runtime { dataset = dataset, tasks = #tasks, seed = seed, threads = threads,
                          neocortex = neocortex, memory = memory }
end

local function copy(t, extra)
  local out = {}
  for k, v in pairs(t) do out[k] = v end
  for k, v in pairs(extra or {}) do out[k] = v end
  return out
end

-- The budget of exactly 50 raw images.
local function er50_budget(seed)
  local probe = runtime({ kind = "raw", budget_bytes = 50 * 784 }, seed)
  local bits = probe:memory().bits_per_item
  probe:close()
  return (50 * bits + 7) // 8
end

-- The budget of `memory` (a dvae) whose codes plus what the total view adds to them (its
-- encoder and decoder) make `total` bytes.
local function recollections_budget(memory, total, seed)
  local probe = runtime(copy(memory, { budget_bytes = 50 * 784 }), seed)
  local m = probe:memory()
  probe:close()
  local fixed = m.total_bytes - m.bytes_used
  assert(total > fixed, "arm_mnist: the association alone is larger than the total budget")
  return total - fixed
end

-- The memory of a method and how many recollections a batch gets.
local function memory_for(method, seed)
  er50_bytes = er50_bytes or er50_budget(seed)
  if method == "naive" then return { kind = "none" }, 0 end
  if method == "lwf" then return { kind = "lwf" }, 0 end
  if method == "lwf_distill" then
    return { kind = "lwf", outputs = "all", step = "separate", temperature = 1 }, 0
  end
  local arm_variants = {
    arm = {},
    arm_all = { outputs = "all" },
    arm_code = { outputs = "all", divergence = "mixture_kl" },
  }
  if arm_variants[method] then
    local memory = copy({ kind = "arm" }, arm_variants[method])
    if quick then memory = copy(memory, { images = 4, steps = 2 }) end
    return memory, 0
  end
  if method == "er50" then return { kind = "raw", budget_bytes = er50_bytes }, replay end
  if method == "recollections_er50" then return copy(dvae, { budget_bytes = er50_bytes }), replay end
  if method == "recollections_arm" then
    -- ARM's bytes: one copy of the classifier at 4 B per parameter.
    local probe = runtime({ kind = "none" }, seed)
    local arm_bytes = probe:memory().classifier_weight_bytes
    probe:close()
    local memory = copy(dvae, { weights = "int8" })  -- f32 encoder + decoder: 2.02 MB
    return copy(memory, { budget_bytes = recollections_budget(memory, arm_bytes, seed) }), replay
  end
  error(("arm_mnist: unknown method %q (naive, lwf, lwf_distill, er50, recollections_er50, "
    .. "recollections_arm, arm, arm_all, arm_code)"):format(method))
end

local function run(method, seed)
  local memory, per_batch = memory_for(method, seed)
  local started = engram.clock()
  local rt = runtime(memory, seed)
  local result = { method = method, seed = seed, class_il = {}, phases = {}, baseline = {} }
  -- FWT's baseline: the untrained model's class-IL accuracy on each task.
  for j, t in ipairs(tasks) do result.baseline[j] = task_accuracy(rt, t) end
  local done = 0
  result.tails = draw_tails(seed)
  for i, task in ipairs(tasks) do
    local tail = result.tails[i]
    -- ER as MIR implements it: the real and the replayed batch in one mean (weight 0.5).
    local replay_options = { per_batch = per_batch, weight = 0.5 }
    local phase = rt:learn(task, {
      iterations = iterations - tail.batches, batch = batch, progress = false,
      record_every = 50, replay = replay_options,
      label = ("%s s%d task %d"):format(method, seed, i) })
    if tail.batches > 0 then
      local tail_phase = rt:learn(tail_tasks[tail.class][i], {
        iterations = tail.batches, batch = batch, progress = false, replay = replay_options,
        label = ("%s s%d task %d tail"):format(method, seed, i) })
      phase.tail_iterations = tail_phase.iterations
    end
    phase.task = i
    -- curve = {every, iteration, task, loss, samples_per_s} (a point every 50 iterations).
    result.curve = engram.append_curve(result.curve or {}, phase, i, done)
    phase.curve = nil
    done = done + phase.iterations
    result.phases[#result.phases + 1] = phase
    local row = {}
    for j, t in ipairs(tasks) do row[j] = task_accuracy(rt, t) end
    result.class_il[#result.class_il + 1] = row
  end
  local m = engram.metrics(result.class_il, result.baseline)
  result.a_t, result.f_t, result.bwt, result.fwt = m.acc, m.forgetting, m.bwt, m.fwt
  result.memory = rt:memory()
  result.counters = rt:counters()
  rt:close()
  result.wall_seconds = engram.clock() - started
  return result
end

local results, by_method = {}, {}
for _, seed in ipairs(seeds) do
  for _, method in ipairs(methods) do
    local r = run(method, seed)
    results[#results + 1] = r
    by_method[method] = by_method[method] or {}
    table.insert(by_method[method], r)
    print(("%-19s seed %s: A_T %5.1f  F_T %5.1f  total bytes %9d  (%.1f s)")
      :format(method, seed, 100 * r.a_t, 100 * r.f_t, r.memory.total_bytes, r.wall_seconds))
  end
end

-- Mean and sample standard deviation (n - 1; 0 for one value).
local function stats(values)
  local n, s = #values, 0
  for _, v in ipairs(values) do s = s + v end
  local mean = s / n
  local ss = 0
  for _, v in ipairs(values) do ss = ss + (v - mean) ^ 2 end
  return mean, n > 1 and math.sqrt(ss / (n - 1)) or 0
end

local header = { "method", "seeds", "A_T %", "A_T std", "F_T %", "F_T std", "memory bytes",
                 "total bytes", "budget bytes", "wall s (mean)", "wall s (sum)" }
local rows, summary = {}, {}
for _, method in ipairs(methods) do
  local runs = by_method[method]
  local a, f, w = {}, {}, {}
  for i, r in ipairs(runs) do a[i], f[i], w[i] = 100 * r.a_t, 100 * r.f_t, r.wall_seconds end
  local am, as = stats(a)
  local fm, fs = stats(f)
  local wm = stats(w)
  local m = runs[1].memory
  summary[#summary + 1] = { method = method, seeds = #runs, a_t = am, a_t_std = as, f_t = fm,
                            f_t_std = fs, incremental_bytes = m.incremental_bytes,
                            total_bytes = m.total_bytes, budget_bytes = m.budget_bytes,
                            wall_seconds_mean = wm,
                            wall_seconds_sum = wm * #runs }
  rows[#rows + 1] = { method, tostring(#runs), ("%.1f"):format(am), ("%.1f"):format(as),
                      ("%.1f"):format(fm), ("%.1f"):format(fs), tostring(m.incremental_bytes),
                      tostring(m.total_bytes), tostring(m.budget_bytes), ("%.1f"):format(wm),
                      ("%.1f"):format(wm * #runs) }
end
local total_wall = 0
for _, r in ipairs(results) do total_wall = total_wall + r.wall_seconds end
engram.write_json(run_dir .. "/results.json", {
  protocol = { tasks = #tasks, examples_per_task = examples, iterations_per_task = iterations,
               tails = tails, balanced_accuracy = balanced,
               batch = batch, replay = replay, lr = lr, optimizer = "sgd", seeds = seeds,
               quick = quick, er50_bytes = er50_bytes, dvae = dvae, threads = threads,
               blas = engram.blas, version = engram.version },
  summary = summary,
  runs = results,
  wall_seconds = total_wall,
})
engram.write_csv(run_dir .. "/summary.csv", header, rows)
print(engram.format_table(header, rows))
print(("wall time: %.1f s; results: %s"):format(total_wall, run_dir))
