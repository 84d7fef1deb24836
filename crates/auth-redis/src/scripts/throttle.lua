-- One attempt under the throttle KEYS[1]: Throttle::decide of auth-core, atomically.
--
-- ARGV: now, free failures, base delay, longest delay, forgetting window; integers (ms)
-- as decimal text. The state is a hash of failures, blocked_until and expires_at (ms).
-- Returns {1, failures} when allowed (the attempt counted), {0, wait_ms} when throttled
-- (nothing written).
--
-- Lua's numbers are doubles: the Rust side keeps every time and span small enough
-- (|now| < 2^50, delays and the window <= 2^51) that all of this is exact integer
-- arithmetic, and a stored value beyond +-(2^53 - 1) is refused as corrupt.

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

local MAX_THROTTLE_SHIFT = 30
local MAX_FAILURES = 4294967295

local now = tonumber(ARGV[1])
local free = tonumber(ARGV[2])
local base = tonumber(ARGV[3])
local max = tonumber(ARGV[4])
local forget = tonumber(ARGV[5])

local stored = redis.pcall('HMGET', KEYS[1], 'failures', 'blocked_until', 'expires_at')
if stored.err then
  return redis.error_reply('CORRUPT the throttle is not a hash')
end

-- 1. An absent state, or one with expires_at <= now, counts as 0 failures, not blocked.
local failures, blocked_until = 0, 0
if stored[1] or stored[2] or stored[3] then
  local f, b, e = int(stored[1]), int(stored[2]), int(stored[3])
  if not (f and b and e) or f < 0 or f > MAX_FAILURES then
    return redis.error_reply('CORRUPT the throttle does not hold a state')
  end
  if e > now then
    failures, blocked_until = f, b
  end
end

-- 2. Throttled while blocked_until > now: retry after blocked_until - now; nothing changes.
if blocked_until > now then
  return {0, blocked_until - now}
end

-- 3. Allowed: n = failures + 1 (saturating at u32::MAX); from the free-th failure on the
-- next attempt waits min(base * 2^min(n - free, 30), max); the state expires at
-- now + forget. base * 2^shift is exact or beyond max: doubles scale by powers of two
-- exactly, and an i64 overflow in Rust saturates above max too.
local n = failures + 1
if n > MAX_FAILURES then
  n = MAX_FAILURES
end
local delay = 0
if n >= free then
  delay = math.min(base * 2 ^ math.min(n - free, MAX_THROTTLE_SHIFT), max)
end
if delay > 0 then
  blocked_until = now + delay
else
  blocked_until = 0
end

if forget > 0 then
  redis.call('HSET', KEYS[1],
    'failures', string.format('%d', n),
    'blocked_until', string.format('%d', blocked_until),
    'expires_at', string.format('%d', now + forget))
  redis.call('PEXPIRE', KEYS[1], string.format('%d', forget))
else
  -- A window of 0 ms: the state expires as it is written, so it is not kept at all.
  redis.call('DEL', KEYS[1])
end
return {1, n}
