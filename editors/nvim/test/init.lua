-- Neovim configuration of the end-to-end test (e2e.sh): only editors/nvim (on the runtime
-- path), filetype detection, syntax highlighting and the iov language server from IOV_BIN.
-- It is also the smallest working configuration: see ../README.md.
local nvim_dir = vim.env.IOV_NVIM_DIR
vim.opt.runtimepath:prepend(nvim_dir)
vim.opt.swapfile = false
vim.cmd('filetype plugin indent on')
vim.cmd('syntax on')
require('iov').setup({ path = vim.env.IOV_BIN })
dofile(nvim_dir .. '/test/e2e.lua')
