-- wrk script: one authenticated request, the same every time: `-- METHOD [JSON_BODY]`.
function init(args)
  wrk.method = args[1] or "GET"
  wrk.headers["X-Api-Key"] = "local-dev-key"
  if args[2] then
    wrk.headers["Content-Type"] = "application/json"
    wrk.body = args[2]
  end
end

function done(summary, latency, requests)
  io.write(string.format("non-2xx answers: %d\n", summary.errors.status))
end
