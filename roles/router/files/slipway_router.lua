-- Where each app's requests go: the endpoint table slipway-routesync pushes (agents/slipway_agents/routepush.py).
--
-- The table is JSON: {"generation": G, "base": B, "apps": {"<app id>": ["<ip>:<port>", ...], ...}}. B is the
-- generation of the rendered config it was pushed on top of. Pushes (PUT on the router's own unix socket) and
-- the file loaded when nginx (re)starts both go through `parse`: app ids are DNS labels, peers IP literals with a
-- port; anything else refuses the whole table, and the table nginx has keeps serving.
--
-- The shared dict `slipway_endpoints` holds the table as pushed ("table") and a counter bumped on each change
-- ("version"); each worker decodes it once per change. Shared dicts survive a reload (HUP), not a restart: the
-- master loads the file at every start and reload (init), so both paths serve the same table.
local cjson = require("cjson.safe")
local balancer = require("ngx.balancer")

local M = {}

local DICT = "slipway_endpoints"
local MAX_APPS = 100000
local MAX_PEERS = 1000
local FAIL_TIMEOUT = 5 -- seconds a peer that failed is skipped by this worker (nginx's max_fails=1 fail_timeout=5s)

local cached_version, cached = nil, nil
local next_index = {} -- app -> the peer the next request starts at (round robin, per worker)
local down_until = {} -- "ip:port" -> when this worker tries it again

local function ipv4(s)
    local a, b, c, d = s:match("^(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?)$")
    if not a then
        return nil
    end
    for _, octet in ipairs({ a, b, c, d }) do
        if tonumber(octet) > 255 or (#octet > 1 and octet:sub(1, 1) == "0") then
            return nil
        end
    end
    return s
end

local function groups(part) -- colon-separated hex groups of 1-4 digits: how many (nil: malformed)
    if part == "" then
        return 0
    end
    local n = 0
    for g in (part .. ":"):gmatch("([^:]*):") do
        if #g < 1 or #g > 4 then
            return nil
        end
        n = n + 1
    end
    return n
end

local function ipv6(s)
    -- "[addr]" in hex groups (no zone, no dotted tail): 8 groups, or fewer around one "::"
    local inner = s:match("^%[([%x:]+)%]$")
    if not inner or #inner > 39 then
        return nil
    end
    local head, tail = inner:match("^(.-)::(.*)$")
    if head then
        local a, b = groups(head), not tail:find("::", 1, true) and groups(tail)
        return a and b and a + b <= 7 and s or nil
    end
    return groups(inner) == 8 and s or nil
end

local function peer(s)
    if type(s) ~= "string" or #s > 47 then
        return nil
    end
    local host, port = s:match("^(.+):(%d%d?%d?%d?%d?)$")
    port = tonumber(port)
    if not host or not port or port < 1 or port > 65535 then
        return nil
    end
    host = ipv4(host) or ipv6(host)
    if not host then
        return nil
    end
    return { host = host, port = port, key = s }
end

local function generation(g)
    return (type(g) == "number" or (type(g) == "string" and #g <= 64 and g:match("^[%w._-]*$"))) and g or nil
end

-- body (JSON) -> {generation, base, apps = {id = {{host, port, key}, ...}}, count}; nil, why when it is refused
function M.parse(body)
    local data = cjson.decode(body)
    if type(data) ~= "table" or type(data.apps) ~= "table" then
        return nil, "not an endpoint table"
    end
    local gen, base = generation(data.generation), generation(data.base)
    if gen == nil or base == nil then
        return nil, "bad generation"
    end
    local apps, count = {}, 0
    for id, list in pairs(data.apps) do
        count = count + 1
        if count > MAX_APPS then
            return nil, "too many apps"
        end
        if type(id) ~= "string" or #id > 63 or not id:match("^[a-z][a-z0-9-]*$") or id:match("%-$") then
            return nil, "bad app id"
        end
        if type(list) ~= "table" or #list > MAX_PEERS then
            return nil, "bad peer list for " .. id
        end
        local peers, entries = {}, 0
        for _ in pairs(list) do
            entries = entries + 1
        end
        for i, s in ipairs(list) do
            peers[i] = peer(s)
            if not peers[i] then
                return nil, "bad peer for " .. id
            end
        end
        if #peers ~= entries then
            return nil, "bad peer list for " .. id
        end
        apps[id] = peers
    end
    return { generation = gen, base = base, apps = apps, count = count }
end

local function store(body)
    local dict = ngx.shared[DICT]
    local ok, err = dict:safe_set("table", body)
    if not ok then
        return nil, err
    end
    return dict:incr("version", 1, 0)
end

local function current()
    local dict = ngx.shared[DICT]
    local version = dict:get("version")
    if version ~= cached_version then
        local body = dict:get("table")
        cached = body and M.parse(body) or nil
        cached_version = version
    end
    return cached
end

-- init_by_lua: the table the route sync last wrote, so a restarted nginx routes at once
function M.init(path)
    local fh = io.open(path, "rb")
    if not fh then
        return
    end
    local body = fh:read("*a")
    fh:close()
    local t, err = M.parse(body)
    if not t then
        ngx.log(ngx.ERR, "slipway: ", path, " refused: ", err)
        return
    end
    local ok, serr = store(body)
    if not ok then
        ngx.log(ngx.ERR, "slipway: cannot load ", path, ": ", serr)
    end
end

-- content_by_lua of the route sync's socket: PUT replaces the table; the answer names what was taken
function M.push()
    if ngx.req.get_method() ~= "PUT" then
        return ngx.exit(ngx.HTTP_NOT_ALLOWED)
    end
    ngx.req.read_body()
    local body = ngx.req.get_body_data()
    if not body then
        ngx.status = ngx.HTTP_BAD_REQUEST
        return ngx.say("no body (or larger than client_body_buffer_size)")
    end
    local t, err = M.parse(body)
    if not t then
        ngx.status = ngx.HTTP_BAD_REQUEST
        return ngx.say(err)
    end
    local ok, serr = store(body)
    if not ok then
        ngx.status = 507 -- insufficient storage: the shared dict is full
        return ngx.say(serr)
    end
    ngx.header["Content-Type"] = "application/json"
    ngx.say(cjson.encode({ generation = t.generation, apps = t.count, digest = ngx.md5(body) }))
end

-- the generation this worker serves: the pushed table's when it was pushed on top of this worker's config
-- ($slipway_generation), else the config's own
function M.status()
    local own = ngx.var.slipway_generation
    local t = current()
    ngx.header["Content-Type"] = "text/plain"
    if t and tostring(t.base) == own then
        return ngx.say(tostring(t.generation))
    end
    ngx.say(own)
end

-- access_by_lua of an app's location ($slipway_app): no endpoint answers 503 (the "unavailable" page)
function M.access()
    local t = current()
    local peers = t and t.apps[ngx.var.slipway_app]
    if not peers or #peers == 0 then
        return ngx.exit(ngx.HTTP_SERVICE_UNAVAILABLE)
    end
    ngx.ctx.slipway_peers = peers
end

-- balancer_by_lua: round robin from the app's next peer; a peer that failed is skipped for FAIL_TIMEOUT seconds
-- by this worker unless every peer failed; nginx retries the next one (proxy_next_upstream, _tries)
function M.balance()
    local ctx = ngx.ctx
    local peers = ctx.slipway_peers
    if not peers then -- only an app's location (access) names its peers
        return ngx.exit(ngx.ERROR)
    end
    local n = #peers
    local now = ngx.now()
    local i = ctx.slipway_index
    if i == nil then
        local app = ngx.var.slipway_app
        i = ((next_index[app] or 1) - 1) % n + 1 -- the app may have fewer peers since
        next_index[app] = i % n + 1
        if n > 1 then
            balancer.set_more_tries(n - 1)
        end
    else
        if balancer.get_last_failure() == "failed" then
            down_until[peers[i].key] = now + FAIL_TIMEOUT
        end
        i = i % n + 1
    end
    for _ = 1, n do
        local until_ = down_until[peers[i].key]
        if not until_ or until_ <= now then
            break
        end
        i = i % n + 1
    end
    ctx.slipway_index = i
    local ok, err = balancer.set_current_peer(peers[i].host, peers[i].port)
    if not ok then
        ngx.log(ngx.ERR, "slipway: set_current_peer ", peers[i].key, ": ", err)
        return ngx.exit(ngx.ERROR)
    end
end

return M
