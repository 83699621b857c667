-- loadtest/wrk/common.lua - shared by the wrk scenario scripts of loadtest/bench (wrk 4.1, LuaJIT).
--
-- A scenario script loads this file and calls bench.scenario{...}:
--
--   local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
--   local bench = dofile(dir .. "common.lua")
--   bench.scenario {
--     name = "authorize",
--     request = function() return wrk.format(...) end,     -- nil: wrk's static request
--     response = function(status, headers, body) return status == 201 end,  -- true = expected
--   }
--
-- Environment (set by loadtest/bench):
--   BENCH_API_KEY        bearer token for /api/v1
--   BENCH_WALLETS_FILE   one funded wallet ID per line
--
-- What it does, so that nothing is hidden:
--   * every response goes through response(): expected ones are counted in ok_count, anything
--     else in unexpected, and every status is counted (st_<code>) per thread;
--   * done() sums those per-thread counters (kept in plain numbers and strings: wrk 4.1's
--     thread:get() cannot copy tables correctly), adds wrk's own socket errors
--     (connect/read/write/timeout) and prints one machine-readable line:
--       BENCH_RESULT {"scenario":..., "ok":..., "tps":..., "p50_ms":..., "error_rate":...}
--     with p50/p90/p95/p99/p99.9 from wrk's latency histogram (latency:percentile(p)).

local M = {}

-- ---------------------------------------------------------------------------------------------
-- Small helpers
-- ---------------------------------------------------------------------------------------------

-- n random bytes as hex, from /dev/urandom (math.random seeds by time would give every wrk
-- thread the same sequence when they start in the same second).
function M.random_hex(n)
    local f = io.open("/dev/urandom", "rb")
    if not f then
        error("cannot open /dev/urandom")
    end
    local bytes = f:read(n)
    f:close()
    return (bytes:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

local function json_string(s)
    s = tostring(s):gsub('[%c"\\]', function(c)
        if c == '"' then return '\\"' end
        if c == "\\" then return "\\\\" end
        return string.format("\\u%04x", c:byte())
    end)
    return '"' .. s .. '"'
end

-- Minimal JSON encoder: nil, booleans, finite numbers, strings, arrays and objects (sorted keys;
-- an empty table is {}).
function M.json(v)
    local t = type(v)
    if v == nil then
        return "null"
    elseif t == "boolean" then
        return tostring(v)
    elseif t == "number" then
        if v ~= v or v == math.huge or v == -math.huge then return "null" end
        if v == math.floor(v) and math.abs(v) < 1e15 then return string.format("%d", v) end
        return string.format("%.6g", v)
    elseif t == "string" then
        return json_string(v)
    elseif t == "table" then
        if #v > 0 then -- an array; an empty table is written as an object, {}
            local parts = {}
            for i = 1, #v do parts[i] = M.json(v[i]) end
            return "[" .. table.concat(parts, ",") .. "]"
        end
        local keys = {}
        for k in pairs(v) do keys[#keys + 1] = tostring(k) end
        table.sort(keys)
        local parts = {}
        for _, k in ipairs(keys) do parts[#parts + 1] = json_string(k) .. ":" .. M.json(v[k]) end
        return "{" .. table.concat(parts, ",") .. "}"
    end
    error("cannot encode " .. t)
end

function M.read_lines(path)
    local f = io.open(path, "r")
    if not f then
        error("cannot open " .. tostring(path))
    end
    local out = {}
    for line in f:lines() do
        line = line:gsub("%s+$", "")
        if line ~= "" then out[#out + 1] = line end
    end
    f:close()
    return out
end

-- ---------------------------------------------------------------------------------------------
-- Per-run and per-thread state
-- ---------------------------------------------------------------------------------------------

-- Loaded in the main Lua state and in each thread's state; only the main state's RUN_ID is used
-- (handed to the threads in setup()).
local RUN_ID = M.random_hex(6)

local threads = {} -- main state: the thread objects, for done()
local next_thread_id = 0

-- Globals of a thread's state (read from done() through thread:get; numbers and strings only):
--   thread_id, run_id       set by setup()
--   ok_count, unexpected    responses that were / were not what the scenario expects
--   statuses_seen           "201,503" - every status this thread saw (updated on a new one)
--   st_<code>               responses with that status
--   extra_<name>            scenario counters (bench.count), names in extra_names "a,b"
ok_count = 0
unexpected = 0
statuses_seen = ""
extra_names = ""

local seen = {}

local function count_status(status)
    local name = "st_" .. status
    local n = _G[name]
    if n == nil then
        seen[#seen + 1] = tostring(status)
        statuses_seen = table.concat(seen, ",")
        n = 0
    end
    _G[name] = n + 1
end

local extras = {}

-- A scenario counter, summed over threads into the result's "counters".
function M.count(name, delta)
    local g = "extra_" .. name
    if _G[g] == nil then
        extras[#extras + 1] = name
        extra_names = table.concat(extras, ",")
        _G[g] = 0
    end
    _G[g] = _G[g] + (delta or 1)
end

M.seq = 0

-- A never reused Idempotency-Key: <run>-<thread>-<n> (the run part is random per wrk run).
function M.next_key()
    M.seq = M.seq + 1
    return run_id .. "-" .. thread_id .. "-" .. M.seq
end

function M.auth_headers(extra)
    local h = {
        ["Authorization"] = "Bearer " .. M.api_key,
        ["Content-Type"] = "application/json",
    }
    for k, v in pairs(extra or {}) do h[k] = v end
    return h
end

function M.pick_wallet()
    return M.wallets[math.random(#M.wallets)]
end

-- A new authorization: a hold of 1..100 cents (USD, the currency bench_seed.py funds) on a random
-- wallet, with a fresh Idempotency-Key (the request, from wrk.format).
function M.authorize_request()
    local key = M.next_key()
    local body = string.format('{"walletId":"%s","amount":%d,"currency":"USD","referenceId":"bench-%s"}',
        M.pick_wallet(), math.random(1, 100), key)
    return wrk.format("POST", "/api/v1/transactions/authorize",
        M.auth_headers({ ["Idempotency-Key"] = key }), body)
end

-- ---------------------------------------------------------------------------------------------
-- wrk hooks
-- ---------------------------------------------------------------------------------------------

function M.scenario(s)
    M.name = s.name

    -- main state, once per thread before it starts
    function setup(thread)
        thread:set("thread_id", next_thread_id)
        thread:set("run_id", RUN_ID)
        next_thread_id = next_thread_id + 1
        threads[#threads + 1] = thread
    end

    -- thread state
    function init(args)
        local seed = tonumber(M.random_hex(4), 16)
        math.randomseed(seed)
        M.api_key = os.getenv("BENCH_API_KEY") or ""
        if s.needs_wallets then
            local file = os.getenv("BENCH_WALLETS_FILE")
            if not file or file == "" then
                error("BENCH_WALLETS_FILE is not set")
            end
            M.wallets = M.read_lines(file)
            if #M.wallets == 0 then
                error("no wallets in " .. file)
            end
        end
        if s.init then s.init(args) end
    end

    if s.request then
        request = s.request
    end

    -- Called for every complete response of this thread (any of its connections).
    function response(status, headers, body)
        count_status(status)
        if s.response(status, headers, body) then
            ok_count = ok_count + 1
        else
            unexpected = unexpected + 1
            if unexpected <= 3 then
                -- the first few, on stderr, so a failing run says why
                io.stderr:write(string.format("[%s thread %s] unexpected %d: %s\n", M.name,
                    tostring(thread_id), status, tostring(body):sub(1, 200)))
            end
        end
    end

    -- main state, after all threads have stopped
    function done(summary, latency, requests)
        local ok, bad = 0, 0
        local statuses, counters = {}, {}
        for _, t in ipairs(threads) do
            ok = ok + (t:get("ok_count") or 0)
            bad = bad + (t:get("unexpected") or 0)
            for code in string.gmatch(t:get("statuses_seen") or "", "[^,]+") do
                statuses[code] = (statuses[code] or 0) + (t:get("st_" .. code) or 0)
            end
            for name in string.gmatch(t:get("extra_names") or "", "[^,]+") do
                counters[name] = (counters[name] or 0) + (t:get("extra_" .. name) or 0)
            end
        end
        local e = summary.errors
        local socket_errors = e.connect + e.read + e.write + e.timeout
        local duration_s = summary.duration / 1e6
        -- attempts: complete responses plus requests lost to connect/read/write errors
        local attempts = summary.requests + e.connect + e.read + e.write
        local errors = bad + socket_errors
        local function ms(p) return latency:percentile(p) / 1000 end
        local result = {
            scenario = M.name,
            threads = #threads,
            duration_s = duration_s,
            requests = summary.requests,
            ok = ok,
            unexpected = bad,
            uncounted = summary.requests - ok - bad, -- responses response() never saw: must be 0
            socket_errors = { connect = e.connect, read = e.read, write = e.write, timeout = e.timeout },
            wrk_status_errors = e.status, -- wrk's own count of status > 399
            errors = errors,
            error_rate = attempts > 0 and errors / attempts or 0,
            tps = ok / duration_s,
            rps_all = summary.requests / duration_s,
            statuses = statuses,
            counters = counters,
            latency_ms = {
                min = latency.min / 1000,
                mean = latency.mean / 1000,
                stdev = latency.stdev / 1000,
                max = latency.max / 1000,
            },
            p50_ms = ms(50),
            p90_ms = ms(90),
            p95_ms = ms(95),
            p99_ms = ms(99),
            p999_ms = ms(99.9),
            bytes = summary.bytes,
        }
        io.write("BENCH_RESULT ", M.json(result), "\n")
    end
end

return M
