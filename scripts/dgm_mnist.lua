-- Dynamic Generative Memory on MNIST (papers/004, SUMMARY.md C; issue 16): 10 tasks of one class
-- each, strictly class-incremental, no stored data. In the same run: the dgm memory kind (a
-- masked conditional GAN that grows), joint training of the same classifier (the upper bound),
-- and engram's recollections (dvae codes) at the same total bytes as the grown generator.
--
--   engram run scripts/dgm_mnist.lua                        seed 1, every method
--   engram run scripts/dgm_mnist.lua --set quick=1          3 tasks, a few seconds (tests)
--   engram run scripts/dgm_mnist.lua --set iterations=300 --set seeds=1,2,3
--
-- The evaluated classifier is engram's neocortex (an MLP 784-400-400-10, Adam 1e-3, kept across
-- tasks): it learns the real batch of the current class and `replay` recollections per batch of
-- the earlier classes, labelled with the class they were generated for (dgm) or stored with
-- (dvae); replay's share of the loss is 1 - 1/(tasks seen), so every class seen weighs the same.
-- A5 and A10 are single-head accuracies (all classes seen compete) on the MNIST test images of
-- the first 5 and all 10 classes, after tasks 5 and 10.
--
-- Settings (--set key=value): methods (dgm,joint,dvae), seeds (1), iterations (per task, 3200),
-- batch (64), replay (64), nz (128), hidden (256,512: the generator's masked layers at the
-- start), critic (512,256), lr (0.002), s_max (1e4), lambda (0.08), gp (10), ac (1),
-- critic_steps (2), sleep_steps (500; 0 in the quick setting: classifier steps on recollections
-- of every class seen after each task, 0 = none), net (mlp: the
-- evaluated classifier of every method, mlp or cnn, the LeNet-style CNN), threads (1),
-- quick (false), out (runs). The defaults are the best setting measured
-- (README, docs/results/dgm_mnist_*): A10 rose with the iterations per task (300: 82.1, 800:
-- 91.4), with a second critic step per generator step (800: 93.8; 1600: 94.7), with the
-- consolidation phase (1600: 94.9) and with 3200 iterations (95.6, seeds 1-3).
-- Each task writes samples_task<N>_seed<S>.png (rt:recollection_grid: a row per class learned,
-- real test images left, the generator's samples right); the network's bytes (generator weights
-- + masks) after each task are in results.json and the table (the widths are logged by the kind).

local cfg = engram.settings {
  "ac", "batch", "critic", "critic_steps", "gp", "hidden", "iterations", "lambda", "lr",
  "methods", "net", "nz", "out", "quick", "replay", "s_max", "seeds", "sleep_steps", "threads"
}

local quick = engram.boolean(cfg.quick, false)
local seeds = engram.numbers(cfg.seeds, "1")
local methods = engram.list(cfg.methods, "dgm,joint,dvae")
local iterations = engram.integer(cfg.iterations, quick and 30 or 3200)
local batch = engram.integer(cfg.batch, quick and 32 or 64)
local replay = engram.integer(cfg.replay, quick and 32 or 64)
local threads = engram.integer(cfg.threads, 1)
-- The evaluated classifier: "mlp" (784-400-400-10) or "cnn" (the LeNet-style CNN), for every method.
local net = cfg.net or "mlp"
if net ~= "mlp" and net ~= "cnn" then
  error(("dgm_mnist: net must be mlp or cnn, not %s"):format(net))
end
-- A consolidation phase at each task end (after the generator has grown): that many classifier
-- steps on 2 * batch recollections of every class seen, balanced; 0 = none.
local sleep_steps = engram.integer(cfg.sleep_steps, quick and 0 or 500)
if sleep_steps < 0 then
  error(("dgm_mnist: sleep_steps must be >= 0 (0 = no consolidation phase), not %d")
    :format(sleep_steps))
end
local hidden = engram.numbers(cfg.hidden, quick and "32,64" or "256,512")
local critic = engram.numbers(cfg.critic, quick and "64" or "512,256")
local dataset = engram.dataset("mnist")
-- engram's recollections: the dvae kind's defaults (100 binary variables per code, an MLP
-- 784-256), smaller in the quick setting so that its decoder fits the small generator's bytes.
local dvae_hidden = quick and { 64 } or { 256 }
local count = quick and 3 or 10
local classes = {}
for k = 0, count - 1 do classes[#classes + 1] = { k } end
local tasks = engram.split(dataset, classes)
local first5 = engram.joint({ table.unpack(tasks, 1, math.min(5, count)) })
local all = engram.joint(tasks)
local run_dir = engram.run_dir(cfg.out or "runs", "dgm_mnist")

for _, m in ipairs(methods) do
  if m ~= "dgm" and m ~= "joint" and m ~= "dvae" then
    error(("dgm_mnist: unknown method %s (dgm, joint, dvae)"):format(m))
  end
end

local dgm_memory = {
  kind = "dgm", nz = engram.integer(cfg.nz, quick and 16 or 128), hidden = hidden,
  critic_hidden = critic, lr = engram.number(cfg.lr, 0.002),
  s_max = engram.number(cfg.s_max, 1e4), lambda = engram.number(cfg.lambda, 0.08),
  gp = engram.number(cfg.gp, 10), ac = engram.number(cfg.ac, 1),
  critic_steps = engram.integer(cfg.critic_steps, 2), anneal_steps = iterations,
}

print(("dgm_mnist: %d tasks of one class, %d iterations of %d per task, %d recollections per "
  .. "batch, methods %s, seeds %s -> %s"):format(count, iterations, batch, replay,
  table.concat(methods, ","), table.concat(seeds, ","), run_dir))

local function runtime(memory, seed)
  return engram.runtime { dataset = dataset, tasks = count, seed = seed, threads = threads,
                          memory = memory, neocortex = { net = net } }
end

-- The dvae budget whose codes plus its weights (encoder and decoder) make `total` bytes.
local function dvae_budget(total, seed)
  local probe = runtime({ kind = "dvae", hidden = dvae_hidden, budget_bytes = 1000 }, seed)
  local m = probe:memory()
  probe:close()
  local fixed = m.total_bytes - m.bytes_used
  assert(total > fixed, "dgm_mnist: the dvae weights alone are larger than the generator")
  return total - fixed
end

-- Class-incremental learning of the tasks with `memory`; A_t after each task.
local function incremental(method, memory, seed)
  local started = engram.clock()
  local rt = runtime(memory, seed)
  local r = { method = method, seed = seed, accuracy = {}, bytes = {}, seconds_per_task = {} }
  for i, task in ipairs(tasks) do
    local t0 = engram.clock()
    rt:learn(task, { iterations = iterations, batch = batch, progress = not quick,
                     replay = (i > 1) and { per_batch = replay } or 0,
                     label = ("%s s%d task %d/%d"):format(method, seed, i, count) })
    -- The task's end: dgm binarises its masks and grows; then the optional consolidation phase.
    if sleep_steps > 0 then
      rt:consolidate { steps = sleep_steps, batch = 2 * batch, record_every = 0,
                       progress = not quick, label = ("%s s%d sleep %d"):format(method, seed, i) }
    else
      rt:consolidate()
    end
    r.seconds_per_task[i] = engram.clock() - t0
    local seen = engram.joint({ table.unpack(tasks, 1, i) })
    r.accuracy[i] = rt:accuracy(seen, "class")
    local m = rt:memory()
    r.bytes[i] = m.total_bytes
    if method == "dgm" then
      rt:recollection_grid(("%s/samples_task%d_seed%d.png"):format(run_dir, i, seed),
                           { tasks = { table.unpack(tasks, 1, i) }, per_class = 8 })
    end
    print(("%-5s seed %d task %2d: accuracy on classes 0-%d %.2f%%, memory %d bytes, %.0f s")
      :format(method, seed, i, i - 1, 100 * r.accuracy[i], r.bytes[i], r.seconds_per_task[i]))
  end
  r.a5 = r.accuracy[math.min(5, count)]
  r.a10 = r.accuracy[count]
  r.total_bytes = r.bytes[count]
  r.seconds = engram.clock() - started
  rt:close()
  return r
end

-- The same classifier on all the classes at once, as many steps as the incremental runs.
local function joint(seed)
  local started = engram.clock()
  local rt = runtime({ kind = "none" }, seed)
  rt:learn(all, { iterations = iterations * count, batch = batch, progress = not quick,
                  label = ("joint s%d"):format(seed) })
  local r = { method = "joint", seed = seed, a10 = rt:accuracy(all, "class"),
              a5 = rt:accuracy(first5, "class"), total_bytes = 0 }
  r.seconds = engram.clock() - started
  rt:close()
  print(("joint seed %d: A5 %.2f%%, A10 %.2f%%, %.0f s"):format(seed, 100 * r.a5, 100 * r.a10,
    r.seconds))
  return r
end

local started = engram.clock()
local runs = {}
for _, seed in ipairs(seeds) do
  local dgm_bytes = nil
  for _, method in ipairs(methods) do
    local r
    if method == "dgm" then
      r = incremental("dgm", dgm_memory, seed)
      dgm_bytes = r.total_bytes
    elseif method == "dvae" then
      assert(dgm_bytes, "dgm_mnist: dvae needs the dgm run first (methods order)")
      r = incremental("dvae", { kind = "dvae", hidden = dvae_hidden,
                                budget_bytes = dvae_budget(dgm_bytes, seed) }, seed)
      r.allowed_bytes = dgm_bytes  -- its budget + decoder; total_bytes is what it filled
    else
      r = joint(seed)
    end
    runs[#runs + 1] = r
  end
end
local wall = engram.clock() - started

local header = { "method", "seed", "A5", "A10", "total_bytes", "allowed_bytes", "seconds" }
local rows = {}
for _, r in ipairs(runs) do
  rows[#rows + 1] = { r.method, tostring(r.seed), ("%.2f"):format(100 * r.a5),
                      ("%.2f"):format(100 * r.a10), tostring(r.total_bytes),
                      tostring(r.allowed_bytes or r.total_bytes),
                      ("%.0f"):format(r.seconds) }
end
local growth_header = { "task" }
for _, r in ipairs(runs) do
  if r.bytes then growth_header[#growth_header + 1] = ("%s_s%d_bytes"):format(r.method, r.seed) end
end
local growth = {}
for i = 1, count do
  local row = { tostring(i) }
  for _, r in ipairs(runs) do
    if r.bytes then row[#row + 1] = tostring(r.bytes[i]) end
  end
  growth[#growth + 1] = row
end
engram.write_json(run_dir .. "/results.json", {
  protocol = { dataset = "mnist", tasks = count, iterations = iterations, batch = batch,
               replay = replay, net = net, dgm = dgm_memory, methods = methods, seeds = seeds, quick = quick,
               paper = { A5 = 98.14, A10 = 99.17 }, blas = engram.blas,
               version = engram.version },
  runs = runs, wall_seconds = wall,
})
engram.write_csv(run_dir .. "/summary.csv", header, rows)
engram.write_csv(run_dir .. "/growth.csv", growth_header, growth)
print("single-head accuracy (%), the paper's DGM: A5 98.14, A10 99.17:")
print(engram.format_table(header, rows))
print("memory bytes after each task (dgm: generator weights + masks; dvae: codes + decoder):")
print(engram.format_table(growth_header, growth))
print(("wall time %.0f s"):format(wall))
print("results: " .. run_dir)
