-- Filetype detection for iov: *.iov files get the filetype `iov` (Neovim 0.7 and later).
if vim.filetype and vim.filetype.add then
  vim.filetype.add({ extension = { iov = 'iov' } })
end
vim.api.nvim_create_autocmd({ 'BufRead', 'BufNewFile' }, {
  pattern = '*.iov',
  command = 'setfiletype iov',
})
