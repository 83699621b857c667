-- loadtest/wrk/get_wallet_strong.lua - get_wallet with X-Consistency: strong: every read on the
-- shard primary, the path to compare replica reads against. Expected: 200.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local bench = dofile(dir .. "common.lua")

bench.scenario {
    name = "get_wallet_strong",
    needs_wallets = true,
    request = function()
        return wrk.format("GET", "/api/v1/wallets/" .. bench.pick_wallet(),
            bench.auth_headers({ ["X-Consistency"] = "strong" }))
    end,
    response = function(status, headers, body)
        return status == 200
    end,
}
