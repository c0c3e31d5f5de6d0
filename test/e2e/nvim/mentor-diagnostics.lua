-- RustMentor in a plain Neovim LSP client (0.7+; Debian ships 0.7.2), no lspconfig.
--
-- Run by test/protocol/nvim.test.ts as
--   nvim --headless --noplugin -n -i NONE -u test/e2e/nvim/mentor-diagnostics.lua FILE.rs
-- It starts the bundled server with vim.lsp.start_client, attaches the buffer of FILE.rs (filetype rust),
-- waits for the first textDocument/publishDiagnostics for it, asks for a hover at the first diagnostic,
-- stops the client and writes {diagnostics = vim.diagnostic.get(buf), hover = …} as JSON to E2E_SIGIL_OUT.
--
-- Environment: E2E_SIGIL_NODE (default node), E2E_SIGIL_SERVER, E2E_SIGIL_HOME, E2E_SIGIL_OUT (required),
-- E2E_SIGIL_TIMEOUT_MS (default 20000). Exit status 0 when the result file was written after a complete
-- exchange, else 2..5 with {"error": "..."} in the file.

local node = os.getenv('E2E_SIGIL_NODE') or 'node'
local server = os.getenv('E2E_SIGIL_SERVER')
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
  if not (server and home and out) then
    return finish({ error = 'E2E_SIGIL_SERVER, E2E_SIGIL_HOME and E2E_SIGIL_OUT are required' }, 2)
  end
  local buf = vim.api.nvim_get_current_buf()
  vim.bo[buf].filetype = 'rust'
  local client_id = vim.lsp.start_client({
    name = 'sigil',
    cmd = { node, server, '--stdio' },
    root_dir = vim.fn.getcwd(),
    init_options = { home = home },
    handlers = {
      ['sigil/store.changed'] = function() end,
      ['sigil/canon.appended'] = function() end,
    },
  })
  if not client_id then
    return finish({ error = 'vim.lsp.start_client failed' }, 3)
  end
  -- count publishDiagnostics for this buffer: the first one ends the wait, whatever it holds
  local published = 0
  local default_handler = vim.lsp.handlers['textDocument/publishDiagnostics']
  vim.lsp.handlers['textDocument/publishDiagnostics'] = function(err, result, ctx, config)
    default_handler(err, result, ctx, config)
    if result and vim.uri_to_bufnr(result.uri) == buf then
      published = published + 1
    end
  end
  vim.lsp.buf_attach_client(buf, client_id)
  if not vim.wait(timeout, function() return published > 0 end, 10) then
    return finish({ error = 'no publishDiagnostics within ' .. timeout .. ' ms' }, 4)
  end
  local diagnostics = {}
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    table.insert(diagnostics, {
      lnum = d.lnum,
      col = d.col,
      severity = d.severity,
      source = d.source,
      code = (d.user_data and d.user_data.lsp and d.user_data.lsp.code) or d.code,
      message = d.message,
    })
  end
  local hover = nil
  local first = diagnostics[1]
  if first then
    local client = vim.lsp.get_client_by_id(client_id)
    local params = {
      textDocument = { uri = vim.uri_from_bufnr(buf) },
      position = { line = first.lnum, character = first.col },
    }
    local answered = false
    client.request('textDocument/hover', params, function(err, result)
      hover = { err = err, result = result }
      answered = true
    end, buf)
    if not vim.wait(timeout, function() return answered end, 10) then
      return finish({ error = 'no answer to textDocument/hover within ' .. timeout .. ' ms' }, 5)
    end
  end
  vim.lsp.stop_client(client_id)
  finish({ diagnostics = diagnostics, hover = hover }, 0)
end

vim.api.nvim_create_autocmd('VimEnter', { callback = run, once = true })
