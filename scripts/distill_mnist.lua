-- Generative knowledge distillation on MNIST (papers/000 section 3, papers/001 Tables 1, 2, 5):
-- a CNN teacher's function moves to a student (CNN, or MLP 300-300) that only ever sees
-- recollections decoded from compressed codes of the training set, never a stored image.
--
--   engram run scripts/distill_mnist.lua                          CNN student, every column
--   engram run scripts/distill_mnist.lua --set student=mlp
--   engram run scripts/distill_mnist.lua --set episodes=100000 --set columns=real,active_diverse_10x
--   engram run scripts/distill_mnist.lua --set quick=true          a few minutes, small numbers
--
-- One episode = one Adam step of the student on one chosen example (see
-- modules/distill/distiller.h for why). Columns: real (true labels), real_teacher (real inputs,
-- teacher outputs), buffer_10x/50x/100x (recollections of stored codes of the training set),
-- codes_10x/100x (recollections of random codes), active_10x/100x (hardest of k = 10 stored
-- codes), active_diverse_10x/100x (k*n = 100 drawn, k = 10 kept by MSSS, then the hardest);
-- active_diverse_cosine_10x/100x and active_diverse_centered_10x/100x: the same with cosine
-- similarity, or dot products of mean-centred candidates, in MSSS (not in the paper).
-- 10x/50x/100x = 168/62/38 two-way variables (37x/101x/165x per code: the paper names the
-- compression after counting the decoder too).
--
-- Settings: student (cnn | mlp), episodes (10000), checkpoints (100,1000,10000), columns (all),
-- seed (1), teacher_epochs (8), vae_epochs (30), vae_arch (mlp | conv), vae_hidden (512; conv: the
-- filters, 0 = c*l/4), lr (1e-4), out (runs), quick (false). The paper used lr 1e-3 or 1e-4;
-- 1e-4 and a 30-epoch memory measured best here (docs/results/DISTILLATION.md). teacher_net
-- (cnn | mlp: a fast MLP teacher, for smoke tests). msss_gamma (1): the fraction of the
-- candidates each MSSS step examines (gamma of papers/000 Algorithm 1; the paper does not give
-- it). The teacher and the memories are cached in `out` (keyed by their options), so later runs
-- skip training them.

local cfg = engram.settings {
  "checkpoints", "columns", "dataset", "episodes", "lr", "msss_gamma", "out", "quick", "seed",
  "student", "teacher_cache", "teacher_epochs", "teacher_net", "vae_arch", "vae_epochs",
  "vae_hidden"
}
local quick = engram.boolean(cfg.quick, false)
local student = cfg.student or "cnn"
local episodes = engram.integer(cfg.episodes, quick and 1000 or 10000)
local checkpoints = {}
for _, e in ipairs(engram.numbers(cfg.checkpoints, quick and "100,1000" or "100,1000,10000")) do
  if e <= episodes then checkpoints[#checkpoints + 1] = e end
end
local seed = engram.integer(cfg.seed, 1)
local lr = engram.number(cfg.lr, 1e-4)
local msss_gamma = engram.number(cfg.msss_gamma, 1)
local vae_arch = cfg.vae_arch or "mlp"
local vae_epochs = engram.integer(cfg.vae_epochs, quick and 1 or 30)
local all_columns = "real,real_teacher,buffer_10x,buffer_50x,buffer_100x,codes_10x,codes_100x," ..
  "active_10x,active_100x,active_diverse_10x,active_diverse_100x"
local columns = engram.list(cfg.columns, all_columns)

local dataset = engram.dataset(cfg.dataset or "mnist")
local out = cfg.out or "runs"
local run_dir = engram.run_dir(out, "distill_mnist")
print(("distill_mnist: %s student, %d episodes, checkpoints %s -> %s")
  :format(student, episodes, table.concat(checkpoints, ","), run_dir))

-- The teacher (cached across runs: training it takes minutes).
local t0 = engram.clock()
local teacher_net = cfg.teacher_net or "cnn"
local teacher_epochs = engram.integer(cfg.teacher_epochs, quick and 1 or 8)
local teacher = engram.teacher {
  dataset = dataset, net = teacher_net, epochs = teacher_epochs, seed = seed,
  cache = cfg.teacher_cache or ("%s/teacher_%s_e%d_decay07_seed%d.state")
    :format(out, teacher_net, teacher_epochs, seed),
}
local ti = teacher:info()
print(("teacher: test accuracy %.4f (%s, %.0f s)")
  :format(ti.accuracy, ti.from_cache and "from cache" or "trained", engram.clock() - t0))

-- Recollection memories, built when a column needs them.
local variables = { ["10x"] = 168, ["50x"] = 62, ["100x"] = 38 }
local memories, memory_rows = {}, {}
local function memory(level)
  if not memories[level] then
    local arch = vae_arch
    local hidden = engram.numbers(cfg.vae_hidden, arch == "conv" and "0" or "512")
    local epochs = vae_epochs
    local m = engram.recollections {
      dataset = dataset, c = variables[level], l = 2, seed = seed, epochs = epochs,
      arch = arch, hidden = hidden,
      cache = ("%s/memory_c%d_l2_%s%s_e%d_seed%d.state"):format(out, variables[level], arch,
        table.concat(hidden, "-"), epochs, seed),
    }
    local s = m:stats()
    print(("memory %s: c=%d l=%d, %d codes, %.1fx per code, %d bytes of codes, L1 %.4f, "
      .. "-ELBO %s (%s)")
      :format(level, s.c, s.l, s.codes, s.compression, s.buffer_bytes, s.l1,
        s.neg_elbo and ("%.1f"):format(s.neg_elbo) or "-",
        s.from_cache and "from cache" or ("%.0f s"):format(s.seconds)))
    memory_rows[#memory_rows + 1] = { level, s.c, s.l, s.codes, ("%.1f"):format(s.compression),
      s.buffer_bytes, s.decoder_weight_bytes, ("%.4f"):format(s.l1), ("%.0f"):format(s.seconds),
      s.neg_elbo and ("%.2f"):format(s.neg_elbo) or "-" }
    memories[level] = m
  end
  return memories[level]
end

local function column_spec(name)
  if name == "real" or name == "real_teacher" then return { source = name } end
  local kind, level = name:match("^(.-)_(%d+x)$")
  assert(kind and variables[level], "unknown column '" .. name .. "'")
  local spec = { memory = memory(level) }
  if kind == "buffer" then spec.source = "buffer"
  elseif kind == "codes" then spec.source = "codes"
  elseif kind == "active" then spec.source, spec.curriculum = "buffer", "active"
  elseif kind == "active_diverse" then spec.source, spec.curriculum = "buffer", "active_diverse"
  elseif kind == "active_diverse_cosine" then
    spec.source, spec.curriculum, spec.similarity = "buffer", "active_diverse", "cosine"
  elseif kind == "active_diverse_centered" then
    spec.source, spec.curriculum, spec.similarity = "buffer", "active_diverse", "centered"
  else error("unknown column '" .. name .. "'") end
  return spec
end

local header = { "episodes" }
local results = {}
local timing_rows = {}
for _, name in ipairs(columns) do
  local spec = column_spec(name)
  local r = engram.distill {
    dataset = dataset, teacher = teacher, memory = spec.memory, student = student,
    source = spec.source, curriculum = spec.curriculum or "random", seed = seed, lr = lr,
    similarity = spec.similarity, msss_gamma = msss_gamma,
    episodes = episodes, checkpoints = checkpoints,
  }
  header[#header + 1] = name
  results[name] = r
  local accs = {}
  for i, a in ipairs(r.accuracy) do accs[#accs + 1] = ("%d: %.4f"):format(r.episodes[i], a) end
  print(("%-20s %s  (%.0f s, %.0f s evaluating)"):format(name, table.concat(accs, "  "),
    r.seconds, r.eval_seconds))
  timing_rows[#timing_rows + 1] = { name, ("%.1f"):format(r.seconds), ("%.1f"):format(r.eval_seconds),
    math.tointeger(r.drawn), ("%.4f"):format(r.drawn_mean_pixel), ("%.4f"):format(r.trained_mean_pixel) }
end

-- The table: student test accuracy (%) per column (rows: episodes).
local rows = {}
for i, e in ipairs(checkpoints) do
  local row = { e }
  for _, name in ipairs(columns) do
    local a = results[name].accuracy[i]
    row[#row + 1] = a and ("%.2f"):format(100 * a) or "-"
  end
  rows[#rows + 1] = row
end
print(("\nstudent (%s) test accuracy, %%, teacher %.2f%%:"):format(student, 100 * ti.accuracy))
print(engram.format_table(header, rows))
print(engram.format_table({ "memory", "c", "l", "codes", "compression/code", "code bytes",
  "decoder bytes", "L1", "train s" }, memory_rows))
print(engram.format_table({ "column", "seconds", "eval s", "examples drawn", "drawn mean pixel",
  "trained mean pixel" }, timing_rows))
engram.write_csv(run_dir .. "/accuracy.csv", header, rows)
engram.write_csv(run_dir .. "/memories.csv", { "memory", "c", "l", "codes", "compression",
  "code_bytes", "decoder_bytes", "l1", "train_seconds", "neg_elbo" }, memory_rows)
engram.write_csv(run_dir .. "/timing.csv", { "column", "seconds", "eval_seconds", "drawn",
  "drawn_mean_pixel", "trained_mean_pixel" }, timing_rows)
engram.write_json(run_dir .. "/summary.json", {
  student = student, seed = seed, episodes = episodes, checkpoints = checkpoints, lr = lr,
  vae_arch = vae_arch, vae_epochs = vae_epochs, msss_gamma = msss_gamma,
  teacher_accuracy = ti.accuracy, columns = columns,
  accuracy = (function()
    local t = {}
    for _, name in ipairs(columns) do t[name] = results[name].accuracy end
    return t
  end)(),
})
print("results in " .. run_dir)
