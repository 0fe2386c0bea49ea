-- The end-to-end test inside headless Neovim (started by e2e.sh through init.lua): once the
-- broken file is open it checks the filetype and syntax, waits (10 s at most) for the
-- diagnostics that `iov lsp` publishes, writes them to IOV_E2E_OUT as `CODE<TAB>LINE<TAB>MESSAGE`
-- lines, compares code and line with `iov check --message-format json` on the same file, then
-- checks the Vim syntax groups written in syntax.iov (and on the way the filetype, the syntax
-- and the ftplugin). Exits 0 when all agree, 1 otherwise.
local out_path = vim.env.IOV_E2E_OUT
local test_dir = vim.env.IOV_NVIM_DIR .. '/test'
local failures = {}

local function fail(msg)
  table.insert(failures, msg)
end

local function code_of(d)
  return d.code or (d.user_data and d.user_data.lsp and d.user_data.lsp.code)
end

local function check_diagnostics(out)
  local buf = vim.api.nvim_get_current_buf()
  local file = vim.api.nvim_buf_get_name(buf)
  if vim.bo[buf].filetype ~= 'iov' then
    fail('filetype is `' .. vim.bo[buf].filetype .. '`, not iov')
  end
  if vim.b[buf].current_syntax ~= 'iov' then
    fail('syntax is `' .. tostring(vim.b[buf].current_syntax) .. '`, not iov')
  end
  if vim.bo[buf].commentstring ~= '// %s' then
    fail('commentstring is `' .. vim.bo[buf].commentstring .. '`: ftplugin/iov.lua did not run')
  end
  local got = vim.wait(10000, function()
    return #vim.diagnostic.get(buf) > 0
  end, 50)
  if not got then
    local names = {}
    for _, c in pairs(vim.lsp.buf_get_clients(buf)) do
      table.insert(names, c.name)
    end
    fail('no diagnostics within 10 s (clients attached: ' .. table.concat(names, ', ') .. ')')
    return
  end
  -- The server publishes once per version; give a second message a moment to arrive anyway.
  vim.wait(200)
  local from_lsp = {}
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    local message = d.message:gsub('\n', '\\n')
    table.insert(out, string.format('%s\t%d\t%s', code_of(d), d.lnum + 1, message))
    table.insert(from_lsp, string.format('%s:%d', code_of(d), d.lnum + 1))
  end
  local from_check = {}
  local json = vim.fn.systemlist({ vim.env.IOV_BIN, 'check', '--message-format', 'json', '--color', 'never', file })
  for _, line in ipairs(json) do
    if line ~= '' then
      local d = vim.fn.json_decode(line)
      table.insert(from_check, string.format('%s:%d', d.code, d.primary.line_start))
    end
  end
  table.sort(from_lsp)
  table.sort(from_check)
  if #from_check == 0 then
    fail('`iov check` reported nothing for ' .. file)
  end
  if table.concat(from_lsp, ' ') ~= table.concat(from_check, ' ') then
    fail('iov lsp gave ' .. table.concat(from_lsp, ' ') .. ' but iov check gave ' .. table.concat(from_check, ' '))
  end
end

-- syntax.iov: a line `// ^^^ iovGroup` names the syntax group of each character above a `^`
-- in the nearest line above that is not such a line (`// <- iovGroup`: column 1).
local function check_syntax()
  vim.cmd('edit ' .. vim.fn.fnameescape(test_dir .. '/syntax.iov'))
  local lines = vim.api.nvim_buf_get_lines(0, 0, -1, false)
  local target
  local count = 0
  for i, line in ipairs(lines) do
    local marks, group = line:match('^%s*//%s*(%^+)%s+(%S+)%s*$')
    local arrow
    if not marks then
      arrow, group = line:match('^%s*//%s*(<%-)%s+(%S+)%s*$')
    end
    if marks or arrow then
      local first = marks and (line:find('%^', line:find('//', 1, true) + 2)) or 1
      local last = marks and (first + #marks - 1) or 1
      for col = first, last do
        count = count + 1
        local name = vim.fn.synIDattr(vim.fn.synID(target, col, 1), 'name')
        if name ~= group then
          fail(string.format('syntax.iov:%d: line %d column %d (%q) is %s, not %s', i, target, col,
            lines[target]:sub(col, col), name == '' and 'unhighlighted' or name, group))
          break
        end
      end
    else
      target = i
    end
  end
  if count < 40 then
    fail('syntax.iov has only ' .. count .. ' checked columns')
  end
end

local function run()
  local out = {}
  local ok, err = pcall(check_diagnostics, out)
  if not ok then
    fail('error: ' .. tostring(err))
  end
  ok, err = pcall(check_syntax)
  if not ok then
    fail('error: ' .. tostring(err))
  end
  for _, f in ipairs(failures) do
    table.insert(out, 'FAIL\t' .. f)
  end
  vim.fn.writefile(out, out_path)
  if #failures > 0 then
    vim.cmd('cquit 1')
  else
    vim.cmd('qall!')
  end
end

-- nested: the `:edit` of check_syntax must run the filetype and syntax autocommands.
vim.api.nvim_create_autocmd('VimEnter', { once = true, nested = true, callback = run })
