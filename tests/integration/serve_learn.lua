-- A short Split-MNIST run whose hippocampus may live in another process (`engram serve`), for
-- tests/integration/serve_hippocampus.sh and tests/bench/bench_remote_hippocampus.sh.
--
-- Settings (--set key=value): tasks (2), iterations (30), batch (32), replay (32), hidden (64),
-- seed (1), placement (the hippocampus's endpoint; absent: a thread of this process),
-- association_at / neocortex_at (the same for the association and the neocortex),
-- server_key / client_secret (CURVE keys of that link), timeout_ms (heartbeat timeout, 3000),
-- snapshot (path: written after each task), stop_after (task number), out (JSON path). The
-- output holds the class-IL rows, the losses, seconds and iterations of each task, the memory's
-- codes and bytes, hippocampus_bytes (envelope bytes in and out of a local hippocampus) and
-- module_bytes (the same summed over the local modules).
-- With --resume FILE the run continues from the snapshot, placing the hippocampus as
-- `placement` says (so a snapshot moves between one process and two).
local cfg = engram.settings {
  "association_at", "batch", "client_secret", "hidden", "iterations", "neocortex_at", "out",
  "placement", "replay", "seed", "server_key", "snapshot", "stop_after", "tasks", "timeout_ms"
}
local n_tasks = engram.integer(cfg.tasks, 2)
local options = {
  iterations = engram.integer(cfg.iterations, 30),
  batch = engram.integer(cfg.batch, 32),
  replay = engram.integer(cfg.replay, 32),
  record_every = 0,
  progress = false,
}
local schedule = {}
for i = 1, n_tasks do schedule[i] = { 2 * i - 2, 2 * i - 1 } end
local dataset = engram.dataset("mnist")
local tasks = engram.split(dataset, schedule)

-- Where the modules live and the keys of the links (nil fields: one process, no CURVE).
local where = {}
if cfg.placement or cfg.association_at or cfg.neocortex_at then
  where.placement = {
    hippocampus = cfg.placement, association = cfg.association_at, neocortex = cfg.neocortex_at,
  }
end
if cfg.server_key then
  where.curve = { server_public_key = cfg.server_key, client_secret_key = cfg.client_secret }
end
if cfg.timeout_ms then
  local t = engram.integer(cfg.timeout_ms, 3000)
  where.heartbeat = { interval_ms = math.max(10, t // 6), timeout_ms = t }
end

local rt, state
if engram.resume then
  rt, state = engram.restore(engram.resume, {
    dataset = dataset, progress = false, placement = where.placement, curve = where.curve,
    heartbeat = where.heartbeat,
  })
else
  rt = engram.runtime {
    dataset = dataset, tasks = n_tasks, seed = engram.integer(cfg.seed, 1),
    neocortex = { net = "mlp", hidden = { engram.integer(cfg.hidden, 64) }, lr = 1e-3 },
    memory = { kind = "dvae", budget_bytes = 20000, c = 20, l = 4, hidden = { 64 } },
    placement = where.placement, curve = where.curve, heartbeat = where.heartbeat,
  }
  state = { next_task = 1, class_il = {}, losses = {}, seconds = {}, iterations = {} }
end

local stop_after = engram.integer(cfg.stop_after, n_tasks)
for i = state.next_task, math.min(stop_after, n_tasks) do
  local phase = rt:learn(tasks[i], options)
  state.losses[i] = { phase.loss_real, phase.loss_replay }
  state.seconds[i] = phase.seconds
  state.iterations[i] = phase.iterations
  local row = {}
  for j, t in ipairs(tasks) do row[j] = rt:accuracy(t, "class") end
  state.class_il[i] = row
  state.next_task = i + 1
  if cfg.snapshot then rt:snapshot(cfg.snapshot, state) end
  print(("after task %d: class-IL %s"):format(i, table.concat(row, " ")))
end
local m = rt:memory()
state.codes_stored, state.bytes_used = m.codes_stored, m.bytes_used
-- Envelope bytes in and out of a hippocampus that is a thread here, and of every module that is
-- (the benchmarks' figures: each message between modules counts at both ends, as it crosses the
-- wire twice through the driver's relay when the modules are served).
state.module_bytes = 0
for _, c in ipairs(rt:counters()) do
  if c.actor == "hippocampus" then state.hippocampus_bytes = c.bytes_in + c.bytes_out end
  if c.actor == "hippocampus" or c.actor == "association" or c.actor == "neocortex" then
    state.module_bytes = state.module_bytes + c.bytes_in + c.bytes_out
  end
end
if cfg.out then engram.write_json(cfg.out, state) end
rt:close()
