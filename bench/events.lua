-- wrk script: POST one realistic event per request, each with a fresh id (so
-- every request is a real insert, not the cheaper duplicate path).
counter = 0
math.randomseed(os.time())
prefix = tostring(math.random(1, 1000000000))

-- Each wrk thread has its own Lua state seeded in the same second: without
-- its thread number in the ids, two threads would send the same ids and
-- half the requests would be duplicates.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end

function init(args)
  prefix = prefix .. "-" .. tostring(thread_number) .. "-" .. tostring(math.random(1, 1000000000))
end

request = function()
  counter = counter + 1
  local body = '{"sentAt":"2026-11-23T10:00:00.000Z","batch":[{"type":"track","event":"Product Viewed","messageId":"' ..
    prefix .. "-" .. counter .. '","anonymousId":"bench-' .. (counter % 500) ..
    '","timestamp":"2026-11-23T10:00:00.000Z","properties":{"product_id":"trail-runner","price":129,"category":"shoes"},' ..
    '"context":{"page":{"path":"/product/trail-runner"}}}]}'
  return wrk.format("POST", nil, { ["content-type"] = "text/plain" }, body)
end
