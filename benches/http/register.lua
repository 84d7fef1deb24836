-- POST /auth/register with a unique email per request.
local counter = 0
local next_id = 0
local run = os.time()

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"email":"reg-%d-%d-%d@bench.local","username":"bench","password":"Str0ng!pass"}',
    run, id, counter)
  return wrk.format("POST", "/auth/register", {["Content-Type"] = "application/json"}, body)
end
