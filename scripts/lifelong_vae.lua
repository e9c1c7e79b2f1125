-- Lifelong generative modelling (papers/002, SUMMARY.md A.3): the 10 Fashion-MNIST classes as 10
-- distributions learned one after another by a student-teacher VAE, with and without the
-- consistency term, and a batch VAE trained on all the data as the upper bound, in one run.
--
--   engram run scripts/lifelong_vae.lua                      full protocol, seeds 1,2,3
--   engram run scripts/lifelong_vae.lua --set quick=1        3 distributions, short (tests)
--
-- Settings (--set key=value): seeds (1,2,3), methods (consistency,no_consistency,batch),
-- max_steps (per distribution, 1500; the batch VAE gets that times the distributions),
-- patience (50 steps), eval_every (10), batch (64), f (16, Gaussian dims), hidden (512),
-- lambda (1, weight of I(z_d; x)), lr (1e-3), validation (200 held out per distribution),
-- test_examples (0 = each class's whole test split), dataset (fashion-mnist), quick (false),
-- out (runs).
-- -ELBO (nats) is measured on the test set of every distribution seen after each transition,
-- with the expectation over z_d exact and one z_c sample per value.

local cfg = engram.settings {
  "batch", "dataset", "eval_every", "f", "hidden", "lambda", "lr", "max_steps", "methods", "out",
  "patience", "quick", "seeds", "test_examples", "validation"
}

local quick = engram.boolean(cfg.quick, false)
local seeds = engram.numbers(cfg.seeds, quick and "1" or "1,2,3")
local methods = engram.list(cfg.methods, "consistency,no_consistency,batch")
local max_steps = engram.integer(cfg.max_steps, quick and 60 or 1500)
local hidden = engram.integer(cfg.hidden, quick and 128 or 512)
local dataset = engram.dataset(cfg.dataset or "fashion-mnist")
local count = quick and 3 or dataset.classes
local distributions = {}
for k = 0, count - 1 do distributions[#distributions + 1] = { k } end
local run_dir = engram.run_dir(cfg.out or "runs", "lifelong_vae")

local function options(method, seed)
  local o = {
    dataset = dataset, distributions = distributions, seed = seed,
    f = engram.integer(cfg.f, quick and 8 or 16), hidden = { hidden, hidden },
    lr = engram.number(cfg.lr, 1e-3), batch = engram.integer(cfg.batch, 64),
    max_steps = max_steps, patience = engram.integer(cfg.patience, 50),
    eval_every = engram.integer(cfg.eval_every, 10),
    validation = engram.integer(cfg.validation, quick and 100 or 200),
    test_examples = engram.integer(cfg.test_examples, quick and 200 or 0),
    consistency = 1, mutual_info = engram.number(cfg.lambda, 1),
    grid = ("%s/samples_%s_seed%d.png"):format(run_dir, method, seed),
  }
  if method == "no_consistency" then
    o.consistency, o.mutual_info = 0, 0
  elseif method == "batch" then
    o.batch_mode = true
    o.max_steps = max_steps * #distributions
  elseif method ~= "consistency" then
    error("unknown method " .. method .. " (consistency, no_consistency, batch)")
  end
  return o
end

print(("lifelong_vae: %d distributions of %s, methods %s, seeds %s -> %s")
  :format(#distributions, dataset.name, table.concat(methods, ","), table.concat(seeds, ","),
          run_dir))
local started = engram.clock()
local runs = {}
for _, seed in ipairs(seeds) do
  for _, method in ipairs(methods) do
    local r = engram.lifelong_vae(options(method, seed))
    r.method, r.seed = method, seed
    runs[#runs + 1] = r
    print(("%-15s seed %d: -ELBO after the last distribution %.1f nats, J %d, %d steps, %.0f s")
      :format(method, seed, r.elbo[#r.elbo], r.j, r.steps[#r.steps], r.seconds))
  end
end

-- Per method: mean and standard deviation over seeds of -ELBO after each transition.
local function stats(values)
  local s = 0
  for _, v in ipairs(values) do s = s + v end
  local mean = s / #values
  local d = 0
  for _, v in ipairs(values) do d = d + (v - mean) ^ 2 end
  return mean, (#values > 1) and math.sqrt(d / (#values - 1)) or 0
end
local header = { "after" }
for _, method in ipairs(methods) do header[#header + 1] = method end
local rows, summary = {}, {}
for i = 1, #distributions do
  local row = { tostring(i) }
  for _, method in ipairs(methods) do
    local values = {}
    for _, r in ipairs(runs) do
      if r.method == method then values[#values + 1] = r.elbo[i] end
    end
    local mean, sd = stats(values)
    row[#row + 1] = ("%.1f +- %.1f"):format(mean, sd)
    summary[#summary + 1] = { method = method, after = i, mean = mean, sd = sd, n = #values }
  end
  rows[#rows + 1] = row
end

-- Consistency: agreement of student and teacher z_d at the end of each interval on the
-- distributions learned at least 3 intervals before, averaged (the consistency method's runs).
local agreement = {}
for _, method in ipairs(methods) do
  local values = {}
  for _, r in ipairs(runs) do
    if r.method == method then
      for i, row in ipairs(r.consistency) do
        for d, v in ipairs(row) do
          if i - d >= 3 then values[#values + 1] = v end
        end
      end
    end
  end
  if #values > 0 then agreement[method] = (stats(values)) end
end

local wall = engram.clock() - started
engram.write_json(run_dir .. "/results.json", {
  protocol = { dataset = dataset.name, distributions = distributions, methods = methods,
               seeds = seeds, max_steps = max_steps, hidden = hidden, quick = quick,
               blas = engram.blas, version = engram.version },
  runs = runs, summary = summary, agreement_old = agreement, wall_seconds = wall,
})
engram.write_csv(run_dir .. "/summary.csv", header, rows)
print("-ELBO (nats) on the test sets of all distributions seen, mean +- sd over seeds:")
print(engram.format_table(header, rows))
for method, v in pairs(agreement) do
  print(("%s: student/teacher z_d agreement on distributions learned >= 3 intervals before: %.3f")
    :format(method, v))
end
print(("wall time %.0f s"):format(wall))
print("results: " .. run_dir)
