local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
if #KEYS >= 4 then
  local first = redis.call('GET', KEYS[4])
  if first then return {0, first} end
end
local f = {}
for i = 5, #ARGV do f[#f+1] = ARGV[i] end
local at = tonumber(ARGV[2])
local d = tonumber(ARGV[1])
if at == 0 and d > 0 then at = now_ms() + d end
if at > now_ms() then
  local token = 'sched-' .. redis.call('INCR', KEYS[3])
  redis.call('ZADD', KEYS[2], at, cmsgpack.pack({token, f}))
else
  redis.call('XADD', KEYS[1], '*', unpack(f))
end
if #KEYS >= 4 then
  redis.call('SET', KEYS[4], ARGV[4], 'PX', ARGV[3])
end
return {1, ARGV[4]}
