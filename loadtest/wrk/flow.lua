-- loadtest/wrk/flow.lua - authorize -> debit (capture), one capture per authorization.
--
-- request() sends a capture (POST /transactions/debit {transactionId}) when an authorization of
-- this thread is waiting for one, else a new authorization; response() takes the transaction ID
-- from each 201 (authorize) and queues it. wrk 4.1 gives Lua no per-connection hook (request() and
-- response() are per thread, interleaved over its connections), so the pairing is a per-thread
-- FIFO: every authorization is captured exactly once, by whichever connection of the thread
-- writes next - about half the requests are authorizations and half captures.
-- Expected: 201 PENDING for an authorize, 200 COMPLETED for a capture.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local bench = dofile(dir .. "common.lua")

local queue, head, tail = {}, 1, 0

bench.scenario {
    name = "flow",
    needs_wallets = true,
    request = function()
        if head <= tail then
            local txn = queue[head]
            queue[head] = nil
            head = head + 1
            bench.count("captures_sent")
            return wrk.format("POST", "/api/v1/transactions/debit",
                bench.auth_headers({ ["Idempotency-Key"] = bench.next_key() }),
                string.format('{"transactionId":"%s"}', txn))
        end
        bench.count("authorizations_sent")
        return bench.authorize_request()
    end,
    response = function(status, headers, body)
        if status == 201 then
            local txn = body:match('"id":"(txn_%x+)"')
            if txn and body:find('"status":"PENDING"', 1, true) then
                tail = tail + 1
                queue[tail] = txn
                bench.count("authorized")
                return true
            end
            return false
        elseif status == 200 then
            if body:find('"status":"COMPLETED"', 1, true) then
                bench.count("captured")
                return true
            end
            return false
        end
        return false
    end,
}
