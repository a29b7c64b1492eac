-- wrk script: asks for 10 presigned UploadPart URLs per request on one multipart upload.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Api-Key"] = "local-dev-key"
wrk.body = '{"part_numbers":[1,2,3,4,5,6,7,8,9,10]}'

function done(summary, latency, requests)
  io.write(string.format("non-2xx answers: %d\n", summary.errors.status))
end
