-- The iov language server (`iov lsp`) in Neovim, without plugins: require('iov').setup()
-- starts one client per project root when a buffer gets the filetype `iov` and attaches every
-- iov buffer of that root to it. Built on vim.lsp.start_client and vim.lsp.buf_attach_client,
-- so it works on Neovim 0.7 (Debian 12) as well as on later versions.
local M = {}

local defaults = {
  -- The iov program; `cmd` overrides the whole command line.
  path = 'iov',
  cmd = nil,
  -- A directory holding one of these is the project root (else the file's directory).
  root_markers = { '.git' },
  -- Passed to vim.lsp.start_client.
  on_attach = nil,
  capabilities = nil,
  handlers = nil,
}

M.config = vim.deepcopy(defaults)

-- root directory -> client id
local clients = {}

local function command()
  if M.config.cmd then
    return M.config.cmd
  end
  return { vim.g.iov_path or M.config.path, 'lsp' }
end

local function root_dir(bufnr)
  local name = vim.api.nvim_buf_get_name(bufnr)
  local dir = name ~= '' and vim.fn.fnamemodify(name, ':p:h') or vim.loop.cwd()
  local probe = dir
  while probe do
    for _, marker in ipairs(M.config.root_markers) do
      if vim.loop.fs_stat(probe .. '/' .. marker) then
        return probe
      end
    end
    local parent = vim.fn.fnamemodify(probe, ':h')
    probe = parent ~= probe and parent or nil
  end
  return dir
end

-- `client.is_stopped(client)` works both where it is a closure (0.7) and a method (0.11).
local function running(id)
  local client = id and vim.lsp.get_client_by_id(id)
  return client and not client.is_stopped(client) and client or nil
end

-- Attaches buffer `bufnr` (default: the current one) to the client of its root, starting it
-- if needed. Returns the client id, or nil when the server cannot start.
function M.start(bufnr)
  if bufnr == nil or bufnr == 0 then
    bufnr = vim.api.nvim_get_current_buf()
  end
  local root = root_dir(bufnr)
  local id = clients[root]
  if not running(id) then
    local cmd = command()
    if vim.fn.executable(cmd[1]) ~= 1 then
      vim.notify(
        string.format('iov: `%s` is not an executable; install iov or set require("iov").setup({ path = ... })', cmd[1]),
        vim.log.levels.ERROR
      )
      return nil
    end
    id = vim.lsp.start_client({
      name = 'iov',
      cmd = cmd,
      root_dir = root,
      capabilities = M.config.capabilities or vim.lsp.protocol.make_client_capabilities(),
      on_attach = M.config.on_attach,
      handlers = M.config.handlers,
    })
    if not id then
      return nil
    end
    clients[root] = id
  end
  vim.lsp.buf_attach_client(bufnr, id)
  return id
end

-- Stops every client this module started.
function M.stop()
  for root, id in pairs(clients) do
    if running(id) then
      vim.lsp.stop_client(id)
    end
    clients[root] = nil
  end
end

-- Stops the clients, then attaches every loaded iov buffer again.
function M.restart()
  M.stop()
  vim.defer_fn(function()
    for _, buf in ipairs(vim.api.nvim_list_bufs()) do
      if vim.api.nvim_buf_is_loaded(buf) and vim.bo[buf].filetype == 'iov' then
        M.start(buf)
      end
    end
  end, 100)
end

function M.setup(opts)
  M.config = vim.tbl_deep_extend('force', vim.deepcopy(defaults), opts or {})
  local group = vim.api.nvim_create_augroup('iov_lsp', { clear = true })
  vim.api.nvim_create_autocmd('FileType', {
    group = group,
    pattern = 'iov',
    callback = function(args)
      M.start(args.buf)
    end,
  })
  vim.api.nvim_create_user_command('IovLspRestart', M.restart, { desc = 'Restart the iov language server' })
  -- Buffers that were already open when setup ran.
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(buf) and vim.bo[buf].filetype == 'iov' then
      M.start(buf)
    end
  end
end

return M
