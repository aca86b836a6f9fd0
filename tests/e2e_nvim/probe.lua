-- probe.lua: Neovim's own built-in LSP client (Debian 12's 0.7.2, no plugins) against
-- `layerscope lsp`, as the README's Neovim set-up configures it. Opens a config with a smell,
-- waits for its diagnostics, hovers a key, then shuts the server down. Prints one line per
-- check ("ok NAME" / "FAIL NAME: why") and exits 0 when all passed, 1 otherwise.
-- Inputs from the environment (0.7 has no `-l`): LS_BIN (the binary), PROBE_FILE (the config),
-- PROBE_HOVER ("line:col", 0-based), PROBE_EXPECT_HOVER and PROBE_EXPECT_DIAG (Lua patterns).
local failed = false
local function check(name, ok, why)
  io.stdout:write((ok and "ok " or "FAIL ") .. name .. ((ok or not why) and "" or (": " .. why)) .. "\n")
  if not ok then failed = true end
end

local ok_all, err = pcall(function()
  local file = vim.fn.fnamemodify(vim.env.PROBE_FILE, ":p")
  vim.cmd("edit " .. vim.fn.fnameescape(file))
  local buf = vim.api.nvim_get_current_buf()
  local diags = nil
  local client_id = vim.lsp.start_client({
    name = "layerscope", cmd = { vim.env.LS_BIN, "lsp" },
    root_dir = vim.fn.fnamemodify(file, ":h"),
    handlers = {
      ["textDocument/publishDiagnostics"] = function(_, result)
        if result and result.uri == vim.uri_from_bufnr(buf) and #result.diagnostics > 0 then diags = result.diagnostics end
      end,
    },
  })
  check("start_client", client_id ~= nil)
  vim.lsp.buf_attach_client(buf, client_id)
  local client = vim.lsp.get_client_by_id(client_id)
  check("initialize", vim.wait(10000, function() return client.initialized end, 20), "no initialize result in 10 s")

  check("diagnostics", vim.wait(10000, function() return diags ~= nil end, 20), "no diagnostics in 10 s")
  local found = false
  for _, d in ipairs(diags or {}) do
    if string.find(d.message, vim.env.PROBE_EXPECT_DIAG) then found = true end
  end
  check("diagnostic text", found, "none matches " .. vim.env.PROBE_EXPECT_DIAG)

  local l, c = vim.env.PROBE_HOVER:match("(%d+):(%d+)")
  local res = vim.lsp.buf_request_sync(buf, "textDocument/hover",
    { textDocument = { uri = vim.uri_from_bufnr(buf) }, position = { line = tonumber(l), character = tonumber(c) } }, 10000)
  local text = ""
  for _, r in pairs(res or {}) do
    local h = r.result and r.result.contents
    if type(h) == "table" then text = text .. (h.value or table.concat(vim.tbl_map(function(x)
      return type(x) == "table" and x.value or tostring(x) end, h), "\n")) end
  end
  check("hover", string.find(text, vim.env.PROBE_EXPECT_HOVER) ~= nil, "hover text was: " .. text:sub(1, 200))

  client.stop()
  check("shutdown and exit", vim.wait(10000, function() return client.is_stopped() end, 20), "server still running after 10 s")
end)
if not ok_all then check("probe", false, tostring(err)) end
io.stdout:flush()
vim.cmd(failed and "cquit! 1" or "qall!")
