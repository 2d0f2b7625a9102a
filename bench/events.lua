-- wrk script: POST one realistic event per request, each with a fresh id (so
-- every request is a real insert, not the cheaper duplicate path).
counter = 0
math.randomseed(os.time())
local prefix = tostring(math.random(1, 1000000000))

request = function()
  counter = counter + 1
  local body = '{"sentAt":"2026-11-23T10:00:00.000Z","batch":[{"type":"track","event":"Product Viewed","messageId":"' ..
    prefix .. "-" .. counter .. '","anonymousId":"bench-' .. (counter % 500) ..
    '","timestamp":"2026-11-23T10:00:00.000Z","properties":{"product_id":"trail-runner","price":129,"category":"shoes"},' ..
    '"context":{"page":{"path":"/product/trail-runner"}}}]}'
  return wrk.format("POST", nil, { ["content-type"] = "text/plain" }, body)
end
