-- loadtest/wrk/get_wallet.lua - GET /api/v1/wallets/{id} of a random pre-funded wallet. Expected: 200.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local bench = dofile(dir .. "common.lua")

bench.scenario {
    name = "get_wallet",
    needs_wallets = true,
    request = function()
        return wrk.format("GET", "/api/v1/wallets/" .. bench.pick_wallet(), bench.auth_headers())
    end,
    response = function(status, headers, body)
        return status == 200
    end,
}
