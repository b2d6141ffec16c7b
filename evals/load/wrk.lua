-- wrk script for `vinarag eval load --tool wrk`: POST /rag/invoke (or /v1/chat/completions with
-- VINARAG_LOAD_ROUTE=v1); VINARAG_LOAD_MODE=miss makes
-- every question new; done() prints one JSON line with the figures (wrk has no p95 of its own).
local questions = {
  "Ai dời đô về Thăng Long?", "Phở ra đời ở đâu?", "Truyện Kiều có bao nhiêu câu thơ?",
  "Vịnh Hạ Long có bao nhiêu hòn đảo?", "Ngô Bảo Châu nhận Huy chương Fields năm nào?",
  "Việt Nam có bao nhiêu dân tộc?",
}
local miss = os.getenv("VINARAG_LOAD_MODE") == "miss"
local v1 = os.getenv("VINARAG_LOAD_ROUTE") == "v1"  -- /v1/chat/completions instead of /rag/invoke
local counter = 0

request = function()
  counter = counter + 1
  local q = questions[(counter % #questions) + 1]
  if miss then q = q .. " (lượt " .. tostring(counter) .. "-" .. tostring(math.random(1, 1e9)) .. ")" end
  if v1 then
    return wrk.format("POST", "/v1/chat/completions", {["Content-Type"] = "application/json"},
      '{"model":"vinarag","messages":[{"role":"user","content":"' .. q .. '"}]}')
  end
  return wrk.format("POST", "/rag/invoke", {["Content-Type"] = "application/json"},
    '{"input":{"question":"' .. q .. '"}}')
end

done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    'WRK_JSON {"requests": %d, "errors": %d, "rps": %.1f, "p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f}\n',
    summary.requests, errors, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
