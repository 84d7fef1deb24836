-- Deletes the counters among KEYS whose state expired at ARGV[1] (ms); returns how many.
-- A rate key (suffix ':rate') expires at its tat, a throttle at its expires_at. Keys that
-- vanished since the SCAN, or that hold something unreadable, are left alone.

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
local deleted = 0
for _, key in ipairs(KEYS) do
  local expires
  if string.sub(key, -5) == ':rate' then
    expires = redis.pcall('GET', key)
  else
    expires = redis.pcall('HGET', key, 'expires_at')
  end
  local at = int(expires)
  if at and at <= now then
    redis.call('DEL', key)
    deleted = deleted + 1
  end
end
return deleted
