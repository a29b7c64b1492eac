-- wrk script: POSTs the signed callbacks written by examples/callback_load_fixture.rs.
--   -- FILE         each thread goes round the whole file (after the first pass, duplicates)
--   -- FILE once    each thread delivers its own share once, then stops: every delivery
--                  records an upload (fresh callbacks only; the run ends when all are sent)
local reqs = {}
local i, first, last = 0, 1, 0
local answered = 0
local verified = false
-- Globals, not locals, where done() reads them from each thread with thread:get().
once = false

-- wrk's own Requests/sec divides by the whole -d duration even when the threads stop
-- early, so `once` times its share itself (monotonic clock, through LuaJIT's FFI).
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } lg_timespec;
  int clock_gettime(int clock, lg_timespec *tp);
]]
local ts = ffi.new("lg_timespec")
local function now()
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end
started, finished = 0, 0

local threads = {}
function setup(thread)
  thread:set("thread_index", #threads)
  threads[#threads + 1] = thread
end

function init(args)
  local path = args[1]
  once = args[2] == "once"
  for line in io.lines(path) do
    local target, auth, keyurl, body = line:match("([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)")
    reqs[#reqs + 1] = wrk.format("POST", target, {
      ["Content-Type"] = "application/json",
      ["Authorization"] = auth,
      ["x-oss-pub-key-url"] = keyurl,
    }, body)
  end
  -- Threads start at opposite ends, so the first pass delivers every callback once; with
  -- `once` each thread keeps to its half.
  local share = math.floor(#reqs / 2)
  first = (thread_index or 0) * share
  last = first + share
  i = first
  -- wrk reads every answer into Lua only when `response` exists: not in the looping mode.
  if not once then response = nil end
end

function request()
  -- Before starting the first thread wrk calls its request() once to check the script;
  -- that request is never sent, so it neither takes a fixture nor starts the clock.
  if thread_index == 0 and not verified then
    verified = true
    return reqs[first + 1]
  end
  if started == 0 then started = now() end
  i = i + 1
  if i > #reqs then i = 1 end
  return reqs[i]
end

function response(status, headers, body)
  answered = answered + 1
  finished = now()
  -- The requests still on the wire when the share is answered are not read (the thread
  -- stops), but the gateway may still record them: at most one per connection, past the
  -- share's end (the other thread's fixtures). run.sh reports what the gateway counted.
  if once and answered >= last - first then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  io.write(string.format("non-2xx answers: %d\n", summary.errors.status))
  if threads[1]:get("once") then
    local from, to = math.huge, 0
    for _, t in ipairs(threads) do
      from = math.min(from, t:get("started"))
      to = math.max(to, t:get("finished"))
    end
    io.write(string.format("once: %d answers in %.2fs\nRequests/sec (once): %.2f\n",
      summary.requests, to - from, summary.requests / (to - from)))
  end
end
