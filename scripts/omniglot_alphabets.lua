-- Omniglot alphabets as tasks (papers/000 section 0.3): the regime where lossy memory should
-- matter most, hundreds of characters with 18 training drawings each. The alphabets come one
-- after another; one head over every character seen (class-incremental); a small CNN; one pass
-- over each alphabet's training drawings, batch 10 (+10 recalled), with `steps` steps on each
-- batch (the paper's "3 steps"). In one run: fine-tuning, experience replay (raw images) and
-- recollections (discrete VAE codes, the association pretrained on MNIST) at incremental budgets
-- of 10 and 50 images' bytes, and joint training (one pass over all alphabets at once).
--
--   engram run scripts/omniglot_alphabets.lua                 3 seeds, steps 1 and 3
--   engram run scripts/omniglot_alphabets.lua --set quick=1   2 alphabets, tests
--
-- Settings (--set key=value): seeds (1,2,3), methods (finetune,er,recollections,joint),
-- budgets (10,50: images' worth of bytes, 784 each), rhos (one per budget: the share of drawings
-- each budget's recollections are sized to keep, for engram.latent_size; 0.2 for 10 images and
-- 0.5 for 50, the best measured: docs/results/OMNIGLOT.md; other budgets need it), steps (1,3),
-- batch (10), replay (10), hidden (256, association width), arch (mlp | conv: the
-- association's layers), assoc_lr (1e-3), assoc_steps (10: the association's optimiser steps
-- on each batch it learns; one pass gives it too few steps to decode thin strokes:
-- docs/results/OMNIGLOT.md),
-- sleep_steps (0: steps of a consolidation phase on the memory at each alphabet's end, for ER and
-- recollections alike), sleep_association (true: the association learns its own recollections in
-- that phase too), pretrain (mnist; none in the quick setting: a dataset the recollections'
-- association first learns `pretrain_iterations` batches of 64 of, then starts each run from that
-- snapshot through memory.association_from; no Omniglot drawing is seen before the stream;
-- `none` = a fresh association; docs/results/OMNIGLOT.md measures both),
-- pretrain_iterations (3000), alphabets (0 = all), quick (false), out (runs).
-- Retention accuracy: mean class-IL accuracy over all alphabets after the last one.

local cfg = engram.settings {
  "alphabets", "arch", "assoc_lr", "assoc_steps", "batch", "budgets", "hidden", "methods", "out",
  "pretrain", "pretrain_iterations", "quick", "replay", "rhos", "seeds", "sleep_association",
  "sleep_steps", "steps"
}
local quick = engram.boolean(cfg.quick, false)
local seeds = engram.numbers(cfg.seeds, quick and "1" or "1,2,3")
local methods = engram.list(cfg.methods, quick and "finetune,recollections" or
                                         "finetune,er,recollections,joint")
local budgets = engram.numbers(cfg.budgets, quick and "50" or "10,50")
-- The measured best share of drawings kept per budget (docs/results/OMNIGLOT.md).
local default_rho = { [10] = 0.2, [50] = 0.5 }
local rhos
if cfg.rhos then
  rhos = engram.numbers(cfg.rhos)
elseif quick then
  rhos = { 1 }
else
  rhos = {}
  for i, images in ipairs(budgets) do
    rhos[i] = default_rho[images] or error(("omniglot_alphabets: no default rho for a budget of "
      .. "%s images: give one per budget with --set rhos=..."):format(images))
  end
end
local steps_list = engram.numbers(cfg.steps, quick and "1" or "1,3")
local batch = engram.integer(cfg.batch, 10)
local replay = engram.integer(cfg.replay, 10)
local hidden = engram.integer(cfg.hidden, 256)
local arch = cfg.arch or "mlp"
local assoc_lr = engram.number(cfg.assoc_lr, 1e-3)
local assoc_steps = engram.integer(cfg.assoc_steps, 10)
local sleep_steps = engram.integer(cfg.sleep_steps, 0)
if sleep_steps < 0 then
  error(("omniglot_alphabets: sleep_steps must be >= 0 (0 = no consolidation phase), not %d")
    :format(sleep_steps))
end
local sleep_association = engram.boolean(cfg.sleep_association, true)
local pretrain = cfg.pretrain or (quick and "none" or "mnist")
if pretrain == "omniglot" then
  error("omniglot_alphabets: pretrain must be another dataset than the stream's (omniglot)")
end
local pretrain_iterations = engram.integer(cfg.pretrain_iterations, 3000)
if pretrain_iterations < 1 then
  error(("omniglot_alphabets: pretrain_iterations must be >= 1, not %d"):format(pretrain_iterations))
end
if #rhos ~= #budgets then
  error(("omniglot_alphabets: rhos needs one value per budget (%d budgets, %d rhos)")
    :format(#budgets, #rhos))
end

local dataset = engram.dataset("omniglot")
local all_tasks = engram.split(dataset, "groups")
local count = engram.integer(cfg.alphabets, quick and 2 or 0)
local tasks = {}
for i = 1, (count > 0 and math.min(count, #all_tasks) or #all_tasks) do tasks[i] = all_tasks[i] end
local drawings = 0
for _, t in ipairs(tasks) do drawings = drawings + t.train_size end
local run_dir = engram.run_dir(cfg.out or "runs", "omniglot_alphabets")
print(("omniglot_alphabets: %d alphabets, %d characters, %d training drawings -> %s")
  :format(#tasks, dataset.classes, drawings, run_dir))

-- Bits a stored item carries beside its code: its label and its task (the code buffer's
-- fields), so the codes get what is left of the budget.
local function bits_for(n) local b = 0 while (1 << b) < n do b = b + 1 end return math.max(b, 1) end
local meta_bits = bits_for(dataset.classes) + bits_for(#tasks)

-- papers/000 App. B: the latent that maximises a code's capacity when a share rho of the
-- drawings is kept within the budget.
local latents = {}
for i, images in ipairs(budgets) do
  if images < 1 or images ~= math.floor(images) then
    error(("omniglot_alphabets: budgets are whole numbers of images >= 1, not %s"):format(images))
  end
  local bytes = images * 784
  local code_bytes = bytes - rhos[i] * drawings * meta_bits / 8
  if code_bytes <= 0 then
    error(("omniglot_alphabets: a budget of %d images (%d bytes) cannot even hold the labels of "
      .. "the %.0f drawings rho %.2f keeps (%d bits each): lower rho or raise the budget")
      :format(images, bytes, rhos[i] * drawings, rhos[i], meta_bits))
  end
  local z = engram.latent_size { budget_bytes = code_bytes, examples = drawings, rho = rhos[i],
                                 kind = "incremental" }
  latents[images] = { c = z.c, l = z.l, rho = rhos[i], bytes = bytes }
  print(("budget %d images (%d bytes): rho %.2f -> c = %d, l = %d (%d bits per code + %d of label and task)")
    :format(images, bytes, rhos[i], z.c, z.l, z.bits_per_code, meta_bits))
end

-- The recollections' association pretrained on another dataset (pretrain): one snapshot per
-- latent size, made once per run and shared by its seeds.
local pretrained = {}
local function pretrained_association(z)
  local path = ("%s/association_%s_c%d_l%d.engram"):format(run_dir, pretrain, z.c, z.l)
  if pretrained[path] then return path end
  local started = engram.clock()
  local source = engram.dataset(pretrain)
  local rt = engram.runtime {
    dataset = source, tasks = 1, seed = 1, threads = 1,
    memory = { kind = "dvae", c = z.c, l = z.l, hidden = { hidden }, arch = arch, lr = assoc_lr },
  }
  local every_class = {}
  for k = 0, source.classes - 1 do every_class[#every_class + 1] = k end
  local phase = rt:learn(engram.split(source, { every_class })[1], {
    iterations = pretrain_iterations, batch = 64, replay = 0, progress = false })
  rt:snapshot(path)
  rt:close()
  pretrained[path] = true
  print(("pretrained the association (c = %d, l = %d) on %s: %d batches of 64, %.0f s -> %s")
    :format(z.c, z.l, pretrain, phase.iterations, engram.clock() - started, path))
  return path
end

local function memory_for(method, images)
  if method == "finetune" or method == "joint" then return { kind = "none" } end
  local bytes = images * 784
  if method == "er" then return { kind = "raw", budget_bytes = bytes } end
  if method == "recollections" then
    local z = latents[images]
    return { kind = "dvae", budget_bytes = bytes, c = z.c, l = z.l, hidden = { hidden },
             arch = arch, lr = assoc_lr, steps = assoc_steps,
             association_from = pretrain ~= "none" and pretrained_association(z) or nil }
  end
  error("unknown method " .. method .. " (finetune, er, recollections, joint)")
end

local function mean(row) local s = 0 for _, v in ipairs(row) do s = s + v end return s / #row end

local function run(method, images, steps, seed)
  local started = engram.clock()
  local rt = engram.runtime {
    dataset = dataset, tasks = #tasks, seed = seed, threads = 1,
    neocortex = { net = "cnn", lr = 1e-3 },
    memory = memory_for(method, images),
  }
  local r = { method = method, budget_images = images, steps = steps, seed = seed, class_il = {},
              phases = {}, baseline = {} }
  -- FWT's baseline: the untrained model's class-IL accuracy on each alphabet.
  for j, t in ipairs(tasks) do r.baseline[j] = rt:accuracy(t, "class") end
  local schedule = method == "joint" and { engram.joint(tasks) } or tasks
  local done = 0
  for i, task in ipairs(schedule) do
    local iterations = math.ceil(task.train_size / batch) * steps
    local phase = rt:learn(task, {
      iterations = iterations, batch = batch, steps_per_batch = steps,
      replay = (method == "finetune" or method == "joint") and 0 or replay, progress = false,
      record_every = 50 })
    -- curve = {every, iteration, task, loss, samples_per_s [, association_neg_elbo]}.
    r.curve = engram.append_curve(r.curve or {}, phase, i, done)
    phase.curve, phase.task = nil, i
    done = done + phase.iterations
    r.phases[#r.phases + 1] = phase
    if sleep_steps > 0 and method ~= "finetune" and method ~= "joint" then
      rt:consolidate { steps = sleep_steps, batch = 2 * replay, association = sleep_association,
                       progress = false }
    end
    local row = {}
    for j, t in ipairs(tasks) do row[j] = rt:accuracy(t, "class") end
    r.class_il[#r.class_il + 1] = row
  end
  r.retention = mean(r.class_il[#r.class_il])
  if method ~= "joint" then
    local m = engram.metrics(r.class_il, r.baseline)
    r.bwt, r.forgetting, r.fwt = m.bwt, m.forgetting, m.fwt
  end
  r.memory = rt:memory()
  if method == "recollections" then
    local l1 = 0
    for _, t in ipairs(tasks) do l1 = l1 + rt:distortion(t, 100) end
    r.l1_distortion = l1 / #tasks
  end
  rt:close()
  r.wall_seconds = engram.clock() - started
  return r
end

local runs = {}
local started = engram.clock()
for _, seed in ipairs(seeds) do
  for _, steps in ipairs(steps_list) do
    for _, method in ipairs(methods) do
      local budget_list = (method == "er" or method == "recollections") and budgets or { 0 }
      for _, images in ipairs(budget_list) do
        local r = run(method, images, steps, seed)
        runs[#runs + 1] = r
        print(("%-13s %2d images, %d steps, seed %d: retention %.4f, %d items, L1 %s (%.0f s)")
          :format(method, images, steps, seed, r.retention, r.memory.codes_stored or 0,
                  r.l1_distortion and ("%.3f"):format(r.l1_distortion) or "-", r.wall_seconds))
      end
    end
  end
end

-- Mean and standard deviation over seeds per (method, budget, steps).
local groups, order = {}, {}
for _, r in ipairs(runs) do
  local key = ("%s|%d|%d"):format(r.method, r.budget_images, r.steps)
  if not groups[key] then
    groups[key] = { method = r.method, images = r.budget_images, steps = r.steps, values = {},
                    items = r.memory.codes_stored or 0, bytes = r.memory.bytes_used or 0,
                    seconds = 0 }
    order[#order + 1] = key
  end
  local g = groups[key]
  g.values[#g.values + 1] = r.retention
  g.seconds = g.seconds + r.wall_seconds
end
local header = { "method", "budget (images)", "steps", "retention", "sd", "seeds", "items stored",
                 "memory bytes", "wall s per run" }
local rows = {}
for _, key in ipairs(order) do
  local g = groups[key]
  local m = mean(g.values)
  local d = 0
  for _, v in ipairs(g.values) do d = d + (v - m) ^ 2 end
  local sd = #g.values > 1 and math.sqrt(d / (#g.values - 1)) or 0
  g.mean, g.sd = m, sd
  rows[#rows + 1] = { g.method, g.images > 0 and tostring(g.images) or "-", tostring(g.steps),
                      ("%.4f"):format(m), ("%.4f"):format(sd), tostring(#g.values),
                      tostring(g.items), tostring(g.bytes), ("%.1f"):format(g.seconds / #g.values) }
end
local wall = engram.clock() - started
engram.write_json(run_dir .. "/results.json", {
  protocol = { alphabets = #tasks, characters = dataset.classes, drawings = drawings,
               batch = batch, replay = replay, budgets = budgets, latents = latents,
               seeds = seeds, steps = steps_list, hidden = hidden, arch = arch,
               assoc_lr = assoc_lr, assoc_steps = assoc_steps, sleep_steps = sleep_steps,
               sleep_association = sleep_association, pretrain = pretrain,
               pretrain_iterations = pretrain ~= "none" and pretrain_iterations or nil,
               blas = engram.blas, version = engram.version },
  runs = runs, groups = groups, wall_seconds = wall,
})
engram.write_csv(run_dir .. "/summary.csv", header, rows)
print(engram.format_table(header, rows))
print(("wall time %.0f s"):format(wall))
print("results: " .. run_dir)
