-- A second real LSP client for the Sigil language server: headless Neovim (0.7+; Debian ships 0.7.2).
--
-- Run by test/protocol/nvim.test.ts as
--   nvim --headless --noplugin -n -i NONE -u test/e2e/nvim/store-info.lua
-- It starts the server with vim.lsp.start_client, waits until the client is initialized, sends
-- `sigil/store.info` (and one request that must fail, to see the error shape), stops the client
-- (shutdown + exit), and writes what it saw as one JSON document (vim.fn.json_encode) to E2E_SIGIL_OUT.
--
-- Environment (no SIGIL_ prefix: the server inherits it and rejects unknown SIGIL_* variables):
--   E2E_SIGIL_NODE        node executable (default: node)
--   E2E_SIGIL_SERVER      path of dist/server/main.cjs (required)
--   E2E_SIGIL_ROOT        workspace folder given to the server as root_dir (required)
--   E2E_SIGIL_HOME        Sigil home passed as init_options.home (required)
--   E2E_SIGIL_OUT         result file (required)
--   E2E_SIGIL_TIMEOUT_MS  limit of each wait (default 20000)
-- Exit status: 0 when the result file was written after a complete exchange, else 2..6 (see finish calls);
-- the result file then holds {"error": "..."}.

local node = os.getenv('E2E_SIGIL_NODE') or 'node'
local server = os.getenv('E2E_SIGIL_SERVER')
local root = os.getenv('E2E_SIGIL_ROOT')
local home = os.getenv('E2E_SIGIL_HOME')
local out = os.getenv('E2E_SIGIL_OUT')
local timeout = tonumber(os.getenv('E2E_SIGIL_TIMEOUT_MS') or '20000')

local function finish(doc, code)
  if out then
    vim.fn.writefile({ vim.fn.json_encode(doc) }, out)
  end
  vim.cmd((code == 0) and 'qall!' or ('cquit! ' .. code))
end

local function run()
  if not (server and root and home and out) then
    return finish({ error = 'E2E_SIGIL_SERVER, E2E_SIGIL_ROOT, E2E_SIGIL_HOME and E2E_SIGIL_OUT are required' }, 2)
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
  local failed = nil
  client.request('sigil/canon.get', { id = 'not-an-id' }, function(err, result)
    failed = { err = err, result = result }
  end)
  local answered = vim.wait(timeout, function()
    return info ~= nil and failed ~= nil and changed ~= nil
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
    bad_get = failed,
    store_changed = changed,
    server_exit_code = exit_code,
  }, 0)
end

vim.api.nvim_create_autocmd('VimEnter', { callback = run, once = true })
