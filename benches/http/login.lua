-- POST /auth/login as one of the seeded users user{i}@bench.local, round robin per thread.
local users = tonumber(os.getenv("USERS") or "1000")
local counter = 0
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

function init(args)
  counter = id * 100003
end

function request()
  counter = counter + 1
  local body = string.format('{"email":"user%d@bench.local","password":"Str0ng!pass"}', counter % users)
  return wrk.format("POST", "/auth/login", {["Content-Type"] = "application/json"}, body)
end
