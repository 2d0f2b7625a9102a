-- wrk script: the largest batch /v1/events accepts (100 events of about 2.4 KB,
-- about 240 KB), each event with a fresh id so every request is 100 real inserts.
counter = 0
math.randomseed(os.time())
local prefix = tostring(math.random(1, 1000000000))
local note = string.rep("x", 1000)

local function event(i)
  counter = counter + 1
  return '{"type":"track","event":"Product Viewed","messageId":"' .. prefix .. "-" .. counter ..
    '","anonymousId":"max-' .. (counter % 500) .. '","timestamp":"2026-11-23T10:00:00.000Z",' ..
    '"properties":{"product_id":"trail-runner","price":129,"note0":"' .. note .. '","note1":"' .. note .. '"},' ..
    '"context":{"page":{"path":"/p"}}}'
end

request = function()
  local events = {}
  for i = 1, 100 do events[i] = event(i) end
  local body = '{"batch":[' .. table.concat(events, ",") .. ']}'
  return wrk.format("POST", nil, { ["content-type"] = "text/plain" }, body)
end
