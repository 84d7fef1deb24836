-- One token from the bucket KEYS[1]: RateLimit::decide of auth-core, atomically.
--
-- ARGV: now, T (the period), tau (the tolerance), integer milliseconds as decimal text.
-- The stored value is the theoretical arrival time tat (ms), a decimal string.
-- Returns {1, 0} when allowed (tat advanced), {0, wait_ms} when limited (nothing written).
--
-- Lua's numbers are doubles: the Rust side keeps every time and span small enough
-- (|now| < 2^50, T + tau <= 2^51) that all of this is exact integer arithmetic, and a
-- stored value beyond +-(2^53 - 1) is refused as corrupt.

local function int(text)
  if type(text) ~= 'string' or #text > 17 or not string.find(text, '^%-?%d+$') then
    return nil
  end
  local n = tonumber(text)
  if n > 9007199254740991 or n < -9007199254740991 then
    return nil
  end
  return n
end

local now = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local tolerance = tonumber(ARGV[3])

local stored = redis.pcall('GET', KEYS[1])
-- 1. t = max(tat, now); an absent or expired state (tat <= now) counts as now.
local t = now
if type(stored) == 'table' then
  return redis.error_reply('CORRUPT the rate counter is not a string')
elseif stored then
  local tat = int(stored)
  if not tat then
    return redis.error_reply('CORRUPT the rate counter does not hold a time')
  end
  if tat > now then
    t = tat
  end
end

-- 2. Limited while t - now > tau: retry after t - tau - now; nothing changes.
if t - now > tolerance then
  return {0, t - tolerance - now}
end

-- 3. Allowed: tat = t + T, which is also when the state expires (PX > 0, as T >= 1).
local tat = t + period
redis.call('SET', KEYS[1], string.format('%d', tat), 'PX', string.format('%d', tat - now))
return {1, 0}
