local max_fields = 256
local function own_pairs(f)
  local managed, own = {}, 0
  for i = 1, #f - 1, 2 do
    local k = f[i]
    if (k == 'id' or k == 'attempt' or k == 'last_error') and
       not managed[k] then
      managed[k] = true
    else
      own = own + 1
    end
  end
  return own
end
local n, kept = 0, {}
for _, id in ipairs(ARGV) do
  local e = redis.call('XRANGE', KEYS[1], id, id)
  if #e > 0 then
    local f, out, has_id, src, encoded = e[1][2], {}, false, nil, false
    for i = 1, #f, 2 do
      local k = f[i]
      if k == 'id' then has_id = true end
      if k == 'dlq_source_id' then src = f[i+1] end
      if k == 'dlq_fields' or k == 'dlq_delayed_member' then
        encoded = true end
      if k ~= 'attempt' and k ~= 'last_error' and string.sub(k, 1, 4) ~= 'dlq_' then
        out[#out+1] = k; out[#out+1] = f[i+1]
      end
    end
    if not has_id and src and #out > 0 then
      out[#out+1] = 'id'; out[#out+1] = src end
    if encoded or #out == 0 or own_pairs(out) > max_fields then
      kept[#kept + 1] = id
    else
      redis.call('XADD', KEYS[2], '*', unpack(out))
      redis.call('XDEL', KEYS[1], id)
      n = n + 1
    end
  end
end
return {n, kept}
