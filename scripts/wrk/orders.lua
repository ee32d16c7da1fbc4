-- wrk: POST realistic orders over kept-alive connections, each one new (its customer
-- numbered, spread over 10 restaurants, two items). WRK_TARGET=chit posts chit's JSON
-- Lines order to /v1/orders with CHIT_TOKEN; WRK_TARGET=socketio posts the Socket.IO
-- baseline's body to /orders. Used by scripts/wrk-compare.sh.
local target = os.getenv("WRK_TARGET") or "chit"
local token = os.getenv("CHIT_TOKEN") or ""
local n = 0

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
if target == "chit" then
  wrk.headers["Authorization"] = "Bearer " .. token
end

function setup(thread)
  thread:set("id", tostring(math.random(1, 1000000)))
end

request = function()
  n = n + 1
  local r = n % 10 + 1
  local body
  if target == "chit" then
    body = string.format(
      '{"restaurant":"bench-%d","customer":{"name":"w%s-%d","phone":"555-01%02d","address":"%d Loop Rd"},'
        .. '"items":[{"name":"Margherita","qty":2,"unit_price":950},{"name":"Cola","qty":1,"unit_price":200}]}',
      r, id or "0", n, n % 8, n)
  else
    body = string.format(
      '{"restaurantId":"bench-%d","customer":{"name":"w%s-%d","phone":"555-01%02d","address":"%d Loop Rd"},'
        .. '"items":[{"name":"Margherita","qty":2,"price":9.5},{"name":"Cola","qty":1,"price":2}],"total":21}',
      r, id or "0", n, n % 8, n)
  end
  return wrk.format(nil, nil, nil, body)
end
