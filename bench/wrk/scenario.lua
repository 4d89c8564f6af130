-- One wrk script for every scenario, configured by the arguments after `--`:
--   method  path_template  body_template|-  ids_file|-  expected_status  tag
-- "{id}" in the path or body is replaced by the next line of ids_file (round
-- robin, each thread starting at a different offset), "{n}" by a per-request
-- counter made unique with the tag and thread number. Requests without any
-- placeholder are formatted once. done() prints one machine-readable line,
-- because wrk's own report rounds percentiles and hides unexpected statuses.
-- MAESTRO_BENCH_TOKEN in the environment, when set, is sent on every request as
-- "Authorization: Bearer <token>" (bench/loadgen.py sets it for --token runs).

local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("thread_index", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

local method, path_tpl, body_tpl, expected, tag
local ids = {}
local counter = 0
local fixed_request = nil
local headers = { ["Content-Type"] = "application/json", ["Accept"] = "application/json" }
local token = os.getenv("MAESTRO_BENCH_TOKEN")
if token and token ~= "" then headers["Authorization"] = "Bearer " .. token end
unexpected = 0
first_unexpected = 0

local function read_ids(path)
  local list = {}
  if path == "-" then return list end
  for line in io.lines(path) do
    if line ~= "" then table.insert(list, line) end
  end
  return list
end

local function plain_replace(text, key, value)
  -- string.gsub treats "%" in the replacement specially; ids and cursors may contain it.
  local start, finish = string.find(text, key, 1, true)
  while start do
    text = string.sub(text, 1, start - 1) .. value .. string.sub(text, finish + 1)
    start, finish = string.find(text, key, start + #value, true)
  end
  return text
end

function init(args)
  method = args[1]
  path_tpl = args[2]
  body_tpl = args[3]
  if body_tpl == "-" then body_tpl = nil end
  ids = read_ids(args[4])
  expected = tonumber(args[5])
  tag = args[6] or "t"
  counter = thread_index * 7919
  local templated = string.find(path_tpl .. (body_tpl or ""), "{", 1, true)
  if not templated then
    fixed_request = wrk.format(method, path_tpl, headers, body_tpl)
  end
end

function request()
  if fixed_request then return fixed_request end
  counter = counter + 1
  local path, body = path_tpl, body_tpl
  if #ids > 0 then
    local id = ids[(counter % #ids) + 1]
    path = plain_replace(path, "{id}", id)
    if body then body = plain_replace(body, "{id}", id) end
  end
  local n = tag .. "-" .. thread_index .. "-" .. counter
  path = plain_replace(path, "{n}", n)
  if body then body = plain_replace(body, "{n}", n) end
  return wrk.format(method, path, headers, body)
end

function response(status, resp_headers, body)
  if status ~= expected then
    unexpected = unexpected + 1
    if first_unexpected == 0 then first_unexpected = status end
  end
end

function done(summary, latency, requests)
  local bad, first = 0, 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("unexpected")
    local f = thread:get("first_unexpected")
    if first == 0 and f ~= 0 then first = f end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"mean_us": %.1f, "max_us": %d, "unexpected_status": %d, "first_unexpected_status": %d, ' ..
    '"socket_errors": %d, "timeouts": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.mean, latency.max, bad, first,
    e.connect + e.read + e.write, e.timeout))
end
