local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local ev_at = nil
local function ev_meta(f)
  local m = {}
  if f == nil then return m end
  for i = 1, #f - 1, 2 do
    local k = f[i]
    if (k == 'id' or k == 'job' or k == 'v' or k == 'attempt' or
        k == 'last_error') and m[k] == nil then m[k] = f[i + 1] end
  end
  return m
end
local function ev_cut(s)
  s = tostring(s or '')
  if #s > 200 then
    return string.sub(s, 1, 200) end
  return s
end
local function ev_emit(key, maxlen, typ, sid, f, extra)
  if ev_at == nil then
    local t = redis.call('TIME')
    ev_at = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  local m = ev_meta(f)
  local out = {'type', typ, 'id', m.id or sid, 'job', m.job or '',
    'v', m.v or '', 'at', ev_at}
  for _, x in ipairs(extra) do out[#out + 1] = x end
  redis.call('XADD', key, 'MAXLEN', '~', maxlen, '*', unpack(out))
end
local idem = nil
if #KEYS >= 4 and (tonumber(ARGV[3]) or 0) > 0 then idem = KEYS[4] end
local evk = nil
if #KEYS >= (idem and 5 or 4) then evk = KEYS[#KEYS] end
if idem then
  local first = redis.call('GET', idem)
  if first then return {0, first} end
end
local f, last = {}, #ARGV
if evk then last = #ARGV - 1 end
for i = 5, last do f[#f+1] = ARGV[i] end
local at = tonumber(ARGV[2])
local d = tonumber(ARGV[1])
if at == 0 and d > 0 then at = now_ms() + d end
local delayed = at > now_ms()
if delayed then
  local token = 'sched-' .. redis.call('INCR', KEYS[3])
  redis.call('ZADD', KEYS[2], at, cmsgpack.pack({token, f}))
else
  redis.call('XADD', KEYS[1], '*', unpack(f))
end
if idem then
  redis.call('SET', idem, ARGV[4], 'PX', ARGV[3])
end
if evk then
  local extra = {}
  if delayed then extra = {'due_ms', tostring(at)} end
  ev_emit(evk, ARGV[#ARGV], 'enqueued', ARGV[4], f, extra)
end
return {1, ARGV[4]}
