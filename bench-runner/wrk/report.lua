-- benchlab's report script for wrk 4.1 (`wrk -s report.lua`): at the end of the run, done()
-- writes one JSON object to the file named by $BENCHLAB_WRK_REPORT, so the runner reads
-- wrk's figures from data instead of scraping its text. bench-core's `wrk` module parses it:
--
--   {"summary": {"duration": µs, "requests": n, "bytes": n,
--                "errors": {"connect": n, "read": n, "write": n, "status": n, "timeout": n}},
--    "latency": [[value_us, count], ...],          every non-empty bucket, ascending
--    "start_monotonic_ns": n, "done_monotonic_ns": n}
--
-- The latency histogram is wrk's after its coordinated-omission correction (`stats_correct`,
-- applied in main before done()); bench-core undoes it.
--
-- The two clock readings need LuaJIT's ffi, which Debian's wrk (linked to libluajit) has;
-- without it they are left out. start_monotonic_ns is CLOCK_MONOTONIC in the last setup()
-- call: wrk's main calls setup() (and the thread's init()) for each thread just before
-- creating it, and takes its own start (`start = time_us()`) right after the last thread is
-- created, so this reading precedes wrk's start by one pthread_create and two buffered
-- printf calls. done_monotonic_ns is read when done() begins, after wrk's end of window, its
-- correction and its text report: the gap between the two readings minus
-- summary.duration bounds the alignment error.

local report_path_var = "BENCHLAB_WRK_REPORT"

local has_ffi, ffi = pcall(require, "ffi")
if has_ffi then
   ffi.cdef [[
      typedef struct { long tv_sec; long tv_nsec; } benchlab_timespec;
      int clock_gettime(int clock_id, benchlab_timespec *tp);
   ]]
end

-- CLOCK_MONOTONIC in nanoseconds as decimal digits: exact, where a Lua number (a double)
-- would round after 104 days of uptime.
local function monotonic_ns()
   if not has_ffi then
      return nil
   end
   local ts = ffi.new("benchlab_timespec")
   if ffi.C.clock_gettime(1 --[[ CLOCK_MONOTONIC ]], ts) ~= 0 then
      error("benchlab report.lua: clock_gettime(CLOCK_MONOTONIC) failed")
   end
   local ns = ffi.cast("uint64_t", ts.tv_sec) * 1000000000ULL + ts.tv_nsec
   return (tostring(ns):gsub("ULL$", ""))
end

local function report_path()
   local path = os.getenv(report_path_var)
   if path == nil or path == "" then
      error("benchlab report.lua: " .. report_path_var ..
         " is not set: it names the file done() writes wrk's report to")
   end
   return path
end

local start_monotonic_ns = nil

function setup(thread)
   -- Fail before the load, not after it.
   report_path()
   start_monotonic_ns = monotonic_ns()
end

-- Every non-empty bucket of a wrk.stats as {value, count}, ascending.
--
-- wrk's own accessors are quadratic: latency(i) scans the buckets from min for the i-th
-- non-empty one, so reading them all costs distinct values × (max − min) steps, 12 s for
-- 50,000 values over 190 ms (1024 connections against /hello). With ffi, the stats struct
-- (stats.h: uint64_t count, limit, min, max, data[]) is read in one pass instead, once its
-- min, max and number of non-empty buckets agree with what wrk's own accessors say.
local function buckets(stats)
   local distinct = #stats
   local out = {}
   if distinct == 0 then
      return out
   end
   if has_ffi then
      local s = ffi.cast("const uint64_t * const *", stats)[0]
      local min, max = tonumber(s[2]), tonumber(s[3])
      if min == stats.min and max == stats.max then
         for value = min, max do
            local count = s[4 + value]
            if count ~= 0 then
               out[#out + 1] = { value, tonumber(count) }
            end
         end
         if #out == distinct then
            return out
         end
         out = {}
      end
   end
   for i = 1, distinct do
      local value, count = stats(i)
      out[i] = { value, count }
   end
   return out
end

local function integer(n)
   return string.format("%.0f", n)
end

function done(summary, latency, requests)
   local done_ns = monotonic_ns()
   local path = report_path()
   local e = summary.errors
   local parts = {
      '{"summary":{"duration":', integer(summary.duration),
      ',"requests":', integer(summary.requests),
      ',"bytes":', integer(summary.bytes),
      ',"errors":{"connect":', integer(e.connect),
      ',"read":', integer(e.read),
      ',"write":', integer(e.write),
      ',"status":', integer(e.status),
      ',"timeout":', integer(e.timeout),
      '}},"latency":[',
   }
   for i, bucket in ipairs(buckets(latency)) do
      parts[#parts + 1] = (i > 1 and ",[" or "[") .. integer(bucket[1]) .. "," .. integer(bucket[2]) .. "]"
   end
   parts[#parts + 1] = "]"
   if start_monotonic_ns ~= nil then
      parts[#parts + 1] = ',"start_monotonic_ns":' .. start_monotonic_ns
      parts[#parts + 1] = ',"done_monotonic_ns":' .. done_ns
   end
   parts[#parts + 1] = "}\n"

   local file, err = io.open(path, "w")
   if file == nil then
      error("benchlab report.lua: could not open " .. report_path_var .. "=" .. path .. ": " .. tostring(err))
   end
   local ok, write_err = file:write(table.concat(parts))
   if not ok then
      error("benchlab report.lua: could not write " .. path .. ": " .. tostring(write_err))
   end
   local closed, close_err = file:close()
   if not closed then
      error("benchlab report.lua: could not write " .. path .. ": " .. tostring(close_err))
   end
end
