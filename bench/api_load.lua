-- wrk's script for bench/api_load.py, which prepends the run's settings (RUN, HOT, MEMBERS, RESERVE, PATH,
-- HEADERS and, for a fixed request, METHOD and BODY). Each thread numbers its own orders, so every order id is new;
-- a tenth go to new members.
local counter, thread_id = 0, 0
local threads, next_id = {}, 1
function setup(thread)
  thread:set("thread_id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end
function init(args)
  math.randomseed(os.time() + thread_id * 7919)
end
request = function()
  if METHOD then
    return wrk.format(METHOD, PATH, HEADERS, BODY)
  end
  counter = counter + 1
  local id = string.format("%s-%d-%d", RUN, thread_id, counter)
  local email
  if HOT then
    email = "hot@bench.test"
  elseif math.random() < 0.1 and not RESERVE then
    email = "new-" .. id .. "@bench.test"
  else
    email = string.format("m%d@bench.test", math.random(0, MEMBERS - 1))
  end
  if RESERVE then
    return wrk.format("POST", PATH, HEADERS, string.format(
      '{"redemption_id":"%s","member":{"email":"%s"},"points":100}', id, email))
  end
  local a, b, c = math.random(99, 1999), math.random(49, 499), math.random(19, 299)
  local body = string.format(
    '{"order_id":"%s","member":{"email":"%s"},"amount":"%d.00","currency":"NOK",' ..
    '"occurred_at":"2026-11-20T14:03:00+01:00","items":[' ..
    '{"sku":"RUN-%d","name":"Running shoe","category":"running","quantity":1,"unit_price":"%d.00"},' ..
    '{"sku":"SOCK-%d","name":"Socks","category":"running","quantity":1,"unit_price":"%d.00"},' ..
    '{"sku":"CAP-%d","name":"Cap","category":"outdoor","quantity":1,"unit_price":"%d.00"}]}',
    id, email, a + b + c, a % 50, a, b % 20, b, c % 10, c)
  return wrk.format("POST", PATH, HEADERS, body)
end
