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
-- 10), seed (1). Encryption and publisher authentication (CURVE): curve_secret (this engram's
-- secret key, from `engram keygen`) and curve_clients (the publishers' public keys, comma-
-- separated); Z85 keys hold shell characters, so quote them.

local cfg = engram.settings {
  "batch", "batches", "budget_bytes", "curve_clients", "curve_secret", "dataset", "endpoint",
  "policy", "replay", "seed", "tasks", "timeout"
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
-- Learn until the stream stays silent for `timeout` seconds, reporting every `batches` batches.
local total, skipped_steps = 0, 0
repeat
  local s = rt:learn_stream(stream, options)
  total = total + s.batches
  skipped_steps = skipped_steps + s.skipped_steps
  if s.batches > 0 then
    local row = {}
    for _, t in ipairs(tasks) do row[#row + 1] = ("%.4f"):format(rt:accuracy(t, "class")) end
    print(("%5d batches (%d frames in %.1f s); class-IL accuracy per task: %s")
      :format(total, s.frames, s.seconds, table.concat(row, " ")))
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
local acc = 0
for _, t in ipairs(tasks) do acc = acc + rt:accuracy(t, "class") end
print(("final class-IL ACC %.4f"):format(acc / #tasks))
stream:close()
rt:close()
