-- loadtest/wrk/health.lua - GET /health/live (no dependencies: the HTTP layer alone). Expected: 200.
-- No request(): wrk sends one static request, the cheapest load it can make.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local bench = dofile(dir .. "common.lua")

wrk.method = "GET"
wrk.path = "/health/live"

bench.scenario {
    name = "health",
    response = function(status, headers, body)
        return status == 200
    end,
}
