-- wrk script for bench/ingest.py and bench/edxml.py: cycles through the pre-signed pool,
-- paces to a rate; an optional fifth argument is the Content-Type (default JSON).
local threads, counter = {}, 0
function setup(thread)
  thread:set("id", counter); counter = counter + 1; table.insert(threads, thread)
end
local ffi = require("ffi")
ffi.cdef[[ typedef struct { long tv_sec; long tv_usec; } bench_tv;
           int gettimeofday(bench_tv *tv, void *tz); ]]
local tv = ffi.new("bench_tv")
local function now_ms()
  ffi.C.gettimeofday(tv, nil); return tonumber(tv.tv_sec) * 1000 + tonumber(tv.tv_usec) / 1000
end
function init(args)
  local nthreads, rate = tonumber(args[2]), tonumber(args[3])
  tokens, senders, bodies = {}, {}, {}
  for line in io.lines(args[4]) do table.insert(tokens, line) end
  local n = 0
  for line in io.lines(args[1]) do
    if n % nthreads == id then
      local tab = line:find("\t", 1, true)
      table.insert(senders, tonumber(line:sub(1, tab - 1)) + 1)
      table.insert(bodies, line:sub(tab + 1))
    end
    n = n + 1
  end
  content_type = args[5] or "application/json"
  i, accepted, other, wrapped = 0, 0, 0, 0
  interval = rate > 0 and 1000 * nthreads / rate or 0
  next_at = now_ms()
end
function request()
  i = i + 1
  if i > #bodies then i = 1; wrapped = wrapped + 1 end
  return wrk.format("POST", "/v1/documents", {["Authorization"] = "Bearer " .. tokens[senders[i]],
    ["Content-Type"] = content_type}, bodies[i])
end
function response(status, headers, body)
  if status == 202 then accepted = accepted + 1 else other = other + 1 end
end
function delay()
  if interval == 0 then return 0 end
  next_at = next_at + interval
  local wait = next_at - now_ms()
  if wait < 0 then return 0 end
  return math.floor(wait)
end
function done(summary, latency, requests)
  local acc, oth, wr = 0, 0, 0
  for _, t in ipairs(threads) do acc = acc + t:get("accepted"); oth = oth + t:get("other");
    wr = wr + t:get("wrapped") end
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d %d %d %d\n", summary.requests, summary.duration,
    acc, oth, wr, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout))
end
