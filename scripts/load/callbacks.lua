-- wrk script: POSTs the signed callbacks written by examples/callback_load_fixture.rs, each
-- once per thread pass (the first delivery records the upload; later passes are duplicates).
local reqs = {}
local i = 0

local threads = 0
function setup(thread)
  thread:set("thread_index", threads)
  threads = threads + 1
end

function init(args)
  local path = args[1]
  for line in io.lines(path) do
    local target, auth, keyurl, body = line:match("([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)")
    reqs[#reqs + 1] = wrk.format("POST", target, {
      ["Content-Type"] = "application/json",
      ["Authorization"] = auth,
      ["x-oss-pub-key-url"] = keyurl,
    }, body)
  end
  -- Threads start at opposite ends, so the first pass delivers every callback once.
  i = (thread_index or 0) * math.floor(#reqs / 2)
end

function request()
  i = i % #reqs + 1
  return reqs[i]
end

function done(summary, latency, requests)
  io.write(string.format("non-2xx answers: %d\n", summary.errors.status))
end
