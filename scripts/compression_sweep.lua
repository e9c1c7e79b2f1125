-- Distortion against compression (papers/000 Tables 6 and 7, papers/001 Tables 3 and 4): one
-- autoencoder per latent size, trained on the MNIST train split; L1 distortion (mean absolute
-- pixel error, pixels in [0,1]) of decode(encode(x)) on the test split, next to the paper's.
--
--   engram run scripts/compression_sweep.lua                      the full sweep (20 min, 1 core)
--   engram run scripts/compression_sweep.lua --set quick=true     a tiny run (~20 s)
--   engram run scripts/compression_sweep.lua --set epochs=3 --set continuous=20,80
--
-- Settings (--set key=value): discrete (c x l list, "38x2,62x2,..."), continuous (h list),
-- kl_weights (continuous KL weights, each h is run with each: "1,0"; 1 = a VAE, 0 = a plain
-- autoencoder), epochs (10), steps (0 = use epochs), batch (128), lr (0.001), hidden (encoder
-- widths, "256"), seed (1), train_examples (0 = all 60000), test_examples (0 = all 10000),
-- threads (0 = leave torch's count: 1 under `engram run`), dataset (mnist), out (results: where
-- compression_sweep.csv goes besides the run directory), quick (false).
--
-- The run directory (runs/compression_sweep-*) gets compression_sweep.csv and results.json (the
-- settings' results and the paper's points); `engram report RUN_DIR` (or `engram run --report`)
-- plots distortion against compression from it.
--
-- Code sizes: a discrete code costs c*ceil(log2 l) bits, a continuous one 32*h bits; an MNIST
-- image 6272. The paper's continuous table counts compression as 49/h (128 bits per unit of its
-- h), so its rows are matched here by compression ratio, not by h: its h=5 row (9.8x) is our
-- h=20. The paper reports training-set distortion, best of four learning rates, with conv
-- networks for the discrete latents; this sweep uses one learning rate and MLPs (l1_train is
-- the training-set figure).

local cfg = engram.settings {
  "batch", "continuous", "dataset", "discrete", "epochs", "hidden", "kl_weights", "lr", "out",
  "quick", "seed", "steps", "test_examples", "threads", "train_examples"
}

local quick = engram.boolean(cfg.quick, false)
local discrete_default = "38x2,62x2,168x2,50x18,20x2,24x6,48x10,208x2,313x4"
local continuous_default, kl_default = "4,8,20,28,80,256", "1,0"
if quick then
  discrete_default, continuous_default, kl_default = "38x2,168x2,50x18", "8,20", "1"
end
local epochs = engram.integer(cfg.epochs, 10)
local steps = engram.integer(cfg.steps, quick and 500 or 0)
local batch = engram.integer(cfg.batch, 128)
local lr = engram.number(cfg.lr, 1e-3)
local hidden = engram.numbers(cfg.hidden, quick and "128" or "256")
local seed = engram.integer(cfg.seed, 1)
local train_examples = engram.integer(cfg.train_examples, quick and 3000 or 0)
local test_examples = engram.integer(cfg.test_examples, quick and 1000 or 0)
local threads = engram.integer(cfg.threads, 0)
local out = cfg.out or "results"

-- papers/001 Table 3 (categorical): "c x l" -> training L1 distortion.
local paper_discrete = {
  ["6x20"] = 0.06609, ["10x20"] = 0.04965, ["6x16"] = 0.07546, ["12x10"] = 0.05497,
  ["10x14"] = 0.05410, ["24x3"] = 0.05988, ["38x2"] = 0.05785, ["6x2"] = 0.13831,
  ["40x3"] = 0.04158, ["20x2"] = 0.08446, ["8x6"] = 0.08423, ["12x6"] = 0.06756,
  ["30x2"] = 0.06958, ["24x6"] = 0.04065, ["4x37"] = 0.07795, ["8x15"] = 0.06812,
  ["48x10"] = 0.01649, ["209x8"] = 0.01455, ["12x37"] = 0.03996, ["313x4"] = 0.01420,
  ["392x3"] = 0.01348, ["50x18"] = 0.01859, ["168x2"] = 0.01955, ["108x3"] = 0.01894,
  ["62x2"] = 0.04073, ["208x2"] = 0.01832, ["68x5"] = 0.01849,
}
-- papers/001 Table 4 (continuous): {compression, L1}, matched by compression (see the top).
local paper_continuous = {
  { 49, 0.135196 }, { 24.5, 0.124725 }, { 16.3333, 0.0947032 }, { 9.8, 0.0354035 },
  { 7, 0.031808 }, { 2.45, 0.0149272 },
}

local function paper_l1(r)
  if r.latent == "discrete" then return paper_discrete[("%dx%d"):format(r.c, r.l)] end
  for _, p in ipairs(paper_continuous) do
    if math.abs(p[1] - r.compression) < 0.005 * p[1] then return p[2] end
  end
  return nil
end

local settings = {}
for _, item in ipairs(engram.list(cfg.discrete, discrete_default)) do
  local c, l = item:match("^(%d+)x(%d+)$")
  assert(c, ("discrete: %q is not c x l (e.g. 38x2)"):format(item))
  settings[#settings + 1] = { latent = "discrete", c = math.tointeger(c), l = math.tointeger(l) }
end
for _, kl in ipairs(engram.numbers(cfg.kl_weights, kl_default)) do
  for _, h in ipairs(engram.numbers(cfg.continuous, continuous_default)) do
    settings[#settings + 1] = { latent = "continuous", h = h, kl_weight = kl }
  end
end

local dataset = engram.dataset(cfg.dataset or "mnist")
local run_dir = engram.run_dir("runs", "compression_sweep")
print(("compression_sweep: %d settings, %s, batch %d, lr %g, hidden {%s}, seed %d%s -> %s")
  :format(#settings, steps > 0 and (steps .. " steps") or (epochs .. " epochs"), batch, lr,
          table.concat(hidden, ","), seed, quick and " (quick)" or "", run_dir))

local function name_of(r)
  if r.latent == "discrete" then return ("%d x %d"):format(r.c, r.l) end
  return ("h=%d kl=%g"):format(r.h, r.kl_weight)
end

local started = engram.clock()
local results = {}
for _, s in ipairs(settings) do
  local r = engram.compression {
    dataset = dataset, latent = s.latent, c = s.c, l = s.l, h = s.h, kl_weight = s.kl_weight,
    hidden = hidden, epochs = epochs, steps = steps, batch = batch, lr = lr, seed = seed,
    train_examples = train_examples, test_examples = test_examples, threads = threads,
  }
  r.paper_l1 = paper_l1(r)
  r.kl_weight = s.kl_weight
  results[#results + 1] = r
  print(("%-10s %-14s %5d bits %8.2fx  L1 %.4f (train %.4f, paper %s)  %.0f s")
    :format(r.latent, name_of(r), r.bits_per_code, r.compression, r.l1, r.l1_train,
            r.paper_l1 and ("%.4f"):format(r.paper_l1) or "-", r.seconds))
end
local wall = engram.clock() - started

-- CSV and table.
local function opt(v, pattern) return v and pattern:format(v) or "" end
local header = { "latent", "c", "l", "h", "bits_per_code", "compression", "l1", "seconds",
                 "l1_train", "l1_untrained", "steps", "paper_l1", "kl_weight" }
local csv, rows = {}, {}
for _, r in ipairs(results) do
  local d = r.latent == "discrete"
  csv[#csv + 1] = {
    r.latent, d and tostring(r.c) or "", d and tostring(r.l) or "", d and "" or tostring(r.h),
    tostring(r.bits_per_code), ("%.4f"):format(r.compression), ("%.5f"):format(r.l1),
    ("%.1f"):format(r.seconds), ("%.5f"):format(r.l1_train), ("%.5f"):format(r.l1_untrained),
    tostring(r.steps), opt(r.paper_l1, "%.5f"), d and "" or ("%g"):format(r.kl_weight),
  }
  rows[#rows + 1] = {
    r.latent, name_of(r), tostring(r.bits_per_code),
    ("%.2f"):format(r.compression), ("%.4f"):format(r.l1), ("%.4f"):format(r.l1_train),
    opt(r.paper_l1, "%.4f"), ("%.0f"):format(r.seconds),
  }
end
engram.write_csv(run_dir .. "/compression_sweep.csv", header, csv)

-- The copy of the CSV under `out` (results/ by default) fails only if that directory is missing:
-- the run directory then has the only one.
local ok, err = pcall(engram.write_csv, out .. "/compression_sweep.csv", header, csv)
if not ok then print(("warning: %s (the run directory has a copy)"):format(err)) end

-- The paper's points, for the plot of `engram report` (compression as this sweep counts it).
local function bits_of(c, l)
  local b = 0
  while 2 ^ b < l do b = b + 1 end
  return c * b
end
local paper = {}
local discrete_keys = {}
for key in pairs(paper_discrete) do discrete_keys[#discrete_keys + 1] = key end
table.sort(discrete_keys)
for _, key in ipairs(discrete_keys) do
  local c, l = key:match("(%d+)x(%d+)")
  paper[#paper + 1] = { latent = "discrete", name = key,
                        compression = 6272 / bits_of(tonumber(c), tonumber(l)),
                        l1 = paper_discrete[key] }
end
for _, p in ipairs(paper_continuous) do
  paper[#paper + 1] = { latent = "continuous", compression = p[1], l1 = p[2] }
end

engram.write_json(run_dir .. "/results.json", {
  protocol = { epochs = epochs, steps = steps, batch = batch, lr = lr, hidden = hidden,
               seed = seed, train_examples = train_examples, test_examples = test_examples,
               threads = threads, torch_threads = engram.torch_threads, blas = engram.blas,
               version = engram.version, quick = quick },
  results = results,
  paper = paper,
  wall_seconds = wall,
})

print(engram.format_table({ "latent", "size", "bits", "compression", "L1 test", "L1 train",
                            "paper L1", "train s" }, rows))
print(("wall time %.0f s; %s/compression_sweep.csv; %s (plot: engram report %s)")
  :format(wall, out, run_dir, run_dir))
