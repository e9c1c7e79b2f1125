-- A custom curriculum over a live sensor stream. An event handler decides, while frames arrive,
-- when to sleep (a consolidation phase on recollections only), when to save the learning state
-- and when to stop; a sampler function decides which memories replay favours.
--
--   engram run examples/curriculum.lua &
--   python3 examples/sensor_publisher.py --tasks 0,1/2,3 --per-task 1500 --rate 500
--
-- Settings: endpoint (tcp://127.0.0.1:5700), every (frames between two sleeps, 1000),
-- stop_after (frames, 6000), quiet (seconds without a frame before saving, 2), timeout
-- (seconds without a frame that end the run, 10), snapshot (curriculum.engram).

local cfg = engram.settings { "endpoint", "every", "quiet", "snapshot", "stop_after", "timeout" }
local every = engram.integer(cfg.every, 1000)
local stop_after = engram.integer(cfg.stop_after, 6000)
local snapshot_path = cfg.snapshot or "curriculum.engram"

local mnist = engram.dataset("mnist")  -- the image shape, and a test set to measure with
local tasks = engram.split(mnist, { { 0, 1 }, { 2, 3 } })
local rt = engram.runtime {
  dataset = mnist, tasks = #tasks,
  neocortex = { hidden = { 400, 400 } },
  memory = { kind = "dvae", budget_bytes = 156800 },
}
local stream = engram.stream { endpoint = cfg.endpoint or "tcp://127.0.0.1:5700" }
print("listening on " .. stream:endpoint())

-- A sampler function: called once when the replay options holding it take effect (never per
-- sample), with what the runtime has learned and stored (info.per_class[c + 1]: codes stored
-- of class c). It returns a weight per class id; here the classes the memory holds least of
-- are recalled most.
local function rarest_first(info)
  local weights = {}
  for _, c in ipairs(info.seen_classes) do weights[c] = 1 / (1 + info.per_class[c + 1]) end
  return { class = weights }
end

-- The event handler runs as a coroutine: the first event is its argument, the next ones are
-- what coroutine.yield returns, and what it yields is its reply (nothing, "stop", or a table
-- { replay = ..., stop = ... }). Returning ends the learn_stream call.
local function schedule(ev)
  local sleeps, saves = 0, 0
  while true do
    local reply = nil
    if ev.kind == "new_task" then
      print(("task %d appears after %d frames"):format(ev.task, ev.learned))
      -- From now on, the batches of this call replay 32 recollections drawn by rarest_first.
      reply = { replay = { per_batch = 32, sampler = rarest_first } }
    elseif ev.kind == "new_class" then
      print(("class %d appears"):format(ev.class))
    elseif ev.kind == "examples" then
      -- Sleep: a short consolidation phase on recollections only, balanced over classes.
      local s = rt:consolidate { steps = 50, batch = 128, sampler = "class_balanced",
                                 progress = false }
      sleeps = sleeps + 1
      print(("%d frames: slept %d steps (%.1f s)"):format(ev.learned, s.iterations, s.seconds))
      if ev.learned >= stop_after then reply = "stop" end
    elseif ev.kind == "quiet" then
      -- The sensor paused: save everything, with where the curriculum stands.
      rt:snapshot(snapshot_path, { frames = ev.learned, sleeps = sleeps })
      saves = saves + 1
      print(("stream quiet after %d frames: saved %s"):format(ev.learned, snapshot_path))
    elseif ev.kind == "phase_end" then
      print(("done: %d frames, %d sleeps, %d snapshots"):format(ev.learned, sleeps, saves))
    end
    ev = coroutine.yield(reply)
  end
end

local r = rt:learn_stream(stream, {
  batches = 1000000, batch = 32, replay = 0,  -- no replay until the handler asks for it
  timeout = engram.number(cfg.timeout, 10),
  on = schedule, every = every, quiet = engram.number(cfg.quiet, 2),
})
for i, t in ipairs(tasks) do
  print(("task %d: class-IL accuracy %.4f"):format(i - 1, rt:accuracy(t, "class")))
end
-- Nothing accepted is lost: what was not learned (after a stop) waits in the queue.
local c = stream:counters()
print(("frames: %d accepted = %d learned + %d skipped + %d waiting + %d dropped (%s)")
  :format(c.accepted, c.learned, c.skipped, c.queued + c.held, c.dropped,
          r.stopped and "stopped by the handler" or "the stream ended"))
