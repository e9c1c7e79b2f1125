-- Learn from a live sensor stream instead of a dataset scenario.
--
--   engram run scripts/stream_learn.lua &
--   python3 examples/sensor_publisher.py --tasks 0,1/2,3 --per-task 3000
--
-- Frames arrive over ZeroMQ (the sensor wire schema, README "Streaming sensors") with labels
-- and task ids; the runtime learns them in batches mixed with recollections of earlier tasks,
-- exactly as from a dataset. MNIST's test set measures what it learned.
--
-- Settings: endpoint (tcp://127.0.0.1:5700), policy (block | drop_oldest), batches (per report,
-- 50), batch (32), replay (32), tasks (2), timeout (seconds without frames that ends the run,
-- 10), seed (1), out (the folder of run directories, "runs"). Encryption and publisher authentication (CURVE): curve_secret (this engram's
-- secret key, from `engram keygen`) and curve_clients (the publishers' public keys, comma-
-- separated); Z85 keys hold shell characters, so quote them.

local cfg = engram.settings {
  "batch", "batches", "budget_bytes", "curve_clients", "curve_secret", "dataset", "endpoint",
  "out", "policy", "replay", "seed", "tasks", "timeout"
}
local n_tasks = engram.integer(cfg.tasks, 2)
local pairs_of_classes = { {0, 1}, {2, 3}, {4, 5}, {6, 7}, {8, 9} }
local schedule = {}
for i = 1, n_tasks do schedule[i] = pairs_of_classes[i] end

local dataset = engram.dataset(cfg.dataset or "mnist")
local tasks = engram.split(dataset, schedule)
local curve = nil
if cfg.curve_secret then
  local clients = {}
  for key in tostring(cfg.curve_clients or ""):gmatch("[^,]+") do clients[#clients + 1] = key end
  curve = { secret_key = cfg.curve_secret, allowed_clients = clients }
end
local stream = engram.stream {
  endpoint = cfg.endpoint or "tcp://127.0.0.1:5700",
  policy = cfg.policy or "block",
  curve = curve,
}
print("listening on " .. stream:endpoint())
local rt = engram.runtime {
  dataset = dataset, tasks = n_tasks, seed = engram.integer(cfg.seed, 1),
  neocortex = { net = "mlp", hidden = { 400, 400 } },
  memory = { kind = "dvae", budget_bytes = engram.integer(cfg.budget_bytes, 156800) },
}
local options = {
  batches = engram.integer(cfg.batches, 50), batch = engram.integer(cfg.batch, 32),
  replay = engram.integer(cfg.replay, 32), timeout = engram.number(cfg.timeout, 10),
}
-- The latest task the stream has delivered: the highest with codes in the memory.
local function latest_task()
  local latest = 0
  for i, n in ipairs(rt:memory().per_task) do if n > 0 then latest = i end end
  return latest
end

-- Learn until the stream stays silent for `timeout` seconds, reporting every `batches` batches.
-- Each report is a point of the run's curve; the accuracies at the last report of each task
-- (while it was the latest delivered) are that task's row of the accuracy matrices.
local total, skipped_steps = 0, 0
local curve = { every = options.batches, iteration = {}, task = {}, loss = {}, samples_per_s = {} }
local rows_class, rows_task = {}, {}
local started = engram.clock()
repeat
  local s = rt:learn_stream(stream, options)
  total = total + s.batches
  skipped_steps = skipped_steps + s.skipped_steps
  if s.batches > 0 then
    local class_row, task_row, shown = {}, {}, {}
    for j, t in ipairs(tasks) do
      class_row[j] = rt:accuracy(t, "class")
      task_row[j] = rt:accuracy(t, "task")
      shown[j] = ("%.4f"):format(class_row[j])
    end
    local latest = latest_task()
    if latest > 0 then
      rows_class[latest], rows_task[latest] = class_row, task_row
      local n = #curve.iteration + 1
      curve.iteration[n], curve.task[n], curve.loss[n] = total, latest, s.loss_real
      curve.samples_per_s[n] = s.seconds > 0 and (s.frames + s.recalled) / s.seconds or 0
    end
    print(("%5d batches (%d frames in %.1f s); class-IL accuracy per task: %s")
      :format(total, s.frames, s.seconds, table.concat(shown, " ")))
  end
until s.batches < options.batches
-- Every frame is accounted for: refused ones by cause, accepted ones as learned, skipped
-- (unlabelled), still queued or held, or dropped (drop_oldest only).
local c = stream:counters()
print(("stream: %d received, %d accepted, %d malformed, %d non-finite, %d out of range, "
  .. "%d dropped, %d gaps%s"):format(c.received, c.accepted, c.malformed, c.non_finite,
  c.out_of_range, c.dropped, c.gaps,
  curve and (", CURVE on, %d refused"):format(c.auth_denied) or ""))
print(("frames: %d accepted = %d learned + %d skipped + %d waiting + %d dropped%s")
  :format(c.accepted, c.learned, c.skipped, c.queued + c.held, c.dropped,
          c.accepted == c.learned + c.skipped + c.queued + c.held + c.dropped and ""
            or "  (DO NOT RECONCILE)"))
if skipped_steps > 0 then
  print(("%d training steps skipped: loss or gradients not finite"):format(skipped_steps))
end
local acc, acc_task = 0, 0
for _, t in ipairs(tasks) do
  acc = acc + rt:accuracy(t, "class")
  acc_task = acc_task + rt:accuracy(t, "task")
end
print(("final class-IL ACC %.4f"):format(acc / #tasks))

-- The run directory `engram report` reads: the matrices hold the tasks delivered in order.
local class_il, task_il = {}, {}
for i = 1, n_tasks do
  if not rows_class[i] then break end
  class_il[i], task_il[i] = rows_class[i], rows_task[i]
end
local run = {
  method = "recollections (stream)", seed = engram.integer(cfg.seed, 1),
  acc_class = acc / #tasks, acc_task = acc_task / #tasks, class_il = class_il, task_il = task_il,
  batches = total, skipped_steps = skipped_steps, curve = curve, stream = c,
  memory = rt:memory(), counters = rt:counters(), wall_seconds = engram.clock() - started,
}
if #class_il >= 2 then
  local m = engram.metrics(class_il)
  run.bwt, run.forgetting = m.bwt, m.forgetting
end
local run_dir = engram.run_dir(cfg.out or "runs", "stream_learn")
engram.write_json(run_dir .. "/results.json", {
  protocol = { tasks = n_tasks, batch = options.batch, replay = options.replay,
               batches_per_report = options.batches, timeout = options.timeout,
               policy = cfg.policy or "block", budget_bytes = run.memory.budget_bytes,
               blas = engram.blas, version = engram.version },
  runs = { run },
})
print("results: " .. run_dir)
stream:close()
rt:close()
