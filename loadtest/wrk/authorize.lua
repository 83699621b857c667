-- loadtest/wrk/authorize.lua - POST /api/v1/transactions/authorize, a hold of 1..100 cents on a
-- random pre-funded wallet, with a unique Idempotency-Key per request. Expected: 201.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local bench = dofile(dir .. "common.lua")

bench.scenario {
    name = "authorize",
    needs_wallets = true,
    request = bench.authorize_request,
    response = function(status, headers, body)
        return status == 201
    end,
}
