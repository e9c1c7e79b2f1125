-- One method through a sequence of Split-MNIST tasks, with snapshots and resume.
--
--   engram run scripts/learn_tasks.lua --set tasks=3 --set snapshot=mem.snap
--       learns 3 tasks and snapshots the whole learning state after each one
--   engram run scripts/learn_tasks.lua --set tasks=3 --set stop_after=2 --set snapshot=mem.snap
--       stops after task 2 (the snapshot holds the state after task 2)
--   engram run scripts/learn_tasks.lua --set tasks=3 --resume mem.snap
--       continues from the snapshot: the runtime comes from the file, the curriculum position
--       and the accuracy rows so far from the state table stored with it
--   engram inspect mem.snap
--
-- Settings (--set key=value): tasks (5), iterations (2000), batch (128), replay (128),
-- memory (dvae | raw | none), budget_bytes (156800), c (100), l (2), hidden (256), seed (1),
-- threads (1), dataset (mnist), snapshot (path), stop_after (task number), record_every (50: a
-- learning-curve point every that many iterations; 0 = none), out (JSON path).
--
-- The state (snapshot and out): next_task, class_il, task_il, baseline (class-IL accuracy on
-- each task before learning), phases (rt:learn's stats per task, with association_neg_elbo for
-- dvae), curve = {every, iteration, task, loss, samples_per_s [, association_neg_elbo]}, and
-- once every task is learned acc, bwt, fwt.

local cfg = engram.settings {
  "batch", "budget_bytes", "c", "dataset", "hidden", "iterations", "l", "memory", "out", "replay",
  "record_every", "seed", "snapshot", "stop_after", "tasks", "threads"
}
local n_tasks = engram.integer(cfg.tasks, 5)
local learn_options = {
  iterations = engram.integer(cfg.iterations, 2000),
  batch = engram.integer(cfg.batch, 128),
  replay = engram.integer(cfg.replay, 128),
  record_every = engram.integer(cfg.record_every, 50),
}
local pairs_of_classes = { {0, 1}, {2, 3}, {4, 5}, {6, 7}, {8, 9} }
assert(n_tasks >= 1 and n_tasks <= #pairs_of_classes, "tasks must be in 1..5")
local schedule = {}
for i = 1, n_tasks do schedule[i] = pairs_of_classes[i] end

local dataset = engram.dataset(cfg.dataset or "mnist")
local tasks = engram.split(dataset, schedule)

local rt, state
if engram.resume then
  rt, state = engram.restore(engram.resume, { dataset = dataset })
  print(("resumed from %s: tasks 1..%d learned"):format(engram.resume, state.next_task - 1))
else
  local memory = { kind = cfg.memory or "dvae", budget_bytes = engram.integer(cfg.budget_bytes, 156800) }
  if memory.kind == "dvae" then
    memory.c = engram.integer(cfg.c, 100)
    memory.l = engram.integer(cfg.l, 2)
    memory.hidden = { engram.integer(cfg.hidden, 256) }
  end
  rt = engram.runtime {
    dataset = dataset, tasks = #tasks, seed = engram.integer(cfg.seed, 1),
    threads = engram.integer(cfg.threads, 1),
    neocortex = { net = "mlp", hidden = { 400, 400 }, lr = 1e-3 },
    memory = memory,
  }
  state = { next_task = 1, class_il = {}, task_il = {}, phases = {}, baseline = {} }
  -- FWT's baseline: the untrained model's class-IL accuracy on each task.
  for j, t in ipairs(tasks) do state.baseline[j] = rt:accuracy(t, "class") end
end
state.phases = state.phases or {}
local done = 0
for _, p in ipairs(state.phases) do done = done + p.iterations end

local stop_after = engram.integer(cfg.stop_after, #tasks)
for i = state.next_task, math.min(stop_after, #tasks) do
  learn_options.label = ("task %d"):format(i)
  local phase = rt:learn(tasks[i], learn_options)
  if learn_options.record_every > 0 then
    state.curve = engram.append_curve(state.curve or {}, phase, i, done)
    phase.curve = nil
  end
  done = done + phase.iterations
  phase.task = i
  state.phases[#state.phases + 1] = phase
  local class_row, task_row = {}, {}
  for j, t in ipairs(tasks) do
    class_row[j] = rt:accuracy(t, "class")
    task_row[j] = rt:accuracy(t, "task")
  end
  state.class_il[i], state.task_il[i] = class_row, task_row
  state.next_task = i + 1
  if cfg.snapshot then
    rt:snapshot(cfg.snapshot, state)
    print(("snapshot after task %d -> %s"):format(i, cfg.snapshot))
  end
end

local header = { "after task" }
for j = 1, #tasks do header[#header + 1] = "class-IL " .. j end
local rows = {}
for i, row in ipairs(state.class_il) do
  local line = { tostring(i) }
  for _, v in ipairs(row) do line[#line + 1] = ("%.4f"):format(v) end
  rows[#rows + 1] = line
end
print(engram.format_table(header, rows))
if #state.class_il == #tasks and state.baseline and #state.baseline == #tasks then
  local m = engram.metrics(state.class_il, state.baseline)
  state.acc, state.bwt, state.fwt = m.acc, m.bwt, m.fwt
  print(("ACC %.4f  BWT %.4f  FWT %.4f"):format(m.acc, m.bwt, m.fwt))
end
if cfg.out then engram.write_json(cfg.out, state) end
rt:close()
