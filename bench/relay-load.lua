-- wrk script for bench/relay-load: one valid JSON submission per request, each with its own
-- idempotency key and its own message (so neither the key nor the content fingerprint makes it
-- a duplicate), from the site's origin. The policy version and hash come from the environment
-- (the script reads them from the manifest it starts the relay with).
local version = os.getenv("KELISIM_BENCH_POLICY_VERSION")
local hash = os.getenv("KELISIM_BENCH_POLICY_HASH")
local origin = os.getenv("KELISIM_BENCH_ORIGIN")
local threads = 0

function setup(thread)
    thread:set("thread_number", threads)
    threads = threads + 1
end

local counter = 0
local headers = {
    ["Content-Type"] = "application/json",
    ["Accept"] = "application/json",
    ["Origin"] = origin,
}

function request()
    counter = counter + 1
    local key = string.format("bench-%d-%d-%d", thread_number, counter, os.time())
    local body = string.format(
        '{"surname":"Сейітова","first_name":"Дана","email":"bench%d.%d@example.kz",'
            .. '"phone":"+7 701 123 4567","message":"Load test message %s",'
            .. '"lang":"kk","consent":["reply"],"policy_version":"%s","policy_hash":"%s",'
            .. '"idempotency_key":"%s","website":""}',
        thread_number, counter, key, version, hash, key)
    return wrk.format("POST", nil, headers, body)
end
