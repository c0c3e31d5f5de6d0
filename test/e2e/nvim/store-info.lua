-- A second real LSP client for the Sigil language server: headless Neovim (0.7+; Debian ships 0.7.2).
--
-- Run by test/protocol/nvim.test.ts as
--   nvim --headless --noplugin -n -i NONE -u test/e2e/nvim/store-info.lua
-- It starts the server with vim.lsp.start_client, waits until the client is initialized, sends
-- `sigil/store.info` (a guest operation: no `auth` needed), an unsigned `sigil/canon.get` (which the gate
-- must refuse), and the signed requests it was given (one that must fail validation, to see the error
-- shape, `sigil/license.whoami` and `sigil/witness.list`), stops the client (shutdown + exit), and writes
-- what it saw as one JSON document (vim.fn.json_encode) to E2E_SIGIL_OUT.
--
-- Signing needs the owner's key, so the caller signs and this script only carries the params, `auth` and
-- all, to the server as they are (an `auth` is good for one request, within minutes of its timestamp).
--
-- Environment (no SIGIL_ prefix: the server inherits it and rejects unknown SIGIL_* variables):
--   E2E_SIGIL_NODE        node executable (default: node)
--   E2E_SIGIL_SERVER      path of dist/server/main.cjs (required)
--   E2E_SIGIL_ROOT        workspace folder given to the server as root_dir (required)
--   E2E_SIGIL_HOME        Sigil home passed as init_options.home (required)
--   E2E_SIGIL_OUT         result file (required)
--   E2E_SIGIL_SIGNED      JSON {"bad_get": params, "whoami": params, "witnesses": params}: signed params
--                         of sigil/canon.get (with an invalid id), sigil/license.whoami and
--                         sigil/witness.list (required)
--   E2E_SIGIL_TIMEOUT_MS  limit of each wait (default 20000)
-- Exit status: 0 when the result file was written after a complete exchange, else 2..6 (see finish calls);
-- the result file then holds {"error": "..."}.

local node = os.getenv('E2E_SIGIL_NODE') or 'node'
local server = os.getenv('E2E_SIGIL_SERVER')
local root = os.getenv('E2E_SIGIL_ROOT')
local home = os.getenv('E2E_SIGIL_HOME')
local out = os.getenv('E2E_SIGIL_OUT')
local signed_json = os.getenv('E2E_SIGIL_SIGNED')
local timeout = tonumber(os.getenv('E2E_SIGIL_TIMEOUT_MS') or '20000')

local function finish(doc, code)
  if out then
    vim.fn.writefile({ vim.fn.json_encode(doc) }, out)
  end
  vim.cmd((code == 0) and 'qall!' or ('cquit! ' .. code))
end

local function run()
  if not (server and root and home and out and signed_json) then
    return finish({
      error = 'E2E_SIGIL_SERVER, E2E_SIGIL_ROOT, E2E_SIGIL_HOME, E2E_SIGIL_OUT and E2E_SIGIL_SIGNED are required',
    }, 2)
  end
  local ok, signed = pcall(vim.fn.json_decode, signed_json)
  if not ok or type(signed) ~= 'table' or signed.bad_get == nil or signed.whoami == nil or signed.witnesses == nil then
    return finish({ error = 'E2E_SIGIL_SIGNED is not {"bad_get": …, "whoami": …, "witnesses": …}' }, 2)
  end

  local changed = nil
  local server_info = nil
  local exit_code = nil
  local client_id = vim.lsp.start_client({
    name = 'sigil',
    cmd = { node, server, '--stdio' },
    root_dir = root,
    init_options = { home = home },
    handlers = {
      ['sigil/store.changed'] = function(_, result)
        if changed == nil then
          changed = result
        end
      end,
      ['sigil/canon.appended'] = function() end,
    },
    on_init = function(_, result)
      server_info = result.serverInfo
    end,
    on_exit = function(code)
      exit_code = code
    end,
  })
  if not client_id then
    return finish({ error = 'vim.lsp.start_client failed' }, 3)
  end

  local initialized = vim.wait(timeout, function()
    local c = vim.lsp.get_client_by_id(client_id)
    return c ~= nil and c.initialized == true
  end, 10)
  if not initialized then
    return finish({ error = 'the client did not initialize within ' .. timeout .. ' ms' }, 4)
  end
  local client = vim.lsp.get_client_by_id(client_id)

  -- Sent right after initialization, without waiting for sigil/store.changed.
  local info = nil
  client.request('sigil/store.info', {}, function(err, result)
    info = { err = err, result = result }
  end)
  -- Answered before the requests below, one of which appends an audit record (a denial).
  if not vim.wait(timeout, function() return info ~= nil end, 10) then
    return finish({ error = 'no answer to sigil/store.info within ' .. timeout .. ' ms' }, 5)
  end

  -- Without auth: an anonymous guest, which may not read records.
  local anonymous = nil
  client.request('sigil/canon.get', { id = string.rep('a', 64) }, function(err, result)
    anonymous = { err = err, result = result }
  end)
  -- Signed by the owner: the gate lets it through, and the schema refuses the id.
  local failed = nil
  client.request('sigil/canon.get', signed.bad_get, function(err, result)
    failed = { err = err, result = result }
  end)
  local whoami = nil
  client.request('sigil/license.whoami', signed.whoami, function(err, result)
    whoami = { err = err, result = result }
  end)
  -- Signed by the owner: the witness registry init wrote (an observer read).
  local witnesses = nil
  client.request('sigil/witness.list', signed.witnesses, function(err, result)
    witnesses = { err = err, result = result }
  end)
  local answered = vim.wait(timeout, function()
    return info ~= nil and anonymous ~= nil and failed ~= nil and whoami ~= nil and witnesses ~= nil
      and changed ~= nil
  end, 10)
  if not answered then
    return finish({ error = 'no answer to the requests (or no sigil/store.changed) within ' .. timeout .. ' ms' }, 5)
  end

  client.stop()
  if not vim.wait(timeout, function() return exit_code ~= nil end, 10) then
    return finish({ error = 'the server did not exit within ' .. timeout .. ' ms of shutdown' }, 6)
  end

  finish({
    server_info = server_info,
    store_info = info,
    anonymous_get = anonymous,
    bad_get = failed,
    whoami = whoami,
    witnesses = witnesses,
    store_changed = changed,
    server_exit_code = exit_code,
  }, 0)
end

vim.api.nvim_create_autocmd('VimEnter', { callback = run, once = true })
