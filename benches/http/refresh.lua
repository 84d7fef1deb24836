-- POST /auth/refresh, each request with a fresh refresh token: every answer carries the next
-- token of its session, so each thread keeps a queue of live tokens, seeded from TOKENS_FILE
-- (one per line; thread i takes lines i, i + THREADS, ...). wrk builds one request on thread 0
-- before the run and never sends it, so the file needs connections + threads tokens.
local next_id = 0
local threads = tonumber(os.getenv("THREADS") or "2")
local queue = {}

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

function init(args)
  local i = 0
  for line in io.lines(os.getenv("TOKENS_FILE")) do
    if i % threads == id then
      table.insert(queue, line)
    end
    i = i + 1
  end
end

function request()
  local token = table.remove(queue, 1) or "exhausted"
  local body = string.format('{"refresh_token":"%s"}', token)
  return wrk.format("POST", "/auth/refresh", {["Content-Type"] = "application/json"}, body)
end

function response(status, headers, body)
  local token = string.match(body, '"refresh_token":"([^"]+)"')
  if token then
    table.insert(queue, token)
  end
end
