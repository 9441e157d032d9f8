-- Each request carries the next token of a file (one per line) as "Authorization: Bearer".
--   WRK_TOKENS        the file
--   WRK_TOKENS_START  how many tokens to skip first (the ones earlier runs used)
--   WRK_TOKENS_WRAP   "1": start over at the end of the file (tokens in rotation);
--                     otherwise the thread stops sending there (and the run sends nothing
--                     more until its duration is over: give it tokens enough)
-- Run with one wrk thread, so that one counter walks the file.
dofile(os.getenv("WRK_REPORT"))

local tokens = {}
for line in io.lines(os.getenv("WRK_TOKENS")) do
  tokens[#tokens + 1] = line
end
local next_index = tonumber(os.getenv("WRK_TOKENS_START") or "0")
local wrap = os.getenv("WRK_TOKENS_WRAP") == "1"

request = function()
  next_index = next_index + 1
  if next_index > #tokens then
    if not wrap then
      wrk.thread:stop()
    end
    next_index = 1
  end
  return wrk.format(nil, nil, { ["Authorization"] = "Bearer " .. tokens[next_index] })
end
